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

#: PutLogEvents accepts at most this many events per call, of at most this many bytes (each
#: event's UTF-8 message plus 26), and events of at most MAX_EVENT_BYTES.
MAX_BATCH = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_EVENT_BYTES = 256 * 1024


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
        """Append ``lines`` (one event each, newline stripped; a line over 256 KB is cut)."""
        if not lines:
            return
        await self._ensure()
        when = timestamp_ms if timestamp_ms is not None else now_ms()
        batch: list[dict] = []
        size = 0
        for line in lines:
            message = line.rstrip("\n") or " "
            encoded = len(message.encode("utf-8"))
            if encoded > MAX_EVENT_BYTES:
                message = message.encode("utf-8")[:MAX_EVENT_BYTES].decode("utf-8", "ignore")
                encoded = len(message.encode("utf-8"))
            if batch and (len(batch) >= MAX_BATCH or size + encoded + EVENT_OVERHEAD > MAX_BATCH_BYTES):
                await self._put(batch)
                batch, size = [], 0
            batch.append({"timestamp": when, "message": message})
            size += encoded + EVENT_OVERHEAD
        if batch:
            await self._put(batch)

    async def _put(self, events: list[dict]) -> None:
        params = {"logGroupName": self.group, "logStreamName": self.stream, "logEvents": events}
        try:
            await self._call("PutLogEvents", params)
        except ServiceError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            self._ready = False  # the group or stream was deleted meanwhile: make it again
            await self._ensure()
            await self._call("PutLogEvents", params)
