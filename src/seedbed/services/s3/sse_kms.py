"""SSE-KMS: object data keys from the KMS service, as S3 gets them on AWS.

A write under ``aws:kms`` asks KMS (in-process, as the caller, ``kms:ViaService`` = s3) for a data
key under the object's KMS key with the encryption context ``{"aws:s3:arn": object ARN}`` (plus
any context the request adds); a read asks KMS to decrypt the stored copy. The KMS ciphertext blob
is kept in the blob reference of the object's metadata (``kms:<salt>:<blob>``); each blob is
sealed with ``HMAC-SHA256(data key, salt)``, so the parts of a multipart upload, which share one
data key (S3 calls GenerateDataKey once per upload and Decrypt per part), never reuse a
(key, nonce) pair. So disabling the KMS key makes the object unreadable at once, and the audit
trail shows ``GenerateDataKey``/``Decrypt`` for every write and read, as CloudTrail does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from seedbed.errors import ServiceError
from seedbed.server.context import Principal, RequestContext
from seedbed.services.kms import envelope
from seedbed.services.s3.errors import access_denied, error, invalid_argument
from seedbed.state import arns

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
DEFAULT_KEY = "alias/aws/s3"
PREFIX = "kms:"
CONTEXT_KEY = "aws:s3:arn"


def is_kms(encryption: Mapping[str, Any] | None) -> bool:
    return bool(encryption) and encryption.get("SSEAlgorithm") in KMS_ALGORITHMS  # type: ignore[union-attr]


@dataclass(frozen=True)
class Sealing:
    """A KMS data key in use for one write: plaintext (never stored) and KMS's ciphertext blob."""

    plaintext: bytes
    blob: bytes

    def keys(self) -> dict[str, bytes]:
        """What :meth:`ObjectStorage.read` needs to read blobs sealed with this data key."""
        return {base64.b64encode(self.blob).decode(): self.plaintext}

    def blob_key(self) -> tuple[bytes, str]:
        """A fresh per-blob key and the reference text stored with the blob."""
        salt = secrets.token_bytes(16)
        text = f"{PREFIX}{base64.b64encode(salt).decode()}:{base64.b64encode(self.blob).decode()}"
        return derive(self.plaintext, salt), text


def derive(data_key: bytes, salt: bytes) -> bytes:
    return hmac.new(data_key, b"seedbed-s3-blob-v1:" + salt, hashlib.sha256).digest()


def split_ref(text: str) -> tuple[bytes, str]:
    """(salt, base64 KMS blob) of a ``kms:`` blob reference."""
    _, salt, blob = text.split(":", 2)
    return base64.b64decode(salt), blob


def blobs_of(ref_keys: Iterable[str]) -> set[str]:
    """The distinct KMS ciphertext blobs (base64) that a version's blob references need."""
    return {split_ref(k)[1] for k in ref_keys if k.startswith(PREFIX)}


def context_for(bucket: str, key: str, encryption: Mapping[str, Any] | None) -> dict[str, str]:
    context = dict((encryption or {}).get("Context") or {})
    context[CONTEXT_KEY] = arns.build("s3", f"{bucket}/{key}")
    return context


def request_context(value: str | None) -> dict[str, str] | None:
    """``x-amz-server-side-encryption-context``: base64 of a JSON object of strings."""
    if not value:
        return None
    try:
        parsed = json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        parsed = None
    if not isinstance(parsed, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()):
        raise invalid_argument(
            "The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string "
            "holding JSON which represents a string-string map",
            "x-amz-server-side-encryption-context",
            value,
        )
    if CONTEXT_KEY in parsed:
        raise invalid_argument("Encryption context keys cannot start with 'aws:'", "x-amz-server-side-encryption-context", value)
    return parsed


def encode_context(context: Mapping[str, str]) -> str:
    return base64.b64encode(json.dumps(dict(context), separators=(",", ":")).encode()).decode()


def output_members(encryption: Mapping[str, Any] | None) -> dict[str, Any]:
    """``ServerSideEncryption``, ``SSEKMSKeyId`` and ``BucketKeyEnabled`` as S3 answers them."""
    encryption = encryption or {}
    out: dict[str, Any] = {"ServerSideEncryption": encryption.get("SSEAlgorithm", "AES256")}
    if is_kms(encryption):
        if encryption.get("KMSMasterKeyID"):
            out["SSEKMSKeyId"] = encryption["KMSMasterKeyID"]
        if encryption.get("BucketKeyEnabled"):
            out["BucketKeyEnabled"] = True
    return out


def _principal(ctx: RequestContext, owner: str) -> Principal:
    """Who asks KMS: the caller; Seedbed's own calls act as the bucket owner's root user.
    Anonymous callers cannot use KMS keys, so S3 refuses them."""
    if ctx.principal is not None:
        return ctx.principal
    from seedbed.services.s3.common import is_internal

    if is_internal(ctx):
        return Principal(owner, arns.root(owner), owner, "Root", "")
    raise access_denied()


def s3_error(exc: ServiceError, key_id: str | None = None) -> ServiceError:
    """A KMS error as S3 reports it: ``KMS.<code>`` (400), access denials as S3's 403."""
    if exc.code.startswith("AccessDenied"):
        return access_denied(exc.message)
    if exc.code == "NotFoundException" and key_id is not None:
        return error("KMS.NotFoundException", f"Invalid keyId '{key_id}'", 400)
    if exc.code.startswith("KMS") and "." in exc.code:
        return exc
    return error(f"KMS.{exc.code}", exc.message, 400 if exc.status < 500 else exc.status)


async def generate(
    backend: Backend, ctx: RequestContext, owner: str, bucket: str, key: str, encryption: dict[str, Any]
) -> Sealing:
    """A new data key for ``bucket/key``; fills in ``encryption["KMSMasterKeyID"]`` (the key ARN)."""
    key_id = encryption.get("KMSMasterKeyID") or DEFAULT_KEY
    try:
        data_key = await envelope.generate_data_key(
            backend,
            _principal(ctx, owner),
            key_id,
            context_for(bucket, key, encryption),
            region=ctx.region,
            service="s3",
        )
    except ServiceError as exc:
        raise s3_error(exc, key_id) from None
    encryption["KMSMasterKeyID"] = data_key.key_arn
    return Sealing(data_key.plaintext, data_key.ciphertext_blob)


async def decrypt(
    backend: Backend,
    ctx: RequestContext,
    owner: str,
    bucket: str,
    key: str,
    encryption: Mapping[str, Any] | None,
    blobs: Iterable[str],
) -> dict[str, bytes]:
    """Plaintext data keys for the given base64 KMS blobs (one ``kms:Decrypt`` each)."""
    out: dict[str, bytes] = {}
    context = context_for(bucket, key, encryption)
    for blob in blobs:
        try:
            out[blob] = await envelope.decrypt_data_key(
                backend, _principal(ctx, owner), base64.b64decode(blob), context, region=ctx.region, service="s3"
            )
        except ServiceError as exc:
            raise s3_error(exc) from None
    return out
