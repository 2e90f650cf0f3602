"""Lines of output from user code (jobs, functions, builds) into CloudWatch Logs.

Writes go through the Logs provider like any other call (Seedbed acting as the AWS service, so not
IAM-checked, but recorded), which keeps the Logs tables owned by the Logs service.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from seedbed.errors import ServiceError

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

#: PutLogEvents accepts at most this many events per call.
MAX_BATCH = 10_000


def now_ms() -> int:
    return int(time.time() * 1000)


class LogStream:
    """One log stream that a running piece of code appends to; creates its group and stream on
    first use."""

    def __init__(self, backend: Backend, account_id: str, region: str, group: str, stream: str) -> None:
        self.backend = backend
        self.account_id = account_id
        self.region = region
        self.group = group
        self.stream = stream
        self._ready = False

    async def _call(self, operation: str, params: dict) -> dict:
        return await self.backend.call(None, "logs", operation, params, self.region, self.account_id)

    async def _ensure(self) -> None:
        if self._ready:
            return
        for operation, params in (
            ("CreateLogGroup", {"logGroupName": self.group}),
            ("CreateLogStream", {"logGroupName": self.group, "logStreamName": self.stream}),
        ):
            try:
                await self._call(operation, params)
            except ServiceError as exc:
                if exc.code != "ResourceAlreadyExistsException":
                    raise
        self._ready = True

    async def write(self, lines: list[str], timestamp_ms: int | None = None) -> None:
        """Append ``lines`` (one event each, newline stripped)."""
        if not lines:
            return
        await self._ensure()
        when = timestamp_ms if timestamp_ms is not None else now_ms()
        events = [{"timestamp": when, "message": line.rstrip("\n") or " "} for line in lines]
        for start in range(0, len(events), MAX_BATCH):
            await self._call("PutLogEvents", {
                "logGroupName": self.group, "logStreamName": self.stream,
                "logEvents": events[start:start + MAX_BATCH],
            })
