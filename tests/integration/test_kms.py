"""KMS as boto3 and the AWS CLI meet it: keys and their states, aliases, policies, rotation, tags,
and the cryptographic calls (envelope round trips, encryption context, disabled keys)."""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import BIN, LiveServer

ACCOUNT = "000000000000"


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.fixture
def kms(server: LiveServer):  # type: ignore[no-untyped-def]
    return server.client("kms")


@pytest.fixture
def key(kms) -> dict:  # type: ignore[no-untyped-def]
    return kms.create_key(Description="test key", Tags=[{"TagKey": "team", "TagValue": "ml"}])[
        "KeyMetadata"
    ]


def alias_name() -> str:
    return f"alias/test-{uuid.uuid4().hex[:10]}"


def test_create_and_describe_key(kms, key, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    assert key["KeyState"] == "Enabled" and key["Enabled"] is True
    assert key["KeyUsage"] == "ENCRYPT_DECRYPT" and key["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert key["KeyManager"] == "CUSTOMER" and key["Origin"] == "AWS_KMS"
    assert key["Arn"] == f"arn:aws:kms:{server.region}:{ACCOUNT}:key/{key['KeyId']}"
    described = kms.describe_key(KeyId=key["Arn"])["KeyMetadata"]
    assert described["KeyId"] == key["KeyId"] and described["Description"] == "test key"
    listed = kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2})
    ids = [k["KeyId"] for page in listed for k in page["Keys"]]
    assert key["KeyId"] in ids and len(ids) == len(set(ids))


def test_unknown_keys_are_not_found(kms) -> None:  # type: ignore[no-untyped-def]
    for key_id in (str(uuid.uuid4()), "not-a-key", "alias/does-not-exist"):
        with pytest.raises(ClientError) as exc:
            kms.describe_key(KeyId=key_id)
        assert error_code(exc) == "NotFoundException"


def test_asymmetric_keys_are_refused_clearly(kms) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    assert error_code(exc) == "UnsupportedOperationException"


def test_encrypt_decrypt_round_trip_without_key_id(kms, key) -> None:  # type: ignore[no-untyped-def]
    out = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"hello seedbed")
    assert out["KeyId"] == key["Arn"] and out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"])
    assert back["Plaintext"] == b"hello seedbed" and back["KeyId"] == key["Arn"]
    assert (
        kms.decrypt(CiphertextBlob=out["CiphertextBlob"], KeyId=key["Arn"])["Plaintext"]
        == b"hello seedbed"
    )


def test_encryption_context_must_match(kms, key) -> None:  # type: ignore[no-untyped-def]
    context = {"purpose": "test", "project": "p-1"}
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext=context)[
        "CiphertextBlob"
    ]
    reordered = dict(reversed(list(context.items())))
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=reordered)["Plaintext"] == b"x"
    for wrong in ({}, {"purpose": "other", "project": "p-1"}, {**context, "extra": "1"}):
        with pytest.raises(ClientError) as exc:
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=wrong)
        assert error_code(exc) == "InvalidCiphertextException"


def test_tampered_or_foreign_ciphertext_is_invalid(kms, key) -> None:  # type: ignore[no-untyped-def]
    blob = bytearray(kms.encrypt(KeyId=key["KeyId"], Plaintext=b"secret")["CiphertextBlob"])
    blob[-1] ^= 1
    for bad in (bytes(blob), b"not a ciphertext at all", b"\x01" * 200):
        with pytest.raises(ClientError) as exc:
            kms.decrypt(CiphertextBlob=bad)
        assert error_code(exc) == "InvalidCiphertextException"


def test_decrypt_with_the_wrong_key_id(kms, key) -> None:  # type: ignore[no-untyped-def]
    other = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob, KeyId=other["KeyId"])
    assert error_code(exc) == "IncorrectKeyException"


def test_data_keys_envelope_round_trip(kms, key) -> None:  # type: ignore[no-untyped-def]
    context = {"bucket": "b"}
    data_key = kms.generate_data_key(
        KeyId=key["KeyId"], KeySpec="AES_256", EncryptionContext=context
    )
    assert len(data_key["Plaintext"]) == 32
    back = kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"], EncryptionContext=context)
    assert back["Plaintext"] == data_key["Plaintext"]
    small = kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=7)
    assert len(small["Plaintext"]) == 7
    hidden = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_128")
    assert "Plaintext" not in hidden
    assert len(kms.decrypt(CiphertextBlob=hidden["CiphertextBlob"])["Plaintext"]) == 16
    with pytest.raises(ClientError) as exc:
        kms.generate_data_key(KeyId=key["KeyId"])
    assert error_code(exc) == "ValidationException"


def test_re_encrypt_moves_ciphertext_between_keys(kms, key) -> None:  # type: ignore[no-untyped-def]
    other = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"move me", EncryptionContext={"a": "1"})[
        "CiphertextBlob"
    ]
    moved = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={"a": "1"},
        DestinationKeyId=other["Arn"],
        DestinationEncryptionContext={"b": "2"},
    )
    assert moved["SourceKeyId"] == key["Arn"] and moved["KeyId"] == other["Arn"]
    back = kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext={"b": "2"})
    assert back["Plaintext"] == b"move me" and back["KeyId"] == other["Arn"]


def test_disabled_and_enabled_keys(kms, key) -> None:  # type: ignore[no-untyped-def]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    for call in (
        lambda: kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x"),
        lambda: kms.decrypt(CiphertextBlob=blob),
        lambda: kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "DisabledException"
    kms.enable_key(KeyId=key["Arn"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_scheduled_deletion_and_cancel(kms, key) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=3)
    assert error_code(exc) == "ValidationException"
    out = kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7
    meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion" and "DeletionDate" in meta
    for call in (
        lambda: kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x"),
        lambda: kms.enable_key(KeyId=key["KeyId"]),
        lambda: kms.schedule_key_deletion(KeyId=key["KeyId"]),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "KMSInvalidStateException"
    kms.cancel_key_deletion(KeyId=key["KeyId"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    with pytest.raises(ClientError) as exc:
        kms.cancel_key_deletion(KeyId=key["KeyId"])
    assert error_code(exc) == "KMSInvalidStateException"


def test_aliases_resolve_everywhere_a_key_is_named(kms, key, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    name = alias_name()
    kms.create_alias(AliasName=name, TargetKeyId=key["KeyId"])
    alias_arn = f"arn:aws:kms:{server.region}:{ACCOUNT}:{name}"
    for ref in (name, alias_arn, key["KeyId"], key["Arn"]):
        assert kms.describe_key(KeyId=ref)["KeyMetadata"]["KeyId"] == key["KeyId"]
        blob = kms.encrypt(KeyId=ref, Plaintext=b"a")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob, KeyId=ref)["Plaintext"] == b"a"
    listed = {a["AliasName"]: a for a in kms.list_aliases(KeyId=key["KeyId"])["Aliases"]}
    assert listed[name]["TargetKeyId"] == key["KeyId"] and listed[name]["AliasArn"] == alias_arn
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName=name, TargetKeyId=key["KeyId"])
    assert error_code(exc) == "AlreadyExistsException"
    # Administrative calls take a key id or ARN only, as on AWS.
    with pytest.raises(ClientError) as exc:
        kms.disable_key(KeyId=name)
    assert error_code(exc) == "NotFoundException"

    other = kms.create_key()["KeyMetadata"]
    kms.update_alias(AliasName=name, TargetKeyId=other["Arn"])
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == other["KeyId"]
    kms.delete_alias(AliasName=name)
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId=name)
    assert error_code(exc) == "NotFoundException"
    with pytest.raises(ClientError) as exc:
        kms.delete_alias(AliasName=name)
    assert error_code(exc) == "NotFoundException"


def test_alias_names_are_checked(kms, key) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName="no-prefix", TargetKeyId=key["KeyId"])
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName="alias/aws/mine", TargetKeyId=key["KeyId"])
    assert error_code(exc) == "InvalidAliasNameException"
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName=alias_name(), TargetKeyId=str(uuid.uuid4()))
    assert error_code(exc) == "NotFoundException"


def test_aws_managed_keys_appear_on_first_use(kms) -> None:  # type: ignore[no-untyped-def]
    listed = {a["AliasName"]: a for a in kms.list_aliases()["Aliases"]}
    assert "alias/aws/ssm" in listed
    meta = kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS" and meta["KeyState"] == "Enabled"
    again = kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
    assert again["KeyId"] == meta["KeyId"]
    assert kms.list_aliases(KeyId=meta["KeyId"])["Aliases"][0]["AliasName"] == "alias/aws/ssm"
    assert kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"] is True
    for call in (
        lambda: kms.disable_key(KeyId=meta["KeyId"]),
        lambda: kms.schedule_key_deletion(KeyId=meta["KeyId"]),
        lambda: kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy="{}"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) in ("AccessDeniedException", "MalformedPolicyDocumentException")


def test_key_policies(kms, key) -> None:  # type: ignore[no-untyped-def]
    assert kms.list_key_policies(KeyId=key["KeyId"])["PolicyNames"] == ["default"]
    document = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    statement = document["Statement"][0]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert statement["Action"] == "kms:*" and statement["Effect"] == "Allow"
    new_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                },
            ],
        }
    )
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=new_policy)
    assert kms.get_key_policy(KeyId=key["Arn"])["Policy"] == new_policy
    with pytest.raises(ClientError) as exc:
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy="not json")
    assert error_code(exc) == "MalformedPolicyDocumentException"
    with pytest.raises(ClientError) as exc:
        kms.get_key_policy(KeyId=key["KeyId"], PolicyName="other")
    assert error_code(exc) == "NotFoundException"


def test_custom_policy_at_creation(kms) -> None:  # type: ignore[no-untyped-def]
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "root",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    made = kms.create_key(Policy=json.dumps(doc))["KeyMetadata"]
    assert json.loads(kms.get_key_policy(KeyId=made["KeyId"])["Policy"]) == doc
    with pytest.raises(ClientError) as exc:
        kms.create_key(Policy='{"Statement": "nope"}')
    assert error_code(exc) == "MalformedPolicyDocumentException"


def test_rotation_flag_and_on_demand_rotation(kms, key) -> None:  # type: ignore[no-untyped-def]
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=180)
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 180
    assert "NextRotationDate" in status
    old = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"before")["CiphertextBlob"]
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    rotations = kms.list_key_rotations(KeyId=key["KeyId"])["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"]
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"before"
    new = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"after")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"after"
    kms.disable_key_rotation(KeyId=key["KeyId"])
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is False
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(ClientError) as exc:
        kms.enable_key_rotation(KeyId=key["KeyId"])
    assert error_code(exc) == "DisabledException"


def test_tags(kms, key) -> None:  # type: ignore[no-untyped-def]
    kms.tag_resource(
        KeyId=key["KeyId"],
        Tags=[{"TagKey": "env", "TagValue": "dev"}, {"TagKey": "team", "TagValue": "ds"}],
    )
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]}
    assert tags == {"env": "dev", "team": "ds"}
    kms.untag_resource(KeyId=key["Arn"], TagKeys=["env"])
    assert kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == [
        {"TagKey": "team", "TagValue": "ds"}
    ]
    with pytest.raises(ClientError) as exc:
        kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "aws:reserved", "TagValue": "x"}])
    assert error_code(exc) == "TagException"


def test_generate_random_and_description(kms, key) -> None:  # type: ignore[no-untyped-def]
    assert len(kms.generate_random(NumberOfBytes=64)["Plaintext"]) == 64
    kms.update_key_description(KeyId=key["KeyId"], Description="renamed")
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["Description"] == "renamed"


def test_data_dir_master_key_is_private(server: LiveServer, kms) -> None:  # type: ignore[no-untyped-def]
    kms.create_key()
    path = server.data_dir / "kms-master.key"
    assert path.exists() and path.stat().st_mode & 0o777 == 0o600


def test_key_material_is_never_stored_in_the_clear(server: LiveServer, kms, key) -> None:  # type: ignore[no-untyped-def]
    """The data key KMS returns must not appear in the database: only wrapped materials do."""
    import sqlalchemy

    from seedbed.state.db import sqlite_url

    url = server.database_url or sqlite_url(server.data_dir)
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        rows = conn.execute(
            sqlalchemy.text("SELECT wrapped FROM kms_key_material WHERE key_id = :k"),
            {"k": key["KeyId"]},
        ).all()
    engine.dispose()
    assert len(rows) == 1 and len(bytes(rows[0][0])) == 12 + 32 + 16


def test_aws_cli_encrypt_decrypt_with_fileb(server: LiveServer, key, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = dict(server.env)
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"\x00binary\xffpayload")

    def aws(*args: str) -> str:
        done = subprocess.run(["aws", *args], env=env, capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout

    blob = aws(
        "kms",
        "encrypt",
        "--key-id",
        key["KeyId"],
        "--plaintext",
        f"fileb://{plain}",
        "--query",
        "CiphertextBlob",
        "--output",
        "text",
    ).strip()
    (tmp_path / "cipher.bin").write_bytes(base64.b64decode(blob))
    plain_b64 = aws(
        "kms",
        "decrypt",
        "--ciphertext-blob",
        f"fileb://{tmp_path / 'cipher.bin'}",
        "--query",
        "Plaintext",
        "--output",
        "text",
    ).strip()
    assert base64.b64decode(plain_b64) == plain.read_bytes()
