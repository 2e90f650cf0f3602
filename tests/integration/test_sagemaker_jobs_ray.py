"""The Ray jobs backend (``seedbed up --jobs-backend ray`` on a local Ray instance): a job runs as
a Ray task with the same runner, outputs reach S3, a failing job reports its failure file."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer, start_server, stop_server

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
