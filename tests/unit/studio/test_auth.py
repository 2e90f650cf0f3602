"""Signed login tokens, session cookies and CSRF tokens of the web UI."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from seedbed.server.context import Principal
from seedbed.studio import auth

KEY = b"k" * 32
ALICE = Principal(account_id="000000000000", arn="arn:aws:iam::000000000000:user/alice", user_id="AIDAALICE",
                  type="IAMUser", access_key_id="AKIAALICE", user_name="alice")


def grant(**changes: object) -> dict:
    values = auth.login_payload("nonce", "d-abc", "alice", "us-east-1", ALICE, time.time() + 300, 1800)
    values.update(changes)
    return values


def test_signatures_are_bound_to_their_purpose_and_content() -> None:
    token = auth.sign(KEY, auth.LOGIN, grant())
    assert auth.unsign(KEY, auth.LOGIN, token)["u"] == "alice"
    assert auth.unsign(KEY, auth.SESSION, token) is None  # a login token is not a cookie
    assert auth.unsign(b"other" * 8, auth.LOGIN, token) is None
    body, mac = token.split(".")
    tampered = auth.sign(KEY, auth.LOGIN, grant(u="mallory")).split(".")[0]
    assert auth.unsign(KEY, auth.LOGIN, f"{tampered}.{mac}") is None
    for junk in (None, "", "a", "a.b.c", f"{body}.", "!!!.???"):
        assert auth.unsign(KEY, auth.LOGIN, junk) is None


def test_session_round_trip_and_expiry() -> None:
    session = auth.new_session(grant())
    assert session.principal == ALICE and 1795 <= session.seconds_left <= 1800
    cookie = auth.session_cookie(KEY, session)
    back = auth.read_session(KEY, cookie, "d-abc")
    assert back is not None and back.principal == ALICE and back.session_id == session.session_id
    assert auth.read_session(KEY, cookie, "d-other") is None  # scoped to its domain
    assert auth.read_session(KEY, cookie, "d-abc", now=time.time() + 1801) is None
    assert auth.read_session(KEY, None, "d-abc") is None


def test_session_never_outlives_temporary_credentials() -> None:
    soon = datetime.now(UTC) + timedelta(seconds=60)
    role = Principal(account_id="000000000000", arn="arn:aws:sts::000000000000:assumed-role/r/s", user_id="AROA:s",
                     type="AssumedRole", access_key_id="ASIA1", role_arn="arn:aws:iam::000000000000:role/r",
                     session_expiration=soon)
    session = auth.new_session(grant(p=auth.login_payload("n", "d", "u", "r", role, 0, 0)["p"]))
    assert session.seconds_left <= 60
    assert auth.read_session(KEY, auth.session_cookie(KEY, session), "d-abc").principal == role


def test_csrf_tokens_belong_to_one_session() -> None:
    one, two = auth.new_session(grant()), auth.new_session(grant())
    token = auth.csrf_token(KEY, one)
    assert auth.csrf_ok(KEY, one, token)
    assert not auth.csrf_ok(KEY, two, token)
    assert not auth.csrf_ok(KEY, one, None) and not auth.csrf_ok(KEY, one, "")


def test_cookie_header_parsing() -> None:
    assert auth.cookies('a=1; seedbed_studio="x.y"; a=2') == {"a": "1", "seedbed_studio": "x.y"}
    assert auth.cookies(None) == {}
