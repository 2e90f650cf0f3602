"""Identifiers in the formats AWS uses, from a cryptographic random source."""

from __future__ import annotations

import random
import secrets
import string
import uuid

_UPPER_ALNUM = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def access_key_id(temporary: bool = False) -> str:
    """``AKIA...`` for long-term keys, ``ASIA...`` for STS session keys (20 characters)."""
    return ("ASIA" if temporary else "AKIA") + _random(_UPPER_ALNUM, 16)


def secret_access_key() -> str:
    return _random(_SECRET_ALPHABET, 40)


def session_token() -> str:
    return "FwoGZXIvYXdzE" + _random(string.ascii_letters + string.digits, 343)


def unique_id(prefix: str) -> str:
    """IAM unique ids: ``AIDA`` users, ``AROA`` roles, ``ANPA`` policies, ``AGPA`` groups."""
    return prefix + _random(_UPPER_ALNUM, 17)


def request_id() -> str:
    """A version-4 UUID for requests and events. Not a secret, so the fast PRNG is fine: on some
    machines ``os.urandom`` costs tens of microseconds, which shows on every request."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def hex_id(length: int = 12) -> str:
    """Short lower-case hex ids, as in SageMaker project ids (``p-...``) or stack ids."""
    return secrets.token_hex((length + 1) // 2)[:length]


def alnum_lower(length: int) -> str:
    return _random(string.ascii_lowercase + string.digits, length)
