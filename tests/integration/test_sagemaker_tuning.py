"""Hyperparameter tuning jobs through the API, driven by the unmodified SageMaker Python SDK
(``HyperparameterTuner.fit``, ``best_training_job``, analytics) and boto3 on a live Seedbed: the
built-in XGBoost image on the abalone data, Bayesian and Grid strategies, a completion criterion,
stopping, and the errors AWS gives for requests it refuses."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveServer
from tests.integration.test_sagemaker_pipeline_steps import DATA, _xgboost_csv
from tests.integration.test_sagemaker_pipelines import setup  # noqa: F401 - the fixture

pytest.importorskip("sagemaker")


@pytest.fixture(scope="module")
def data(server: LiveServer, setup) -> dict[str, Any]:  # type: ignore[no-untyped-def]  # noqa: F811
    import sagemaker

    session, role = setup
    bucket = session.default_bucket()
    train, validation = _xgboost_csv(DATA.read_text())
    s3 = server.client("s3")
    s3.put_object(Bucket=bucket, Key="hpo-it/train/train.csv", Body=train.encode())
    s3.put_object(Bucket=bucket, Key="hpo-it/validation/validation.csv", Body=validation.encode())
    image = sagemaker.image_uris.retrieve(framework="xgboost", region=server.region, version="1.7-1")
    return {"session": session, "role": role, "bucket": bucket, "image": image}


def _estimator(data: dict[str, Any]):  # type: ignore[no-untyped-def]
    from sagemaker.estimator import Estimator

    estimator = Estimator(image_uri=data["image"], instance_type="ml.m5.xlarge", instance_count=1, role=data["role"],
                          output_path=f"s3://{data['bucket']}/hpo-it/models", sagemaker_session=data["session"])
    estimator.set_hyperparameters(objective="reg:squarederror", num_round=15)
    return estimator


def _inputs(data: dict[str, Any]) -> dict[str, Any]:
    from sagemaker.inputs import TrainingInput

    return {"train": TrainingInput(f"s3://{data['bucket']}/hpo-it/train", content_type="text/csv"),
            "validation": TrainingInput(f"s3://{data['bucket']}/hpo-it/validation", content_type="text/csv")}


def _request(data: dict[str, Any], name: str, config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    definition = {
        "StaticHyperParameters": {"objective": "reg:squarederror", "num_round": "10"},
        "AlgorithmSpecification": {"TrainingImage": data["image"], "TrainingInputMode": "File"},
        "RoleArn": data["role"],
        "InputDataConfig": [{"ChannelName": c, "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{data['bucket']}/hpo-it/{c}"}}} for c in ("train", "validation")],
        "OutputDataConfig": {"S3OutputPath": f"s3://{data['bucket']}/hpo-it/models"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    base = {"Strategy": "Random", "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
            "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}]}}
    return {"HyperParameterTuningJobName": name, "HyperParameterTuningJobConfig": {**base, **config},
            "TrainingJobDefinition": {**definition, **extra}}


def _wait(sm, name: str, timeout: float = 300) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        out = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if out["HyperParameterTuningJobStatus"] in ("Completed", "Failed", "Stopped"):
            return out
        assert time.monotonic() < deadline, f"tuning job {name} still {out['HyperParameterTuningJobStatus']}"
        time.sleep(0.5)


def test_sdk_tuner_fit_runs_bayesian_trials_and_finds_the_best(server: LiveServer, data) -> None:  # type: ignore[no-untyped-def]
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

    sm = server.client("sagemaker")
    tuner = HyperparameterTuner(
        _estimator(data), objective_metric_name="validation:rmse", objective_type="Minimize",
        hyperparameter_ranges={"eta": ContinuousParameter(0.05, 0.5), "max_depth": IntegerParameter(2, 6)},
        max_jobs=5, max_parallel_jobs=2, strategy="Bayesian", base_tuning_job_name="abalone-hpo",
    )
    tuner.fit(inputs=_inputs(data), wait=True)
    name = tuner.latest_tuning_job.name
    described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 5
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 5, "Pending": 0, "Failed": 0}

    frame = tuner.analytics().dataframe()
    assert len(frame) == 5 and frame["FinalObjectiveValue"].notna().all()
    assert frame["eta"].between(0.05, 0.5).all() and frame["max_depth"].between(2, 6).all()
    best = tuner.best_training_job()
    assert best == frame.sort_values("FinalObjectiveValue").iloc[0]["TrainingJobName"]
    assert described["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == frame["FinalObjectiveValue"].min()
    assert 0 < frame["FinalObjectiveValue"].min() < 4

    # The training curve went to CloudWatch, where the SDK's TrainingJobAnalytics reads it.
    from sagemaker.analytics import TrainingJobAnalytics

    curve = TrainingJobAnalytics(best, metric_names=["validation:rmse"], sagemaker_session=data["session"]).dataframe()
    assert len(curve) >= 1 and set(curve["metric_name"]) == {"validation:rmse"} and (curve["value"] > 0).all()

    # The SDK re-attaches to the best trial (Estimator.attach reads SageMaker's describe defaults).
    attached = tuner.best_estimator()
    assert attached.latest_training_job.name == best and attached.model_data.endswith(f"/{best}/output/model.tar.gz")

    again = HyperparameterTuner.attach(name, sagemaker_session=data["session"])
    assert again.best_training_job() == best and again.max_jobs == 5 and again.strategy == "Bayesian"

    trial = sm.describe_training_job(TrainingJobName=best)
    assert trial["TuningJobArn"] == described["HyperParameterTuningJobArn"]
    assert trial["HyperParameters"]["_tuning_objective_metric"] == "validation:rmse"  # added by SageMaker
    assert trial["ModelArtifacts"]["S3ModelArtifacts"].endswith("/output/model.tar.gz")
    # At most two trials ran at once.
    spans = [(t["TrainingStartTime"], t["TrainingEndTime"]) for t in sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=100)["TrainingJobSummaries"]]
    assert max(sum(1 for s, e in spans if s <= moment < e) for moment, _ in spans) <= 2

    ranked = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="FinalObjectiveMetricValue", SortOrder="Ascending", MaxResults=2)
    assert ranked["TrainingJobSummaries"][0]["TrainingJobName"] == best and "NextToken" in ranked
    listed = sm.list_hyper_parameter_tuning_jobs(NameContains="abalone-hpo")["HyperParameterTuningJobSummaries"]
    assert name in [j["HyperParameterTuningJobName"] for j in listed]
    assert next(j for j in listed if j["HyperParameterTuningJobName"] == name)["Strategy"] == "Bayesian"


def test_grid_search_runs_every_combination_once(server: LiveServer, data) -> None:  # type: ignore[no-untyped-def]
    sm, events, logs = server.client("sagemaker"), server.client("events"), server.client("logs")
    name = f"grid-{uuid.uuid4().hex[:8]}"
    group = f"/aws/events/{name}"
    logs.create_log_group(logGroupName=group)
    events.put_rule(Name=name, EventPattern=json.dumps({
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker HyperParameter Tuning Job State Change"],
        "detail": {"HyperParameterTuningJobName": [name]}}))
    events.put_targets(Rule=name, Targets=[{"Id": "log", "Arn": f"arn:aws:logs:{server.region}:000000000000:log-group:{group}"}])
    config = {"Strategy": "Grid", "ResourceLimits": {"MaxParallelTrainingJobs": 2},
              "ParameterRanges": {"CategoricalParameterRanges": [{"Name": "max_depth", "Values": ["2", "4"]},
                                                                 {"Name": "eta", "Values": ["0.2", "0.4"]}]}}
    sm.create_hyper_parameter_tuning_job(**_request(data, name, config))
    described = _wait(sm, name)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)["TrainingJobSummaries"]
    combos = sorted((t["TunedHyperParameters"]["max_depth"], t["TunedHyperParameters"]["eta"]) for t in trials)
    assert combos == [("2", "0.2"), ("2", "0.4"), ("4", "0.2"), ("4", "0.4")]
    deadline = time.monotonic() + 30
    while len(seen := [json.loads(e["message"])["detail"]["HyperParameterTuningJobStatus"]
                       for e in logs.filter_log_events(logGroupName=group)["events"]]) < 2:
        assert time.monotonic() < deadline, seen
        time.sleep(0.25)
    assert seen == ["InProgress", "Completed"]


def test_target_objective_ends_the_search_early(server: LiveServer, data) -> None:  # type: ignore[no-untyped-def]
    sm = server.client("sagemaker")
    name = f"target-{uuid.uuid4().hex[:8]}"
    config = {"ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 1},
              "TuningJobCompletionCriteria": {"TargetObjectiveMetricValue": 100.0}}
    sm.create_hyper_parameter_tuning_job(**_request(data, name, config))
    described = _wait(sm, name)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 1  # the first trial already met the target


def test_stopping_a_tuning_job_stops_its_trials(server: LiveServer, data) -> None:  # type: ignore[no-untyped-def]
    sm = server.client("sagemaker")
    name = f"stop-{uuid.uuid4().hex[:8]}"
    request = _request(data, name, {"ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2}})
    request["TrainingJobDefinition"]["StaticHyperParameters"]["num_round"] = "100000"
    sm.create_hyper_parameter_tuning_job(**request)
    deadline = time.monotonic() + 60
    while not sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name, StatusEquals="InProgress")["TrainingJobSummaries"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    described = _wait(sm, name, timeout=60)
    assert described["HyperParameterTuningJobStatus"] == "Stopped"
    statuses = {t["TrainingJobStatus"] for t in sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name)["TrainingJobSummaries"]}
    assert statuses == {"Stopped"}
    with pytest.raises(ClientError) as again:
        sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert again.value.response["Error"]["Code"] == "ValidationException"
    sm.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    with pytest.raises(ClientError) as gone:
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFound"


@pytest.mark.parametrize(("config", "extra", "message"), [
    ({"Strategy": "Hyperband"}, {}, "Hyperband"),
    ({"Strategy": "Grid", "ResourceLimits": {"MaxParallelTrainingJobs": 1}}, {}, "only categorical"),
    ({"HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:nonsense"}}, {}, "not defined"),
    ({"ParameterRanges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.5", "MaxValue": "0.1"}]}}, {}, "MinValue"),
    ({}, {"StaticHyperParameters": {"eta": "0.3"}}, "both static and tunable"),
])
def test_requests_aws_refuses_are_refused(server: LiveServer, data, config, extra, message) -> None:  # type: ignore[no-untyped-def]
    sm = server.client("sagemaker")
    with pytest.raises(ClientError) as refused:
        sm.create_hyper_parameter_tuning_job(**_request(data, f"bad-{uuid.uuid4().hex[:8]}", config, **extra))
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert message in refused.value.response["Error"]["Message"]


def test_names_are_unique_and_unknown_jobs_are_not_found(server: LiveServer, data) -> None:  # type: ignore[no-untyped-def]
    sm = server.client("sagemaker")
    name = f"dup-{uuid.uuid4().hex[:8]}"
    sm.create_hyper_parameter_tuning_job(**_request(data, name, {"ResourceLimits": {"MaxNumberOfTrainingJobs": 1, "MaxParallelTrainingJobs": 1}}))
    with pytest.raises(ClientError) as twice:
        sm.create_hyper_parameter_tuning_job(**_request(data, name, {}))
    assert twice.value.response["Error"]["Code"] == "ResourceInUse"
    with pytest.raises(ClientError) as missing:
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="no-such-tuning-job")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
    assert _wait(sm, name)["HyperParameterTuningJobStatus"] == "Completed"


def test_warm_start_reports_the_best_over_parents_and_needs_them_ended(server: LiveServer, data) -> None:  # type: ignore[no-untyped-def]
    sm = server.client("sagemaker")
    parent, child = f"parent-{uuid.uuid4().hex[:8]}", f"child-{uuid.uuid4().hex[:8]}"
    one = {"ResourceLimits": {"MaxNumberOfTrainingJobs": 1, "MaxParallelTrainingJobs": 1}}
    sm.create_hyper_parameter_tuning_job(**_request(data, parent, one))
    warm = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent}], "WarmStartType": "IdenticalDataAndAlgorithm"}
    with pytest.raises(ClientError) as early:
        sm.create_hyper_parameter_tuning_job(**_request(data, child, {**one, "Strategy": "Bayesian"}), WarmStartConfig=warm)
    assert early.value.response["Error"]["Code"] == "ValidationException" and "terminal" in early.value.response["Error"]["Message"]
    first = _wait(sm, parent)["BestTrainingJob"]
    sm.create_hyper_parameter_tuning_job(**_request(data, child, {**one, "Strategy": "Bayesian"}), WarmStartConfig=warm)
    described = _wait(sm, child)
    own = described["BestTrainingJob"]
    assert own["TuningJobName"] == child and described["WarmStartConfig"] == warm
    best = min((first, own), key=lambda job: job["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert described["OverallBestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]


def test_several_definitions_share_the_search(server: LiveServer, data) -> None:  # type: ignore[no-untyped-def]
    sm = server.client("sagemaker")
    name = f"multi-{uuid.uuid4().hex[:8]}"
    base = _request(data, name, {})
    definition = base["TrainingJobDefinition"]
    objective = {"Type": "Minimize", "MetricName": "validation:rmse"}
    shallow = {**definition, "DefinitionName": "shallow", "TuningObjective": objective,
               "HyperParameterRanges": {"CategoricalParameterRanges": [{"Name": "max_depth", "Values": ["2"]}]}}
    deep = {**definition, "DefinitionName": "deep", "TuningObjective": objective,
            "HyperParameterRanges": {"CategoricalParameterRanges": [{"Name": "max_depth", "Values": ["5", "6"]}]}}
    config = {"Strategy": "Grid", "ResourceLimits": {"MaxParallelTrainingJobs": 2}}
    sm.create_hyper_parameter_tuning_job(HyperParameterTuningJobName=name, HyperParameterTuningJobConfig=config,
                                         TrainingJobDefinitions=[shallow, deep])
    assert _wait(sm, name)["HyperParameterTuningJobStatus"] == "Completed"
    trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)["TrainingJobSummaries"]
    ran = sorted((t["TrainingJobDefinitionName"], t["TunedHyperParameters"]["max_depth"]) for t in trials)
    assert ran == [("deep", "5"), ("deep", "6"), ("shallow", "2")]


EPOCHS = """
import json, os, time
hps = json.loads(os.environ["SM_HPS"])
x = float(hps["x"])
for epoch in range(60):
    print(f"epoch={epoch} loss={x + 1.0 / (epoch + 1)}", flush=True)
    time.sleep(0.01 if x < 1 else 0.2)
"""


def test_early_stopping_stops_a_trial_worse_than_the_median(server: LiveServer, data) -> None:  # type: ignore[no-untyped-def]
    import io
    import tarfile

    sm, s3 = server.client("sagemaker"), server.client("s3")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("train.py")
        info.size = len(EPOCHS.encode())
        tar.addfile(info, io.BytesIO(EPOCHS.encode()))
    s3.put_object(Bucket=data["bucket"], Key="hpo-it/epochs/source.tar.gz", Body=buf.getvalue())
    name = f"early-{uuid.uuid4().hex[:8]}"
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={
            "Strategy": "Grid", "ResourceLimits": {"MaxParallelTrainingJobs": 1}, "TrainingJobEarlyStoppingType": "Auto",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ParameterRanges": {"CategoricalParameterRanges": [{"Name": "x", "Values": ["0.1", "5.0"]}]}},
        TrainingJobDefinition={
            "StaticHyperParameters": {"sagemaker_program": "train.py",
                                      "sagemaker_submit_directory": f"s3://{data['bucket']}/hpo-it/epochs/source.tar.gz"},
            "AlgorithmSpecification": {
                "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                "TrainingInputMode": "File", "MetricDefinitions": [{"Name": "loss", "Regex": "loss=([-0-9.eE+]+)"}]},
            "RoleArn": data["role"], "OutputDataConfig": {"S3OutputPath": f"s3://{data['bucket']}/hpo-it/epochs-out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600}})
    described = _wait(sm, name, timeout=120)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    trials = {t["TunedHyperParameters"]["x"]: t for t in sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name)["TrainingJobSummaries"]}
    assert trials["0.1"]["TrainingJobStatus"] == "Completed"
    # The second trial's average loss was above the first's over the same epochs: stopped long before
    # its 60 epochs (12 s), and its last loss still counts.
    assert trials["5.0"]["TrainingJobStatus"] == "Stopped" and trials["5.0"]["ObjectiveStatus"] == "Succeeded"
    assert (trials["5.0"]["TrainingEndTime"] - trials["5.0"]["CreationTime"]).total_seconds() < 10
    assert described["BestTrainingJob"]["TunedHyperParameters"] == {"x": "0.1"}
