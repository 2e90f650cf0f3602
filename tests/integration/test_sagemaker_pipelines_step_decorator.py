"""``@step`` functions (the SageMaker Python SDK v2's remote-function runner in a pipeline), built
with the unmodified SDK and run on a live Seedbed: each function is a training job that runs the
SDK's own ``job_driver.sh``, ``bootstrap_runtime_environment.py`` and ``invoke_function``; delayed
returns flow between steps and into a ConditionStep; a function's exception becomes the step's
FailureReason."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer
from tests.integration.test_sagemaker_pipelines import setup, steps_of, wait  # noqa: F401 - the fixture

pytest.importorskip("sagemaker")

#: A remote-function base image: Seedbed runs it on its generic Python runtime.
IMAGE = "236514542706.dkr.ecr.us-east-1.amazonaws.com/sagemaker-base-python-311:1.0"


def test_step_functions_pass_results_and_branch(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.function_step import step
    from sagemaker.workflow.parameters import ParameterInteger
    from sagemaker.workflow.pipeline import Pipeline

    session, role = setup
    sm = server.client("sagemaker")
    rows = ParameterInteger(name="Rows", default_value=6)
    common = {"instance_type": "ml.m5.large", "image_uri": IMAGE, "role": role}

    @step(name="MakeData", **common)
    def make_data(count: int) -> dict:
        return {"values": [i * i for i in range(count)], "count": count}

    @step(name="Summarize", **common)
    def summarize(data: dict) -> dict:
        import pandas as pd

        frame = pd.DataFrame({"v": data["values"]})
        return {"total": int(frame["v"].sum()), "mean": float(frame["v"].mean()), "rows": len(frame)}

    made = make_data(rows)
    summary = summarize(made)
    check = ConditionStep(
        name="EnoughRows",
        conditions=[ConditionGreaterThanOrEqualTo(left=summary["rows"], right=5)],
        if_steps=[],
        else_steps=[FailStep(name="TooFewRows", error_message="fewer than five rows")],
    )
    pipeline = Pipeline(name="StepDecoratorIT", parameters=[rows], steps=[check], sagemaker_session=session)
    pipeline.upsert(role_arn=role)

    execution = pipeline.start()
    done = wait(sm, execution.arn, timeout=300)
    steps = steps_of(sm, execution.arn)
    assert done["PipelineExecutionStatus"] == "Succeeded", (done.get("FailureReason"), {k: v.get("FailureReason") for k, v in steps.items()})
    assert set(steps) == {"MakeData", "Summarize", "EnoughRows"}
    assert steps["EnoughRows"]["Metadata"]["Condition"]["Outcome"] == "True"
    assert execution.result(step_name="MakeData") == {"values": [0, 1, 4, 9, 16, 25], "count": 6}
    assert execution.result(step_name="Summarize") == {"total": 55, "mean": 55 / 6, "rows": 6}

    # The JSON copy of the return that Std:JsonGet reads (the SDK writes it for referenced steps).
    job = sm.describe_training_job(TrainingJobName=steps["Summarize"]["Metadata"]["TrainingJob"]["Arn"].rsplit("/", 1)[-1])
    bucket, key = job["OutputDataConfig"]["S3OutputPath"][5:].split("/", 1)
    import json

    document = json.loads(server.client("s3").get_object(Bucket=bucket, Key=f"{key.rstrip('/')}/results.json")["Body"].read())
    assert document["Result"]["rows"] == 6

    short = pipeline.start(parameters={"Rows": 3})
    done = wait(sm, short.arn, timeout=300)
    assert done["PipelineExecutionStatus"] == "Failed"
    assert "fewer than five rows" in done["FailureReason"]
    assert steps_of(sm, short.arn)["EnoughRows"]["Metadata"]["Condition"]["Outcome"] == "False"
    assert short.result(step_name="Summarize")["rows"] == 3


def test_step_function_exception_is_the_failure_reason(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from sagemaker.remote_function.errors import RemoteFunctionError
    from sagemaker.workflow.function_step import step
    from sagemaker.workflow.pipeline import Pipeline

    session, role = setup
    sm = server.client("sagemaker")

    @step(name="Explode", instance_type="ml.m5.large", image_uri=IMAGE, role=role)
    def explode() -> int:
        raise ValueError("the abalone count went negative")

    pipeline = Pipeline(name="StepDecoratorFailIT", steps=[explode()], sagemaker_session=session)
    pipeline.upsert(role_arn=role)
    execution = pipeline.start()
    done = wait(sm, execution.arn, timeout=300)
    assert done["PipelineExecutionStatus"] == "Failed"
    reason = steps_of(sm, execution.arn)["Explode"]["FailureReason"]
    assert "ValueError" in reason and "the abalone count went negative" in reason
    with pytest.raises(RemoteFunctionError):
        execution.result(step_name="Explode")


def test_missing_dependency_fails_without_installing(server: LiveServer, setup, tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Local jobs install nothing: requirements are checked against Seedbed's interpreter, and one
    it lacks fails the step with pip's error instead of reaching for the internet."""
    from sagemaker.workflow.function_step import step
    from sagemaker.workflow.pipeline import Pipeline

    session, role = setup
    sm = server.client("sagemaker")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pandas\nseedbed-no-such-package-4711\n")

    @step(name="NeedsMore", instance_type="ml.m5.large", image_uri=IMAGE, role=role, dependencies=str(requirements))
    def needs_more() -> int:
        return 1

    pipeline = Pipeline(name="StepDecoratorDepsIT", steps=[needs_more()], sagemaker_session=session)
    pipeline.upsert(role_arn=role)
    execution = pipeline.start()
    done = wait(sm, execution.arn, timeout=300)
    assert done["PipelineExecutionStatus"] == "Failed"
    reason = steps_of(sm, execution.arn)["NeedsMore"]["FailureReason"]
    assert "RuntimeEnvironmentError" in reason and "seedbed-no-such-package-4711" in reason
