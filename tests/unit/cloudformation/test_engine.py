"""The stack engine end to end, in process: create, update, replacement, rollback, delete."""

from __future__ import annotations

import pytest

from seedbed.errors import ServiceError
from tests.unit.cloudformation.conftest import Cfn, run

VPC = {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}


def test_create_update_delete_with_events(cfn: Cfn) -> None:
    async def scenario() -> None:
        tpl = {
            "Parameters": {"Env": {"Type": "String", "AllowedValues": ["dev", "prod"], "Default": "dev"}},
            "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
            "Resources": {
                "Data": {"Type": "AWS::S3::Bucket", "Properties": {"Tags": [{"Key": "env", "Value": {"Ref": "Env"}}]}},
                "Vpc": VPC,
                "Sub": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": {"Fn::Select": [0, {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}]}}},
                "ProdOnly": {"Type": "AWS::EC2::VPC", "Condition": "IsProd", "Properties": {"CidrBlock": "10.9.0.0/16"}},
            },
            "Outputs": {
                "BucketArn": {"Value": {"Fn::GetAtt": ["Data", "Arn"]}, "Export": {"Name": "data-arn"}},
                "SubnetCidr": {"Value": {"Fn::GetAtt": ["Sub", "CidrBlock"]}},
            },
        }
        stack = await cfn.deploy("app", tpl)
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        assert outputs["SubnetCidr"] == "10.0.0.0/24"
        bucket = outputs["BucketArn"].split(":::")[1]
        assert bucket in await cfn.buckets() and bucket.startswith("app-data-")
        events = await cfn.events("app")
        assert events[0] == ("app", "CREATE_IN_PROGRESS") and events[-1] == ("app", "CREATE_COMPLETE")
        assert events.index(("Vpc", "CREATE_COMPLETE")) < events.index(("Sub", "CREATE_IN_PROGRESS"))
        assert "ProdOnly" not in await cfn.resources("app")

        stack = await cfn.update("app", tpl, {"Env": "prod"})
        assert stack["StackStatus"] == "UPDATE_COMPLETE"
        res = await cfn.resources("app")
        assert res["ProdOnly"]["ResourceStatus"] == "CREATE_COMPLETE"
        assert res["Data"]["ResourceStatus"] == "UPDATE_COMPLETE"
        tags = await cfn.call("GetBucketTagging", service="s3", Bucket=bucket)
        assert tags["TagSet"] == [{"Key": "env", "Value": "prod"}]

        with pytest.raises(ServiceError, match="No updates are to be performed"):
            await cfn.call("UpdateStack", StackName="app", TemplateBody=__import__("json").dumps(tpl),
                           Parameters=[{"ParameterKey": "Env", "UsePreviousValue": True}])
        stack = await cfn.delete("app")
        assert stack["StackStatus"] == "DELETE_COMPLETE"
        assert bucket not in await cfn.buckets()
        assert (await cfn.call("ListExports"))["Exports"] == []

    run(scenario())


def test_replacement_follows_create_only_properties(cfn: Cfn) -> None:
    async def scenario() -> None:
        tpl = {"Resources": {"Vpc": VPC, "Keep": {"Type": "AWS::EC2::VPC", "UpdateReplacePolicy": "Retain", "Properties": {"CidrBlock": "10.1.0.0/16"}}}}
        await cfn.deploy("net", tpl)
        before = {k: v["PhysicalResourceId"] for k, v in (await cfn.resources("net")).items()}
        tpl["Resources"]["Vpc"] = {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.2.0.0/16", "Tags": [{"Key": "a", "Value": "b"}]}}
        tpl["Resources"]["Keep"]["Properties"]["CidrBlock"] = "10.3.0.0/16"
        stack = await cfn.update("net", tpl)
        assert stack["StackStatus"] == "UPDATE_COMPLETE"
        after = {k: v["PhysicalResourceId"] for k, v in (await cfn.resources("net")).items()}
        assert after["Vpc"] != before["Vpc"] and after["Keep"] != before["Keep"]
        events = await cfn.call("DescribeStackEvents", StackName="net")
        seen = [(e["LogicalResourceId"], e["PhysicalResourceId"], e["ResourceStatus"]) for e in events["StackEvents"]]
        assert ("Vpc", before["Vpc"], "DELETE_COMPLETE") in seen
        assert ("Keep", before["Keep"], "DELETE_SKIPPED") in seen
        reasons = [e.get("ResourceStatusReason", "") for e in events["StackEvents"]]
        assert any("requires the creation of a new physical resource" in r for r in reasons)
        # tags only: updated in place, same physical id
        tpl["Resources"]["Vpc"]["Properties"]["Tags"] = [{"Key": "a", "Value": "c"}]
        await cfn.update("net", tpl)
        assert (await cfn.resources("net"))["Vpc"]["PhysicalResourceId"] == after["Vpc"]

    run(scenario())


def test_custom_named_resource_cannot_be_replaced(cfn: Cfn) -> None:
    async def scenario() -> None:
        tpl = {"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "fixed-name-bucket", "ObjectLockEnabled": False}}}}
        await cfn.deploy("named", tpl)
        tpl["Resources"]["B"]["Properties"]["BucketNamePrefix"] = "x"
        stack = await cfn.update("named", tpl)
        assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
        out = await cfn.call("DescribeStackEvents", StackName="named")
        assert any("custom-named resource requires replacing" in e.get("ResourceStatusReason", "") for e in out["StackEvents"])
        assert "fixed-name-bucket" in await cfn.buckets()

    run(scenario())


def test_create_failure_rolls_back(cfn: Cfn) -> None:
    async def scenario() -> None:
        await cfn.call("CreateBucket", service="s3", Bucket="taken-bucket-name")
        tpl = {"Resources": {"Ok": {"Type": "AWS::S3::Bucket"}, "Vpc": VPC,
                             "Clash": {"Type": "AWS::S3::Bucket", "DependsOn": "Ok", "Properties": {"BucketName": "taken-bucket-name"}}}}
        stack = await cfn.deploy("fails", tpl)
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        assert "Clash" in stack["StackStatusReason"]
        res = await cfn.resources("fails")
        assert res["Ok"]["ResourceStatus"] == "DELETE_COMPLETE"
        assert {b for b in await cfn.buckets() if b.startswith("fails-")} == set()
        assert "taken-bucket-name" in await cfn.buckets()  # never ours: not deleted by the rollback
        events = await cfn.events("fails")
        assert ("Clash", "CREATE_FAILED") in events and events[-1] == ("fails", "ROLLBACK_COMPLETE")

        stack = await cfn.deploy("kept", tpl, DisableRollback=True)
        assert stack["StackStatus"] == "CREATE_FAILED"
        assert (await cfn.resources("kept"))["Ok"]["ResourceStatus"] == "CREATE_COMPLETE"
        assert (await cfn.delete("kept"))["StackStatus"] == "DELETE_COMPLETE"

    run(scenario())


def test_update_failure_rolls_back_to_previous_state(cfn: Cfn) -> None:
    async def scenario() -> None:
        await cfn.call("CreateBucket", service="s3", Bucket="someone-elses-bucket")
        tpl = {"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"Tags": [{"Key": "v", "Value": "1"}]}}}}
        await cfn.deploy("upd", tpl)
        bucket = (await cfn.resources("upd"))["B"]["PhysicalResourceId"]
        bad = {"Resources": {
            "B": {"Type": "AWS::S3::Bucket", "Properties": {"Tags": [{"Key": "v", "Value": "2"}]}},
            "New": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Clash": {"Type": "AWS::S3::Bucket", "DependsOn": ["B", "New"], "Properties": {"BucketName": "someone-elses-bucket"}},
        }}
        stack = await cfn.update("upd", bad)
        assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
        res = await cfn.resources("upd")
        assert set(res) == {"B"}
        tags = await cfn.call("GetBucketTagging", service="s3", Bucket=bucket)
        assert tags["TagSet"] == [{"Key": "v", "Value": "1"}]
        got = await cfn.call("GetTemplate", StackName="upd")
        assert '"1"' in got["TemplateBody"]

    run(scenario())


def test_deletion_policy_retain_and_termination_protection(cfn: Cfn) -> None:
    async def scenario() -> None:
        tpl = {"Resources": {"B": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}}}
        await cfn.deploy("ret", tpl, EnableTerminationProtection=True)
        with pytest.raises(ServiceError, match="TerminationProtection"):
            await cfn.call("DeleteStack", StackName="ret")
        await cfn.call("UpdateTerminationProtection", StackName="ret", EnableTerminationProtection=False)
        bucket = (await cfn.resources("ret"))["B"]["PhysicalResourceId"]
        assert (await cfn.delete("ret"))["StackStatus"] == "DELETE_COMPLETE"
        assert bucket in await cfn.buckets()

    run(scenario())


def test_validation_happens_before_anything_is_created(cfn: Cfn) -> None:
    async def scenario() -> None:
        tpl = {"Resources": {"B": {"Type": "AWS::S3::Bucket"}, "Q": {"Type": "AWS::SQS::Queue", "Properties": {}},
                             "T": {"Type": "AWS::SNS::Topic", "Properties": {}}}}
        with pytest.raises(ServiceError, match=r"cannot create these resource types yet: \[AWS::SNS::Topic, AWS::SQS::Queue\]"):
            await cfn.deploy("nope", tpl)
        with pytest.raises(ServiceError, match=r"Unrecognized resource types: \[AWS::Nope::Thing\]"):
            await cfn.deploy("nope", {"Resources": {"X": {"Type": "AWS::Nope::Thing"}}})
        with pytest.raises(ServiceError, match="Properties validation failed"):
            await cfn.deploy("nope", {"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"NoSuchProperty": 1}}}})
        with pytest.raises(ServiceError, match="does not support attribute type Nope"):
            await cfn.deploy("nope", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}, "Outputs": {"O": {"Value": {"Fn::GetAtt": ["B", "Nope"]}}}})
        with pytest.raises(ServiceError, match="Circular dependency"):
            await cfn.deploy("nope", {"Resources": {"A": {"Type": "AWS::EC2::VPC", "DependsOn": "B", "Properties": {"CidrBlock": "10.0.0.0/16"}},
                                                    "B": {"Type": "AWS::EC2::VPC", "DependsOn": "A", "Properties": {"CidrBlock": "10.0.0.0/16"}}}})
        with pytest.raises(ServiceError, match=r"Requires capabilities : \[CAPABILITY_NAMED_IAM\]"):
            await cfn.deploy("nope", {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x", "AssumeRolePolicyDocument": {}}}}})
        assert await cfn.buckets() == set()
        assert (await cfn.call("ListStacks"))["StackSummaries"] == []

    run(scenario())


def test_exports_imports_and_nested_stacks(cfn: Cfn) -> None:
    async def scenario() -> None:
        child = {"Parameters": {"Cidr": {"Type": "String"}}, "Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Ref": "Cidr"}}}},
                 "Outputs": {"VpcId": {"Value": {"Ref": "Vpc"}}}}
        await cfn.call("CreateBucket", service="s3", Bucket="templates")
        await cfn.call("PutObject", service="s3", Bucket="templates", Key="child.json", Body=__import__("json").dumps(child).encode())
        parent = {"Resources": {"Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {
            "TemplateURL": "https://templates.s3.amazonaws.com/child.json", "Parameters": {"Cidr": "10.5.0.0/16"}}}},
            "Outputs": {"Vpc": {"Value": {"Fn::GetAtt": ["Child", "Outputs.VpcId"]}, "Export": {"Name": "shared-vpc"}}}}
        stack = await cfn.deploy("parent", parent)
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack
        vpc = stack["Outputs"][0]["OutputValue"]
        assert vpc.startswith("vpc-")
        stacks = (await cfn.call("ListStacks"))["StackSummaries"]
        child_row = [s for s in stacks if s.get("ParentId") == stack["StackId"]]
        assert child_row and child_row[0]["StackStatus"] == "CREATE_COMPLETE"
        user = {"Resources": {"Sub": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Fn::ImportValue": "shared-vpc"}, "CidrBlock": "10.5.1.0/24"}}}}
        await cfn.deploy("user", user)
        assert (await cfn.call("ListImports", ExportName="shared-vpc"))["Imports"] == ["user"]
        with pytest.raises(ServiceError, match="in use by user"):
            await cfn.call("DeleteStack", StackName="parent")
        await cfn.delete("user")
        assert (await cfn.delete("parent"))["StackStatus"] == "DELETE_COMPLETE"
        described = await cfn.call("DescribeStacks", StackName=child_row[0]["StackId"])
        assert described["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"

    run(scenario())


def test_change_sets(cfn: Cfn) -> None:
    async def scenario() -> None:
        import json

        tpl = {"Resources": {"Vpc": VPC}}
        out = await cfn.call("CreateChangeSet", StackName="cs", ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=json.dumps(tpl))
        desc = await cfn.call("DescribeChangeSet", ChangeSetName=out["Id"])
        assert desc["Status"] == "CREATE_COMPLETE" and desc["ExecutionStatus"] == "AVAILABLE"
        assert desc["Changes"][0]["ResourceChange"]["Action"] == "Add"
        assert (await cfn.call("DescribeStacks", StackName="cs"))["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
        await cfn.call("ExecuteChangeSet", ChangeSetName="first", StackName="cs")
        assert (await cfn.wait("cs"))["StackStatus"] == "CREATE_COMPLETE"

        tpl2 = {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.7.0.0/16"}}, "Vpc2": VPC}}
        await cfn.call("CreateChangeSet", StackName="cs", ChangeSetName="second", TemplateBody=json.dumps(tpl2))
        desc = await cfn.call("DescribeChangeSet", ChangeSetName="second", StackName="cs")
        changes = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in desc["Changes"]}
        assert changes["Vpc"]["Action"] == "Modify" and changes["Vpc"]["Replacement"] == "True"
        assert changes["Vpc2"]["Action"] == "Add"
        await cfn.call("ExecuteChangeSet", ChangeSetName="second", StackName="cs")
        assert (await cfn.wait("cs"))["StackStatus"] == "UPDATE_COMPLETE"

        await cfn.call("CreateChangeSet", StackName="cs", ChangeSetName="same", TemplateBody=json.dumps(tpl2))
        desc = await cfn.call("DescribeChangeSet", ChangeSetName="same", StackName="cs")
        assert desc["Status"] == "FAILED" and "didn't contain changes" in desc["StatusReason"]

    run(scenario())


def test_stack_role_is_assumed_and_iam_enforced(cfn: Cfn) -> None:
    async def scenario() -> None:
        import json

        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        role = await cfn.call("CreateRole", service="iam", RoleName="StackRole", AssumeRolePolicyDocument=json.dumps(trust))
        arn = role["Role"]["Arn"]
        stack = await cfn.deploy("denied", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}, RoleARN=arn)
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        events = await cfn.call("DescribeStackEvents", StackName="denied")
        reasons = " ".join(e.get("ResourceStatusReason", "") for e in events["StackEvents"])
        assert "AccessDenied" in reasons and "assumed-role/StackRole/AWSCloudFormation-denied" in reasons
        allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        await cfn.call("PutRolePolicy", service="iam", RoleName="StackRole", PolicyName="s3", PolicyDocument=json.dumps(allow))
        stack = await cfn.deploy("allowed", {"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}, RoleARN=arn)
        assert stack["StackStatus"] == "CREATE_COMPLETE" and stack["RoleARN"] == arn
        with pytest.raises(ServiceError, match="cannot be assumed"):
            await cfn.deploy("bad-role", {"Resources": {"V": VPC}}, RoleARN="arn:aws:iam::000000000000:role/Missing")
        untrusting = await cfn.call("CreateRole", service="iam", RoleName="NoTrust", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        with pytest.raises(ServiceError, match="cannot be assumed"):
            await cfn.deploy("no-trust", {"Resources": {"V": VPC}}, RoleARN=untrusting["Role"]["Arn"])

    run(scenario())


ROLES_TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Description: Roles and policies in the style of the SageMaker projects roles template
Parameters:
  ExecutionRoleArn:
    Type: String
Resources:
  LaunchRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: ProjectsLaunchRole
      Path: /service-role/
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {AWS: !Ref ExecutionRoleArn}
            Action: sts:AssumeRole
          - Effect: Allow
            Principal: {Service: cloudformation.amazonaws.com}
            Action: sts:AssumeRole
      ManagedPolicyArns:
        - !Ref LaunchPolicy
      Policies:
        - PolicyName: inline
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - {Effect: Allow, Action: 's3:GetObject', Resource: !Sub 'arn:${AWS::Partition}:s3:::sagemaker-*'}
  LaunchPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      ManagedPolicyName: ProjectsLaunchPolicy
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Action: [cloudformation:CreateStack]
            Resource: !Sub 'arn:aws:cloudformation:*:${AWS::AccountId}:stack/SP-*'
  Extra:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: extra
      Roles: [!Ref LaunchRole]
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - {Effect: Allow, Action: 'sts:GetCallerIdentity', Resource: '*'}
Outputs:
  LaunchRoleArn:
    Value: !GetAtt LaunchRole.Arn
"""


def test_iam_roles_template_creates_updates_and_deletes(cfn: Cfn) -> None:
    async def scenario() -> None:
        with pytest.raises(ServiceError, match="CAPABILITY_NAMED_IAM"):
            await cfn.deploy("roles", ROLES_TEMPLATE, {"ExecutionRoleArn": "arn:aws:iam::000000000000:root"})
        stack = await cfn.deploy("roles", ROLES_TEMPLATE, {"ExecutionRoleArn": "arn:aws:iam::000000000000:root"}, Capabilities=["CAPABILITY_NAMED_IAM"])
        assert stack["StackStatus"] == "CREATE_COMPLETE", await cfn.events("roles")
        assert stack["Outputs"][0]["OutputValue"] == "arn:aws:iam::000000000000:role/service-role/ProjectsLaunchRole"
        attached = await cfn.call("ListAttachedRolePolicies", service="iam", RoleName="ProjectsLaunchRole")
        assert [p["PolicyName"] for p in attached["AttachedPolicies"]] == ["ProjectsLaunchPolicy"]
        inline = await cfn.call("ListRolePolicies", service="iam", RoleName="ProjectsLaunchRole")
        assert sorted(inline["PolicyNames"]) == ["extra", "inline"]
        updated = ROLES_TEMPLATE.replace("cloudformation:CreateStack]", "cloudformation:CreateStack, cloudformation:DeleteStack]")
        stack = await cfn.update("roles", updated, {"ExecutionRoleArn": "arn:aws:iam::000000000000:root"}, Capabilities=["CAPABILITY_NAMED_IAM"])
        assert stack["StackStatus"] == "UPDATE_COMPLETE", await cfn.events("roles")
        policy = await cfn.call("GetPolicy", service="iam", PolicyArn="arn:aws:iam::000000000000:policy/ProjectsLaunchPolicy")
        assert policy["Policy"]["DefaultVersionId"] == "v2"
        assert (await cfn.delete("roles"))["StackStatus"] == "DELETE_COMPLETE"
        with pytest.raises(ServiceError):
            await cfn.call("GetRole", service="iam", RoleName="ProjectsLaunchRole")

    run(scenario())
