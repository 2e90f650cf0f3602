"""An in-process Seedbed (no HTTP) for CloudWatch Logs and CloudWatch tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seedbed.config import Settings
from seedbed.server.backend import Backend
from tests.conftest import isolated_database_url


class Api:
    def __init__(self, backend: Backend, service: str) -> None:
        self.backend = backend
        self.service = service
        cred = backend.credentials.resolve(backend.admin_key.access_key_id)
        assert cred is not None
        self.admin = cred.principal

    def __call__(self, operation: str, **params: Any) -> Any:
        return asyncio.run(self.backend.call(self.admin, self.service, operation, params))

    @property
    def provider(self) -> Any:
        return self.backend.provider(self.service)


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    instance = Backend(Settings(data_dir=tmp_path / "data", database_url=isolated_database_url()))
    yield instance
    instance.close()


@pytest.fixture
def logs(backend: Backend) -> Api:
    return Api(backend, "logs")


@pytest.fixture
def cw(backend: Backend) -> Api:
    return Api(backend, "cloudwatch")
