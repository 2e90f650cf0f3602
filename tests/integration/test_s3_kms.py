"""SSE-KMS through boto3, on both blob backends: data keys come from the KMS service, a disabled
key makes objects unreadable, and the audit trail shows KMS calls made on behalf of S3."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveServer
from tests.integration.test_s3_support import (  # noqa: F401  (fixtures)
    blob_backend,
    bucket,
    code,
    remote_server,
    s3,
    s3_server,
    status,
)

MARKER = b"sse-kms plaintext marker that must not reach the disk "


@pytest.fixture
def kms(s3_server: LiveServer):  # type: ignore[no-untyped-def]
    return s3_server.client("kms")


@pytest.fixture
def key_arn(kms) -> str:  # type: ignore[no-untyped-def]
    return kms.create_key(Description=f"s3 test {uuid.uuid4().hex[:6]}")["KeyMetadata"]["Arn"]


def test_default_aws_managed_key(s3, kms, bucket: str) -> None:  # type: ignore[no-untyped-def]
    put = s3.put_object(Bucket=bucket, Key="a", Body=b"hello", ServerSideEncryption="aws:kms")
    assert put["ServerSideEncryption"] == "aws:kms"
    managed = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert put["SSEKMSKeyId"] == managed["Arn"] and managed["KeyManager"] == "AWS"
    got = s3.get_object(Bucket=bucket, Key="a")
    assert got["Body"].read() == b"hello"
    assert got["ServerSideEncryption"] == "aws:kms" and got["SSEKMSKeyId"] == managed["Arn"]
    head = s3.head_object(Bucket=bucket, Key="a")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == managed["Arn"]


def test_customer_key_disable_and_enable(s3, kms, key_arn: str, bucket: str) -> None:  # type: ignore[no-untyped-def]
    key_id = key_arn.rsplit("/", 1)[1]
    put = s3.put_object(
        Bucket=bucket, Key="b", Body=b"customer", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id, BucketKeyEnabled=True
    )
    assert put["SSEKMSKeyId"] == key_arn and put["BucketKeyEnabled"] is True
    got = s3.get_object(Bucket=bucket, Key="b", Range="bytes=2-4")
    assert got["Body"].read() == b"sto" and got["BucketKeyEnabled"] is True
    kms.disable_key(KeyId=key_arn)
    try:
        with pytest.raises(ClientError) as exc:
            s3.get_object(Bucket=bucket, Key="b")
        assert code(exc) == "KMS.DisabledException" and status(exc) == 400
        with pytest.raises(ClientError) as exc:
            s3.put_object(Bucket=bucket, Key="c", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
        assert code(exc) == "KMS.DisabledException"
        # HEAD reads metadata only: S3 does not call KMS for it.
        assert s3.head_object(Bucket=bucket, Key="b")["SSEKMSKeyId"] == key_arn
    finally:
        kms.enable_key(KeyId=key_arn)
    assert s3.get_object(Bucket=bucket, Key="b")["Body"].read() == b"customer"


def test_unknown_key_is_refused(s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="x", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/no-such-key")
    assert code(exc) == "KMS.NotFoundException" and status(exc) == 400


def test_bucket_default_kms(s3, key_arn: str, bucket: str) -> None:  # type: ignore[no-untyped-def]
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}, "BucketKeyEnabled": True}]
        },
    )
    put = s3.put_object(Bucket=bucket, Key="d", Body=b"default")
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == key_arn and put["BucketKeyEnabled"] is True
    assert s3.get_object(Bucket=bucket, Key="d")["Body"].read() == b"default"
    # An explicit AES256 request still wins over the bucket default.
    assert s3.put_object(Bucket=bucket, Key="e", Body=b"s3", ServerSideEncryption="AES256")["ServerSideEncryption"] == "AES256"


def test_multipart_and_copies(s3, key_arn: str, bucket: str) -> None:  # type: ignore[no-untyped-def]
    part1, part2 = b"1" * (5 * 1024 * 1024), b"2" * 1000
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
    assert upload["ServerSideEncryption"] == "aws:kms" and upload["SSEKMSKeyId"] == key_arn
    e1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=part1)
    assert e1["SSEKMSKeyId"] == key_arn
    e2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=2, Body=part2)
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1["ETag"]}, {"PartNumber": 2, "ETag": e2["ETag"]}]},
    )
    assert done["ServerSideEncryption"] == "aws:kms" and done["SSEKMSKeyId"] == key_arn
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == part1 + part2
    assert s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={len(part1) - 2}-{len(part1) + 1}")["Body"].read() == b"1122"
    # KMS -> SSE-S3 copy, SSE-S3 -> KMS copy, and a part copied out of a KMS object.
    plain = s3.copy_object(Bucket=bucket, Key="copy-plain", CopySource={"Bucket": bucket, "Key": "mp"})
    assert plain["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="copy-plain")["Body"].read() == part1 + part2
    sealed = s3.copy_object(
        Bucket=bucket, Key="copy-kms", CopySource={"Bucket": bucket, "Key": "copy-plain"}, ServerSideEncryption="aws:kms"
    )
    assert sealed["ServerSideEncryption"] == "aws:kms" and sealed["SSEKMSKeyId"].startswith("arn:aws:kms:")
    assert s3.get_object(Bucket=bucket, Key="copy-kms")["Body"].read() == part1 + part2
    second = s3.create_multipart_upload(Bucket=bucket, Key="mp2", ServerSideEncryption="aws:kms")
    copied = s3.upload_part_copy(
        Bucket=bucket, Key="mp2", UploadId=second["UploadId"], PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "mp"}, CopySourceRange=f"bytes={len(part1)}-{len(part1) + 999}",
    )
    assert copied["ServerSideEncryption"] == "aws:kms"
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp2", UploadId=second["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": copied["CopyPartResult"]["ETag"]}]},
    )
    assert s3.get_object(Bucket=bucket, Key="mp2")["Body"].read() == part2


def test_plaintext_never_on_disk(s3_server: LiveServer, s3, key_arn: str, bucket: str) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="secret", Body=MARKER * 40, ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
    blobs = s3_server.data_dir / "s3" / "blobs"
    if not blobs.exists():
        pytest.skip("this server keeps object bytes in an external store")
    for path in blobs.rglob("*"):
        if path.is_file():
            assert MARKER not in path.read_bytes()


def test_audit_trail_shows_kms_calls_for_s3(s3_server: LiveServer, s3, key_arn: str, bucket: str) -> None:  # type: ignore[no-untyped-def]
    key = f"audited-{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket=bucket, Key=key, Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
    s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    object_arn = f"arn:aws:s3:::{bucket}/{key}"
    trail = s3_server.client("cloudtrail")

    def events(name: str) -> list[dict]:
        found = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}], MaxResults=50)
        return [json.loads(e["CloudTrailEvent"]) for e in found["Events"]]

    for name in ("GenerateDataKey", "Decrypt"):
        mine = [e for e in events(name) if object_arn in json.dumps(e)]
        assert mine, f"no kms {name} event for {object_arn}"
        assert mine[0]["eventSource"] == "kms.amazonaws.com"
        assert mine[0]["requestParameters"]["EncryptionContext"] == {"aws:s3:arn": object_arn}
        if name == "GenerateDataKey":
            assert mine[0]["requestParameters"]["KeyId"] == key_arn
