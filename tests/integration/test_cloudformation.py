"""CloudFormation through real clients: boto3 waiters, ``aws cloudformation deploy``, templates
from S3 (path and virtual-host URLs, version ids), summaries with interface metadata."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.conftest import BIN, LiveServer

PROJECT_TEMPLATE = """\
Description: Toolchain template in the style of the SageMaker project templates.
Parameters:
  SageMakerProjectName:
    Type: String
    Description: Name of the project
    MinLength: 1
    MaxLength: 32
    AllowedPattern: ^[a-zA-Z](-*[a-zA-Z0-9])*
  SageMakerProjectId:
    Type: String
    NoEcho: true
    Description: Service generated Id of the project.
  Branch:
    Type: String
    Default: main
    AllowedValues: [main, dev]
Metadata:
  AWS::CloudFormation::Interface:
    ParameterGroups:
      - Label: {default: "Code Repository Info"}
        Parameters: [Branch]
    ParameterLabels:
      Branch: {default: "Branch"}
Conditions:
  OnMain: !Equals [!Ref Branch, main]
Resources:
  ArtifactsBucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    Properties:
      BucketName: !Sub sagemaker-project-${SageMakerProjectId}
      Tags:
        - {Key: sagemaker:project-name, Value: !Ref SageMakerProjectName}
  Config:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub /sagemaker/${SageMakerProjectName}/bucket
      Type: String
      Value: !If [OnMain, !GetAtt ArtifactsBucket.Arn, !Join ['', [!GetAtt ArtifactsBucket.Arn, '/dev']]]
Outputs:
  BucketArn:
    Value: !GetAtt ArtifactsBucket.Arn
"""


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def test_waiters_events_resources_and_retain(server: LiveServer) -> None:
    cf = server.client("cloudformation")
    name, pid = unique("SP-proj-"), unique("p")
    params = [{"ParameterKey": "SageMakerProjectName", "ParameterValue": "proj"}, {"ParameterKey": "SageMakerProjectId", "ParameterValue": pid}]
    stack_id = cf.create_stack(StackName=name, TemplateBody=PROJECT_TEMPLATE, Parameters=params)["StackId"]
    assert stack_id.startswith(f"arn:aws:cloudformation:{server.region}:000000000000:stack/{name}/")
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    shown = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert shown["SageMakerProjectId"] == "****" and shown["Branch"] == "main"
    assert stack["Outputs"][0]["OutputValue"] == f"arn:aws:s3:::sagemaker-project-{pid}"
    ssm = server.client("ssm")
    assert ssm.get_parameter(Name="/sagemaker/proj/bucket")["Parameter"]["Value"] == f"arn:aws:s3:::sagemaker-project-{pid}"
    resources = {r["LogicalResourceId"]: r for r in cf.describe_stack_resources(StackName=name)["StackResources"]}
    assert resources["ArtifactsBucket"]["PhysicalResourceId"] == f"sagemaker-project-{pid}"
    summaries = cf.list_stack_resources(StackName=name)["StackResourceSummaries"]
    assert {s["ResourceStatus"] for s in summaries} == {"CREATE_COMPLETE"}
    detail = cf.describe_stack_resource(StackName=name, LogicalResourceId="Config")["StackResourceDetail"]
    assert detail["PhysicalResourceId"] == "/sagemaker/proj/bucket"
    events = cf.describe_stack_events(StackName=name)["StackEvents"]
    assert events[0]["ResourceStatus"] == "CREATE_COMPLETE" and events[-1]["ResourceStatusReason"] == "User Initiated"
    assert cf.get_template(StackName=name)["TemplateBody"] == PROJECT_TEMPLATE

    cf.update_stack(StackName=name, UsePreviousTemplate=True, Parameters=[
        {"ParameterKey": "SageMakerProjectName", "UsePreviousValue": True},
        {"ParameterKey": "SageMakerProjectId", "UsePreviousValue": True},
        {"ParameterKey": "Branch", "ParameterValue": "dev"}])
    cf.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
    assert ssm.get_parameter(Name="/sagemaker/proj/bucket")["Parameter"]["Value"].endswith("/dev")

    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
    with pytest.raises(ClientError) as exc:
        cf.describe_stacks(StackName=name)
    assert exc.value.response["Error"]["Code"] == "ValidationError"
    assert cf.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert f"sagemaker-project-{pid}" in {b["Name"] for b in server.client("s3").list_buckets()["Buckets"]}
    with pytest.raises(ClientError):
        ssm.get_parameter(Name="/sagemaker/proj/bucket")


def test_failed_create_makes_the_waiter_fail(server: LiveServer) -> None:
    cf = server.client("cloudformation")
    s3 = server.client("s3")
    taken = unique("taken-")
    s3.create_bucket(Bucket=taken)
    name = unique("fail-")
    body = json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": taken}}}})
    cf.create_stack(StackName=name, TemplateBody=body)
    with pytest.raises(WaiterError):
        cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
    assert cf.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    assert taken in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_template_url_forms_and_summary(server: LiveServer) -> None:
    s3, cf = server.client("s3"), server.client("cloudformation")
    bucket = unique("templates-")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="t/project.yaml", Body=PROJECT_TEMPLATE.encode())["VersionId"]
    s3.put_object(Bucket=bucket, Key="t/project.yaml", Body=b"not: a template")
    urls = [
        f"{server.endpoint}/{bucket}/t/project.yaml?versionId={first}",
        f"https://{bucket}.s3.amazonaws.com/t/project.yaml?versionId={first}",
        f"https://{bucket}.s3.{server.region}.amazonaws.com/t/project.yaml?versionId={first}",
        f"https://s3.{server.region}.amazonaws.com/{bucket}/t/project.yaml?versionId={first}",
    ]
    for url in urls:
        summary = cf.get_template_summary(TemplateURL=url)
        assert [p["ParameterKey"] for p in summary["Parameters"]] == ["SageMakerProjectName", "SageMakerProjectId", "Branch"]
        branch = summary["Parameters"][2]
        assert branch["ParameterConstraints"] == {"AllowedValues": ["main", "dev"]} and branch["DefaultValue"] == "main"
        assert summary["Parameters"][1]["NoEcho"] is True
        meta = json.loads(summary["Metadata"])
        assert meta["AWS::CloudFormation::Interface"]["ParameterLabels"]["Branch"]["default"] == "Branch"
        assert summary["ResourceTypes"] == ["AWS::S3::Bucket", "AWS::SSM::Parameter"]
    validated = cf.validate_template(TemplateURL=urls[1])
    assert validated["Description"].startswith("Toolchain template")
    with pytest.raises(ClientError) as exc:
        cf.validate_template(TemplateURL=f"{server.endpoint}/{bucket}/t/project.yaml")
    assert exc.value.response["Error"]["Code"] == "ValidationError"


def test_aws_cli_deploy_with_change_sets(server: LiveServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    name = unique("cli-")
    template = tmp_path / "template.yaml"
    template.write_text(
        "Parameters:\n  Value: {Type: String}\nResources:\n  P:\n    Type: AWS::SSM::Parameter\n"
        f"    Properties: {{Name: /cli/{name}, Type: String, Value: !Ref Value}}\n"
    )
    env = dict(server.env, PATH=f"{BIN}:/usr/bin:/bin")

    def deploy(value: str) -> subprocess.CompletedProcess[str]:
        # The CLI names its change set after the current second; an executed change set keeps its
        # name on the stack (as on AWS), so two deploys in one second would collide there too.
        time.sleep(1.05)
        return subprocess.run(
            [str(BIN / "aws"), "cloudformation", "deploy", "--stack-name", name, "--template-file", str(template),
             "--parameter-overrides", f"Value={value}"],
            env=env, capture_output=True, text=True, timeout=120,
        )

    out = deploy("one")
    assert out.returncode == 0, out.stderr + out.stdout
    ssm = server.client("ssm")
    assert ssm.get_parameter(Name=f"/cli/{name}")["Parameter"]["Value"] == "one"
    out = deploy("two")
    assert out.returncode == 0, out.stderr + out.stdout
    assert ssm.get_parameter(Name=f"/cli/{name}")["Parameter"]["Value"] == "two"
    out = deploy("two")  # the CLI exits 255 on an empty change set, as against AWS
    assert out.returncode == 255 and "No changes to deploy" in out.stdout + out.stderr
    server.client("cloudformation").delete_stack(StackName=name)


TAGGED_TEMPLATE = """\
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      Tags:
        - {Key: team, Value: own}
  Setting:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: v
"""


def test_stack_tags_propagate_to_taggable_resources(server: LiveServer) -> None:
    cfn, s3, ssm = server.client("cloudformation"), server.client("s3"), server.client("ssm")
    name = f"tags-{uuid.uuid4().hex[:8]}"
    cfn.create_stack(StackName=name, TemplateBody=TAGGED_TEMPLATE,
                     Tags=[{"Key": "team", "Value": "stack"}, {"Key": "cost-center", "Value": "42"}])
    cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in cfn.describe_stack_resources(StackName=name)["StackResources"]}
    bucket_tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=physical["Bucket"])["TagSet"]}
    assert bucket_tags == {"team": "own", "cost-center": "42"}  # the resource's own tag wins
    parameter_tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=physical["Setting"])["TagList"]
    assert {t["Key"]: t["Value"] for t in parameter_tags} == {"team": "stack", "cost-center": "42"}
    cfn.delete_stack(StackName=name)
