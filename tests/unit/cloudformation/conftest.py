"""An in-process Seedbed (no HTTP) for engine tests: a Backend, its admin principal, helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seedbed.config import Settings
from seedbed.server.backend import Backend
from seedbed.server.context import Principal
from seedbed.services.cloudformation import store
from tests.conftest import isolated_database_url


class Cfn:
    """Calls the CloudFormation API in-process and waits for stack operations."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        cred = backend.credentials.resolve(backend.admin_key.access_key_id)
        assert cred is not None
        self.admin: Principal = cred.principal

    async def call(self, operation: str, principal: Principal | None = None, service: str = "cloudformation", **params: Any) -> dict[str, Any]:
        return await self.backend.call(principal or self.admin, service, operation, params)

    @property
    def engine(self) -> Any:
        return self.backend.provider("cloudformation").engine  # type: ignore[union-attr]

    async def wait(self, stack: str) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            row = store.find_stack(conn, self.backend.settings.account_id, self.backend.settings.region, stack, include_deleted=True)
        assert row is not None
        await self.engine.wait_terminal(row.stack_id, timeout=60)
        out = await self.call("DescribeStacks", StackName=row.stack_id)
        return out["Stacks"][0]

    async def deploy(self, name: str, template: dict[str, Any] | str, parameters: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
        body = template if isinstance(template, str) else json.dumps(template)
        params = [{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()]
        await self.call("CreateStack", StackName=name, TemplateBody=body, Parameters=params, **extra)
        return await self.wait(name)

    async def update(self, name: str, template: dict[str, Any] | str, parameters: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
        body = template if isinstance(template, str) else json.dumps(template)
        params = [{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()]
        await self.call("UpdateStack", StackName=name, TemplateBody=body, Parameters=params, **extra)
        return await self.wait(name)

    async def delete(self, name: str) -> dict[str, Any]:
        stack_id = (await self.call("DescribeStacks", StackName=name))["Stacks"][0]["StackId"]
        await self.call("DeleteStack", StackName=name)
        return await self.wait(stack_id)

    async def resources(self, name: str) -> dict[str, dict[str, Any]]:
        out = await self.call("DescribeStackResources", StackName=name)
        return {r["LogicalResourceId"]: r for r in out["StackResources"]}

    async def events(self, name: str) -> list[tuple[str, str]]:
        out = await self.call("DescribeStackEvents", StackName=name)
        return [(e["LogicalResourceId"], e["ResourceStatus"]) for e in reversed(out["StackEvents"])]

    async def buckets(self) -> set[str]:
        out = await self.call("ListBuckets", service="s3")
        return {b["Name"] for b in out.get("Buckets", [])}


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    settings = Settings(data_dir=tmp_path / "data", database_url=isolated_database_url())
    instance = Backend(settings)
    yield instance
    instance.close()


@pytest.fixture
def cfn(backend: Backend) -> Cfn:
    return Cfn(backend)


def run(coro: Any) -> Any:
    return asyncio.run(coro)
