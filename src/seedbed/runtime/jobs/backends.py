"""Where job runners run: local subprocesses (the default) or Ray tasks (:mod:`.ray_backend`).

A backend runs the runner (:mod:`seedbed.runtime.jobs.container`) for a spec, hands every output
line and runner event to a :class:`Sink` as they come, and returns the runner's result event.
``stop`` asks a running job to stop (the runner turns it into SIGTERM for the instances).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections import deque
from typing import Any, Protocol

log = logging.getLogger(__name__)

RS = "\x1e"
RUNNER = [sys.executable, "-m", "seedbed.runtime.jobs.container"]


class Sink(Protocol):
    def line(self, host: int, text: str) -> None: ...

    def event(self, event: dict[str, Any]) -> None: ...


def dispatch(raw: str, sink: Sink) -> dict[str, Any] | None:
    """Hand one runner stdout line to ``sink``; returns the result event when it is one."""
    raw = raw.rstrip("\n")
    if raw.startswith(RS):
        try:
            event = json.loads(raw[1:])
        except ValueError:
            return None
        if event.get("event") == "result":
            return event
        sink.event(event)
        return None
    host, sep, text = raw.partition("\t")
    if sep and host.isdigit():
        sink.line(int(host), text)
    else:
        sink.line(0, raw)
    return None


def lost(code: int | None, tail: list[str]) -> dict[str, Any]:
    detail = " | ".join(tail[-5:]) or "no output"
    return {"event": "result", "exit_codes": [], "error": f"InternalServerError: the job runner exited with {code}: {detail}",
            "stopped": False, "timed_out": False, "tail": [], "uploaded": {}}


class LocalBackend:
    """Each job's runner is a child process of the server (its own session, so a stop reaches
    exactly it)."""

    name = "local"

    def __init__(self) -> None:
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        #: A runner started ahead of need (interpreter up, modules imported, waiting for its spec on
        #: stdin), so a job does not wait for Python to start: about 100 ms of every job.
        self._spare: asyncio.subprocess.Process | None = None
        self._closed = False

    async def _spawn(self) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *RUNNER, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True, limit=1 << 22,
        )

    async def _refill(self) -> None:
        if self._spare is None and not self._closed:
            self._spare = await self._spawn()

    async def _runner(self) -> asyncio.subprocess.Process:
        spare, self._spare = self._spare, None
        if spare is None or spare.returncode is not None:
            spare = await self._spawn()
        return spare

    async def run(self, key: str, spec: dict[str, Any], sink: Sink) -> dict[str, Any]:
        proc = await self._runner()
        self._procs[key] = proc
        errors: deque[str] = deque(maxlen=20)

        async def drain_stderr() -> None:
            assert proc.stderr is not None
            async for raw in proc.stderr:
                errors.append(raw.decode("utf-8", "replace").rstrip())

        stderr_task = asyncio.create_task(drain_stderr())
        result: dict[str, Any] | None = None
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(spec).encode())
            await proc.stdin.drain()
            proc.stdin.close()
            async for raw in proc.stdout:
                result = dispatch(raw.decode("utf-8", "replace"), sink) or result
            await proc.wait()
            await stderr_task
        finally:
            self._procs.pop(key, None)
            if proc.returncode is None:
                _signal(proc.pid, signal.SIGTERM)
            # The next spare starts once this job is done, not while it runs (it would take CPU
            # from the job on a small machine).
            asyncio.get_running_loop().create_task(self._refill())
        return result or lost(proc.returncode, list(errors))

    def stop(self, key: str) -> bool:
        proc = self._procs.get(key)
        if proc is None or proc.returncode is not None:
            return False
        _signal(proc.pid, signal.SIGTERM)
        return True

    def close(self) -> None:
        self._closed = True
        for proc in list(self._procs.values()):
            if proc.returncode is None:
                _signal(proc.pid, signal.SIGTERM)
        if self._spare is not None and self._spare.returncode is None:
            _signal(self._spare.pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def make_backend(name: str, address: str | None = None) -> Any:
    if name == "ray":
        from seedbed.runtime.jobs.ray_backend import RayBackend

        return RayBackend(address)
    if name != "local":
        raise ValueError(f"unknown jobs backend {name!r} (local or ray)")
    return LocalBackend()
