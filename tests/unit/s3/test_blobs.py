"""The local blob store, deferred deletion, and the orphan sweep."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from seedbed.services.s3.blobs import BlobMissing, LocalBlobStore, RemoteConfig, Reaper, sweep_orphans


def test_write_read_copy_delete(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.write("ab01", [b"hello ", b"world"])
    assert store.read("ab01", 0, 11) == b"hello world"
    assert store.read("ab01", 6, 11) == b"world"
    reader = store.open("ab01")
    store.copy("ab01", "cd02")
    store.delete(["ab01"])
    assert reader.read(0, 5) == b"hello"  # an open reader outlives the delete
    reader.close()
    assert store.read("cd02", 0, 5) == b"hello"
    with pytest.raises(BlobMissing):
        store.open("ab01")
    store.delete(["ab01", "nothing"])
    assert [blob_id for blob_id, _ in store.list_blobs()] == ["cd02"]
    assert not list(tmp_path.rglob("*.tmp"))
    store.close()


def test_sweep_removes_only_old_unreferenced_blobs(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    for blob_id in ("aa-kept", "bb-orphan"):
        store.write(blob_id, [b"x"])
    (tmp_path / "cc").mkdir()
    (tmp_path / "cc" / "cc-half.tmp").write_bytes(b"partial")
    time.sleep(0.02)
    started = time.time()
    time.sleep(0.02)
    store.write("dd-new", [b"x"])  # written after the start: left alone though unreferenced
    removed = sweep_orphans(store, lambda: ["aa-kept"], started)
    remaining = sorted(blob_id for blob_id, _ in store.list_blobs())
    assert removed == 2 and remaining == ["aa-kept", "dd-new"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_reaper_deletes_after_commit(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.write("ee-old", [b"x"])
    reaper = Reaper(store)
    reaper.schedule(["ee-old"])
    reaper.close()
    assert list(store.list_blobs()) == []


def test_remote_config_from_environment() -> None:
    assert RemoteConfig.from_env({}) is None
    config = RemoteConfig.from_env(
        {"SEEDBED_S3_BACKEND_URL": "http://127.0.0.1:8333", "SEEDBED_S3_BACKEND_BUCKET": "b", "SEEDBED_S3_BACKEND_ACCESS_KEY_ID": "k"}
    )
    assert config is not None and config.bucket == "b" and config.access_key_id == "k" and config.prefix == "blobs/"
