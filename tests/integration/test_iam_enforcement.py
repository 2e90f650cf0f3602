"""IAM enforced on every call, as a user meets it with boto3: least privilege for SageMaker
projects, the secure-environment preventive controls, bucket policies, role trust and sessions,
permissions boundaries, audit mode, and `seedbed iam explain`."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import BIN, LiveServer, free_port, isolated_database_url, stop_server

ACCOUNT = "000000000000"
OTHER_ACCOUNT = "111122223333"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, str]:
    return exc.value.response["Error"]


Client = Callable[..., Any]


def client_for(server: LiveServer, creds: dict[str, str]) -> Client:
    def make(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=server.endpoint,
            region_name=server.region,
            config=Config(retries={"max_attempts": 1}),
            **creds,
        )

    return make


def make_user(
    server: LiveServer,
    policy: str | None = None,
    managed: list[str] | None = None,
    boundary: str | None = None,
    admin: Client | None = None,
) -> tuple[str, Client]:
    """A user with an inline policy (and managed policies, a boundary), and a client factory."""
    iam = (admin or server.client)("iam")
    name = unique("user")
    iam.create_user(UserName=name, **({"PermissionsBoundary": boundary} if boundary else {}))
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=policy)
    for arn in managed or []:
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, client_for(
        server, {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    )


def session_client(server: LiveServer, creds: dict[str, Any]) -> Client:
    return client_for(
        server,
        {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        },
    )


DENIED = ("AccessDenied", "AccessDeniedException")


def passes_iam(call: Callable[[], Any]) -> None:
    """The call got past the authorizer: it succeeded, or failed for another reason than IAM
    (NotImplemented while a provider is not built yet, a validation error, ...)."""
    try:
        call()
    except ClientError as exc:
        assert exc.response["Error"]["Code"] not in DENIED, exc.response["Error"]
        assert "not authorized" not in exc.response["Error"]["Message"]


def explain(server: LiveServer, request_id: str) -> str:
    """`seedbed iam explain` output for a request (decisions are written within ~50 ms)."""
    cmd = [str(BIN / "seedbed"), "iam", "explain", request_id, "--data-dir", str(server.data_dir)]
    if server.database_url:
        cmd += ["--database-url", server.database_url]
    out = ""
    for _ in range(40):
        result = subprocess.run(cmd, capture_output=True, text=True)
        out = result.stdout
        if result.returncode == 0:
            return out
        time.sleep(0.1)
    return out


# --- least privilege: the data scientist of a SageMaker project -------------------------------


@pytest.fixture(scope="module")
def launch_role(server: LiveServer) -> str:
    name = unique("AmazonSageMakerProjectsLaunchRole")
    trust = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": ["servicecatalog.amazonaws.com", "cloudformation.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    )
    iam = server.client("iam")
    arn = iam.create_role(RoleName=name, Path="/service-role/", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    # What the project template makes: a bucket and a parameter (and their tags).
    iam.put_role_policy(
        RoleName=name,
        PolicyName="provision",
        PolicyDocument=doc(allow(["s3:*", "ssm:*"], "*")),
    )
    return arn


@pytest.fixture(scope="module")
def data_scientist(server: LiveServer, launch_role: str) -> tuple[str, Client]:
    policy = doc(allow("sagemaker:CreateProject"), allow("iam:PassRole", launch_role))
    return make_user(server, policy)


def test_data_scientist_cannot_create_a_bucket(server: LiveServer, data_scientist: tuple[str, Client]) -> None:
    name, client = data_scientist
    bucket = unique("ds-bucket")
    with pytest.raises(ClientError) as exc:
        client("s3").create_bucket(Bucket=bucket)
    assert error(exc)["Code"] == "AccessDenied"
    assert error(exc)["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/{name} is not authorized to perform: s3:CreateBucket on "
        f"resource: arn:aws:s3:::{bucket} because no identity-based policy allows the s3:CreateBucket action"
    )
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_data_scientist_passes_iam_for_create_project(data_scientist: tuple[str, Client]) -> None:
    """CreateProject is allowed by IAM: the call reaches the provider (which may refuse the
    parameters, or not exist yet); DeleteProject is not."""
    _, client = data_scientist
    passes_iam(lambda: client("sagemaker").create_project(ProjectName=unique("p")))
    with pytest.raises(ClientError) as exc:
        client("sagemaker").delete_project(ProjectName="p")
    assert error(exc)["Code"] == "AccessDeniedException"


def test_data_scientist_may_pass_only_the_launch_role(server: LiveServer, data_scientist: tuple[str, Client], launch_role: str) -> None:
    name, _ = data_scientist
    results = server.client("iam").simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{name}",
        ActionNames=["iam:PassRole", "sagemaker:CreateProject", "s3:CreateBucket"],
        ResourceArns=[launch_role],
        ContextEntries=[
            {"ContextKeyName": "iam:PassedToService", "ContextKeyValues": ["servicecatalog.amazonaws.com"], "ContextKeyType": "string"}
        ],
    )["EvaluationResults"]
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in results}
    assert decisions == {"iam:PassRole": "allowed", "sagemaker:CreateProject": "allowed", "s3:CreateBucket": "implicitDeny"}
    other = server.client("iam").simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{name}",
        ActionNames=["iam:PassRole"],
        ResourceArns=[f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMakerExecutionRole"],
    )["EvaluationResults"]
    assert other[0]["EvalDecision"] == "implicitDeny"


def test_data_scientist_provisions_a_project_through_the_launch_role(
    server: LiveServer, data_scientist: tuple[str, Client], launch_role: str
) -> None:
    """With only sagemaker:CreateProject and iam:PassRole on the launch role, CreateProject with an
    S3 template provisions the stack under the launch role (whose policies create the bucket),
    while the same user still cannot create a bucket directly."""
    from pathlib import Path

    template = Path(__file__).parents[2] / "templates" / "examples" / "small-project.yml"
    admin_s3 = server.client("s3")
    templates = unique("templates")
    admin_s3.create_bucket(Bucket=templates)
    admin_s3.put_object(Bucket=templates, Key="small.yml", Body=template.read_bytes())
    _, client = data_scientist
    name = unique("proj")[:30]
    sagemaker = client("sagemaker")
    sagemaker.create_project(
        ProjectName=name,
        TemplateProviders=[
            {
                "CfnTemplateProvider": {
                    "TemplateName": "small",
                    "TemplateURL": f"https://{templates}.s3.{server.region}.amazonaws.com/small.yml",
                    "RoleARN": launch_role,
                }
            }
        ],
    )
    described = server.client("sagemaker").describe_project(ProjectName=name)
    for _ in range(200):
        if described["ProjectStatus"] not in ("Pending", "CreateInProgress"):
            break
        time.sleep(0.1)
        described = server.client("sagemaker").describe_project(ProjectName=name)
    assert described["ProjectStatus"] == "CreateCompleted", described.get("ProjectStatusReason")
    bucket = f"sagemaker-project-{described['ProjectId']}"
    admin_s3.head_bucket(Bucket=bucket)  # made by the stack, as the launch role
    with pytest.raises(ClientError) as exc:
        client("s3").create_bucket(Bucket=unique("direct"))
    assert error(exc)["Code"] == "AccessDenied"


# --- role trust, PassRole, sessions ----------------------------------------------------------


def _role(server: LiveServer, trust: str, policy: str | None = None, **extra: Any) -> str:
    iam = server.client("iam")
    name = unique("role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, **extra)["Role"]["Arn"]
    if policy:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=policy)
    return arn


def test_assume_role_only_where_trust_and_identity_allow(server: LiveServer) -> None:
    trusts_account = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"})
    allowed_role = _role(server, trusts_account)
    other_role = _role(server, trusts_account)
    service_only = _role(server, doc({"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    name, client = make_user(server, doc(allow("sts:AssumeRole", [allowed_role, service_only])))
    sts = client("sts")
    creds = sts.assume_role(RoleArn=allowed_role, RoleSessionName="ok")["Credentials"]
    assert session_client(server, creds)("sts").get_caller_identity()["Arn"].endswith("/ok")
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=other_role, RoleSessionName="no")
    assert error(exc)["Code"] == "AccessDenied"
    assert "no identity-based policy allows the sts:AssumeRole action" in error(exc)["Message"]
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=service_only, RoleSessionName="no")
    assert error(exc)["Code"] == "AccessDenied"
    assert "no resource-based policy allows the sts:AssumeRole action" in error(exc)["Message"]


def test_trust_naming_the_user_needs_no_identity_policy(server: LiveServer) -> None:
    name, client = make_user(server, None)
    role = _role(server, doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"}, "Action": "sts:AssumeRole"}))
    assert client("sts").assume_role(RoleArn=role, RoleSessionName="direct")["AssumedRoleUser"]["Arn"].endswith("/direct")


def test_session_tags_need_tag_session_in_the_trust(server: LiveServer) -> None:
    name, client = make_user(server, doc(allow(["sts:AssumeRole", "sts:TagSession"])))
    principal = {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"}
    no_tags = _role(server, doc({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}))
    with_tags = _role(
        server,
        doc(
            {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"},
            {
                "Effect": "Allow",
                "Principal": principal,
                "Action": "sts:TagSession",
                "Condition": {"StringEquals": {"aws:RequestTag/team": "ml"}},
            },
        ),
        doc(allow("s3:ListAllMyBuckets", Condition={"StringEquals": {"aws:PrincipalTag/team": "ml"}})),
    )
    sts = client("sts")
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=no_tags, RoleSessionName="tt", Tags=[{"Key": "team", "Value": "ml"}])
    assert "sts:TagSession" in error(exc)["Message"]
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=with_tags, RoleSessionName="tt", Tags=[{"Key": "team", "Value": "web"}])
    creds = sts.assume_role(RoleArn=with_tags, RoleSessionName="tt", Tags=[{"Key": "team", "Value": "ml"}])["Credentials"]
    # The session tag is the principal tag the role's policy asks for.
    session_client(server, creds)("s3").list_buckets()


def test_session_policy_limits_the_session(server: LiveServer) -> None:
    role = _role(
        server,
        doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}),
        doc(allow(["s3:ListAllMyBuckets", "s3:CreateBucket"])),
    )
    sts = server.client("sts")
    creds = sts.assume_role(
        RoleArn=role, RoleSessionName="limited", Policy=doc(allow("s3:ListAllMyBuckets"))
    )["Credentials"]
    s3 = session_client(server, creds)("s3")
    s3.list_buckets()
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=unique("limited"))
    assert "because no session policy allows the s3:CreateBucket action" in error(exc)["Message"]
    managed = sts.assume_role(
        RoleArn=role,
        RoleSessionName="managed",
        PolicyArns=[{"arn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}],
    )["Credentials"]
    s3 = session_client(server, managed)("s3")
    s3.list_buckets()
    with pytest.raises(ClientError):
        s3.create_bucket(Bucket=unique("limited"))
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=role, RoleSessionName="bad", Policy='{"Statement": [{"Effect": "Allow"}]}')
    assert error(exc)["Code"] == "MalformedPolicyDocument"


def test_cross_account_assume_role(server: LiveServer) -> None:
    """A principal of another account needs both its own identity policy and the role's trust."""
    from seedbed.services.iam import store
    from seedbed.state.db import Database, sqlite_url

    db = Database(server.database_url or sqlite_url(server.data_dir))
    with db.begin() as conn:
        other_root = store.create_access_key(conn, OTHER_ACCOUNT, None)
    db.dispose()
    other = client_for(
        server, {"aws_access_key_id": other_root.access_key_id, "aws_secret_access_key": other_root.secret_access_key}
    )
    assert other("sts").get_caller_identity()["Account"] == OTHER_ACCOUNT
    role = _role(server, doc({"Effect": "Allow", "Principal": {"AWS": OTHER_ACCOUNT}, "Action": "sts:AssumeRole"}))
    _, partner = make_user(server, doc(allow("sts:AssumeRole", role)), admin=other)
    _, stranger = make_user(server, doc(allow("s3:*")), admin=other)
    creds = partner("sts").assume_role(RoleArn=role, RoleSessionName="xx")["Credentials"]
    assert session_client(server, creds)("sts").get_caller_identity()["Account"] == ACCOUNT
    with pytest.raises(ClientError) as exc:
        stranger("sts").assume_role(RoleArn=role, RoleSessionName="xx")
    assert "no identity-based policy allows" in error(exc)["Message"]
    # The other account's root has every identity permission; the trust policy decides.
    assert other("sts").assume_role(RoleArn=role, RoleSessionName="root")["Credentials"]
    not_trusted = _role(server, doc({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}))
    with pytest.raises(ClientError) as exc:
        other("sts").assume_role(RoleArn=not_trusted, RoleSessionName="root")
    assert "no resource-based policy allows" in error(exc)["Message"]


# --- managed policies and permissions boundaries ------------------------------------------------


def test_managed_policy_grants_and_boundary_limits(server: LiveServer) -> None:
    _, full = make_user(server, managed=["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"])
    passes_iam(lambda: full("sagemaker").list_projects())
    with pytest.raises(ClientError) as exc:
        full("iam").create_user(UserName=unique("nope"))
    assert error(exc)["Code"] == "AccessDenied"
    _, bounded = make_user(
        server,
        managed=["arn:aws:iam::aws:policy/AdministratorAccess"],
        boundary="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    )
    bounded("s3").list_buckets()
    with pytest.raises(ClientError) as exc:
        bounded("s3").create_bucket(Bucket=unique("bounded"))
    assert "because no permissions boundary allows the s3:CreateBucket action" in error(exc)["Message"]


def test_policy_changes_apply_at_once(server: LiveServer) -> None:
    name, client = make_user(server, doc(allow("s3:ListAllMyBuckets")))
    client("s3").list_buckets()
    server.client("iam").put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=doc(deny("s3:*")))
    with pytest.raises(ClientError) as exc:
        client("s3").list_buckets()
    assert "with an explicit deny in an identity-based policy" in error(exc)["Message"]
    group = unique("group")
    iam = server.client("iam")
    iam.create_group(GroupName=group)
    iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=doc(allow("iam:GetUser")))
    iam.add_user_to_group(GroupName=group, UserName=name)
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    client("s3").list_buckets()


# --- the secure-environment preventive controls -----------------------------------------------

TRAINING = {
    "AlgorithmSpecification": {"TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "TrainingInputMode": "File"},
    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMakerExecutionRole",
    "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
    "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
    "StoppingCondition": {"MaxRuntimeInSeconds": 600},
}


def test_vpc_guard_blocks_a_training_job_without_vpc(server: LiveServer) -> None:
    guard = doc(
        allow(["sagemaker:*", "iam:PassRole"]),
        {
            "Sid": "DenyWithoutVpc",
            "Effect": "Deny",
            "Action": ["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob", "sagemaker:CreateModel"],
            "Resource": "*",
            "Condition": {"Null": {"sagemaker:VpcSubnets": "true"}},
        },
    )
    name, client = make_user(server, guard)
    sagemaker = client("sagemaker")
    with pytest.raises(ClientError) as exc:
        sagemaker.create_training_job(TrainingJobName="no-vpc", **TRAINING)
    assert error(exc)["Code"] == "AccessDeniedException"
    assert error(exc)["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/{name} is not authorized to perform: sagemaker:CreateTrainingJob "
        f"on resource: arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/no-vpc with an explicit deny in an "
        "identity-based policy"
    )
    request_id = exc.value.response["ResponseMetadata"]["RequestId"]
    text = explain(server, request_id)
    assert "ExplicitDeny" in text and "DenyWithoutVpc" in text and "sagemaker:VpcSubnets" in text
    # Past IAM: while SageMaker jobs are not built this is the NotImplemented error, not AccessDenied.
    passes_iam(
        lambda: sagemaker.create_training_job(
            TrainingJobName="with-vpc",
            VpcConfig={"Subnets": ["subnet-0a1b2c3d"], "SecurityGroupIds": ["sg-0a1b2c3d"]},
            **TRAINING,
        )
    )
    with pytest.raises(ClientError) as exc:
        sagemaker.create_model(ModelName="m", ExecutionRoleArn=TRAINING["RoleArn"])
    assert error(exc)["Code"] == "AccessDeniedException"


# --- bucket policies and object tags -----------------------------------------------------------


def test_source_vpce_bucket_policy_blocks_an_ordinary_client(server: LiveServer) -> None:
    s3 = server.client("s3")
    bucket = unique("vpce")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    policy = doc(
        {
            "Sid": "OnlyThroughTheEndpoint",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
        }
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k")
    assert error(exc)["Code"] == "AccessDenied"
    assert "with an explicit deny in a resource-based policy" in error(exc)["Message"]
    assert "OnlyThroughTheEndpoint" in explain(server, exc.value.response["ResponseMetadata"]["RequestId"])
    _, user = make_user(server, doc(allow("s3:*")))
    with pytest.raises(ClientError):
        user("s3").list_objects_v2(Bucket=bucket)
    # The bucket owner's root user can always remove a policy that locks everyone out.
    s3.delete_bucket_policy(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"


def test_caller_without_get_object_tagging_cannot_see_visibility_tags(server: LiveServer) -> None:
    s3 = server.client("s3")
    bucket = unique("templates")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="templates/t.yaml", Body=b"Resources: {}", Tagging="sagemaker%3Astudio-visibility=true")
    reader_policy = doc(allow(["s3:GetObject", "s3:ListBucket"], [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]))
    _, reader = make_user(server, reader_policy)
    assert reader("s3").get_object(Bucket=bucket, Key="templates/t.yaml")["Body"].read() == b"Resources: {}"
    with pytest.raises(ClientError) as exc:
        reader("s3").get_object_tagging(Bucket=bucket, Key="templates/t.yaml")
    assert error(exc)["Code"] == "AccessDenied"
    assert "s3:GetObjectTagging" in error(exc)["Message"]
    _, tagger = make_user(server, doc(allow("s3:GetObjectTagging", f"arn:aws:s3:::{bucket}/*")))
    tags = tagger("s3").get_object_tagging(Bucket=bucket, Key="templates/t.yaml")["TagSet"]
    assert {"Key": "sagemaker:studio-visibility", "Value": "true"} in tags


def test_existing_object_tag_condition(server: LiveServer) -> None:
    s3 = server.client("s3")
    bucket = unique("tagged")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="visible", Body=b"v", Tagging="sagemaker%3Astudio-visibility=true")
    s3.put_object(Bucket=bucket, Key="hidden", Body=b"h")
    policy = doc(
        allow(
            "s3:GetObject",
            f"arn:aws:s3:::{bucket}/*",
            Condition={"StringEquals": {"s3:ExistingObjectTag/sagemaker:studio-visibility": "true"}},
        )
    )
    _, user = make_user(server, policy)
    assert user("s3").get_object(Bucket=bucket, Key="visible")["Body"].read() == b"v"
    with pytest.raises(ClientError):
        user("s3").get_object(Bucket=bucket, Key="hidden")


# --- audit mode ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def audit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("seedbed-audit") / "data"
    port = free_port()
    database_url = isolated_database_url()
    cmd = [str(BIN / "seedbed"), "up", "--port", str(port), "--data-dir", str(data_dir), "--iam-mode", "audit"]
    if database_url:
        cmd += ["--database-url", database_url]
    log = open(data_dir.parent / "server.log", "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://localhost:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{endpoint}/_seedbed/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    creds = json.loads((data_dir / "credentials.json").read_text())
    live = LiveServer(endpoint, data_dir, creds["aws_access_key_id"], creds["aws_secret_access_key"], creds["region"], database_url, proc)
    yield live
    stop_server(live)


def test_audit_mode_allows_but_records_what_would_be_denied(audit_server: LiveServer) -> None:
    _, client = make_user(audit_server, doc(allow("s3:ListAllMyBuckets")))
    bucket = unique("audited")
    response = client("s3").create_bucket(Bucket=bucket)
    request_id = response["ResponseMetadata"]["RequestId"]
    text = explain(audit_server, request_id)
    assert "ImplicitDeny" in text and "audit mode" in text and "s3:CreateBucket" in text


# --- explain and the audit trail ------------------------------------------------------------


def test_explain_for_an_allowed_request(server: LiveServer) -> None:
    _, client = make_user(server, doc({"Sid": "ListAll", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}))
    request_id = client("s3").list_buckets()["ResponseMetadata"]["RequestId"]
    text = explain(server, request_id)
    assert "Allow" in text and "ListAll" in text
    root_request = server.client("sts").get_caller_identity()["ResponseMetadata"]["RequestId"]
    assert explain(server, root_request)  # explained from the audit trail: root, no evaluation


def test_denied_requests_are_in_the_audit_trail_with_the_same_request_id(server: LiveServer) -> None:
    _, client = make_user(server, None)
    with pytest.raises(ClientError) as exc:
        client("iam").list_users()
    request_id = exc.value.response["ResponseMetadata"]["RequestId"]
    for _ in range(40):
        events = server.client("cloudtrail").lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ListUsers"}]
        )["Events"]
        records = [json.loads(e["CloudTrailEvent"]) for e in events]
        matching = [r for r in records if r.get("requestID") == request_id]
        if matching:
            break
        time.sleep(0.1)
    assert matching and matching[0]["errorCode"] == "AccessDenied"



def test_session_token_of_a_user_keeps_the_users_permissions(server: LiveServer) -> None:
    _, client = make_user(server, doc(allow("s3:ListAllMyBuckets")))
    creds = client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    s3 = session_client(server, creds)("s3")
    s3.list_buckets()
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=unique("session"))
    assert "no identity-based policy allows the s3:CreateBucket action" in error(exc)["Message"]


def test_kms_key_policy_is_a_gate(server: LiveServer) -> None:
    """A key policy that delegates to IAM lets identity policies decide; one that does not, wins."""
    kms = server.client("kms")
    delegating = kms.create_key()["KeyMetadata"]["KeyId"]  # default policy: the account's root
    name, user = make_user(server, doc(allow("kms:*")))
    assert user("kms").encrypt(KeyId=delegating, Plaintext=b"x")["CiphertextBlob"]
    closed_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "RootOnly", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:PrincipalType": "Account"}}},
            ],
        }
    )
    closed = kms.create_key(Policy=closed_policy, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as exc:
        user("kms").encrypt(KeyId=closed, Plaintext=b"x")
    assert error(exc)["Code"] == "AccessDeniedException"
    assert f"User: arn:aws:iam::{ACCOUNT}:user/{name}" in error(exc)["Message"]
    assert "no resource-based policy allows the kms:Encrypt action" in error(exc)["Message"]
    assert kms.encrypt(KeyId=closed, Plaintext=b"x")["CiphertextBlob"]  # the root the policy names
