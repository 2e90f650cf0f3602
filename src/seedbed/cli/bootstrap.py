"""``seedbed bootstrap``: the admin's one-time set-up for SageMaker projects, idempotent.

What an AWS admin does by hand before data scientists can create projects from S3 templates:

1. the launch role and the use roles (the reference ``roles.yml`` deployed as a stack);
2. a versioned template bucket with the CORS rule Studio needs, the reference templates uploaded
   and tagged ``sagemaker:studio-visibility=true``;
3. the seed-code bucket ``sagemaker-servicecatalog-seedcode-<region>`` with the seed code bundles
   the templates name and the abalone data set;
4. a domain whose default execution role is the projects' execution role, tagged with
   ``sagemaker:projectS3TemplatesLocation``, and a user profile;
5. a data scientist: an IAM user whose own policy lets them use projects and pass only the launch
   role; their access key is written to ``<data-dir>/data-scientist.json`` (mode 0600).

Every step first looks at what exists, so running it again changes nothing.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seedbed.cli.templates import Clients, _ensure_bucket, _ensure_cors, _tag_visible, _upload
from seedbed.services.sagemaker import catalog

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "templates" / "reference"
SEED_CODE = ROOT / "templates" / "seedcode"
DATASET = Path(__file__).resolve().parents[1] / "data" / "abalone-dataset.csv"

ROLES_STACK = "seedbed-sagemaker-projects-roles"
DOMAIN_NAME = "seedbed"
USER_PROFILE = "data-scientist"
DATA_SCIENTIST = "seedbed-data-scientist"
#: Key in the seed-code bucket (as the reference templates name them) -> the seed code folders
#: and files it is made of, each ``folder`` or ``folder/file``.
BUNDLES: dict[str, tuple[str, ...]] = {
    "toolchain/seedbed-model-build-v1.0.zip": ("model-build",),
    "toolchain/seedbed-model-deploy-v1.0.zip": ("model-deploy",),
    # The keys the public SageMaker project templates name, filled with Seedbed's own seed code.
    "bootstrap/GitRepositorySeedCodeCheckinCodeBuildProject-v1.0.zip": ("git-seedcode-checkin",),
    "bootstrap/GitRepositorySeedCodeCheckinCodeBuildProject-v1.1.zip": ("git-seedcode-checkin",),
    "toolchain/model-building-workflow-v1.0.zip": ("model-build",),
    "toolchain/model-building-workflow-jenkins-v1.0.zip": ("model-build",),
    # The monitored build is the plain one plus an overlay (its buildspec runs the pipeline that
    # adds Model Monitor and Clarify check steps and registers their baselines).
    "toolchain/model-building-workflow-mm-clarify-v1.0.zip": ("model-build", "model-build-monitored"),
    "toolchain/model-monitor-workflow-v1.0.zip": ("model-monitor",),
    "toolchain/mpg-deployment-config-v1.0.zip": ("model-deploy",),
    "toolchain/mpg-deployment-config-v1.1.zip": ("model-deploy",),
    "toolchain/mpg-deployment-config-jenkins-v1.0.zip": ("model-deploy",),
    "toolchain/seedbed-github-workflows-v1.0.zip": (
        "model-build/pipelines", "model-build/run_pipeline.py", "model-deploy/endpoint-config-template.yml",
        "github-workflows",
    ),
    "toolchain/seedbed-github-workflow-trigger-v1.0.zip": ("github-workflow-trigger",),
}
#: The project templates published for Studio (roles.yml is the admin's, not a project).
PROJECT_TEMPLATES = (
    "build-train.yml", "build-train-deploy.yml", "build-train-deploy-monitor.yml", "deploy.yml", "github-workflows.yml",
)


def seed_code_bucket(region: str) -> str:
    return f"sagemaker-servicecatalog-seedcode-{region}"


def template_bucket(account: str, region: str) -> str:
    return f"sagemaker-project-templates-{account}-{region}"


def data_scientist_policy(account: str, region: str, templates: str) -> dict[str, Any]:
    """What a data scientist may do: use projects, pass only the launch role, read the catalog,
    work with the project's repositories, pipelines, registry and endpoints."""
    launch = f"arn:aws:iam::{account}:role/service-role/AmazonSageMakerProjectsLaunchRole"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Projects", "Effect": "Allow", "Resource": "*", "Action": [
                "sagemaker:CreateProject", "sagemaker:DescribeProject", "sagemaker:ListProjects",
                "sagemaker:UpdateProject", "sagemaker:DeleteProject", "sagemaker:ListTags",
                "sagemaker:AddTags", "sagemaker:DescribeDomain", "sagemaker:ListDomains",
                "sagemaker:DescribeUserProfile", "sagemaker:List*", "sagemaker:Describe*",
                "sagemaker:UpdateModelPackage", "sagemaker:InvokeEndpoint",
                "sagemaker:StartPipelineExecution", "sagemaker:StopPipelineExecution",
            ]},
            {"Sid": "PassOnlyTheLaunchRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": launch,
             "Condition": {"StringEquals": {"iam:PassedToService": ["sagemaker.amazonaws.com", "cloudformation.amazonaws.com"]}}},
            {"Sid": "ReadTemplates", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectTagging", "s3:ListBucket"],
             "Resource": [f"arn:aws:s3:::{templates}", f"arn:aws:s3:::{templates}/*"]},
            {"Sid": "ProjectData", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
             "Resource": ["arn:aws:s3:::sagemaker-*", "arn:aws:s3:::sagemaker-*/*"]},
            {"Sid": "CiCd", "Effect": "Allow", "Resource": "*", "Action": [
                "codecommit:GitPull", "codecommit:GitPush", "codecommit:Get*", "codecommit:List*",
                "codepipeline:GetPipelineState", "codepipeline:GetPipelineExecution",
                "codepipeline:ListPipelineExecutions", "codepipeline:PutApprovalResult",
                "codepipeline:StartPipelineExecution", "codebuild:BatchGetBuilds", "codebuild:ListBuildsForProject",
                "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents",
                "cloudformation:DescribeStackResources", "cloudformation:ListStackResources",
                "logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams", "logs:DescribeLogGroups",
                "sts:GetCallerIdentity",
            ]},
        ],
    }


@dataclass
class Bootstrap:
    """What bootstrap set up (and whether each piece was new)."""

    account: str
    region: str
    roles: dict[str, str] = field(default_factory=dict)
    template_bucket: str = ""
    seed_bucket: str = ""
    domain_id: str = ""
    user_profile: str = USER_PROFILE
    data_scientist_key_file: Path | None = None
    changes: list[str] = field(default_factory=list)


def _bundle_files(parts: tuple[str, ...]) -> dict[str, Path]:
    """Name in the zip -> file: a folder's files keep their paths below the folder's top (so
    ``model-build/pipelines`` gives ``pipelines/...``); a single file goes to the root."""
    files: dict[str, Path] = {}
    for part in parts:
        path = SEED_CODE / part
        top = SEED_CODE / part.split("/", 1)[0]
        if path.is_file():
            files[path.name] = path
            continue
        for file in sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            files[file.relative_to(top).as_posix()] = file
    return files


def bundle(parts: tuple[str, ...]) -> bytes:
    """A zip of seed code, with stable timestamps so that unchanged code is not re-uploaded."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(_bundle_files(parts).items()):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _deploy_roles(clients: Clients, result: Bootstrap) -> None:
    from botocore.exceptions import ClientError

    cfn = clients.client("cloudformation")
    body = (TEMPLATES / "roles.yml").read_text()
    capabilities = ["CAPABILITY_NAMED_IAM"]
    try:
        stack = cfn.describe_stacks(StackName=ROLES_STACK)["Stacks"][0]
    except ClientError:
        stack = None
    if stack is None or stack["StackStatus"] in ("ROLLBACK_COMPLETE", "DELETE_COMPLETE"):
        if stack is not None:
            cfn.delete_stack(StackName=ROLES_STACK)
            cfn.get_waiter("stack_delete_complete").wait(StackName=ROLES_STACK, WaiterConfig={"Delay": 1})
        cfn.create_stack(StackName=ROLES_STACK, TemplateBody=body, Capabilities=capabilities)
        cfn.get_waiter("stack_create_complete").wait(StackName=ROLES_STACK, WaiterConfig={"Delay": 1})
        result.changes.append(f"stack {ROLES_STACK} created")
    else:
        try:
            cfn.update_stack(StackName=ROLES_STACK, TemplateBody=body, Capabilities=capabilities)
            cfn.get_waiter("stack_update_complete").wait(StackName=ROLES_STACK, WaiterConfig={"Delay": 1})
            result.changes.append(f"stack {ROLES_STACK} updated")
        except ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
    outputs = cfn.describe_stacks(StackName=ROLES_STACK)["Stacks"][0].get("Outputs") or []
    result.roles = {o["OutputKey"].removesuffix("RoleArn"): o["OutputValue"] for o in outputs}


def _publish_templates(clients: Clients, result: Bootstrap) -> None:
    s3 = clients.client("s3")
    bucket = result.template_bucket
    if _ensure_bucket(s3, bucket, clients.region):
        result.changes.append(f"bucket {bucket} created")
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        result.changes.append(f"bucket {bucket}: versioning enabled")
    if _ensure_cors(s3, bucket, clients.endpoint):
        result.changes.append(f"bucket {bucket}: CORS set")
    for name in PROJECT_TEMPLATES:
        path = TEMPLATES / name
        if not path.exists():
            continue
        key = f"templates/{name}"
        if _upload(s3, bucket, key, path.read_bytes()):
            result.changes.append(f"template {key} uploaded")
        if _tag_visible(s3, bucket, key):
            result.changes.append(f"template {key} tagged {catalog.VISIBILITY_TAG}=true")


def _publish_seed_code(clients: Clients, result: Bootstrap) -> None:
    s3 = clients.client("s3")
    bucket = result.seed_bucket
    if _ensure_bucket(s3, bucket, clients.region):
        result.changes.append(f"bucket {bucket} created")
    for key, parts in BUNDLES.items():
        if _upload(s3, bucket, key, bundle(parts)):
            result.changes.append(f"seed code s3://{bucket}/{key} uploaded")
    if _upload(s3, bucket, "dataset/abalone-dataset.csv", DATASET.read_bytes()):
        result.changes.append(f"data set s3://{bucket}/dataset/abalone-dataset.csv uploaded")


def _domain(clients: Clients, result: Bootstrap) -> None:
    sm = clients.client("sagemaker")
    existing = [d for d in sm.list_domains().get("Domains") or [] if d["DomainName"] == DOMAIN_NAME]
    if existing:
        result.domain_id = existing[0]["DomainId"]
    else:
        result.domain_id = sm.create_domain(
            DomainName=DOMAIN_NAME, AuthMode="IAM",
            DefaultUserSettings={"ExecutionRole": result.roles["Execution"]},
            SubnetIds=["subnet-local"], VpcId="vpc-local",
        )["DomainId"]
        result.changes.append(f"domain {DOMAIN_NAME} ({result.domain_id}) created")
    arn = sm.describe_domain(DomainId=result.domain_id)["DomainArn"]
    location = f"s3://{result.template_bucket}/templates/"
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn).get("Tags") or []}
    if tags.get(catalog.LOCATION_TAG) != location:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": catalog.LOCATION_TAG, "Value": location}])
        result.changes.append(f"domain tagged {catalog.LOCATION_TAG}={location}")
    profiles = sm.list_user_profiles(DomainIdEquals=result.domain_id).get("UserProfiles") or []
    if not any(p["UserProfileName"] == USER_PROFILE for p in profiles):
        sm.create_user_profile(DomainId=result.domain_id, UserProfileName=USER_PROFILE)
        result.changes.append(f"user profile {USER_PROFILE} created")


def _data_scientist(clients: Clients, result: Bootstrap, data_dir: Path) -> None:
    from botocore.exceptions import ClientError

    iam = clients.client("iam")
    try:
        iam.get_user(UserName=DATA_SCIENTIST)
    except ClientError:
        iam.create_user(UserName=DATA_SCIENTIST)
        result.changes.append(f"IAM user {DATA_SCIENTIST} created")
    policy = json.dumps(data_scientist_policy(result.account, result.region, result.template_bucket))
    iam.put_user_policy(UserName=DATA_SCIENTIST, PolicyName="SageMakerProjectsDataScientist", PolicyDocument=policy)
    key_file = data_dir / "data-scientist.json"
    keys = {k["AccessKeyId"] for k in iam.list_access_keys(UserName=DATA_SCIENTIST)["AccessKeyMetadata"]}
    if not key_file.exists() or json.loads(key_file.read_text()).get("aws_access_key_id") not in keys:
        key = iam.create_access_key(UserName=DATA_SCIENTIST)["AccessKey"]
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"],
                       "region": result.region, "user": DATA_SCIENTIST}, fh)
        result.changes.append(f"access key for {DATA_SCIENTIST} written to {key_file}")
    result.data_scientist_key_file = key_file


def run_bootstrap(clients: Clients, data_dir: Path, progress: Any = None) -> Bootstrap:
    """Set everything up (idempotent); ``progress(text)`` is told each step as it starts."""
    account = clients.client("sts").get_caller_identity()["Account"]
    result = Bootstrap(account=account, region=clients.region,
                       template_bucket=template_bucket(account, clients.region),
                       seed_bucket=seed_code_bucket(clients.region))
    steps = (
        ("launch and use roles", lambda: _deploy_roles(clients, result)),
        ("template bucket and templates", lambda: _publish_templates(clients, result)),
        ("seed code and data set", lambda: _publish_seed_code(clients, result)),
        ("domain and user profile", lambda: _domain(clients, result)),
        ("data scientist user", lambda: _data_scientist(clients, result, data_dir)),
    )
    for text, step in steps:
        if progress is not None:
            progress(text)
        step()
    return result
