"""QualityCheck and ClarifyCheck steps, built with the unmodified SageMaker Python SDK and run on a
live Seedbed: a first run calculates and registers baselines, a model package carries them as
drift check baselines, a second run on similar data checks against them and passes, and a run on
drifted data fails the step with the violation report."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import REPO, LiveServer
from tests.integration.test_sagemaker_pipelines import setup, steps_of, wait  # noqa: F401 - the fixture

pytest.importorskip("sagemaker")

DATA = REPO / "src" / "seedbed" / "data" / "abalone-dataset.csv"
HEADERS = ["rings", "length", "diameter", "height", "whole_weight", "shucked_weight", "viscera_weight", "shell_weight", "male"]


def _rows(drift: float = 1.0) -> str:
    """Abalone as a headerless CSV, label first, sex as a 0/1 column; ``drift`` scales the sizes."""
    out = []
    for line in DATA.read_text().strip().splitlines():
        f = line.split(",")
        sizes = [str(float(v) * drift) for v in f[1:8]]
        out.append(",".join([f[8], *sizes, "1" if f[0] == "M" else "0"]))
    return "\n".join(out) + "\n"


def _pipeline(session, role: str, bucket: str, name: str, group: str):  # type: ignore[no-untyped-def]
    from sagemaker.clarify import BiasConfig, DataConfig
    from sagemaker.model_monitor import DatasetFormat
    from sagemaker.workflow.check_job_config import CheckJobConfig
    from sagemaker.workflow.clarify_check_step import ClarifyCheckStep, DataBiasCheckConfig
    from sagemaker.workflow.parameters import ParameterBoolean, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep

    pipeline_session = PipelineSession(boto_session=session.boto_session, sagemaker_client=session.sagemaker_client,
                                       default_bucket=bucket)
    data = ParameterString(name="Data", default_value=f"s3://{bucket}/checks/clean/data.csv")
    skip = ParameterBoolean(name="SkipCheck", default_value=False)
    register_new = ParameterBoolean(name="RegisterNewBaseline", default_value=False)
    job = CheckJobConfig(role=role, instance_count=1, instance_type="ml.m5.xlarge", sagemaker_session=pipeline_session)
    quality = QualityCheckStep(
        name="CheckDataQuality", check_job_config=job, skip_check=skip, register_new_baseline=register_new,
        model_package_group_name=group,
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=data, dataset_format=DatasetFormat.csv(header=False),
            output_s3_uri=f"s3://{bucket}/checks/{name}/quality"))
    bias = ClarifyCheckStep(
        name="CheckDataBias", check_job_config=job, skip_check=skip, register_new_baseline=register_new,
        model_package_group_name=group,
        clarify_check_config=DataBiasCheckConfig(
            data_config=DataConfig(s3_data_input_path=data, s3_output_path=f"s3://{bucket}/checks/{name}/bias",
                                   label="rings", headers=HEADERS, dataset_type="text/csv"),
            data_bias_config=BiasConfig(label_values_or_threshold=[10], facet_name="male", facet_values_or_threshold=[1])))
    return Pipeline(name=name, parameters=[data, skip, register_new], steps=[quality, bias],
                    sagemaker_session=pipeline_session)


def test_check_steps_baseline_register_check_and_catch_drift(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    session, role = setup
    sm, s3 = server.client("sagemaker"), server.client("s3")
    bucket = session.default_bucket()
    s3.put_object(Bucket=bucket, Key="checks/clean/data.csv", Body=_rows().encode())
    s3.put_object(Bucket=bucket, Key="checks/drifted/data.csv", Body=_rows(drift=3.0).encode())
    name, group = f"checks-{uuid.uuid4().hex[:6]}", f"checks-group-{uuid.uuid4().hex[:6]}"
    pipeline = _pipeline(session, role, bucket, name, group)
    pipeline.upsert(role_arn=role)

    # No baseline anywhere yet: checking is refused with a message that says what to do.
    refused = wait(sm, sm.start_pipeline_execution(PipelineName=name)["PipelineExecutionArn"])
    assert refused["PipelineExecutionStatus"] == "Failed"
    failures = {n: s.get("FailureReason", "") for n, s in steps_of(sm, refused["PipelineExecutionArn"]).items()}
    assert "register_new_baseline=True" in failures["CheckDataQuality"]

    first = wait(sm, sm.start_pipeline_execution(PipelineName=name, PipelineParameters=[
        {"Name": "SkipCheck", "Value": "true"}, {"Name": "RegisterNewBaseline", "Value": "true"}])["PipelineExecutionArn"])
    assert first["PipelineExecutionStatus"] == "Succeeded", first
    meta = {n: s["Metadata"] for n, s in steps_of(sm, first["PipelineExecutionArn"]).items()}
    quality, bias = meta["CheckDataQuality"]["QualityCheck"], meta["CheckDataBias"]["ClarifyCheck"]
    assert quality["CheckType"] == "DATA_QUALITY" and quality["SkipCheck"] is True and quality["RegisterNewBaseline"] is True
    assert quality["CalculatedBaselineConstraints"].endswith("/quality/constraints.json")
    assert quality["BaselineUsedForDriftCheckStatistics"] == quality["CalculatedBaselineStatistics"]
    assert bias["CheckType"] == "DATA_BIAS" and bias["CalculatedBaselineConstraints"].endswith("/analysis.json")
    assert quality["CheckJobArn"].split(":")[5].startswith("processing-job/")
    baseline = quality["CalculatedBaselineConstraints"][5:].split("/", 1)
    assert json.loads(s3.get_object(Bucket=baseline[0], Key=baseline[1])["Body"].read())["features"]

    # A package in the group carries those files as its drift check baselines, and is approved.
    sm.create_model_package_group(ModelPackageGroupName=group)
    container = {"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                 "ModelDataUrl": f"s3://{bucket}/checks/model.tar.gz"}
    sm.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [container], "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        DriftCheckBaselines={
            "ModelDataQuality": {
                "Constraints": {"ContentType": "application/json", "S3Uri": quality["CalculatedBaselineConstraints"]},
                "Statistics": {"ContentType": "application/json", "S3Uri": quality["CalculatedBaselineStatistics"]}},
            "Bias": {"PreTrainingConstraints": {"ContentType": "application/json", "S3Uri": bias["CalculatedBaselineConstraints"]}}})

    second = wait(sm, sm.start_pipeline_execution(PipelineName=name)["PipelineExecutionArn"])
    assert second["PipelineExecutionStatus"] == "Succeeded", second
    meta = {n: s["Metadata"] for n, s in steps_of(sm, second["PipelineExecutionArn"]).items()}
    checked = meta["CheckDataQuality"]["QualityCheck"]
    assert checked["BaselineUsedForDriftCheckConstraints"] == quality["CalculatedBaselineConstraints"]
    assert checked["CalculatedBaselineConstraints"] == quality["CalculatedBaselineConstraints"]  # same output path
    assert "ViolationReport" not in checked
    assert meta["CheckDataBias"]["ClarifyCheck"]["BaselineUsedForDriftCheckConstraints"] == bias["CalculatedBaselineConstraints"]

    drifted = wait(sm, sm.start_pipeline_execution(PipelineName=name, PipelineParameters=[
        {"Name": "Data", "Value": f"s3://{bucket}/checks/drifted/data.csv"}])["PipelineExecutionArn"])
    assert drifted["PipelineExecutionStatus"] == "Failed"
    steps = steps_of(sm, drifted["PipelineExecutionArn"])
    assert steps["CheckDataQuality"]["StepStatus"] == "Failed"
    assert "violation" in steps["CheckDataQuality"]["FailureReason"]
    report = steps["CheckDataQuality"]["Metadata"]["QualityCheck"]["ViolationReport"][5:].split("/", 1)
    assert json.loads(s3.get_object(Bucket=report[0], Key=report[1])["Body"].read())["violations"]


def test_monitored_seed_pipeline_registers_drift_baselines(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The mm-clarify seed code's pipeline: data quality, model quality and data bias baselines
    calculated on the first run and registered with the model package."""
    from tests.abalone import get_monitored_pipeline

    session, role = setup
    sm = server.client("sagemaker")
    group = f"Monitored-{uuid.uuid4().hex[:6]}"
    pipeline = get_monitored_pipeline(region=server.region, role=role, default_bucket=session.default_bucket(),
                                      pipeline_name=group, model_package_group_name=group)
    pipeline.upsert(role_arn=role)
    execution = pipeline.start(parameters={"InputDataUrl": f"s3://{session.default_bucket()}/abalone/abalone-dataset.csv"})
    done = wait(sm, execution.arn, timeout=480)
    steps = steps_of(sm, execution.arn)
    assert done["PipelineExecutionStatus"] == "Succeeded", {k: v.get("FailureReason") for k, v in steps.items()}
    assert {"CheckDataQuality", "CheckModelQuality", "CheckDataBias"} <= set(steps)
    package = sm.describe_model_package(ModelPackageName=steps["RegisterAbaloneModel-RegisterModel"]["Metadata"]["RegisterModel"]["Arn"])
    baselines = package["DriftCheckBaselines"]
    calculated = steps["CheckDataQuality"]["Metadata"]["QualityCheck"]["CalculatedBaselineConstraints"]
    assert baselines["ModelDataQuality"]["Constraints"]["S3Uri"] == calculated
    assert baselines["ModelQuality"]["Constraints"]["S3Uri"].endswith("constraints.json")
    assert baselines["Bias"]["PreTrainingConstraints"]["S3Uri"].endswith("analysis.json")
