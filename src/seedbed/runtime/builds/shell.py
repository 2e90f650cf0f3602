"""One bash process per buildspec phase, with the environment carried from phase to phase.

CodeBuild (buildspec 0.2) runs a build's commands in one shell instance, so a variable set or a
directory changed in ``install`` is still there in ``build``. Here each phase is a fresh
``bash`` that first loads what the previous phase left (exported variables and the working
directory, saved by an ``EXIT`` trap), runs its commands one by one until one fails, then its
``finally`` commands, and saves the state again. Each phase runs in its own process group (its own
session), so a timeout or ``StopBuild`` kills the whole tree; a ``PR_SET_PDEATHSIG`` on Linux kills
the shell if the server dies, and :func:`kill_leftovers` finds the rest after a crash.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: Grace between SIGTERM and SIGKILL when a phase is stopped or times out.
KILL_GRACE = 2.0


@dataclass
class PhaseOutcome:
    status: str  # SUCCEEDED | FAILED | TIMED_OUT | STOPPED
    exit_code: int | None = None
    command: str | None = None

    @property
    def message(self) -> str:
        if self.status == "FAILED" and self.command is not None:
            return f"Error while executing command: {self.command}. Reason: exit status {self.exit_code}"
        if self.status == "FAILED":
            return f"The phase's shell exited with status {self.exit_code}"
        if self.status == "TIMED_OUT":
            return "Build timed out"
        if self.status == "STOPPED":
            return "Build was stopped"
        return ""


def _pdeathsig() -> None:  # pragma: no cover - runs in the child
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001, S110 - not Linux: kill_leftovers covers it
        pass


def _script(state: Path, commands: list[str], finally_commands: list[str], overrides: dict[str, str]) -> str:
    q = shlex.quote
    lines = [
        f"__sb_dir={q(str(state))}",
        'if [ -f "$__sb_dir/env.sh" ]; then . "$__sb_dir/env.sh" 2>/dev/null; fi',
    ]
    lines += [f"export {name}={q(value)}" for name, value in overrides.items()]
    lines += [
        'if [ -f "$__sb_dir/cwd" ]; then cd "$(cat "$__sb_dir/cwd")" 2>/dev/null; '
        'else cd "$CODEBUILD_SRC_DIR" 2>/dev/null; fi',
        "__sb_save() {",
        "  __sb_exit=$?",
        '  if [ -n "$__sb_cur" ] && [ ! -f "$__sb_dir/result" ]; then',
        "    printf '[Container] %(%Y/%m/%d %H:%M:%S)T Command did not exit successfully %s exit status %s\\n'"
        ' -1 "$__sb_cmd" "$__sb_exit"',
        "    printf '%s\\t%s\\n' \"$__sb_exit\" \"$__sb_cur\" > \"$__sb_dir/result\"",
        "  fi",
        "  export -p | grep -v '^declare -x __sb_' > \"$__sb_dir/env.sh.tmp\"",
        '  mv -f "$__sb_dir/env.sh.tmp" "$__sb_dir/env.sh"',
        '  env -0 > "$__sb_dir/env.bin"',
        '  pwd > "$__sb_dir/cwd"',
        "}",
        "trap __sb_save EXIT",
        # `exit N` in a command ends that command with status N (the shell lives on for `finally`).
        "exit() { return \"${1:-$?}\"; }",
        '__sb_eval() { eval "$1"; }',
        "__sb_run() {",
        "  printf '[Container] %(%Y/%m/%d %H:%M:%S)T Running command %s\\n' -1 \"$2\"",
        '  __sb_cur=$1; __sb_cmd=$2',
        '  __sb_eval "$2"',
        "  __sb_rc=$?",
        "  __sb_cur=",
        '  if [ "$__sb_rc" -ne 0 ]; then',
        "    printf '[Container] %(%Y/%m/%d %H:%M:%S)T Command did not exit successfully %s exit status %s\\n'"
        ' -1 "$2" "$__sb_rc"',
        "    printf '%s\\t%s\\n' \"$__sb_rc\" \"$1\" > \"$__sb_dir/result\"",
        "    return 1",
        "  fi",
        "  return 0",
        "}",
        'rm -f "$__sb_dir/result"',
        "set -a",
        "__sb_ok=1",
    ]
    for i, command in enumerate(commands):
        lines.append(f'if [ "$__sb_ok" = 1 ]; then __sb_run c{i} {q(command)} || __sb_ok=0; fi')
    lines.append("__sb_fok=1")
    for i, command in enumerate(finally_commands):
        lines.append(f'if [ "$__sb_fok" = 1 ]; then __sb_run f{i} {q(command)} || __sb_fok=0; fi')
    lines.append("unset -f exit")
    lines.append('if [ "$__sb_ok" = 1 ] && [ "$__sb_fok" = 1 ]; then exit 0; fi')
    lines.append("exit 1")
    return "\n".join(lines) + "\n"


class ShellSession:
    """The shell state of one build: ``state_dir`` holds the carried environment and directory."""

    def __init__(self, state_dir: Path, env: dict[str, str], shell: str = "bash") -> None:
        self.state_dir = state_dir
        self.env = env
        self.shell = shell
        state_dir.mkdir(parents=True, exist_ok=True)
        #: The process group of the phase running now (for journaling and kill_leftovers).
        self.pgid: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._stop_reason: str | None = None

    async def run_phase(
        self,
        name: str,
        commands: list[str],
        finally_commands: list[str],
        on_output: Callable[[list[str]], None],
        deadline: float | None = None,
        overrides: dict[str, str] | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> PhaseOutcome:
        """Run one phase; ``deadline`` is a ``time.monotonic()`` value."""
        if self._stop_reason is not None:
            return PhaseOutcome(self._stop_reason)
        script = self.state_dir / f"phase-{name.lower()}.sh"
        script.write_text(_script(self.state_dir, commands, finally_commands, overrides or {}))
        proc = await asyncio.create_subprocess_exec(
            "bash", "--noprofile", "--norc", str(script),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env=self.env, cwd=str(self.state_dir), start_new_session=True, preexec_fn=_pdeathsig,
        )
        self._proc, self.pgid = proc, proc.pid
        if on_start is not None:
            on_start(proc.pid)
        reader = asyncio.ensure_future(_pump(proc, on_output))
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        timed_out = False
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            timed_out = True
            self._stop_reason = "TIMED_OUT"
            await self._kill(proc)
        finally:
            # The pipe may stay open in a background grandchild: give the reader a moment only.
            try:
                await asyncio.wait_for(asyncio.shield(reader), 1.0)
            except TimeoutError:
                reader.cancel()
            self._proc = None
        if timed_out:
            return PhaseOutcome("TIMED_OUT")
        if self._stop_reason == "STOPPED":
            return PhaseOutcome("STOPPED")
        if proc.returncode == 0:
            return PhaseOutcome("SUCCEEDED", 0)
        return self._failure(proc.returncode, commands, finally_commands)

    def _failure(self, code: int | None, commands: list[str], finally_commands: list[str]) -> PhaseOutcome:
        result = self.state_dir / "result"
        try:
            rc, where = result.read_text().strip().split("\t")
            index = int(where[1:])
            command = (commands if where[0] == "c" else finally_commands)[index]
            return PhaseOutcome("FAILED", int(rc), command)
        except (OSError, ValueError, IndexError):
            return PhaseOutcome("FAILED", code)

    async def stop(self) -> None:
        """StopBuild: kill the running phase's process group; later phases do not start."""
        self._stop_reason = self._stop_reason or "STOPPED"
        if self._proc is not None and self._proc.returncode is None:
            await self._kill(self._proc)

    async def _kill(self, proc: asyncio.subprocess.Process) -> None:
        for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                return
            try:
                await asyncio.wait_for(proc.wait(), wait)
                # The shell is gone; make sure nothing of its group survives it.
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                return
            except TimeoutError:
                continue

    def final_environment(self) -> dict[str, str]:
        """The variables as the last phase left them (for ``exported-variables``)."""
        try:
            data = (self.state_dir / "env.bin").read_bytes()
        except OSError:
            return dict(self.env)
        out: dict[str, str] = {}
        for item in data.split(b"\0"):
            if b"=" in item:
                key, _, value = item.partition(b"=")
                out[key.decode(errors="replace")] = value.decode(errors="replace")
        return out


async def _pump(proc: asyncio.subprocess.Process, on_output: Callable[[list[str]], None]) -> None:
    assert proc.stdout is not None
    pending = b""
    while True:
        chunk = await proc.stdout.read(65536)
        if not chunk:
            break
        pending += chunk
        if b"\n" in pending:
            *complete, pending = pending.split(b"\n")
            on_output([line.decode(errors="replace") for line in complete])
        elif len(pending) > 256 * 1024:  # a very long line: cut it, as CloudWatch would
            on_output([pending.decode(errors="replace")])
            pending = b""
    if pending:
        on_output([pending.decode(errors="replace")])


def kill_leftovers(pgid: int, marker: str) -> int:
    """After a crash: SIGKILL the processes of group ``pgid`` whose environment carries
    ``marker`` (``CODEBUILD_BUILD_ID=...``), so a reused process id is never hit. Returns how many."""
    killed = 0
    needle = marker.encode()
    proc_root = Path("/proc")
    if not proc_root.is_dir():
        return 0
    for entry in proc_root.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            os.kill(int(entry.name), signal.SIGKILL)
            killed += 1
        except (OSError, ValueError, IndexError):
            continue
    return killed
