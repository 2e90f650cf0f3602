"""What rest-json and rest-xml share: binding members to where the model puts them on the wire.

Each input/output member has a ``location``: ``uri`` (a path label), ``querystring``, ``header``,
``headers`` (a prefixed header map), ``statusCode``, or none, meaning the body. The body is either
one ``payload`` member (raw bytes/text for blob/string payloads, a document for structures) or
all location-less members together. Only the body document format differs between the two
protocols, so a :class:`BodyCodec` supplies that and everything else lives here, mirroring
botocore's ``BaseRestSerializer`` (requests) and ``BaseRestParser`` (responses).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import AsyncIterator, Callable, Iterable
from decimal import Decimal
from typing import Any, Protocol

from botocore.model import OperationModel, Shape, StructureShape

from seedbed.errors import ServiceError
from seedbed.protocol import timestamps
from seedbed.protocol.http import HttpRequest, HttpResponse

Malformed = Callable[[str], ServiceError]
"""Builds the protocol's error for a request it cannot read (``SerializationException`` ...)."""

_LOCATED = frozenset({"uri", "querystring", "header", "headers", "statusCode"})
_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class BodyCodec(Protocol):
    """The document format of a REST protocol's bodies (JSON or XML)."""

    content_type: str

    def decode(self, body: bytes, shape: Shape) -> Any:
        """The value of ``shape`` that ``body`` holds; raises the protocol's malformed error."""

    def encode(self, value: Any, shape: Shape, root_name: str) -> bytes:
        """``value`` of ``shape`` as a document (``root_name`` names XML's root element)."""


def is_body_member(member: Shape) -> bool:
    return member.serialization.get("location") not in _LOCATED


def has_body_members(shape: StructureShape) -> bool:
    return any(is_body_member(member) for member in shape.members.values())


# --- scalars as text (labels, query values, headers) ---------------------------------------------


def scalar_from_text(shape: Shape, text: str, location: str, malformed: Malformed) -> Any:
    """A uri/query/header string as the Python value of ``shape`` (botocore's inverse)."""
    kind = shape.type_name
    try:
        if kind in ("string", "character"):
            if location == "header" and shape.serialization.get("jsonvalue"):
                return json.loads(base64.b64decode(text, validate=True).decode("utf-8"))
            return text
        if kind in ("integer", "long", "byte", "short", "bigInteger"):
            return int(text.strip())
        if kind in ("float", "double", "bigDecimal"):
            stripped = text.strip()
            return _FLOAT_WORDS[stripped] if stripped in _FLOAT_WORDS else float(stripped)
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                raise ValueError(f"not a boolean: {text!r}")
            return lowered == "true"
        if kind == "timestamp":
            default = (
                timestamps.HEADER_FORMAT if location == "header" else timestamps.QUERYSTRING_FORMAT
            )
            return timestamps.parse_timestamp(text, timestamps.member_format(shape, default))
        if kind == "blob":
            return base64.b64decode(text, validate=True)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise malformed(f"Invalid value for {location} parameter: {text!r}") from exc
    raise malformed(f"Cannot bind a {kind} to the {location}")


def scalar_to_text(shape: Shape, value: Any, location: str) -> str:
    """A Python value as the uri/query/header text botocore's parsers read back."""
    kind = shape.type_name
    if kind == "timestamp":
        default = (
            timestamps.HEADER_FORMAT if location == "header" else timestamps.QUERYSTRING_FORMAT
        )
        return str(timestamps.format_timestamp(value, timestamps.member_format(shape, default)))
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("float", "double"):
        return float_text(float(value))
    if kind == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if (
        kind in ("string", "character")
        and location == "header"
        and shape.serialization.get("jsonvalue")
    ):
        encoded = json.dumps(value, separators=(",", ":")).encode("utf-8")
        return base64.b64encode(encoded).decode("ascii")
    if isinstance(value, Decimal):
        return str(int(value)) if kind in ("integer", "long") else str(value)
    return str(value)


def float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def split_header_list(text: str) -> list[str]:
    """Split a comma-joined header list, undoing botocore's quoting of items with ``,`` or ``"``.

    botocore wraps such an item in double quotes and escapes only inner quotes (``\\"``).
    """
    items: list[str] = []
    current: list[str] = []
    quoted = was_quoted = False
    index = 0
    while index < len(text):
        char = text[index]
        if quoted and char == "\\" and text[index + 1 : index + 2] == '"':
            current.append('"')
            index += 1
        elif char == '"' and (quoted or not "".join(current).strip()):
            if not quoted:
                current = []
            quoted = not quoted
            was_quoted = True
        elif char == "," and not quoted:
            items.append("".join(current) if was_quoted else "".join(current).strip())
            current, was_quoted = [], False
        elif not (was_quoted and not quoted and char.isspace()):
            current.append(char)
        index += 1
    items.append("".join(current) if was_quoted else "".join(current).strip())
    return items


def _join_header_list(shape: Shape, values: Iterable[Any]) -> str:
    texts = []
    for value in values:
        if value is None:
            continue
        text = scalar_to_text(shape, value, "header")
        if shape.type_name == "string" and ('"' in text or "," in text):
            text = '"' + text.replace('"', '\\"') + '"'
        texts.append(text)
    return ",".join(texts)


def _header_list_from_text(member: Shape, text: str, malformed: Malformed) -> list[Any]:
    item_shape = member.member
    parts = split_header_list(text)
    fmt = timestamps.member_format(item_shape, timestamps.HEADER_FORMAT)
    if item_shape.type_name == "timestamp" and fmt == timestamps.RFC822:
        # "Mon, 01 Jan 2024 ..." carries its own comma: rejoin the halves.
        parts = [f"{parts[i]}, {parts[i + 1]}" for i in range(0, len(parts) - 1, 2)]
    return [scalar_from_text(item_shape, part, "header", malformed) for part in parts if part != ""]


# --- aws-chunked request bodies ------------------------------------------------------------------


def _effective_headers(request: HttpRequest) -> dict[str, str]:
    """Headers as the client meant them when it framed the body with ``aws-chunked``.

    The dispatcher has already verified and stripped the chunk framing (and merged trailers such
    as ``x-amz-checksum-crc32``); what is left is botocore's ``aws-chunked`` token in
    ``Content-Encoding`` and the framed ``Content-Length``, which S3 does not report back.
    """
    headers = request.headers
    encoding = headers.get("content-encoding", "")
    if "aws-chunked" not in encoding:
        return headers
    headers = dict(headers)
    remaining = [
        part.strip()
        for part in encoding.split(",")
        if part.strip() and part.strip() != "aws-chunked"
    ]
    if remaining:
        headers["content-encoding"] = ",".join(remaining)
    else:
        headers.pop("content-encoding", None)
    decoded_length = headers.get("x-amz-decoded-content-length")
    if decoded_length is not None:
        headers["content-length"] = decoded_length
    return headers


# --- requests ------------------------------------------------------------------------------------


def _literal_query_keys(operation_model: OperationModel) -> set[str]:
    _, _, query = operation_model.http.get("requestUri", "").partition("?")
    return {part.partition("=")[0] for part in query.split("&") if part}


def _bind_query(
    shape: StructureShape,
    request: HttpRequest,
    out: dict[str, Any],
    reserved: set[str],
    malformed: Malformed,
) -> None:
    by_key: dict[str, list[str]] = {}
    for key, value in request.query:
        by_key.setdefault(key, []).append(value)
    map_members: list[tuple[str, Shape]] = []
    named: set[str] = set(reserved)
    for name, member in shape.members.items():
        if member.serialization.get("location") != "querystring":
            continue
        if member.type_name == "map":
            map_members.append((name, member))
            continue
        key = member.serialization.get("name", name)
        named.add(key)
        values = by_key.get(key)
        if values is None:
            continue
        if member.type_name == "list":
            out[name] = [
                scalar_from_text(member.member, v, "querystring", malformed) for v in values
            ]
        else:
            out[name] = scalar_from_text(member, values[0], "querystring", malformed)
    for name, member in map_members:
        bound: dict[str, Any] = {}
        for key, values in by_key.items():
            if key in named:
                continue
            if member.value.type_name == "list":
                bound[key] = [
                    scalar_from_text(member.value.member, v, "querystring", malformed)
                    for v in values
                ]
            else:
                bound[key] = scalar_from_text(member.value, values[0], "querystring", malformed)
        if bound:
            out[name] = bound


def _bind_headers(
    shape: StructureShape, headers: dict[str, str], out: dict[str, Any], malformed: Malformed
) -> None:
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location == "header":
            text = headers.get(member.serialization.get("name", name).lower())
            if text is None:
                continue
            if member.type_name == "list":
                out[name] = _header_list_from_text(member, text, malformed)
            else:
                out[name] = scalar_from_text(member, text, "header", malformed)
        elif location == "headers":
            prefix = member.serialization.get("name", "").lower()
            bound = {
                key[len(prefix) :]: value
                for key, value in headers.items()
                if key.startswith(prefix) and len(key) > len(prefix)
            }
            if bound:
                out[name] = bound


def _bind_uri(
    shape: StructureShape, path_params: dict[str, str], out: dict[str, Any], malformed: Malformed
) -> None:
    for name, member in shape.members.items():
        if member.serialization.get("location") != "uri":
            continue
        label = member.serialization.get("name", name)
        if label in path_params:
            out[name] = scalar_from_text(member, path_params[label], "uri", malformed)


def parse_rest_request(
    operation_model: OperationModel,
    request: HttpRequest,
    path_params: dict[str, str],
    codec: BodyCodec,
    malformed: Malformed,
) -> dict[str, Any]:
    """The operation's input as boto3 callers pass it, read from every part of the request."""
    shape = operation_model.input_shape
    if shape is None:
        return {}
    headers, body = _effective_headers(request), request.body
    out: dict[str, Any] = {}
    _bind_uri(shape, path_params, out, malformed)
    _bind_query(shape, request, out, _literal_query_keys(operation_model), malformed)
    _bind_headers(shape, headers, out, malformed)
    payload = shape.serialization.get("payload")
    if payload is not None:
        member = shape.members[payload]
        if member.type_name == "blob":
            if body:
                out[payload] = body
        elif member.type_name == "string":
            if body:
                try:
                    out[payload] = body.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise malformed("The request body is not valid UTF-8") from exc
        elif body.strip():
            out[payload] = codec.decode(body, member)
    elif body.strip() and has_body_members(shape):
        decoded = codec.decode(body, shape)
        if not isinstance(decoded, dict):
            raise malformed("The request body is not an object")
        for name, value in decoded.items():
            if name in shape.members and is_body_member(shape.members[name]):
                out[name] = value
    return out


# --- responses -----------------------------------------------------------------------------------


def payload_bytes(value: Any) -> bytes:
    """Raw bytes of a blob/string payload; providers may hand back bytes, text or a file."""
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    read = getattr(value, "read", None)
    if callable(read):
        data = read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return b"".join(bytes(chunk) for chunk in value)


def located_response_parts(
    shape: StructureShape, output: dict[str, Any]
) -> tuple[list[tuple[str, str]], int | None]:
    """Headers from ``header``/``headers`` members and a ``statusCode`` override, if any."""
    headers: list[tuple[str, str]] = []
    status: int | None = None
    for name, member in shape.members.items():
        value = output.get(name)
        if value is None:
            continue
        location = member.serialization.get("location")
        if location == "header":
            wire = member.serialization.get("name", name)
            if member.type_name == "list":
                if value:
                    headers.append((wire, _join_header_list(member.member, value)))
            else:
                headers.append((wire, scalar_to_text(member, value, "header")))
        elif location == "headers":
            prefix = member.serialization.get("name", "")
            headers.extend(
                (prefix + str(key), str(item)) for key, item in value.items() if item is not None
            )
        elif location == "statusCode":
            status = int(value)
    return headers, status


def serialize_rest_response(
    operation_model: OperationModel,
    output: dict[str, Any] | None,
    codec: BodyCodec,
    root_name: str,
    encode_event_stream: Callable[[Any, Shape], bytes | AsyncIterator[bytes]] | None = None,
) -> HttpResponse:
    """The response botocore's REST parser reads back as ``output`` (ResponseMetadata ignored)."""
    response = HttpResponse(status=int(operation_model.http.get("responseCode", 200)))
    shape = operation_model.output_shape
    output = output or {}
    if shape is None:
        return response
    headers, status = located_response_parts(shape, output)
    if status is not None:
        response.status = status
    # A modeled Content-Type member is the provider's to set; only unmodeled ones get a default.
    has_content_type = any(
        member.serialization.get("location") == "header"
        and member.serialization.get("name", "").lower() == "content-type"
        for member in shape.members.values()
    )
    is_head = operation_model.http.get("method", "").upper() == "HEAD"
    payload = shape.serialization.get("payload")
    content_type: str | None = None
    streamed = False
    if payload is not None:
        member = shape.members[payload]
        value = output.get(payload)
        if member.serialization.get("eventstream"):
            if encode_event_stream is not None and value is not None:
                encoded = encode_event_stream(value, member)
                if isinstance(encoded, bytes):
                    response.body = encoded
                else:
                    response.stream = encoded  # sent chunked: its length is not known upfront
            # The framing decides the type, whatever a modeled Content-Type member says.
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            content_type, has_content_type = "application/vnd.amazon.eventstream", False
        elif member.type_name in ("blob", "string"):
            if hasattr(value, "__aiter__"):
                response.stream, streamed = value, True
            else:
                response.body = payload_bytes(value)
            content_type = (
                "application/octet-stream" if member.type_name == "blob" else "text/plain"
            )
        elif value is not None:
            response.body = codec.encode(value, member, member.serialization.get("name", payload))
            content_type = codec.content_type
    elif has_body_members(shape):
        body_values = {
            name: value
            for name, value in output.items()
            if value is not None and name in shape.members and is_body_member(shape.members[name])
        }
        response.body = codec.encode(body_values, shape, root_name)
        content_type = codec.content_type
    if not is_head and not streamed:
        # The body decides the length; a modeled ContentLength stands only for HEAD answers and
        # streamed bodies (which must announce their length).
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    response.headers.extend(headers)
    if content_type is not None and not has_content_type and not is_head:
        response.headers.append(("Content-Type", content_type))
    if is_head:
        response.body = b""
    return response
