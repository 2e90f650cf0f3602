"""Warm worker processes for Lambda functions, on the server side.

One pool per server. Workers are keyed by function version and configuration hash: a worker runs
invocations of exactly one configuration one at a time, stays warm between them, and a key gets up
to ``max_per_key`` workers for concurrent invocations (beyond that, callers wait for a free one).
Workers idle longer than ``idle_seconds`` are stopped, and none lives longer than
``max_age_seconds`` (its role credentials expire after an hour). A worker is a child process
speaking JSON lines over pipes (see :mod:`seedbed.runtime.lambda_.worker`); a timed-out
invocation kills its worker's whole process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
#: Pipe buffer limit for one message (a 6 MB payload, JSON-escaped, fits).
LINE_LIMIT = 64 * 1024 * 1024
#: AWS gives the Init phase 10 seconds (on-demand functions), or the timeout when longer.
INIT_SECONDS = 10.0


@dataclass
class FunctionSpec:
    """What a worker needs to run one configuration of one function version."""

    key: str  # "account/region/name/version/confighash"
    function_id: str  # "account/region/name/"
    version: str
    task_root: Path
    handler: str
    timeout: float
    memory_mb: int
    #: Directories after the code on sys.path (installed requirements, layers).
    paths: list[str] = field(default_factory=list)
    #: Builds the process environment for a new worker, given its log stream name (fresh role
    #: credentials each time).
    environment: Callable[[str], dict[str, str]] = lambda stream: {}


@dataclass
class InvokeResult:
    ok: bool
    payload: bytes | None
    error: dict[str, Any] | None
    logs: str
    init_logs: str
    duration_ms: float
    init_ms: float | None
    max_memory_mb: int
    log_stream: str
    timed_out: bool = False


class WorkerGone(Exception):
    """The worker exited (or could not start) before answering."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def log_stream_name(version: str) -> str:
    return time.strftime("%Y/%m/%d/", time.gmtime()) + f"[{version}]" + secrets.token_hex(16)


class Worker:
    def __init__(self, spec: FunctionSpec, proc: asyncio.subprocess.Process, stream: str) -> None:
        self.spec = spec
        self.proc = proc
        self.stream = stream
        self.started = time.monotonic()
        self.last_used = self.started
        self.init_ms: float | None = None
        self.init_error: dict[str, Any] | None = None
        self.init_logs = ""
        self.fresh = True
        self.dead = False

    @classmethod
    async def start(cls, spec: FunctionSpec) -> Worker:
        stream = log_stream_name(spec.version)
        env = spec.environment(stream)
        env["SEEDBED_LAMBDA_PATHS"] = os.pathsep.join(spec.paths)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-u", str(WORKER_SCRIPT),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=str(spec.task_root), env=env, limit=LINE_LIMIT, start_new_session=True,
        )
        worker = cls(spec, proc, stream)
        logs: list[str] = []
        try:
            async with asyncio.timeout(max(INIT_SECONDS, spec.timeout)):
                ready = await worker._read(logs)
        except TimeoutError:
            worker.kill()
            worker.init_error = {"errorType": "Runtime.InitTimeout", "errorMessage": "INIT phase timed out"}
            worker.init_logs = "".join(logs)
            return worker
        except WorkerGone:
            worker.kill()
            raise
        worker.init_ms = float(ready.get("init_ms") or 0.0)
        worker.init_error = ready.get("error")
        worker.init_logs = "".join(logs)
        if worker.init_error is not None:
            worker.kill()
        return worker

    async def _read(self, logs: list[str]) -> dict[str, Any]:
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            line = await stdout.readline()
            if not line:
                raise WorkerGone(await self._exit_reason())
            message = json.loads(line)
            if message.get("op") == "log":
                logs.append(message["text"])
                continue
            return message  # type: ignore[no-any-return]

    async def _exit_reason(self) -> str:
        self.dead = True
        stderr = b""
        if self.proc.stderr is not None:
            with contextlib.suppress(Exception):
                stderr = await asyncio.wait_for(self.proc.stderr.read(4096), 1)
        try:
            code = await asyncio.wait_for(self.proc.wait(), 2)
        except TimeoutError:
            self.kill()
            code = None
        if stderr.strip():
            log.warning("lambda worker for %s failed: %s", self.spec.key, stderr.decode(errors="replace")[-2000:])
        if code is not None and code < 0:
            return f"Runtime exited with error: signal: {signal.Signals(-code).name.lower().removeprefix('sig')}"
        return f"Runtime exited with error: exit status {code}"

    async def invoke(self, request_id: str, payload: bytes, arn: str, client_context: Any) -> InvokeResult:
        spec = self.spec
        init_ms = self.init_ms if self.fresh else None
        init_logs = self.init_logs if self.fresh else ""
        self.fresh = False
        if self.init_error is not None:
            error = dict(self.init_error)
            if error.get("errorType") == "Runtime.InitTimeout":
                return InvokeResult(False, None, error, "", init_logs, 0.0, init_ms, 0, self.stream, timed_out=True)
            error["requestId"] = request_id
            return InvokeResult(False, None, error, "", init_logs, 0.0, init_ms, 0, self.stream)
        deadline_ms = int(time.time() * 1000 + spec.timeout * 1000)
        message = {
            "op": "invoke", "id": request_id, "payload": payload.decode("utf-8") if payload else "",
            "deadline_ms": deadline_ms, "arn": arn, "client_context": client_context,
        }
        stdin = self.proc.stdin
        assert stdin is not None
        logs: list[str] = []
        started = time.perf_counter()
        try:
            stdin.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
            async with asyncio.timeout(spec.timeout):
                await stdin.drain()
                answer = await self._read(logs)
        except TimeoutError:
            self.kill()
            duration = spec.timeout * 1000
            error = {"errorType": "Sandbox.Timedout",
                     "errorMessage": f"RequestId: {request_id} Error: Task timed out after {spec.timeout:.2f} seconds"}
            return InvokeResult(False, None, error, "".join(logs), init_logs, duration, init_ms, spec.memory_mb,
                                self.stream, timed_out=True)
        except (WorkerGone, ConnectionError, BrokenPipeError) as exc:
            self.kill()
            reason = exc.message if isinstance(exc, WorkerGone) else "Runtime exited with error: exit status 1"
            error = {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {request_id} Error: {reason}"}
            logs.append(f"RequestId: {request_id} Error: {reason}\nRuntime.ExitError\n")
            return InvokeResult(False, None, error, "".join(logs), init_logs, (time.perf_counter() - started) * 1000,
                                init_ms, spec.memory_mb, self.stream)
        self.last_used = time.monotonic()
        ok = bool(answer.get("ok"))
        return InvokeResult(
            ok,
            answer["payload"].encode("utf-8") if ok else None,
            None if ok else answer.get("error"),
            "".join(logs),
            init_logs,
            float(answer.get("duration_ms") or 0.0),
            init_ms,
            int(answer.get("max_memory_mb") or 0),
            self.stream,
        )

    def kill(self) -> None:
        self.dead = True
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()


class Pool:
    """Warm workers by configuration key."""

    def __init__(self, max_per_key: int = 4, idle_seconds: float = 600.0, max_age_seconds: float = 2700.0) -> None:
        self.max_per_key = max_per_key
        self.idle_seconds = idle_seconds
        self.max_age_seconds = max_age_seconds
        self._idle: dict[str, list[Worker]] = {}
        self._count: dict[str, int] = {}
        self._freed: dict[str, asyncio.Condition] = {}
        self._retired: set[str] = set()
        self._all: set[Worker] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._reaping: set[asyncio.Task[int]] = set()

    async def invoke(self, spec: FunctionSpec, request_id: str, payload: bytes, arn: str,
                     client_context: Any = None) -> InvokeResult:
        self._retired.discard(spec.key)
        self._ensure_reaper()
        try:
            worker = await self._acquire(spec)
        except WorkerGone as exc:
            error = {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {request_id} Error: {exc.message}"}
            return InvokeResult(False, None, error, f"{exc.message}\n", "", 0.0, None, 0, "")
        try:
            return await worker.invoke(request_id, payload, arn, client_context)
        finally:
            await self._release(worker)

    async def _acquire(self, spec: FunctionSpec) -> Worker:
        key = spec.key
        condition = self._freed.setdefault(key, asyncio.Condition())
        while True:
            idle = self._idle.get(key)
            while idle:
                worker = idle.pop()
                if not worker.dead and worker.proc.returncode is None and not self._too_old(worker):
                    return worker
                self._drop(worker)
            if self._count.get(key, 0) < self.max_per_key:
                self._count[key] = self._count.get(key, 0) + 1
                try:
                    worker = await Worker.start(spec)
                except BaseException:
                    self._count[key] -= 1
                    raise
                self._all.add(worker)
                return worker
            async with condition:
                await condition.wait()

    def _too_old(self, worker: Worker) -> bool:
        return time.monotonic() - worker.started > self.max_age_seconds

    async def _release(self, worker: Worker) -> None:
        key = worker.spec.key
        if worker.dead or worker.proc.returncode is not None or key in self._retired or self._too_old(worker):
            self._drop(worker)
        else:
            worker.last_used = time.monotonic()
            self._idle.setdefault(key, []).append(worker)
        condition = self._freed.get(key)
        if condition is not None:
            async with condition:
                condition.notify()

    def _drop(self, worker: Worker) -> None:
        worker.kill()
        try:  # reap the process, so its pipes close while the loop still runs
            task = asyncio.get_running_loop().create_task(worker.proc.wait())
        except RuntimeError:
            pass
        else:
            self._reaping.add(task)
            task.add_done_callback(self._reaping.discard)
        if worker in self._all:
            self._all.discard(worker)
            key = worker.spec.key
            self._count[key] = max(self._count.get(key, 1) - 1, 0)

    def retire(self, function_id: str, version: str | None = None) -> None:
        """Stop the workers of a function (of one of its versions): its configuration changed or it
        is gone. Busy ones stop when their invocation ends; the next invocation starts fresh ones."""
        for worker in list(self._all):
            spec = worker.spec
            if spec.function_id == function_id and (version is None or spec.version == version):
                self._retired.add(spec.key)
                idle = self._idle.get(spec.key) or []
                if worker in idle:
                    idle.remove(worker)
                    self._drop(worker)

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    async def _reap_forever(self) -> None:
        while self._all:
            await asyncio.sleep(min(30.0, self.idle_seconds / 2))
            self.reap()

    def reap(self) -> None:
        now = time.monotonic()
        for key, idle in list(self._idle.items()):
            for worker in list(idle):
                if now - worker.last_used > self.idle_seconds or self._too_old(worker) or worker.proc.returncode is not None:
                    idle.remove(worker)
                    self._drop(worker)

    def workers(self, function_id: str | None = None) -> list[Worker]:
        return [w for w in self._all if function_id is None or w.spec.function_id == function_id]

    async def aclose(self) -> None:
        """Stop every worker and wait for the processes to go."""
        workers = list(self._all)
        self.close()
        for worker in workers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker.proc.wait(), 5)
        if self._reaping:
            await asyncio.wait(list(self._reaping), timeout=5)

    def close(self) -> None:
        for worker in list(self._all):
            worker.kill()
        self._all.clear()
        self._idle.clear()
        self._count.clear()
        if self._reaper is not None:
            self._reaper.cancel()
