"""Write the Model Monitor stack of the project's staging and production endpoints, with the
baselines that the model registry holds for the newest approved model package.

Run by the monitor CodeBuild project ("Gets the Baselines from Model Registry and updates the
Monitoring Schedule configs"). The model-build pipeline computes the baselines with QualityCheck
steps and registers them with the package (``DriftCheckBaselines``, and ``ModelMetrics``); this
script reads them and writes:

- the template (``model-monitor-template.yml``, exported under ``--export-template``): a data
  quality job definition and hourly schedule for the stage's endpoint, and a model quality one
  when the package carries model quality baselines and the stage's config sets
  ``EnableModelQualityMonitor`` (it needs ground truth labels under ``GroundTruthUri``);
- one CloudFormation template configuration per stage (``{"Parameters": ..., "Tags": ...}``) from
  ``staging-config.json`` / ``prod-config.json``, whose values override the computed ones.

It fails, saying why, when the group has no approved package or the package no data quality
baseline: there is nothing to monitor against.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from typing import Any

import boto3
from botocore.exceptions import ClientError

STAGES = ("staging", "prod")
#: The model-deploy seed code names each stage's endpoint ``<project>-<stage>``.
ENDPOINT_NAME = "{project}-{stage}"


class BuildError(Exception):
    """What stops the build (printed, exit status 1)."""


def newest_approved_package(sm: Any, group: str) -> dict[str, Any]:
    """The description of the most recent Approved package in ``group``."""
    try:
        response = sm.list_model_packages(
            ModelPackageGroupName=group, ModelApprovalStatus="Approved",
            SortBy="CreationTime", SortOrder="Descending", MaxResults=1,
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("ResourceNotFound", "ValidationException"):
            raise BuildError(f"Cannot list the model packages of the group {group}: {exc}") from exc
        response = {"ModelPackageSummaryList": [], "missing": True}
    packages = response.get("ModelPackageSummaryList") or []
    if not packages:
        missing = " (the group does not exist yet)" if response.get("missing") else ""
        raise BuildError(
            f"No approved model package in the model package group {group}{missing}: run the model-build "
            "pipeline and approve a model package in the model registry before deploying monitors.")
    return sm.describe_model_package(ModelPackageName=packages[0]["ModelPackageArn"])


def _pair(section: dict[str, Any] | None) -> tuple[str, str]:
    """(statistics URI, constraints URI) of a ``{Statistics, Constraints}`` section, '' if absent."""
    section = section or {}
    return ((section.get("Statistics") or {}).get("S3Uri", ""), (section.get("Constraints") or {}).get("S3Uri", ""))


def baselines(package: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The package's data and model quality baselines: the drift check baselines the pipeline
    registered, else the model metrics it computed."""
    drift = package.get("DriftCheckBaselines") or {}
    metrics = package.get("ModelMetrics") or {}
    found = {}
    for kind in ("ModelDataQuality", "ModelQuality"):
        statistics, constraints = _pair(drift.get(kind))
        if not (statistics and constraints):
            statistics, constraints = _pair(metrics.get(kind))
        found[kind] = (statistics, constraints)
    if not all(found["ModelDataQuality"]):
        raise BuildError(
            f"The approved model package {package['ModelPackageArn']} has no data quality baseline "
            "(DriftCheckBaselines.ModelDataQuality or ModelMetrics.ModelDataQuality with Statistics and "
            "Constraints): register models from a pipeline whose QualityCheck step computes one.")
    return found


def monitor_image(region: str, given: str) -> str:
    """The Model Monitor analyzer image of the region (the SDK knows the registry accounts)."""
    if given:
        return given
    try:
        from sagemaker import image_uris
    except ImportError as exc:
        raise BuildError("The SageMaker Python SDK is needed to look up the Model Monitor image "
                         "(pip install 'sagemaker<3'), or pass --monitor-image-uri.") from exc
    return image_uris.retrieve(framework="model-monitor", region=region)


def stage_config(args: argparse.Namespace, package: dict[str, Any], found: dict[str, tuple[str, str]],
                 image: str, stage: str, settings: dict[str, Any]) -> dict[str, Any]:
    project = args.sagemaker_project_name
    prefix = f"s3://{args.monitor_outputs_bucket}/{project}"
    data_stats, data_constraints = found["ModelDataQuality"]
    model_constraints = found["ModelQuality"][1]
    parameters = {
        "SageMakerProjectName": project,
        "SageMakerProjectId": args.sagemaker_project_id,
        "StageName": stage,
        "EndpointName": ENDPOINT_NAME.format(project=project, stage=stage),
        "ModelPackageArn": package["ModelPackageArn"],
        "MonitorRoleArn": args.monitor_role_arn,
        "MonitorImageUri": image,
        "MonitoringOutputUri": f"{prefix}/monitoring-{stage}",
        "DataQualityBaselineStatisticsUri": data_stats,
        "DataQualityBaselineConstraintsUri": data_constraints,
        "ModelQualityBaselineConstraintsUri": model_constraints,
        "GroundTruthUri": f"{prefix}/ground-truth-{stage}",
        **{key: str(value) for key, value in (settings.get("Parameters") or {}).items()},
    }
    return {
        "Parameters": parameters,
        "Tags": {
            "sagemaker:project-name": project,
            "sagemaker:project-id": args.sagemaker_project_id,
            **(settings.get("Tags") or {}),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sagemaker-project-name", required=True)
    parser.add_argument("--sagemaker-project-id", required=True)
    parser.add_argument("--model-package-group-name", default="", help="default: <project-name>-<project-id>")
    parser.add_argument("--monitor-role-arn", required=True, help="the role the monitoring jobs run as")
    parser.add_argument("--monitor-outputs-bucket", required=True, help="where monitoring reports go")
    parser.add_argument("--region", default="")
    parser.add_argument("--monitor-image-uri", default="", help="default: the region's Model Monitor analyzer")
    parser.add_argument("--template", default="model-monitor-template.yml")
    parser.add_argument("--export-template", default="model-monitor-template-export.yml")
    parser.add_argument("--export-staging-config", default="staging-monitoring-schedule-config-export.json")
    parser.add_argument("--export-prod-config", default="prod-monitoring-schedule-config-export.json")
    args = parser.parse_args(argv)
    group = args.model_package_group_name or f"{args.sagemaker_project_name}-{args.sagemaker_project_id}"
    session = boto3.Session(region_name=args.region or None)
    try:
        package = newest_approved_package(session.client("sagemaker"), group)
        found = baselines(package)
        image = monitor_image(session.region_name, args.monitor_image_uri)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Monitoring with the baselines of {package['ModelPackageArn']}")
    for kind, (statistics, constraints) in found.items():
        print(f"  {kind}: {'statistics ' + statistics + ', constraints ' + constraints if constraints else 'none'}")
    exports = {"staging": args.export_staging_config, "prod": args.export_prod_config}
    for stage in STAGES:
        with open(f"{stage}-config.json") as fh:
            settings = json.load(fh)
        with open(exports[stage], "w") as fh:
            json.dump(stage_config(args, package, found, image, stage, settings), fh, indent=2)
    if args.export_template != args.template:
        shutil.copyfile(args.template, args.export_template)
    return 0


if __name__ == "__main__":
    sys.exit(main())
