"""Encoding ``application/vnd.amazon.eventstream`` responses (S3 Select, Lambda and SageMaker
response streaming), the inverse of :mod:`botocore.eventstream`.

A provider returns the event-stream member as an iterable of one-key dicts,
``{"PayloadChunk": {"Payload": b"..."}}``; modeled exception events (``exception: true`` shapes)
become ``exception`` messages and a :class:`~seedbed.errors.ServiceError` item becomes an ``error``
message. Each message is: prelude (total and header lengths, CRC32), headers, payload, CRC32.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import Any

from botocore.model import Shape

from seedbed.errors import ServiceError
from seedbed.protocol import timestamps

EncodeBody = Callable[[Any, Shape, str], tuple[bytes, str]]
"""Encodes an event's structured body: (value, shape, root name) -> (bytes, content type)."""

_TRUE, _FALSE, _BYTE, _INT16, _INT32, _INT64, _BYTES, _STRING, _TIMESTAMP = range(9)


def _header(name: str, value: Any, shape: Shape | None = None) -> bytes:
    encoded_name = name.encode("utf-8")
    out = struct.pack("!B", len(encoded_name)) + encoded_name
    kind = shape.type_name if shape is not None else "string"
    if kind == "boolean":
        return out + struct.pack("!B", _TRUE if value else _FALSE)
    if kind == "integer":
        return out + struct.pack("!Bi", _INT32, int(value))
    if kind == "long":
        return out + struct.pack("!Bq", _INT64, int(value))
    if kind == "blob":
        raw = bytes(value)
        return out + struct.pack("!BH", _BYTES, len(raw)) + raw
    if kind == "timestamp":
        moment = value if isinstance(value, datetime) else timestamps.parse_timestamp(value)
        millis = int(round(timestamps.format_epoch(moment) * 1000))
        return out + struct.pack("!Bq", _TIMESTAMP, millis)
    text = str(value).encode("utf-8")
    return out + struct.pack("!BH", _STRING, len(text)) + text


def encode_message(headers: list[bytes], payload: bytes) -> bytes:
    """One framed message from already encoded headers and a payload."""
    header_bytes = b"".join(headers)
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack("!II", total, len(header_bytes))
    prelude += struct.pack("!I", zlib.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + header_bytes + payload
    return message + struct.pack("!I", zlib.crc32(message) & 0xFFFFFFFF)


def _event_message(
    name: str, value: dict[str, Any], shape: Shape, encode_body: EncodeBody
) -> bytes:
    is_exception = bool(shape.metadata.get("exception"))
    headers = [_header(":message-type", "exception" if is_exception else "event")]
    headers.append(_header(":exception-type" if is_exception else ":event-type", name))
    payload = b""
    content_type: str | None = None
    body_members: dict[str, Any] = {}
    payload_member: str | None = None
    for member_name, member in shape.members.items():
        item = value.get(member_name)
        if member.serialization.get("eventpayload"):
            payload_member = member_name
        elif member.serialization.get("eventheader"):
            if item is not None:
                headers.append(_header(member_name, item, member))
        elif item is not None:
            body_members[member_name] = item
    if payload_member is not None:
        member = shape.members[payload_member]
        item = value.get(payload_member)
        if member.type_name == "blob":
            payload, content_type = bytes(item or b""), "application/octet-stream"
        elif member.type_name == "string":
            payload, content_type = (item or "").encode("utf-8"), "text/plain"
        elif item is not None:
            payload, content_type = encode_body(item, member, payload_member)
    elif body_members or shape.members:
        payload, content_type = encode_body(body_members, shape, name)
    if content_type is not None:
        headers.append(_header(":content-type", content_type))
    return encode_message(headers, payload)


def _error_message(error: ServiceError) -> bytes:
    headers = [
        _header(":message-type", "error"),
        _header(":error-code", error.code),
        _header(":error-message", error.message),
    ]
    return encode_message(headers, b"")


def encode_event(event: Any, stream_shape: Shape, encode_body: EncodeBody) -> bytes:
    """One item of the stream (a one-key event dict or a ServiceError), framed."""
    if isinstance(event, ServiceError):
        return _error_message(event)
    chunks = []
    for name, value in event.items():
        if name not in stream_shape.members:
            raise ValueError(f"{name} is not an event of {stream_shape.name}")
        chunks.append(_event_message(name, value or {}, stream_shape.members[name], encode_body))
    return b"".join(chunks)


def encode_event_stream(
    events: Iterable[Any] | AsyncIterable[Any], stream_shape: Shape, encode_body: EncodeBody
) -> bytes | AsyncIterator[bytes]:
    """The framed stream: all at once for a plain iterable, frame by frame for an async one
    (Lambda and SageMaker response streaming send events as the function produces them)."""
    if isinstance(events, AsyncIterable):
        return _encode_async(events, stream_shape, encode_body)
    return b"".join(encode_event(event, stream_shape, encode_body) for event in events)


async def _encode_async(
    events: AsyncIterable[Any], stream_shape: Shape, encode_body: EncodeBody
) -> AsyncIterator[bytes]:
    async for event in events:
        yield encode_event(event, stream_shape, encode_body)
