"""An in-process Seedbed whose pipeline executions run jobs on a fake job runner."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seedbed.config import Settings
from seedbed.server.backend import Backend
from seedbed.services.events import publish
from tests.conftest import isolated_database_url

HERE = Path(__file__).parent
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
TOKENED = {"CreatePipeline", "DeletePipeline", "StartPipelineExecution", "StopPipelineExecution", "RetryPipelineExecution",
           "SendPipelineExecutionStepSuccess", "SendPipelineExecutionStepFailure"}
BUCKET = "sagemaker-us-east-1-000000000000"


class FakeJobs:
    """Completes jobs at once (or as told): a processing job writes evaluation.json with ``mse``,
    a training job reports a model artifact and a validation metric."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.jobs: dict[str, dict[str, Any]] = {}
        self.created: list[tuple[str, dict[str, Any]]] = []
        self.stopped: list[str] = []
        self.mse = 4.0
        self.fail_first: dict[str, str] = {}  # step-name fragment -> FailureReason of its first job
        self.block: set[str] = set()  # step-name fragments whose jobs run until stopped
        self.release = asyncio.Event()

    async def create(self, principal: Any, kind: str, request: dict[str, Any], region: str, account: str) -> None:
        name = request[f"{kind}Name"]
        self.created.append((kind, request))
        job = dict(request, **{f"{kind}Status": "InProgress", f"{kind}Arn": f"arn:aws:sagemaker:{region}:{account}:x/{name}"})
        for fragment, reason in list(self.fail_first.items()):
            if fragment in name:
                job.update({f"{kind}Status": "Failed", "FailureReason": reason})
                del self.fail_first[fragment]
        self.jobs[name] = job

    async def wait(self, kind: str, name: str, region: str, account: str) -> dict[str, Any]:
        job = self.jobs[name]
        if any(f in name for f in self.block):
            while job[f"{kind}Status"] == "InProgress":
                await asyncio.sleep(0.01)
            return job
        if job[f"{kind}Status"] != "InProgress":
            return job
        if kind == "ProcessingJob":
            for output in job.get("ProcessingOutputConfig", {}).get("Outputs", []):
                if output["OutputName"] == "evaluation":
                    uri = output["S3Output"]["S3Uri"]
                    key = uri.split("/", 3)[3] + "/evaluation.json"
                    body = json.dumps({"regression_metrics": {"mse": {"value": self.mse}}}).encode()
                    await self.backend.call(None, "s3", "PutObject", {"Bucket": BUCKET, "Key": key, "Body": body}, region, account)
        if kind == "TrainingJob":
            job["ModelArtifacts"] = {"S3ModelArtifacts": f"{job['OutputDataConfig']['S3OutputPath']}/{name}/output/model.tar.gz"}
            job["FinalMetricDataList"] = [{"MetricName": "validation:rmse", "Value": float(job.get("HyperParameters", {}).get("eta", 1))}]
        job[f"{kind}Status"] = "Completed"
        return job

    async def describe(self, kind: str, name: str, region: str, account: str) -> dict[str, Any] | None:
        return self.jobs.get(name)

    async def stop(self, kind: str, name: str, region: str, account: str) -> None:
        self.stopped.append(name)
        self.jobs[name][f"{kind}Status"] = "Stopped"


class World:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        cred = backend.credentials.resolve(backend.admin_key.access_key_id)
        assert cred is not None
        self.admin = cred.principal
        self.jobs = FakeJobs(backend)
        self.events: list[dict[str, Any]] = []
        self.role = ""

    @property
    def provider(self) -> Any:
        return self.backend.provider("sagemaker")

    async def call(self, op: str, service: str = "sagemaker", **params: Any) -> dict[str, Any]:
        if op in TOKENED:  # botocore fills idempotency tokens in; in-process callers must too
            params.setdefault("ClientRequestToken", uuid.uuid4().hex)
        return await self.backend.call(self.admin, service, op, params)

    async def setup(self) -> None:
        out = await self.call("CreateRole", "iam", RoleName="PipelineRole", AssumeRolePolicyDocument=json.dumps(TRUST))
        self.role = out["Role"]["Arn"]
        await self.call("PutRolePolicy", "iam", RoleName="PipelineRole", PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL))
        await self.call("CreateBucket", "s3", Bucket=BUCKET)
        self.provider.__dict__["_pipeline_jobs"] = self.jobs

    async def create(self, name: str, definition: dict[str, Any] | str, **extra: Any) -> str:
        text = definition if isinstance(definition, str) else json.dumps(definition)
        out = await self.call("CreatePipeline", PipelineName=name, PipelineDefinition=text, RoleArn=self.role, **extra)
        return out["PipelineArn"]

    async def run(self, name: str, **extra: Any) -> dict[str, Any]:
        arn = (await self.call("StartPipelineExecution", PipelineName=name, **extra))["PipelineExecutionArn"]
        await self.provider.wait_for_execution(arn, timeout=30)
        return await self.call("DescribePipelineExecution", PipelineExecutionArn=arn)

    async def steps(self, arn: str) -> dict[str, dict[str, Any]]:
        out = await self.call("ListPipelineExecutionSteps", PipelineExecutionArn=arn)
        return {s["StepName"]: s for s in out["PipelineExecutionSteps"]}


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    instance = Backend(Settings(data_dir=tmp_path / "data", database_url=isolated_database_url()))
    yield instance
    instance.close()


@pytest.fixture
def world(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(backend)

    async def fake_emit(backend: Any, account: str, region: str, source: str, detail_type: str,
                        detail: dict[str, Any], resources: list[str] | None = None) -> None:
        json.dumps(detail)
        w.events.append({"source": source, "detail-type": detail_type, "detail": detail})

    monkeypatch.setattr(publish, "emit", fake_emit)
    return w


def abalone_definition() -> str:
    return (HERE / "abalone_definition.json").read_text()
