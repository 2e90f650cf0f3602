"""The ``rest-json`` protocol (Lambda, SageMaker Runtime): REST binding with JSON bodies.

Bodies mirror botocore's ``JSONSerializer``/``BaseJSONParser``: members under their
``locationName``, timestamps as epoch seconds unless ``timestampFormat`` says otherwise, blobs in
base64, non-finite floats as ``"NaN"``/``"Infinity"``, documents verbatim. Errors carry the code
in ``x-amzn-ErrorType`` and the message as ``message`` and ``Message`` (botocore reads either;
modeled shapes such as Lambda's name it ``Message``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from decimal import Decimal
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

from seedbed.errors import ServiceError
from seedbed.protocol import timestamps
from seedbed.protocol.http import HttpRequest, HttpResponse
from seedbed.protocol.rest_common import (
    float_text,
    is_body_member,
    located_response_parts,
    parse_rest_request,
    serialize_rest_response,
)
from seedbed.protocol.rest_eventstream import encode_event_stream

CONTENT_TYPE = "application/json"
_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class SerializationException(ServiceError):
    """The request body is not JSON, or a value has the wrong JSON type for its member."""

    code = "SerializationException"
    status = 400


def _malformed(message: str) -> ServiceError:
    return SerializationException(message)


# --- JSON values <-> Python values ---------------------------------------------------------------


def _from_json(value: Any, shape: Shape, top: bool = False) -> Any:
    """A decoded JSON value as the Python value of ``shape``; wrong JSON types are rejected."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        if not isinstance(value, dict):
            raise SerializationException(f"Expected an object for {shape.name}")
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            if top and not is_body_member(member):
                continue
            raw = value.get(member.serialization.get("name", name))
            if raw is not None:
                out[name] = _from_json(raw, member)
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise SerializationException(f"Expected a list for {shape.name}")
        return [_from_json(item, shape.member) for item in value]
    if kind == "map":
        if not isinstance(value, dict):
            raise SerializationException(f"Expected a map for {shape.name}")
        return {key: _from_json(item, shape.value) for key, item in value.items()}
    return _scalar_from_json(value, shape)


def _scalar_from_json(value: Any, shape: Shape) -> Any:
    kind = shape.type_name
    if kind in ("string", "character"):
        if isinstance(value, str):
            return value
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
    elif kind in ("integer", "long", "byte", "short"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif kind in ("float", "double"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and value in _FLOAT_WORDS:
            return _FLOAT_WORDS[value]
    elif kind == "timestamp":
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            try:
                fmt = timestamps.member_format(shape, timestamps.DEFAULT_BODY_FORMAT["rest-json"])
                return timestamps.parse_timestamp(value, fmt)
            except ValueError as exc:
                raise SerializationException(f"Invalid timestamp for {shape.name}") from exc
    elif kind == "blob":
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise SerializationException(f"Invalid base64 for {shape.name}") from exc
    raise SerializationException(f"Unexpected {type(value).__name__} value for a {kind} member")


def _to_json(value: Any, shape: Shape) -> Any:
    """A Python value of ``shape`` as the JSON value botocore's parser expects."""
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        return {
            member.serialization.get("name", name): _to_json(value[name], member)
            for name, member in shape.members.items()
            if value.get(name) is not None
        }
    if kind == "list":
        return [_to_json(item, shape.member) if item is not None else None for item in value]
    if kind == "map":
        return {
            str(key): _to_json(item, shape.value) if item is not None else None
            for key, item in value.items()
        }
    if kind == "timestamp":
        return timestamps.format_timestamp(value, timestamps.member_format(shape, timestamps.UNIX))
    if kind == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if kind in ("float", "double"):
        number = float(value)
        return number if math.isfinite(number) else float_text(number)
    if isinstance(value, Decimal):
        return int(value) if kind in ("integer", "long") else float(value)
    return value


class JsonCodec:
    """JSON bodies for :mod:`seedbed.protocol.rest_common`."""

    content_type = CONTENT_TYPE

    def decode(self, body: bytes, shape: Shape) -> Any:
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SerializationException("The request body is not valid JSON") from exc
        return _from_json(document, shape, top=True)

    def encode(self, value: Any, shape: Shape, root_name: str) -> bytes:
        return json.dumps(_to_json(value, shape), separators=(",", ":"), ensure_ascii=False).encode(
            "utf-8"
        )


CODEC = JsonCodec()


def _encode_event_body(value: Any, shape: Shape, root_name: str) -> tuple[bytes, str]:
    return CODEC.encode(value, shape, root_name), CONTENT_TYPE


# --- public interface ----------------------------------------------------------------------------


def parse_request(
    operation_model: OperationModel, request: HttpRequest, path_params: dict[str, str]
) -> dict[str, Any]:
    """The operation's input from uri labels, query, headers and JSON body."""
    return parse_rest_request(operation_model, request, path_params, CODEC, _malformed)


def serialize_response(
    operation_model: OperationModel, output: dict[str, Any] | None, request_id: str
) -> HttpResponse:
    response = serialize_rest_response(
        operation_model,
        output,
        CODEC,
        operation_model.name,
        lambda events, shape: encode_event_stream(events, shape, _encode_event_body),
    )
    response.set_header("x-amzn-RequestId", request_id)
    return response


def serialize_error(
    service_model: ServiceModel,
    error: ServiceError,
    request_id: str,
    operation_model: OperationModel | None = None,
) -> HttpResponse:
    """The error document: code in ``x-amzn-ErrorType``, modeled fields where the shape puts them.

    A modeled error shape's ``Message``/``message`` member and a Lambda-style ``Type`` member
    ("User"/"Service") are filled in when the raiser did not set them.
    """
    shape = service_model.shape_for_error_code(error.code)
    body: dict[str, Any] = {}
    headers: list[tuple[str, str]] = []
    if shape is not None:
        fields = {name: value for name, value in error.fields.items() if name in shape.members}
        for name in shape.members:
            if name.lower() == "message" and name not in fields:
                fields[name] = error.message
            elif (
                name == "Type" and name not in fields and shape.members[name].type_name == "string"
            ):
                fields[name] = "User" if error.sender_fault else "Service"
        headers, _ = located_response_parts(shape, fields)
        body_fields = {n: v for n, v in fields.items() if is_body_member(shape.members[n])}
        body = _to_json(body_fields, shape)
    else:
        body = {name: value for name, value in error.fields.items() if _plain_json(value)}
    body.setdefault("message", error.message)
    body.setdefault("Message", error.message)
    response = HttpResponse(status=error.status)
    response.headers.extend(headers)
    response.set_header("x-amzn-RequestId", request_id)
    response.set_header("x-amzn-ErrorType", error.code)
    response.set_header("Content-Type", CONTENT_TYPE)
    for name, value in error.headers.items():
        response.set_header(name, value)
    response.body = json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str).encode(
        "utf-8"
    )
    if operation_model is not None and operation_model.http.get("method", "").upper() == "HEAD":
        response.body = b""
    return response


def _plain_json(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, list, dict)) or value is None
