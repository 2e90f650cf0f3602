"""Who is pushing or pulling: git's HTTP Basic credentials checked against AWS access keys, and
the IAM decision on ``codecommit:GitPull`` / ``codecommit:GitPush`` (or ``UseConnection``).

Two password forms are accepted with the access key id as the user name:

* the secret access key itself (``seedbed git-credential`` prints this pair; for temporary
  credentials the user name is ``<access key id>%<session token>``, as AWS's helper sends it);
* what ``aws codecommit credential-helper`` sends: ``<YYYYMMDDTHHMMSS>Z<SigV4 signature>`` over
  ``GIT\\n<repository path>\\n\\nhost:<host>\\n\\nhost\\n`` for service ``codecommit``, valid for 15
  minutes, so the AWS CLI's own helper works unchanged (with ``--ignore-host-check`` and
  ``credential.useHttpPath true``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from seedbed.errors import AccessDenied, ServiceError
from seedbed.server.auth.sigv4 import signing_key
from seedbed.server.context import Principal, RequestContext
from seedbed.state import ids

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

_SIGNED = re.compile(r"^(\d{8}T\d{6})Z([0-9a-f]{64})$")
SKEW = timedelta(minutes=15)


class Unauthenticated(Exception):
    """No credentials, or credentials that do not check out: answer 401 so git asks again."""


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        text = base64.b64decode(header[6:].strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    user, sep, password = text.partition(":")
    return (user, password) if sep else None


def codecommit_signature(secret: str, stamp: str, region: str, host: str, path: str) -> str:
    """The signature ``aws codecommit credential-helper`` computes (see the module docstring)."""
    canonical = f"GIT\n{path}\n\nhost:{host}\n\nhost\n"
    scope = f"{stamp[:8]}/{region}/codecommit/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = signing_key(secret, stamp[:8], region, "codecommit")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def authenticate(
    backend: Backend,
    header: str | None,
    host: str,
    repo_paths: list[str],
    regions: list[str],
) -> Principal:
    """The principal behind git's ``Authorization`` header; Unauthenticated otherwise."""
    found = basic_credentials(header)
    if found is None:
        raise Unauthenticated("credentials required")
    user, password = found
    key_id, _, token = user.partition("%")
    if ":" in password and not token:  # "<secret>:<session token>" is accepted too
        password, _, token = password.partition(":")
    cred = backend.credentials.resolve(key_id)
    if cred is None or not cred.active:
        raise Unauthenticated("unknown access key")
    now = datetime.now(UTC)
    if cred.session_token is not None:
        if not hmac.compare_digest(token.encode(), cred.session_token.encode()):
            raise Unauthenticated("bad session token")
        if cred.expiration is not None and cred.expiration <= now:
            raise Unauthenticated("expired session")
    if hmac.compare_digest(password.encode(), cred.secret_access_key.encode()):
        return cred.principal
    match = _SIGNED.match(password)
    if match is None:
        raise Unauthenticated("bad secret")
    stamp, signature = match.groups()
    try:
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise Unauthenticated("bad timestamp") from None
    if abs(now - when) > SKEW:
        raise Unauthenticated("signature expired")
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    for region in dict.fromkeys(regions):
        for path in repo_paths:
            expected = codecommit_signature(cred.secret_access_key, stamp, region, hostname, path)
            if hmac.compare_digest(expected, signature):
                return cred.principal
    raise Unauthenticated("signature does not match")


def authorize(
    backend: Backend,
    principal: Principal,
    action: str,
    resource: str,
    region: str,
    source_ip: str,
    user_agent: str,
    keys: dict[str, tuple[str, ...]] | None = None,
) -> RequestContext:
    """Ask IAM whether ``principal`` may do ``action`` (``codecommit:GitPush``...) on
    ``resource``; raises AccessDenied (enforce mode). Returns the context for the audit trail."""
    service, _, operation = action.partition(":")
    ctx = RequestContext(
        request_id=ids.request_id(), service=service, operation=operation, region=region,
        account_id=principal.account_id, principal=principal, source_ip=source_ip,
        user_agent=user_agent,
    )
    ctx.resources.append(resource)
    authorizer = backend.authorizer
    if authorizer.mode == "off":
        return ctx
    # The authorizer's table-driven hook knows API operations only; git actions have no
    # operation, so ask for the decision on the action and the repository ARN directly.
    authorizer._enforce(ctx, authorizer._info(principal), action, resource, dict(keys or {}))
    return ctx


def record(backend: Backend, ctx: RequestContext, source: str, params: dict, error: ServiceError | None) -> None:
    """A CloudTrail-style record of the git access (CodeCommit records GitPull and GitPush)."""
    backend.audit.record(ctx, source, params, error.code if error else None, error.message if error else None)


__all__ = ["AccessDenied", "Unauthenticated", "authenticate", "authorize", "codecommit_signature"]
