"""The frame both ends of a worker socket speak: an 8-byte header (metadata length, body length,
network order), the metadata as JSON, then the body bytes. One request, one response, in order.

Request metadata: ``ct`` content type, ``accept``, ``ca`` custom attributes, ``id`` inference id,
``op`` ("invoke" or "ping"). Response metadata: ``s`` status (200 or the model's error status),
``ct`` content type, ``ca`` custom attributes, ``ms`` model latency in microseconds.
"""

from __future__ import annotations

import json
import struct
from typing import Any

HEADER = struct.Struct("!II")


def encode(meta: dict[str, Any], body: bytes) -> bytes:
    raw = json.dumps(meta, separators=(",", ":")).encode()
    return HEADER.pack(len(raw), len(body)) + raw + body


def decode(payload: bytes, meta_len: int) -> tuple[dict[str, Any], bytes]:
    return json.loads(payload[:meta_len]), payload[meta_len:]
