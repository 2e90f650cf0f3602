"""Tuning and Lambda steps, built with the unmodified SageMaker Python SDK and run on a live
Seedbed: a HyperparameterTuner over the built-in XGBoost image on the abalone data (its best model
feeds a model step), and a LambdaStep whose outputs drive a condition and a second Lambda step."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import datetime

import pytest

from tests.conftest import REPO, LiveServer
from tests.integration.test_sagemaker_pipelines import setup, steps_of, wait  # noqa: F401 - the fixture

pytest.importorskip("sagemaker")

DATA = REPO / "src" / "seedbed" / "data" / "abalone-dataset.csv"


def _xgboost_csv(text: str) -> tuple[str, str]:
    """Abalone rows as the XGBoost algorithm reads CSV: the label (rings) first, no header; the
    sex column dropped. Returns (train, validation)."""
    rows = []
    for line in text.strip().splitlines():
        fields = line.split(",")
        rows.append(",".join([fields[-1], *fields[1:-1]]))
    cut = len(rows) * 4 // 5
    return "\n".join(rows[:cut]) + "\n", "\n".join(rows[cut:]) + "\n"


def test_tuning_step_runs_trials_in_parallel_and_feeds_the_best_model(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    import sagemaker
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionLessThanOrEqualTo
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.steps import TuningStep

    session, role = setup
    sm, s3 = server.client("sagemaker"), server.client("s3")
    bucket = session.default_bucket()
    train, validation = _xgboost_csv(DATA.read_text())
    s3.put_object(Bucket=bucket, Key="tuning-it/train/train.csv", Body=train.encode())
    s3.put_object(Bucket=bucket, Key="tuning-it/validation/validation.csv", Body=validation.encode())
    pipeline_session = PipelineSession(boto_session=session.boto_session, sagemaker_client=session.sagemaker_client,
                                       default_bucket=bucket)
    image = sagemaker.image_uris.retrieve(framework="xgboost", region=server.region, version="1.7-1")
    estimator = Estimator(image_uri=image, instance_type="ml.m5.xlarge", instance_count=1, role=role,
                          output_path=f"s3://{bucket}/tuning-it/models", sagemaker_session=pipeline_session)
    estimator.set_hyperparameters(objective="reg:squarederror", num_round=20, subsample=0.8)
    tuner = HyperparameterTuner(
        estimator, objective_metric_name="validation:rmse", objective_type="Minimize",
        hyperparameter_ranges={"eta": ContinuousParameter(0.1, 0.5), "max_depth": IntegerParameter(2, 6)},
        max_jobs=3, max_parallel_jobs=2, strategy="Random",
    )
    step_tune = TuningStep(name="TuneAbalone", step_args=tuner.fit(inputs={
        "train": TrainingInput(f"s3://{bucket}/tuning-it/train", content_type="text/csv"),
        "validation": TrainingInput(f"s3://{bucket}/tuning-it/validation", content_type="text/csv"),
    }))
    best = Model(image_uri=image, model_data=step_tune.get_top_model_s3_uri(top_k=0, s3_bucket=bucket, prefix="tuning-it/models"),
                 role=role, sagemaker_session=pipeline_session)
    step_model = ModelStep(name="BestAbaloneModel", step_args=best.create(instance_type="ml.m5.large"))
    step_check = ConditionStep(
        name="RmseGoodEnough",
        conditions=[ConditionLessThanOrEqualTo(
            left=step_tune.properties.BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value, right=4.0)],
        if_steps=[step_model],
        else_steps=[FailStep(name="RmseTooHigh", error_message="the best validation RMSE is above 4")],
    )
    pipeline = Pipeline(name=f"TuningIT-{uuid.uuid4().hex[:6]}", steps=[step_tune, step_check], sagemaker_session=pipeline_session)
    pipeline.upsert(role_arn=role)
    execution = pipeline.start()
    done = wait(sm, execution.arn, timeout=420)
    steps = steps_of(sm, execution.arn)
    assert done["PipelineExecutionStatus"] == "Succeeded", (done.get("FailureReason"), {k: v.get("FailureReason") for k, v in steps.items()})
    tuning_name = steps["TuneAbalone"]["Metadata"]["TuningJob"]["Arn"].rsplit("/", 1)[-1]

    trials = [sm.describe_training_job(TrainingJobName=s["TrainingJobName"])
              for s in sm.list_training_jobs(NameContains=tuning_name, MaxResults=100)["TrainingJobSummaries"]]
    assert len(trials) == 3 and all(t["TrainingJobStatus"] == "Completed" for t in trials)
    tuned = [(float(t["HyperParameters"]["eta"]), int(t["HyperParameters"]["max_depth"])) for t in trials]
    assert all(0.1 <= eta <= 0.5 and 2 <= depth <= 6 for eta, depth in tuned) and len(set(tuned)) == 3
    # At most two trials ran at once, and two did overlap.
    spans = [(t["TrainingStartTime"], t["TrainingEndTime"]) for t in trials]
    overlaps = [sum(1 for s, e in spans if s <= moment < e) for moment, _ in spans]
    assert max(overlaps) == 2

    rmse = {t["TrainingJobName"]: next(m["Value"] for m in t["FinalMetricDataList"] if m["MetricName"] == "validation:rmse")
            for t in trials}
    best_name = min(rmse, key=rmse.get)
    model_name = steps["BestAbaloneModel-CreateModel"]["Metadata"]["Model"]["Arn"].rsplit("/", 1)[-1]
    model = sm.describe_model(ModelName=model_name)
    assert model["PrimaryContainer"]["ModelDataUrl"] == f"s3://{bucket}/tuning-it/models/{best_name}/output/model.tar.gz"
    assert s3.head_object(Bucket=bucket, Key=f"tuning-it/models/{best_name}/output/model.tar.gz")["ContentLength"] > 0
    assert isinstance(trials[0]["TrainingStartTime"], datetime)


HANDLER = '''
def handler(event, context):
    if event.get("fail"):
        raise RuntimeError("the lambda was asked to fail")
    rows = int(event["rows"])
    return {"statusCode": 200, "doubled": rows * 2, "message": f"{event['label']} x{rows * 2}"}
'''

ECHO = '''
def handler(event, context):
    return {"echo": "seen: " + event["message"]}
'''

LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def _function(server: LiveServer, name: str, role: str, code: str) -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("app.py", code)
    return server.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": buf.getvalue()}, Timeout=30,
    )["FunctionArn"]


def test_lambda_step_outputs_drive_a_condition_and_a_later_step(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from sagemaker.lambda_helper import Lambda
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionGreaterThan
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
    from sagemaker.workflow.parameters import ParameterBoolean, ParameterInteger
    from sagemaker.workflow.pipeline import Pipeline

    session, role = setup
    sm, iam = server.client("sagemaker"), server.client("iam")
    suffix = uuid.uuid4().hex[:6]
    fn_role = iam.create_role(RoleName=f"PipelineLambda-{suffix}", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
    double_arn = _function(server, f"pipeline-double-{suffix}", fn_role, HANDLER)
    echo_arn = _function(server, f"pipeline-echo-{suffix}", fn_role, ECHO)

    rows = ParameterInteger(name="Rows", default_value=7)
    fail = ParameterBoolean(name="Fail", default_value=False)
    doubled = LambdaOutput(output_name="doubled", output_type=LambdaOutputTypeEnum.Integer)
    message = LambdaOutput(output_name="message", output_type=LambdaOutputTypeEnum.String)
    step_double = LambdaStep(name="Double", lambda_func=Lambda(function_arn=double_arn, session=session),
                             inputs={"rows": rows, "label": "abalone", "fail": fail}, outputs=[doubled, message])
    step_echo = LambdaStep(name="Echo", lambda_func=Lambda(function_arn=echo_arn, session=session),
                           inputs={"message": step_double.properties.Outputs["message"]},
                           outputs=[LambdaOutput(output_name="echo", output_type=LambdaOutputTypeEnum.String)])
    step_check = ConditionStep(
        name="BigEnough", conditions=[ConditionGreaterThan(left=step_double.properties.Outputs["doubled"], right=10)],
        if_steps=[step_echo],
        else_steps=[FailStep(name="TooSmall", error_message=Join(on=" ", values=["too small:", step_double.properties.Outputs["message"]]))],
    )
    pipeline = Pipeline(name=f"LambdaIT-{suffix}", parameters=[rows, fail], steps=[step_double, step_check], sagemaker_session=session)
    pipeline.upsert(role_arn=role)

    execution = pipeline.start()
    done = wait(sm, execution.arn)
    steps = steps_of(sm, execution.arn)
    assert done["PipelineExecutionStatus"] == "Succeeded", (done.get("FailureReason"), {k: v.get("FailureReason") for k, v in steps.items()})
    assert steps["Double"]["Metadata"]["Lambda"]["Arn"] == double_arn
    outputs = {p["Name"]: p["Value"] for p in steps["Double"]["Metadata"]["Lambda"]["OutputParameters"]}
    assert outputs == {"doubled": "14", "message": "abalone x14"}
    assert steps["BigEnough"]["Metadata"]["Condition"]["Outcome"] == "True"
    assert steps["Echo"]["Metadata"]["Lambda"]["OutputParameters"] == [{"Name": "echo", "Value": "seen: abalone x14"}]

    small = pipeline.start(parameters={"Rows": 3})
    done = wait(sm, small.arn)
    assert done["PipelineExecutionStatus"] == "Failed" and "too small: abalone x6" in done["FailureReason"]
    assert "Echo" not in steps_of(sm, small.arn)

    broken = pipeline.start(parameters={"Fail": True})
    done = wait(sm, broken.arn)
    assert done["PipelineExecutionStatus"] == "Failed"
    reason = steps_of(sm, broken.arn)["Double"]["FailureReason"]
    assert "the lambda was asked to fail" in reason
