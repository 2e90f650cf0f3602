"""Lambda through boto3: functions, code from S3, configuration, versions, aliases, resource
policies, tags, and invocations (results, unhandled errors, timeouts, logs, asynchronous events
with retries), with handlers that call Seedbed through unmodified boto3 under the function's role."""

from __future__ import annotations

import base64
import io
import json
import os
import time
import uuid
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveServer

# AWS waits a minute, then two, between retries of an asynchronous invocation; the server that
# the session starts (after collection) reads this and waits a fraction of a second instead.
os.environ.setdefault("SEEDBED_LAMBDA_ASYNC_RETRY_DELAYS", "0.2,0.2")

ACCOUNT = "000000000000"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}

HANDLER = '''
import json, logging, os, time
import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)
COLD = time.time()


def handler(event, context):
    action = event.get("action")
    print("event", json.dumps(event))
    if action == "fail":
        raise ValueError("bad input: " + str(event.get("why")))
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "count":
        with open(event["file"], "a") as fh:
            fh.write(context.aws_request_id + "\\n")
        raise RuntimeError("try again")
    if action == "ssm":
        ssm = boto3.client("ssm")
        value = ssm.get_parameter(Name=event["name"])["Parameter"]["Value"]
        try:
            boto3.client("secretsmanager").get_secret_value(SecretId=event["secret"])
            secret = "read"
        except Exception as exc:
            secret = type(exc).__name__ + ":" + exc.response["Error"]["Code"]
        return {"value": value, "secret": secret, "who": boto3.client("sts").get_caller_identity()["Arn"]}
    logger.info("line one\\nline two")
    return {
        "echo": event,
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "remaining": context.get_remaining_time_in_millis(),
        "memory": context.memory_limit_in_mb,
        "group": context.log_group_name,
        "env": {k: os.environ.get(k) for k in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
                                                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "_HANDLER", "GREETING",
                                                "AWS_REGION", "LAMBDA_TASK_ROOT")},
        "cold": COLD,
        "pid": os.getpid(),
    }
'''


def package(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buf.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def role(server: LiveServer) -> str:
    iam = server.client("iam")
    name = unique("fn-role-")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": f"arn:aws:ssm:*:{ACCOUNT}:parameter/lambda-ok/*"},
        {"Effect": "Allow", "Action": ["logs:*", "sts:GetCallerIdentity"], "Resource": "*"}]}))
    return arn


@pytest.fixture(scope="module")
def fn(server: LiveServer, role: str) -> str:
    lam = server.client("lambda")
    name = unique("fn-")
    out = lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler",
                              Code={"ZipFile": package({"app.py": HANDLER})}, Timeout=2, MemorySize=256,
                              Environment={"Variables": {"GREETING": "hi"}}, Tags={"team": "ml"})
    assert out["State"] == "Active" and out["LastUpdateStatus"] == "Successful"
    return name


def test_create_get_list_and_errors(server: LiveServer, fn: str, role: str) -> None:
    lam = server.client("lambda")
    config = lam.get_function_configuration(FunctionName=fn)
    assert config["FunctionArn"] == f"arn:aws:lambda:{server.region}:{ACCOUNT}:function:{fn}"
    assert config["Runtime"] == "python3.12" and config["Handler"] == "app.handler" and config["Version"] == "$LATEST"
    assert config["Timeout"] == 2 and config["MemorySize"] == 256 and config["PackageType"] == "Zip"
    assert config["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert len(base64.b64decode(config["CodeSha256"])) == 32 and config["LoggingConfig"]["LogGroup"] == f"/aws/lambda/{fn}"
    got = lam.get_function(FunctionName=fn)
    assert got["Tags"] == {"team": "ml"} and got["Code"]["RepositoryType"] == "S3"
    import httpx

    zipped = httpx.get(got["Code"]["Location"]).content
    assert zipfile.ZipFile(io.BytesIO(zipped)).read("app.py").decode() == HANDLER
    assert fn in {f["FunctionName"] for f in lam.get_paginator("list_functions").paginate().build_full_result()["Functions"]}
    assert lam.get_function_configuration(FunctionName=config["FunctionArn"])["FunctionName"] == fn

    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=fn, Runtime="python3.12", Role=role, Handler="app.handler",
                            Code={"ZipFile": package({"app.py": HANDLER})})
    assert code(exc) == "ResourceConflictException"
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName=unique("nothing-"))
    assert code(exc) == "ResourceNotFoundException" and exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=unique("node-"), Runtime="nodejs20.x", Role=role, Handler="index.handler",
                            Code={"ZipFile": package({"index.js": ""})})
    assert code(exc) == "InvalidParameterValueException" and "nodejs20.x" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=unique("bad-"), Runtime="python3.12", Role=role, Handler="a.b",
                            Code={"ZipFile": b"not a zip"})
    assert code(exc) == "InvalidParameterValueException" and "Could not unzip" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=unique("env-"), Runtime="python3.12", Role=role, Handler="a.b",
                            Code={"ZipFile": package({"a.py": ""})}, Environment={"Variables": {"AWS_REGION": "x"}})
    assert "reserved keys" in str(exc.value)
    untrusting = server.client("iam").create_role(
        RoleName=unique("no-trust-"), AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=unique("t-"), Runtime="python3.12", Role=untrusting, Handler="a.b",
                            Code={"ZipFile": package({"a.py": ""})})
    assert "cannot be assumed by Lambda" in str(exc.value)


def test_invoke_result_context_and_log_tail(server: LiveServer, fn: str) -> None:
    lam = server.client("lambda")
    out = lam.invoke(FunctionName=fn, Payload=json.dumps({"x": 1}), LogType="Tail")
    assert out["StatusCode"] == 200 and "FunctionError" not in out and out["ExecutedVersion"] == "$LATEST"
    body = json.loads(out["Payload"].read())
    assert body["echo"] == {"x": 1} and body["arn"].endswith(f":function:{fn}") and body["memory"] == "256"
    assert 0 < body["remaining"] <= 2000 and body["group"] == f"/aws/lambda/{fn}"
    env = body["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == fn and env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["_HANDLER"] == "app.handler" and env["GREETING"] == "hi" and env["AWS_REGION"] == server.region
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256" and Path(env["LAMBDA_TASK_ROOT"], "app.py").is_file()
    tail = base64.b64decode(out["LogResult"]).decode()
    assert f"START RequestId: {body['request_id']} Version: $LATEST" in tail
    assert 'event {"x": 1}' in tail and f"END RequestId: {body['request_id']}" in tail
    assert "[INFO]\t" in tail and f"\t{body['request_id']}\tline one\nline two" in tail
    assert f"REPORT RequestId: {body['request_id']}\tDuration: " in tail and "Memory Size: 256 MB" in tail
    # Warm: the same process answers the next invocation, without an Init phase.
    again = json.loads(lam.invoke(FunctionName=fn, Payload=b"{}")["Payload"].read())
    assert again["pid"] == body["pid"] and again["cold"] == body["cold"]
    assert lam.invoke(FunctionName=fn, InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=fn, Payload=b"{not json")
    assert code(exc) == "InvalidRequestContentException"


def test_unhandled_error_and_timeout(server: LiveServer, fn: str) -> None:
    lam = server.client("lambda")
    out = lam.invoke(FunctionName=fn, Payload=json.dumps({"action": "fail", "why": 42}), LogType="Tail")
    assert out["StatusCode"] == 200 and out["FunctionError"] == "Unhandled"
    error = json.loads(out["Payload"].read())
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "bad input: 42"
    assert error["stackTrace"] and 'in handler\n    raise ValueError' in error["stackTrace"][-1]
    assert "[ERROR] ValueError: bad input: 42\nTraceback (most recent call last):" in base64.b64decode(out["LogResult"]).decode()
    started = time.monotonic()
    out = lam.invoke(FunctionName=fn, Payload=json.dumps({"action": "sleep", "seconds": 30}), LogType="Tail")
    assert time.monotonic() - started < 10
    error = json.loads(out["Payload"].read())
    assert out["FunctionError"] == "Unhandled" and "Task timed out after 2.00 seconds" in error["errorMessage"]
    assert "Task timed out after 2.00 seconds" in base64.b64decode(out["LogResult"]).decode()
    # The killed worker is replaced: the function answers again.
    assert json.loads(lam.invoke(FunctionName=fn, Payload=b'{"x": 2}')["Payload"].read())["echo"] == {"x": 2}


def test_role_credentials_reach_seedbed_and_iam_limits_them(server: LiveServer, fn: str, role: str) -> None:
    ssm, sm, lam = server.client("ssm"), server.client("secretsmanager"), server.client("lambda")
    name = f"/lambda-ok/{unique('p')}"
    ssm.put_parameter(Name=name, Value="from-ssm", Type="String")
    secret = sm.create_secret(Name=unique("s-"), SecretString="hidden")["ARN"]
    out = json.loads(lam.invoke(FunctionName=fn, Payload=json.dumps({"action": "ssm", "name": name, "secret": secret}))["Payload"].read())
    assert out["value"] == "from-ssm"
    assert out["secret"] == "ClientError:AccessDeniedException"
    assert out["who"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.rsplit('/', 1)[1]}/{fn}"
    out = lam.invoke(FunctionName=fn, Payload=json.dumps({"action": "ssm", "name": f"/other/{unique('p')}", "secret": secret}))
    assert out["FunctionError"] == "Unhandled" and "AccessDeniedException" in json.loads(out["Payload"].read())["errorMessage"]


def test_event_invocations_are_retried_twice(server: LiveServer, fn: str, tmp_path: Path) -> None:
    lam = server.client("lambda")
    marks = tmp_path / "attempts.txt"
    out = lam.invoke(FunctionName=fn, InvocationType="Event", Payload=json.dumps({"action": "count", "file": str(marks)}))
    assert out["StatusCode"] == 202
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (not marks.exists() or len(marks.read_text().split()) < 3):
        time.sleep(0.1)
    time.sleep(0.6)
    attempts = marks.read_text().split()
    assert len(attempts) == 3 and len(set(attempts)) == 1  # AWS keeps the request id across retries


def test_versions_aliases_and_update(server: LiveServer, role: str) -> None:
    lam = server.client("lambda")
    name = unique("ver-")
    v1_code = package({"m.py": "def h(e, c):\n    return 'one'\n"})
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="m.h", Code={"ZipFile": v1_code}, Publish=True)
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    assert versions[1]["FunctionArn"].endswith(f":function:{name}:1")
    assert lam.publish_version(FunctionName=name)["Version"] == "1"  # nothing changed since 1
    s3 = server.client("s3")
    bucket = unique("code-")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="two.zip", Body=package({"m.py": "def h(e, c):\n    return 'two'\n"}))
    updated = lam.update_function_code(FunctionName=name, S3Bucket=bucket, S3Key="two.zip")
    assert updated["CodeSha256"] != versions[0]["CodeSha256"]
    with pytest.raises(ClientError) as exc:
        lam.update_function_code(FunctionName=name, S3Bucket=bucket, S3Key="missing.zip")
    assert code(exc) == "InvalidParameterValueException" and "NoSuchKey" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        lam.update_function_configuration(FunctionName=name, Timeout=9, RevisionId="stale")
    assert code(exc) == "PreconditionFailedException"
    lam.update_function_configuration(FunctionName=name, Timeout=9, Description="second")
    v2 = lam.publish_version(FunctionName=name, Description="v2")
    assert v2["Version"] == "2" and v2["Timeout"] == 9 and v2["Description"] == "v2"
    alias = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert alias["AliasArn"].endswith(f":function:{name}:live")
    read = lambda **kw: json.loads(lam.invoke(FunctionName=name, **kw)["Payload"].read())
    assert read() == "two" and read(Qualifier="1") == "one" and read(Qualifier="live") == "one"
    assert lam.invoke(FunctionName=f"{name}:live")["ExecutedVersion"] == "1"
    lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2")
    assert read(Qualifier="live") == "two" and lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"
    assert [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]] == ["live"]
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName=name, Qualifier="2")
    assert code(exc) == "ResourceConflictException"
    lam.delete_alias(FunctionName=name, Name="live")
    lam.delete_function(FunctionName=name, Qualifier="2")
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=name, Qualifier="2")
    assert code(exc) == "ResourceNotFoundException"
    lam.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName=name)
    assert code(exc) == "ResourceNotFoundException"


def test_permissions_tags_and_cross_account(server: LiveServer, fn: str) -> None:
    lam = server.client("lambda")
    arn = lam.get_function_configuration(FunctionName=fn)["FunctionArn"]
    statement = json.loads(lam.add_permission(
        FunctionName=fn, StatementId="events", Action="lambda:InvokeFunction", Principal="events.amazonaws.com",
        SourceArn=f"arn:aws:events:{server.region}:{ACCOUNT}:rule/r1", SourceAccount=ACCOUNT)["Statement"])
    assert statement == {
        "Sid": "events", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "lambda:InvokeFunction", "Resource": arn,
        "Condition": {"StringEquals": {"AWS:SourceAccount": ACCOUNT},
                      "ArnLike": {"AWS:SourceArn": f"arn:aws:events:{server.region}:{ACCOUNT}:rule/r1"}}}
    with pytest.raises(ClientError) as exc:
        lam.add_permission(FunctionName=fn, StatementId="events", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com")
    assert code(exc) == "ResourceConflictException"
    lam.add_permission(FunctionName=fn, StatementId="other-account", Action="lambda:InvokeFunction", Principal="111122223333")
    policy = json.loads(lam.get_policy(FunctionName=fn)["Policy"])
    assert policy["Version"] == "2012-10-17" and policy["Id"] == "default"
    assert policy["Statement"][1]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    lam.remove_permission(FunctionName=fn, StatementId="other-account")
    assert [s["Sid"] for s in json.loads(lam.get_policy(FunctionName=fn)["Policy"])["Statement"]] == ["events"]
    with pytest.raises(ClientError) as exc:
        lam.remove_permission(FunctionName=fn, StatementId="nope")
    assert code(exc) == "ResourceNotFoundException"

    lam.tag_resource(Resource=arn, Tags={"stage": "dev"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "ml", "stage": "dev"}
    lam.untag_resource(Resource=arn, TagKeys=["team"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"stage": "dev"}

    # A user of another account needs the function's resource policy as well as their own.
    other = "222233334444"
    keys = _other_account_admin(server, other)
    foreign = server.client("lambda", aws_access_key_id=keys[0], aws_secret_access_key=keys[1])
    with pytest.raises(ClientError) as exc:
        foreign.invoke(FunctionName=arn, Payload=b"{}")
    assert code(exc) == "AccessDeniedException"
    lam.add_permission(FunctionName=fn, StatementId="partner", Action="lambda:InvokeFunction", Principal=other)
    assert json.loads(foreign.invoke(FunctionName=arn, Payload=b'{"y": 1}')["Payload"].read())["echo"] == {"y": 1}
    lam.remove_permission(FunctionName=fn, StatementId="partner")


def _other_account_admin(server: LiveServer, account: str) -> tuple[str, str]:
    """Root keys of another account, made in the database as test_iam_enforcement does."""
    from seedbed.services.iam import store
    from seedbed.state.db import Database, sqlite_url

    db = Database(server.database_url or sqlite_url(server.data_dir))
    with db.begin() as conn:
        key = store.create_access_key(conn, account, None)
    db.dispose()
    return key.access_key_id, key.secret_access_key


def test_logs_reach_cloudwatch(server: LiveServer, fn: str) -> None:
    lam, logs = server.client("lambda"), server.client("logs")
    request_id = json.loads(lam.invoke(FunctionName=fn, Payload=b'{"z": 3}')["Payload"].read())["request_id"]
    deadline = time.monotonic() + 5
    messages: list[str] = []
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{fn}")["events"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NotImplemented", "UnknownOperationException"):
                pytest.skip("CloudWatch Logs is not in this build yet")
            raise
        messages = [e["message"] for e in events]
        if any(m.startswith(f"REPORT RequestId: {request_id}") for m in messages):
            break
        time.sleep(0.1)
    assert f"START RequestId: {request_id} Version: $LATEST" in messages
    assert f"END RequestId: {request_id}" in messages
    assert any(m.startswith(f"REPORT RequestId: {request_id}\tDuration:") for m in messages)
