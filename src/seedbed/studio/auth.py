"""Signed values for the web UI: login tokens, session cookies and CSRF tokens.

Everything is an HMAC-SHA256 over a compact JSON payload, keyed by a secret derived from the data
dir's admin key (so every replica that shares the data dir and database accepts the same cookies,
and a restart keeps people signed in). A *purpose* is mixed into each MAC, so a login token can
never be replayed as a session cookie or the other way round.

- A **login token** (in the ``CreatePresignedDomainUrl`` URL) carries the domain, the user
  profile, the region, the expiry and the principal that asked for the URL. Single use is enforced
  by SageMaker's presigned-URL row (:func:`seedbed.services.sagemaker.domains.redeem_presigned`).
- A **session cookie** carries the same identity, a random session id and its own expiry.
- The **CSRF token** of a session is a MAC of the session id: forms carry it, every POST is
  checked against it.

This module imports nothing heavy: the SageMaker provider uses it to sign login URLs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from seedbed.cloudformation.engine import principal_from_json, principal_to_json
from seedbed.server.context import Principal

LOGIN = "studio-login"
SESSION = "studio-session"
CSRF = "studio-csrf"
COOKIE = "seedbed_studio"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def secret(backend: Any) -> bytes:
    """The UI's signing key: derived from the admin key, never stored or sent anywhere."""
    return hmac.new(backend.admin_key.secret_access_key.encode(), b"seedbed-studio-v1", hashlib.sha256).digest()


def _mac(key: bytes, purpose: str, body: str) -> str:
    return _b64(hmac.new(key, f"{purpose}.{body}".encode(), hashlib.sha256).digest())


def sign(key: bytes, purpose: str, payload: dict[str, Any]) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(key, purpose, body)}"


def unsign(key: bytes, purpose: str, token: str | None) -> dict[str, Any] | None:
    """The payload of a token signed for ``purpose``, or None if it is malformed or forged."""
    if not token or token.count(".") != 1:
        return None
    body, mac = token.split(".")
    if not hmac.compare_digest(mac, _mac(key, purpose, body)):
        return None
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


@dataclass(frozen=True)
class Session:
    """A signed-in user of one domain: every call the UI makes runs as ``principal``."""

    session_id: str
    domain_id: str
    user_profile: str
    region: str
    principal: Principal
    expires: float

    @property
    def seconds_left(self) -> int:
        return max(0, int(self.expires - time.time()))


def login_payload(nonce: str, domain_id: str, user_profile: str, region: str, principal: Principal | None,
                  expires: float, session_seconds: int) -> dict[str, Any]:
    return {"n": nonce, "d": domain_id, "u": user_profile, "r": region, "p": principal_to_json(principal),
            "x": int(expires), "s": int(session_seconds)}


def new_session(grant: dict[str, Any]) -> Session:
    """A session from a redeemed login grant (a :func:`login_payload`): it lasts the
    SessionExpirationDurationInSeconds asked for, and never outlives the principal's own
    temporary credentials."""
    principal = principal_from_json(grant.get("p"))
    if principal is None:
        raise ValueError("a login grant without a principal")
    expires = time.time() + int(grant.get("s") or 43200)
    if principal.session_expiration is not None:
        expires = min(expires, principal.session_expiration.timestamp())
    return Session(secrets.token_urlsafe(18), grant["d"], grant["u"], grant["r"], principal, expires)


def session_cookie(key: bytes, session: Session) -> str:
    return sign(key, SESSION, {
        "i": session.session_id, "d": session.domain_id, "u": session.user_profile, "r": session.region,
        "p": principal_to_json(session.principal), "x": int(session.expires),
    })


def read_session(key: bytes, value: str | None, domain_id: str, now: float | None = None) -> Session | None:
    """The session a cookie holds for ``domain_id``; None when absent, forged, for another
    domain, or expired."""
    payload = unsign(key, SESSION, value)
    if payload is None or payload.get("d") != domain_id:
        return None
    if float(payload.get("x") or 0) <= (time.time() if now is None else now):
        return None
    try:
        principal = principal_from_json(payload.get("p"))
    except (TypeError, ValueError):
        return None
    if principal is None:
        return None
    return Session(str(payload["i"]), domain_id, str(payload["u"]), str(payload["r"]), principal, float(payload["x"]))


def csrf_token(key: bytes, session: Session) -> str:
    return _mac(key, CSRF, session.session_id)


def csrf_ok(key: bytes, session: Session, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(str(given), csrf_token(key, session))


def cookies(header: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in out:
            out[name] = value.strip().strip('"')
    return out
