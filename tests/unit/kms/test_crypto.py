"""The KMS ciphertext envelope and key-material wrapping, without a server."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from seedbed.services.kms import crypto, envelope

KEY_ID = str(uuid.uuid4())


def test_seal_round_trip_names_its_key() -> None:
    material = os.urandom(32)
    blob = crypto.seal(material, KEY_ID, 3, b"payload", {"b": "2", "a": "1"})
    header = crypto.read_header(blob)
    assert header == crypto.Header(KEY_ID, 3)
    assert crypto.open_sealed(material, blob, {"a": "1", "b": "2"}) == b"payload"
    assert len(blob) == crypto.HEADER_SIZE + len(b"payload") + crypto.TAG_SIZE


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b[:-1] + bytes([b[-1] ^ 1]),  # ciphertext
        lambda b: b[:10] + bytes([b[10] ^ 1]) + b[11:],  # key id in the header
        lambda b: b[:42] + bytes([b[42] ^ 1]) + b[43:],  # material version in the header
    ],
)
def test_any_change_fails_authentication(change) -> None:  # type: ignore[no-untyped-def]
    material = os.urandom(32)
    blob = crypto.seal(material, KEY_ID, 1, b"payload", None)
    with pytest.raises(crypto.CiphertextError):
        crypto.open_sealed(material, change(blob), None)


def test_context_and_material_must_match() -> None:
    material = os.urandom(32)
    blob = crypto.seal(material, KEY_ID, 1, b"x", {"k": "v"})
    for context in (None, {}, {"k": "w"}, {"k": "v", "extra": ""}):
        with pytest.raises(crypto.CiphertextError):
            crypto.open_sealed(material, blob, context)
    with pytest.raises(crypto.CiphertextError):
        crypto.open_sealed(os.urandom(32), blob, {"k": "v"})


@pytest.mark.parametrize("blob", [b"", b"SBK\x01", b"x" * 100, b"SBK\x01" + b"\xff" * 80])
def test_foreign_bytes_are_not_ciphertexts(blob: bytes) -> None:
    with pytest.raises(crypto.CiphertextError):
        crypto.read_header(blob)


def test_material_wrapping_is_bound_to_key_and_version() -> None:
    wrapper = crypto.MaterialWrapper(os.urandom(32))
    material, wrapped = wrapper.new_material(KEY_ID, 1)
    assert material not in wrapped
    assert wrapper.unwrap(wrapped, KEY_ID, 1) == material
    for key_id, version in ((KEY_ID, 2), (str(uuid.uuid4()), 1)):
        with pytest.raises(crypto.CiphertextError):
            wrapper.unwrap(wrapped, key_id, version)
    with pytest.raises(crypto.CiphertextError):
        crypto.MaterialWrapper(os.urandom(32)).unwrap(wrapped, KEY_ID, 1)


def test_master_key_file_is_made_once_and_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(crypto.MASTER_KEY_ENV, raising=False)
    first = crypto.load_master_key(tmp_path)
    assert crypto.load_master_key(tmp_path) == first and len(first) == 32
    path = tmp_path / crypto.MASTER_KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [path]


def test_master_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    key = os.urandom(32)
    monkeypatch.setenv(crypto.MASTER_KEY_ENV, base64.b64encode(key).decode())
    assert crypto.load_master_key(tmp_path) == key
    assert not (tmp_path / crypto.MASTER_KEY_FILE).exists()
    monkeypatch.setenv(crypto.MASTER_KEY_ENV, base64.b64encode(b"short").decode())
    with pytest.raises(ValueError):
        crypto.load_master_key(tmp_path)


def test_envelope_seal_binds_aad() -> None:
    data_key = os.urandom(32)
    sealed = envelope.seal(data_key, b"value", b"arn|v1")
    assert envelope.open_sealed(data_key, sealed, b"arn|v1") == b"value"
    with pytest.raises(envelope.SealedDataError):
        envelope.open_sealed(data_key, sealed, b"arn|v2")
    with pytest.raises(envelope.SealedDataError):
        envelope.open_sealed(data_key, b"short", b"")
