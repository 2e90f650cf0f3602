"""SageMaker Clarify model monitors as the unmodified SageMaker SDK v2 and boto3 meet them: a small
XGBoost model on an endpoint with data capture answers requests (each with an InferenceId);
ModelBiasMonitor baselines bias on the training sample and a one-time (NOW) ModelBias schedule
merges the window's captures with their ground truth and checks the baseline; ModelExplainability
does the same for SHAP values over the captured requests. Each execution is a processing job on
the Clarify image with its analysis.json and constraint_violations.json in S3; job definitions
answer as the API says, and one CloudFormation stack creates both kinds."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError

from tests.conftest import LiveServer
from tests.integration.test_sagemaker_clarify import _csv, _tarball
from tests.integration.test_sagemaker_monitoring import s3_json, wait_execution, wait_job

ABALONE = Path(__file__).resolve().parents[2] / "src" / "seedbed" / "data" / "abalone-dataset.csv"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
#: The data and reports, the jobs' logs, and (for the baselining jobs and the explainability
#: monitor) the shadow endpoint Clarify creates for the model and deletes.
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "logs:*", "sagemaker:*"],
                                                  "Resource": "*"}]}
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
CLARIFY = "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"
FEATURES = ["male", "length", "diameter", "height", "whole_weight", "shucked_weight", "viscera_weight", "shell_weight"]
HEADERS = ["old", *FEATURES]  # the label first, as in a training CSV
REQUESTS = 80


def abalone() -> pd.DataFrame:
    frame = pd.read_csv(ABALONE, header=None,
                        names=["sex", *FEATURES[1:], "rings"])
    frame["male"] = (frame["sex"] == "M").astype(int)
    frame["old"] = (frame["rings"] > 10).astype(int)
    return frame[HEADERS]


def _line(values: Any) -> str:
    return ",".join(repr(float(v)) if isinstance(v, float) else str(v) for v in values)


@pytest.fixture(scope="module")
def env(server: LiveServer):  # type: ignore[no-untyped-def]
    """The model, its endpoint with data capture, REQUESTS captured predictions and their ground truth."""
    iam, s3, sm = server.client("iam"), server.client("s3"), server.client("sagemaker")
    name = f"cmon-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(POLICY))
    s3.create_bucket(Bucket=name)
    data = abalone()
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3},
                        xgb.DMatrix(data[FEATURES].to_numpy(), data["old"].to_numpy()), 20)
    s3.put_object(Bucket=name, Key="model/model.tar.gz", Body=_tarball("xgboost-model", bytes(booster.save_raw("ubj"))))
    sample = data.sample(n=60, random_state=11).reset_index(drop=True)
    s3.put_object(Bucket=name, Key="baseline/data.csv", Body=_csv(sample))
    sm.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={
        "Image": XGBOOST, "ModelDataUrl": f"s3://{name}/model/model.tar.gz"})
    endpoint = f"{name}-ep"
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1,
                             "InstanceType": "ml.m5.large"}],
        DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": f"s3://{name}/capture",
                           "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]})
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig={"Delay": 1, "MaxAttempts": 180})
    runtime = server.client("sagemaker-runtime")
    window = data.sample(n=REQUESTS, random_state=5).reset_index(drop=True)
    scores = []
    for i, row in window.iterrows():
        answer = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="text/csv",
                                         Body=_line(row[FEATURES].tolist()).encode(), InferenceId=f"req-{i}")
        scores.append(float(answer["Body"].read()))
    window["score"] = scores
    deadline = time.monotonic() + 30
    captured = 0
    while time.monotonic() < deadline and captured < REQUESTS:  # captures are flushed every few seconds
        objects = s3.list_objects_v2(Bucket=name, Prefix=f"capture/{endpoint}/").get("Contents") or []
        captured = sum(len(s3.get_object(Bucket=name, Key=o["Key"])["Body"].read().splitlines()) for o in objects)
        time.sleep(0.5)
    assert captured == REQUESTS
    now = datetime.now(UTC)
    truth = "\n".join(json.dumps({"groundTruthData": {"data": str(int(row["old"])), "encoding": "CSV"},
                                  "eventMetadata": {"eventId": f"req-{i}"}, "eventVersion": "0"})
                      for i, row in window.iterrows())
    s3.put_object(Bucket=name, Key=f"truth/{now:%Y/%m/%d/%H}/labels.jsonl", Body=truth.encode())
    with server.sagemaker_session(name) as session:
        from sagemaker import clarify

        data_config = clarify.DataConfig(s3_data_input_path=f"s3://{name}/baseline/data.csv", s3_output_path=f"s3://{name}/x",
                                         label="old", headers=HEADERS, dataset_type="text/csv")
        model_config = clarify.ModelConfig(model_name=name, instance_type="ml.m5.xlarge", instance_count=1,
                                           content_type="text/csv", accept_type="text/csv")
        yield {"name": name, "role": role, "s3": s3, "sm": sm, "server": server, "endpoint": endpoint, "window": window,
               "session": session, "clarify": clarify, "data_config": data_config, "model_config": model_config,
               "booster": booster, "data": data}


def _facet(section: dict) -> dict[str, float]:
    (entry,) = section["facets"]["male"]
    assert entry["value_or_threshold"] == "1"
    return {m["name"]: m["value"] for m in entry["metrics"]}


def _number(value: Any) -> float | None:
    """A metric value as analysis.json writes it (infinities as strings, undefined as null)."""
    if value in ("Infinity", "-Infinity"):
        return float(value.replace("Infinity", "inf"))
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _report(env, run: dict) -> tuple[dict, str]:  # type: ignore[no-untyped-def]
    job = env["sm"].describe_processing_job(ProcessingJobName=run["ProcessingJobArn"].rsplit("/", 1)[-1])
    return job, job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]


def _shadow_endpoints(sm) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["EndpointName"] for e in sm.list_endpoints(NameContains="sm-clarify")["Endpoints"]]


def test_model_bias_schedule_merges_ground_truth_and_checks_the_baseline(env) -> None:  # type: ignore[no-untyped-def]
    from sagemaker.model_monitor import CronExpressionGenerator, ModelBiasMonitor

    clarify, sm = env["clarify"], env["sm"]
    monitor = ModelBiasMonitor(role=env["role"], instance_count=1, instance_type="ml.m5.xlarge", max_runtime_in_seconds=900,
                               sagemaker_session=env["session"])
    bias_config = clarify.BiasConfig(label_values_or_threshold=[1], facet_name="male", facet_values_or_threshold=[1])
    monitor.suggest_baseline(data_config=env["data_config"], bias_config=bias_config, model_config=env["model_config"],
                             model_predicted_label_config=clarify.ModelPredictedLabelConfig(probability_threshold=0.5))
    baseline_job = wait_job(sm, monitor.latest_baselining_job_name)
    assert baseline_job["ProcessingJobStatus"] == "Completed", baseline_job.get("FailureReason")
    baseline = monitor.latest_baselining_job.suggested_constraints().body_dict
    assert {"pre_training_bias_metrics", "post_training_bias_metrics"} <= set(baseline)
    schedule = f"bias-{uuid.uuid4().hex[:8]}"
    monitor.create_monitoring_schedule(
        endpoint_input=env["endpoint"], ground_truth_input=f"s3://{env['name']}/truth",
        output_s3_uri=f"s3://{env['name']}/bias-reports", monitor_schedule_name=schedule,
        schedule_cron_expression=CronExpressionGenerator.now(), data_analysis_start_time="-PT1H", data_analysis_end_time="-PT0H")
    definition = sm.describe_model_bias_job_definition(JobDefinitionName=monitor.job_definition_name)
    assert definition["ModelBiasJobInput"]["GroundTruthS3Input"] == {"S3Uri": f"s3://{env['name']}/truth"}
    assert definition["ModelBiasBaselineConfig"] == {"BaseliningJobName": monitor.latest_baselining_job_name}
    assert definition["ModelBiasJobInput"]["EndpointInput"]["ProbabilityThresholdAttribute"] == 0.5

    run = wait_execution(sm, schedule)
    assert run["MonitoringExecutionStatus"] in ("Completed", "CompletedWithViolations"), run.get("FailureReason")
    assert run["MonitoringType"] == "ModelBias" and run["EndpointName"] == env["endpoint"]
    assert run["MonitoringJobDefinitionName"] == monitor.job_definition_name
    job, out = _report(env, run)
    assert "sagemaker-clarify-processing" in job["AppSpecification"]["ImageUri"]
    assert job["Environment"]["analysis_type"] == "MODEL_BIAS"
    assert {i["InputName"] for i in job["ProcessingInputs"]} >= {"analysis_config", "constraints", "groundtruth_input_1"}
    analysis = s3_json(env, f"{out}/analysis.json")
    window = env["window"]
    d = (window["male"] == 1).to_numpy()
    label = (window["old"] == 1).to_numpy()
    predicted = (window["score"] > 0.5).to_numpy()
    pre, post = _facet(analysis["pre_training_bias_metrics"]), _facet(analysis["post_training_bias_metrics"])
    assert pre["CI"] == pytest.approx(((~d).sum() - d.sum()) / REQUESTS)
    assert pre["DPL"] == pytest.approx(label[~d].mean() - label[d].mean())
    assert post["DPPL"] == pytest.approx(predicted[~d].mean() - predicted[d].mean())
    accuracy = predicted == label
    assert post["AD"] == pytest.approx(accuracy[~d].mean() - accuracy[d].mean())
    violations = s3_json(env, f"{out}/constraint_violations.json")["violations"]
    assert (run["MonitoringExecutionStatus"] == "CompletedWithViolations") == bool(violations)
    base = {n: _number(v) for n, v in {**_facet(baseline["pre_training_bias_metrics"]),
                                       **_facet(baseline["post_training_bias_metrics"])}.items()}
    now = {n: _number(v) for n, v in {**pre, **post}.items()}
    ideal = {"DI": 1.0}
    worse = sorted(n for n, limit in base.items() if limit is not None and now.get(n) is not None
                   and abs(now[n] - ideal.get(n, 0.0)) > abs(limit - ideal.get(n, 0.0)))
    assert sorted(v["metric_name"] for v in violations) == worse
    assert all(v["constraint_check_type"] == "bias_drift_check" and v["facet"] == "male" for v in violations)
    executions = monitor.list_executions()
    assert len(executions) == 1 and executions[0].constraint_violations().body_dict["violations"] == violations
    assert _shadow_endpoints(sm) == []
    cw = env["server"].client("cloudwatch")
    deadline = time.monotonic() + 10
    names: set[str] = set()
    while time.monotonic() < deadline and "bias_metric_DPPL" not in names:
        listed = cw.list_metrics(Namespace="aws/sagemaker/Endpoints/bias-metrics",
                                 Dimensions=[{"Name": "MonitoringSchedule", "Value": schedule}])["Metrics"]
        names = {m["MetricName"] for m in listed}
        time.sleep(0.2)
    assert {"bias_metric_CI", "bias_metric_DPPL"} <= names
    with pytest.raises(ClientError) as exc:
        sm.delete_model_bias_job_definition(JobDefinitionName=monitor.job_definition_name)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    monitor.delete_monitoring_schedule()
    assert sm.list_model_bias_job_definitions(NameContains=definition["JobDefinitionName"])["JobDefinitionSummaries"] == []


def test_model_explainability_schedule_explains_the_captured_requests(env) -> None:  # type: ignore[no-untyped-def]
    from sagemaker.model_monitor import CronExpressionGenerator, ModelExplainabilityMonitor

    clarify, sm = env["clarify"], env["sm"]
    monitor = ModelExplainabilityMonitor(role=env["role"], instance_count=1, instance_type="ml.m5.xlarge",
                                         max_runtime_in_seconds=900, sagemaker_session=env["session"])
    shap_baseline = [env["data"][FEATURES].mean().round(4).tolist()]
    shap_config = clarify.SHAPConfig(baseline=shap_baseline, num_samples=64, agg_method="mean_abs",
                                     save_local_shap_values=False, seed=1)
    monitor.suggest_baseline(data_config=env["data_config"], explainability_config=shap_config, model_config=env["model_config"])
    baseline_job = wait_job(sm, monitor.latest_baselining_job_name)
    assert baseline_job["ProcessingJobStatus"] == "Completed", baseline_job.get("FailureReason")
    constraints = monitor.latest_baselining_job.suggested_constraints()
    assert list(constraints.body_dict["explanations"]["kernel_shap"]["label0"]["global_shap_values"]) == FEATURES
    schedule = f"explain-{uuid.uuid4().hex[:8]}"
    monitor.create_monitoring_schedule(
        endpoint_input=env["endpoint"], output_s3_uri=f"s3://{env['name']}/explain-reports", constraints=constraints,
        monitor_schedule_name=schedule, schedule_cron_expression=CronExpressionGenerator.now(),
        data_analysis_start_time="-PT1H", data_analysis_end_time="-PT0H")
    definition = sm.describe_model_explainability_job_definition(JobDefinitionName=monitor.job_definition_name)
    assert definition["ModelExplainabilityBaselineConfig"]["ConstraintsResource"]["S3Uri"].endswith("analysis.json")
    config = s3_json(env, definition["ModelExplainabilityAppSpecification"]["ConfigUri"])
    assert config["headers"] == FEATURES and "shap" in config["methods"]

    run = wait_execution(sm, schedule)
    assert run["MonitoringExecutionStatus"] in ("Completed", "CompletedWithViolations"), run.get("FailureReason")
    assert run["MonitoringType"] == "ModelExplainability"
    job, out = _report(env, run)
    assert job["Environment"]["analysis_type"] == "MODEL_EXPLAINABILITY"
    explained = s3_json(env, f"{out}/analysis.json")["explanations"]["kernel_shap"]["label0"]
    assert list(explained["global_shap_values"]) == FEATURES
    booster = env["booster"]
    assert explained["expected_value"] == pytest.approx(float(booster.predict(xgb.DMatrix(np.array(shap_baseline)))[0]),
                                                        abs=1e-5)
    assert max(explained["global_shap_values"].values()) > 0
    violations = s3_json(env, f"{out}/constraint_violations.json")["violations"]
    assert (run["MonitoringExecutionStatus"] == "CompletedWithViolations") == bool(violations)
    assert all(v["constraint_check_type"] == "feature_attribution_drift_check" for v in violations)
    assert _shadow_endpoints(sm) == []  # the job's shadow endpoint is gone
    listed = sm.list_model_explainability_job_definitions(EndpointName=env["endpoint"])["JobDefinitionSummaries"]
    assert monitor.job_definition_name in [d["MonitoringJobDefinitionName"] for d in listed]
    monitor.delete_monitoring_schedule()


def test_job_definitions_answer_as_the_api_says(env) -> None:  # type: ignore[no-untyped-def]
    sm, bucket = env["sm"], env["name"]
    common = {
        "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
        "RoleArn": env["role"],
    }
    name = f"mb-{uuid.uuid4().hex[:8]}"
    spec = {
        "ModelBiasAppSpecification": {"ImageUri": CLARIFY, "ConfigUri": f"s3://{bucket}/cfg/bias.json"},
        "ModelBiasJobInput": {"EndpointInput": {"EndpointName": env["endpoint"], "LocalPath": "/opt/ml/processing/input/endpoint"},
                              "GroundTruthS3Input": {"S3Uri": f"s3://{bucket}/truth"}},
        "ModelBiasJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{bucket}/mb", "LocalPath": "/opt/ml/processing/output"}}]},
        **common,
    }
    arn = sm.create_model_bias_job_definition(JobDefinitionName=name, Tags=[{"Key": "k", "Value": "v"}], **spec)["JobDefinitionArn"]
    assert arn.endswith(f":model-bias-job-definition/{name}")
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    with pytest.raises(ClientError) as exc:
        sm.create_model_bias_job_definition(JobDefinitionName=name, **spec)
    assert exc.value.response["Error"]["Code"] == "ResourceInUse"
    described = sm.describe_model_bias_job_definition(JobDefinitionName=name)
    assert described["JobDefinitionArn"] == arn and described["ModelBiasAppSpecification"]["ConfigUri"] == f"s3://{bucket}/cfg/bias.json"
    listed = sm.list_model_bias_job_definitions(NameContains=name, EndpointName=env["endpoint"])["JobDefinitionSummaries"]
    assert [(d["MonitoringJobDefinitionName"], d["EndpointName"]) for d in listed] == [(name, env["endpoint"])]
    assert sm.list_model_explainability_job_definitions(NameContains=name)["JobDefinitionSummaries"] == []
    no_truth = {**spec, "ModelBiasJobInput": {**spec["ModelBiasJobInput"], "GroundTruthS3Input": {}}}
    with pytest.raises(ClientError) as exc:
        sm.create_model_bias_job_definition(JobDefinitionName=f"{name}-x", **no_truth)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        sm.create_monitoring_schedule(MonitoringScheduleName=f"{name}-s", MonitoringScheduleConfig={
            "MonitoringJobDefinitionName": name, "MonitoringType": "ModelExplainability"})
    assert exc.value.response["Error"]["Code"] == "ValidationException"  # no explainability definition of that name
    schedule = f"{name}-hourly"
    sm.create_monitoring_schedule(MonitoringScheduleName=schedule, MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": name,
        "MonitoringType": "ModelBias"})
    out = sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)
    assert out["MonitoringScheduleStatus"] == "Scheduled" and out["MonitoringType"] == "ModelBias"
    assert [s["MonitoringScheduleName"] for s in sm.list_monitoring_schedules(
        MonitoringTypeEquals="ModelBias", NameContains=name)["MonitoringScheduleSummaries"]] == [schedule]
    sm.delete_monitoring_schedule(MonitoringScheduleName=schedule)
    sm.delete_model_bias_job_definition(JobDefinitionName=name)
    with pytest.raises(ClientError) as exc:
        sm.describe_model_bias_job_definition(JobDefinitionName=name)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFound"
    explain = f"me-{uuid.uuid4().hex[:8]}"
    sm.create_model_explainability_job_definition(
        JobDefinitionName=explain, ModelExplainabilityAppSpecification={"ImageUri": CLARIFY, "ConfigUri": f"s3://{bucket}/cfg/e.json"},
        ModelExplainabilityJobInput={"EndpointInput": {"EndpointName": env["endpoint"], "LocalPath": "/opt/ml/processing/input/endpoint"}},
        ModelExplainabilityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{bucket}/me",
                                                                                "LocalPath": "/opt/ml/processing/output"}}]},
        **common)
    assert sm.describe_model_explainability_job_definition(JobDefinitionName=explain)["JobDefinitionName"] == explain
    sm.delete_model_explainability_job_definition(JobDefinitionName=explain)


def test_cloudformation_creates_both_clarify_job_definitions(env) -> None:  # type: ignore[no-untyped-def]
    server, sm, bucket = env["server"], env["sm"], env["name"]
    cf = server.client("cloudformation")
    stack = f"cmon-{uuid.uuid4().hex[:8]}"
    output = {"MonitoringOutputs": [{"S3Output": {"S3Uri": f"s3://{bucket}/cfn", "LocalPath": "/opt/ml/processing/output"}}]}
    resources = {"ClusterConfig": {"InstanceCount": {"Ref": "Count"}, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}}
    endpoint_input = {"EndpointName": {"Ref": "Endpoint"}, "LocalPath": "/opt/ml/processing/input/endpoint"}
    template = {
        "Parameters": {"Endpoint": {"Type": "String"}, "Role": {"Type": "String"}, "Count": {"Type": "Number", "Default": "1"}},
        "Resources": {
            "Bias": {"Type": "AWS::SageMaker::ModelBiasJobDefinition", "Properties": {
                "ModelBiasAppSpecification": {"ImageUri": CLARIFY, "ConfigUri": f"s3://{bucket}/cfg/bias.json"},
                "ModelBiasJobInput": {"EndpointInput": {**endpoint_input, "ProbabilityThresholdAttribute": "0.5"},
                                      "GroundTruthS3Input": {"S3Uri": f"s3://{bucket}/truth"}},
                "ModelBiasJobOutputConfig": output, "JobResources": resources, "RoleArn": {"Ref": "Role"},
                "StoppingCondition": {"MaxRuntimeInSeconds": 1800}, "Tags": [{"Key": "owner", "Value": "cfn"}]}},
            "Explainability": {"Type": "AWS::SageMaker::ModelExplainabilityJobDefinition", "Properties": {
                "JobDefinitionName": f"{stack}-explain",
                "ModelExplainabilityAppSpecification": {"ImageUri": CLARIFY, "ConfigUri": f"s3://{bucket}/cfg/e.json"},
                "ModelExplainabilityJobInput": {"EndpointInput": endpoint_input},
                "ModelExplainabilityJobOutputConfig": output, "JobResources": resources, "RoleArn": {"Ref": "Role"}}},
        },
        "Outputs": {"Bias": {"Value": {"Ref": "Bias"}}, "BiasName": {"Value": {"Fn::GetAtt": ["Bias", "JobDefinitionName"]}},
                    "Explain": {"Value": {"Fn::GetAtt": ["Explainability", "JobDefinitionArn"]}},
                    "Created": {"Value": {"Fn::GetAtt": ["Explainability", "CreationTime"]}}},
    }
    cf.create_stack(StackName=stack, TemplateBody=json.dumps(template), Parameters=[
        {"ParameterKey": "Endpoint", "ParameterValue": env["endpoint"]}, {"ParameterKey": "Role", "ParameterValue": env["role"]}])
    cf.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}
    assert outputs["Bias"].endswith(f":model-bias-job-definition/{outputs['BiasName'].lower()}")  # ARNs are lower case
    assert outputs["Explain"].endswith(f":model-explainability-job-definition/{stack}-explain") and outputs["Created"]
    bias = sm.describe_model_bias_job_definition(JobDefinitionName=outputs["BiasName"])
    assert bias["ModelBiasJobInput"]["EndpointInput"]["ProbabilityThresholdAttribute"] == 0.5
    assert bias["JobResources"]["ClusterConfig"]["InstanceCount"] == 1
    assert sm.list_tags(ResourceArn=outputs["Bias"])["Tags"] == [{"Key": "owner", "Value": "cfn"}]
    cf.delete_stack(StackName=stack)
    cf.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert sm.list_model_bias_job_definitions(NameContains=outputs["BiasName"])["JobDefinitionSummaries"] == []
    assert sm.list_model_explainability_job_definitions(NameContains=stack)["JobDefinitionSummaries"] == []
