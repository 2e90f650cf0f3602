"""Shared fixtures: a live Seedbed server started as users start it, and clients pointed at it.

Set ``SEEDBED_TEST_DATABASE_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) to run the
same tests against PostgreSQL; each test session then works in a schema of its own.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_database_url() -> str | None:
    """A PostgreSQL URL confined to a fresh schema, or None for the embedded SQLite default."""
    base = os.environ.get("SEEDBED_TEST_DATABASE_URL")
    if not base:
        return None
    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = base.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    atexit.register(_drop_schema, url, schema)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def _drop_schema(url: str, schema: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@dataclass
class LiveServer:
    endpoint: str
    data_dir: Path
    access_key: str
    secret_key: str
    region: str
    database_url: str | None
    process: subprocess.Popen

    @property
    def env(self) -> dict[str, str]:
        """The environment `eval "$(seedbed env)"` would give a shell."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_ACCESS_KEY_ID=self.access_key,
            AWS_SECRET_ACCESS_KEY=self.secret_key,
            AWS_DEFAULT_REGION=self.region,
            AWS_EC2_METADATA_DISABLED="true",
        )
        return env

    @contextlib.contextmanager
    def sagemaker_session(self, default_bucket: str) -> Iterator[Any]:
        """An unmodified SageMaker SDK session on this server, with the environment a user's shell
        would have (the SDK builds some clients of its own from it) while the block runs."""
        import sagemaker

        with pytest.MonkeyPatch.context() as mp:
            for key, value in self.env.items():
                if key.startswith("AWS_"):
                    mp.setenv(key, value)
            boto_session = boto3.Session(aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                                         region_name=self.region)
            yield sagemaker.Session(boto_session=boto_session, default_bucket=default_bucket)

    def client(self, service: str, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("aws_access_key_id", self.access_key)
        kwargs.setdefault("aws_secret_access_key", self.secret_key)
        kwargs.setdefault("region_name", self.region)
        kwargs.setdefault("config", Config(retries={"max_attempts": 1}))
        return boto3.client(service, endpoint_url=self.endpoint, **kwargs)


def start_server(data_dir: Path, database_url: str | None = None, port: int | None = None) -> LiveServer:
    port = port or free_port()
    cmd = [str(BIN / "seedbed"), "up", "--port", str(port), "--data-dir", str(data_dir)]
    if database_url:
        cmd += ["--database-url", database_url]
    log = open(data_dir.parent / f"server-{port}.log", "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://localhost:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"seedbed up exited with {proc.returncode}; see {log.name}")
        try:
            if httpx.get(f"{endpoint}/_seedbed/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("seedbed up did not become healthy in 30 s")
    exports = subprocess.run(
        [str(BIN / "seedbed"), "env", "--data-dir", str(data_dir), "--port", str(port)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    values = dict(
        line[len("export ") :].split("=", 1) for line in exports.splitlines() if line.startswith("export ")
    )
    return LiveServer(
        endpoint=values["AWS_ENDPOINT_URL"],
        data_dir=data_dir,
        access_key=values["AWS_ACCESS_KEY_ID"],
        secret_key=values["AWS_SECRET_ACCESS_KEY"],
        region=values["AWS_DEFAULT_REGION"],
        database_url=database_url,
        process=proc,
    )


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("seedbed") / "data", isolated_database_url())
    yield live
    stop_server(live)
