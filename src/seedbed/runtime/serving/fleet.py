"""The server side of a production variant: its worker processes ("instances"), started together,
called round robin over their Unix sockets, scaled, drained and stopped.

Standard library only: this module runs in the server process. A worker's output lines go to a
``log`` callback (the endpoint's CloudWatch log stream for that instance); a worker that dies while
its fleet is serving is started again, as SageMaker replaces an unhealthy instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from seedbed.runtime.serving.protocol import HEADER, decode, encode

log = logging.getLogger(__name__)

READY = "SEEDBED-WORKER-READY"
FAILED = "SEEDBED-WORKER-FAILED:"
START_TIMEOUT = 180.0

#: (instance id, lines) -> None: where a worker's output goes.
LogSink = Callable[[str, list[str]], Awaitable[None]]


class FleetError(Exception):
    """A fleet could not start: the reason names what the worker said."""


class WorkerGone(Exception):
    """The worker died while answering (the caller answers a 5xx)."""


@dataclass
class FleetSpec:
    variant: str
    model_dir: Path
    runtime: str  # "xgboost" or "script"
    framework: str
    env: dict[str, str]
    code_dir: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)


class Worker:
    def __init__(self, fleet: Fleet, instance_id: str, socket_path: str) -> None:
        self.fleet = fleet
        self.instance_id = instance_id
        self.socket_path = socket_path
        self.process: asyncio.subprocess.Process | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.lock = asyncio.Lock()
        self.ready: asyncio.Future[None] | None = None
        self.tail: deque[str] = deque(maxlen=30)
        self.failure: str | None = None
        self.pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        spec = self.fleet.spec
        loop = asyncio.get_running_loop()
        self.ready = loop.create_future()
        cmd = [sys.executable, "-m", "seedbed.runtime.serving.worker", "--socket", self.socket_path,
               "--model-dir", str(spec.model_dir), "--runtime", spec.runtime, "--framework", spec.framework]
        if spec.code_dir is not None:
            cmd += ["--code-dir", str(spec.code_dir)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(spec.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        # One instance answers one request at a time: a single thread predicts a small request
        # in half the time an OpenMP team takes to wake; instances scale by count.
        env.setdefault("OMP_NUM_THREADS", "1")
        self.process = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env=env, cwd=str(spec.model_dir), start_new_session=True,
        )
        self.pump = asyncio.create_task(self._pump())
        try:
            await asyncio.wait_for(asyncio.shield(self.ready), START_TIMEOUT)
        except TimeoutError:
            raise FleetError(f"the model server did not start in {int(START_TIMEOUT)} s") from None
        self.reader, self.writer = await asyncio.open_unix_connection(self.socket_path)

    async def _pump(self) -> None:
        """Forward output lines in batches; notice readiness and exit."""
        assert self.process is not None and self.process.stdout is not None
        stdout = self.process.stdout
        batch: list[str] = []
        try:
            while True:
                line_bytes = await stdout.readline()
                if not line_bytes:
                    break
                line = line_bytes.decode("utf-8", "replace").rstrip("\n")
                if line == READY and self.ready is not None and not self.ready.done():
                    self.ready.set_result(None)
                    continue
                if line.startswith(FAILED):
                    self.failure = line[len(FAILED):].strip()
                    continue
                self.tail.append(line)
                batch.append(line)
                if not getattr(stdout, "_buffer", b"") or len(batch) >= 500:
                    await self._flush(batch)
                    batch = []
        finally:
            await self._flush(batch)
            code = await self.process.wait()
            if self.ready is not None and not self.ready.done():
                reason = self.failure or (self.tail[-1] if self.tail else f"exit status {code}")
                self.ready.set_exception(FleetError(reason))
            self.fleet._worker_exited(self, code)

    async def _flush(self, batch: list[str]) -> None:
        if batch and self.fleet.log_sink is not None:
            try:
                await self.fleet.log_sink(self.instance_id, list(batch))
            except Exception:  # logs are best effort; serving goes on
                log.debug("could not forward worker logs", exc_info=True)

    async def call(self, frame: bytes) -> tuple[dict, bytes]:
        async with self.lock:
            if self.writer is None or self.reader is None:
                raise WorkerGone(self.instance_id)
            try:
                self.writer.write(frame)
                head = await self.reader.readexactly(HEADER.size)
                meta_len, body_len = HEADER.unpack(head)
                payload = await self.reader.readexactly(meta_len + body_len)
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                self.writer = self.reader = None
                raise WorkerGone(self.instance_id) from None
        return decode(payload, meta_len)

    def kill(self) -> None:
        """Terminate the process now (server shutdown, outside the event loop's control)."""
        proc = self.process
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()

    async def stop(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = self.reader = None
        proc = self.process
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self.pump is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self.pump, 2)


class Fleet:
    """The workers of one variant of one endpoint deployment."""

    def __init__(self, spec: FleetSpec, log_sink: LogSink | None = None) -> None:
        self.spec = spec
        self.log_sink = log_sink
        self.workers: list[Worker] = []
        self.inflight = 0
        self._rr = 0
        self._stopping = False
        self._dir = tempfile.mkdtemp(prefix="sbh-")  # short: socket paths are limited to 107 bytes
        self._idle = asyncio.Event()
        self._idle.set()

    def _new_worker(self) -> Worker:
        instance_id = "i-" + secrets.token_hex(8) + "0"
        return Worker(self, instance_id, os.path.join(self._dir, f"{instance_id}.sock"))

    async def start(self, count: int) -> None:
        """Start ``count`` workers and wait until all listen; raises :class:`FleetError`."""
        new = [self._new_worker() for _ in range(max(1, count))]
        self.workers.extend(new)
        results = await asyncio.gather(*(w.start() for w in new), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.stop()
            first = errors[0]
            raise first if isinstance(first, FleetError) else FleetError(f"{type(first).__name__}: {first}")

    async def scale(self, count: int) -> None:
        count = max(1, count)
        if count > len(self.workers):
            new = [self._new_worker() for _ in range(count - len(self.workers))]
            results = await asyncio.gather(*(w.start() for w in new), return_exceptions=True)
            started = [w for w, r in zip(new, results, strict=True) if not isinstance(r, BaseException)]
            for w, r in zip(new, results, strict=True):
                if isinstance(r, BaseException):
                    await w.stop()
            self.workers.extend(started)
            if len(started) < len(new):
                raise FleetError("some new instances did not start")
        elif count < len(self.workers):
            gone, self.workers = self.workers[count:], self.workers[:count]
            for w in gone:
                async with w.lock:  # let its request in flight finish
                    pass
                await w.stop()

    @property
    def size(self) -> int:
        return len(self.workers)

    def pick(self) -> Worker:
        workers = self.workers
        n = len(workers)
        if n == 0:
            raise WorkerGone("no instances")
        start = self._rr
        self._rr = (start + 1) % n
        for i in range(n):  # the next idle one in turn, else the next in turn
            w = workers[(start + i) % n]
            if not w.lock.locked() and w.writer is not None:
                return w
        return workers[start % n]

    async def invoke(self, meta: dict, body: bytes) -> tuple[dict, bytes, str]:
        """Send one request to the next worker; returns (reply meta, body, instance id)."""
        frame = encode(meta, body)
        self.inflight += 1
        self._idle.clear()
        try:
            worker = self.pick()
            reply, out = await worker.call(frame)
            return reply, out, worker.instance_id
        finally:
            self.inflight -= 1
            if self.inflight == 0:
                self._idle.set()

    async def drain(self, timeout: float = 60.0) -> None:
        """Wait until the requests already sent here are answered."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)

    async def stop(self) -> None:
        self._stopping = True
        workers, self.workers = list(self.workers), []
        await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)
        shutil.rmtree(self._dir, ignore_errors=True)

    def kill(self) -> None:
        self._stopping = True
        for worker in self.workers:
            worker.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _worker_exited(self, worker: Worker, code: int) -> None:
        if self._stopping or worker not in self.workers or worker.ready is None or not worker.ready.done() \
                or worker.ready.exception() is not None:
            return
        log.warning("model server %s of variant %s exited (%s); starting a new one",
                    worker.instance_id, self.spec.variant, code)
        asyncio.get_running_loop().create_task(self._replace(worker))

    async def _replace(self, worker: Worker) -> None:
        fresh = self._new_worker()
        try:
            await fresh.start()
        except FleetError as exc:
            log.warning("could not replace model server of variant %s: %s", self.spec.variant, exc)
            return
        if self._stopping:
            await fresh.stop()
            return
        self.workers = [fresh if w is worker else w for w in self.workers]
