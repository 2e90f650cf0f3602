"""The ``json`` protocol (awsJson 1.0 / 1.1), server side.

Requests are ``POST /`` with ``X-Amz-Target: {targetPrefix}.{Operation}`` and a JSON body whose
keys are member names (or their ``locationName``). Responses are JSON objects of the output
shape; errors carry ``__type`` and ``message``. This mirrors botocore's ``JSONSerializer`` and
``JSONParser`` so that whatever boto3 sends parses here and whatever we send parses there.

The value codecs (:func:`decode_value`, :func:`encode_value`) are shared with the CBOR protocol,
which has the same data model but native bytes and timestamps.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import math
import zlib
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

from seedbed.errors import InternalFailure, ServiceError, UnknownOperation
from seedbed.protocol.http import HttpRequest, HttpResponse
from seedbed.protocol.timestamps import UNIX, format_timestamp, member_format, parse_timestamp

__all__ = [
    "SerializationException",
    "decode_value",
    "encode_value",
    "error_body",
    "error_fault",
    "error_status",
    "error_wire",
    "find_error_shape",
    "operation_name_for",
    "parse_request",
    "request_body",
    "serialize_error",
    "serialize_response",
]

_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class SerializationException(ServiceError):
    """The body is not valid JSON/CBOR for the operation: AWS's answer to malformed input."""

    code = "SerializationException"
    status = 400


# --------------------------------------------------------------------------- operation matching


def operation_name_for(service_model: ServiceModel, request: HttpRequest) -> str | None:
    """The operation an ``X-Amz-Target`` header names; ``None`` when the header is absent.

    Raises :class:`UnknownOperation` when the header is present but names no operation of this
    service, so the caller can answer as AWS does instead of guessing another protocol.
    """
    target = request.header("x-amz-target")
    if not target:
        return None
    prefix, _, name = target.strip().rpartition(".")
    expected = service_model.metadata.get("targetPrefix")
    if name in service_model.operation_names and (not expected or prefix == expected):
        return name
    raise UnknownOperation(f"Operation {target} is not supported.")


# --------------------------------------------------------------------------- request decoding


def _fail(path: str, expected: str, value: Any) -> SerializationException:
    shown = type(value).__name__
    return SerializationException(f"Expected {expected} at '{path or '$'}', got {shown}.")


def member_key(name: str, shape: Shape) -> str:
    """The wire key of a structure member: its ``locationName`` if modeled, else its name."""
    return shape.serialization.get("name", name)


def decode_value(shape: Shape, value: Any, path: str = "", *, native: bool = False) -> Any:
    """Turn a decoded JSON (or CBOR, ``native=True``) value into the Python value of ``shape``.

    Raises :class:`SerializationException` when the value has the wrong type, as AWS does.
    """
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        if not isinstance(value, dict):
            raise _fail(path, "an object", value)
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            raw = value.get(member_key(name, member))
            if raw is None and native:
                raw = value.get(name)
            if raw is not None:
                out[name] = decode_value(
                    member, raw, f"{path}.{name}" if path else name, native=native
                )
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise _fail(path, "an array", value)
        return [
            decode_value(shape.member, item, f"{path}[{i}]", native=native)
            for i, item in enumerate(value)
            if item is not None
        ]
    if kind == "map":
        if not isinstance(value, dict):
            raise _fail(path, "an object", value)
        return {
            decode_value(shape.key, key, f"{path}.<key>", native=native): decode_value(
                shape.value, item, f"{path}.{key}", native=native
            )
            for key, item in value.items()
            if item is not None
        }
    return _decode_scalar(shape, value, path, native)


def _decode_scalar(shape: Shape, value: Any, path: str, native: bool) -> Any:
    kind = shape.type_name
    if kind in ("string", "character"):
        if not isinstance(value, str):
            raise _fail(path, "a string", value)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _fail(path, "a boolean", value)
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(path, "an integer", value)
        if isinstance(value, float):
            if not value.is_integer():
                raise _fail(path, "an integer", value)
            return int(value)
        return value
    if kind in ("float", "double"):
        if isinstance(value, str) and value in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[value]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(path, "a number", value)
        return float(value)
    if kind == "blob":
        if native and isinstance(value, (bytes, bytearray)):
            return bytes(value)
        if not isinstance(value, str):
            raise _fail(path, "a base64 string", value)
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise SerializationException(f"Invalid base64 at '{path}'.") from None
    if kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float, str, datetime)):
            raise _fail(path, "a timestamp", value)
        try:
            return parse_timestamp(value, member_format(shape, UNIX))
        except ValueError:
            raise SerializationException(f"Invalid timestamp at '{path}'.") from None
    return value


def request_body(request: HttpRequest) -> bytes:
    """The request body, gunzipped when botocore compressed it (``Content-Encoding: gzip``)."""
    encoding = (request.header("content-encoding") or "").lower()
    if "gzip" not in encoding or not request.body:
        return request.body
    try:
        return gzip.decompress(request.body)
    except (OSError, EOFError, zlib.error):
        raise SerializationException("The request body is not valid gzip data.") from None


def _load_json(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SerializationException("The request body is not valid JSON.") from None


def parse_request(operation_model: OperationModel, request: HttpRequest) -> dict[str, Any]:
    """The operation's input as the plain dict a boto3 caller passed.

    An empty body means no parameters; unknown keys are ignored, as AWS ignores them.
    """
    document = _load_json(request_body(request))
    shape = operation_model.input_shape
    if shape is None:
        return {}
    if not isinstance(document, dict):
        raise SerializationException("The request body must be a JSON object.")
    try:
        return decode_value(shape, document)
    except RecursionError:
        raise SerializationException("The request body nests too deeply.") from None


# --------------------------------------------------------------------------- response encoding


def _encode_float(value: Any, native: bool) -> float | str:
    number = float(value)
    if native or math.isfinite(number):
        return number
    if math.isnan(number):
        return "NaN"
    return "Infinity" if number > 0 else "-Infinity"


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def encode_value(shape: Shape, value: Any, *, native: bool = False) -> Any:
    """Turn a provider's Python value into JSON-ready data (or CBOR-ready, ``native=True``).

    ``native`` keeps bytes and datetimes for CBOR (whose caller tags them) and uses member names
    rather than ``locationName``, as botocore's RPCv2 CBOR parser reads them.
    Members the shape does not model are dropped; ``None`` means absent.
    """
    kind = shape.type_name
    if isinstance(value, Enum):
        value = value.value
    if kind == "structure":
        if shape.is_document_type:
            return value
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            item = value.get(name) if isinstance(value, dict) else getattr(value, name, None)
            if item is None or member.serialization.get("eventstream"):
                continue
            out[name if native else member_key(name, member)] = encode_value(
                member, item, native=native
            )
        return out
    if kind == "list":
        return [
            encode_value(shape.member, item, native=native) for item in value if item is not None
        ]
    if kind == "map":
        return {
            str(encode_value(shape.key, key, native=native)): encode_value(
                shape.value, item, native=native
            )
            for key, item in value.items()
            if item is not None
        }
    if kind in ("string", "character"):
        return value if isinstance(value, str) else str(value)
    if kind == "boolean":
        return bool(value)
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("float", "double"):
        return _encode_float(value, native)
    if kind == "blob":
        data = _as_bytes(value)
        return data if native else base64.b64encode(data).decode("ascii")
    if kind == "timestamp":
        if native:
            return parse_timestamp(value)
        return format_timestamp(value, member_format(shape, UNIX))
    return value


def _json_default(value: Any) -> Any:
    """Documents may hold values json cannot write; give them their natural JSON form."""
    if isinstance(value, datetime):
        return format_timestamp(value, UNIX)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, tuple, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dump_json(document: Any) -> bytes:
    return json.dumps(
        document, ensure_ascii=False, separators=(",", ":"), default=_json_default
    ).encode()


def content_type(service_model: ServiceModel) -> str:
    return f"application/x-amz-json-{service_model.metadata.get('jsonVersion', '1.0')}"


def serialize_response(
    operation_model: OperationModel, output: dict[str, Any] | None, request_id: str
) -> HttpResponse:
    """A 200 response carrying ``output`` as botocore's JSONParser reads it."""
    shape = operation_model.output_shape
    try:
        document = encode_value(shape, output or {}) if shape is not None else {}
        body = dump_json(document)
    except (TypeError, ValueError, AttributeError) as exc:
        raise InternalFailure(
            f"Could not serialize the {operation_model.name} response: {exc}"
        ) from None
    return HttpResponse(
        status=200,
        headers=[
            ("Content-Type", content_type(operation_model.service_model)),
            ("x-amzn-RequestId", request_id),
        ],
        body=body,
    )


# --------------------------------------------------------------------------- errors


@cache
def _error_shapes(service_model: ServiceModel) -> dict[str, Shape]:
    shapes: dict[str, Shape] = {}
    for shape in service_model.error_shapes:
        shapes.setdefault(shape.error_code or shape.name, shape)
    for shape in service_model.error_shapes:
        shapes.setdefault(shape.name, shape)
    return shapes


def find_error_shape(service_model: ServiceModel, code: str) -> Shape | None:
    """The modeled error shape for a code, matched by its wire code or its shape name."""
    return _error_shapes(service_model).get(code)


def error_status(error: ServiceError, shape: Shape | None) -> int:
    """The raiser's status, or the model's ``httpStatusCode`` when the raiser left the default.

    A status passed to the constructor or set by a subclass other than 400 is explicit; a plain
    ``ServiceError(code="NoSuchEntity")`` gets the 404 the model declares for that code.
    """
    explicit = "status" in vars(error) or type(error).status != ServiceError.status
    if not explicit and shape is not None:
        modeled = shape.metadata.get("error", {}).get("httpStatusCode")
        if modeled:
            return int(modeled)
    return error.status


def error_fault(error: ServiceError, status: int) -> str:
    """``Sender`` or ``Receiver``: the raiser's word, else a 5xx status is the service's fault."""
    if "sender_fault" in vars(error):
        sender = error.sender_fault
    else:
        sender = status < 500 and type(error).sender_fault
    return "Sender" if sender else "Receiver"


def error_wire(
    service_model: ServiceModel, error: ServiceError
) -> tuple[str, Shape | None, list[tuple[str, str]]]:
    """The ``__type`` to send, the modeled shape, and the headers every RPC error carries.

    For ``awsQueryCompatible`` services ``__type`` is the shape name and ``x-amzn-query-error``
    carries the legacy query code, which botocore then uses as ``Error.Code``.
    """
    shape = find_error_shape(service_model, error.code)
    modeled_code = shape.error_code if shape is not None else None
    headers: list[tuple[str, str]] = []
    if service_model.is_query_compatible:
        wire = shape.name if shape is not None else error.code
        fault = error_fault(error, error_status(error, shape))
        headers.append(("x-amzn-query-error", f"{modeled_code or error.code};{fault}"))
    else:
        wire = modeled_code or error.code
    headers.insert(0, ("x-amzn-ErrorType", wire))
    return wire, shape, headers + list(error.headers.items())


def error_body(
    error: ServiceError, wire: str, shape: Shape | None, *, native: bool = False
) -> dict[str, Any]:
    """``__type``, the message under the key the model uses, and any modeled extra fields."""
    body: dict[str, Any] = {"__type": wire}
    fields = dict(error.fields)
    if shape is not None:
        try:
            body.update(encode_value(shape, fields, native=native))
        except (TypeError, ValueError, AttributeError):
            pass  # a bad extra field must not hide the error itself
        message_keys = [k for k in shape.members if k.lower() == "message"]
        if not message_keys:
            message_key = "message"
        elif native:
            message_key = message_keys[0]
        else:
            message_key = member_key(message_keys[0], shape.members[message_keys[0]])
    else:
        message_key = "message"
    body["message"] = error.message
    if message_key != "message":
        body[message_key] = error.message
    return body


def serialize_error(
    service_model: ServiceModel, error: ServiceError, request_id: str
) -> HttpResponse:
    """An error response that botocore reads as ``Error.Code``/``Message`` plus modeled fields."""
    wire, shape, headers = error_wire(service_model, error)
    body = dump_json(error_body(error, wire, shape))
    return HttpResponse(
        status=error_status(error, shape),
        headers=[
            ("Content-Type", content_type(service_model)),
            ("x-amzn-RequestId", request_id),
            *headers,
        ],
        body=body,
    )
