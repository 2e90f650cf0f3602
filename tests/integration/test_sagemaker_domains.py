"""Domains, user profiles, tags on SageMaker ARNs, the Studio login link, and ListProjects'
filters, sort and pagination."""

from __future__ import annotations

import uuid

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveServer


def test_domain_and_user_profile_lifecycle(server: LiveServer) -> None:
    sm = server.client("sagemaker")
    account = server.client("sts").get_caller_identity()["Account"]
    role = f"arn:aws:iam::{account}:role/service-role/SomeExecutionRole"
    name = f"dom-{uuid.uuid4().hex[:6]}"
    out = sm.create_domain(DomainName=name, AuthMode="IAM", DefaultUserSettings={"ExecutionRole": role},
                           SubnetIds=["subnet-1"], VpcId="vpc-1", Tags=[{"Key": "env", "Value": "test"}])
    domain_id = out["DomainId"]
    assert domain_id.startswith("d-") and len(domain_id) == 14
    assert out["DomainArn"] == f"arn:aws:sagemaker:{server.region}:{account}:domain/{domain_id}"
    described = sm.describe_domain(DomainId=domain_id)
    assert described["Status"] == "InService" and described["DefaultUserSettings"]["ExecutionRole"] == role
    assert described["Url"].startswith(server.endpoint)
    assert domain_id in [d["DomainId"] for d in sm.list_domains()["Domains"]]
    with pytest.raises(ClientError) as dup:
        sm.create_domain(DomainName=name, AuthMode="IAM", DefaultUserSettings={"ExecutionRole": role}, SubnetIds=["s"], VpcId="v")
    assert dup.value.response["Error"]["Code"] == "ResourceInUse"
    sm.update_domain(DomainId=domain_id, DefaultUserSettings={"ExecutionRole": role + "2"})
    assert sm.describe_domain(DomainId=domain_id)["DefaultUserSettings"]["ExecutionRole"] == role + "2"

    arn = sm.create_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={"ExecutionRole": role})["UserProfileArn"]
    assert arn.endswith(f":user-profile/{domain_id}/alice")
    assert sm.describe_user_profile(DomainId=domain_id, UserProfileName="alice")["UserSettings"]["ExecutionRole"] == role
    assert [p["UserProfileName"] for p in sm.list_user_profiles(DomainIdEquals=domain_id)["UserProfiles"]] == ["alice"]
    url = sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName="alice")["AuthorizedUrl"]
    assert url.startswith(f"{server.endpoint}/_seedbed/studio/{domain_id}/auth?token=")
    opened = httpx.get(url)  # signs in to the web UI (tests/integration/test_studio.py) once
    assert opened.status_code == 303 and "seedbed_studio=" in opened.headers["set-cookie"]

    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a", "Value": "3"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]
    sm.delete_tags(ResourceArn=arn, TagKeys=["a"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as missing:
        sm.list_tags(ResourceArn=f"arn:aws:sagemaker:{server.region}:{account}:domain/d-000000000000")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"

    with pytest.raises(ClientError) as busy:
        sm.delete_domain(DomainId=domain_id)
    assert busy.value.response["Error"]["Code"] == "ResourceInUse"
    sm.delete_user_profile(DomainId=domain_id, UserProfileName="alice")
    sm.delete_domain(DomainId=domain_id)
    with pytest.raises(ClientError) as gone:
        sm.describe_domain(DomainId=domain_id)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFound"


def test_list_projects_filters_sort_and_pages(server: LiveServer) -> None:
    sm = server.client("sagemaker")
    s3 = server.client("s3")
    bucket = f"sm-list-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="t.yml", Body=b"Parameters:\n  SageMakerProjectName: {Type: String}\n"
                  b"  SageMakerProjectId: {Type: String}\nConditions:\n  Never: !Equals [a, b]\nResources:\n"
                  b"  Nothing:\n    Type: AWS::SSM::Parameter\n    Condition: Never\n    Properties: {Type: String, Value: x}\n")
    url = f"https://{bucket}.s3.{server.region}.amazonaws.com/t.yml"
    tag = uuid.uuid4().hex[:5]
    names = [f"lp{tag}-{i}" for i in range(5)]
    for name in names:
        sm.create_project(ProjectName=name, TemplateProviders=[{"CfnTemplateProvider": {"TemplateName": "t", "TemplateURL": url}}])
    seen: list[str] = []
    kwargs = {"NameContains": f"lp{tag}", "SortBy": "Name", "SortOrder": "Ascending", "MaxResults": 2}
    while True:
        page = sm.list_projects(**kwargs)
        seen += [p["ProjectName"] for p in page["ProjectSummaryList"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == names
    newest = sm.list_projects(NameContains=f"lp{tag}", MaxResults=1)["ProjectSummaryList"][0]
    assert newest["ProjectName"] == names[-1]
    with pytest.raises(ClientError) as dup:
        sm.create_project(ProjectName=names[0], TemplateProviders=[{"CfnTemplateProvider": {"TemplateName": "t", "TemplateURL": url}}])
    assert dup.value.response["Error"]["Code"] == "ValidationException"
