"""The whole SageMaker Projects flow against a fresh server, as `make demo` runs it: bootstrap as
the admin, then as the data scientist create a build-train-deploy project, let the model-build
pipeline register a model, approve it, deploy staging, approve production and predict."""

from __future__ import annotations

import json
import time

import boto3

from seedbed.cli.bootstrap import run_bootstrap
from seedbed.cli.flow import Flow
from seedbed.cli.templates import Clients
from tests.conftest import start_server, stop_server


def test_template_to_production_predictions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = start_server(tmp_path / "data")
    try:
        admin = Clients(server.endpoint, server.region, boto3.Session(
            aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key))
        setup = run_bootstrap(admin, server.data_dir)
        creds = json.loads((server.data_dir / "data-scientist.json").read_text())
        scientist = Clients(server.endpoint, server.region, boto3.Session(
            aws_access_key_id=creds["aws_access_key_id"], aws_secret_access_key=creds["aws_secret_access_key"]))
        log: list[str] = []
        result = Flow(scientist, setup.roles["Launch"], setup.domain_id, log.append).run("abalone-e2e")

        sm = admin.client("sagemaker")
        assert sm.describe_project(ProjectName="abalone-e2e")["ProjectStatus"] == "CreateCompleted"
        assert result.pipeline_execution["PipelineExecutionStatus"] == "Succeeded"
        package = sm.describe_model_package(ModelPackageName=result.model_package_arn)
        assert package["ModelApprovalStatus"] == "Approved"
        assert result.metrics["regression_metrics"]["mse"]["value"] < 6.0
        for stage in ("staging", "prod"):
            assert sm.describe_endpoint(EndpointName=f"abalone-e2e-{stage}")["EndpointStatus"] == "InService"
        assert len(result.predictions) == 5
        for rings, predicted in result.predictions:
            assert 1 <= predicted <= 30, (rings, predicted)  # abalone have 1 to 29 rings
        assert [name for name, _ in result.timings][-1] == "Invoke production"
    finally:
        stop_server(server)


def _schedule(sm, name: str, timeout: float = 60) -> dict:  # type: ignore[no-untyped-def]
    """The schedule, once the stage's stack has made it: the flow ends at the first prediction,
    which the endpoint can answer while its stack is still creating the schedule beside it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return sm.describe_monitoring_schedule(MonitoringScheduleName=name)
        except sm.exceptions.ResourceNotFound:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_monitor_template_captures_data_and_schedules_monitors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = start_server(tmp_path / "data")
    try:
        admin = Clients(server.endpoint, server.region, boto3.Session(
            aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key))
        setup = run_bootstrap(admin, server.data_dir)
        creds = json.loads((server.data_dir / "data-scientist.json").read_text())
        scientist = Clients(server.endpoint, server.region, boto3.Session(
            aws_access_key_id=creds["aws_access_key_id"], aws_secret_access_key=creds["aws_secret_access_key"]))
        flow = Flow(scientist, setup.roles["Launch"], setup.domain_id, lambda text: None, template="build-train-deploy-monitor")
        result = flow.run("abalone-mon")

        sm, s3 = admin.client("sagemaker"), admin.client("s3")
        for stage in ("staging", "prod"):
            endpoint = sm.describe_endpoint(EndpointName=f"abalone-mon-{stage}")
            assert endpoint["DataCaptureConfig"]["EnableCapture"] is True
            schedule = _schedule(sm, f"abalone-mon-{stage}-data-quality")
            assert schedule["MonitoringScheduleStatus"] == "Scheduled"
            assert schedule["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"] == "cron(0 * ? * * *)"
        bucket = f"sagemaker-project-{result.project_id}"
        deadline = time.monotonic() + 60
        captured: list[dict] = []
        while not captured and time.monotonic() < deadline:  # capture files are written in batches
            captured = s3.list_objects_v2(Bucket=bucket, Prefix="abalone-mon/datacapture-prod/").get("Contents") or []
            time.sleep(1)
        assert captured and captured[0]["Key"].endswith(".jsonl")
    finally:
        stop_server(server)
