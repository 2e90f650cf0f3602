"""Endpoint invocation metrics, as SageMaker publishes them: namespace ``AWS/SageMaker``, dimensions
``EndpointName`` and ``VariantName``, one data point per minute with statistic sets:
``Invocations``, ``Invocation4XXErrors``, ``Invocation5XXErrors`` (Count), ``ModelLatency`` and
``OverheadLatency`` (Microseconds).

Counters live in memory and go out through CloudWatch ``PutMetricData`` (Seedbed acting as
SageMaker) once their minute is over; while CloudWatch is not built the points are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from seedbed.errors import ServiceError

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

log = logging.getLogger(__name__)

NAMESPACE = "AWS/SageMaker"
COUNTS = ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors")
LATENCIES = ("ModelLatency", "OverheadLatency")


class _Stat:
    __slots__ = ("count", "maximum", "minimum", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.minimum = float("inf")
        self.maximum = float("-inf")

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)


Key = tuple[str, str, str, str, int]  # account, region, endpoint, variant, minute


class Metrics:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.counts: dict[Key, dict[str, int]] = {}
        self.latencies: dict[Key, dict[str, _Stat]] = {}
        self._task: asyncio.Task[None] | None = None

    def record(self, account: str, region: str, endpoint: str, variant: str, status: int,
               model_us: int | None, overhead_us: int | None) -> None:
        minute = int(datetime.now(UTC).timestamp()) // 60
        key = (account, region, endpoint, variant, minute)
        counts = self.counts.get(key)
        if counts is None:
            counts = self.counts[key] = {name: 0 for name in COUNTS}
            self.latencies[key] = {name: _Stat() for name in LATENCIES}
        counts["Invocations"] += 1
        if 400 <= status < 500:
            counts["Invocation4XXErrors"] += 1
        elif status >= 500:
            counts["Invocation5XXErrors"] += 1
        stats = self.latencies[key]
        if model_us is not None:
            stats["ModelLatency"].add(model_us)
        if overhead_us is not None:
            stats["OverheadLatency"].add(max(0, overhead_us))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._publish_later())

    async def _publish_later(self) -> None:
        try:
            now = datetime.now(UTC).timestamp()
            await asyncio.sleep(60 - now % 60 + 1)
        finally:
            self._task = None
        await self.publish(all_minutes=False)

    async def publish(self, all_minutes: bool = True) -> None:
        """Send the finished minutes (or all, at shutdown) to CloudWatch."""
        current = int(datetime.now(UTC).timestamp()) // 60
        ready = [k for k in self.counts if all_minutes or k[4] < current]
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for key in ready:
            account, region, endpoint, variant, minute = key
            counts, stats = self.counts.pop(key), self.latencies.pop(key)
            when = datetime.fromtimestamp(minute * 60, UTC)
            dims = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
            data = groups.setdefault((account, region), [])
            for name, value in counts.items():
                data.append({"MetricName": name, "Dimensions": dims, "Timestamp": when, "Value": float(value),
                             "Unit": "Count"})
            for name, stat in stats.items():
                if stat.count:
                    data.append({"MetricName": name, "Dimensions": dims, "Timestamp": when, "Unit": "Microseconds",
                                 "StatisticValues": {"SampleCount": float(stat.count), "Sum": stat.total,
                                                     "Minimum": stat.minimum, "Maximum": stat.maximum}})
        for (account, region), data in groups.items():
            for start in range(0, len(data), 1000):
                try:
                    await self.backend.call(None, "cloudwatch", "PutMetricData",
                                            {"Namespace": NAMESPACE, "MetricData": data[start:start + 1000]},
                                            region, account)
                except ServiceError as exc:
                    if exc.code != "NotImplemented":
                        log.warning("could not publish endpoint metrics: %s: %s", exc.code, exc.message)
        if self.counts and self._task is None and not all_minutes:
            self._task = asyncio.get_running_loop().create_task(self._publish_later())

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
