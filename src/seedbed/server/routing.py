"""Pick the AWS service a request is for, from what botocore puts on the wire.

In order: S3 virtual-host names (``bucket.localhost``), ``X-Amz-Target`` (JSON services), the RPCv2
path ``/service/{prefix}/operation/{op}`` (CBOR services), the SigV4 credential scope's service
name, the query ``Action`` (query services), and last S3, which takes every other path (S3 is the
one service clients reach without a signature, e.g. with presigned or anonymous requests).

Several services sign with the same name (``sagemaker`` and ``sagemaker-runtime``, for example),
so the scope alone is not enough: the router narrows by protocol and, for REST services, by
whether the path matches one of the service's operations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from seedbed.protocol.http import HttpRequest
from seedbed.protocol.models import protocol_of, service_model

VHOST_SUFFIXES = (".s3.localhost", ".localhost")


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    protocol: str
    signing_name: str
    target_prefix: str | None
    endpoint_prefix: str


def s3_virtual_host_bucket(host: str) -> str | None:
    """``my-bucket.localhost:4599`` -> ``my-bucket`` (also ``my-bucket.s3.localhost``)."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    for suffix in VHOST_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            bucket = name[: -len(suffix)]
            return bucket if bucket != "s3" else None
    return None


def action_of(request: HttpRequest) -> str | None:
    """The query protocol's ``Action``: in the query string, or in a form-encoded body."""
    from seedbed.errors import ServiceError
    from seedbed.protocol.query_protocol import form_params

    try:
        return form_params(request).get("Action")
    except ServiceError:
        return None


class Router:
    def __init__(self, services: Iterable[str]) -> None:
        self.services: dict[str, ServiceInfo] = {}
        self._by_signing: dict[str, list[str]] = defaultdict(list)
        self._by_target: dict[str, str] = {}
        for name in services:
            model = service_model(name)
            info = ServiceInfo(
                name=name,
                protocol=protocol_of(model),
                signing_name=model.signing_name or model.endpoint_prefix,
                target_prefix=model.metadata.get("targetPrefix"),
                endpoint_prefix=model.endpoint_prefix,
            )
            self.services[name] = info
            self._by_signing[info.signing_name].append(name)
            if info.target_prefix:
                self._by_target[info.target_prefix] = name

    def route(self, request: HttpRequest, signing_service: str | None) -> tuple[str, HttpRequest]:
        """The service name, and the request as that service's parser should see it."""
        if signing_service in (None, "s3") and "s3" in self.services:
            bucket = s3_virtual_host_bucket(request.headers.get("host", ""))
            if bucket is not None:
                return "s3", replace(request, path=f"/{bucket}{request.path}")

        target = request.headers.get("x-amz-target")
        if target and "." in target:
            name = self._by_target.get(target.rsplit(".", 1)[0])
            if name:
                return name, request

        if request.path.startswith("/service/"):
            parts = request.path.split("/")
            if len(parts) >= 5 and parts[3] == "operation" and parts[2] in self._by_target:
                return self._by_target[parts[2]], request

        candidates = self._by_signing.get(signing_service or "", [])
        if len(candidates) == 1:
            return candidates[0], request
        action = action_of(request) if not target else None
        if candidates:
            return self._narrow(candidates, request, action), request
        if action:
            for name, info in self.services.items():
                if info.protocol == "query" and action in service_model(name).operation_names:
                    return name, request
        return "s3", request

    def _narrow(self, candidates: list[str], request: HttpRequest, action: str | None) -> str:
        """Choose among services sharing a signing name by protocol and path."""
        from seedbed.protocol import try_match_rest

        if action:
            for name in candidates:
                if self.services[name].protocol == "query":
                    return name
        rest = [n for n in candidates if self.services[n].protocol.startswith("rest")]
        for name in rest:
            if try_match_rest(service_model(name), request):
                return name
        return rest[0] if rest else candidates[0]
