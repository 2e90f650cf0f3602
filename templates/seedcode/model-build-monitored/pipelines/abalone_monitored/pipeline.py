"""The abalone model-build pipeline with drift checks: the plain pipeline
(:mod:`pipelines.abalone.pipeline`: process, train, evaluate, register when the MSE is good
enough) extended with the baselines that SageMaker Model Monitor and Clarify need later:

- ``CheckDataQuality`` (QualityCheck, data quality) profiles the training split;
- ``CheckModelQuality`` (QualityCheck, model quality) measures the model's predictions of the test
  split, made by ``CreateAbaloneModel`` and the batch transform ``PredictAbaloneTest``;
- ``CheckDataBias`` (ClarifyCheck, data bias) and, optionally, ``CheckModelBias`` and
  ``CheckModelExplainability`` (ClarifyCheck on the model) measure bias and feature attributions;
- the model is registered with the calculated baselines as ``ModelMetrics`` and with the baselines
  used for drift checks as ``DriftCheckBaselines`` (what the model-monitor repository reads).

Each check compares against the baselines of the newest approved package of the group. On a
group with no approved package yet there is nothing to compare with, so the checks default to
skipping the comparison and registering the new baselines; the pipeline parameters
``SkipDriftChecks`` and ``RegisterNewBaselines`` override that choice per execution.

    get_pipeline(region, role, default_bucket, ...) -> sagemaker.workflow.pipeline.Pipeline
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError
from pipelines.abalone import pipeline as abalone
from sagemaker import clarify
from sagemaker.drift_check_baselines import DriftCheckBaselines
from sagemaker.model import Model
from sagemaker.model_metrics import FileSource, MetricsSource, ModelMetrics
from sagemaker.model_monitor import DatasetFormat
from sagemaker.transformer import Transformer
from sagemaker.workflow.check_job_config import CheckJobConfig
from sagemaker.workflow.clarify_check_step import (
    ClarifyCheckStep,
    DataBiasCheckConfig,
    ModelBiasCheckConfig,
    ModelExplainabilityCheckConfig,
)
from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.functions import Join
from sagemaker.workflow.model_step import ModelStep
from sagemaker.workflow.parameters import ParameterBoolean
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.quality_check_step import (
    DataQualityCheckConfig,
    ModelQualityCheckConfig,
    QualityCheckStep,
)
from sagemaker.workflow.step_collections import RegisterModel
from sagemaker.workflow.steps import TransformStep

#: The columns of the processed splits (``preprocess.py``): the label, the seven scaled
#: measurements, then the one-hot sex.
COLUMNS = ["rings", "length", "diameter", "height", "whole_weight", "shucked_weight", "viscera_weight",
           "shell_weight", "sex_F", "sex_I", "sex_M"]
#: Bias facet and label threshold: are female abalone predicted older (more than 10 rings) as often?
FACET, FACET_VALUE, LABEL_THRESHOLD = "sex_F", 0.5, 10.0


def has_approved_baseline(region: str, group: str) -> bool:
    """Whether the group's newest approved package has drift check baselines to compare with."""
    sm = boto3.Session(region_name=region).client("sagemaker")
    try:
        packages = sm.list_model_packages(
            ModelPackageGroupName=group, ModelApprovalStatus="Approved",
            SortBy="CreationTime", SortOrder="Descending", MaxResults=1,
        )["ModelPackageSummaryList"]
    except ClientError:  # no group yet: the first execution creates it
        return False
    if not packages:
        return False
    described = sm.describe_model_package(ModelPackageName=packages[0]["ModelPackageArn"])
    return bool((described.get("DriftCheckBaselines") or {}).get("ModelDataQuality"))


def _steps(pipeline: Pipeline) -> dict[str, Any]:
    return {step.name: step for step in pipeline.steps}


def get_pipeline(
    region: str,
    role: str | None = None,
    default_bucket: str | None = None,
    model_package_group_name: str = "AbalonePackageGroup",
    pipeline_name: str = "AbalonePipeline",
    base_job_prefix: str = "Abalone",
    processing_instance_type: str = "ml.m5.xlarge",
    training_instance_type: str = "ml.m5.xlarge",
    transform_instance_type: str = "ml.m5.large",
    enable_caching: bool = False,
    check_model_quality: bool = True,
    check_data_bias: bool = True,
    check_model_bias: bool = False,
    check_model_explainability: bool = False,
    first_run: bool | None = None,
) -> Pipeline:
    base = abalone.get_pipeline(
        region=region, role=role, default_bucket=default_bucket, model_package_group_name=model_package_group_name,
        pipeline_name=pipeline_name, base_job_prefix=base_job_prefix,
        processing_instance_type=processing_instance_type, training_instance_type=training_instance_type,
        enable_caching=enable_caching,
    )
    steps = _steps(base)
    step_process, step_train, step_cond = steps["PreprocessAbaloneData"], steps["TrainAbaloneModel"], steps["CheckAbaloneMSE"]
    registered = step_cond.if_steps[0].steps[-1]  # the plain pipeline's _RegisterModelStep
    estimator, session = registered.estimator, base.sagemaker_session
    role = estimator.role
    if first_run is None:
        first_run = not has_approved_baseline(region, model_package_group_name)
    skip_checks = ParameterBoolean(name="SkipDriftChecks", default_value=first_run)
    register_new = ParameterBoolean(name="RegisterNewBaselines", default_value=first_run)

    def output(check: str) -> Join:
        return Join(on="/", values=["s3:/", session.default_bucket(), base_job_prefix,
                                    ExecutionVariables.PIPELINE_EXECUTION_ID, check])

    checks_common: dict[str, Any] = {
        "skip_check": skip_checks, "register_new_baseline": register_new,
        "model_package_group_name": model_package_group_name, "cache_config": step_process.cache_config,
    }
    check_job = CheckJobConfig(role=role, instance_count=1, instance_type=processing_instance_type,
                               volume_size_in_gb=30, sagemaker_session=session)
    train_uri = step_process.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri
    test_uri = step_process.properties.ProcessingOutputConfig.Outputs["test"].S3Output.S3Uri
    added: list[Any] = []

    # -- data quality: the profile of the training split (label first, as captured data is) -------
    step_data_quality = QualityCheckStep(
        name="CheckDataQuality",
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=train_uri,
            dataset_format=DatasetFormat.csv(header=False, output_columns_position="START"),
            output_s3_uri=output("dataquality"),
        ),
        check_job_config=check_job, **checks_common,
    )
    added.append(step_data_quality)
    metrics: dict[str, Any] = {
        "model_data_statistics": MetricsSource(s3_uri=step_data_quality.properties.CalculatedBaselineStatistics,
                                               content_type="application/json"),
        "model_data_constraints": MetricsSource(s3_uri=step_data_quality.properties.CalculatedBaselineConstraints,
                                                content_type="application/json"),
        "model_statistics": registered.model_metrics.model_statistics,  # evaluate.py's report
    }
    baselines: dict[str, Any] = {
        "model_data_statistics": MetricsSource(s3_uri=step_data_quality.properties.BaselineUsedForDriftCheckStatistics,
                                               content_type="application/json"),
        "model_data_constraints": MetricsSource(s3_uri=step_data_quality.properties.BaselineUsedForDriftCheckConstraints,
                                                content_type="application/json"),
    }

    # -- a model of the candidate, for model quality and the Clarify model checks ---------------
    model = Model(image_uri=estimator.training_image_uri(), model_data=step_train.properties.ModelArtifacts.S3ModelArtifacts,
                  sagemaker_session=session, role=role)
    step_model = ModelStep(name="CreateAbaloneModel", step_args=model.create(instance_type=transform_instance_type))
    if check_model_quality or check_model_bias or check_model_explainability:
        added.append(step_model)

    # -- model quality: predictions of the test split joined with its labels --------------------
    if check_model_quality:
        transformer = Transformer(
            model_name=step_model.properties.ModelName, instance_type=transform_instance_type, instance_count=1,
            accept="text/csv", assemble_with="Line", output_path=output("transform"),
            sagemaker_session=session,
        )
        step_transform = TransformStep(
            name="PredictAbaloneTest",
            step_args=transformer.transform(
                data=test_uri, content_type="text/csv", split_type="Line",
                input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]",
            ),
        )
        step_model_quality = QualityCheckStep(
            name="CheckModelQuality",
            quality_check_config=ModelQualityCheckConfig(
                baseline_dataset=step_transform.properties.TransformOutput.S3OutputPath,
                dataset_format=DatasetFormat.csv(header=False),
                output_s3_uri=output("modelquality"),
                problem_type="Regression",
                inference_attribute="_c1",
                ground_truth_attribute="_c0",
            ),
            check_job_config=check_job, **checks_common,
        )
        added += [step_transform, step_model_quality]
        metrics["model_statistics"] = MetricsSource(
            s3_uri=step_model_quality.properties.CalculatedBaselineStatistics, content_type="application/json")
        metrics["model_constraints"] = MetricsSource(
            s3_uri=step_model_quality.properties.CalculatedBaselineConstraints, content_type="application/json")
        baselines["model_statistics"] = MetricsSource(
            s3_uri=step_model_quality.properties.BaselineUsedForDriftCheckStatistics, content_type="application/json")
        baselines["model_constraints"] = MetricsSource(
            s3_uri=step_model_quality.properties.BaselineUsedForDriftCheckConstraints, content_type="application/json")

    # -- Clarify: bias of the data (and of the model's predictions), feature attributions -------
    def data_config(check: str) -> clarify.DataConfig:
        return clarify.DataConfig(
            s3_data_input_path=train_uri, s3_output_path=output(check), label=COLUMNS[0], headers=COLUMNS,
            dataset_type="text/csv",
            # the analysis configuration is written when the definition is built (a plain path)
            s3_analysis_config_output_path=f"s3://{session.default_bucket()}/{base_job_prefix}/clarify-config/{check}",
        )

    bias = clarify.BiasConfig(label_values_or_threshold=[LABEL_THRESHOLD], facet_name=FACET,
                              facet_values_or_threshold=[FACET_VALUE])
    model_config = clarify.ModelConfig(model_name=step_model.properties.ModelName, instance_count=1,
                                       instance_type=transform_instance_type, accept_type="text/csv",
                                       content_type="text/csv")

    def add_clarify_check(name: str, config: Any) -> tuple[MetricsSource, MetricsSource, FileSource]:
        """A ClarifyCheckStep; returns its calculated and drift-check constraints and the analysis
        configuration it wrote (known once the step exists)."""
        step = ClarifyCheckStep(name=name, clarify_check_config=config, check_job_config=check_job, **checks_common)
        added.append(step)
        calculated = MetricsSource(s3_uri=step.properties.CalculatedBaselineConstraints, content_type="application/json")
        used = MetricsSource(s3_uri=step.properties.BaselineUsedForDriftCheckConstraints, content_type="application/json")
        return calculated, used, FileSource(s3_uri=config.monitoring_analysis_config_uri, content_type="application/json")

    if check_data_bias:
        data_bias = DataBiasCheckConfig(data_config=data_config("databias"), data_bias_config=bias)
        (metrics["bias_pre_training"], baselines["bias_pre_training_constraints"],
         baselines["bias_config_file"]) = add_clarify_check("CheckDataBias", data_bias)
    if check_model_bias:
        model_bias = ModelBiasCheckConfig(
            data_config=data_config("modelbias"), data_bias_config=bias, model_config=model_config,
            model_predicted_label_config=clarify.ModelPredictedLabelConfig(),
        )
        metrics["bias_post_training"], baselines["bias_post_training_constraints"], config_file = add_clarify_check(
            "CheckModelBias", model_bias)
        baselines.setdefault("bias_config_file", config_file)
    if check_model_explainability:
        explainability = ModelExplainabilityCheckConfig(
            data_config=data_config("explainability"), model_config=model_config,
            explainability_config=clarify.SHAPConfig(num_samples=20, agg_method="mean_abs", seed=42),
        )
        (metrics["explainability"], baselines["explainability_constraints"],
         baselines["explainability_config_file"]) = add_clarify_check("CheckModelExplainability", explainability)

    # -- registration with the baselines, if the model is good enough ----------------------------
    step_register = RegisterModel(
        name=step_cond.if_steps[0].name,
        estimator=estimator,
        model_data=registered.model_data,
        content_types=registered.content_types,
        response_types=registered.response_types,
        inference_instances=registered.inference_instances,
        transform_instances=registered.transform_instances,
        model_package_group_name=model_package_group_name,
        approval_status=registered.approval_status,
        model_metrics=ModelMetrics(**metrics),
        drift_check_baselines=DriftCheckBaselines(**baselines),
    )
    step_cond.if_steps = [step_register]
    step_cond.add_depends_on([step.name for step in added if isinstance(step, (QualityCheckStep, ClarifyCheckStep))])
    ordered = [step for step in base.steps if step is not step_cond] + added + [step_cond]
    return Pipeline(
        name=base.name,
        parameters=[*base.parameters, skip_checks, register_new],
        steps=ordered,
        sagemaker_session=session,
    )
