"""Sealed blobs: round trips, ranges across segments and blobs, and tamper detection."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from seedbed.services.s3 import encryption
from seedbed.services.s3.blobs import LocalBlobStore
from seedbed.services.s3.encryption import SEGMENT, CorruptBlob, KeyRing
from seedbed.services.s3.storage import ObjectStorage

SIZES = [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 5]


@pytest.fixture
def storage(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = ObjectStorage(LocalBlobStore(tmp_path / "blobs"), KeyRing(os.urandom(32)), workers=2)
    yield store
    store.close()


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_and_every_range(storage: ObjectStorage, size: int) -> None:
    data = os.urandom(size)
    ref = storage.store(data)
    assert ref.size == size
    path = storage.blobs.path(ref.id)  # type: ignore[attr-defined]
    assert path.stat().st_size == encryption.sealed_size(size)
    assert storage.read([ref], 0, size) == data
    for start, end in [(0, 1), (SEGMENT - 2, SEGMENT + 2), (size // 2, size), (size - 1, size)]:
        start, end = max(0, min(start, size)), max(0, min(end, size))
        assert storage.read([ref], start, end) == data[start:end]


def test_ranges_across_blobs(storage: ObjectStorage) -> None:
    parts = [os.urandom(SEGMENT + 7), os.urandom(3), os.urandom(2 * SEGMENT)]
    refs = [storage.store(p) for p in parts]
    whole = b"".join(parts)
    for start, end in [(0, len(whole)), (SEGMENT, SEGMENT + 12), (SEGMENT + 6, 2 * SEGMENT + 20), (len(whole) - 1, len(whole))]:
        assert storage.read(refs, start, end) == whole[start:end]


def test_stream_matches_read(storage: ObjectStorage) -> None:
    import asyncio

    parts = [os.urandom(3 * 1024 * 1024 + 11), os.urandom(5)]
    refs = [storage.store(p) for p in parts]
    whole = b"".join(parts)

    async def collect(start: int, end: int) -> bytes:
        return b"".join([chunk async for chunk in storage.stream(refs, start, end)])

    assert asyncio.run(collect(0, len(whole))) == whole
    assert asyncio.run(collect(12345, len(whole) - 3)) == whole[12345 : len(whole) - 3]


def test_tampering_and_truncation_are_detected(storage: ObjectStorage) -> None:
    data = os.urandom(2 * SEGMENT + 100)
    ref = storage.store(data)
    path: Path = storage.blobs.path(ref.id)  # type: ignore[attr-defined]
    sealed = bytearray(path.read_bytes())
    path.chmod(0o600)
    sealed[SEGMENT + 40] ^= 1
    path.write_bytes(bytes(sealed))
    assert storage.read([ref], 0, 10) == data[:10]  # the first segment is intact
    with pytest.raises(CorruptBlob):
        storage.read([ref], SEGMENT + 1, SEGMENT + 2)
    sealed[SEGMENT + 40] ^= 1
    path.write_bytes(bytes(sealed[: 2 * encryption.SEALED_SEGMENT]))  # drop the last segment
    with pytest.raises(CorruptBlob):
        storage.read([ref], 0, len(data))


def test_data_keys_need_the_master_key() -> None:
    ring = KeyRing(os.urandom(32))
    key, wrapped = ring.new_data_key()
    assert ring.unwrap(wrapped) == key
    with pytest.raises(CorruptBlob):
        KeyRing(os.urandom(32)).unwrap(wrapped)


def test_master_key_file_is_private_and_stable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(encryption.MASTER_KEY_ENV, raising=False)
    first = encryption.load_master_key(tmp_path)
    assert encryption.load_master_key(tmp_path) == first
    mode = stat.S_IMODE((tmp_path / encryption.MASTER_KEY_FILE).stat().st_mode)
    assert mode == 0o600
    import base64

    monkeypatch.setenv(encryption.MASTER_KEY_ENV, base64.b64encode(b"k" * 32).decode())
    assert encryption.load_master_key(tmp_path) == b"k" * 32
