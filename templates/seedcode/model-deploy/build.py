"""Write the CloudFormation template configurations of the staging and production endpoints for
the newest approved model package of the project's model package group.

Run by the model-deploy CodeBuild project; CodePipeline then deploys `endpoint-config-template.yml`
with `staging-config-export.json`, tests the staging endpoint (`test/`), waits for a manual approval,
and deploys it again with `prod-config-export.json`.

Data capture: with ``--enable-monitoring true`` each endpoint captures and its stack runs a data
quality schedule. Otherwise ``--enable-data-capture`` (``true``, ``false`` or ``auto``, the
default) says whether the endpoints capture their requests and responses for a separate monitor
stack: ``auto`` captures when the deployed package carries Model Monitor baselines
(``DriftCheckBaselines`` or ``ModelMetrics`` with ``ModelDataQuality``), as packages registered by
a monitored model-build pipeline do. An ``EnableDataCapture`` value in a stage's config file wins.
"""

from __future__ import annotations

import argparse
import json
import sys

import boto3


def newest_approved_package(sm, group: str) -> str:
    """The ARN of the most recent Approved package in ``group``."""
    response = sm.list_model_packages(
        ModelPackageGroupName=group, ModelApprovalStatus="Approved",
        SortBy="CreationTime", SortOrder="Descending", MaxResults=1,
    )
    packages = response["ModelPackageSummaryList"]
    if not packages:
        sys.exit(f"No approved model package in the group {group}: approve one in the model registry first.")
    return packages[0]["ModelPackageArn"]


def has_monitor_baselines(sm, package_arn: str) -> bool:
    """Whether the package carries a data quality baseline for Model Monitor."""
    package = sm.describe_model_package(ModelPackageName=package_arn)
    for section in (package.get("DriftCheckBaselines") or {}, package.get("ModelMetrics") or {}):
        quality = section.get("ModelDataQuality") or {}
        if (quality.get("Statistics") or {}).get("S3Uri") and (quality.get("Constraints") or {}).get("S3Uri"):
            return True
    return False


def monitoring(args: argparse.Namespace, stage: str, capture: bool) -> dict:
    """The endpoint stack's monitoring parameters: capture and reports under the artifact bucket."""
    prefix = f"s3://{args.artifact_bucket}/{args.sagemaker_project_name}"
    if args.enable_monitoring.lower() == "true":
        return {"EnableMonitoring": "true", "DataCaptureUploadPath": f"{prefix}/datacapture-{stage}",
                "MonitoringOutputPath": f"{prefix}/monitoring-{stage}"}
    if capture:
        return {"EnableDataCapture": "true", "DataCaptureUploadPath": f"{prefix}/datacapture-{stage}"}
    return {}


def wants_capture(args: argparse.Namespace, sm, package_arn: str, settings: dict) -> bool:
    """Data capture for a stage: its config file's ``EnableDataCapture``, else the option
    (``auto``: when the package has Model Monitor baselines)."""
    choice = str(settings.get("Parameters", {}).get("EnableDataCapture", args.enable_data_capture)).lower()
    if choice == "auto":
        choice = "true" if has_monitor_baselines(sm, package_arn) else "false"
    if choice not in ("true", "false"):
        sys.exit(f"EnableDataCapture must be true, false or auto, not {choice!r}.")
    if choice == "true" and not args.artifact_bucket:
        sys.exit("Data capture needs --artifact-bucket (the ARTIFACT_BUCKET variable) for the captured data.")
    return choice == "true"


def stage_config(args: argparse.Namespace, package_arn: str, stage: str, settings: dict, capture: bool) -> dict:
    return {
        "Parameters": {
            "SageMakerProjectName": args.sagemaker_project_name,
            "SageMakerProjectId": args.sagemaker_project_id,
            "ModelPackageName": package_arn,
            "ModelExecutionRoleArn": args.model_execution_role,
            "StageName": stage,
            "EndpointInstanceType": args.instance_type,
            **monitoring(args, stage, capture),
            **{key: str(value) for key, value in settings.get("Parameters", {}).items() if key != "EnableDataCapture"},
        },
        "Tags": {
            "sagemaker:project-name": args.sagemaker_project_name,
            "sagemaker:project-id": args.sagemaker_project_id,
            **settings.get("Tags", {}),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-execution-role", required=True)
    parser.add_argument("--model-package-group-name", required=True)
    parser.add_argument("--sagemaker-project-name", required=True)
    parser.add_argument("--sagemaker-project-id", required=True)
    parser.add_argument("--instance-type", default="ml.m5.large")
    parser.add_argument("--production-instance-count", default="1")
    parser.add_argument("--enable-monitoring", default="false", help="capture data and run a data-quality monitor")
    parser.add_argument("--artifact-bucket", default="", help="where captured data and monitor reports go")
    parser.add_argument("--enable-data-capture", default="auto", choices=("true", "false", "auto"),
                        help="capture requests and responses for a separate monitor (auto: when the package has baselines)")
    parser.add_argument("--export-staging-config", default="staging-config-export.json")
    parser.add_argument("--export-prod-config", default="prod-config-export.json")
    args = parser.parse_args()

    sm = boto3.client("sagemaker")
    package_arn = newest_approved_package(sm, args.model_package_group_name)
    print(f"Deploying {package_arn}")
    exports = {"staging": args.export_staging_config, "prod": args.export_prod_config}
    for stage, settings_file in (("staging", "staging-config.json"), ("prod", "prod-config.json")):
        with open(settings_file) as fh:
            settings = json.load(fh)
        if stage == "prod":
            settings.setdefault("Parameters", {})["EndpointInstanceCount"] = args.production_instance_count
        capture = wants_capture(args, sm, package_arn, settings)
        print(f"{stage}: data capture {'on' if capture or args.enable_monitoring.lower() == 'true' else 'off'}")
        with open(exports[stage], "w") as fh:
            json.dump(stage_config(args, package_arn, stage, settings, capture), fh, indent=2)


if __name__ == "__main__":
    main()
