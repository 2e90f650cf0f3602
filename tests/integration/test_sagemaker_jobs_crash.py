"""A server killed while a job runs: on restart the job is Failed with a reason that says so, and
its processes did not outlive the server."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import isolated_database_url, start_server, stop_server

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def test_restart_fails_jobs_left_running(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = isolated_database_url()
    live = start_server(data, db)
    marker = tmp_path / f"alive-{uuid.uuid4().hex[:6]}"
    try:
        sm, iam = live.client("sagemaker"), live.client("iam")
        role = iam.create_role(RoleName="crash", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        code = f"import time, pathlib; [(pathlib.Path({str(marker)!r}).touch(), time.sleep(0.1)) for _ in range(600)]"
        sm.create_training_job(
            TrainingJobName="long", RoleArn=role,
            AlgorithmSpecification={"TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-cpu-py310",
                                    "TrainingInputMode": "File", "ContainerEntrypoint": ["python3", "-c", code]},
            OutputDataConfig={"S3OutputPath": "s3://nowhere/out"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
            StoppingCondition={"MaxRuntimeInSeconds": 600},
        )
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        os.kill(live.process.pid, signal.SIGKILL)
        live.process.wait()
    time.sleep(1.5)
    before = marker.stat().st_mtime
    time.sleep(0.5)
    assert marker.stat().st_mtime == before, "the job's process outlived the server"
    live = start_server(data, db, port=None)
    try:
        sm = live.client("sagemaker")
        deadline = time.monotonic() + 10
        while (out := sm.describe_training_job(TrainingJobName="long"))["TrainingJobStatus"] == "InProgress":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert out["TrainingJobStatus"] == "Failed"
        assert "restarted" in out["FailureReason"] and out["SecondaryStatus"] == "Failed"
    finally:
        stop_server(live)


@pytest.fixture(autouse=True)
def _no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEEDBED_JOBS_BACKEND", raising=False)
