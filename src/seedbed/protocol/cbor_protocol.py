"""The ``smithy-rpc-v2-cbor`` protocol (CodeBuild, CodePipeline, Service Catalog, ...), server side.

Requests are ``POST /service/{targetPrefix}/operation/{Operation}`` with ``smithy-protocol:
rpc-v2-cbor`` and a CBOR map body keyed by member names; timestamps are tag 1 epoch seconds and
blobs are byte strings. Responses and errors (``__type`` + ``message``) use the same encoding and
header, as botocore's ``RpcV2CBORParser`` reads them.

These services also list ``json`` as a protocol: a request that arrives with ``X-Amz-Target`` and
no ``smithy-protocol`` header is parsed, and answered (when the caller passes ``request=``), as
awsJson by :mod:`seedbed.protocol.json_protocol`.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

import cbor2
from botocore.model import OperationModel, ServiceModel

from seedbed.errors import InternalFailure, ServiceError, UnknownOperation
from seedbed.protocol import json_protocol
from seedbed.protocol.http import HttpRequest, HttpResponse
from seedbed.protocol.json_protocol import (
    SerializationException,
    decode_value,
    encode_value,
    error_body,
    error_status,
    error_wire,
)

__all__ = [
    "SMITHY_PROTOCOL",
    "is_json_request",
    "operation_name_for",
    "parse_request",
    "serialize_error",
    "serialize_response",
]

SMITHY_PROTOCOL = "rpc-v2-cbor"
CONTENT_TYPE = "application/cbor"
_PATH = re.compile(r"/service/([^/]+)/operation/([^/]+?)/?$")


def is_json_request(request: HttpRequest | None) -> bool:
    """Whether a client spoke awsJson (``X-Amz-Target``, no ``smithy-protocol``), not CBOR."""
    if request is None:
        return False
    return bool(request.header("x-amz-target")) and not request.header("smithy-protocol")


def operation_name_for(service_model: ServiceModel, request: HttpRequest) -> str | None:
    """The operation of an RPCv2 path, or of ``X-Amz-Target`` for a JSON client; else ``None``.

    Raises :class:`UnknownOperation` when the path or target names no operation of this service.
    """
    match = _PATH.search(request.decoded_path)
    if match is None:
        return json_protocol.operation_name_for(service_model, request)
    service, name = match.groups()
    known_services = {
        service_model.metadata.get("targetPrefix"),
        service_model.service_id,
        service_model.service_name,
    }
    if name in service_model.operation_names and service in known_services:
        return name
    raise UnknownOperation(f"Operation {service}.{name} is not supported.")


def _drop_undefined(value: Any) -> Any:
    """CBOR ``undefined`` means absent, like ``null``; cbor2's hook signature varies by version."""
    if isinstance(value, dict):
        return {k: _drop_undefined(v) for k, v in value.items() if v is not cbor2.undefined}
    if isinstance(value, list):
        return [_drop_undefined(v) for v in value if v is not cbor2.undefined]
    return value


def load_cbor(body: bytes) -> Any:
    """Decode a CBOR body; tag 1 becomes an aware datetime, ``undefined`` members are dropped."""
    if not body:
        return {}
    try:
        return _drop_undefined(cbor2.loads(body, max_depth=200))
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError):
        raise SerializationException("The request body is not valid CBOR.") from None


def parse_request(operation_model: OperationModel, request: HttpRequest) -> dict[str, Any]:
    """The operation's input as a boto3 caller passed it (CBOR, or JSON from a JSON client)."""
    if is_json_request(request):
        return json_protocol.parse_request(operation_model, request)
    document = load_cbor(json_protocol.request_body(request))
    shape = operation_model.input_shape
    if shape is None:
        return {}
    if not isinstance(document, dict):
        raise SerializationException("The request body must be a CBOR map.")
    try:
        return decode_value(shape, document, native=True)
    except RecursionError:
        raise SerializationException("The request body nests too deeply.") from None


def dump_cbor(document: Any) -> bytes:
    """CBOR with datetimes as tag 1 epoch seconds (an integer when whole)."""
    return cbor2.dumps(document, datetime_as_timestamp=True, timezone=UTC)


def _headers(request_id: str) -> list[tuple[str, str]]:
    return [
        ("Content-Type", CONTENT_TYPE),
        ("smithy-protocol", SMITHY_PROTOCOL),
        ("x-amzn-RequestId", request_id),
    ]


def serialize_response(
    operation_model: OperationModel,
    output: dict[str, Any] | None,
    request_id: str,
    *,
    request: HttpRequest | None = None,
) -> HttpResponse:
    """A 200 CBOR response; pass ``request`` to answer a JSON client in JSON instead."""
    if is_json_request(request):
        return json_protocol.serialize_response(operation_model, output, request_id)
    shape = operation_model.output_shape
    try:
        document = encode_value(shape, output or {}, native=True) if shape is not None else {}
        body = dump_cbor(document)
    except (TypeError, ValueError, AttributeError, cbor2.CBORError) as exc:
        raise InternalFailure(
            f"Could not serialize the {operation_model.name} response: {exc}"
        ) from None
    return HttpResponse(status=200, headers=_headers(request_id), body=body)


def serialize_error(
    service_model: ServiceModel,
    error: ServiceError,
    request_id: str,
    *,
    request: HttpRequest | None = None,
) -> HttpResponse:
    """A CBOR ``{"__type", "message", ...fields}`` error with the ``smithy-protocol`` header."""
    if is_json_request(request):
        return json_protocol.serialize_error(service_model, error, request_id)
    wire, shape, extra = error_wire(service_model, error)
    try:
        body = dump_cbor(error_body(error, wire, shape, native=True))
    except (TypeError, ValueError, cbor2.CBORError):
        body = dump_cbor({"__type": wire, "message": error.message})
    return HttpResponse(
        status=error_status(error, shape), headers=_headers(request_id) + extra, body=body
    )
