"""The Ray jobs backend (``seedbed up --jobs-backend ray`` on a local Ray instance): a job runs as
a Ray task with the same runner, outputs reach S3, a failing job reports its failure file, and
the whole abalone pipeline runs to Succeeded with every job on Ray."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer, start_server, stop_server
from tests.integration.test_sagemaker_pipelines import setup, steps_of, wait  # noqa: F401 - the fixture

pytest.importorskip("ray")

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@pytest.fixture(scope="module")
def ray_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    saved = os.environ.get("SEEDBED_JOBS_BACKEND")
    os.environ["SEEDBED_JOBS_BACKEND"] = "ray"
    try:
        live = start_server(tmp_path_factory.mktemp("seedbed-ray") / "data")
    finally:
        if saved is None:
            os.environ.pop("SEEDBED_JOBS_BACKEND")
        else:
            os.environ["SEEDBED_JOBS_BACKEND"] = saved
    yield live
    stop_server(live)


def run_job(sm, name: str, role: str, bucket: str, code: str) -> dict:  # type: ignore[no-untyped-def]
    sm.create_processing_job(
        ProcessingJobName=name, RoleArn=role,
        ProcessingInputs=[{"InputName": "code", "S3Input": {"S3Uri": f"s3://{bucket}/code/{name}.py", "LocalPath": "/opt/ml/processing/code",
                                                             "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
        ProcessingOutputConfig={"Outputs": [{"OutputName": "out", "S3Output": {
            "S3Uri": f"s3://{bucket}/out/{name}", "LocalPath": "/opt/ml/processing/out", "S3UploadMode": "EndOfJob"}}]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.4xlarge", "VolumeSizeInGB": 30}},
        AppSpecification={"ImageUri": IMAGE, "ContainerEntrypoint": ["python3", f"/opt/ml/processing/code/{name}.py"]},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        out = sm.describe_processing_job(ProcessingJobName=name)
        if out["ProcessingJobStatus"] in ("Completed", "Failed", "Stopped"):
            return out
        time.sleep(0.2)
    raise AssertionError("job did not finish")


def test_jobs_run_as_ray_tasks(ray_server: LiveServer) -> None:
    iam, s3, sm = ray_server.client("iam"), ray_server.client("s3"), ray_server.client("sagemaker")
    name = f"ray-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(POLICY))
    s3.create_bucket(Bucket=name)
    # The job's process is a child of the runner, itself a child of the Ray worker running the task.
    code = ("import os\nos.makedirs('/opt/ml/processing/out', exist_ok=True)\n"
            "runner = open(f'/proc/{os.getppid()}/stat').read().rsplit(')', 1)[1].split()[1]\n"
            "open('/opt/ml/processing/out/where.txt', 'w').write(open(f'/proc/{runner}/cmdline').read())\n")
    s3.put_object(Bucket=name, Key=f"code/{name}.py", Body=code.encode())
    out = run_job(sm, name, role, name, code)
    assert out["ProcessingJobStatus"] == "Completed", out.get("FailureReason")
    assert b"ray::" in s3.get_object(Bucket=name, Key=f"out/{name}/where.txt")["Body"].read()
    assert (Path(ray_server.data_dir) / "sagemaker-jobs").is_dir()
    bad = f"raybad-{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket=name, Key=f"code/{bad}.py", Body=b"open('/opt/ml/output/failure','w').write('ray says no')\nraise SystemExit(2)\n")
    out = run_job(sm, bad, role, name, "")
    assert out["ProcessingJobStatus"] == "Failed" and "ray says no" in out["FailureReason"]


@pytest.fixture(scope="module")
def server(ray_server: LiveServer) -> Iterator[LiveServer]:
    """In this module the SDK ``setup`` of the pipeline tests (imported above) works against the Ray
    server; the AWS_* variables it exports are put back afterwards."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    yield ray_server
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        os.environ.pop(key)
    os.environ.update(saved)


def test_abalone_pipeline_runs_on_ray(ray_server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The whole abalone model-build pipeline (processing, XGBoost training, evaluation, condition,
    registration) with every job a Ray task."""
    from tests.abalone import get_pipeline

    session, role = setup
    sm = ray_server.client("sagemaker")
    pipeline = get_pipeline(region=ray_server.region, role=role, default_bucket=session.default_bucket(),
                            pipeline_name="AbaloneRay", model_package_group_name="AbaloneRay")
    pipeline.upsert(role_arn=role)
    execution = pipeline.start(parameters={"InputDataUrl": f"s3://{session.default_bucket()}/abalone/abalone-dataset.csv"})
    done = wait(sm, execution.arn, timeout=480)
    steps = steps_of(sm, execution.arn)
    assert done["PipelineExecutionStatus"] == "Succeeded", (done.get("FailureReason"), {k: v.get("FailureReason") for k, v in steps.items()})
    assert steps["CheckAbaloneMSE"]["Metadata"]["Condition"]["Outcome"] == "True"
    package = steps["RegisterAbaloneModel-RegisterModel"]["Metadata"]["RegisterModel"]["Arn"]
    assert sm.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == "PendingManualApproval"
    # Every job of the execution ran (as a Ray task: this server has no other backend) and logged.
    logs = ray_server.client("logs")
    for name, kind in (("PreprocessAbaloneData", "ProcessingJob"), ("TrainAbaloneModel", "TrainingJob"), ("EvaluateAbaloneModel", "ProcessingJob")):
        job = steps[name]["Metadata"][kind]["Arn"].rsplit("/", 1)[-1]
        assert getattr(sm, f"describe_{'processing' if kind == 'ProcessingJob' else 'training'}_job")(
            **{f"{kind}Name": job})[f"{kind}Status"] == "Completed"
        streams = logs.describe_log_streams(logGroupName=f"/aws/sagemaker/{kind}s")["logStreams"]
        assert any(s["logStreamName"].lower().startswith(job.lower() + "/") for s in streams), f"no log stream for {job}"
