"""Server settings, from command-line options and ``SEEDBED_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 4599
DEFAULT_REGION = "us-east-1"
#: The account the first admin key belongs to. Twelve digits, like every AWS account id.
DEFAULT_ACCOUNT_ID = "000000000000"
IAM_MODES = ("enforce", "audit", "off")


def default_data_dir() -> Path:
    return Path(os.environ.get("SEEDBED_DATA_DIR") or Path.home() / ".seedbed").expanduser()


@dataclass
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    database_url: str | None = None
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    iam_mode: str = "enforce"
    #: An S3-compatible service for object bytes (scale-out); None keeps them in the data dir.
    #: Each field also reads ``SEEDBED_S3_BACKEND_<NAME>``; credentials come only from there.
    s3_backend_url: str | None = None
    s3_backend_bucket: str | None = None
    s3_backend_prefix: str | None = None
    s3_backend_region: str | None = None
    s3_backend_access_key_id: str | None = field(default=None, repr=False)
    s3_backend_secret_access_key: str | None = field(default=None, repr=False)
    #: Where SageMaker jobs run: "local" subprocesses or "ray" tasks (``SEEDBED_JOBS_BACKEND``).
    jobs_backend: str | None = None
    #: The Ray cluster for the ray backend (``SEEDBED_RAY_ADDRESS``); None starts a local Ray.
    ray_address: str | None = None
    #: At most this many jobs run at once (``SEEDBED_JOBS_MAX_CONCURRENT``); 0: the CPU count.
    jobs_max_concurrent: int = 0
    #: What a restart does with jobs left running: "fail" them or "rerun" them.
    jobs_on_restart: str | None = None

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser().resolve()
        if self.database_url is None:
            self.database_url = os.environ.get("SEEDBED_DATABASE_URL") or None
        for name in ("url", "bucket", "prefix", "region", "access_key_id", "secret_access_key"):
            attr = f"s3_backend_{name}"
            if getattr(self, attr) is None:
                setattr(self, attr, os.environ.get(f"SEEDBED_S3_BACKEND_{name.upper()}") or None)
        self.jobs_backend = self.jobs_backend or os.environ.get("SEEDBED_JOBS_BACKEND") or "local"
        self.ray_address = self.ray_address or os.environ.get("SEEDBED_RAY_ADDRESS") or None
        self.jobs_max_concurrent = self.jobs_max_concurrent or int(os.environ.get("SEEDBED_JOBS_MAX_CONCURRENT") or 0)
        self.jobs_on_restart = self.jobs_on_restart or os.environ.get("SEEDBED_JOBS_ON_RESTART") or "fail"
        if self.jobs_backend not in ("local", "ray"):
            raise ValueError(f"jobs backend must be local or ray, not {self.jobs_backend!r}")
        if self.jobs_on_restart not in ("fail", "rerun"):
            raise ValueError(f"jobs on restart must be fail or rerun, not {self.jobs_on_restart!r}")
        if self.iam_mode not in IAM_MODES:
            raise ValueError(f"iam mode must be one of {IAM_MODES}, not {self.iam_mode!r}")

    @property
    def resolved_database_url(self) -> str:
        from seedbed.state.db import sqlite_url

        return self.database_url or sqlite_url(self.data_dir)

    @property
    def endpoint_url(self) -> str:
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::", "::1") else self.host
        return f"http://{host}:{self.port}"
