"""The web UI (Seedbed Studio) as a browser meets it: a presigned login URL from boto3, a session
cookie, server-rendered pages, forms with CSRF tokens, and IAM applied to the signed-in user."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveServer

EXAMPLES = Path(__file__).resolve().parents[2] / "templates" / "examples"
TEMPLATE_KEY = "templates/small-project.yml"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Studio:
    domain_id: str
    bucket: str
    launch_role: str

    def base(self, server: LiveServer) -> str:
        return f"{server.endpoint}/_seedbed/studio/{self.domain_id}/"


@pytest.fixture(scope="module")
def studio(server: LiveServer) -> Studio:
    """A domain whose catalog holds the small example template, a launch role, a user profile."""
    tag = uuid.uuid4().hex[:6]
    iam, s3, sm = server.client("iam"), server.client("s3"), server.client("sagemaker")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
        "Service": ["cloudformation.amazonaws.com", "sagemaker.amazonaws.com"]}}]}
    role = iam.create_role(RoleName=f"StudioLaunchRole-{tag}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=f"StudioLaunchRole-{tag}", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    bucket = f"studio-templates-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=TEMPLATE_KEY, Body=(EXAMPLES / "small-project.yml").read_bytes(),
                  Tagging="sagemaker:studio-visibility=true")
    domain_id = sm.create_domain(DomainName=f"studio-{tag}", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": role},
                                 SubnetIds=["subnet-1"], VpcId="vpc-1",
                                 Tags=[{"Key": "sagemaker:projectS3TemplatesLocation", "Value": f"s3://{bucket}/templates/"}])["DomainId"]
    sm.create_user_profile(DomainId=domain_id, UserProfileName="alice")
    return Studio(domain_id, bucket, role)


def login(server: LiveServer, studio: Studio, sm=None, **kwargs) -> httpx.Client:  # type: ignore[no-untyped-def]
    sm = sm or server.client("sagemaker")
    url = sm.create_presigned_domain_url(DomainId=studio.domain_id, UserProfileName="alice", **kwargs)["AuthorizedUrl"]
    browser = httpx.Client(timeout=30)
    opened = browser.get(url)
    assert opened.status_code == 303, opened.text
    assert opened.headers["location"].endswith(f"/_seedbed/studio/{studio.domain_id}/projects")
    return browser


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, html
    return found.group(1)


def wait_for(browser: httpx.Client, url: str, pattern: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        page = browser.get(url)
        if re.search(pattern, page.text):
            return page.text
        assert time.monotonic() < deadline, page.text
        time.sleep(0.2)


def test_login_create_update_delete_through_the_forms(server: LiveServer, studio: Studio) -> None:
    sm = server.client("sagemaker")
    url = sm.create_presigned_domain_url(DomainId=studio.domain_id, UserProfileName="alice",
                                         SessionExpirationDurationInSeconds=1800)["AuthorizedUrl"]
    assert url.startswith(f"{server.endpoint}/_seedbed/studio/{studio.domain_id}/auth?token=")
    browser = httpx.Client(timeout=30)
    opened = browser.get(url)
    assert opened.status_code == 303
    cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and f"Path=/_seedbed/studio/{studio.domain_id}/" in cookie
    assert 1790 <= int(re.search(r"Max-Age=(\d+)", cookie).group(1)) <= 1800  # type: ignore[union-attr]
    base = studio.base(server)
    listing = browser.get(base + "projects")
    assert listing.status_code == 200 and "<h1>Projects</h1>" in listing.text
    assert "arn:aws:iam::000000000000:root" in listing.text  # who the page acts as

    catalog = browser.get(base + "templates").text
    assert "small-project" in catalog and f"/_seedbed/catalog?domain={studio.domain_id}" in catalog
    assert browser.get(base + "catalog.json").json()["Templates"][0]["Key"] == TEMPLATE_KEY
    picker = browser.get(base + "projects/new").text
    assert "small-project" in picker and "A small project" in picker
    form = browser.get(base + "projects/new", params={"template": TEMPLATE_KEY})
    assert form.status_code == 200
    html = form.text
    assert "<legend>Environment</legend>" in html and "Deployment stage" in html  # group and label
    assert re.search(r'<option value="dev" selected>dev</option>\s*<option value="staging"', html)
    assert 'type="number"' in html and 'min="1"' in html and 'max="365"' in html and 'value="30"' in html
    assert "SageMakerProjectId" not in html  # supplied by SageMaker, not asked for
    assert studio.launch_role in html  # a role the user may pass is offered

    name = f"ui-{uuid.uuid4().hex[:6]}"
    created = browser.post(base + "projects/new", data={
        "csrf_token": csrf(html), "template": TEMPLATE_KEY, "name": name, "description": "from the web UI",
        "role": studio.launch_role, "tags": "team=ml", "param.Stage": "staging", "param.RetentionDays": "",
    })
    assert created.status_code == 303, created.text
    assert created.headers["location"].endswith(f"/projects/{name}")
    page = wait_for(browser, base + f"projects/{name}", r'badge good">CreateCompleted')
    assert "ArtifactsBucketName" in page and "sagemaker-project-p-" in page  # outputs
    assert "CREATE_COMPLETE" in page and "AWS::SSM::Parameter" in page  # stack events
    assert "team" in page and "from the web UI" in page
    project = sm.describe_project(ProjectName=name)
    detail = project["TemplateProviderDetails"][0]["CfnTemplateProviderDetail"]
    assert detail["RoleARN"] == studio.launch_role
    assert {p["Key"]: p["Value"] for p in detail["Parameters"]} == {"Stage": "staging"}
    assert name in browser.get(base + "projects").text
    # The trail shows the person's call as theirs, from their browser; not as Seedbed's own.
    trail = server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateProject"}])["Events"]
    record = next(json.loads(e["CloudTrailEvent"]) for e in trail
                  if json.loads(e["CloudTrailEvent"])["requestParameters"].get("ProjectName") == name)
    assert record["userAgent"].startswith("python-httpx/") and record["sourceIPAddress"] == "127.0.0.1"
    assert "invokedBy" not in record["userIdentity"]

    form = browser.get(base + f"projects/{name}/update").text
    assert re.search(r'<option value="staging" selected>', form)
    updated = browser.post(base + f"projects/{name}/update", data={
        "csrf_token": csrf(form), "description": "from the web UI", "param.Stage": "prod", "param.RetentionDays": "7"})
    assert updated.status_code == 303, updated.text
    wait_for(browser, base + f"projects/{name}", r'badge good">UpdateCompleted')
    ssm = server.client("ssm")
    assert ssm.get_parameter(Name=f"/sagemaker/{name}/settings")["Parameter"]["Value"] == "prod:7"
    # A value the template refuses comes back as the AWS error on the form.
    refused = browser.post(base + f"projects/{name}/update", data={
        "csrf_token": csrf(form), "description": "from the web UI", "param.Stage": "qa", "param.RetentionDays": "7"})
    assert refused.status_code == 400 and "ValidationException" in refused.text and "Traceback" not in refused.text

    confirm = browser.get(base + f"projects/{name}/delete").text
    assert "Delete project" in confirm
    deleted = browser.post(base + f"projects/{name}/delete", data={"csrf_token": csrf(confirm)})
    assert deleted.status_code == 303
    deadline = time.monotonic() + 30
    while sm.list_projects(NameContains=name)["ProjectSummaryList"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)

    signed_out = browser.post(base + "logout", data={"csrf_token": csrf(confirm)})
    assert signed_out.status_code == 303 and "Max-Age=0" in signed_out.headers["set-cookie"]
    assert browser.get(base + "projects").status_code == 401


def test_login_url_is_single_use_signed_and_expiring(server: LiveServer, studio: Studio) -> None:
    sm = server.client("sagemaker")
    url = sm.create_presigned_domain_url(DomainId=studio.domain_id, UserProfileName="alice")["AuthorizedUrl"]
    assert httpx.get(url).status_code == 303
    reused = httpx.get(url)
    assert reused.status_code == 403 and "already been used" in reused.text and "set-cookie" not in reused.headers

    fresh = sm.create_presigned_domain_url(DomainId=studio.domain_id, UserProfileName="alice")["AuthorizedUrl"]
    mac = fresh.split("token=", 1)[1].split(".")[1]
    forged = fresh.replace(mac, mac[:-2] + ("AA" if not mac.endswith("AA") else "BB"))
    assert httpx.get(forged).status_code == 403
    other_domain = fresh.replace(f"/studio/{studio.domain_id}/", "/studio/d-000000000000/")
    assert httpx.get(other_domain).status_code == 403
    assert httpx.get(fresh).status_code == 303  # neither attempt used it up

    short = sm.create_presigned_domain_url(DomainId=studio.domain_id, UserProfileName="alice", ExpiresInSeconds=5)["AuthorizedUrl"]
    time.sleep(5.2)
    expired = httpx.get(short)
    assert expired.status_code == 403 and "expired" in expired.text

    # A forged session cookie is no session.
    anonymous = httpx.get(f"{studio.base(server)}projects", cookies={"seedbed_studio": "e30.AAAA"})
    assert anonymous.status_code == 401 and "create-presigned-domain-url" in anonymous.text


def test_without_a_session_the_page_says_how_to_log_in(server: LiveServer, studio: Studio) -> None:
    page = httpx.get(f"{studio.base(server)}projects")
    assert page.status_code == 401
    assert f"--domain-id {studio.domain_id}" in page.text and "create-presigned-domain-url" in page.text
    assert httpx.post(f"{studio.base(server)}projects/new", data={"name": "x"}).status_code == 401
    root = httpx.get(f"{server.endpoint}/_seedbed/studio/")
    assert root.status_code == 401 and "create-presigned-domain-url" in root.text
    css = httpx.get(f"{server.endpoint}/_seedbed/studio/static/studio.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert httpx.get(f"{server.endpoint}/_seedbed/studio/static/..%2F__init__.py").status_code == 404


def test_posts_need_the_session_csrf_token(server: LiveServer, studio: Studio) -> None:
    browser = login(server, studio)
    base = studio.base(server)
    name = f"csrf-{uuid.uuid4().hex[:6]}"
    fields = {"template": TEMPLATE_KEY, "name": name, "role": studio.launch_role, "param.Stage": "dev"}
    missing = browser.post(base + "projects/new", data=fields)
    assert missing.status_code == 403 and "InvalidCsrfToken" in missing.text
    wrong = browser.post(base + "projects/new", data=dict(fields, csrf_token="x" * 43))
    assert wrong.status_code == 403
    token = csrf(browser.get(base + "projects/new", params={"template": TEMPLATE_KEY}).text)
    # Another session's token is no good either.
    other = login(server, studio)
    assert other.post(base + "projects/new", data=dict(fields, csrf_token=token)).status_code == 403
    cross_site = browser.post(base + "projects/new", data=dict(fields, csrf_token=token), headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    assert not server.client("sagemaker").list_projects(NameContains=name)["ProjectSummaryList"]


def test_a_user_without_permission_sees_access_denied(server: LiveServer, studio: Studio) -> None:
    iam = server.client("iam")
    user = f"bob-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="studio-only", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sagemaker:CreatePresignedDomainUrl", "sagemaker:DescribeProject"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    bob = server.client("sagemaker", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    deadline = time.monotonic() + 10
    while True:  # a new key may take a moment to be seen by a cached resolver
        try:
            browser = login(server, studio, sm=bob)
            break
        except (AssertionError, ClientError):
            assert time.monotonic() < deadline
            time.sleep(0.3)
    base = studio.base(server)
    page = browser.get(base + "projects")
    assert page.status_code == 403
    assert "AccessDeniedException" in page.text
    assert f"user/{user} is not authorized to perform: sagemaker:ListProjects" in page.text
    assert "Traceback" not in page.text
    catalog = browser.get(base + "templates").text  # the S3 catalog runs as bob too
    assert "AccessDenied" in catalog and "s3:ListBucket" in catalog
    token = csrf(page.text)
    denied = browser.post(base + "models/some-group/approval", data={
        "csrf_token": token, "arn": "arn:aws:sagemaker:us-east-1:000000000000:model-package/some-group/1", "decision": "Approved"})
    assert denied.status_code == 403 and "sagemaker:UpdateModelPackage" in denied.text


def test_registry_pipelines_and_endpoints_pages(server: LiveServer, studio: Studio) -> None:
    sm = server.client("sagemaker")
    group = f"studio-{uuid.uuid4().hex[:6]}"
    sm.create_model_package_group(ModelPackageGroupName=group, ModelPackageGroupDescription="abalone")
    s3 = server.client("s3")
    s3.put_object(Bucket=studio.bucket, Key="eval/evaluation.json",
                  Body=json.dumps({"regression_metrics": {"mse": {"value": 4.25, "standard_deviation": 0.5}}}).encode())
    arn = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification={
        "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                        "ModelDataUrl": f"s3://{studio.bucket}/model.tar.gz"}],
        "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": f"s3://{studio.bucket}/eval/evaluation.json"}}},
    )["ModelPackageArn"]
    browser = login(server, studio)
    base = studio.base(server)
    assert group in browser.get(base + "models").text
    page = browser.get(base + f"models/{group}").text
    assert "PendingManualApproval" in page and "regression_metrics.mse" in page and "4.25" in page
    approved = browser.post(base + f"models/{group}/approval", data={
        "csrf_token": csrf(page), "arn": arn, "decision": "Approved", "description": "looks good"})
    assert approved.status_code == 303
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved" and described["ApprovalDescription"] == "looks good"
    assert 'badge good">Approved' in browser.get(base + f"models/{group}").text

    # A pipeline of a project (tagged as the SDK tags them) whose one step fails.
    project, pipeline = f"proj-{uuid.uuid4().hex[:6]}", f"pl-{uuid.uuid4().hex[:6]}"
    definition = {"Version": "2020-12-01", "Steps": [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "MSE too high"}}]}
    sm.create_pipeline(PipelineName=pipeline, PipelineDefinition=json.dumps(definition), RoleArn=studio.launch_role,
                       Tags=[{"Key": "sagemaker:project-name", "Value": project}])
    sm.create_pipeline(PipelineName=f"{pipeline}-other", PipelineDefinition=json.dumps(definition), RoleArn=studio.launch_role)
    execution = sm.start_pipeline_execution(PipelineName=pipeline)["PipelineExecutionArn"]
    listed = browser.get(base + "pipelines", params={"project": project}).text
    assert pipeline in listed and f"{pipeline}-other" not in listed
    assert f"{pipeline}-other" in browser.get(base + "pipelines").text
    assert "/execution?arn=" in wait_for(browser, base + f"pipelines/{pipeline}", r'badge bad">Failed')
    steps = browser.get(base + f"pipelines/{pipeline}/execution", params={"arn": execution}).text
    assert "Stop" in steps and "MSE too high" in steps and 'badge bad">Failed' in steps

    listed = browser.get(base + "endpoints")
    assert listed.status_code == 200 and "Traceback" not in listed.text
    missing = browser.get(base + "endpoints/no-such-endpoint")
    assert missing.status_code == 400 and "ValidationException" in missing.text
