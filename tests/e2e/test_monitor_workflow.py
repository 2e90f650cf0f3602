"""The model-monitor seed code of the public build-train-deploy-monitor template, end to end on a
fresh server without the template itself: bootstrap as the admin; put an approved model package
with Model Monitor baselines in the project's group; deploy its endpoints with the
mpg-deployment-config bundle (they capture data because the package has baselines); run the
model-monitor-workflow bundle's buildspec as the monitor CodeBuild project does (the template's
environment variables); deploy the exported template with each stage's configuration through
CloudFormation, as the monitor pipeline does; and find the monitoring schedules on the endpoints
with the registry's baselines. Also: without an approved package, or without baselines, the
monitor build fails saying so and the deploy build does not capture."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from seedbed.cli.bootstrap import run_bootstrap
from seedbed.cli.templates import Clients
from tests.conftest import LiveServer, start_server, stop_server

ABALONE = Path(__file__).resolve().parents[2] / "src" / "seedbed" / "data" / "abalone-dataset.csv"
PROJECT, PROJECT_ID = "monflow", "p-monflow0001"
GROUP = f"{PROJECT}-{PROJECT_ID}"
BUCKET = f"sagemaker-project-{PROJECT_ID}"
MONITOR_ENV = {  # the GetBaselinesAndConfigs CodeBuild project of the public template
    "EXPORT_TEMPLATE_NAME": "model-monitor-template-export.yml",
    "EXPORT_TEMPLATE_STAGING_CONFIG": "staging-monitoring-schedule-config-export.json",
    "EXPORT_TEMPLATE_PROD_CONFIG": "prod-monitoring-schedule-config-export.json",
}
DEPLOY_ENV = {  # the ModelDeployBuildProject of the public template
    "EXPORT_TEMPLATE_NAME": "template-export.yml",
    "EXPORT_TEMPLATE_STAGING_CONFIG": "staging-config-export.json",
    "EXPORT_TEMPLATE_PROD_CONFIG": "prod-config-export.json",
}


def training_csv() -> str:
    """Rings first, the seven measurements, then the one-hot sex (F, I, M); no header."""
    out = io.StringIO()
    writer = csv.writer(out)
    with open(ABALONE) as fh:
        for row in csv.reader(fh):
            if row:
                writer.writerow([row[8], *row[1:8], *("1" if row[0] == sex else "0" for sex in "FIM")])
    return out.getvalue()


def run_buildspec(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The buildspec's install and build commands, run in ``folder`` the way a CodeBuild project
    runs them: the buildspec's variables, overridden by the project's."""
    spec = yaml.safe_load((folder / "buildspec.yml").read_text())
    variables = {k: str(v) for k, v in ((spec.get("env") or {}).get("variables") or {}).items()}
    full = {**os.environ, **variables, **env}
    full["PATH"] = f"{Path(sys.executable).parent}:{full.get('PATH', '')}"
    script = "set -e\n" + "\n".join(
        command for phase in ("install", "pre_build", "build") for command in ((spec["phases"].get(phase) or {}).get("commands") or []))
    return subprocess.run(["bash", "-c", script], check=False, cwd=folder, env=full, capture_output=True, text=True, timeout=600)


def unzip_seed(admin: Clients, bucket: str, key: str, into: Path) -> Path:
    body = admin.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        archive.extractall(into)
    return into


def deploy(cfn: Any, stack: str, folder: Path, template: str, config: str, role: str) -> dict[str, Any]:
    """CREATE_UPDATE of a CodePipeline CloudFormation action: the template with a template
    configuration's parameters and tags, under the project's CloudFormation role."""
    settings = json.loads((folder / config).read_text())
    cfn.create_stack(
        StackName=stack, TemplateBody=(folder / template).read_text(), RoleARN=role,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in settings["Parameters"].items()],
        Tags=[{"Key": k, "Value": v} for k, v in settings.get("Tags", {}).items()],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    return settings


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    server = start_server(tmp_path_factory.mktemp("monitor") / "data")
    try:
        admin = Clients(server.endpoint, server.region, boto3.Session(
            aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key))
        setup = run_bootstrap(admin, server.data_dir)
        yield server, admin, setup
    finally:
        stop_server(server)


def baselined_package(server: LiveServer, admin: Clients, role: str) -> dict[str, Any]:
    """An approved package of the group: an XGBoost model trained on the abalone CSV, with the
    data quality baseline DefaultModelMonitor.suggest_baseline computes for the same CSV."""
    import sagemaker
    from sagemaker.model_monitor import DefaultModelMonitor
    from sagemaker.model_monitor.dataset_format import DatasetFormat

    s3, sm = admin.client("s3"), admin.client("sagemaker")
    try:
        s3.create_bucket(Bucket=BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:  # the project's own bucket
        pass
    s3.put_object(Bucket=BUCKET, Key="data/train/train.csv", Body=training_csv().encode())
    session = sagemaker.Session(boto_session=boto3.Session(
        aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key, region_name=server.region),
        default_bucket=BUCKET)
    image = sagemaker.image_uris.retrieve("xgboost", server.region, version="1.7-1")
    job = f"{PROJECT}-train"
    sm.create_training_job(
        TrainingJobName=job, RoleArn=role,
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
        HyperParameters={"objective": "reg:squarederror", "num_round": "20", "max_depth": "4"},
        InputDataConfig=[{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/train", "S3DataDistributionType": "FullyReplicated"}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/model"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    monitor = DefaultModelMonitor(role=role, instance_count=1, instance_type="ml.m5.xlarge", volume_size_in_gb=20,
                                  max_runtime_in_seconds=600, sagemaker_session=session)
    monitor.suggest_baseline(baseline_dataset=f"s3://{BUCKET}/data/train/train.csv",
                             dataset_format=DatasetFormat.csv(header=False, output_columns_position="START"),
                             output_s3_uri=f"s3://{BUCKET}/baseline", wait=True, logs=False)
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=job, WaiterConfig={"Delay": 1, "MaxAttempts": 600})
    trained = sm.describe_training_job(TrainingJobName=job)
    assert trained["TrainingJobStatus"] == "Completed", trained.get("FailureReason")
    statistics = {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/baseline/statistics.json"}
    constraints = {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/baseline/constraints.json"}
    assert s3.head_object(Bucket=BUCKET, Key="baseline/constraints.json")
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    inference = {"Containers": [{"Image": image, "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"]}],
                 "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}
    arn = sm.create_model_package(
        ModelPackageGroupName=GROUP, InferenceSpecification=inference, ModelApprovalStatus="Approved",
        ModelMetrics={"ModelDataQuality": {"Statistics": statistics, "Constraints": constraints}},
        DriftCheckBaselines={"ModelDataQuality": {"Statistics": statistics, "Constraints": constraints}},
    )["ModelPackageArn"]
    return {"arn": arn, "statistics": statistics["S3Uri"], "constraints": constraints["S3Uri"], "inference": inference}


def test_monitor_seed_code_schedules_monitors_with_the_registry_baselines(live, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    server, admin, setup = live
    for key, value in server.env.items():
        if key.startswith("AWS_"):  # for the SageMaker SDK in this process
            monkeypatch.setenv(key, value)
    roles = setup.roles
    sm, cfn = admin.client("sagemaker"), admin.client("cloudformation")
    monitor_env = {**server.env, **MONITOR_ENV, "SAGEMAKER_PROJECT_NAME": PROJECT, "SAGEMAKER_PROJECT_ID": PROJECT_ID,
                   "ARTIFACT_BUCKET": BUCKET, "MONITOR_OUTPUTS_BUCKET": BUCKET,
                   "MODEL_MONITOR_ROLE_ARN": roles["Execution"], "AWS_REGION": server.region}
    monitor = unzip_seed(admin, setup.seed_bucket, "toolchain/model-monitor-workflow-v1.0.zip", tmp_path / "monitor")

    # No approved package yet: the monitor build fails and says why.
    early = run_buildspec(monitor, monitor_env)
    assert early.returncode != 0
    assert f"No approved model package in the model package group {GROUP}" in early.stderr

    package = baselined_package(server, admin, roles["Execution"])

    # The deploy bundle captures data for a package with baselines, and deploys the endpoints.
    deploy_dir = unzip_seed(admin, setup.seed_bucket, "toolchain/mpg-deployment-config-v1.0.zip", tmp_path / "deploy")
    built = run_buildspec(deploy_dir, {**server.env, **DEPLOY_ENV, "SAGEMAKER_PROJECT_NAME": PROJECT,
                                       "SAGEMAKER_PROJECT_ID": PROJECT_ID, "ARTIFACT_BUCKET": BUCKET,
                                       "MODEL_EXECUTION_ROLE_ARN": roles["Execution"],
                                       "SOURCE_MODEL_PACKAGE_GROUP_NAME": GROUP, "AWS_REGION": server.region})
    assert built.returncode == 0, built.stdout + built.stderr
    for stage in ("staging", "prod"):
        params = deploy(cfn, f"sagemaker-{PROJECT}-{PROJECT_ID}-deploy-{stage}", deploy_dir, "template-export.yml",
                        f"{stage}-config-export.json", roles["CloudFormation"])["Parameters"]
        assert params["EnableDataCapture"] == "true" and "EnableMonitoring" not in params
        endpoint = sm.describe_endpoint(EndpointName=f"{PROJECT}-{stage}")
        assert endpoint["EndpointStatus"] == "InService"
        assert endpoint["DataCaptureConfig"]["EnableCapture"] is True
        assert endpoint["DataCaptureConfig"]["DestinationS3Uri"] == f"s3://{BUCKET}/{PROJECT}/datacapture-{stage}"

    # The monitor build reads the baselines from the registry; the pipeline's stacks deploy them.
    built = run_buildspec(monitor, monitor_env)
    assert built.returncode == 0, built.stdout + built.stderr
    assert package["arn"] in built.stdout
    for stage in ("staging", "prod"):
        settings = deploy(cfn, f"sagemaker-{PROJECT}-{PROJECT_ID}-modelmonitor-{stage}", monitor,
                          MONITOR_ENV["EXPORT_TEMPLATE_NAME"], MONITOR_ENV[f"EXPORT_TEMPLATE_{stage.upper()}_CONFIG"],
                          roles["CloudFormation"])
        assert settings["Tags"]["sagemaker:project-id"] == PROJECT_ID
        schedule = sm.describe_monitoring_schedule(MonitoringScheduleName=f"{PROJECT}-{stage}-data-quality-monitor")
        assert schedule["MonitoringScheduleStatus"] == "Scheduled"
        assert schedule["EndpointName"] == f"{PROJECT}-{stage}"
        config = schedule["MonitoringScheduleConfig"]
        assert config["MonitoringType"] == "DataQuality"
        assert config["ScheduleConfig"]["ScheduleExpression"] == "cron(0 * ? * * *)"
        definition = sm.describe_data_quality_job_definition(JobDefinitionName=config["MonitoringJobDefinitionName"])
        assert definition["DataQualityBaselineConfig"]["StatisticsResource"]["S3Uri"] == package["statistics"]
        assert definition["DataQualityBaselineConfig"]["ConstraintsResource"]["S3Uri"] == package["constraints"]
        assert definition["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == f"{PROJECT}-{stage}"
        assert definition["RoleArn"] == roles["Execution"]
        assert definition["DataQualityJobOutputConfig"]["MonitoringOutputs"][0]["S3Output"]["S3Uri"] == \
            f"s3://{BUCKET}/{PROJECT}/monitoring-{stage}/data-quality"
        # model quality is opt-in (it needs ground truth): no schedule for it
        names = [s["MonitoringScheduleName"] for s in sm.list_monitoring_schedules(EndpointName=f"{PROJECT}-{stage}")["MonitoringScheduleSummaries"]]
        assert names == [f"{PROJECT}-{stage}-data-quality-monitor"]

    # A newer approved package without baselines: no capture from the deploy build, and the
    # monitor build refuses it.
    plain = sm.create_model_package(ModelPackageGroupName=GROUP, InferenceSpecification=package["inference"],
                                    ModelApprovalStatus="Approved")["ModelPackageArn"]
    again = run_buildspec(deploy_dir, {**server.env, **DEPLOY_ENV, "SAGEMAKER_PROJECT_NAME": PROJECT,
                                       "SAGEMAKER_PROJECT_ID": PROJECT_ID, "ARTIFACT_BUCKET": BUCKET,
                                       "MODEL_EXECUTION_ROLE_ARN": roles["Execution"],
                                       "SOURCE_MODEL_PACKAGE_GROUP_NAME": GROUP, "AWS_REGION": server.region})
    assert again.returncode == 0, again.stdout + again.stderr
    staged = json.loads((deploy_dir / "staging-config-export.json").read_text())["Parameters"]
    assert staged["ModelPackageName"] == plain and "EnableDataCapture" not in staged
    refused = run_buildspec(monitor, monitor_env)
    assert refused.returncode != 0
    assert f"The approved model package {plain} has no data quality baseline" in refused.stderr
