"""``Std:JsonGet`` paths as the SDK writes them (property files and ``@step`` delayed returns), and
the Tuning step's trials: sampled ranges, at most MaxParallelTrainingJobs at once, best first."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from seedbed.services.sagemaker.pipelines import definition as defn
from tests.unit.sagemaker_pipelines.conftest import World

DOCUMENT = {"Result": {"rows": 6, "values": [0, 1, {"deep": "yes"}], "odd key": 1, "none": None},
            "regression_metrics": {"mse": {"value": 2.5}}}


@pytest.mark.parametrize(("path", "expected"), [
    ("regression_metrics.mse.value", 2.5),          # a property file path
    ("Result['rows']", 6),                          # DelayedReturn["rows"]
    ("Result['values'][2]['deep']", "yes"),         # DelayedReturn["values"][2]["deep"]
    ("Result[\"odd key\"]", 1),
    ("$.Result.rows", 6),
    ("Result['none']", None),                       # a None the function returned
    ("Result.values[-1].deep", "yes"),              # anything richer: JMESPath
    ("length(Result.values)", 3),
])
def test_json_get_paths(path: str, expected: Any) -> None:
    assert defn.json_get(DOCUMENT, path) == expected


@pytest.mark.parametrize("path", ["Result['missing']", "Result['values'][9]", "Result.nothing", "Result[?"])
def test_json_get_reports_what_it_cannot_find(path: str) -> None:
    with pytest.raises(defn.DefinitionError, match="Std:JsonGet"):
        defn.json_get(DOCUMENT, path)


def _tuning_definition(role: str) -> dict[str, Any]:
    return {"Version": "2020-12-01", "Parameters": [], "Steps": [{
        "Name": "Tune", "Type": "Tuning", "Arguments": {
            "HyperParameterTuningJobConfig": {
                "Strategy": "Bayesian", "ResourceLimits": {"MaxNumberOfTrainingJobs": 5, "MaxParallelTrainingJobs": 2},
                "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
                "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5", "ScalingType": "Auto"}],
                                    "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "6"}],
                                    "CategoricalParameterRanges": []},
            },
            "TrainingJobDefinition": {
                "StaticHyperParameters": {"num_round": "10"}, "RoleArn": role,
                "OutputDataConfig": {"S3OutputPath": "s3://sagemaker-us-east-1-000000000000/tune"},
                "StoppingCondition": {"MaxRuntimeInSeconds": 600},
                "HyperParameterTuningResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
                "AlgorithmSpecification": {"TrainingInputMode": "File",
                                           "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"},
                "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/t"}}}],
            },
        },
    }]}


def test_tuning_step_runs_trials_in_parallel_and_orders_them_best_first(world: World) -> None:
    async def main() -> None:
        await world.setup()
        active, peak = 0, 0
        original = world.jobs.wait

        async def slow_wait(kind: str, name: str, region: str, account: str) -> dict[str, Any]:
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.05)
            try:
                return await original(kind, name, region, account)
            finally:
                active -= 1

        world.jobs.wait = slow_wait  # type: ignore[method-assign]
        await world.create("Tuned", json.dumps(_tuning_definition(world.role)))
        done = await world.run("Tuned")
        assert done["PipelineExecutionStatus"] == "Succeeded", done.get("FailureReason")
        assert peak == 2
        trials = [request for kind, request in world.jobs.created if kind == "TrainingJob"]
        assert len(trials) == 5
        for request in trials:
            assert request["ResourceConfig"] == {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
            assert request["HyperParameters"]["num_round"] == "10"
            assert 0.1 <= float(request["HyperParameters"]["eta"]) <= 0.5 and 2 <= int(request["HyperParameters"]["max_depth"]) <= 6
        steps = await world.steps(done["PipelineExecutionArn"])
        tuning_arn = steps["Tune"]["Metadata"]["TuningJob"]["Arn"]
        assert ":hyper-parameter-tuning-job/" in tuning_arn

        # The properties a later step reads: summaries best first (the fake reports rmse = eta).
        paths = ["BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value",
                 *(f"TrainingJobSummaries[{i}].FinalHyperParameterTuningJobObjectiveMetric.Value" for i in range(5)),
                 "TrainingJobStatusCounters.Completed", "BestTrainingJob.TunedHyperParameters.eta"]
        later = {"Version": "2020-12-01", "Parameters": [], "Steps": [
            _tuning_definition(world.role)["Steps"][0],
            {"Name": "Show", "Type": "Fail", "DependsOn": ["Tune"], "Arguments": {"ErrorMessage": {"Std:Join": {
                "On": " ", "Values": [{"Get": f"Steps.Tune.{path}"} for path in paths]}}}},
        ]}
        await world.create("TunedThenRead", json.dumps(later))
        out = await world.run("TunedThenRead")
        shown = (await world.steps(out["PipelineExecutionArn"]))["Show"]["Metadata"]["Fail"]["ErrorMessage"].split()
        best, ranked, completed, best_eta = float(shown[0]), [float(v) for v in shown[1:6]], shown[6], float(shown[7])
        assert best == ranked[0] == best_eta and ranked == sorted(ranked)
        assert completed == "5"

    asyncio.run(main())
