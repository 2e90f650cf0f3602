"""The AWS walkthrough for SageMaker AI projects with S3 templates, command for command, against a
live server after ``eval "$(seedbed env)"``: bucket, CORS, template upload, visibility tag, domain
tag, the roles template with ``aws cloudformation deploy``, then boto3 CreateProject /
DescribeProject / UpdateProject / DeleteProject."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import BIN, LiveServer

TEMPLATES = Path(__file__).resolve().parents[1] / "unit" / "sagemaker" / "templates"
EXAMPLES = Path(__file__).resolve().parents[2] / "templates" / "examples"
CORS = {
    "CORSRules": [{
        "AllowedHeaders": ["*"],
        "AllowedMethods": ["POST", "PUT", "GET", "HEAD", "DELETE"],
        "AllowedOrigins": ["https://*.sagemaker.aws"],
        "ExposeHeaders": ["ETag", "x-amz-delete-marker", "x-amz-id-2", "x-amz-request-id",
                          "x-amz-server-side-encryption", "x-amz-version-id"],
    }]
}


def aws(server: LiveServer, command: str, cwd: Path) -> str:
    env = dict(server.env, PATH=f"{BIN}:/usr/bin:/bin")
    done = subprocess.run(["bash", "-c", f"aws {command}"], check=False, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"aws {command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def wait_status(sm: Any, name: str, wanted: set[str], timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        project = sm.describe_project(ProjectName=name)
        if project["ProjectStatus"] in wanted:
            return project
        assert time.monotonic() < deadline, project
        time.sleep(0.05)


def ensure_roles(server: LiveServer, tmp_path: Path) -> str:
    """Deploy the roles template once per server (``aws cloudformation deploy``, as documented)."""
    iam = server.client("iam")
    try:
        return iam.get_role(RoleName="AmazonSageMakerProjectsLaunchRole")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        pass
    (tmp_path / "roles.yml").write_text((EXAMPLES / "roles.yml").read_text())
    stack = f"sagemaker-projects-roles-{uuid.uuid4().hex[:6]}"
    aws(server, f"cloudformation deploy --template-file roles.yml --stack-name {stack} "
                "--capabilities CAPABILITY_NAMED_IAM", tmp_path)
    return iam.get_role(RoleName="AmazonSageMakerProjectsLaunchRole")["Role"]["Arn"]


def create_domain(server: LiveServer, role_arn: str) -> str:
    sm = server.client("sagemaker")
    return sm.create_domain(
        DomainName=f"dom-{uuid.uuid4().hex[:8]}", AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": role_arn}, SubnetIds=["subnet-1"], VpcId="vpc-1",
    )["DomainId"]


def test_walkthrough(server: LiveServer, tmp_path: Path) -> None:
    region = server.region
    account = aws(server, "sts get-caller-identity --query Account --output text", tmp_path).strip()
    bucket = f"sagemaker-projects-templates-{account}-{uuid.uuid4().hex[:6]}"
    aws(server, f"s3 mb s3://{bucket}", tmp_path)
    (tmp_path / "cors.json").write_text(json.dumps(CORS))
    aws(server, f"s3api put-bucket-cors --bucket {bucket} --cors-configuration file://cors.json", tmp_path)
    (tmp_path / "small-project.yml").write_text((EXAMPLES / "small-project.yml").read_text())
    aws(server, f"s3 cp small-project.yml s3://{bucket}/templates/small-project.yml", tmp_path)
    aws(server, f"s3api put-object-tagging --bucket {bucket} --key templates/small-project.yml "
                "--tagging 'TagSet=[{Key=sagemaker:studio-visibility,Value=true}]'", tmp_path)
    # An untagged object under the prefix stays out of the catalog.
    aws(server, f"s3 cp small-project.yml s3://{bucket}/templates/hidden.yml", tmp_path)

    launch_role = ensure_roles(server, tmp_path)
    assert launch_role == f"arn:aws:iam::{account}:role/service-role/AmazonSageMakerProjectsLaunchRole"
    execution_role = f"arn:aws:iam::{account}:role/service-role/AmazonSageMakerProjectsExecutionRole"

    domain_id = create_domain(server, execution_role)
    domain_arn = f"arn:aws:sagemaker:{region}:{account}:domain/{domain_id}"
    aws(server, f"sagemaker add-tags --resource-arn {domain_arn} "
                f"--tags Key=sagemaker:projectS3TemplatesLocation,Value=s3://{bucket}/templates/", tmp_path)
    sm = server.client("sagemaker")
    assert sm.describe_domain(DomainId=domain_id)["DefaultUserSettings"]["ExecutionRole"] == execution_role

    # The catalog, as Studio reads it (signed JSON endpoint; skipped until server/app.py routes it).
    catalog = signed_get(server, f"/_seedbed/catalog?domain={domain_id}")
    if catalog.status_code != 404:
        assert catalog.status_code == 200, catalog.text
        templates = catalog.json()["Templates"]
        assert [t["Key"] for t in templates] == ["templates/small-project.yml"]
        stage = next(p for p in templates[0]["Parameters"] if p["Name"] == "Stage")
        assert stage["Constraints"]["AllowedValues"] == ["dev", "staging", "prod"] and stage["Group"] == "Environment"

    url = f"https://{bucket}.s3.{region}.amazonaws.com/templates/small-project.yml"
    name = f"walk-{uuid.uuid4().hex[:6]}"
    created = sm.create_project(
        ProjectName=name, ProjectDescription="walkthrough",
        TemplateProviders=[{"CfnTemplateProvider": {
            "TemplateName": "small-project", "TemplateURL": url, "RoleARN": launch_role,
            "Parameters": [{"Key": "Stage", "Value": "staging"}],
        }}],
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    pid = created["ProjectId"]
    assert created["ProjectArn"] == f"arn:aws:sagemaker:{region}:{account}:project/{name}"
    assert pid.startswith("p-") and len(pid) == 14 and pid[2:].isalnum() and pid[2:].islower()
    project = wait_status(sm, name, {"CreateCompleted", "CreateFailed"})
    assert project["ProjectStatus"] == "CreateCompleted", project
    assert project["CreatedBy"]["DomainId"] == domain_id
    detail = project["TemplateProviderDetails"][0]["CfnTemplateProviderDetail"]
    assert detail["TemplateURL"] == url and detail["RoleARN"] == launch_role
    stack_name = detail["StackDetail"]["Name"]
    assert stack_name.startswith("SP-")
    cf = server.client("cloudformation")
    stack = cf.describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack["RoleARN"] == launch_role
    tags = {t["Key"]: t["Value"] for t in stack["Tags"]}
    assert tags == {"team": "ml", "sagemaker:project-name": name, "sagemaker:project-id": pid}
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert params["SageMakerProjectName"] == name and params["Stage"] == "staging"
    s3 = server.client("s3")
    bucket_tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=f"sagemaker-project-{pid}")["TagSet"]}
    assert bucket_tags["sagemaker:project-id"] == pid and bucket_tags["team"] == "ml"
    assert sm.list_tags(ResourceArn=created["ProjectArn"])["Tags"] == [{"Key": "team", "Value": "ml"}]
    listed = sm.list_projects(NameContains=name)["ProjectSummaryList"]
    assert [p["ProjectId"] for p in listed] == [pid]

    # UpdateProject: a new parameter value, then a new version of the same template.
    sm.update_project(ProjectName=name, TemplateProvidersToUpdate=[{"CfnTemplateProvider": {
        "TemplateName": "small-project", "TemplateURL": url, "Parameters": [{"Key": "Stage", "Value": "prod"}]}}])
    project = wait_status(sm, name, {"UpdateCompleted", "UpdateFailed"})
    assert project["ProjectStatus"] == "UpdateCompleted", project
    ssm = server.client("ssm")
    assert ssm.get_parameter(Name=f"/sagemaker/{name}/settings")["Parameter"]["Value"] == "prod:30"
    # A bad value is refused by the change set, before anything changes.
    with pytest.raises(sm.exceptions.ClientError) as bad:
        sm.update_project(ProjectName=name, TemplateProvidersToUpdate=[{"CfnTemplateProvider": {
            "TemplateName": "small-project", "TemplateURL": url, "Parameters": [{"Key": "Stage", "Value": "qa"}]}}])
    assert bad.value.response["Error"]["Code"] == "ValidationException"
    assert "AllowedValues" in bad.value.response["Error"]["Message"] or "allowed" in bad.value.response["Error"]["Message"].lower()
    assert sm.describe_project(ProjectName=name)["ProjectStatus"] == "UpdateCompleted"

    # DeleteProject: the stack goes, the retained bucket stays.
    sm.delete_project(ProjectName=name)
    deadline = time.monotonic() + 30
    while True:
        try:
            status = sm.describe_project(ProjectName=name)["ProjectStatus"]
        except sm.exceptions.ClientError as exc:
            assert exc.response["Error"]["Code"] == "ValidationException"
            break
        assert status in ("DeleteInProgress", "DeleteCompleted"), status
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert cf.describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    s3.head_bucket(Bucket=f"sagemaker-project-{pid}")
    assert not sm.list_projects(NameContains=name)["ProjectSummaryList"]


def signed_get(server: LiveServer, path: str) -> httpx.Response:
    request = AWSRequest(method="GET", url=f"{server.endpoint}{path}")
    SigV4Auth(Credentials(server.access_key, server.secret_key), "sagemaker", server.region).add_auth(request)
    return httpx.get(request.url, headers=dict(request.headers.items()), timeout=30)
