"""A server killed while a tuning job runs: on restart the running trial is Failed (the jobs'
restart policy) and the tuning job goes on launching the rest, then completes."""

from __future__ import annotations

import io
import json
import os
import signal
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import isolated_database_url, start_server, stop_server

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
ALLOW = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
SCRIPT = """
import json, os, pathlib, time
hps = json.loads(os.environ["SM_HPS"])
pathlib.Path(hps["marker"]).touch()
while pathlib.Path(hps["hold"]).exists():
    time.sleep(0.1)
print(f"loss={(float(hps['x']) - 0.3) ** 2}")
"""


def _source() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        body = SCRIPT.encode()
        info = tarfile.TarInfo("train.py")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def test_tuning_job_resumes_after_a_crash(tmp_path: Path) -> None:
    data, db = tmp_path / "data", isolated_database_url()
    marker, hold = tmp_path / f"started-{uuid.uuid4().hex[:6]}", tmp_path / "hold"
    hold.touch()
    live = start_server(data, db)
    try:
        sm, iam, s3 = live.client("sagemaker"), live.client("iam"), live.client("s3")
        role = iam.create_role(RoleName="tuner", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        iam.put_role_policy(RoleName="tuner", PolicyName="all", PolicyDocument=json.dumps(ALLOW))
        s3.create_bucket(Bucket="tuning-crash")
        s3.put_object(Bucket="tuning-crash", Key="code/source.tar.gz", Body=_source())
        sm.create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="crashy",
            HyperParameterTuningJobConfig={
                "Strategy": "Random", "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 1},
                "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
                "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]},
            },
            TrainingJobDefinition={
                "StaticHyperParameters": {"sagemaker_program": "train.py", "marker": str(marker), "hold": str(hold),
                                          "sagemaker_submit_directory": "s3://tuning-crash/code/source.tar.gz"},
                "AlgorithmSpecification": {
                    "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                    "TrainingInputMode": "File", "MetricDefinitions": [{"Name": "loss", "Regex": "loss=([-0-9.eE+]+)"}]},
                "RoleArn": role, "OutputDataConfig": {"S3OutputPath": "s3://tuning-crash/out"},
                "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
                "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            },
        )
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline, "the first trial never started"
            time.sleep(0.1)
    finally:
        os.kill(live.process.pid, signal.SIGKILL)
        live.process.wait()
    hold.unlink()
    live = start_server(data, db, port=None)
    try:
        sm = live.client("sagemaker")
        deadline = time.monotonic() + 120
        while (out := sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="crashy"))[
                "HyperParameterTuningJobStatus"] == "InProgress":
            assert time.monotonic() < deadline, out["TrainingJobStatusCounters"]
            time.sleep(0.2)
        assert out["HyperParameterTuningJobStatus"] == "Completed"
        assert out["TrainingJobStatusCounters"]["Completed"] == 2
        assert out["TrainingJobStatusCounters"]["NonRetryableError"] == 1
        trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="crashy", SortBy="CreationTime")
        first = trials["TrainingJobSummaries"][0]
        assert first["TrainingJobStatus"] == "Failed" and "restarted" in first["FailureReason"]
        best = out["BestTrainingJob"]
        assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(
            (float(best["TunedHyperParameters"]["x"]) - 0.3) ** 2)
    finally:
        stop_server(live)


@pytest.fixture(autouse=True)
def _no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEEDBED_JOBS_BACKEND", raising=False)
