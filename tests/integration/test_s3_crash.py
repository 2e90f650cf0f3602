"""Nothing lost: kill -9 the server in the middle of overlapping writes to the same keys.

After a restart every object must read back as exactly one complete version that some writer
sent (never a mix, never truncated), its ETag and size must agree with the listing, every key
that was acknowledged at least once must exist, and no half-written or orphaned blob may remain.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import uuid
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import LiveServer, start_server, stop_server
from tests.integration.test_s3_support import BACKENDS, blob_backend, environment, start_with_backend  # noqa: F401

KEYS = [f"hot/key-{i}" for i in range(6)]
MULTIPART_KEY = "hot/multipart"
MIB = 1024 * 1024


def body_for(key: str, writer: int, seq: int) -> bytes:
    """A self-describing body: its header names the write, the rest is derived from it."""
    rng = random.Random(f"{key}/{writer}/{seq}")
    size = rng.choice([0, 100, 4096, 70_000, 300_000, 1_500_000])
    header = f"{key}|{writer}|{seq}|{size}|".encode()
    seed = hashlib.sha256(header).digest()
    filler = (seed * (size // 32 + 1))[:size]
    return header + filler


def multipart_body(seq: int) -> bytes:
    header = f"{MULTIPART_KEY}|mp|{seq}|".encode()
    return header + hashlib.sha256(header).digest() * ((5 * MIB + 4096) // 32)


def decode_write(body: bytes) -> tuple[str, str, str] | None:
    parts = body.split(b"|", 4)
    if len(parts) < 4:
        return None
    return parts[0].decode(), parts[1].decode(), parts[2].decode()


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_during_overlapping_puts(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = request.getfixturevalue("blob_backend") if backend == "remote" else None
    data_dir = tmp_path_factory.mktemp("crash") / "data"
    live = start_with_backend(data_dir, settings)
    client_config = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10)
    bucket = f"crash-{uuid.uuid4().hex[:10]}"
    live.client("s3").create_bucket(Bucket=bucket)

    attempted: dict[str, dict[tuple[str, str], bytes]] = {key: {} for key in KEYS + [MULTIPART_KEY]}
    acknowledged: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def writer(index: int) -> None:
        client = live.client("s3", config=client_config)
        seq = 0
        rng = random.Random(index)
        while not stop.is_set():
            key = rng.choice(KEYS)
            body = body_for(key, index, seq)
            with lock:
                attempted[key][(str(index), str(seq))] = body
            try:
                client.put_object(Bucket=bucket, Key=key, Body=body)
                with lock:
                    acknowledged.add(key)
            except (BotoCoreError, ClientError):
                return  # the server is gone
            seq += 1

    def multipart_writer() -> None:
        client = live.client("s3", config=client_config)
        config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=2)
        seq = 0
        while not stop.is_set():
            body = multipart_body(seq)
            with lock:
                attempted[MULTIPART_KEY][("mp", str(seq))] = body
            path = data_dir.parent / f"mp-{seq}"
            path.write_bytes(body)
            try:
                client.upload_file(str(path), bucket, MULTIPART_KEY, Config=config)
                with lock:
                    acknowledged.add(MULTIPART_KEY)
            except Exception:
                return
            seq += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    threads.append(threading.Thread(target=multipart_writer))
    for thread in threads:
        thread.start()
    time.sleep(2.5)
    live.process.kill()  # SIGKILL: no shutdown hooks, no flushing
    live.process.wait()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert acknowledged, "no write finished before the kill: the test proves nothing"

    if settings is None:
        restarted = start_server(data_dir, live.database_url)
    else:
        with environment(**settings):
            restarted = start_server(data_dir, live.database_url)
    try:
        check_consistency(restarted, bucket, attempted, acknowledged)
        if settings is None:
            check_no_orphans(restarted, bucket)
    finally:
        stop_server(restarted)


def check_consistency(
    live: LiveServer, bucket: str, attempted: dict[str, dict[tuple[str, str], bytes]], acknowledged: set[str]
) -> None:
    s3 = live.client("s3")
    listed = {o["Key"]: o for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert acknowledged <= set(listed), "an acknowledged key is missing after the crash"
    assert set(listed) <= set(attempted)
    for key, entry in listed.items():
        got = s3.get_object(Bucket=bucket, Key=key)
        body = got["Body"].read()
        origin = decode_write(body)
        assert origin is not None and origin[0] == key, f"{key}: body is not a write of this key"
        assert attempted[key].get((origin[1], origin[2])) == body, f"{key}: not one complete written version"
        assert got["ETag"] == entry["ETag"] and entry["Size"] == len(body), f"{key}: listing disagrees with the read"
        if "-" not in got["ETag"]:
            assert got["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'


def check_no_orphans(live: LiveServer, bucket: str) -> None:
    """After the start-up sweep, every blob file belongs to an object or an unfinished upload."""
    s3 = live.client("s3")
    expected = 0
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        head = s3.head_object(Bucket=bucket, Key=item["Key"])
        expected += head.get("PartsCount", 1)
    for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        expected += len(s3.list_parts(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]).get("Parts", []))
    blobs = Path(live.data_dir) / "s3" / "blobs"
    deadline = time.monotonic() + 20
    while True:
        files = [p for p in blobs.rglob("*") if p.is_file()]
        leftovers = [p for p in files if p.name.endswith(".tmp")]
        if len(files) == expected and not leftovers:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(files)} blob files ({len(leftovers)} temporary) for {expected} referenced blobs")
        time.sleep(0.2)
