"""The server core as a user meets it: identity, signatures, temporary credentials, the trail."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import boto3
import botocore.auth
import botocore.credentials
import httpx
import pytest
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from tests.conftest import BIN, LiveServer

TRUST_ANYONE_IN_ACCOUNT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def test_caller_identity_with_boto3(server: LiveServer) -> None:
    ident = server.client("sts").get_caller_identity()
    assert ident["Account"] == "000000000000"
    assert ident["Arn"] == "arn:aws:iam::000000000000:root"
    assert ident["UserId"] == "000000000000"


def test_caller_identity_with_aws_cli_after_env(server: LiveServer) -> None:
    """`eval "$(seedbed env)"` then plain `aws sts get-caller-identity`."""
    script = (
        f'eval "$({BIN}/seedbed env --data-dir {server.data_dir} --port {server.endpoint.rsplit(":", 1)[1]})"'
        f" && {BIN}/aws sts get-caller-identity --output json"
    )
    env = {k: v for k, v in server.env.items() if not k.startswith("AWS_")}
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["Arn"] == "arn:aws:iam::000000000000:root"


def test_wrong_secret_is_rejected(server: LiveServer) -> None:
    sts = server.client("sts", aws_secret_access_key="x" * 40)
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert error_code(exc) == "SignatureDoesNotMatch"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_key_is_rejected(server: LiveServer) -> None:
    sts = server.client("sts", aws_access_key_id="AKIAUNKNOWNUNKNOWN00")
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert error_code(exc) == "InvalidClientTokenId"


def _signed_sts_request(server: LiveServer, body: str) -> AWSRequest:
    request = AWSRequest(
        method="POST",
        url=server.endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    creds = botocore.credentials.Credentials(server.access_key, server.secret_key)
    botocore.auth.SigV4Auth(creds, "sts", server.region).add_auth(request)
    return request


def test_tampered_body_is_rejected(server: LiveServer) -> None:
    request = _signed_sts_request(server, "Action=GetCallerIdentity&Version=2011-06-15")
    ok = httpx.post(request.url, content=request.body, headers=dict(request.headers.items()))
    assert ok.status_code == 200, ok.text
    tampered = httpx.post(
        request.url,
        content=b"Action=GetSessionToken&Version=2011-06-15",
        headers=dict(request.headers.items()),
    )
    assert tampered.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in tampered.text


def test_missing_signature_is_rejected(server: LiveServer) -> None:
    response = httpx.post(
        server.endpoint + "/",
        content=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 403
    assert "MissingAuthenticationToken" in response.text


def test_expired_presigned_url_is_rejected(server: LiveServer) -> None:
    url = server.client("sts").generate_presigned_url(
        "get_caller_identity", ExpiresIn=1, HttpMethod="GET"
    )
    assert httpx.get(url).status_code == 200
    time.sleep(2.1)
    response = httpx.get(url)
    assert response.status_code == 403
    assert "<Code>" in response.text and "expired" in response.text.lower()


def test_assume_role_and_use_its_credentials(server: LiveServer) -> None:
    iam = server.client("iam")
    name = f"launch-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(
        RoleName=name, Path="/service-role/", AssumeRolePolicyDocument=TRUST_ANYONE_IN_ACCOUNT
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::000000000000:role/service-role/{name}"
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    assumed = server.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="ds", DurationSeconds=900)
    creds = assumed["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert assumed["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::000000000000:assumed-role/{name}/ds"
    assert assumed["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:ds"
    as_role = boto3.client(
        "sts",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    assert as_role.get_caller_identity()["Arn"] == assumed["AssumedRoleUser"]["Arn"]
    # A session key presented without its token is not accepted.
    no_token = boto3.client(
        "sts",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
    )
    with pytest.raises(ClientError) as exc:
        no_token.get_caller_identity()
    assert error_code(exc) == "InvalidClientTokenId"
    # Role chaining is capped at one hour. (The trust policy names the account, so the role's own
    # policies must also allow sts:AssumeRole, as on AWS.)
    iam.put_role_policy(
        RoleName=name,
        PolicyName="chain",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]}]}
        ),
    )
    with pytest.raises(ClientError) as exc:
        as_role.assume_role(RoleArn=role["Arn"], RoleSessionName="again", DurationSeconds=7200)
    assert error_code(exc) == "ValidationError"


def test_assume_missing_role_is_denied(server: LiveServer) -> None:
    with pytest.raises(ClientError) as exc:
        server.client("sts").assume_role(
            RoleArn="arn:aws:iam::000000000000:role/nope", RoleSessionName="sess"
        )
    assert error_code(exc) == "AccessDenied"


def test_session_token_for_root_is_capped_at_one_hour(server: LiveServer) -> None:
    sts = server.client("sts")
    creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert creds["SessionToken"]
    with pytest.raises(ClientError) as exc:
        sts.get_session_token(DurationSeconds=7200)
    assert error_code(exc) == "ValidationError"


def test_validation_errors_come_from_the_model(server: LiveServer) -> None:
    with pytest.raises(ClientError) as exc:
        server.client("sts").assume_role(
            RoleArn="arn:aws:iam::000000000000:role/x", RoleSessionName="bad name!"
        )
    assert error_code(exc) == "ValidationError"
    assert "roleSessionName" in exc.value.response["Error"]["Message"]


def test_unimplemented_operation_names_itself(server: LiveServer) -> None:
    with pytest.raises(ClientError) as exc:
        server.client("sagemaker").list_hubs()  # an operation no SageMaker project touches
    assert error_code(exc) == "NotImplemented"
    assert "sagemaker:ListHubs" in exc.value.response["Error"]["Message"]


def test_health_reports_version_and_services(server: LiveServer) -> None:
    health = httpx.get(server.endpoint + "/_seedbed/health").json()
    assert health["status"] == "ok"
    assert "sts" in health["services"] and health["version"]


def test_audit_trail_records_allowed_and_denied(server: LiveServer) -> None:
    marker = f"AKIAMARKER{uuid.uuid4().hex[:10].upper()}"
    with pytest.raises(ClientError):
        server.client("sts", aws_access_key_id=marker).get_caller_identity()
    server.client("sts").get_caller_identity()
    trail = server.client("cloudtrail")
    denied = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": marker}]
    )["Events"]
    assert len(denied) == 1
    record = json.loads(denied[0]["CloudTrailEvent"])
    assert record["errorCode"] == "InvalidClientTokenId"
    assert record["eventName"] == "GetCallerIdentity"
    allowed = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}],
        MaxResults=5,
    )["Events"]
    assert any("errorCode" not in json.loads(e["CloudTrailEvent"]) for e in allowed)
    # The command-line view reads the same trail.
    cmd = [str(BIN / "seedbed"), "audit", "--data-dir", str(server.data_dir), "--json", "--limit", "500"]
    if server.database_url:
        cmd += ["--database-url", server.database_url]
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    assert any(json.loads(line).get("userIdentity", {}).get("accessKeyId") == marker for line in lines)


def test_secrets_are_redacted_in_the_trail(server: LiveServer) -> None:
    iam = server.client("iam")
    iam.create_user(UserName=f"u-{uuid.uuid4().hex[:6]}")
    events = server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AssumeRole"}]
    )["Events"]
    for event in events:
        assert server.secret_key not in event["CloudTrailEvent"]
