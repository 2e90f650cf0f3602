"""SageMaker Model Monitor as boto3 and the SageMaker SDK v2 meet it: DefaultModelMonitor baselines
the abalone features with the analyzer image; one-time (NOW) schedules analyse data-capture files
in the endpoint's capture layout, with no violations for data like the baseline and
CompletedWithViolations, a constraint_violations.json and drift metrics for drifted data; job
definitions and schedules answer as the API says."""

from __future__ import annotations

import csv
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveServer

ABALONE = Path(__file__).resolve().parents[2] / "src" / "seedbed" / "data" / "abalone-dataset.csv"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
#: What the role needs: the capture, baseline and report objects, and its job's logs (no
#: sagemaker:* or iam:PassRole: SageMaker itself starts the monitoring jobs).
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "logs:*"], "Resource": "*"}]}
ANALYZER = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
IMAGE_SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
COLUMNS = ["rings", "length", "diameter", "height", "whole_weight", "shucked_weight", "viscera_weight", "shell_weight"]


def abalone_rows() -> list[list[str]]:
    """rings first, then the seven measurements (the layout of a training CSV)."""
    with open(ABALONE) as fh:
        return [[r[8], *r[1:8]] for r in csv.reader(fh) if r]


@pytest.fixture(scope="module")
def env(server: LiveServer, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    iam, s3, sm = server.client("iam"), server.client("s3"), server.client("sagemaker")
    name = f"mon-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(POLICY))
    s3.create_bucket(Bucket=name)
    endpoint = f"{name}-ep"
    sm.create_model(ModelName=name, PrimaryContainer={"Image": IMAGE_SKLEARN}, ExecutionRoleArn=role)
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1,
                             "InstanceType": "ml.m5.large"}],
        DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 100,
                           "DestinationS3Uri": f"s3://{name}/capture",
                           "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]},
    )
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=name)
    baseline_csv = tmp_path_factory.mktemp("monitoring") / "baseline.csv"
    with open(baseline_csv, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(abalone_rows())
    return {"role": role, "bucket": name, "endpoint": endpoint, "sm": sm, "s3": s3, "csv": baseline_csv, "name": name}


def put_captures(env, rows: list[list[str]], when: datetime) -> list[str]:  # type: ignore[no-untyped-def]
    """Capture records of ``rows`` (prediction first, then the request's CSV line), in the
    data-capture layout and JSON Lines format an endpoint writes; returns their event ids."""
    lines, events = [], []
    for i, row in enumerate(rows):
        events.append(str(uuid.uuid4()))
        lines.append(json.dumps({
            "captureData": {
                "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": ",".join(row[1:]), "encoding": "CSV"},
                "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": row[0], "encoding": "CSV"},
            },
            "eventMetadata": {"eventId": events[-1], "inferenceTime": (when + timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
            "eventVersion": "0",
        }))
    key = f"capture/{env['endpoint']}/AllTraffic/{when:%Y/%m/%d/%H}/{when:%M-%S}-000-{uuid.uuid4()}.jsonl"
    env["s3"].put_object(Bucket=env["bucket"], Key=key, Body="\n".join(lines).encode())
    return events


def wait_job(sm, name: str, timeout: float = 300) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = sm.describe_processing_job(ProcessingJobName=name)
        if out["ProcessingJobStatus"] in ("Completed", "Failed", "Stopped"):
            return out
        time.sleep(0.2)
    raise AssertionError(f"processing job {name} did not finish")


def wait_execution(sm, schedule: str, timeout: float = 300) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = sm.list_monitoring_executions(MonitoringScheduleName=schedule)["MonitoringExecutionSummaries"]
        if runs and runs[0]["MonitoringExecutionStatus"] in ("Completed", "CompletedWithViolations", "Failed", "Stopped"):
            return runs[0]
        time.sleep(0.2)
    raise AssertionError(f"no finished execution of {schedule}")


def s3_json(env, uri: str) -> dict:  # type: ignore[no-untyped-def]
    bucket, _, key = uri[5:].partition("/")
    return json.loads(env["s3"].get_object(Bucket=bucket, Key=key)["Body"].read())


@pytest.fixture(scope="module")
def baseline(env, server: LiveServer):  # type: ignore[no-untyped-def]
    """DefaultModelMonitor.suggest_baseline, unmodified, on the abalone CSV with a header."""
    with server.sagemaker_session(env["bucket"]) as session:
        from sagemaker.model_monitor import DefaultModelMonitor
        from sagemaker.model_monitor.dataset_format import DatasetFormat

        monitor = DefaultModelMonitor(role=env["role"], instance_count=1, instance_type="ml.m5.xlarge",
                                      volume_size_in_gb=20, max_runtime_in_seconds=600, sagemaker_session=session)
        monitor.suggest_baseline(baseline_dataset=str(env["csv"]), dataset_format=DatasetFormat.csv(header=True),
                                 output_s3_uri=f"s3://{env['bucket']}/baseline", wait=False, logs=False)
        job = wait_job(env["sm"], monitor.latest_baselining_job_name)
        assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
        statistics = monitor.baseline_statistics().body_dict
        constraints = monitor.suggested_constraints().body_dict
        yield {"monitor": monitor, "job": job, "statistics": statistics, "constraints": constraints, "session": session}


def test_suggest_baseline_profiles_the_dataset(env, baseline) -> None:  # type: ignore[no-untyped-def]
    job, statistics, constraints = baseline["job"], baseline["statistics"], baseline["constraints"]
    assert "sagemaker-model-monitor-analyzer" in job["AppSpecification"]["ImageUri"]
    assert json.loads(job["Environment"]["dataset_format"]) == {"csv": {"header": True, "output_columns_position": "START"}}
    assert statistics["dataset"]["item_count"] == 4177
    features = {f["name"]: f for f in statistics["features"]}
    assert list(features) == COLUMNS
    assert features["rings"]["inferred_type"] == "Integral" and features["length"]["inferred_type"] == "Fractional"
    length = features["length"]["numerical_statistics"]
    assert length["common"] == {"num_present": 4177, "num_missing": 0}
    assert length["min"] == 0.075 and length["max"] == 0.815 and abs(length["mean"] - 0.524) < 0.001
    assert sum(b["count"] for b in length["distribution"]["kll"]["buckets"]) == 4177
    by_name = {f["name"]: f for f in constraints["features"]}
    assert by_name["rings"] == {"name": "rings", "inferred_type": "Integral", "completeness": 1.0,
                                "num_constraints": {"is_non_negative": True}}
    assert constraints["monitoring_config"]["distribution_constraints"]["comparison_threshold"] == 0.1


def test_now_schedule_over_clean_captures_completes(env, baseline, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    from sagemaker.model_monitor import CronExpressionGenerator

    now = datetime.now(UTC)
    put_captures(env, abalone_rows(), now - timedelta(minutes=2))
    monitor = baseline["monitor"]
    schedule = f"clean-{uuid.uuid4().hex[:8]}"
    monitor.create_monitoring_schedule(
        monitor_schedule_name=schedule, endpoint_input=env["endpoint"], output_s3_uri=f"s3://{env['bucket']}/reports",
        statistics=monitor.baseline_statistics(), constraints=monitor.suggested_constraints(),
        schedule_cron_expression=CronExpressionGenerator.now(), data_analysis_start_time="-PT1H", data_analysis_end_time="-PT0H",
        enable_cloudwatch_metrics=True,
    )
    run = wait_execution(env["sm"], schedule)
    assert run["MonitoringExecutionStatus"] == "Completed", run.get("FailureReason")
    assert run["EndpointName"] == env["endpoint"] and run["MonitoringType"] == "DataQuality"
    described = env["sm"].describe_monitoring_schedule(MonitoringScheduleName=schedule)
    assert described["MonitoringScheduleStatus"] == "Scheduled" and described["EndpointName"] == env["endpoint"]
    assert described["LastMonitoringExecutionSummary"]["ProcessingJobArn"] == run["ProcessingJobArn"]
    job = env["sm"].describe_processing_job(ProcessingJobName=run["ProcessingJobArn"].rsplit("/", 1)[-1])
    out = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert out == f"s3://{env['bucket']}/reports/{env['endpoint']}/{schedule}/{run['ScheduledTime'].astimezone(UTC):%Y/%m/%d/%H}"
    assert job["Environment"]["sagemaker_endpoint_name"] == env["endpoint"]
    assert s3_json(env, f"{out}/constraint_violations.json") == {"violations": []}
    assert s3_json(env, f"{out}/statistics.json")["dataset"]["item_count"] == 4177
    executions = monitor.list_executions()
    assert len(executions) == 1 and executions[0].constraint_violations().body_dict == {"violations": []}


def test_drifted_captures_complete_with_violations(env, baseline, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    sm = env["sm"]
    when = datetime.now(UTC) - timedelta(hours=3)
    drifted = []
    for i, row in enumerate(abalone_rows()[:600]):
        values = [row[0] + ".5", *[str(float(v) * 3) for v in row[1:]]]
        if i % 10 == 0:
            values[2] = ""
        drifted.append(values)
    put_captures(env, drifted, when)
    base = baseline["job"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    definition = f"dq-{uuid.uuid4().hex[:8]}"
    arn = sm.create_data_quality_job_definition(
        JobDefinitionName=definition,
        DataQualityBaselineConfig={"ConstraintsResource": {"S3Uri": f"{base}/constraints.json"},
                                   "StatisticsResource": {"S3Uri": f"{base}/statistics.json"}},
        DataQualityAppSpecification={"ImageUri": ANALYZER, "Environment": {"publish_cloudwatch_metrics": "Enabled"}},
        DataQualityJobInput={"EndpointInput": {"EndpointName": env["endpoint"], "LocalPath": "/opt/ml/processing/input/endpoint"}},
        DataQualityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{env['bucket']}/drift",
                                                                        "LocalPath": "/opt/ml/processing/output"}}]},
        JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
        RoleArn=env["role"], StoppingCondition={"MaxRuntimeInSeconds": 1800}, Tags=[{"Key": "k", "Value": "v"}],
    )["JobDefinitionArn"]
    assert arn.endswith(f":data-quality-job-definition/{definition}")
    schedule = f"drift-{uuid.uuid4().hex[:8]}"
    sm.create_monitoring_schedule(
        MonitoringScheduleName=schedule,
        MonitoringScheduleConfig={"ScheduleConfig": {"ScheduleExpression": "NOW", "DataAnalysisStartTime": "-PT4H",
                                                     "DataAnalysisEndTime": "-PT2H"},
                                  "MonitoringJobDefinitionName": definition, "MonitoringType": "DataQuality"},
    )
    run = wait_execution(sm, schedule)
    assert run["MonitoringExecutionStatus"] == "CompletedWithViolations", run.get("FailureReason")
    assert run["MonitoringJobDefinitionName"] == definition
    job = sm.describe_processing_job(ProcessingJobName=run["ProcessingJobArn"].rsplit("/", 1)[-1])
    out = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    violations = s3_json(env, f"{out}/constraint_violations.json")["violations"]
    kinds = {(v["feature_name"], v["constraint_check_type"]) for v in violations}
    assert ("length", "baseline_drift_check") in kinds and ("shell_weight", "baseline_drift_check") in kinds
    assert ("diameter", "completeness_check") in kinds and ("rings", "data_type_check") in kinds
    drift = next(v for v in violations if v["feature_name"] == "length" and v["constraint_check_type"] == "baseline_drift_check")
    assert "exceeds threshold: 0.1" in drift["description"]
    assert sm.list_monitoring_executions(MonitoringScheduleName=schedule, StatusEquals="Completed")["MonitoringExecutionSummaries"] == []
    cw = server.client("cloudwatch")
    deadline = time.monotonic() + 10
    names: set[str] = set()
    while time.monotonic() < deadline and "feature_baseline_drift_length" not in names:
        listed = cw.list_metrics(Namespace="/aws/sagemaker/Endpoints/data-metrics",
                                 Dimensions=[{"Name": "MonitoringSchedule", "Value": schedule}])["Metrics"]
        names = {m["MetricName"] for m in listed}
        time.sleep(0.2)
    assert {"feature_baseline_drift_length", "feature_non_null_diameter", "feature_data_length"} <= names
    with pytest.raises(ClientError) as exc:
        sm.delete_data_quality_job_definition(JobDefinitionName=definition)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    sm.delete_monitoring_schedule(MonitoringScheduleName=schedule)
    sm.delete_data_quality_job_definition(JobDefinitionName=definition)
    assert sm.list_monitoring_executions(MonitoringScheduleName=schedule)["MonitoringExecutionSummaries"] == []


def test_model_quality_execution_merges_ground_truth(env, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    sm, s3, bucket = env["sm"], env["s3"], env["bucket"]
    rows = abalone_rows()[:200]
    events = put_captures(env, rows, datetime.now(UTC) - timedelta(hours=6))
    now = datetime.now(UTC)
    truth = "\n".join(json.dumps({"groundTruthData": {"data": str(int(row[0]) + 2), "encoding": "CSV"},
                                  "eventMetadata": {"eventId": event}, "eventVersion": "0"}) for event, row in zip(events, rows))
    s3.put_object(Bucket=bucket, Key=f"truth/{now:%Y/%m/%d/%H}/labels.jsonl", Body=truth.encode())
    constraints = {"version": 0.0, "regression_constraints": {"mae": {"threshold": 1.0, "comparison_operator": "GreaterThanThreshold"}}}
    s3.put_object(Bucket=bucket, Key="mq/constraints.json", Body=json.dumps(constraints).encode())
    name = f"mq-{uuid.uuid4().hex[:8]}"
    sm.create_model_quality_job_definition(
        JobDefinitionName=name, ModelQualityBaselineConfig={"ConstraintsResource": {"S3Uri": f"s3://{bucket}/mq/constraints.json"}},
        ModelQualityAppSpecification={"ImageUri": ANALYZER, "ProblemType": "Regression"},
        ModelQualityJobInput={"EndpointInput": {"EndpointName": env["endpoint"], "LocalPath": "/opt/ml/processing/input/endpoint",
                                                "InferenceAttribute": "0"},
                              "GroundTruthS3Input": {"S3Uri": f"s3://{bucket}/truth"}},
        ModelQualityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{bucket}/mq-reports",
                                                                         "LocalPath": "/opt/ml/processing/output"}}]},
        JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
        RoleArn=env["role"])
    schedule = f"mq-{uuid.uuid4().hex[:8]}"
    sm.create_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "NOW", "DataAnalysisStartTime": "-PT7H", "DataAnalysisEndTime": "-PT5H"},
        "MonitoringJobDefinitionName": name, "MonitoringType": "ModelQuality"})
    run = wait_execution(sm, schedule)
    assert run["MonitoringExecutionStatus"] == "CompletedWithViolations", run.get("FailureReason")
    job = sm.describe_processing_job(ProcessingJobName=run["ProcessingJobArn"].rsplit("/", 1)[-1])
    out = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    statistics = s3_json(env, f"{out}/statistics.json")
    assert statistics["dataset"]["item_count"] == 200 and statistics["regression_metrics"]["mae"]["value"] == 2.0
    violations = s3_json(env, f"{out}/constraint_violations.json")["violations"]
    assert [(v["metric_name"], v["constraint_check_type"]) for v in violations] == [("mae", "GreaterThanThreshold")]
    cw = server.client("cloudwatch")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        metrics = cw.list_metrics(Namespace="/aws/sagemaker/Endpoints/model-metrics",
                                  Dimensions=[{"Name": "MonitoringSchedule", "Value": schedule}])["Metrics"]
        if {m["MetricName"] for m in metrics} >= {"mae", "rmse", "r2"}:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("no model quality metrics were published")


def test_window_without_captures_fails_with_no_data(env) -> None:  # type: ignore[no-untyped-def]
    sm = env["sm"]
    schedule = f"empty-{uuid.uuid4().hex[:8]}"
    sm.create_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "NOW", "DataAnalysisStartTime": "-PT24H", "DataAnalysisEndTime": "-PT20H"},
        "MonitoringJobDefinition": {
            "MonitoringInputs": [{"EndpointInput": {"EndpointName": env["endpoint"], "LocalPath": "/opt/ml/processing/input"}}],
            "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{env['bucket']}/x", "LocalPath": "/opt/ml/processing/output"}}]},
            "MonitoringResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
            "MonitoringAppSpecification": {"ImageUri": ANALYZER}, "RoleArn": env["role"]}})
    run = wait_execution(sm, schedule)
    assert run["MonitoringExecutionStatus"] == "Failed" and run["FailureReason"] == "Job inputs had no data"
    assert "ProcessingJobArn" not in run


def test_schedules_and_definitions_answer_as_the_api_says(env) -> None:  # type: ignore[no-untyped-def]
    sm = env["sm"]
    spec = {
        "ModelQualityAppSpecification": {"ImageUri": ANALYZER, "ProblemType": "Regression"},
        "ModelQualityJobInput": {"EndpointInput": {"EndpointName": env["endpoint"], "LocalPath": "/opt/ml/processing/input",
                                                   "InferenceAttribute": "0"},
                                 "GroundTruthS3Input": {"S3Uri": f"s3://{env['bucket']}/truth"}},
        "ModelQualityJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{env['bucket']}/mq", "LocalPath": "/opt/ml/processing/output"}}]},
        "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
        "RoleArn": env["role"],
    }
    name = f"mq-{uuid.uuid4().hex[:8]}"
    arn = sm.create_model_quality_job_definition(JobDefinitionName=name, **spec)["JobDefinitionArn"]
    with pytest.raises(ClientError) as exc:
        sm.create_model_quality_job_definition(JobDefinitionName=name, **spec)
    assert exc.value.response["Error"]["Code"] == "ResourceInUse"
    described = sm.describe_model_quality_job_definition(JobDefinitionName=name)
    assert described["JobDefinitionArn"] == arn and described["ModelQualityAppSpecification"]["ProblemType"] == "Regression"
    listed = sm.list_model_quality_job_definitions(EndpointName=env["endpoint"], NameContains=name)["JobDefinitionSummaries"]
    assert [d["MonitoringJobDefinitionName"] for d in listed] == [name] and listed[0]["EndpointName"] == env["endpoint"]
    assert sm.list_data_quality_job_definitions(NameContains=name)["JobDefinitionSummaries"] == []
    schedule = f"hourly-{uuid.uuid4().hex[:8]}"
    config = {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": name,
              "MonitoringType": "ModelQuality"}
    sched_arn = sm.create_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig=config,
                                              Tags=[{"Key": "team", "Value": "ml"}])["MonitoringScheduleArn"]
    assert sm.list_tags(ResourceArn=sched_arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    out = sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)
    assert out["MonitoringScheduleStatus"] == "Scheduled" and out["MonitoringType"] == "ModelQuality"
    assert "LastMonitoringExecutionSummary" not in out
    summaries = sm.list_monitoring_schedules(EndpointName=env["endpoint"], MonitoringTypeEquals="ModelQuality",
                                             NameContains=schedule)["MonitoringScheduleSummaries"]
    assert [s["MonitoringScheduleName"] for s in summaries] == [schedule]
    sm.stop_monitoring_schedule(MonitoringScheduleName=schedule)
    assert sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)["MonitoringScheduleStatus"] == "Stopped"
    assert sm.list_monitoring_schedules(NameContains=schedule, StatusEquals="Scheduled")["MonitoringScheduleSummaries"] == []
    sm.start_monitoring_schedule(MonitoringScheduleName=schedule)
    assert sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)["MonitoringScheduleStatus"] == "Scheduled"
    assert sm.list_monitoring_alerts(MonitoringScheduleName=schedule)["MonitoringAlertSummaries"] == []
    for bad in ({"ScheduleExpression": "cron(15 * ? * * *)"}, {"ScheduleExpression": "NOW"}, {"ScheduleExpression": "rate(1 hour)"},
                {"ScheduleExpression": "NOW", "DataAnalysisStartTime": "-PT30H", "DataAnalysisEndTime": "-PT0H"}):
        with pytest.raises(ClientError) as exc:
            sm.create_monitoring_schedule(MonitoringScheduleName=f"bad-{uuid.uuid4().hex[:6]}",
                                          MonitoringScheduleConfig={**config, "ScheduleConfig": bad})
        assert exc.value.response["Error"]["Code"] == "ValidationException", bad
    with pytest.raises(ClientError) as exc:
        sm.create_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig=config)
    assert exc.value.response["Error"]["Code"] == "ResourceInUse"
    missing = f"gone-{uuid.uuid4().hex[:6]}"
    sm.create_monitoring_schedule(MonitoringScheduleName=missing, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinition": {
            "MonitoringInputs": [{"EndpointInput": {"EndpointName": "no-such-endpoint", "LocalPath": "/opt/ml/processing/input"}}],
            "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{env['bucket']}/x", "LocalPath": "/opt/ml/processing/output"}}]},
            "MonitoringResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
            "MonitoringAppSpecification": {"ImageUri": ANALYZER}, "RoleArn": env["role"]}})
    failed = sm.describe_monitoring_schedule(MonitoringScheduleName=missing)
    assert failed["MonitoringScheduleStatus"] == "Failed" and "no-such-endpoint" in failed["FailureReason"]
    for gone in (missing, schedule):
        sm.delete_monitoring_schedule(MonitoringScheduleName=gone)
    with pytest.raises(ClientError) as exc:
        sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFound"
    sm.delete_model_quality_job_definition(JobDefinitionName=name)
    with pytest.raises(ClientError) as exc:
        sm.describe_model_quality_job_definition(JobDefinitionName=name)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFound"


def test_cloudformation_creates_a_definition_and_an_hourly_schedule(env, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    cf, sm = server.client("cloudformation"), env["sm"]
    stack = f"mon-{uuid.uuid4().hex[:8]}"
    template = {
        "Parameters": {"Endpoint": {"Type": "String"}, "Role": {"Type": "String"}, "Count": {"Type": "Number", "Default": "1"}},
        "Resources": {
            "Definition": {"Type": "AWS::SageMaker::DataQualityJobDefinition", "Properties": {
                "JobDefinitionName": f"{stack}-dq",
                "DataQualityAppSpecification": {"ImageUri": ANALYZER},
                "DataQualityJobInput": {"EndpointInput": {"EndpointName": {"Ref": "Endpoint"}, "LocalPath": "/opt/ml/processing/input/endpoint"}},
                "DataQualityJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {
                    "S3Uri": f"s3://{env['bucket']}/cfn", "LocalPath": "/opt/ml/processing/output"}}]},
                "JobResources": {"ClusterConfig": {"InstanceCount": {"Ref": "Count"}, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
                "RoleArn": {"Ref": "Role"}, "StoppingCondition": {"MaxRuntimeInSeconds": 1800}}},
            "Schedule": {"Type": "AWS::SageMaker::MonitoringSchedule", "DependsOn": "Definition", "Properties": {
                "MonitoringScheduleName": f"{stack}-hourly",
                "MonitoringScheduleConfig": {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                                             "MonitoringJobDefinitionName": f"{stack}-dq", "MonitoringType": "DataQuality"},
                "Tags": [{"Key": "owner", "Value": "cfn"}]}},
        },
        "Outputs": {"DefinitionArn": {"Value": {"Ref": "Definition"}},
                    "Created": {"Value": {"Fn::GetAtt": ["Definition", "CreationTime"]}},
                    "ScheduleArn": {"Value": {"Ref": "Schedule"}},
                    "ScheduleArnAttr": {"Value": {"Fn::GetAtt": ["Schedule", "MonitoringScheduleArn"]}}},
    }
    cf.create_stack(StackName=stack, TemplateBody=json.dumps(template), Parameters=[
        {"ParameterKey": "Endpoint", "ParameterValue": env["endpoint"]}, {"ParameterKey": "Role", "ParameterValue": env["role"]}])
    cf.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}
    assert outputs["DefinitionArn"].endswith(f":data-quality-job-definition/{stack}-dq")
    assert outputs["ScheduleArn"] == outputs["ScheduleArnAttr"] and outputs["ScheduleArn"].endswith(f":monitoring-schedule/{stack}-hourly")
    assert outputs["Created"]
    described = sm.describe_monitoring_schedule(MonitoringScheduleName=f"{stack}-hourly")
    assert described["MonitoringScheduleStatus"] == "Scheduled" and described["EndpointName"] == env["endpoint"]
    definition = sm.describe_data_quality_job_definition(JobDefinitionName=f"{stack}-dq")
    assert definition["JobResources"]["ClusterConfig"]["InstanceCount"] == 1
    cf.delete_stack(StackName=stack)
    cf.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    with pytest.raises(ClientError):
        sm.describe_monitoring_schedule(MonitoringScheduleName=f"{stack}-hourly")
    assert sm.list_data_quality_job_definitions(NameContains=stack)["JobDefinitionSummaries"] == []
