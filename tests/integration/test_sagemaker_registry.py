"""The model registry as boto3, the AWS CLI and CloudFormation meet it."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.conftest import BIN, LiveServer

SPEC = {"Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                        "ModelDataUrl": "s3://bucket/model.tar.gz"}],
        "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}


def test_versions_approval_and_listing(server: LiveServer) -> None:
    sm = server.client("sagemaker")
    group = f"g{uuid.uuid4().hex[:8]}"
    arn = sm.create_model_package_group(ModelPackageGroupName=group, ModelPackageGroupDescription="abalone")["ModelPackageGroupArn"]
    assert arn == f"arn:aws:sagemaker:{server.region}:000000000000:model-package-group/{group}"
    first = sm.create_model_package(
        ModelPackageGroupName=group, InferenceSpecification=SPEC,
        ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://bucket/evaluation.json"}}},
        CustomerMetadataProperties={"owner": "ml"}, DriftCheckBaselines={"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://b/s.json"}}},
    )["ModelPackageArn"]
    second = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=SPEC)["ModelPackageArn"]
    assert first.endswith(f"model-package/{group}/1") and second.endswith(f"model-package/{group}/2")
    desc = sm.describe_model_package(ModelPackageName=first)
    assert desc["ModelApprovalStatus"] == "PendingManualApproval" and desc["ModelPackageStatus"] == "Completed"
    assert desc["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == "s3://bucket/evaluation.json"
    assert desc["ModelPackageStatusDetails"] == {"ValidationStatuses": [], "ImageScanStatuses": []}
    sm.update_model_package(ModelPackageArn=second, ModelApprovalStatus="Approved", ApprovalDescription="good enough")
    approved = sm.list_model_packages(ModelPackageGroupName=group, ModelApprovalStatus="Approved", SortBy="CreationTime",
                                      SortOrder="Descending")["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in approved] == [second]
    pages = sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group, PaginationConfig={"PageSize": 1})
    assert [p["ModelPackageVersion"] for page in pages for p in page["ModelPackageSummaryList"]] == [1, 2]
    with pytest.raises(ClientError) as err:
        sm.delete_model_package_group(ModelPackageGroupName=group)
    assert err.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(ClientError) as err:
        sm.describe_model_package(ModelPackageName=first + "9")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    out = subprocess.run([str(BIN / "aws"), "sagemaker", "list-model-package-groups", "--name-contains", group],
                         env=server.env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["ModelPackageGroupSummaryList"][0]["ModelPackageGroupArn"] == arn
    for package in (first, second):
        sm.delete_model_package(ModelPackageName=package)
    sm.delete_model_package_group(ModelPackageGroupName=group)


def test_cloudformation_group_and_pipeline(server: LiveServer) -> None:
    cfn, sm, iam = server.client("cloudformation"), server.client("sagemaker"), server.client("iam")
    suffix = uuid.uuid4().hex[:8]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"pl-{suffix}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    definition = {"Version": "2020-12-01", "Steps": [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "no"}}]}
    template = {"Resources": {
        "Group": {"Type": "AWS::SageMaker::ModelPackageGroup", "Properties": {"ModelPackageGroupName": f"cfn-{suffix}",
                                                                              "Tags": [{"Key": "k", "Value": "v"}]}},
        "Pipe": {"Type": "AWS::SageMaker::Pipeline", "Properties": {
            "PipelineName": f"cfn-{suffix}", "RoleArn": role,
            "PipelineDefinition": {"PipelineDefinitionBody": json.dumps(definition)}}},
    }, "Outputs": {"GroupArn": {"Value": {"Ref": "Group"}}, "Status": {"Value": {"Fn::GetAtt": ["Group", "ModelPackageGroupStatus"]}},
                   "Pipe": {"Value": {"Ref": "Pipe"}}}}
    cfn.create_stack(StackName=f"reg-{suffix}", TemplateBody=json.dumps(template))
    cfn.get_waiter("stack_create_complete").wait(StackName=f"reg-{suffix}", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=f"reg-{suffix}")["Stacks"][0]["Outputs"]}
    assert outputs["GroupArn"].endswith(f"model-package-group/cfn-{suffix}") and outputs["Status"] == "Completed"
    assert outputs["Pipe"] == f"cfn-{suffix}"
    assert sm.list_tags(ResourceArn=outputs["GroupArn"])["Tags"] == [{"Key": "k", "Value": "v"}]
    assert json.loads(sm.describe_pipeline(PipelineName=f"cfn-{suffix}")["PipelineDefinition"]) == definition
    cfn.delete_stack(StackName=f"reg-{suffix}")
    cfn.get_waiter("stack_delete_complete").wait(StackName=f"reg-{suffix}", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    with pytest.raises(ClientError):
        sm.describe_model_package_group(ModelPackageGroupName=f"cfn-{suffix}")
    with pytest.raises(ClientError):
        sm.describe_pipeline(PipelineName=f"cfn-{suffix}")
