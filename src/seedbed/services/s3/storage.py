"""Object bytes: sealing them into blobs, and reading plaintext ranges back.

An object version is a list of :class:`BlobRef` (one for a plain PUT, one per part for a
multipart upload), stored as JSON in its metadata row. This module turns bytes into sealed blobs
and blob lists back into plaintext, whole, by range, or as a stream for large bodies. Blocking
work (disk, network, AES) runs on a small thread pool so the event loop stays free.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from seedbed.services.s3 import encryption, sse_kms
from seedbed.services.s3.blobs import BlobReader, BlobStore, Reaper

T = TypeVar("T")
#: Plaintext bytes per streamed chunk (a whole number of sealed segments).
STREAM_CHUNK = 16 * encryption.SEGMENT


@dataclass(frozen=True)
class BlobRef:
    """One sealed blob of an object: its id, plaintext size and wrapped data key."""

    id: str
    size: int
    key: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "size": self.size, "key": self.key}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> BlobRef:
        return cls(value["id"], int(value["size"]), value["key"])


def refs_from_json(value: Sequence[dict[str, Any]] | None) -> list[BlobRef]:
    return [BlobRef.from_json(item) for item in value or ()]


def new_blob_id() -> str:
    return secrets.token_hex(16)


class ObjectStorage:
    """Seals, stores, reads and removes the blobs behind object versions."""

    def __init__(self, blobs: BlobStore, keyring: encryption.KeyRing, workers: int = 16) -> None:
        self.blobs = blobs
        self.keyring = keyring
        self.reaper = Reaper(blobs)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seedbed-s3")

    async def run(self, fn: Any, *args: Any) -> Any:
        """Run blocking ``fn(*args)`` on the storage pool."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    # --- writing (call from the pool) --------------------------------------------------------

    def store(self, data: bytes | memoryview, sealing: sse_kms.Sealing | None = None) -> BlobRef:
        """Seal ``data`` into a new durable blob: under a data key of its own wrapped by the
        master key (SSE-S3), or under a key derived from a KMS data key (SSE-KMS)."""
        key, wrapped = sealing.blob_key() if sealing is not None else self.keyring.new_data_key()
        blob_id = new_blob_id()
        self.blobs.write(blob_id, encryption.seal(key, data))
        return BlobRef(blob_id, len(data), wrapped)

    def copy(self, ref: BlobRef) -> BlobRef:
        """A second blob with the same sealed bytes (and so the same wrapped key)."""
        blob_id = new_blob_id()
        self.blobs.copy(ref.id, blob_id)
        return BlobRef(blob_id, ref.size, ref.key)

    def discard(self, refs: Iterable[BlobRef | dict[str, Any]]) -> None:
        """Schedule blobs for deletion (after the metadata that named them is gone)."""
        self.reaper.schedule(r.id if isinstance(r, BlobRef) else r["id"] for r in refs)

    # --- reading -----------------------------------------------------------------------------

    def data_key(self, ref: BlobRef, kms_keys: dict[str, bytes] | None) -> bytes:
        """The key a blob is sealed with. SSE-KMS blobs need their KMS data key in ``kms_keys``
        (base64 KMS blob -> plaintext, from :func:`sse_kms.decrypt`)."""
        if ref.key.startswith(sse_kms.PREFIX):
            salt, blob = sse_kms.split_ref(ref.key)
            if kms_keys is None or blob not in kms_keys:
                raise encryption.CorruptBlob(f"blob {ref.id} needs a KMS data key that was not given")
            return sse_kms.derive(kms_keys[blob], salt)
        return self.keyring.unwrap(ref.key)

    def _read_blob(
        self, reader: BlobReader, ref: BlobRef, start: int, end: int, kms_keys: dict[str, bytes] | None = None
    ) -> bytes:
        """Plaintext ``[start, end)`` of one blob."""
        if end <= start:
            return b""
        first, sealed_start, sealed_end = encryption.sealed_span(ref.size, start, end)
        sealed = reader.read(sealed_start, sealed_end)
        if len(sealed) != sealed_end - sealed_start:
            raise encryption.CorruptBlob(f"blob {ref.id} is shorter than its metadata says")
        plain = encryption.open_segments(self.data_key(ref, kms_keys), sealed, first, ref.size)
        offset = start - first * encryption.SEGMENT
        return plain[offset : offset + (end - start)]

    @staticmethod
    def _spans(refs: Sequence[BlobRef], start: int, end: int) -> list[tuple[BlobRef, int, int]]:
        """The (blob, local start, local end) pieces that make up object bytes ``[start, end)``."""
        spans = []
        offset = 0
        for ref in refs:
            lo, hi = max(start, offset), min(end, offset + ref.size)
            if lo < hi:
                spans.append((ref, lo - offset, hi - offset))
            offset += ref.size
            if offset >= end:
                break
        return spans

    def read(
        self, refs: Sequence[BlobRef], start: int, end: int, kms_keys: dict[str, bytes] | None = None
    ) -> bytes:
        """Object bytes ``[start, end)`` in memory (small objects and ranges)."""
        out = []
        for ref, lo, hi in self._spans(refs, start, end):
            reader = self.blobs.open(ref.id)
            try:
                out.append(self._read_blob(reader, ref, lo, hi, kms_keys))
            finally:
                reader.close()
        return b"".join(out)

    async def stream(
        self, refs: Sequence[BlobRef], start: int, end: int, kms_keys: dict[str, bytes] | None = None
    ) -> AsyncIterator[bytes]:
        """Object bytes ``[start, end)`` in chunks, each read and decrypted on the pool.

        The first blob is opened before the first chunk is awaited by the caller, so a blob that
        is deleted meanwhile (an overwrite) stays readable for local files.
        """
        spans = self._spans(refs, start, end)
        readers: dict[str, BlobReader] = {}
        try:
            for ref, lo, hi in spans:
                reader = readers.get(ref.id)
                if reader is None:
                    reader = await self.run(self.blobs.open, ref.id)
                    readers[ref.id] = reader
                position = lo
                while position < hi:
                    # Chunk boundaries on segment boundaries: each segment is decrypted once.
                    chunk_end = min(hi, (position // encryption.SEGMENT) * encryption.SEGMENT + STREAM_CHUNK)
                    yield await self.run(self._read_blob, reader, ref, position, chunk_end, kms_keys)
                    position = chunk_end
                readers.pop(ref.id).close()
        finally:
            for reader in readers.values():
                reader.close()

    def close(self) -> None:
        self.reaper.close()
        self.pool.shutdown(wait=True)
        self.blobs.close()
