"""SecureString values: encrypted through KMS as the caller, as Parameter Store does on AWS.

Values up to 4 KB are a KMS ciphertext made by ``kms:Encrypt`` with the encryption context
``{"PARAMETER_ARN": <arn>}``, so what GetParameter returns without decryption is a base64 KMS
ciphertext blob that ``kms:Decrypt`` with that context opens, as on AWS. Larger (advanced-tier)
values are sealed with a KMS data key (same context) in a small envelope of Seedbed's own.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from seedbed.errors import ServiceError
from seedbed.services.kms import envelope
from seedbed.services.ssm.errors import InvalidKeyId

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import Principal

DEFAULT_KEY = "alias/aws/ssm"
SERVICE = "ssm"
KMS_PLAINTEXT_LIMIT = 4096
_ENVELOPE = b"SSMENV1"


def _context(arn: str) -> dict[str, str]:
    return {"PARAMETER_ARN": arn}


def _kms_failure(error: ServiceError, key_id: str | None) -> ServiceError:
    if error.code.startswith("AccessDenied"):
        return error  # the caller may not use the key: say so as IAM said it
    named = f" {key_id}" if key_id else ""
    return InvalidKeyId(f"The KMS key{named} cannot be used: {error.code}: {error.message}")


async def encrypt(
    backend: Backend, principal: Principal | None, region: str, key_id: str, arn: str, value: str
) -> str:
    """The stored (and, without decryption, returned) form of a SecureString value."""
    data = value.encode("utf-8")
    try:
        if len(data) <= KMS_PLAINTEXT_LIMIT:
            raw, _ = await envelope.encrypt(
                backend, principal, key_id, data, _context(arn), region=region, service=SERVICE
            )
        else:
            key = await envelope.generate_data_key(
                backend, principal, key_id, _context(arn), region=region, service=SERVICE
            )
            blob = key.ciphertext_blob
            raw = (
                _ENVELOPE
                + len(blob).to_bytes(2, "big")
                + blob
                + envelope.seal(key.plaintext, data, arn.encode())
            )
    except ServiceError as error:
        raise _kms_failure(error, key_id) from None
    return base64.b64encode(raw).decode("ascii")


async def decrypt(
    backend: Backend, principal: Principal | None, region: str, arn: str, stored: str
) -> str:
    try:
        raw = base64.b64decode(stored.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise InvalidKeyId("The stored SecureString value is not a ciphertext.") from None
    try:
        if raw.startswith(_ENVELOPE):
            size = int.from_bytes(raw[len(_ENVELOPE) : len(_ENVELOPE) + 2], "big")
            start = len(_ENVELOPE) + 2
            blob, sealed = raw[start : start + size], raw[start + size :]
            key = await envelope.decrypt_data_key(
                backend, principal, blob, _context(arn), region=region, service=SERVICE
            )
            return envelope.open_sealed(key, sealed, arn.encode()).decode("utf-8")
        plain = await envelope.decrypt(
            backend, principal, raw, _context(arn), region=region, service=SERVICE
        )
        return plain.decode("utf-8")
    except ServiceError as error:
        raise _kms_failure(error, None) from None
    except envelope.SealedDataError:
        raise InvalidKeyId(
            "The SecureString value does not decrypt with its KMS data key."
        ) from None
