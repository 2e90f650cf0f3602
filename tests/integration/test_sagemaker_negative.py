"""What goes wrong, with IAM enforced: each failure gives the AWS error, and ``seedbed doctor``
names the cause (a caller without iam:PassRole, a template without the visibility tag, a domain
without the templates-location tag, a bad parameter value, a template without the SageMaker
parameters)."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.conftest import BIN, LiveServer
from tests.integration.test_sagemaker_walkthrough import (
    CORS,
    EXAMPLES,
    TEMPLATES,
    create_domain,
    ensure_roles,
)

USER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["sagemaker:*", "s3:*", "cloudformation:*", "ssm:*", "iam:GetRole",
                                                 "iam:SimulatePrincipalPolicy", "sts:GetCallerIdentity"], "Resource": "*"}],
}


def seedbed(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "seedbed"), *args], check=False, env=dict(env, COLUMNS="400"), capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def setup(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("sm-negative")
    launch_role = ensure_roles(server, tmp)
    account = server.client("sts").get_caller_identity()["Account"]
    s3, sm = server.client("s3"), server.client("sagemaker")
    bucket = f"sm-neg-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=CORS)
    visible = [{"Key": "sagemaker:studio-visibility", "Value": "true"}]
    for key, source, tags in (("templates/small.yml", "small-project.yml", visible),
                              ("templates/hidden.yml", "small-project.yml", []),
                              ("templates/bare.yml", "no-sagemaker-params.yml", visible)):
        folder = EXAMPLES if (EXAMPLES / source).exists() else TEMPLATES
        s3.put_object(Bucket=bucket, Key=key, Body=(folder / source).read_bytes())
        if tags:
            s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tags})
    role = f"arn:aws:iam::{account}:role/service-role/AmazonSageMakerProjectsExecutionRole"
    tagged, untagged = create_domain(server, role), create_domain(server, role)
    sm.add_tags(ResourceArn=sm.describe_domain(DomainId=tagged)["DomainArn"],
                Tags=[{"Key": "sagemaker:projectS3TemplatesLocation", "Value": f"s3://{bucket}/templates/"}])
    iam = server.client("iam")
    user = f"ds-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="no-passrole", PolicyDocument=json.dumps(USER_POLICY))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return {"bucket": bucket, "launch_role": launch_role, "tagged": tagged, "untagged": untagged,
            "key": key["AccessKeyId"], "secret": key["SecretAccessKey"], "region": server.region}


def _user_env(server: LiveServer, setup: dict[str, str]) -> dict[str, str]:
    return dict(server.env, AWS_ACCESS_KEY_ID=setup["key"], AWS_SECRET_ACCESS_KEY=setup["secret"])


def _provider(setup: dict[str, str], key: str, **params: str) -> dict[str, object]:
    url = f"https://{setup['bucket']}.s3.{setup['region']}.amazonaws.com/{key}"
    return {"CfnTemplateProvider": {"TemplateName": "t", "TemplateURL": url, "RoleARN": setup["launch_role"],
                                    "Parameters": [{"Key": k, "Value": v} for k, v in params.items()]}}


def test_caller_without_pass_role(server: LiveServer, setup: dict[str, str]) -> None:
    sm = server.client("sagemaker", aws_access_key_id=setup["key"], aws_secret_access_key=setup["secret"])
    with pytest.raises(ClientError) as denied:
        sm.create_project(ProjectName=f"np-{uuid.uuid4().hex[:6]}", TemplateProviders=[_provider(setup, "templates/small.yml")])
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "iam:PassRole" in denied.value.response["Error"]["Message"]
    done = seedbed(_user_env(server, setup), "doctor", "--domain", setup["tagged"], "--template", "templates/small.yml")
    assert done.returncode == 1
    assert "lacks iam:PassRole" in done.stdout, done.stdout


def test_template_without_visibility_tag(server: LiveServer, setup: dict[str, str]) -> None:
    listed = seedbed(server.env, "templates", "list", "--domain", setup["tagged"], "--json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    keys = [t["Key"] for t in json.loads(listed.stdout)["Templates"]]
    assert "templates/small.yml" in keys and "templates/hidden.yml" not in keys
    done = seedbed(server.env, "doctor", "--domain", setup["tagged"], "--template", "templates/hidden.yml")
    assert done.returncode == 1 and "missing the tag sagemaker:studio-visibility=true" in done.stdout, done.stdout


def test_domain_without_location_tag(server: LiveServer, setup: dict[str, str]) -> None:
    listed = seedbed(server.env, "templates", "list", "--domain", setup["untagged"])
    assert listed.returncode == 1 and "has no sagemaker:projectS3TemplatesLocation tag" in listed.stdout
    done = seedbed(server.env, "doctor", "--domain", setup["untagged"])
    assert done.returncode == 1 and "has no sagemaker:projectS3TemplatesLocation tag" in done.stdout, done.stdout


def test_bad_parameter_value_and_missing_sagemaker_parameters(server: LiveServer, setup: dict[str, str]) -> None:
    sm = server.client("sagemaker")
    name = f"bad-{uuid.uuid4().hex[:6]}"
    with pytest.raises(ClientError) as bad:
        sm.create_project(ProjectName=name, TemplateProviders=[_provider(setup, "templates/small.yml", Stage="qa")])
    assert bad.value.response["Error"]["Code"] == "ValidationException"
    assert "Stage" in bad.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        sm.describe_project(ProjectName=name)  # nothing was left behind
    with pytest.raises(ClientError) as bare:
        sm.create_project(ProjectName=name, TemplateProviders=[_provider(setup, "templates/bare.yml")])
    assert bare.value.response["Error"]["Code"] == "ValidationException"
    assert "SageMakerProject" in bare.value.response["Error"]["Message"]
    done = seedbed(server.env, "doctor", "--domain", setup["tagged"], "--template", "templates/bare.yml")
    assert done.returncode == 1 and "does not declare the parameter SageMakerProjectName" in done.stdout, done.stdout


def test_service_catalog_is_refused_clearly(server: LiveServer) -> None:
    sm = server.client("sagemaker")
    with pytest.raises(ClientError) as refused:
        sm.create_project(ProjectName="sc", ServiceCatalogProvisioningDetails={"ProductId": "prod-abc"})
    assert "Service Catalog" in refused.value.response["Error"]["Message"]


def test_doctor_is_happy_with_a_good_setup(server: LiveServer, setup: dict[str, str]) -> None:
    done = seedbed(server.env, "doctor", "--domain", setup["tagged"], "--template", "templates/small.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no problems found" in done.stdout
