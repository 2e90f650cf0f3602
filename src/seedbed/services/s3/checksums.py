"""S3's checksums: the MD5 ETag, ``Content-MD5``, and the flexible ``x-amz-checksum-*`` family.

Current botocore sends a CRC32 of every upload by default (in a header over HTTP, in an
``aws-chunked`` trailer over HTTPS, which the server core decodes into request headers), and
validates the checksum S3 returns on GET. CRC32C comes from the ``crc32c`` package, CRC64NVME
from ``awscrt`` when it is installed (clients that can send CRC64NVME have it) and a table
otherwise; SHA-1/256/512 and MD5 from hashlib.

Multipart objects get either a COMPOSITE checksum (the checksum of the parts' raw checksums,
suffixed ``-N``) or, for the CRC family, a FULL_OBJECT one combined from the part CRCs without
reading the data again (zlib's ``crc32_combine``, generalised to any reflected CRC).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable
from typing import Any, Protocol

import crc32c as _crc32c

from seedbed.errors import ServiceError

#: Algorithm name -> the request/response member suffix and header (``x-amz-checksum-crc32``).
ALGORITHMS: tuple[str, ...] = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "SHA512", "MD5")
#: Algorithms the model knows but Seedbed cannot compute yet.
UNSUPPORTED: tuple[str, ...] = ("XXHASH64", "XXHASH3", "XXHASH128")
CRC_ALGORITHMS = frozenset({"CRC32", "CRC32C", "CRC64NVME"})
_DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32, "SHA512": 64, "MD5": 16}


class Hasher(Protocol):
    def update(self, data: bytes | memoryview) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    """An incremental CRC with a ``hashlib``-like face."""

    def __init__(self, step: Callable[[bytes | memoryview, int], int], width: int) -> None:
        self._step = step
        self._width = width
        self._value = 0

    def update(self, data: bytes | memoryview) -> None:
        self._value = self._step(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._width // 8, "big")


# --- CRC64/NVME ------------------------------------------------------------------------------

_CRC64NVME_POLY = 0x9A6C9329AC4BC9B5  # reflected form of 0xAD93D23594C93659
_MASK64 = (1 << 64) - 1


def _crc64_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC64NVME_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC64_TABLE: list[int] | None = None


def _crc64nvme_python(data: bytes | memoryview, value: int) -> int:
    global _CRC64_TABLE
    table = _CRC64_TABLE or _crc64_table()
    _CRC64_TABLE = table
    crc = value ^ _MASK64
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ _MASK64


def _crc64nvme_step() -> Callable[[bytes | memoryview, int], int]:
    try:
        from awscrt import checksums as crt  # type: ignore[import-not-found]

        return lambda data, value: crt.crc64nvme(bytes(data), value)
    except ImportError:  # pragma: no cover - depends on the environment
        return _crc64nvme_python


def _crc32_step(data: bytes | memoryview, value: int) -> int:
    return zlib.crc32(data, value)


def _crc32c_step(data: bytes | memoryview, value: int) -> int:
    return _crc32c.crc32c(bytes(data) if isinstance(data, memoryview) else data, value)


_CRC_STEPS: dict[str, tuple[Callable[[bytes | memoryview, int], int], int]] = {}


def _steps(algorithm: str) -> tuple[Callable[[bytes | memoryview, int], int], int]:
    if not _CRC_STEPS:
        _CRC_STEPS.update(
            {"CRC32": (_crc32_step, 32), "CRC32C": (_crc32c_step, 32), "CRC64NVME": (_crc64nvme_step(), 64)}
        )
    return _CRC_STEPS[algorithm]


def new_hasher(algorithm: str) -> Hasher:
    if algorithm in CRC_ALGORITHMS:
        step, width = _steps(algorithm)
        return _Crc(step, width)
    return hashlib.new({"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512", "MD5": "md5"}[algorithm])


def digest(algorithm: str, data: bytes | memoryview) -> bytes:
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return hasher.digest()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def checksum(algorithm: str, data: bytes | memoryview) -> str:
    """The base64 checksum S3 puts in ``x-amz-checksum-<algorithm>``."""
    return b64(digest(algorithm, data))


def md5_hex(data: bytes | memoryview) -> str:
    return hashlib.md5(data).hexdigest()


# --- combining -------------------------------------------------------------------------------

_POLYS = {"CRC32": (0xEDB88320, 32), "CRC32C": (0x82F63B78, 32), "CRC64NVME": (_CRC64NVME_POLY, 64)}


def _gf2_times(matrix: list[int], vector: int) -> int:
    total = 0
    index = 0
    while vector:
        if vector & 1:
            total ^= matrix[index]
        vector >>= 1
        index += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, row) for row in matrix]


def crc_combine(algorithm: str, crc1: int, crc2: int, length2: int) -> int:
    """The CRC of ``A + B`` from ``crc(A)``, ``crc(B)`` and ``len(B)`` (zlib's algorithm).

    Valid for reflected CRCs whose initial value equals their final XOR, as all three are.
    """
    if length2 == 0:
        return crc1
    poly, width = _POLYS[algorithm]
    odd = [poly] + [1 << n for n in range(width - 1)]  # one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)
        if length2 & 1:
            crc1 = _gf2_times(even, crc1)
        length2 >>= 1
        if not length2:
            break
        odd = _gf2_square(even)
        if length2 & 1:
            crc1 = _gf2_times(odd, crc1)
        length2 >>= 1
        if not length2:
            break
    return crc1 ^ crc2


def full_object_crc(algorithm: str, parts: list[tuple[str, int]]) -> str:
    """A FULL_OBJECT checksum from the parts' (base64 checksum, size), in order."""
    width = _POLYS[algorithm][1] // 8
    value = int.from_bytes(base64.b64decode(parts[0][0]), "big")
    for encoded, size in parts[1:]:
        value = crc_combine(algorithm, value, int.from_bytes(base64.b64decode(encoded), "big"), size)
    return b64(value.to_bytes(width, "big"))


def composite(algorithm: str, part_checksums: list[str]) -> str:
    """A COMPOSITE checksum: the checksum of the concatenated raw part checksums, ``-N``."""
    raw = b"".join(base64.b64decode(value) for value in part_checksums)
    return f"{checksum(algorithm, raw)}-{len(part_checksums)}"


def multipart_etag(part_md5_hex: list[str]) -> str:
    """S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, ``-N`` (unquoted)."""
    joined = b"".join(bytes.fromhex(value) for value in part_md5_hex)
    return f"{hashlib.md5(joined).hexdigest()}-{len(part_md5_hex)}"


# --- verifying requests ----------------------------------------------------------------------


def _invalid_request(message: str) -> ServiceError:
    return ServiceError(message, code="InvalidRequest", status=400)


def algorithm_name(value: str) -> str:
    """Normalise a ChecksumAlgorithm value (``crc32`` -> ``CRC32``), refusing unknown ones."""
    name = value.strip().upper()
    if name in UNSUPPORTED:
        raise ServiceError(
            f"Seedbed does not support the {name} checksum algorithm yet; use CRC32, CRC32C, "
            "CRC64NVME, SHA1 or SHA256.",
            code="NotImplemented",
            status=501,
        )
    if name not in ALGORITHMS:
        raise _invalid_request(f"Checksum algorithm provided is unsupported: {value}")
    return name


def _decoded(algorithm: str, header: str, value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != _DIGEST_SIZES[algorithm]:
        raise _invalid_request(f"Value for {header} header is invalid.")
    return raw


def provided_checksums(headers: dict[str, str]) -> dict[str, str]:
    """The ``x-amz-checksum-<alg>`` values a request carries (headers or decoded trailers)."""
    found: dict[str, str] = {}
    for name in ALGORITHMS + UNSUPPORTED:
        value = headers.get(f"x-amz-checksum-{name.lower()}")
        if value is not None:
            found[name] = value.strip()
    return found


def verify_request(headers: dict[str, str], body: bytes | memoryview) -> dict[str, str]:
    """Check ``Content-MD5`` and any ``x-amz-checksum-*`` against the body, as S3 does.

    Returns the verified flexible checksum as ``{algorithm: base64}`` (at most one entry).
    Raises InvalidDigest / BadDigest / InvalidRequest with S3's wording.
    """
    content_md5 = headers.get("content-md5")
    if content_md5 is not None:
        try:
            expected = base64.b64decode(content_md5.strip(), validate=True)
        except (binascii.Error, ValueError):
            expected = b""
        if len(expected) != 16:
            raise ServiceError(
                "The Content-MD5 you specified was invalid.",
                code="InvalidDigest",
                status=400,
                fields={"Content-MD5": content_md5},
            )
        if hashlib.md5(body).digest() != expected:
            raise ServiceError(
                "The Content-MD5 you specified did not match what we received.",
                code="BadDigest",
                status=400,
                fields={"ExpectedDigest": content_md5, "CalculatedDigest": b64(hashlib.md5(body).digest())},
            )
    provided = provided_checksums(headers)
    declared = headers.get("x-amz-sdk-checksum-algorithm")
    trailer = headers.get("x-amz-trailer")
    if len(provided) > 1:
        raise _invalid_request("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
    if not provided:
        if declared is not None and trailer is None:
            raise _invalid_request(
                "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or "
                "x-amz-trailer headers were found."
            )
        if trailer is not None and trailer.strip().lower().startswith("x-amz-checksum-"):
            raise ServiceError(
                "The request body terminated unexpectedly", code="IncompleteBody", status=400
            )
        return {}
    (name, value), = provided.items()
    name = algorithm_name(name)
    if declared is not None and declared.strip().upper() != name:
        raise _invalid_request(
            "Value for x-amz-sdk-checksum-algorithm header is invalid."
        )
    header = f"x-amz-checksum-{name.lower()}"
    expected_raw = _decoded(name, header, value)
    if digest(name, body) != expected_raw:
        raise ServiceError(
            f"The {name} you specified did not match the calculated checksum.",
            code="BadDigest",
            status=400,
        )
    return {name: value}


def output_members(stored: dict[str, Any] | None) -> dict[str, str]:
    """``{"ChecksumCRC32": ..., "ChecksumType": ...}`` for an object's stored checksum."""
    if not stored:
        return {}
    out = {f"Checksum{stored['algorithm']}": stored["value"]}
    if stored.get("type"):
        out["ChecksumType"] = stored["type"]
    return out
