"""KMS for other services: data keys for envelope encryption, as AWS services use KMS.

S3 (SSE-KMS), Secrets Manager and SSM Parameter Store never touch KMS's tables: they call KMS's
operations in-process through :meth:`Backend.call`, as the principal who made their request, so
IAM and the audit trail see ``kms:GenerateDataKey`` and ``kms:Decrypt`` just as CloudTrail shows
them on AWS. Errors come back as KMS's own :class:`~seedbed.errors.ServiceError` (codes such as
``NotFoundException``, ``DisabledException``, ``KMSInvalidStateException``,
``InvalidCiphertextException``, or ``AccessDenied...`` from IAM); each caller maps them to its own
service's words.

Typical use::

    key = await envelope.generate_data_key(
        backend, principal, "alias/aws/s3", {"aws:s3:arn": arn}, service="s3"
    )
    sealed = envelope.seal(key.plaintext, data, aad)        # store sealed + key.ciphertext_blob
    ...
    plaintext_key = await envelope.decrypt_data_key(
        backend, principal, blob, {"aws:s3:arn": arn}, service="s3"
    )
    data = envelope.open_sealed(plaintext_key, sealed, aad)
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import Principal

NONCE_SIZE = 12

#: The AWS service whose in-process call to KMS is under way (``s3``, ``secretsmanager``,
#: ``ssm``): what KMS reports as the ``kms:ViaService`` condition key while it runs.
_via_service: ContextVar[str | None] = ContextVar("seedbed_kms_via_service", default=None)


def via_service() -> str | None:
    """The service calling KMS on a principal's behalf right now, if any."""
    return _via_service.get()


async def _call(
    backend: Backend,
    principal: Principal | None,
    operation: str,
    params: dict[str, Any],
    region: str | None,
    service: str | None,
) -> dict[str, Any]:
    token = _via_service.set(service)
    try:
        return await backend.call(principal, "kms", operation, params, region)
    finally:
        _via_service.reset(token)


@dataclass(frozen=True)
class DataKey:
    """A fresh 256-bit data key: use ``plaintext`` once and forget it; store ``ciphertext_blob``."""

    plaintext: bytes
    ciphertext_blob: bytes
    #: The ARN of the KMS key that encrypted it (what S3 reports as SSEKMSKeyId).
    key_arn: str


class SealedDataError(Exception):
    """Bytes sealed with :func:`seal` that do not open: tampered with, or a different ``aad``."""


async def generate_data_key(
    backend: Backend,
    principal: Principal | None,
    key_id: str,
    context: Mapping[str, str] | None = None,
    *,
    region: str | None = None,
    service: str | None = None,
) -> DataKey:
    """``kms:GenerateDataKey`` (AES_256) under ``key_id`` (key id, key ARN, alias or alias ARN;
    ``alias/aws/<service>`` is created on first use), bound to the encryption ``context``.
    ``service`` names the AWS service acting for the principal (``"s3"``): KMS and IAM see it as
    ``kms:ViaService``, which the policies of AWS managed keys require."""
    params: dict[str, Any] = {"KeyId": key_id, "KeySpec": "AES_256"}
    if context:
        params["EncryptionContext"] = dict(context)
    out = await _call(backend, principal, "GenerateDataKey", params, region, service)
    return DataKey(out["Plaintext"], out["CiphertextBlob"], out["KeyId"])


async def decrypt_data_key(
    backend: Backend,
    principal: Principal | None,
    ciphertext_blob: bytes,
    context: Mapping[str, str] | None = None,
    *,
    region: str | None = None,
    service: str | None = None,
) -> bytes:
    """``kms:Decrypt`` of a data key; the blob names its own KMS key. A different ``context``
    than at generation fails with ``InvalidCiphertextException``."""
    params: dict[str, Any] = {"CiphertextBlob": ciphertext_blob}
    if context:
        params["EncryptionContext"] = dict(context)
    out = await _call(backend, principal, "Decrypt", params, region, service)
    return out["Plaintext"]


async def encrypt(
    backend: Backend,
    principal: Principal | None,
    key_id: str,
    plaintext: bytes,
    context: Mapping[str, str] | None = None,
    *,
    region: str | None = None,
    service: str | None = None,
) -> tuple[bytes, str]:
    """``kms:Encrypt`` of up to 4096 bytes: (ciphertext blob, key ARN). For small values that
    are stored as KMS ciphertext directly, as SSM's standard-tier SecureStrings are."""
    params: dict[str, Any] = {"KeyId": key_id, "Plaintext": plaintext}
    if context:
        params["EncryptionContext"] = dict(context)
    out = await _call(backend, principal, "Encrypt", params, region, service)
    return out["CiphertextBlob"], out["KeyId"]


async def decrypt(
    backend: Backend,
    principal: Principal | None,
    ciphertext_blob: bytes,
    context: Mapping[str, str] | None = None,
    *,
    region: str | None = None,
    service: str | None = None,
) -> bytes:
    """``kms:Decrypt`` of a blob from :func:`encrypt` (the same call as for a data key)."""
    return await decrypt_data_key(
        backend, principal, ciphertext_blob, context, region=region, service=service
    )


async def describe_key(
    backend: Backend,
    principal: Principal | None,
    key_id: str,
    *,
    region: str | None = None,
    service: str | None = None,
) -> dict[str, Any]:
    """``kms:DescribeKey``: the key's metadata (``Arn``, ``KeyState``, ...), for validating a key
    named in a request before using it."""
    out = await _call(backend, principal, "DescribeKey", {"KeyId": key_id}, region, service)
    return out["KeyMetadata"]


def seal(data_key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """AES-256-GCM with a data key: ``nonce | ciphertext | tag``. ``aad`` binds the bytes to where
    they belong (for example a secret's ARN and version), so they cannot be moved elsewhere."""
    nonce = secrets.token_bytes(NONCE_SIZE)
    return nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)


def open_sealed(data_key: bytes, sealed: bytes, aad: bytes = b"") -> bytes:
    try:
        return AESGCM(data_key).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], aad)
    except (InvalidTag, ValueError):
        raise SealedDataError("the sealed bytes do not open with this data key") from None
