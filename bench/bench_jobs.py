"""SageMaker jobs: per-job overhead of an empty processing job (``python3 -c pass`` in the
scikit-learn image, no inputs or outputs), CreateProcessingJob to Completed as a client sees it
(Describe polled every 2 ms), median of 20. Target: under 300 ms.

Beside it, the same-run baseline: starting ``sys.executable -c pass`` as a subprocess, the floor
any local job runner pays once for the job's own process. The ratio says how much the rest costs
(the runner process, the /opt/ml mount namespace, the role session, the journal, the logs).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import boto3
from botocore.config import Config

from bench.harness import start_seedbed

ROUNDS = 20
TARGET_MS = 300.0
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def _client(service: str, port: int, creds: dict[str, str]) -> Any:
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name=creds["region"],
                        aws_access_key_id=creds["aws_access_key_id"], aws_secret_access_key=creds["aws_secret_access_key"],
                        config=Config(retries={"max_attempts": 1}))


def _job(sm: Any, role: str) -> float:
    name = f"empty-{uuid.uuid4().hex[:10]}"
    start = time.perf_counter()
    sm.create_processing_job(
        ProcessingJobName=name, RoleArn=role,
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}},
        AppSpecification={"ImageUri": IMAGE, "ContainerEntrypoint": ["python3", "-c", "pass"]},
    )
    while True:
        status = sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"]
        if status not in ("InProgress", "Stopping"):
            break
        time.sleep(0.002)
    elapsed = time.perf_counter() - start
    if status != "Completed":
        raise RuntimeError(f"{name}: {status}")
    return elapsed


def _baseline() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def run() -> None:
    server, creds = start_seedbed()
    try:
        iam, sm = _client("iam", server.port, creds), _client("sagemaker", server.port, creds)
        role = iam.create_role(RoleName="bench-jobs", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        _job(sm, role)  # warm-up: provider load, first imports
        jobs = [_job(sm, role) for _ in range(ROUNDS)]
        base = [_baseline() for _ in range(ROUNDS)]
        job_ms, base_ms = statistics.median(jobs) * 1000, statistics.median(base) * 1000
        verdict = "ok" if job_ms < TARGET_MS else "OVER TARGET"
        print(f"{'empty processing job (create->done)':<40} median {job_ms:8.1f} ms   target < {TARGET_MS:.0f} ms   {verdict}")
        print(f"{'baseline: python -c pass subprocess':<40} median {base_ms:8.1f} ms   ratio {job_ms / base_ms:5.1f}x")
        print(f"{'server RSS after jobs':<40} {server.rss_mb():8.1f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    run()
