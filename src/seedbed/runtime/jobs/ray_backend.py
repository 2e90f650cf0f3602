"""Jobs as Ray tasks (``seedbed up --jobs-backend ray``), so a Ray cluster runs many jobs.

Each job is one Ray task that asks for the instance type's resources (``num_cpus`` and ``memory``
times the instance count, ``num_gpus`` for GPU types; capped at what the cluster has, so a laptop
still runs an ``ml.m5.4xlarge`` job) and runs the same runner as the local backend
(:mod:`seedbed.runtime.jobs.container`) as a child of the Ray worker. The task is a streaming
generator: output lines come back in batches while the job runs.

``ray`` is imported here only, and only when the backend is first used. The address comes from
``--ray-address`` / ``SEEDBED_RAY_ADDRESS`` (``ray://host:10001``, ``auto``); without one a local
Ray instance is started. On a remote cluster the runner works in a temporary folder of its node
and stages through S3 at ``AWS_ENDPOINT_URL`` (the server must be reachable from the nodes, and
Seedbed installed in their Python). Stopping cancels the task; the runner gets SIGTERM and
stops the job's processes.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from seedbed.runtime.jobs.backends import Sink, dispatch, lost

BATCH_SECONDS = 0.2


def _job_task(spec_text: str):  # type: ignore[no-untyped-def]
    """Runs inside a Ray worker: the runner as a child process, its stdout in batches."""
    import os
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "seedbed.runtime.jobs.container"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(spec_text)
    proc.stdin.close()
    batch: list[str] = []
    last = time.monotonic()
    try:
        for line in proc.stdout:
            batch.append(line)
            if len(batch) >= 500 or time.monotonic() - last > BATCH_SECONDS or line.startswith("\x1e"):
                yield batch
                batch, last = [], time.monotonic()
        if batch:
            yield batch
        yield [f"\x1eexit {proc.wait()}\n"]
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)


class RayBackend:
    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        self.address = address
        self._ray: Any = None
        self._remote: Any = None
        self._lock = threading.Lock()
        self._running: dict[str, Any] = {}
        self._capacity: dict[str, float] = {}

    def _init(self) -> Any:
        with self._lock:
            if self._ray is None:
                import ray

                if not ray.is_initialized():
                    if self.address:
                        ray.init(address=self.address, log_to_driver=False, ignore_reinit_error=True)
                    else:
                        ray.init(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
                                 configure_logging=False)
                self._capacity = dict(ray.cluster_resources())
                self._remote = ray.remote(_job_task)
                self._ray = ray
        return self._ray

    @property
    def remote_cluster(self) -> bool:
        return bool(self.address) and self.address not in ("local",)

    def options(self, spec: dict[str, Any]) -> dict[str, Any]:
        res = spec.get("resources") or {}
        count = int(spec.get("instance_count") or 1)
        cpus = float(res.get("requested_cpus") or 1) * count
        memory = float(res.get("memory_mb") or 1024) * 1024 * 1024 * count
        gpus = float(res.get("requested_gpus") or 0) * count
        out: dict[str, Any] = {
            "num_cpus": min(cpus, self._capacity.get("CPU", cpus)),
            "memory": min(memory, self._capacity.get("memory", memory) * 0.9),
        }
        if gpus and self._capacity.get("GPU"):
            out["num_gpus"] = min(gpus, self._capacity["GPU"])
        return out

    async def run(self, key: str, spec: dict[str, Any], sink: Sink) -> dict[str, Any]:
        ray = await asyncio.to_thread(self._init)
        if self.remote_cluster:
            spec = {**spec, "work_dir": None}
        options = self.options(spec)
        if options.get("num_gpus"):
            spec = {**spec, "env": {**spec.get("env", {}), "SM_NUM_GPUS": str(int(options["num_gpus"]))}}
        generator = self._remote.options(**options).remote(json.dumps(spec))
        self._running[key] = generator
        result: dict[str, Any] | None = None
        tail: list[str] = []
        code: int | None = None
        try:
            async for ref in generator:
                for raw in await ref:
                    if raw.startswith("\x1eexit "):
                        code = int(raw.split()[1])
                        continue
                    tail = (tail + [raw.rstrip()])[-20:]
                    result = dispatch(raw, sink) or result
        except ray.exceptions.TaskCancelledError:
            return {"event": "result", "exit_codes": [], "error": None, "stopped": True, "timed_out": False,
                    "tail": [], "uploaded": {}}
        except ray.exceptions.RayError as exc:
            return lost(None, [f"Ray: {type(exc).__name__}: {exc}"])
        finally:
            self._running.pop(key, None)
        return result or lost(code, tail)

    def stop(self, key: str) -> bool:
        generator = self._running.get(key)
        if generator is None or self._ray is None:
            return False
        self._ray.cancel(generator)
        return True

    def close(self) -> None:
        for key in list(self._running):
            self.stop(key)
        if self._ray is not None and not self.address:
            self._ray.shutdown()  # the local Ray instance this backend started
