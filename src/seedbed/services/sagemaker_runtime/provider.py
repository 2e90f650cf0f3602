"""SageMaker Runtime: ``InvokeEndpoint`` and ``InvokeEndpointAsync`` against the endpoints the
SageMaker hosting area serves (:mod:`seedbed.services.sagemaker.hosting.deploy`).

``InvokeEndpoint`` is the hot path: a dictionary lookup for the endpoint, a weighted pick of the
variant, one frame over the chosen worker's Unix socket, and in-memory metric counters; data
capture (when sampled) only appends to a buffer. Errors are the runtime service's: ``ModelError``
(424, with the container's status and message and the endpoint's log stream) when the model
answers otherwise than 200, ``ValidationError`` for an endpoint that is not in service.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from seedbed.errors import ServiceError
from seedbed.runtime.serving.fleet import WorkerGone
from seedbed.server.context import RequestContext
from seedbed.services.base import Provider
from seedbed.services.sagemaker.hosting.deploy import HostingManager, LiveEndpoint
from seedbed.services.sagemaker_runtime.errors import ModelError, RuntimeValidation
from seedbed.state import arns

log = logging.getLogger(__name__)

MAX_PAYLOAD = 6 * 1024 * 1024
ASYNC_MAX_PAYLOAD = 1024 * 1024 * 1024


class SageMakerRuntimeProvider(Provider):
    service = "sagemaker-runtime"

    def __init__(self, backend: Any) -> None:
        super().__init__(backend)
        self._manager: HostingManager | None = None
        self._async_tasks: set[asyncio.Task[None]] = set()

    @property
    def manager(self) -> HostingManager:
        if self._manager is None:
            self._manager = self.backend.provider("sagemaker").hosting
        return self._manager

    async def _live(self, ctx: RequestContext, name: str) -> LiveEndpoint:
        manager = self.manager
        live = manager.lookup(ctx.account_id, ctx.region, name)
        if live is None:
            live = await manager.wait_live(ctx.account_id, ctx.region, name)
        if live is None:
            raise RuntimeValidation(f"Endpoint {name} of account {ctx.account_id} not found.")
        ctx.resources.append(live.arn)
        return live

    async def invoke_endpoint(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        name = params["EndpointName"]
        live = self.manager.lookup(ctx.account_id, ctx.region, name) or await self._live(ctx, name)
        if params.get("TargetModel"):
            raise RuntimeValidation(
                f"Endpoint {live.name} is not a multi-model endpoint: TargetModel is not allowed.")
        if params.get("InferenceComponentName") or params.get("TargetContainerHostname"):
            raise RuntimeValidation(f"Endpoint {live.name} has no inference components or multiple containers.")
        body = params.get("Body") or b""
        if len(body) > MAX_PAYLOAD:
            raise RuntimeValidation("Request payload is larger than the 6 MB limit of real-time inference.")
        target = params.get("TargetVariant")
        route = live.choose(target)
        if route is None:
            raise RuntimeValidation(
                f"The variant {target} is not present in endpoint {live.name} of account {ctx.account_id}.")
        content_type = params.get("ContentType") or "application/octet-stream"
        meta: dict[str, Any] = {"ct": content_type}
        if params.get("Accept"):
            meta["accept"] = params["Accept"]
        if params.get("CustomAttributes"):
            meta["ca"] = params["CustomAttributes"]
        try:
            reply, out, _instance = await route.fleet.invoke(meta, body)
        except WorkerGone:
            self._metrics(ctx, live, route.variant, 500, None, started)
            raise self._model_error(ctx, live, route.variant, 500, "The model server stopped while answering.") from None
        status = int(reply.get("s", 500))
        if status != 200:
            self._metrics(ctx, live, route.variant, status, reply.get("ms"), started)
            raise self._model_error(ctx, live, route.variant, status, out.decode("utf-8", "replace"))
        out_type = reply.get("ct") or "application/octet-stream"
        capture = live.capture
        if capture is not None and capture.sampled():
            capture.record(route.variant, params.get("InferenceId"), content_type, body, out_type, out)
        self._metrics(ctx, live, route.variant, 200, reply.get("ms"), started)
        result: dict[str, Any] = {"Body": out, "ContentType": out_type, "InvokedProductionVariant": route.variant}
        if reply.get("ca"):
            result["CustomAttributes"] = reply["ca"]
        return result

    def _metrics(self, ctx: RequestContext, live: LiveEndpoint, variant: str, status: int,
                 model_us: int | None, started: float) -> None:
        total = int((time.perf_counter() - started) * 1e6)
        overhead = total - model_us if model_us is not None else None
        self.manager.metrics.record(ctx.account_id, ctx.region, live.name, variant, status, model_us, overhead)

    def _model_error(self, ctx: RequestContext, live: LiveEndpoint, variant: str, status: int,
                     message: str) -> ModelError:
        group = f"/aws/sagemaker/Endpoints/{live.name}"
        kind = "client" if 400 <= status < 500 else "server"
        log_arn = arns.build("logs", f"log-group:{group}", ctx.account_id, ctx.region)
        text = (
            f'Received {kind} error ({status}) from primary with message "{message}". See '
            f"https://{ctx.region}.console.aws.amazon.com/cloudwatch/home?region={ctx.region}#logEventViewer:"
            f"group={group} in account {ctx.account_id} for more information."
        )
        return ModelError(text, fields={"OriginalStatusCode": status, "OriginalMessage": message,
                                        "LogStreamArn": log_arn})

    # -- asynchronous inference ---------------------------------------------------------------

    async def invoke_endpoint_async(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        live = await self._live(ctx, params["EndpointName"])
        config = live.async_config
        if not config:
            raise RuntimeValidation(
                f"Endpoint {live.name} of account {ctx.account_id} is not an asynchronous inference endpoint "
                "(its endpoint config has no AsyncInferenceConfig).")
        location = params["InputLocation"]
        if not location.startswith("s3://") or "/" not in location[5:]:
            raise RuntimeValidation(f"InputLocation {location} is not an S3 object URI.")
        inference_id = params.get("InferenceId") or str(uuid.uuid4())
        output = config.get("OutputConfig") or {}
        base = output["S3OutputPath"].rstrip("/")
        extension = params.get("S3OutputPathExtension")
        if extension:
            base = f"{base}/{extension.strip('/')}"
        filename = params.get("Filename") or f"{inference_id}.out"
        output_location = f"{base}/{filename}"
        failure_base = (output.get("S3FailurePath") or output["S3OutputPath"]).rstrip("/")
        failure_location = f"{failure_base}/{inference_id}-error.out"
        task = asyncio.get_running_loop().create_task(self._run_async(
            ctx.account_id, ctx.region, live, location, params, output_location, failure_location))
        self._async_tasks.add(task)
        task.add_done_callback(self._async_tasks.discard)
        out = {"InferenceId": inference_id, "OutputLocation": output_location}
        if output.get("S3FailurePath"):
            out["FailureLocation"] = failure_location
        return out

    async def _run_async(self, account: str, region: str, live: LiveEndpoint, location: str,
                         params: dict[str, Any], output_location: str, failure_location: str) -> None:
        route = live.choose(None)
        principal = route.principal if route is not None else None

        async def put(url: str, body: bytes, content_type: str) -> None:
            bucket, _, key = url[5:].partition("/")
            await self.backend.call(principal, "s3", "PutObject",
                                    {"Bucket": bucket, "Key": key, "Body": body, "ContentType": content_type},
                                    region, account)

        try:
            bucket, _, key = location[5:].partition("/")
            got = await self.backend.call(principal, "s3", "GetObject", {"Bucket": bucket, "Key": key}, region, account)
            body = got.get("Body", b"")
            if not isinstance(body, (bytes, bytearray)):
                body = b"".join([chunk async for chunk in body])
            if route is None:
                raise RuntimeError("the endpoint has no variants in service")
            meta: dict[str, Any] = {"ct": params.get("ContentType") or "application/octet-stream"}
            if params.get("Accept"):
                meta["accept"] = params["Accept"]
            if params.get("CustomAttributes"):
                meta["ca"] = params["CustomAttributes"]
            reply, out, _ = await route.fleet.invoke(meta, bytes(body))
            if int(reply.get("s", 500)) == 200:
                await put(output_location, out, reply.get("ct") or "application/octet-stream")
            else:
                await put(failure_location, out, "text/plain")
        except (ServiceError, WorkerGone, RuntimeError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            try:
                await put(failure_location, message.encode(), "text/plain")
            except ServiceError:
                log.warning("async inference of %s failed and its failure could not be written: %s",
                            live.name, message)

    def close(self) -> None:
        for task in list(self._async_tasks):
            task.cancel()
