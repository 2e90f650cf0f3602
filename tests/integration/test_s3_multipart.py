"""Multipart uploads through boto3 on both blob backends: ETags and checksums as S3 computes them,
the part-size rules, listings, abort, copy parts, and boto3's managed transfers."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.integration.test_s3_support import (  # noqa: F401  (fixtures)
    blob_backend,
    bucket,
    code,
    remote_server,
    s3,
    s3_server,
    status,
)

MIB = 1024 * 1024


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_upload_complete_and_read_back(s3, bucket: str) -> None:
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"tail" * 1000]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp/object.bin", ContentType="application/zip", Metadata={"k": "v"})
    upload_id = upload["UploadId"]
    etags = []
    for number, data in enumerate(parts, start=1):
        response = s3.upload_part(Bucket=bucket, Key="mp/object.bin", UploadId=upload_id, PartNumber=number, Body=data)
        assert response["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
        etags.append(response["ETag"])
    listed = s3.list_parts(Bucket=bucket, Key="mp/object.bin", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [(1, 5 * MIB), (2, 5 * MIB), (3, 4000)]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("mp/object.bin", upload_id)]
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp/object.bin",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n} for n, e in enumerate(etags, start=1)]},
    )
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    expected_etag = f'"{hashlib.md5(digests).hexdigest()}-3"'
    assert done["ETag"] == expected_etag
    assert done["Location"].endswith(f"/{bucket}/mp/object.bin")
    whole = b"".join(parts)
    got = s3.get_object(Bucket=bucket, Key="mp/object.bin")
    assert got["ETag"] == expected_etag and got["ContentType"] == "application/zip" and got["Metadata"] == {"k": "v"}
    assert got["Body"].read() == whole
    assert s3.get_object(Bucket=bucket, Key="mp/object.bin", Range=f"bytes={5 * MIB - 10}-{5 * MIB + 9}")["Body"].read() == whole[5 * MIB - 10 : 5 * MIB + 10]
    second = s3.get_object(Bucket=bucket, Key="mp/object.bin", PartNumber=2)
    assert second["PartsCount"] == 3 and second["ContentLength"] == 5 * MIB
    assert second["Body"].read() == parts[1]
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket, Key="mp/object.bin", UploadId=upload_id)
    assert code(exc) == "NoSuchUpload"


def test_composite_crc32_checksum(s3, bucket: str) -> None:
    parts = [os.urandom(5 * MIB), os.urandom(1000)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="crc", ChecksumAlgorithm="CRC32")
    assert upload["ChecksumAlgorithm"] == "CRC32" and upload["ChecksumType"] == "COMPOSITE"
    done_parts = []
    for number, data in enumerate(parts, start=1):
        response = s3.upload_part(Bucket=bucket, Key="crc", UploadId=upload["UploadId"], PartNumber=number, Body=data, ChecksumAlgorithm="CRC32")
        assert response["ChecksumCRC32"] == crc32_b64(data)
        done_parts.append({"ETag": response["ETag"], "PartNumber": number, "ChecksumCRC32": response["ChecksumCRC32"]})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="crc", UploadId=upload["UploadId"], MultipartUpload={"Parts": done_parts})
    raw = b"".join(base64.b64decode(crc32_b64(p)) for p in parts)
    assert done["ChecksumCRC32"] == f"{crc32_b64(raw)}-2"
    assert done["ChecksumType"] == "COMPOSITE"
    head = s3.head_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == done["ChecksumCRC32"]
    assert s3.get_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")["Body"].read() == b"".join(parts)


def test_full_object_crc32_checksum(s3, bucket: str) -> None:
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB + 3), os.urandom(17)]
    whole = b"".join(parts)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="full", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")
    done_parts = []
    for number, data in enumerate(parts, start=1):
        response = s3.upload_part(Bucket=bucket, Key="full", UploadId=upload["UploadId"], PartNumber=number, Body=data, ChecksumAlgorithm="CRC32")
        done_parts.append({"ETag": response["ETag"], "PartNumber": number, "ChecksumCRC32": response["ChecksumCRC32"]})
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="full", UploadId=upload["UploadId"], MultipartUpload={"Parts": done_parts},
        ChecksumCRC32=crc32_b64(whole), ChecksumType="FULL_OBJECT",
    )
    assert done["ChecksumCRC32"] == crc32_b64(whole) and done["ChecksumType"] == "FULL_OBJECT"
    got = s3.get_object(Bucket=bucket, Key="full", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == crc32_b64(whole)
    assert got["Body"].read() == whole  # botocore checks the full-object CRC while reading


def test_part_rules(s3, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="rules")["UploadId"]
    small = s3.upload_part(Bucket=bucket, Key="rules", UploadId=upload_id, PartNumber=1, Body=b"too small")
    last = s3.upload_part(Bucket=bucket, Key="rules", UploadId=upload_id, PartNumber=2, Body=b"last")
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="rules", UploadId=upload_id,
            MultipartUpload={"Parts": [{"ETag": small["ETag"], "PartNumber": 1}, {"ETag": last["ETag"], "PartNumber": 2}]},
        )
    assert code(exc) == "EntityTooSmall"
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="rules", UploadId=upload_id,
            MultipartUpload={"Parts": [{"ETag": last["ETag"], "PartNumber": 2}, {"ETag": small["ETag"], "PartNumber": 1}]},
        )
    assert code(exc) == "InvalidPartOrder"
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="rules", UploadId=upload_id, MultipartUpload={"Parts": [{"ETag": '"0123"', "PartNumber": 1}]}
        )
    assert code(exc) == "InvalidPart"
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="rules", UploadId=upload_id, PartNumber=10001, Body=b"x")
    assert code(exc) == "InvalidArgument"
    # A single (last) small part is fine, and re-uploading a part number replaces it.
    again = s3.upload_part(Bucket=bucket, Key="rules", UploadId=upload_id, PartNumber=1, Body=b"replaced")
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="rules", UploadId=upload_id, MultipartUpload={"Parts": [{"ETag": again["ETag"], "PartNumber": 1}]}
    )
    assert done["ETag"].endswith('-1"')
    assert s3.get_object(Bucket=bucket, Key="rules")["Body"].read() == b"replaced"


def test_abort_and_unknown_uploads(s3, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="gone", UploadId=upload_id, PartNumber=1, Body=b"x")
    assert s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=upload_id)["ResponseMetadata"]["HTTPStatusCode"] == 204
    for call in (
        lambda: s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=upload_id),
        lambda: s3.upload_part(Bucket=bucket, Key="gone", UploadId=upload_id, PartNumber=1, Body=b"x"),
        lambda: s3.list_parts(Bucket=bucket, Key="gone", UploadId="made-up"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert code(exc) == "NoSuchUpload" and status(exc) == 404


def test_list_multipart_uploads_markers(s3, bucket: str) -> None:
    ids = {}
    for key in ("a/1", "a/2", "b", "c"):
        ids[key] = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2)
    assert [u["Key"] for u in page["Uploads"]] == ["a/1", "a/2"] and page["IsTruncated"]
    rest = s3.list_multipart_uploads(Bucket=bucket, KeyMarker=page["NextKeyMarker"], UploadIdMarker=page["NextUploadIdMarker"])
    assert [u["Key"] for u in rest["Uploads"]] == ["b", "c"]
    rolled = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["a/"]
    assert [u["Key"] for u in rolled["Uploads"]] == ["b", "c"]


def test_upload_part_copy(s3, bucket: str) -> None:
    source = os.urandom(6 * MIB)
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    first = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=upload_id, PartNumber=1, CopySource={"Bucket": bucket, "Key": "source"}, CopySourceRange=f"bytes=0-{5 * MIB - 1}")
    second = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=upload_id, PartNumber=2, CopySource={"Bucket": bucket, "Key": "source"})
    s3.complete_multipart_upload(
        Bucket=bucket, Key="assembled", UploadId=upload_id,
        MultipartUpload={"Parts": [{"ETag": first["CopyPartResult"]["ETag"], "PartNumber": 1}, {"ETag": second["CopyPartResult"]["ETag"], "PartNumber": 2}]},
    )
    assert s3.get_object(Bucket=bucket, Key="assembled")["Body"].read() == source[: 5 * MIB] + source
    with pytest.raises(ClientError) as exc:
        s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId="x", PartNumber=1, CopySource={"Bucket": bucket, "Key": "source"}, CopySourceRange="bytes=0-1")
    assert code(exc) == "NoSuchUpload"


def test_managed_transfer_round_trip(s3, bucket: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """boto3's upload_file/download_file: multipart with CRC32 parts, ranged parallel GETs."""
    source = tmp_path / "model.tar.gz"
    source.write_bytes(os.urandom(23 * MIB + 5))
    config = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=4)
    s3.upload_file(str(source), bucket, "models/model.tar.gz", Config=config)
    head = s3.head_object(Bucket=bucket, Key="models/model.tar.gz")
    assert head["ContentLength"] == source.stat().st_size and head["ETag"].endswith('-3"')
    target = tmp_path / "downloaded"
    s3.download_file(bucket, "models/model.tar.gz", str(target), Config=config)
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
