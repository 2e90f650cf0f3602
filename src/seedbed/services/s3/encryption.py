"""Server-side encryption at rest (SSE-S3): envelope encryption with AES-256-GCM.

Every blob gets its own random 256-bit data key. The data key is stored beside the object's
metadata wrapped (AES-GCM) by the data dir's master key, so the bytes on disk, or in an external
object store, are useless without the master key. That is the shape SSE-KMS will take once the KMS
service exists: KMS ``GenerateDataKey`` hands out the data key and its wrapped form instead.

Blobs are sealed in fixed-size segments, each its own GCM message (nonce = segment index, the
additional data says which segment and whether it is the last), so a range read decrypts only the
segments it touches, and a reordered, truncated or extended blob fails authentication.
"""

from __future__ import annotations

import base64
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from seedbed.state import keyfiles

#: Plaintext bytes per sealed segment; a range read decrypts whole segments.
SEGMENT = 64 * 1024
TAG = 16
SEALED_SEGMENT = SEGMENT + TAG
MASTER_KEY_FILE = "s3-master.key"
MASTER_KEY_ENV = "SEEDBED_S3_MASTER_KEY"
_WRAP_AAD = b"seedbed-s3-data-key-v1"


class CorruptBlob(Exception):
    """A blob whose bytes do not authenticate: tampered with, truncated, or the wrong key."""


def load_master_key(data_dir: Path) -> bytes:
    """The master key: ``$SEEDBED_S3_MASTER_KEY`` (base64, shared by replicas) or a key file.

    The file is created once (mode 0600) on first use; losing it makes every object unreadable,
    which is why ``seedbed`` keeps it inside the data dir next to the database.
    """
    return keyfiles.load_or_create(data_dir, MASTER_KEY_FILE, MASTER_KEY_ENV)


class KeyRing:
    """Makes and unwraps per-blob data keys with the master key."""

    def __init__(self, master_key: bytes) -> None:
        self._master = AESGCM(master_key)

    def new_data_key(self) -> tuple[bytes, str]:
        """A fresh data key and its wrapped, base64 form (what the metadata stores)."""
        key = secrets.token_bytes(32)
        nonce = secrets.token_bytes(12)
        wrapped = nonce + self._master.encrypt(nonce, key, _WRAP_AAD)
        return key, base64.b64encode(wrapped).decode("ascii")

    def unwrap(self, wrapped: str) -> bytes:
        raw = base64.b64decode(wrapped)
        try:
            return self._master.decrypt(raw[:12], raw[12:], _WRAP_AAD)
        except InvalidTag as exc:
            raise CorruptBlob("the data key does not unwrap with this data dir's master key") from exc


def segment_count(size: int) -> int:
    """Segments in a blob of ``size`` plaintext bytes (an empty blob still has one)."""
    return max(1, -(-size // SEGMENT))


def sealed_size(size: int) -> int:
    return size + TAG * segment_count(size)


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _aad(index: int, last: bool) -> bytes:
    return struct.pack(">QB", index, 1 if last else 0)


def seal(key: bytes, data: bytes | memoryview) -> Iterator[bytes]:
    """The sealed segments of ``data``, in order."""
    aead = AESGCM(key)
    view = memoryview(data)
    count = segment_count(len(view))
    for index in range(count):
        chunk = view[index * SEGMENT : (index + 1) * SEGMENT]
        yield aead.encrypt(_nonce(index), bytes(chunk), _aad(index, index == count - 1))


def sealed_span(size: int, start: int, end: int) -> tuple[int, int, int]:
    """For plaintext bytes ``[start, end)`` of a blob of ``size``: the first segment index and
    the sealed byte span ``[sealed_start, sealed_end)`` that covers them."""
    first = start // SEGMENT
    last = max(first, (max(end, 1) - 1) // SEGMENT)
    sealed_start = first * SEALED_SEGMENT
    sealed_end = min(sealed_size(size), (last + 1) * SEALED_SEGMENT)
    return first, sealed_start, sealed_end


def open_segments(key: bytes, sealed: bytes, first: int, size: int) -> bytes:
    """Decrypt consecutive sealed segments starting at index ``first`` of a blob of ``size``."""
    aead = AESGCM(key)
    count = segment_count(size)
    out = bytearray()
    view = memoryview(sealed)
    offset = 0
    index = first
    while offset < len(view):
        piece = view[offset : offset + SEALED_SEGMENT]
        try:
            out += aead.decrypt(_nonce(index), bytes(piece), _aad(index, index == count - 1))
        except InvalidTag as exc:
            raise CorruptBlob(f"segment {index} does not authenticate") from exc
        offset += SEALED_SEGMENT
        index += 1
    return bytes(out)
