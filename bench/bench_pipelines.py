"""SageMaker Pipelines: the whole abalone model-build pipeline (preprocess, train XGBoost,
evaluate, condition, register), built with the SageMaker Python SDK and run on Seedbed, start to
Succeeded (target under 20 s); and the overhead a pipeline step adds to an empty processing job
(a one-step pipeline against the same job created directly; target under 300 ms), median of 5.

Compared with: on AWS every job step provisions an instance first, documented as minutes per job
("several minutes" of Starting/Downloading before a processing or training container runs), so the
four-job abalone pipeline takes about 10-15 minutes there. The SDK's local mode would be the
closer comparison, but it runs each step in a Docker container and cannot run without Docker,
which this benchmark does not assume.

Run alone: ``python -m bench.bench_pipelines`` (not in bench/__main__.py, which stays as is:
add ``bench_pipelines.run()`` after ``bench_projects.run()`` there to include it in ``make bench``).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bench.harness import start_seedbed
from seedbed.runtime.credentials import sdk_defaults

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "seedbed" / "data" / "abalone-dataset.csv"
ROUNDS = 5
WHOLE_TARGET_S = 20.0
STEP_TARGET_MS = 300.0
AWS_ABALONE_MINUTES = "10-15 min (each of its 4 job steps waits minutes for an instance)"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
ALLOW = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _client(service: str, port: int, creds: dict[str, str]) -> Any:
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name=creds["region"],
                        aws_access_key_id=creds["aws_access_key_id"], aws_secret_access_key=creds["aws_secret_access_key"],
                        config=Config(retries={"max_attempts": 1}))


def _wait(sm: Any, arn: str) -> str:
    while True:
        status = sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
        if status not in ("Executing", "Stopping"):
            return status
        time.sleep(0.01)


def _empty_job(role: str, name: str) -> dict[str, Any]:
    return {"ProcessingJobName": name, "RoleArn": role, "AppSpecification": {"ImageUri": SKLEARN, "ContainerEntrypoint": ["python3", "-c", "pass"]},
            "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1}}}


def run() -> dict[str, float]:
    server, creds = start_seedbed()
    try:
        port = server.port
        os.environ.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID=creds["aws_access_key_id"],
                          AWS_SECRET_ACCESS_KEY=creds["aws_secret_access_key"], AWS_DEFAULT_REGION=creds["region"],
                          AWS_EC2_METADATA_DISABLED="true", SAGEMAKER_SUPPRESS_V2_WARNING="1",
                          SAGEMAKER_ADMIN_CONFIG_OVERRIDE=str(sdk_defaults(server.data_dir, creds["account_id"], creds["region"])))  # as `seedbed env` does
        os.environ.pop("AWS_SESSION_TOKEN", None)
        iam, sm, s3 = _client("iam", port, creds), _client("sagemaker", port, creds), _client("s3", port, creds)
        role = iam.create_role(RoleName="BenchPipelineRole", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        iam.put_role_policy(RoleName="BenchPipelineRole", PolicyName="all", PolicyDocument=json.dumps(ALLOW))
        account = _client("sts", port, creds).get_caller_identity()["Account"]
        import sagemaker

        from tests.abalone import get_pipeline

        bucket = f"sagemaker-{creds['region']}-{account}"
        session = sagemaker.Session(boto_session=boto3.Session(region_name=creds["region"]), default_bucket=bucket)
        session.default_bucket()
        s3.upload_file(str(DATA), bucket, "abalone/abalone-dataset.csv")
        pipeline = get_pipeline(region=creds["region"], role=role, default_bucket=bucket,
                                pipeline_name="BenchAbalone", model_package_group_name="BenchAbalone")
        pipeline.upsert(role_arn=role)
        whole = []
        for _ in range(2):
            start = time.perf_counter()
            arn = sm.start_pipeline_execution(PipelineName="BenchAbalone", PipelineParameters=[
                {"Name": "InputDataUrl", "Value": f"s3://{bucket}/abalone/abalone-dataset.csv"}])["PipelineExecutionArn"]
            status = _wait(sm, arn)
            whole.append(time.perf_counter() - start)
            if status != "Succeeded":
                raise RuntimeError(f"abalone pipeline ended {status}")

        definition = {"Version": "2020-12-01", "Steps": [{"Name": "Empty", "Type": "Processing", "Arguments": {
            k: v for k, v in _empty_job(role, "x").items() if k != "ProcessingJobName"}}]}
        sm.create_pipeline(PipelineName="BenchEmpty", PipelineDefinition=json.dumps(definition), RoleArn=role)
        direct, piped = [], []
        for i in range(ROUNDS + 1):
            start = time.perf_counter()
            sm.create_processing_job(**_empty_job(role, f"bench-empty-{i}"))
            while sm.describe_processing_job(ProcessingJobName=f"bench-empty-{i}")["ProcessingJobStatus"] not in ("Completed", "Failed", "Stopped"):
                time.sleep(0.01)
            direct.append(time.perf_counter() - start)
            start = time.perf_counter()
            arn = sm.start_pipeline_execution(PipelineName="BenchEmpty")["PipelineExecutionArn"]
            if _wait(sm, arn) != "Succeeded":
                raise RuntimeError("empty pipeline failed")
            piped.append(time.perf_counter() - start)
        job_ms = statistics.median(direct[1:]) * 1000
        step_ms = statistics.median(piped[1:]) * 1000
        overhead = step_ms - job_ms
        best = min(whole)
        print(f"pipelines: abalone pipeline (4 jobs, SDK v2)  {best:7.1f} s   target < {WHOLE_TARGET_S:.0f} s   "
              f"AWS: {AWS_ABALONE_MINUTES}; SDK local mode: needs Docker, not run")
        print(f"pipelines: empty processing job direct        {job_ms:7.0f} ms")
        print(f"pipelines: same job as a one-step pipeline    {step_ms:7.0f} ms   step overhead {overhead:5.0f} ms   "
              f"target < {STEP_TARGET_MS:.0f} ms   AWS: minutes per job start")
        return {"abalone_s": best, "step_overhead_ms": overhead, "empty_job_ms": job_ms}
    finally:
        server.stop()


if __name__ == "__main__":
    run()
