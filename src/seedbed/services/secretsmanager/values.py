"""Secret values at rest: sealed with a KMS data key, as Secrets Manager does on AWS.

The data key is bound to the KMS encryption context ``{"SecretARN": ..., "SecretVersionId":
...}`` and the sealed bytes to the same pair, so a value cannot be moved to another secret or
version. KMS calls run as the caller, so IAM decides whether they may use the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from seedbed.errors import ServiceError
from seedbed.services.kms import envelope
from seedbed.services.secretsmanager import store
from seedbed.services.secretsmanager.errors import DecryptionFailure, EncryptionFailure

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import Principal

DEFAULT_KEY = "alias/aws/secretsmanager"
SERVICE = "secretsmanager"


@dataclass(frozen=True)
class Sealed:
    key_arn: str
    data_key: bytes
    sealed: bytes


def _context(arn: str, version_id: str) -> dict[str, str]:
    return {"SecretARN": arn, "SecretVersionId": version_id}


def _aad(arn: str, version_id: str) -> bytes:
    return f"{arn}|{version_id}".encode()


def _passthrough(error: ServiceError) -> bool:
    """Authorization failures reach the client as they are: the caller may not use the key."""
    return error.code.startswith("AccessDenied")


async def seal(
    backend: Backend,
    principal: Principal | None,
    region: str,
    kms_key_id: str | None,
    arn: str,
    version_id: str,
    value: bytes,
) -> Sealed:
    key_id = kms_key_id or DEFAULT_KEY
    try:
        data_key = await envelope.generate_data_key(
            backend, principal, key_id, _context(arn, version_id), region=region, service=SERVICE
        )
    except ServiceError as error:
        if _passthrough(error):
            raise
        raise EncryptionFailure(
            f"Secrets Manager can't encrypt the secret value with the KMS key {key_id}: "
            f"{error.code}: {error.message}"
        ) from None
    return Sealed(
        data_key.key_arn,
        data_key.ciphertext_blob,
        envelope.seal(data_key.plaintext, value, _aad(arn, version_id)),
    )


async def open_value(
    backend: Backend, principal: Principal | None, region: str, version: store.Version
) -> bytes:
    try:
        data_key = await envelope.decrypt_data_key(
            backend,
            principal,
            version.data_key,
            _context(version.secret_arn, version.version_id),
            region=region,
            service=SERVICE,
        )
        return envelope.open_sealed(
            data_key, version.sealed, _aad(version.secret_arn, version.version_id)
        )
    except ServiceError as error:
        if _passthrough(error):
            raise
        raise DecryptionFailure(
            "Secrets Manager can't decrypt the protected secret text using the provided KMS key: "
            f"{error.code}: {error.message}"
        ) from None
    except envelope.SealedDataError:
        raise DecryptionFailure(
            "Secrets Manager can't decrypt the protected secret text: it does not authenticate."
        ) from None
