"""Checksums against published check values, botocore's own implementations, and S3's rules."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib

import pytest
from botocore.httpchecksum import Crc32Checksum, Sha1Checksum, Sha256Checksum
from hypothesis import given, settings
from hypothesis import strategies as st

from seedbed.errors import ServiceError
from seedbed.services.s3 import checksums

CHECK = b"123456789"


def test_check_values() -> None:
    assert checksums.digest("CRC32", CHECK) == (0xCBF43926).to_bytes(4, "big")
    assert checksums.digest("CRC32C", CHECK) == (0xE3069283).to_bytes(4, "big")
    assert checksums.digest("CRC64NVME", CHECK) == (0xAE8B14860A799888).to_bytes(8, "big")


def test_python_crc64_matches_check_value() -> None:
    assert checksums._crc64nvme_python(CHECK, 0) == 0xAE8B14860A799888
    assert checksums._crc64nvme_python(CHECK[4:], checksums._crc64nvme_python(CHECK[:4], 0)) == 0xAE8B14860A799888


@pytest.mark.parametrize(("name", "cls"), [("CRC32", Crc32Checksum), ("SHA1", Sha1Checksum), ("SHA256", Sha256Checksum)])
def test_same_as_botocore(name: str, cls: type) -> None:
    data = os.urandom(10_000)
    theirs = cls()
    theirs.update(data)
    assert checksums.checksum(name, data) == theirs.b64digest()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=6), st.sampled_from(["CRC32", "CRC32C", "CRC64NVME"]))
def test_full_object_crc_from_parts(parts: list[bytes], algorithm: str) -> None:
    combined = checksums.full_object_crc(algorithm, [(checksums.checksum(algorithm, p), len(p)) for p in parts])
    assert combined == checksums.checksum(algorithm, b"".join(parts))


def test_composite_and_multipart_etag() -> None:
    parts = [b"a" * 10, b"b" * 20]
    values = [checksums.checksum("CRC32", p) for p in parts]
    raw = b"".join(base64.b64decode(v) for v in values)
    assert checksums.composite("CRC32", values) == base64.b64encode(zlib.crc32(raw).to_bytes(4, "big")).decode() + "-2"
    md5s = [hashlib.md5(p).hexdigest() for p in parts]
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-2"
    assert checksums.multipart_etag(md5s) == expected


def test_verify_request() -> None:
    body = b"payload"
    crc = checksums.checksum("CRC32", body)
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    assert checksums.verify_request({"x-amz-checksum-crc32": crc, "content-md5": md5}, body) == {"CRC32": crc}
    assert checksums.verify_request({}, body) == {}
    cases = [
        ({"x-amz-checksum-crc32": "AAAAAA=="}, "BadDigest"),
        ({"x-amz-checksum-crc32": "zz"}, "InvalidRequest"),
        ({"content-md5": "nope"}, "InvalidDigest"),
        ({"content-md5": base64.b64encode(b"x" * 16).decode()}, "BadDigest"),
        ({"x-amz-sdk-checksum-algorithm": "CRC32"}, "InvalidRequest"),
        ({"x-amz-checksum-crc32": crc, "x-amz-checksum-sha1": checksums.checksum("SHA1", body)}, "InvalidRequest"),
        ({"x-amz-checksum-xxhash64": "AAAAAAAAAAA="}, "NotImplemented"),
    ]
    for headers, code in cases:
        with pytest.raises(ServiceError) as exc:
            checksums.verify_request(headers, body)
        assert exc.value.code == code, headers
