"""From an HTTP request to an HTTP response: route, authenticate, parse, call, serialize, audit.

This is the one path every API request takes. It never lets an exception escape as a bare 500:
service errors become the AWS error document of the request's protocol, anything unexpected becomes
``InternalFailure`` (logged with its traceback here, never sent to the client).
"""

from __future__ import annotations

import inspect
import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from seedbed import protocol
from seedbed.errors import InternalFailure, NotImplementedOperation, ServiceError
from seedbed.protocol.http import HttpRequest, HttpResponse
from seedbed.protocol.models import service_model
from seedbed.server.auth import chunked, sigv4
from seedbed.server.context import ACTING_SERVICE, INTERNAL_SOURCE, Principal, RequestContext, service_host
from seedbed.state import ids

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

log = logging.getLogger(__name__)

#: Operations AWS answers without a signature (besides S3, which decides per bucket).
ANONYMOUS_OPERATIONS = frozenset(
    {("sts", "AssumeRoleWithWebIdentity"), ("sts", "AssumeRoleWithSAML")}
)


def authenticate(
    backend: Backend, request: HttpRequest, sig: sigv4.SigV4Request | None, service: str
) -> Principal | None:
    """The verified principal, or None for an anonymous request (allowed only where AWS allows)."""
    if sig is None:
        return None
    cred = backend.credentials.resolve(sig.access_key)
    if cred is None or not cred.active:
        raise sigv4.auth_error(
            service,
            "unknown_key",
            "The AWS Access Key Id you provided does not exist in our records."
            if service == "s3"
            else "The security token included in the request is invalid.",
        )
    now = datetime.now(timezone.utc)
    if cred.session_token is not None:
        token = sig.security_token or request.headers.get("x-amz-security-token")
        if token != cred.session_token:
            raise sigv4.auth_error(
                service, "unknown_key", "The security token included in the request is invalid."
            )
        if cred.expiration is not None and cred.expiration <= now:
            raise sigv4.auth_error(
                service, "expired_token", "The security token included in the request is expired"
            )
    sigv4.verify_signature(request, sig, cred.secret_access_key, now)
    return cred.principal


def require_signature(service: str, operation: str) -> bool:
    return service != "s3" and (service, operation) not in ANONYMOUS_OPERATIONS


async def call_provider(
    backend: Backend, ctx: RequestContext, params: dict[str, Any]
) -> dict[str, Any]:
    provider = backend.provider(ctx.service)
    method = provider.operation(ctx.operation) if provider else None
    if method is None:
        raise NotImplementedOperation(ctx.service, ctx.operation)
    # What the provider calls in-process, now or from the tasks it starts, is this service's doing.
    token = ACTING_SERVICE.set(service_host(service_model(ctx.service).endpoint_prefix))
    try:
        result = method(ctx, params)
        if inspect.isawaitable(result):
            result = await result
    finally:
        ACTING_SERVICE.reset(token)
    return result or {}


async def handle(backend: Backend, request: HttpRequest, source_ip: str) -> HttpResponse:
    request_id = ids.request_id()
    ctx = RequestContext(
        request_id=request_id,
        service="",
        operation="",
        region=backend.settings.region,
        account_id="",
        principal=None,
        source_ip=source_ip,
        user_agent=request.headers.get("user-agent", ""),
        request=request,
    )
    if request.method == "OPTIONS":
        preflight = _cors_preflight(backend, request)
        if preflight is not None:
            return preflight
    service = "s3"
    wire = "rest-xml"
    params: dict[str, Any] | None = None
    sig: sigv4.SigV4Request | None = None
    try:
        sig = sigv4.parse_signature(request)
        if sig is not None:
            ctx.region = sig.region or ctx.region
        signed_request = request  # as the client signed it: before a vhost rewrite of the path
        service, request = backend.router.route(request, sig.service if sig else None)
        ctx.service = service
        model = service_model(service)
        wire = protocol.wire_protocol(model, request)
        operation, labels = protocol.match_operation(model, request, wire)
        ctx.operation = operation.name
        if sig is None and require_signature(service, operation.name):
            raise sigv4.auth_error(service, "missing", "Missing Authentication Token")
        ctx.principal = authenticate(backend, signed_request, sig, service)
        if ctx.principal is not None:
            ctx.account_id = ctx.principal.account_id
        if sig is not None and sig.payload_hash.startswith("STREAMING-"):
            body, trailers = chunked.decode_aws_chunked(request.body, sig, _secret(backend, sig))
            request.body = body
            request.headers.update(trailers)
        ctx.request = request
        params = protocol.parse_request(operation, request, labels, wire)
        protocol.validate_input(operation, params)
        backend.authorizer.authorize(ctx, operation.name, params)  # IAM (seedbed.iam.authorizer)
        output = await call_provider(backend, ctx, params)
        extra = output.pop("ResponseMetadata", None)
        response = protocol.serialize_response(operation, output, request_id, wire)
        if extra:
            _apply_response_metadata(response, extra)
        error_code = error_message = None
    except ServiceError as error:
        response = _error_response(service, error, request_id, wire)
        error_code, error_message = error.code, error.message
    except Exception:  # a bug in Seedbed: log it, answer like AWS does for internal faults
        log.exception("internal error handling %s %s", ctx.service, ctx.operation)
        error = InternalFailure("We encountered an internal error. Please try again.")
        response = _error_response(service, error, request_id, wire)
        error_code, error_message = error.code, error.message
    if service == "s3" and "origin" in request.headers:
        from seedbed.services.s3 import cors

        cors.apply_cors_headers(backend, request, response)
    if request.method == "HEAD":
        response.body, response.stream = b"", None
    backend.audit.record(
        ctx,
        f"{service_model(service).endpoint_prefix}.amazonaws.com" if service else "unknown",
        params,
        error_code,
        error_message,
        access_key_id=sig.access_key if sig else None,
    )
    return response


def _cors_preflight(backend: Backend, request: HttpRequest) -> HttpResponse | None:
    """An unsigned CORS preflight (``OPTIONS``) for S3, answered from the bucket's CORS rules."""
    service, routed = backend.router.route(request, None)
    if service != "s3":
        return None
    from seedbed.services.s3 import cors

    return cors.preflight(backend, routed)


def _apply_response_metadata(response: HttpResponse, extra: dict[str, Any]) -> None:
    """A provider's ``ResponseMetadata`` output: a status the model cannot express (S3's 206 for
    ranges, 304 Not Modified) and extra headers. A 304 carries no body."""
    status = extra.get("HTTPStatusCode")
    if status is not None:
        response.status = int(status)
        if response.status == 304:
            response.body, response.stream = b"", None
    for name, value in (extra.get("HTTPHeaders") or {}).items():
        response.set_header(name, str(value))


def _secret(backend: Backend, sig: sigv4.SigV4Request) -> str:
    cred = backend.credentials.resolve(sig.access_key)
    assert cred is not None  # authenticate() has already checked it
    return cred.secret_access_key


def _error_response(service: str, error: ServiceError, request_id: str, wire: str) -> HttpResponse:
    try:
        response = protocol.serialize_error(service_model(service), error, request_id, wire)
    except Exception:
        log.exception("could not serialize %r for %s", error, service)
        response = HttpResponse(500, [("Content-Type", "text/plain")], b"InternalFailure")
    for name, value in error.headers.items():
        response.set_header(name, value)
    return response


async def invoke(
    backend: Backend,
    principal: Principal | None,
    service: str,
    operation: str,
    params: dict[str, Any],
    region: str,
    account_id: str | None = None,
    source_ip: str | None = None,
    user_agent: str | None = None,
) -> dict[str, Any]:
    """An in-process client call: validated and audited like a request, minus the wire.

    Without ``source_ip`` it is a call one service makes to another (audited as invoked by the
    acting service); the web UI passes its user's address and user agent instead.
    """
    ctx = RequestContext(
        request_id=ids.request_id(),
        service=service,
        operation=operation,
        region=region,
        account_id=principal.account_id if principal else (account_id or ""),
        principal=principal,
        source_ip=source_ip or INTERNAL_SOURCE,
        user_agent=user_agent or "",
        invoked_by=None if source_ip else ACTING_SERVICE.get(),
    )
    model = service_model(service)
    error: ServiceError | None = None
    try:
        protocol.validate_input(model.operation_model(operation), params)
        backend.authorizer.authorize(ctx, operation, params)  # IAM (seedbed.iam.authorizer)
        return await call_provider(backend, ctx, params)
    except ServiceError as exc:
        error = exc
        raise
    finally:
        backend.audit.record(
            ctx,
            f"{model.endpoint_prefix}.amazonaws.com",
            params,
            error.code if error else None,
            error.message if error else None,
        )
