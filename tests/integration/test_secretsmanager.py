"""Secrets Manager as boto3 and the AWS CLI meet it: secrets by name, ARN and partial ARN, versions
and staging labels, deletion and recovery, listing filters, tags, resource policies, and values
encrypted through KMS."""

from __future__ import annotations

import json
import string
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.conftest import BIN, LiveServer

ACCOUNT = "000000000000"


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.fixture
def sm(server: LiveServer):  # type: ignore[no-untyped-def]
    return server.client("secretsmanager")


def unique(prefix: str = "app") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"


def test_create_and_get_by_name_arn_and_partial_arn(sm, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    name = unique("db")
    made = sm.create_secret(
        Name=name, SecretString='{"user":"admin","password":"p"}', Description="db creds"
    )
    arn = made["ARN"]
    prefix = f"arn:aws:secretsmanager:{server.region}:{ACCOUNT}:secret:{name}-"
    assert arn.startswith(prefix) and len(arn) == len(prefix) + 6
    for secret_id in (name, arn, arn[:-7]):
        value = sm.get_secret_value(SecretId=secret_id)
        assert json.loads(value["SecretString"]) == {"user": "admin", "password": "p"}
        assert value["ARN"] == arn and value["Name"] == name
        assert value["VersionId"] == made["VersionId"] and value["VersionStages"] == ["AWSCURRENT"]
    for missing in (unique(), arn[:-1] + ("x" if arn[-1] != "x" else "y"), arn[:-8]):
        with pytest.raises(ClientError) as exc:
            sm.get_secret_value(SecretId=missing)
        assert error_code(exc) == "ResourceNotFoundException"


def test_binary_secrets(sm) -> None:  # type: ignore[no-untyped-def]
    name = unique()
    sm.create_secret(Name=name, SecretBinary=b"\x00\x01binary\xff")
    value = sm.get_secret_value(SecretId=name)
    assert value["SecretBinary"] == b"\x00\x01binary\xff" and "SecretString" not in value
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name=unique(), SecretString="s", SecretBinary=b"b")
    assert error_code(exc) == "InvalidParameterException"


def test_duplicate_and_invalid_names(sm) -> None:  # type: ignore[no-untyped-def]
    name = unique()
    sm.create_secret(Name=name, SecretString="a")
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name=name, SecretString="b")
    assert error_code(exc) == "ResourceExistsException"
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name="bad name!", SecretString="b")
    assert error_code(exc) == "InvalidParameterException"


def test_client_request_token_is_idempotent(sm) -> None:  # type: ignore[no-untyped-def]
    name = unique()
    token = str(uuid.uuid4())
    first = sm.create_secret(Name=name, SecretString="v1", ClientRequestToken=token)
    again = sm.create_secret(Name=name, SecretString="v1", ClientRequestToken=token)
    assert again["VersionId"] == first["VersionId"] == token
    put_token = str(uuid.uuid4())
    sm.put_secret_value(SecretId=name, SecretString="v2", ClientRequestToken=put_token)
    sm.put_secret_value(SecretId=name, SecretString="v2", ClientRequestToken=put_token)
    with pytest.raises(ClientError) as exc:
        sm.put_secret_value(SecretId=name, SecretString="other", ClientRequestToken=put_token)
    assert error_code(exc) == "ResourceExistsException"
    assert len(sm.list_secret_version_ids(SecretId=name)["Versions"]) == 2


def test_versions_and_staging_labels(sm) -> None:  # type: ignore[no-untyped-def]
    name = unique()
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="two")["VersionId"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "two"
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "one"
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == "one"
    v3 = sm.put_secret_value(SecretId=name, SecretString="three")["VersionId"]
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {v3: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}  # v1 is deprecated now
    listed = sm.list_secret_version_ids(SecretId=name)["Versions"]
    assert {v["VersionId"] for v in listed} == {v2, v3}
    every = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    assert {v["VersionId"] for v in every} == {v1, v2, v3}
    assert all(v["KmsKeyIds"] for v in every)

    pending = sm.put_secret_value(SecretId=name, SecretString="four", VersionStages=["AWSPENDING"])
    assert pending["VersionStages"] == ["AWSPENDING"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "three"
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")["SecretString"] == "four"

    # Promote the pending version: the old current becomes previous.
    with pytest.raises(ClientError) as exc:
        sm.update_secret_version_stage(
            SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=pending["VersionId"]
        )
    assert error_code(exc) == "InvalidParameterException"
    sm.update_secret_version_stage(
        SecretId=name,
        VersionStage="AWSCURRENT",
        MoveToVersionId=pending["VersionId"],
        RemoveFromVersionId=v3,
    )
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages[pending["VersionId"]] == ["AWSPENDING", "AWSCURRENT"]
    assert stages[v3] == ["AWSPREVIOUS"]
    sm.update_secret_version_stage(
        SecretId=name, VersionStage="AWSPENDING", RemoveFromVersionId=pending["VersionId"]
    )
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "four"
    with pytest.raises(ClientError) as exc:
        sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")
    assert error_code(exc) == "ResourceNotFoundException"


def test_update_secret(sm, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    name = unique()
    sm.create_secret(Name=name, SecretString="one")
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    out = sm.update_secret(SecretId=name, Description="new words", KmsKeyId=key["Arn"])
    assert "VersionId" not in out
    described = sm.describe_secret(SecretId=name)
    assert described["Description"] == "new words" and described["KmsKeyId"] == key["Arn"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "one"
    versions = sm.list_secret_version_ids(SecretId=name)["Versions"]
    assert versions[0]["KmsKeyIds"] == [key["Arn"]]  # re-encrypted under the new key
    out = sm.update_secret(SecretId=name, SecretString="two")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "two"
    assert sm.get_secret_value(SecretId=name)["VersionId"] == out["VersionId"]


def test_secret_values_follow_their_kms_key(sm, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    alias = f"alias/sm-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    name = unique()
    sm.create_secret(Name=name, SecretString="guarded", KmsKeyId=alias)
    assert sm.describe_secret(SecretId=name)["KmsKeyId"] == alias
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(ClientError) as exc:
        sm.get_secret_value(SecretId=name)
    assert error_code(exc) == "DecryptionFailure"
    with pytest.raises(ClientError) as exc:
        sm.put_secret_value(SecretId=name, SecretString="more")
    assert error_code(exc) == "EncryptionFailure"
    kms.enable_key(KeyId=key["KeyId"])
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "guarded"
    with pytest.raises(ClientError) as exc:
        sm.create_secret(Name=unique(), SecretString="x", KmsKeyId="alias/does-not-exist")
    assert error_code(exc) == "EncryptionFailure"
    # The default key is the AWS managed alias/aws/secretsmanager, created on first use.
    assert kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]["KeyManager"] == "AWS"


def test_values_are_not_stored_in_the_clear(sm, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy

    from seedbed.state.db import sqlite_url

    marker = f"plaintext-marker-{uuid.uuid4().hex}"
    name = unique()
    arn = sm.create_secret(Name=name, SecretString=marker)["ARN"]
    url = (server.database_url or sqlite_url(server.data_dir)).replace(
        "postgresql://", "postgresql+psycopg://", 1
    )
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sqlalchemy.text(
                "SELECT sealed, data_key FROM secretsmanager_versions WHERE secret_arn = :a"
            ),
            {"a": arn},
        ).all()
    engine.dispose()
    assert rows and all(marker.encode() not in bytes(r[0]) + bytes(r[1]) for r in rows)


def test_delete_restore_and_force_delete(sm) -> None:  # type: ignore[no-untyped-def]
    name = unique()
    sm.create_secret(Name=name, SecretString="x")
    for window in (3, 31):
        with pytest.raises(ClientError) as exc:
            sm.delete_secret(SecretId=name, RecoveryWindowInDays=window)
        assert error_code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    assert error_code(exc) == "InvalidParameterException"
    out = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert "DeletionDate" in out
    assert "DeletedDate" in sm.describe_secret(SecretId=name)
    for call in (
        lambda: sm.get_secret_value(SecretId=name),
        lambda: sm.put_secret_value(SecretId=name, SecretString="y"),
        lambda: sm.create_secret(Name=name, SecretString="again"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "InvalidRequestException"
    names = [s["Name"] for s in sm.list_secrets()["SecretList"]]
    assert name not in names
    planned = [
        s["Name"]
        for s in sm.list_secrets(IncludePlannedDeletion=True, MaxResults=100)["SecretList"]
    ]
    assert name in planned
    sm.restore_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "x"
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as exc:
        sm.describe_secret(SecretId=name)
    assert error_code(exc) == "ResourceNotFoundException"
    sm.create_secret(Name=name, SecretString="reborn")  # the name is free again


def test_list_secrets_filters_and_pagination(sm) -> None:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:8]
    prefix = f"list-{tag}"
    for i in range(5):
        sm.create_secret(
            Name=f"{prefix}/s{i}",
            SecretString="v",
            Description=f"Number {i}",
            Tags=[
                {"Key": "suite", "Value": tag},
                {"Key": "parity", "Value": "even" if i % 2 == 0 else "odd"},
            ],
        )
    by_name = sm.list_secrets(Filters=[{"Key": "name", "Values": [prefix]}])["SecretList"]
    assert sorted(s["Name"] for s in by_name) == [f"{prefix}/s{i}" for i in range(5)]
    assert all("SecretVersionsToStages" in s for s in by_name)
    even = sm.list_secrets(
        Filters=[{"Key": "tag-value", "Values": [tag]}, {"Key": "tag-value", "Values": ["even"]}]
    )["SecretList"]
    assert sorted(s["Name"] for s in even) == [f"{prefix}/s0", f"{prefix}/s2", f"{prefix}/s4"]
    not_odd = sm.list_secrets(
        Filters=[{"Key": "name", "Values": [prefix]}, {"Key": "tag-value", "Values": ["!odd"]}]
    )
    assert len(not_odd["SecretList"]) == 3
    described = sm.list_secrets(
        Filters=[
            {"Key": "name", "Values": [prefix]},
            {"Key": "description", "Values": ["number 3"]},
        ]
    )
    assert [s["Name"] for s in described["SecretList"]] == [f"{prefix}/s3"]
    pages = sm.get_paginator("list_secrets").paginate(
        Filters=[{"Key": "name", "Values": [prefix]}],
        SortOrder="asc",
        PaginationConfig={"PageSize": 2},
    )
    names = [s["Name"] for page in pages for s in page["SecretList"]]
    assert names == [f"{prefix}/s{i}" for i in range(5)]


def test_tags(sm) -> None:  # type: ignore[no-untyped-def]
    name = unique()
    sm.create_secret(Name=name, SecretString="x", Tags=[{"Key": "a", "Value": "1"}])
    sm.tag_resource(SecretId=name, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    assert sm.describe_secret(SecretId=name)["Tags"] == [
        {"Key": "a", "Value": "3"},
        {"Key": "b", "Value": "2"},
    ]
    sm.untag_resource(SecretId=name, TagKeys=["a"])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "b", "Value": "2"}]


def test_resource_policies(sm) -> None:  # type: ignore[no-untyped-def]
    name = unique()
    sm.create_secret(Name=name, SecretString="x")
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                }
            ],
        }
    )
    sm.put_resource_policy(SecretId=name, ResourcePolicy=document)
    assert json.loads(sm.get_resource_policy(SecretId=name)["ResourcePolicy"]) == json.loads(
        document
    )
    public = json.dumps(
        {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
    )
    with pytest.raises(ClientError) as exc:
        sm.put_resource_policy(SecretId=name, ResourcePolicy=public, BlockPublicPolicy=True)
    assert error_code(exc) == "PublicPolicyException"
    with pytest.raises(ClientError) as exc:
        sm.put_resource_policy(SecretId=name, ResourcePolicy="{not json")
    assert error_code(exc) == "MalformedPolicyDocumentException"
    assert sm.validate_resource_policy(ResourcePolicy=document)["PolicyValidationPassed"] is True
    assert sm.validate_resource_policy(ResourcePolicy="[]")["PolicyValidationPassed"] is False
    sm.delete_resource_policy(SecretId=name)
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)


def test_get_random_password(sm) -> None:  # type: ignore[no-untyped-def]
    password = sm.get_random_password()["RandomPassword"]
    assert len(password) == 32
    assert any(c.islower() for c in password) and any(c.isupper() for c in password)
    assert any(c.isdigit() for c in password)
    plain = sm.get_random_password(
        PasswordLength=50, ExcludePunctuation=True, ExcludeCharacters="abc"
    )["RandomPassword"]
    assert len(plain) == 50 and not set(plain) & set(string.punctuation + "abc")
    with pytest.raises(ClientError) as exc:
        sm.get_random_password(
            ExcludeNumbers=True,
            ExcludePunctuation=True,
            ExcludeUppercase=True,
            ExcludeLowercase=True,
        )
    assert error_code(exc) == "InvalidParameterException"


def test_batch_get_secret_value(sm) -> None:  # type: ignore[no-untyped-def]
    a, b = unique(), unique()
    sm.create_secret(Name=a, SecretString="A")
    sm.create_secret(Name=b, SecretString="B")
    missing = unique()
    out = sm.batch_get_secret_value(SecretIdList=[a, b, missing])
    assert {v["Name"]: v["SecretString"] for v in out["SecretValues"]} == {a: "A", b: "B"}
    assert out["Errors"] == [
        {
            "SecretId": missing,
            "ErrorCode": "ResourceNotFoundException",
            "Message": "Secrets Manager can't find the specified secret.",
        }
    ]


def test_rotation_is_not_implemented_yet(sm) -> None:  # type: ignore[no-untyped-def]
    name = unique()
    sm.create_secret(Name=name, SecretString="x")
    with pytest.raises(ClientError) as exc:
        sm.rotate_secret(
            SecretId=name, RotationLambdaARN="arn:aws:lambda:us-east-1:000000000000:function:rotate"
        )
    assert error_code(exc) == "NotImplemented"
    assert "rotation" in exc.value.response["Error"]["Message"]
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_aws_cli_get_secret_value(server: LiveServer, sm) -> None:  # type: ignore[no-untyped-def]
    name = unique("cli")
    arn = sm.create_secret(Name=name, SecretString="from-the-cli")["ARN"]
    env = dict(server.env)
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    for secret_id in (name, arn):
        done = subprocess.run(
            [
                "aws",
                "secretsmanager",
                "get-secret-value",
                "--secret-id",
                secret_id,
                "--output",
                "json",
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["SecretString"] == "from-the-cli" and out["ARN"] == arn


def test_resource_policy_reaches_iam(sm) -> None:  # type: ignore[no-untyped-def]
    """IAM reads a secret's resource policy through the provider: an explicit Deny holds."""
    name = unique()
    arn = sm.create_secret(Name=name, SecretString="x")["ARN"]
    deny = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                }
            ],
        }
    )
    sm.put_resource_policy(SecretId=name, ResourcePolicy=deny)
    for secret_id in (name, arn):
        with pytest.raises(ClientError) as exc:
            sm.get_secret_value(SecretId=secret_id)
        assert error_code(exc).startswith("AccessDenied")
    sm.delete_resource_policy(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "x"


def test_the_aws_managed_key_serves_anyone_allowed_to_read_the_secret(sm, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    """As on AWS, a role allowed only secretsmanager:GetSecretValue reads a secret under
    aws/secretsmanager (the key policy admits use through Secrets Manager), but may not use the key
    directly."""
    iam, sts = server.client("iam"), server.client("sts")
    role = f"reader-{uuid.uuid4().hex[:8]}"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                                     "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    name = unique()
    sm.create_secret(Name=name, SecretString="token")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="reader")["Credentials"]
    reader = server.client("secretsmanager", aws_access_key_id=creds["AccessKeyId"],
                           aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    assert reader.get_secret_value(SecretId=name)["SecretString"] == "token"
    with pytest.raises(ClientError) as exc:  # not even the account's root, outside Secrets Manager
        server.client("kms").encrypt(KeyId="alias/aws/secretsmanager", Plaintext=b"x")
    assert error_code(exc) == "AccessDeniedException"
