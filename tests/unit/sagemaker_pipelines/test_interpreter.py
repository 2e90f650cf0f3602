"""Pipeline executions in-process, jobs on a fake runner: the abalone definition the SageMaker SDK
wrote, conditions, the Fail step, caching, stopping, retries, callbacks, selective runs, resume."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from seedbed.errors import ServiceError
from tests.unit.sagemaker_pipelines.conftest import World, abalone_definition


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_abalone_registers_or_fails(world: World) -> None:
    async def main() -> None:
        await world.setup()
        await world.create("Abalone", abalone_definition(), Tags=[{"Key": "sagemaker:project-id", "Value": "p-123"}])
        done = await world.run("Abalone", PipelineParameters=[{"Name": "ModelApprovalStatus", "Value": "Approved"}])
        assert done["PipelineExecutionStatus"] == "Succeeded", done.get("FailureReason")
        assert done["PipelineExperimentConfig"] == {"ExperimentName": "Abalone", "TrialName": done["PipelineExecutionArn"].rsplit("/", 1)[-1]}
        steps = await world.steps(done["PipelineExecutionArn"])
        assert set(steps) == {"PreprocessAbaloneData", "TrainAbaloneModel", "EvaluateAbaloneModel",
                              "CheckMSEAbaloneEvaluation", "RegisterAbaloneModel-RegisterModel"}
        assert steps["CheckMSEAbaloneEvaluation"]["Metadata"] == {"Condition": {"Outcome": "True"}}
        assert "ProcessingJob" in steps["PreprocessAbaloneData"]["Metadata"]
        package = steps["RegisterAbaloneModel-RegisterModel"]["Metadata"]["RegisterModel"]["Arn"]
        desc = await world.call("DescribeModelPackage", ModelPackageName=package)
        assert desc["ModelApprovalStatus"] == "Approved" and desc["ModelPackageGroupName"] == "AbaloneModelPackageGroup"
        assert desc["MetadataProperties"] == {"GeneratedBy": done["PipelineExecutionArn"], "ProjectId": "p-123"}
        execution_id = done["PipelineExecutionArn"].rsplit("/", 1)[-1]
        assert desc["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == (
            f"s3://sagemaker-us-east-1-000000000000/AbalonePipeline/{execution_id}/EvaluateAbaloneModel/output/evaluation/evaluation.json")
        model_data = desc["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        train = next(r for k, r in world.jobs.created if k == "TrainingJob")
        assert model_data.endswith(f"{train['TrainingJobName']}/output/model.tar.gz")
        assert train["TrainingJobName"].startswith(f"pipelines-{execution_id}-TrainAbaloneModel-")
        assert train["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"].endswith(f"{execution_id}/PreprocessAbaloneData/output/train")
        kinds = [(e["detail-type"], e["detail"].get("currentPipelineExecutionStatus") or e["detail"].get("currentStepStatus")) for e in world.events]
        assert kinds[0] == ("SageMaker Model Building Pipeline Execution Status Change", "Executing")
        assert kinds[-1] == ("SageMaker Model Building Pipeline Execution Status Change", "Succeeded")
        assert ("SageMaker Model Building Pipeline Execution Step Status Change", "Succeeded") in kinds
        assert any(e["detail-type"] == "SageMaker Model Package State Change" for e in world.events)

        # A threshold the model misses ends at the Fail step with its message.
        failed = await world.run("Abalone", PipelineParameters=[{"Name": "MseThreshold", "Value": "1.5"}])
        assert failed["PipelineExecutionStatus"] == "Failed"
        assert "Execution failed due to MSE > 1.5" in failed["FailureReason"]
        steps = await world.steps(failed["PipelineExecutionArn"])
        assert steps["AbaloneMSEFail"]["StepStatus"] == "Failed"
        assert steps["AbaloneMSEFail"]["Metadata"] == {"Fail": {"ErrorMessage": "Execution failed due to MSE > 1.5"}}
        assert steps["CheckMSEAbaloneEvaluation"]["Metadata"]["Condition"]["Outcome"] == "False"
        assert "RegisterAbaloneModel-RegisterModel" not in steps
        params = await world.call("ListPipelineParametersForExecution", PipelineExecutionArn=failed["PipelineExecutionArn"])
        assert {"Name": "MseThreshold", "Value": "1.5"} in params["PipelineParameters"]
        assert {"Name": "ProcessingInstanceCount", "Value": "1"} in params["PipelineParameters"]

    run(main())


def test_cache_hits_reuse_earlier_jobs(world: World) -> None:
    async def main() -> None:
        await world.setup()
        await world.create("Cached", abalone_definition())
        first = await world.run("Cached")
        jobs_after_first = len(world.jobs.created)
        second = await world.run("Cached")
        assert second["PipelineExecutionStatus"] == "Succeeded"
        steps = await world.steps(second["PipelineExecutionArn"])
        # The preprocessing step has the same cache key; its outputs (and so the training and
        # evaluation inputs) are the first run's, so every cached step is a hit.
        for name in ("PreprocessAbaloneData", "TrainAbaloneModel", "EvaluateAbaloneModel"):
            assert steps[name]["CacheHitResult"] == {"SourcePipelineExecutionArn": first["PipelineExecutionArn"]}, name
        assert len(world.jobs.created) == jobs_after_first
        assert "CacheHitResult" not in steps["RegisterAbaloneModel-RegisterModel"]
        # A different input is a different key.
        third = await world.run("Cached", PipelineParameters=[{"Name": "InputDataUrl", "Value": "s3://other/data.csv"}])
        steps = await world.steps(third["PipelineExecutionArn"])
        assert "CacheHitResult" not in steps["PreprocessAbaloneData"]

    run(main())


def processing(name: str, **extra: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "Processing", "Arguments": {
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1}},
        "AppSpecification": {"ImageUri": "x"}, "RoleArn": "arn:aws:iam::000000000000:role/PipelineRole"}, **extra}


def test_stop_stops_running_jobs(world: World) -> None:
    async def main() -> None:
        await world.setup()
        await world.create("Stoppable", {"Version": "2020-12-01", "Steps": [processing("Slow"), processing("After", DependsOn=["Slow"])]})
        world.jobs.block.add("Slow")
        arn = (await world.call("StartPipelineExecution", PipelineName="Stoppable"))["PipelineExecutionArn"]
        for _ in range(200):
            if world.jobs.created:
                break
            await asyncio.sleep(0.01)
        await world.call("StopPipelineExecution", PipelineExecutionArn=arn)
        await world.provider.wait_for_execution(arn, timeout=10)
        done = await world.call("DescribePipelineExecution", PipelineExecutionArn=arn)
        assert done["PipelineExecutionStatus"] == "Stopped"
        assert world.jobs.stopped == [world.jobs.created[0][1]["ProcessingJobName"]]
        steps = await world.steps(arn)
        assert steps["Slow"]["StepStatus"] == "Stopped" and "After" not in steps
        with pytest.raises(ServiceError):
            await world.call("StopPipelineExecution", PipelineExecutionArn=arn + "x")
        # Retrying a stopped execution runs what did not finish.
        world.jobs.block.clear()
        await world.call("RetryPipelineExecution", PipelineExecutionArn=arn)
        await world.provider.wait_for_execution(arn, timeout=10)
        done = await world.call("DescribePipelineExecution", PipelineExecutionArn=arn)
        assert done["PipelineExecutionStatus"] == "Succeeded"

    run(main())


def test_retry_policy_and_parallel_branches(world: World) -> None:
    async def main() -> None:
        await world.setup()
        retry = [{"FailureReasonType": ["SageMaker.JOB_INTERNAL_ERROR"], "IntervalSeconds": 0, "BackoffRate": 1.0, "MaxAttempts": 3}]
        definition = {"Version": "2020-12-01", "Steps": [
            processing("Flaky", RetryPolicies=retry), processing("Broken"), processing("Other"),
        ]}
        world.jobs.fail_first = {"Flaky": "InternalServerError: try again", "Broken": "AlgorithmError: bad script"}
        await world.create("Retrying", definition, ParallelismConfiguration={"MaxParallelExecutionSteps": 3})
        done = await world.run("Retrying")
        steps = await world.steps(done["PipelineExecutionArn"])
        assert steps["Flaky"]["StepStatus"] == "Succeeded" and steps["Flaky"]["AttemptCount"] == 2
        assert steps["Broken"]["StepStatus"] == "Failed" and "AlgorithmError: bad script" in steps["Broken"]["FailureReason"]
        assert steps["Other"]["StepStatus"] == "Succeeded"
        assert done["PipelineExecutionStatus"] == "Failed" and "Broken" in done["FailureReason"]

    run(main())


def test_callback_and_selective_execution(world: World) -> None:
    async def main() -> None:
        await world.setup()
        definition = {"Version": "2020-12-01", "Parameters": [{"Name": "Flag", "Type": "Boolean", "DefaultValue": True}], "Steps": [
            processing("First"),
            {"Name": "Wait", "Type": "Callback", "DependsOn": ["First"], "SqsQueueUrl": "https://sqs.us-east-1.amazonaws.com/000000000000/q",
             "Arguments": {"job": {"Get": "Steps.First.ProcessingJobName"}}, "OutputParameters": [{"OutputName": "score", "OutputType": "Float"}]},
            {"Name": "Check", "Type": "Condition", "Arguments": {
                "Conditions": [{"Type": "Or", "Conditions": [
                    {"Type": "GreaterThan", "LeftValue": {"Get": "Steps.Wait.OutputParameters['score']"}, "RightValue": 0.5},
                    {"Type": "Not", "Expression": {"Type": "Equals", "LeftValue": {"Get": "Parameters.Flag"}, "RightValue": True}}]}],
                "IfSteps": [processing("Good")], "ElseSteps": [{"Name": "Bad", "Type": "Fail", "Arguments": {"ErrorMessage": "low"}}]}},
        ]}
        await world.create("Calling", definition)
        arn = (await world.call("StartPipelineExecution", PipelineName="Calling"))["PipelineExecutionArn"]
        token = None
        for _ in range(300):
            steps = await world.steps(arn)
            token = ((steps.get("Wait") or {}).get("Metadata") or {}).get("Callback", {}).get("CallbackToken")
            if token:
                break
            await asyncio.sleep(0.01)
        assert token
        await asyncio.sleep(0.05)
        out = await world.call("SendPipelineExecutionStepSuccess", CallbackToken=token, OutputParameters=[{"Name": "score", "Value": "0.9"}])
        assert out["PipelineExecutionArn"] == arn
        await world.provider.wait_for_execution(arn, timeout=10)
        steps = await world.steps(arn)
        assert steps["Wait"]["Metadata"]["Callback"]["OutputParameters"] == [{"Name": "score", "Value": "0.9"}]
        assert steps["Good"]["StepStatus"] == "Succeeded" and "Bad" not in steps
        created = len(world.jobs.created)
        # Selective execution: only Good runs again; First and Wait keep the source's results.
        again = await world.run("Calling", SelectiveExecutionConfig={"SourcePipelineExecutionArn": arn, "SelectedSteps": [{"StepName": "Good"}]})
        assert again["PipelineExecutionStatus"] == "Succeeded", again.get("FailureReason")
        steps = await world.steps(again["PipelineExecutionArn"])
        assert steps["First"]["SelectiveExecutionResult"] == {"SourcePipelineExecutionArn": arn}
        assert steps["Good"]["StepStatus"] == "Succeeded" and len(world.jobs.created) == created + 1

    run(main())


def test_resume_after_crash_reattaches_to_the_job(world: World, backend: Any) -> None:
    from seedbed.services.sagemaker.pipelines import store

    async def main() -> None:
        await world.setup()
        await world.create("Resumed", {"Version": "2020-12-01", "Steps": [processing("One"), processing("Two", DependsOn=["One"])]})
        world.jobs.block.add("One")
        arn = (await world.call("StartPipelineExecution", PipelineName="Resumed"))["PipelineExecutionArn"]
        for _ in range(200):
            if world.jobs.created:
                break
            await asyncio.sleep(0.01)
        # "Crash": the runner task dies without recording anything.
        world.provider.__dict__["_pipeline_tasks"][arn].cancel()
        await asyncio.sleep(0.05)
        with backend.db.connect() as conn:
            assert store.get_execution(conn, arn).status == "Executing"
        world.provider.__dict__["_pipeline_runners"].clear()
        world.jobs.block.clear()
        name = world.jobs.created[0][1]["ProcessingJobName"]
        world.jobs.jobs[name]["ProcessingJobStatus"] = "InProgress"
        await world.provider.resume_pipelines()
        await world.provider.wait_for_execution(arn, timeout=10)
        done = await world.call("DescribePipelineExecution", PipelineExecutionArn=arn)
        assert done["PipelineExecutionStatus"] == "Succeeded"
        assert [r["ProcessingJobName"] for _, r in world.jobs.created].count(name) == 1  # not created twice

    run(main())


def test_api_validation(world: World) -> None:
    async def main() -> None:
        await world.setup()
        with pytest.raises(ServiceError) as err:
            await world.create("Bad", {"Version": "2020-12-01", "Steps": [processing("A", DependsOn=["Missing"])]})
        assert err.value.code == "ValidationException" and "Missing" in err.value.message
        with pytest.raises(ServiceError):
            await world.create("Cycle", {"Version": "2020-12-01", "Steps": [processing("A", DependsOn=["B"]), processing("B", DependsOn=["A"])]})
        arn = await world.create("Good", {"Version": "2020-12-01", "Parameters": [{"Name": "N", "Type": "Integer", "DefaultValue": 1}],
                                          "Steps": [processing("A")]})
        assert arn.endswith(":pipeline/good")
        with pytest.raises(ServiceError):
            await world.create("Good", {"Version": "2020-12-01", "Steps": [processing("A")]})
        with pytest.raises(ServiceError) as err:
            await world.call("StartPipelineExecution", PipelineName="Good", PipelineParameters=[{"Name": "N", "Value": "x"}])
        assert err.value.code == "ValidationException"
        with pytest.raises(ServiceError):
            await world.call("StartPipelineExecution", PipelineName="Good", PipelineParameters=[{"Name": "Nope", "Value": "1"}])
        first = await world.call("StartPipelineExecution", PipelineName="Good", ClientRequestToken="t" * 32)
        again = await world.call("StartPipelineExecution", PipelineName="Good", ClientRequestToken="t" * 32)
        assert first == again
        await world.provider.wait_for_execution(first["PipelineExecutionArn"], timeout=10)
        out = await world.call("UpdatePipeline", PipelineName="Good", PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": [processing("B")]}))
        assert out["PipelineVersionId"] == 2
        assert "\"B\"" in (await world.call("DescribePipeline", PipelineName="Good"))["PipelineDefinition"]
        assert "\"A\"" in (await world.call("DescribePipeline", PipelineName="Good", PipelineVersionId=1))["PipelineDefinition"]
        old = await world.call("DescribePipelineDefinitionForExecution", PipelineExecutionArn=first["PipelineExecutionArn"])
        assert "\"A\"" in old["PipelineDefinition"]
        listed = await world.call("ListPipelineExecutions", PipelineName="Good")
        assert [e["PipelineExecutionArn"] for e in listed["PipelineExecutionSummaries"]] == [first["PipelineExecutionArn"]]
        names = [p["PipelineName"] for p in (await world.call("ListPipelines", PipelineNamePrefix="go"))["PipelineSummaries"]]
        assert names == ["Good"]
        await world.call("DeletePipeline", PipelineName="Good")
        with pytest.raises(ServiceError) as err:
            await world.call("DescribePipeline", PipelineName="Good")
        assert err.value.code == "ResourceNotFound"

    run(main())
