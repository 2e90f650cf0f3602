"""Bucket policies, read just far enough to decide anonymous and cross-account access.

Until the IAM policy engine lands, a caller from the bucket's own account is allowed, and anyone
else (including an anonymous caller) needs a bucket policy statement that allows the action on the
resource for them (``"Principal": "*"``, their account, or their ARN). Statements with conditions
are skipped rather than half-evaluated. Block Public Access works as on S3: new buckets block
public policies, and ``RestrictPublicBuckets`` makes an existing public policy grant nothing to
outsiders.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from seedbed.server.context import Principal
from seedbed.services.s3.errors import error

DEFAULT_PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def _malformed(message: str) -> Exception:
    return error("MalformedPolicy", message)


def parse(text: str) -> dict[str, Any]:
    """A policy document as S3 accepts it (structure only), or MalformedPolicy."""
    if not text.lstrip().startswith("{"):
        raise _malformed("Policies must be valid JSON and the first byte must be '{'")
    try:
        document = json.loads(text)
    except ValueError:
        raise _malformed("Policies must be valid JSON and the first byte must be '{'") from None
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise _malformed("Missing required field Statement")
    for statement in statements:
        if not isinstance(statement, dict):
            raise _malformed("Statement is not an object")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise _malformed("Invalid effect: " + str(statement.get("Effect")))
        if "Action" not in statement and "NotAction" not in statement:
            raise _malformed("Missing required field Action")
        if "Principal" not in statement and "NotPrincipal" not in statement:
            raise _malformed("Missing required field Principal")
        if "Resource" not in statement and "NotResource" not in statement:
            raise _malformed("Missing required field Resource")
    return document


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=2048)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    text = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{text}$", re.IGNORECASE if ignore_case else 0)


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return _as_list(document.get("Statement"))


def _principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        return [str(p) for p in _as_list(principal.get("AWS"))]
    return []


def _principal_matches(patterns: list[str], principal: Principal | None) -> bool:
    for pattern in patterns:
        if pattern == "*":
            return True
        if principal is None:
            continue
        if pattern in (principal.account_id, f"arn:aws:iam::{principal.account_id}:root"):
            return True
        if pattern in (principal.arn, principal.role_arn):
            return True
    return False


def is_public(document: dict[str, Any] | None) -> bool:
    """Whether an unconditional Allow statement names every principal."""
    if not document:
        return False
    return any(
        s.get("Effect") == "Allow" and "*" in _principals(s) and not s.get("Condition")
        for s in _statements(document)
    )


def evaluate(
    document: dict[str, Any] | None, principal: Principal | None, action: str, resource: str, ignore_public: bool
) -> str | None:
    """``"Deny"``, ``"Allow"`` or None (no statement applies), as the policy decides alone."""
    if not document:
        return None
    decision: str | None = None
    for statement in _statements(document):
        if statement.get("Condition") or "NotPrincipal" in statement:
            continue
        principals = _principals(statement)
        if ignore_public and "*" in principals:
            continue
        if not _principal_matches(principals, principal):
            continue
        if "NotAction" in statement:
            if any(_wildcard(a, True).match(action) for a in _as_list(statement["NotAction"])):
                continue
        elif not any(_wildcard(a, True).match(action) for a in _as_list(statement.get("Action"))):
            continue
        if "NotResource" in statement:
            if any(_wildcard(r, False).match(resource) for r in _as_list(statement["NotResource"])):
                continue
        elif not any(_wildcard(r, False).match(resource) for r in _as_list(statement.get("Resource"))):
            continue
        if statement["Effect"] == "Deny":
            return "Deny"
        decision = "Allow"
    return decision
