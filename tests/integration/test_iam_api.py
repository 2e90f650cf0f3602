"""The IAM API with boto3: users, groups, roles, policies and versions, attachments, instance
profiles, service-linked roles, account authorization details, the simulator, and the errors."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveServer

ACCOUNT = "000000000000"
TRUST = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
)


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


S3_READ = doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"})


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.fixture
def iam(server: LiveServer) -> Any:
    return server.client("iam")


def test_user_lifecycle_with_tags_boundary_and_rename(iam: Any) -> None:
    name = unique("u")
    user = iam.create_user(
        UserName=name,
        Path="/team/",
        Tags=[{"Key": "team", "Value": "ml"}],
        PermissionsBoundary="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    )["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/{name}"
    got = iam.get_user(UserName=name)["User"]
    assert got["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert got["PermissionsBoundary"]["PermissionsBoundaryArn"] == "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    iam.tag_user(UserName=name, Tags=[{"Key": "owner", "Value": "a"}])
    assert {t["Key"] for t in iam.list_user_tags(UserName=name)["Tags"]} == {"team", "owner"}
    iam.untag_user(UserName=name, TagKeys=["owner"])
    iam.delete_user_permissions_boundary(UserName=name)
    assert "PermissionsBoundary" not in iam.get_user(UserName=name)["User"]
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName=name.upper())
    assert code(exc) == "EntityAlreadyExists"
    new = unique("renamed")
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=S3_READ)
    iam.update_user(UserName=name, NewUserName=new)
    assert iam.list_user_policies(UserName=new)["PolicyNames"] == ["p"]
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=new)
    assert code(exc) == "DeleteConflict"
    iam.delete_user_policy(UserName=new, PolicyName="p")
    iam.delete_user(UserName=new)
    with pytest.raises(ClientError) as exc:
        iam.get_user(UserName=new)
    assert code(exc) == "NoSuchEntity"


def test_groups_and_membership(iam: Any) -> None:
    group, user = unique("g"), unique("u")
    iam.create_group(GroupName=group, Path="/ds/")
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    iam.put_group_policy(GroupName=group, PolicyName="read", PolicyDocument=S3_READ)
    assert iam.get_group_policy(GroupName=group, PolicyName="read")["PolicyDocument"]["Statement"][0]["Effect"] == "Allow"
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/job-function/DataScientist")
    with pytest.raises(ClientError) as exc:
        iam.delete_group(GroupName=group)
    assert code(exc) == "DeleteConflict"
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_group_policy(GroupName=group, PolicyName="read")
    iam.detach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/job-function/DataScientist")
    iam.delete_group(GroupName=group)


def test_role_fields_and_updates(iam: Any) -> None:
    name = unique("r")
    role = iam.create_role(
        RoleName=name,
        Path="/service-role/",
        AssumeRolePolicyDocument=TRUST,
        Description="use role",
        MaxSessionDuration=7200,
        Tags=[{"Key": "sagemaker:project", "Value": "p"}],
        PermissionsBoundary="arn:aws:iam::aws:policy/PowerUserAccess",
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/service-role/{name}"
    got = iam.get_role(RoleName=name)["Role"]
    assert got["MaxSessionDuration"] == 7200 and got["Description"] == "use role"
    assert got["Tags"] == [{"Key": "sagemaker:project", "Value": "p"}]
    assert got["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"] == "sagemaker.amazonaws.com"
    iam.update_role(RoleName=name, MaxSessionDuration=3600, Description="changed")
    assert iam.get_role(RoleName=name)["Role"]["Description"] == "changed"
    new_trust = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    )
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=new_trust)
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"] == "lambda.amazonaws.com"
    with pytest.raises(ClientError) as exc:
        iam.update_role(RoleName=name, MaxSessionDuration=50000)
    assert code(exc) == "ValidationError"
    iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
    assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == [
        {"PolicyName": "AmazonSageMakerFullAccess", "PolicyArn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"}
    ]
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName=name)
    assert code(exc) == "DeleteConflict"
    iam.detach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
    iam.delete_role(RoleName=name)


def test_malformed_policies_say_why(iam: Any) -> None:
    name = unique("r")
    cases = [
        ("{not json", "This policy contains invalid Json"),
        (doc({"Effect": "Allow", "Action": "s3:GetObject"}), "Policy statement must contain resources."),
        (doc({"Effect": "Allow", "Resource": "*"}), "Policy statement must contain actions."),
        (doc({"Effect": "Maybe", "Action": "s3:GetObject", "Resource": "*"}), "Invalid effect: Maybe"),
        (doc({"Effect": "Allow", "Action": "GetObject", "Resource": "*"}), "must be prefaced by a vendor"),
        (doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "bucket"}), "must be in ARN format"),
        (doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}), "should not specify a principal"),
        (doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEqualz": {"aws:username": "a"}}}), "Invalid Condition type : StringEqualz"),
        (doc({"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Sid": "A", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}), "SID"),
        (json.dumps({"Version": "2012-10-18", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}), "legacy parsing"),
    ]
    iam.create_user(UserName=name)
    for document, reason in cases:
        with pytest.raises(ClientError) as exc:
            iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document)
        assert code(exc) == "MalformedPolicyDocument"
        assert reason in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "*"}, "Resource": "*"}))
    assert "Has prohibited field Resource" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc({"Effect": "Allow", "Action": "sts:AssumeRole"}))
    assert "Missing required field Principal" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc({"Effect": "Allow", "Action": "s3:GetObject", "Principal": {"AWS": ACCOUNT}}))
    assert "AssumeRole policy may only specify STS AssumeRole actions." in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "nobody"}}))
    assert "Invalid principal in policy" in exc.value.response["Error"]["Message"]


def test_customer_managed_policy_versions(iam: Any) -> None:
    name = unique("policy")
    policy = iam.create_policy(PolicyName=name, Path="/projects/", PolicyDocument=S3_READ, Description="read", Tags=[{"Key": "k", "Value": "v"}])["Policy"]
    arn = policy["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/projects/{name}"
    assert policy["DefaultVersionId"] == "v1" and policy["AttachmentCount"] == 0
    for i in range(2, 6):
        version = iam.create_policy_version(PolicyArn=arn, PolicyDocument=S3_READ, SetAsDefault=i == 3)["PolicyVersion"]
        assert version["VersionId"] == f"v{i}"
    with pytest.raises(ClientError) as exc:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=S3_READ)
    assert code(exc) == "LimitExceeded"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    with pytest.raises(ClientError) as exc:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert code(exc) == "DeleteConflict"
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v5")
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v5")["PolicyVersion"]
    assert got["IsDefaultVersion"] and got["Document"]["Statement"][0]["Action"] == ["s3:GetObject", "s3:ListBucket"]
    role = unique("r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [role]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert any(p["Arn"] == arn for p in iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"])
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert code(exc) == "DeleteConflict"
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    for version_id in ("v1", "v2", "v3", "v4"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=version_id)
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.get_policy(PolicyArn=arn)
    assert code(exc) == "NoSuchEntity"
    with pytest.raises(ClientError) as exc:
        iam.create_policy(PolicyName=unique("big"), PolicyDocument=doc(*[{"Effect": "Allow", "Action": f"s3:Get{'x' * 40}{i}", "Resource": "*"} for i in range(120)]))
    assert code(exc) == "LimitExceeded"


def test_aws_managed_policies_have_their_real_documents(iam: Any) -> None:
    wanted = {
        "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
        "arn:aws:iam::aws:policy/job-function/DataScientist",
        "arn:aws:iam::aws:policy/AWSCodePipeline_FullAccess",
        "arn:aws:iam::aws:policy/AWSCloudFormationFullAccess",
        "arn:aws:iam::aws:policy/AWSCodeBuildAdminAccess",
        "arn:aws:iam::aws:policy/AmazonS3FullAccess",
        "arn:aws:iam::aws:policy/AWSLambda_FullAccess",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AmazonSageMakerPipelinesIntegrations",
        "arn:aws:iam::aws:policy/AmazonEventBridgeFullAccess",
    }
    for arn in wanted:
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
        version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
        statements = version["Document"]["Statement"]
        assert statements and version["IsDefaultVersion"]
    full = iam.get_policy_version(
        PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
        VersionId=iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")["Policy"]["DefaultVersionId"],
    )["PolicyVersion"]["Document"]
    assert any("sagemaker:*" in json.dumps(s) for s in full["Statement"])
    paths = iam.list_policies(Scope="AWS", PathPrefix="/job-function/")["Policies"]
    assert "DataScientist" in {p["PolicyName"] for p in paths}
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
    assert code(exc) == "InvalidInput"
    with pytest.raises(ClientError) as exc:
        iam.attach_user_policy(UserName="nobody", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicyAtAll")
    assert code(exc) == "NoSuchEntity"


def test_instance_profiles(iam: Any) -> None:
    profile, role = unique("ip"), unique("r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    created = iam.create_instance_profile(InstanceProfileName=profile, Path="/ml/")["InstanceProfile"]
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/ml/{profile}"
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    assert [r["RoleName"] for r in iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"]] == [role]
    assert [p["InstanceProfileName"] for p in iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]] == [profile]
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName=role)
    assert code(exc) == "DeleteConflict"
    with pytest.raises(ClientError) as exc:
        iam.delete_instance_profile(InstanceProfileName=profile)
    assert code(exc) == "DeleteConflict"
    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=profile)
    iam.delete_role(RoleName=role)


def test_service_linked_role(iam: Any) -> None:
    role = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=uuid.uuid4().hex[:6])["Role"]
    assert role["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"
    assert role["RoleName"].startswith("AWSServiceRoleForAutoScaling_")
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"] == ["autoscaling.amazonaws.com"]
    attached = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    assert attached[0]["PolicyArn"] == "arn:aws:iam::aws:policy/aws-service-role/AutoScalingServiceRolePolicy"
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName=role["RoleName"])
    assert code(exc) == "UnmodifiableEntity"
    task = iam.delete_service_linked_role(RoleName=role["RoleName"])["DeletionTaskId"]
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"


def test_account_authorization_details(iam: Any) -> None:
    user, group, role, policy = unique("u"), unique("g"), unique("r"), unique("p")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=S3_READ)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    arn = iam.create_policy(PolicyName=policy, PolicyDocument=S3_READ)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
    details = iam.get_account_authorization_details()
    users = {u["UserName"]: u for u in details["UserDetailList"]}
    assert users[user]["GroupList"] == [group]
    assert users[user]["UserPolicyList"][0]["PolicyDocument"]["Statement"][0]["Effect"] == "Allow"
    roles = {r["RoleName"]: r for r in details["RoleDetailList"]}
    assert {p["PolicyArn"] for p in roles[role]["AttachedManagedPolicies"]} == {arn, "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"}
    policies = {p["Arn"]: p for p in details["Policies"]}
    assert policies[arn]["PolicyVersionList"][0]["IsDefaultVersion"]
    assert "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess" in policies
    only_roles = iam.get_account_authorization_details(Filter=["Role"])
    assert not only_roles["UserDetailList"] and only_roles["RoleDetailList"]


def test_simulate_custom_policy_with_context(iam: Any) -> None:
    policy = doc(
        {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"},
        {
            "Sid": "DenyWithoutVpc",
            "Effect": "Deny",
            "Action": "sagemaker:CreateTrainingJob",
            "Resource": "*",
            "Condition": {"Null": {"sagemaker:VpcSubnets": "true"}},
        },
    )
    without = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["sagemaker:CreateTrainingJob"])["EvaluationResults"][0]
    assert without["EvalDecision"] == "explicitDeny"
    assert without["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    with_vpc = iam.simulate_custom_policy(
        PolicyInputList=[policy],
        ActionNames=["sagemaker:CreateTrainingJob"],
        ContextEntries=[{"ContextKeyName": "sagemaker:VpcSubnets", "ContextKeyValues": ["subnet-1"], "ContextKeyType": "stringList"}],
    )["EvaluationResults"][0]
    assert with_vpc["EvalDecision"] == "allowed"
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[policy])["ContextKeyNames"]
    assert keys == ["sagemaker:VpcSubnets"]
    bucket_policy = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}
    )
    result = iam.simulate_custom_policy(
        PolicyInputList=[doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})],
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::b/k"],
        ResourcePolicy=bucket_policy,
        CallerArn=f"arn:aws:iam::{ACCOUNT}:user/alice",
    )["EvaluationResults"][0]
    assert result["EvalDecision"] == "allowed"
    with pytest.raises(ClientError) as exc:
        iam.simulate_custom_policy(PolicyInputList=["{"], ActionNames=["s3:GetObject"])
    assert code(exc) == "MalformedPolicyDocument"


def test_simulate_principal_policy_with_boundary(iam: Any) -> None:
    user = unique("u")
    iam.create_user(UserName=user, PermissionsBoundary="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    results = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{user}", ActionNames=["s3:GetObject", "s3:PutObject"]
    )["EvaluationResults"]
    by_action = {r["EvalActionName"]: r for r in results}
    assert by_action["s3:GetObject"]["EvalDecision"] == "allowed"
    assert by_action["s3:PutObject"]["EvalDecision"] == "implicitDeny"
    assert by_action["s3:PutObject"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert by_action["s3:GetObject"]["MatchedStatements"][0]["SourcePolicyType"] == "aws-managed"
