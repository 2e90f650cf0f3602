"""The abalone model-build pipeline, built with the unmodified SageMaker Python SDK (v2 workflow
API), upserted and run on a live Seedbed: success with a registered model, the Fail step, step
caching, and stopping an execution's jobs."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest

from tests.abalone import get_pipeline
from tests.conftest import REPO, LiveServer

pytest.importorskip("sagemaker")

DATA = REPO / "src" / "seedbed" / "data" / "abalone-dataset.csv"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
ALLOW = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@pytest.fixture(scope="module")
def setup(server: LiveServer, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    import os

    for key, value in server.env.items():
        if key.startswith("AWS_"):
            os.environ[key] = value
    import sagemaker

    iam = server.client("iam")
    name = f"AbalonePipelineRole-{uuid.uuid4().hex[:6]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=json.dumps(ALLOW))
    boto_session = boto3.Session(aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key, region_name=server.region)
    bucket = f"sagemaker-{server.region}-000000000000"
    session = sagemaker.Session(boto_session=boto_session, default_bucket=bucket)
    session.default_bucket()  # creates it through S3
    server.client("s3").upload_file(str(DATA), bucket, "abalone/abalone-dataset.csv")
    return session, role


def wait(sm, arn: str, timeout: float = 240) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        if out["PipelineExecutionStatus"] not in ("Executing", "Stopping"):
            return out
        time.sleep(0.5)
    raise AssertionError(f"{arn} still running after {timeout} s")


def steps_of(sm, arn: str) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {s["StepName"]: s for s in sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]}


def test_abalone_pipeline_registers_then_fails_at_threshold(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]
    session, role = setup
    sm = server.client("sagemaker")
    data = {"InputDataUrl": f"s3://{session.default_bucket()}/abalone/abalone-dataset.csv"}
    pipeline = get_pipeline(region=server.region, role=role, default_bucket=session.default_bucket(),
                            pipeline_name="AbaloneIT", model_package_group_name="AbaloneIT")
    pipeline.upsert(role_arn=role)
    execution = pipeline.start(parameters=data)
    done = wait(sm, execution.arn)
    steps = steps_of(sm, execution.arn)
    assert done["PipelineExecutionStatus"] == "Succeeded", (done.get("FailureReason"), {k: v.get("FailureReason") for k, v in steps.items()})
    package = steps["RegisterAbaloneModel-RegisterModel"]["Metadata"]["RegisterModel"]["Arn"]
    desc = sm.describe_model_package(ModelPackageName=package)
    assert desc["ModelApprovalStatus"] == "PendingManualApproval"
    metrics_uri = desc["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    bucket, key = metrics_uri[5:].split("/", 1)
    report = json.loads(server.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert 0 < report["regression_metrics"]["mse"]["value"] < 6.0
    listed = sm.list_model_packages(ModelPackageGroupName="AbaloneIT")["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in listed] == [package]

    failing = pipeline.start(parameters={**data, "MseThreshold": 0.1})
    done = wait(sm, failing.arn)
    assert done["PipelineExecutionStatus"] == "Failed"
    message = "The model's mean squared error is above the threshold 0.1"
    assert message in done["FailureReason"]
    steps = steps_of(sm, failing.arn)
    assert steps["AbaloneMSETooHigh"]["Metadata"]["Fail"]["ErrorMessage"] == message


def test_cached_steps_are_skipped_and_stop_stops_jobs(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]
    session, role = setup
    sm = server.client("sagemaker")
    data = {"InputDataUrl": f"s3://{session.default_bucket()}/abalone/abalone-dataset.csv"}
    pipeline = get_pipeline(region=server.region, role=role, default_bucket=session.default_bucket(),
                            pipeline_name="AbaloneCached", model_package_group_name="AbaloneCached", enable_caching=True)
    pipeline.upsert(role_arn=role)
    first = pipeline.start(parameters=data)
    assert wait(sm, first.arn)["PipelineExecutionStatus"] == "Succeeded"
    second = pipeline.start(parameters=data)
    assert wait(sm, second.arn)["PipelineExecutionStatus"] == "Succeeded"
    steps = steps_of(sm, second.arn)
    for name in ("PreprocessAbaloneData", "TrainAbaloneModel", "EvaluateAbaloneModel"):
        assert steps[name]["CacheHitResult"]["SourcePipelineExecutionArn"] == first.arn

    third = pipeline.start(parameters={"InputDataUrl": f"s3://{session.default_bucket()}/abalone/abalone-dataset.csv?again"})
    job_arn = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and job_arn is None:
        step = steps_of(sm, third.arn).get("PreprocessAbaloneData") or {}
        job_arn = (step.get("Metadata") or {}).get("ProcessingJob", {}).get("Arn")
        time.sleep(0.1)
    assert job_arn
    sm.stop_pipeline_execution(PipelineExecutionArn=third.arn)
    done = wait(sm, third.arn)
    assert done["PipelineExecutionStatus"] == "Stopped"
    job = sm.describe_processing_job(ProcessingJobName=job_arn.rsplit("/", 1)[-1])
    assert job["ProcessingJobStatus"] in ("Stopping", "Stopped")
