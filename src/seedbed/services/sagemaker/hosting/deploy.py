"""Live endpoints: the fleets that serve each endpoint, how traffic is routed to them, and how a
deployment replaces them (blue/green: the new fleet serves before the old one stops).

One :class:`HostingManager` per server process holds every serving endpoint in memory
(``(account, region, lower name) -> LiveEndpoint``). Its routing table is a list of
:class:`Route` (variant, weight, fleet) that a deployment swaps in one assignment on the event
loop thread, so a request goes either to the old fleets or to the new ones, never to a
half-built table, and nothing reaches a fleet after the swap that will stop it; the old fleets
are stopped only once the requests already sent to them have been answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from seedbed.runtime.logsink import LogStream
from seedbed.runtime.serving.fleet import Fleet, FleetError, FleetSpec
from seedbed.services.sagemaker.hosting.artifacts import ArtifactError, Artifacts, primary_container
from seedbed.services.sagemaker.hosting.capture import Capture
from seedbed.services.sagemaker.hosting.metrics import Metrics

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

log = logging.getLogger(__name__)


class DeployError(Exception):
    """A deployment step failed; the message is the endpoint's FailureReason."""


@dataclass
class Route:
    variant: str
    weight: float
    fleet: Fleet
    model_name: str
    image: str
    #: What DescribeEndpoint reports for this variant.
    summary: dict[str, Any] = field(default_factory=dict)
    principal: Any = None


@dataclass
class LiveEndpoint:
    account: str
    region: str
    name: str
    arn: str
    routes: list[Route]
    capture: Capture | None = None
    async_config: dict[str, Any] | None = None
    #: (variant name -> routes of that name), rebuilt with the table.
    by_variant: dict[str, list[Route]] = field(default_factory=dict)
    total: float = 0.0

    def set_routes(self, routes: list[Route]) -> None:
        """Swap the routing table (one assignment each: the event loop sees old or new)."""
        by_variant: dict[str, list[Route]] = {}
        for route in routes:
            by_variant.setdefault(route.variant, []).append(route)
        self.by_variant = by_variant
        self.total = sum(r.weight for r in routes)
        self.routes = routes

    def choose(self, target_variant: str | None) -> Route | None:
        routes = self.routes
        if target_variant:
            routes = self.by_variant.get(target_variant) or []
            if not routes:
                return None
            total = sum(r.weight for r in routes)
        else:
            total = self.total
        if len(routes) == 1:
            return routes[0]
        if total <= 0:
            return routes[0] if routes else None
        point = random.random() * total
        for route in routes:
            point -= route.weight
            if point < 0:
                return route
        return routes[-1]


def resolved_image(image: str) -> str:
    """The image pinned by digest, as DescribeEndpoint's DeployedImages reports it."""
    if "@sha256:" in image:
        return image
    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


class HostingManager:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.artifacts = Artifacts(backend)
        self.metrics = Metrics(backend)
        self.live: dict[tuple[str, str, str], LiveEndpoint] = {}
        #: Endpoints whose fleets are (re)starting after a server restart: requests wait for them.
        self.starting: dict[tuple[str, str, str], asyncio.Event] = {}
        self.tasks: dict[tuple[str, str, str], asyncio.Task[Any]] = {}
        self._logs: dict[tuple[str, str, str, str], LogStream] = {}
        self._closing = False

    # -- fleets -----------------------------------------------------------------------------

    def log_sink(self, account: str, region: str, endpoint: str, variant: str) -> Any:
        group = f"/aws/sagemaker/Endpoints/{endpoint}"

        async def sink(instance_id: str, lines: list[str]) -> None:
            key = (account, region, group, f"{variant}/{instance_id}")
            stream = self._logs.get(key)
            if stream is None:
                stream = self._logs[key] = LogStream(self.backend, account, region, group, key[3])
            await stream.write(lines)

        return sink

    async def start_variant(self, account: str, region: str, endpoint: str, variant: dict[str, Any],
                            model_spec: dict[str, Any] | None, count: int, weight: float) -> Route:
        name = variant["VariantName"]
        if model_spec is None:
            raise DeployError(f"Could not find model \"{variant['ModelName']}\" for production variant {name}.")
        try:
            runtime = await self.artifacts.prepare(account, region, model_spec)
        except ArtifactError as exc:
            raise DeployError(f"Failed to download model data for production variant {name}: {exc}") from None
        spec = FleetSpec(name, runtime.model_dir, runtime.runtime, runtime.framework, runtime.env, runtime.code_dir)
        fleet = Fleet(spec, self.log_sink(account, region, endpoint, name))
        try:
            await fleet.start(count)
        except FleetError as exc:
            raise DeployError(
                f"The primary container for production variant {name} did not pass the ping health "
                f"check: {exc}. Please check CloudWatch logs for this endpoint."
            ) from None
        role = model_spec.get("ExecutionRoleArn")
        principal = self.artifacts.session(role).principal if role else None
        return Route(name, weight, fleet, variant["ModelName"], runtime.image, principal=principal)

    async def start_routes(self, account: str, region: str, endpoint: str, variants: list[dict[str, Any]],
                           models: dict[str, dict[str, Any] | None]) -> list[Route]:
        """Start every variant's fleet (all or nothing): ``variants`` carry VariantName,
        ModelName, the instance count and weight to start with."""
        results = await asyncio.gather(*(
            self.start_variant(account, region, endpoint, v, models.get(v["ModelName"]),
                               instance_count(v), float(v.get("InitialVariantWeight", 1.0)))
            for v in variants
        ), return_exceptions=True)
        routes = [r for r in results if isinstance(r, Route)]
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await stop_routes(routes)
            first = errors[0]
            if isinstance(first, DeployError):
                raise first
            log.error("endpoint %s could not start", endpoint, exc_info=first)
            raise DeployError(f"Internal failure while starting the model servers: {type(first).__name__}: {first}")
        return routes

    # -- serving ----------------------------------------------------------------------------

    def lookup(self, account: str, region: str, name: str) -> LiveEndpoint | None:
        return self.live.get((account, region, name.lower()))

    async def wait_live(self, account: str, region: str, name: str, timeout: float = 120) -> LiveEndpoint | None:
        """The live endpoint, waiting while its fleets restart after a server restart."""
        key = (account, region, name.lower())
        event = self.starting.get(key)
        if event is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        return self.live.get(key)

    def publish(self, live: LiveEndpoint) -> None:
        self.live[(live.account, live.region, live.name.lower())] = live

    async def retire(self, account: str, region: str, name: str) -> None:
        """Take an endpoint out of service and stop its fleets (after in-flight requests)."""
        key = (account, region, name.lower())
        task = self.tasks.pop(key, None)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        live = self.live.pop(key, None)
        if live is not None:
            if live.capture is not None:
                await live.capture.close()
            await stop_routes(live.routes, drain=True)

    def run(self, key: tuple[str, str, str], coro: Any) -> None:
        """Run an endpoint's long operation as its one task."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks[key] = task

        def done(t: asyncio.Task[Any]) -> None:
            if self.tasks.get(key) is t:
                self.tasks.pop(key, None)
            if not t.cancelled() and t.exception() is not None:
                log.error("endpoint operation failed", exc_info=t.exception())

        task.add_done_callback(done)

    def kill_all(self) -> None:
        """Stop every worker process at once (server shutdown, no awaiting possible)."""
        self._closing = True
        for task in list(self.tasks.values()):
            task.cancel()
        self.metrics.close()
        for live in self.live.values():
            for route in live.routes:
                route.fleet.kill()
        self.live = {}

    async def close(self) -> None:
        self._closing = True
        for task in list(self.tasks.values()):
            task.cancel()
        self.metrics.close()
        lives, self.live = list(self.live.values()), {}
        for live in lives:
            if live.capture is not None:
                with contextlib.suppress(Exception):
                    await live.capture.close()
        await asyncio.gather(*(stop_routes(live.routes) for live in lives), return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.metrics.publish()


def instance_count(variant: dict[str, Any]) -> int:
    """Workers for a variant: its instance count, or one for a serverless variant."""
    if variant.get("ServerlessConfig") and not variant.get("InitialInstanceCount"):
        return 1
    return int(variant.get("InitialInstanceCount") or 1)


async def stop_routes(routes: list[Route], drain: bool = False) -> None:
    fleets = {id(r.fleet): r.fleet for r in routes}.values()
    if drain:
        await asyncio.gather(*(f.drain() for f in fleets), return_exceptions=True)
    await asyncio.gather(*(f.stop() for f in fleets), return_exceptions=True)


def now() -> datetime:
    return datetime.now(UTC)


def model_image(spec: dict[str, Any] | None) -> str:
    return primary_container(spec or {}).get("Image") or ""
