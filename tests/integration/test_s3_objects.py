"""S3 objects through boto3, on both blob backends: put/get/head/delete, ranges, conditions,
metadata, checksums, tagging, copy, versions, listings and presigned URLs."""

from __future__ import annotations

import base64
import hashlib
import zlib
from datetime import datetime, timedelta, timezone

import botocore.auth
import botocore.credentials
import httpx
import pytest
from botocore.awsrequest import AWSRequest
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


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --- put, get, head ------------------------------------------------------------------------


def test_put_get_head_with_metadata(s3, bucket: str) -> None:
    body = b"template body\n" * 100
    put = s3.put_object(
        Bucket=bucket,
        Key="templates/project.yaml",
        Body=body,
        ContentType="application/x-yaml",
        CacheControl="no-cache",
        ContentDisposition='attachment; filename="project.yaml"',
        Metadata={"Owner": "data-science", "stage": "dev"},
    )
    assert put["ETag"] == f'"{md5(body)}"'
    assert put["ServerSideEncryption"] == "AES256"
    got = s3.get_object(Bucket=bucket, Key="templates/project.yaml")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/x-yaml"
    assert got["CacheControl"] == "no-cache"
    assert got["ContentDisposition"] == 'attachment; filename="project.yaml"'
    assert got["Metadata"] == {"owner": "data-science", "stage": "dev"}
    assert got["ContentLength"] == len(body)
    assert got["ETag"] == put["ETag"]
    assert got["AcceptRanges"] == "bytes"
    head = s3.head_object(Bucket=bucket, Key="templates/project.yaml")
    assert head["ContentLength"] == len(body)
    assert head["Metadata"] == {"owner": "data-science", "stage": "dev"}
    assert head["LastModified"] == got["LastModified"]


def test_default_content_type_and_empty_object(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ContentType"] == "binary/octet-stream"
    assert got["ETag"] == f'"{md5(b"")}"'


def test_keys_with_odd_characters(s3, bucket: str) -> None:
    keys = ["a b/c+d", "ünïcödé/ключ", "x?y=z&w", "/leading", "a//double", "percent%20sign", "~tilde*star"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    for key in keys:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode())


def test_missing_key_and_bucket_errors(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="nope")
    assert code(exc) == "NoSuchKey" and status(exc) == 404
    assert exc.value.response["Error"]["Key"] == "nope"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="nope")
    assert code(exc) == "404"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="no-such-bucket-xyz-123", Key="k")
    assert code(exc) == "NoSuchBucket"
    assert exc.value.response["Error"]["BucketName"] == "no-such-bucket-xyz-123"


def test_large_object_streams_back(s3, bucket: str) -> None:
    body = bytes(range(256)) * (9 * 1024 * 4 + 7)  # ~9.4 MB, not a multiple of anything
    s3.put_object(Bucket=bucket, Key="big.bin", Body=body)
    got = s3.get_object(Bucket=bucket, Key="big.bin")
    assert got["ContentLength"] == len(body)
    assert got["Body"].read() == body


# --- ranges and conditions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-0", 0, 1), ("bytes=10-19", 10, 20), ("bytes=199990-", 199990, 200000), ("bytes=-5", 199995, 200000),
     ("bytes=65530-65545", 65530, 65546), ("bytes=100-999999", 100, 200000)],
)
def test_ranges(s3, bucket: str, header: str, start: int, end: int) -> None:
    body = hashlib.sha256(b"seed").digest() * 6250  # 200000 bytes
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    got = s3.get_object(Bucket=bucket, Key="r", Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes {start}-{end - 1}/{len(body)}"
    assert got["Body"].read() == body[start:end]


def test_unsatisfiable_and_ignored_ranges(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-20")
    assert code(exc) == "InvalidRange" and status(exc) == 416
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=5-2")  # invalid: whole object
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200 and got["Body"].read() == b"0123456789"


def test_conditional_reads(s3, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="c", Body=b"v1")
    etag = put["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert code(exc) == "PreconditionFailed" and status(exc) == 412
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert status(exc) == 304
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert status(exc) == 304
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    past = datetime.now(timezone.utc) - timedelta(days=1)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=s3.head_object(Bucket=bucket, Key="c")["LastModified"])
    assert status(exc) == 304
    assert s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=past)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=past)
    assert status(exc) == 412
    assert s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=future)["Body"].read() == b"v1"
    # If-Match true wins over If-Unmodified-Since false, as S3 documents.
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag, IfUnmodifiedSince=past)["Body"].read() == b"v1"


def test_conditional_writes(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="w", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="w", Body=b"second", IfNoneMatch="*")
    assert code(exc) == "PreconditionFailed"
    etag = s3.head_object(Bucket=bucket, Key="w")["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="w", Body=b"third", IfMatch='"abc"')
    assert code(exc) == "PreconditionFailed"
    s3.put_object(Bucket=bucket, Key="w", Body=b"fourth", IfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="w")["Body"].read() == b"fourth"


# --- checksums -----------------------------------------------------------------------------


def test_default_crc32_is_checked_and_returned(s3, bucket: str) -> None:
    body = b"checksum me" * 1000
    put = s3.put_object(Bucket=bucket, Key="k", Body=body)
    expected = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert put["ChecksumCRC32"] == expected
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == expected
    assert got["Body"].read() == body  # botocore validated the CRC32 as it read


@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256"])
def test_other_checksum_algorithms(s3_server: LiveServer, bucket: str, algorithm: str) -> None:
    client = s3_server.client("s3")
    body = b"abc" * 333
    put = client.put_object(Bucket=bucket, Key="k", Body=body, ChecksumAlgorithm=algorithm)
    value = put[f"Checksum{algorithm}"]
    assert value == base64.b64encode(hashlib.new(algorithm.lower(), body).digest()).decode()
    attributes = client.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["Checksum", "ETag", "ObjectSize"])
    assert attributes["Checksum"][f"Checksum{algorithm}"] == value
    assert attributes["ETag"] == md5(body) and attributes["ObjectSize"] == len(body)
    got = client.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got[f"Checksum{algorithm}"] == value and got["Body"].read() == body


def test_crc32c_given_by_the_client(s3, bucket: str) -> None:
    """botocore computes CRC32C only with awscrt installed; a client may still send one."""
    import crc32c

    body = b"crc32c body" * 77
    value = base64.b64encode(crc32c.crc32c(body).to_bytes(4, "big")).decode()
    put = s3.put_object(Bucket=bucket, Key="k", Body=body, ChecksumCRC32C=value)
    assert put["ChecksumCRC32C"] == value
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k2", Body=body, ChecksumCRC32C="AAAAAA==")
    assert code(exc) == "BadDigest"


def test_wrong_checksums_are_refused(s3_server: LiveServer, bucket: str) -> None:
    client = s3_server.client("s3")
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="k", Body=b"data", ChecksumCRC32="AAAAAA==")
    assert code(exc) == "BadDigest"
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="k", Body=b"data", ContentMD5=base64.b64encode(hashlib.md5(b"other").digest()).decode())
    assert code(exc) == "BadDigest"
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="k", Body=b"data", ContentMD5="not-base64!")
    assert code(exc) == "InvalidDigest"
    with pytest.raises(ClientError):
        client.head_object(Bucket=bucket, Key="k")  # nothing was stored


def _sign_trailer_upload(url: str, body: bytes, headers: dict, creds, region: str) -> dict:  # type: ignore[no-untyped-def]
    """Sign as botocore does for a streaming upload with a trailing checksum."""
    request = AWSRequest(method="PUT", url=url, data=body, headers=headers)
    request.context["checksum"] = {"request_algorithm": {"algorithm": "crc32", "in": "trailer", "name": "x-amz-checksum-crc32"}}
    botocore.auth.S3SigV4Auth(creds, "s3", region).add_auth(request)
    assert request.headers["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    return dict(request.headers.items())


def test_aws_chunked_upload_with_trailing_checksum(s3_server: LiveServer, bucket: str) -> None:
    """What botocore sends over HTTPS: an unsigned-payload aws-chunked body with a CRC32 trailer."""
    data = b"chunked data " * 5000
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    chunks = [data[i : i + 16384] for i in range(0, len(data), 16384)]
    body = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks)
    body += b"0\r\n" + f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    url = f"{s3_server.endpoint}/{bucket}/chunked"
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "X-Amz-Decoded-Content-Length": str(len(data)),
        "X-Amz-Trailer": "x-amz-checksum-crc32",
        "X-Amz-Sdk-Checksum-Algorithm": "CRC32",
        "Content-Length": str(len(body)),
    }
    creds = botocore.credentials.Credentials(s3_server.access_key, s3_server.secret_key)
    response = httpx.put(url, content=body, headers=_sign_trailer_upload(url, body, headers, creds, s3_server.region))
    assert response.status_code == 200, response.text
    assert response.headers["x-amz-checksum-crc32"] == crc
    client = s3_server.client("s3")
    assert client.get_object(Bucket=bucket, Key="chunked")["Body"].read() == data
    # A trailer that does not match the data is refused and stores nothing.
    bad = body.replace(crc.encode(), b"AAAAAA==")
    bad_headers = dict(headers, **{"Content-Length": str(len(bad))})
    response = httpx.put(url + "2", content=bad, headers=_sign_trailer_upload(url + "2", bad, bad_headers, creds, s3_server.region))
    assert response.status_code == 400 and "BadDigest" in response.text


# --- delete --------------------------------------------------------------------------------


def test_delete_and_batch_delete(s3, bucket: str) -> None:
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"d/{i}", Body=b"x")
    assert s3.delete_object(Bucket=bucket, Key="d/0")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=bucket, Key="d/never")["ResponseMetadata"]["HTTPStatusCode"] == 204
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"d/{i}"} for i in range(1, 5)] + [{"Key": "d/missing"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["d/1", "d/2", "d/3", "d/4", "d/missing"]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "x"}], "Quiet": True})
    assert "Deleted" not in quiet


# --- tagging -------------------------------------------------------------------------------


def test_object_tagging(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="t.yaml", Body=b"x", Tagging="sagemaker%3Astudio-visibility=true&team=ml")
    tags = s3.get_object_tagging(Bucket=bucket, Key="t.yaml")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"sagemaker:studio-visibility": "true", "team": "ml"}
    assert s3.get_object(Bucket=bucket, Key="t.yaml")["TagCount"] == 2
    s3.put_object_tagging(Bucket=bucket, Key="t.yaml", Tagging={"TagSet": [{"Key": "sagemaker:studio-visibility", "Value": "false"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="t.yaml")["TagSet"] == [{"Key": "sagemaker:studio-visibility", "Value": "false"}]
    s3.delete_object_tagging(Bucket=bucket, Key="t.yaml")
    assert s3.get_object_tagging(Bucket=bucket, Key="t.yaml")["TagSet"] == []
    with pytest.raises(ClientError) as exc:
        s3.put_object_tagging(Bucket=bucket, Key="t.yaml", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]})
    assert code(exc) == "BadRequest" or code(exc) == "InvalidTag"
    with pytest.raises(ClientError) as exc:
        s3.put_object_tagging(Bucket=bucket, Key="t.yaml", Tagging={"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]})
    assert code(exc) == "InvalidTag"
    with pytest.raises(ClientError) as exc:
        s3.get_object_tagging(Bucket=bucket, Key="missing")
    assert code(exc) == "NoSuchKey"


# --- copy ----------------------------------------------------------------------------------


def test_copy_within_and_across_buckets(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", ContentType="text/plain", Metadata={"a": "1"}, Tagging="t=1")
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{md5(b"payload")}"'
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"payload" and got["ContentType"] == "text/plain" and got["Metadata"] == {"a": "1"}
    assert s3.get_object_tagging(Bucket=bucket, Key="dst")["TagSet"] == [{"Key": "t", "Value": "1"}]
    other = bucket + "-other"
    s3.create_bucket(Bucket=other)
    try:
        s3.copy_object(
            Bucket=other,
            Key="replaced",
            CopySource=f"{bucket}/src",
            MetadataDirective="REPLACE",
            ContentType="application/json",
            Metadata={"b": "2"},
            TaggingDirective="REPLACE",
            Tagging="u=2",
        )
        got = s3.get_object(Bucket=other, Key="replaced")
        assert got["Body"].read() == b"payload"
        assert got["ContentType"] == "application/json" and got["Metadata"] == {"b": "2"}
        assert s3.get_object_tagging(Bucket=other, Key="replaced")["TagSet"] == [{"Key": "u", "Value": "2"}]
        # The copy is independent of its source.
        s3.delete_object(Bucket=bucket, Key="src")
        assert s3.get_object(Bucket=other, Key="replaced")["Body"].read() == b"payload"
        s3.delete_object(Bucket=other, Key="replaced")
    finally:
        s3.delete_bucket(Bucket=other)


def test_copy_errors(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert code(exc) == "InvalidRequest"
    s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"}, MetadataDirective="REPLACE", Metadata={"n": "1"})
    assert s3.head_object(Bucket=bucket, Key="src")["Metadata"] == {"n": "1"}
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "missing"})
    assert code(exc) == "NoSuchKey"
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"}, CopySourceIfMatch='"nope"')
    assert code(exc) == "PreconditionFailed"


# --- versioning ----------------------------------------------------------------------------


def test_versioning_lifecycle(s3, bucket: str) -> None:
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="doc", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="doc", VersionId=v1)["Body"].read() == b"one"
    deleted = s3.delete_object(Bucket=bucket, Key="doc")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="doc")
    assert code(exc) == "NoSuchKey"
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="doc", VersionId=marker)
    assert status(exc) == 405
    versions = s3.list_object_versions(Bucket=bucket)
    assert [(v["VersionId"], v["IsLatest"]) for v in versions["Versions"]] == [(v2, False), (v1, False)]
    assert [(m["VersionId"], m["IsLatest"]) for m in versions["DeleteMarkers"]] == [(marker, True)]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    # Removing the delete marker brings the newest version back.
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=marker)
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"two"
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"one"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="doc", VersionId="A" * 32)
    assert code(exc) == "NoSuchVersion"


def test_suspended_versioning_uses_null_version(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"pre")  # the null version
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"suspended")  # replaces the null version
    versions = s3.list_object_versions(Bucket=bucket, Prefix="k")["Versions"]
    assert sorted(v["VersionId"] for v in versions) == sorted(["null", kept])
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"suspended"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=kept)["Body"].read() == b"versioned"


def test_list_object_versions_pagination(s3, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    expected = []
    for key in ("a", "b", "c"):
        ids = [s3.put_object(Bucket=bucket, Key=key, Body=f"{key}{i}".encode())["VersionId"] for i in range(3)]
        expected += [(key, v) for v in reversed(ids)]
    seen = []
    kwargs: dict = {"Bucket": bucket, "MaxKeys": 2}
    while True:
        page = s3.list_object_versions(**kwargs)
        seen += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        kwargs.update(KeyMarker=page["NextKeyMarker"], VersionIdMarker=page["NextVersionIdMarker"])
    assert seen == expected


# --- listings ------------------------------------------------------------------------------


KEYS = ["a.txt", "dir/x", "dir/y", "dir/sub/z", "dir2/q", "e", "f/g/h", "f+plus", "f plus", "zz"]


def test_list_v2_prefix_delimiter_and_pages(s3, bucket: str) -> None:
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    page = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == ["a.txt", "e", "f plus", "f+plus", "zz"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/", "dir2/", "f/"]
    assert page["KeyCount"] == 8
    page = s3.list_objects_v2(Bucket=bucket, Prefix="dir/", Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == ["dir/x", "dir/y"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/sub/"]
    # Pages of two entries (keys and common prefixes count alike) cover the same listing.
    seen: list[str] = []
    kwargs: dict = {"Bucket": bucket, "Delimiter": "/", "MaxKeys": 2}
    while True:
        page = s3.list_objects_v2(**kwargs)
        seen += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        assert page["KeyCount"] <= 2
        if not page["IsTruncated"]:
            break
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    assert sorted(seen) == sorted(["a.txt", "e", "f plus", "f+plus", "zz", "dir/", "dir2/", "f/"])
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="dir/y")
    assert [o["Key"] for o in after["Contents"]] == ["dir2/q", "e", "f plus", "f+plus", "f/g/h", "zz"]
    assert s3.list_objects_v2(Bucket=bucket, MaxKeys=0)["KeyCount"] == 0
    paginated = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 3}) for o in p["Contents"]]
    assert paginated == sorted(KEYS)


def test_list_v1_and_url_encoding(s3, bucket: str) -> None:
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    page = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=3)
    assert page["IsTruncated"] and page["NextMarker"] == "dir2/"
    rest = s3.list_objects(Bucket=bucket, Delimiter="/", Marker=page["NextMarker"])
    assert [o["Key"] for o in rest["Contents"]] == ["e", "f plus", "f+plus", "zz"]
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["f/"]
    assert "Owner" in rest["Contents"][0]
    # boto3 asks for encoding-type=url by itself and decodes; asked for explicitly, it does not.
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="f")["Contents"]] == ["f plus", "f+plus", "f/g/h"]
    encoded = s3.list_objects_v2(Bucket=bucket, Prefix="f", EncodingType="url")
    assert [o["Key"] for o in encoded["Contents"]] == ["f%20plus", "f%2Bplus", "f/g/h"]
    assert encoded["EncodingType"] == "url"


# --- presigned URLs ------------------------------------------------------------------------


def test_presigned_get_and_put_with_plain_http(s3, bucket: str) -> None:
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up.txt"}, ExpiresIn=300)
    response = httpx.put(put_url, content=b"uploaded through a presigned URL")
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{md5(b"uploaded through a presigned URL")}"'
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "up.txt"}, ExpiresIn=300)
    response = httpx.get(get_url)
    assert response.status_code == 200 and response.content == b"uploaded through a presigned URL"
    tampered = get_url.replace("up.txt", "other.txt")
    assert httpx.get(tampered).status_code == 403


def test_virtual_host_style(s3_server: LiveServer, bucket: str) -> None:
    """``<bucket>.localhost`` names (this machine may not resolve them: send to 127.0.0.1)."""
    port = s3_server.endpoint.rsplit(":", 1)[1]
    creds = botocore.credentials.Credentials(s3_server.access_key, s3_server.secret_key)

    def send(method: str, path: str, body: bytes = b"") -> httpx.Response:
        request = AWSRequest(method=method, url=f"http://{bucket}.localhost:{port}{path}", data=body)
        botocore.auth.S3SigV4Auth(creds, "s3", s3_server.region).add_auth(request)
        headers = dict(request.headers.items())
        headers["Host"] = f"{bucket}.localhost:{port}"
        return httpx.request(method, f"http://127.0.0.1:{port}{path}", content=body, headers=headers)

    assert send("PUT", "/vhost/key", b"v").status_code == 200
    assert s3_server.client("s3").get_object(Bucket=bucket, Key="vhost/key")["Body"].read() == b"v"
    got = send("GET", "/vhost/key")
    assert got.status_code == 200 and got.content == b"v"
    listed = send("GET", "/?list-type=2")
    assert listed.status_code == 200 and "<Key>vhost/key</Key>" in listed.text


def test_conditional_writes_under_concurrency(s3, bucket: str) -> None:
    """Racing writers: one IfNoneMatch="*" winner per key, and IfMatch updates never lost."""
    from concurrent.futures import ThreadPoolExecutor

    def create(args: tuple[str, int]) -> tuple[str, bool]:
        key, i = args
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=str(i).encode(), IfNoneMatch="*")
            return key, True
        except ClientError as exc:
            assert exc.response["Error"]["Code"] in ("PreconditionFailed", "ConditionalRequestConflict")
            return key, False

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(create, [(f"race/c{k}", i) for k in range(6) for i in range(8)]))
    wins: dict[str, int] = {}
    for key, won in results:
        wins[key] = wins.get(key, 0) + won
    assert wins == {f"race/c{k}": 1 for k in range(6)}

    s3.put_object(Bucket=bucket, Key="race/counter", Body=b"0")
    succeeded = []

    def bump(_: int) -> None:
        for _attempt in range(50):
            got = s3.get_object(Bucket=bucket, Key="race/counter")
            value = int(got["Body"].read())
            try:
                s3.put_object(Bucket=bucket, Key="race/counter", Body=str(value + 1).encode(), IfMatch=got["ETag"])
            except ClientError as exc:
                assert exc.response["Error"]["Code"] in ("PreconditionFailed", "ConditionalRequestConflict")
                continue
            succeeded.append(1)
            return

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(bump, range(16)))
    assert int(s3.get_object(Bucket=bucket, Key="race/counter")["Body"].read()) == len(succeeded) > 0
