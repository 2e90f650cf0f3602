"""KMS cryptography: the master key, wrapped key material, and the ciphertext format.

Every KMS key owns one or more 256-bit AES-GCM *key materials* (one per rotation). A material is
never stored in the clear: the database holds it wrapped (AES-GCM) by the data dir's **master
key**, kept in the file ``kms-master.key`` (base64, mode 0600, created on first use) or given
as ``$SEEDBED_KMS_MASTER_KEY`` (base64 of 32 bytes) so that several replicas share it. Losing
the master key makes every KMS ciphertext, every secret and every SecureString unreadable, so
back it up with the database.

A ciphertext blob is Seedbed's own versioned envelope, opaque to clients, that names its key the
way AWS's blobs do, so Decrypt needs no KeyId::

    magic "SBK" | format 0x01 | key id (36 ASCII) | material version (u32) | nonce (12)
    | AES-256-GCM(plaintext) with its 16-byte tag

The header and the canonical encryption context are the GCM additional data: a changed header, a
different context, or another key's material fails authentication.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from seedbed.state import keyfiles

MASTER_KEY_FILE = "kms-master.key"
MASTER_KEY_ENV = "SEEDBED_KMS_MASTER_KEY"

MAGIC = b"SBK\x01"
_HEADER = struct.Struct(">4s36sI12s")
HEADER_SIZE = _HEADER.size
TAG_SIZE = 16
KEY_ID_LENGTH = 36
#: Material versions are database integers (32-bit on PostgreSQL).
MAX_MATERIAL_VERSION = 2**31 - 1
_WRAP_AAD = b"seedbed-kms-key-material-v1|"


class CiphertextError(Exception):
    """A blob that is not a Seedbed KMS ciphertext, or does not authenticate."""


@dataclass(frozen=True)
class Header:
    key_id: str
    material_version: int


def load_master_key(data_dir: Path) -> bytes:
    """The 32-byte master key: ``$SEEDBED_KMS_MASTER_KEY``, else the key file (made once, 0600)."""
    return keyfiles.load_or_create(data_dir, MASTER_KEY_FILE, MASTER_KEY_ENV)


class MaterialWrapper:
    """Wraps and unwraps key materials with the master key; the wrap is bound to key and version."""

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(master_key)

    def new_material(self, key_id: str, version: int) -> tuple[bytes, bytes]:
        """A fresh 256-bit material and its wrapped form (what the database stores)."""
        material = secrets.token_bytes(32)
        return material, self.wrap(material, key_id, version)

    def wrap(self, material: bytes, key_id: str, version: int) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, material, _wrap_aad(key_id, version))

    def unwrap(self, wrapped: bytes, key_id: str, version: int) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:12], wrapped[12:], _wrap_aad(key_id, version))
        except InvalidTag as exc:
            raise CiphertextError(
                f"the material of KMS key {key_id} does not unwrap with this data dir's master key"
            ) from exc


def _wrap_aad(key_id: str, version: int) -> bytes:
    return _WRAP_AAD + f"{key_id}|{version}".encode()


def canonical_context(context: Mapping[str, str] | None) -> bytes:
    """The encryption context as bytes that do not depend on the order the client sent it in."""
    return json.dumps(dict(context or {}), sort_keys=True, separators=(",", ":")).encode()


def material_id(key_id: str, version: int) -> str:
    """A stable 64-hex-digit name for one key material (KMS's ``KeyMaterialId``)."""
    return hashlib.sha256(f"seedbed-kms|{key_id}|{version}".encode()).hexdigest()


def seal(
    material: bytes, key_id: str, version: int, plaintext: bytes, context: Mapping[str, str] | None
) -> bytes:
    if len(key_id) != KEY_ID_LENGTH or not key_id.isascii():
        raise ValueError(f"not a KMS key id: {key_id!r}")
    header = _HEADER.pack(MAGIC, key_id.encode("ascii"), version, secrets.token_bytes(12))
    nonce = header[-12:]
    return header + AESGCM(material).encrypt(nonce, plaintext, header + canonical_context(context))


def read_header(blob: bytes) -> Header:
    """Which key and material a blob was sealed with; raises :class:`CiphertextError`."""
    if len(blob) < HEADER_SIZE + TAG_SIZE or not blob.startswith(MAGIC):
        raise CiphertextError("not a Seedbed KMS ciphertext")
    _, raw_id, version, _ = _HEADER.unpack_from(blob)
    if not 1 <= version <= MAX_MATERIAL_VERSION:
        raise CiphertextError("not a Seedbed KMS ciphertext")
    try:
        key_id = raw_id.decode("ascii")
    except UnicodeDecodeError:
        raise CiphertextError("not a Seedbed KMS ciphertext") from None
    return Header(key_id, version)


def open_sealed(material: bytes, blob: bytes, context: Mapping[str, str] | None) -> bytes:
    """The plaintext; raises :class:`CiphertextError` on any tampering or a different context."""
    header = blob[:HEADER_SIZE]
    try:
        return AESGCM(material).decrypt(
            header[-12:], blob[HEADER_SIZE:], header + canonical_context(context)
        )
    except InvalidTag:
        raise CiphertextError("the ciphertext does not authenticate") from None
