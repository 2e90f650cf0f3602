"""The request context a policy's conditions see: global keys, request keys, resource keys.

Values are computed only when a condition (or a policy variable) asks for them, because most
requests meet no condition at all and some keys cost a lookup (resource tags, object tags).
Keys are lower-cased; every value is a tuple of strings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from seedbed.iam.evaluator import Caller, PrincipalKind
from seedbed.server.context import INTERNAL_SOURCE

if TYPE_CHECKING:
    from seedbed.server.context import RequestContext

Values = tuple[str, ...]
_PRINCIPAL_TYPES = {
    PrincipalKind.ROOT: "Account",
    PrincipalKind.USER: "User",
    PrincipalKind.ROLE_SESSION: "AssumedRole",
}
_UNSET = object()
#: Keys whose value changes by itself: a decision that read one is never reused.
VOLATILE = frozenset({"aws:currenttime", "aws:epochtime", "aws:tokenissuetime"})


class ConditionContext:
    """Callable ``key -> values | None`` for one action on one resource."""

    __slots__ = (
        "_caller",
        "_ctx",
        "_owner",
        "_principal_tags",
        "_request_keys",
        "_resource",
        "_resource_keys",
        "_values",
        "seen",
    )

    def __init__(
        self,
        ctx: RequestContext | None,
        caller: Caller,
        principal_tags: dict[str, str],
        resource: str,
        owner_account: str,
        request_keys: dict[str, Values],
        resource_keys: Callable[[str], Values | None] | None = None,
        request_lookup: Callable[[str], Values | None] | None = None,
    ) -> None:
        self._values: dict[str, Values | None] = dict(request_keys) if request_keys else {}
        self._request_keys = request_lookup
        self._ctx = ctx
        self._caller = caller
        self._principal_tags = principal_tags
        self._resource = resource
        self._owner = owner_account
        self._resource_keys = resource_keys
        #: The keys conditions and policy variables asked for, with what they got: a decision
        #: depends on the policies, the action, the resource and these values only.
        self.seen: dict[str, Values | None] = {}

    def set(self, key: str, value: Values | None) -> None:
        self._values[key.lower()] = value

    def __call__(self, key: str) -> Values | None:
        found = self._values.get(key, _UNSET)
        if found is _UNSET:
            found = self._compute(key)
            self._values[key] = found
        self.seen[key] = found  # type: ignore[assignment]
        return found  # type: ignore[return-value]

    def _compute(self, key: str) -> Values | None:
        if self._request_keys is not None:
            found = self._request_keys(key)
            if found is not None:
                return found
        compute = _GLOBAL.get(key)
        if compute is not None:
            return compute(self)
        if key.startswith("aws:principaltag/"):
            value = self._principal_tags.get(key[len("aws:principaltag/") :])
            return (value,) if value is not None else None
        # Anything else may be a key of the resource (aws:ResourceTag/..., s3:ExistingObjectTag/...,
        # kms:ViaService...): its service answers, when it is asked at all.
        if key.startswith(("aws:requesttag/", "s3:requestobjecttag/")) or key.startswith("aws:"):
            if not key.startswith("aws:resourcetag/"):
                return None
        if self._resource_keys is not None and self._resource and self._resource != "*":
            return self._resource_keys(key)
        return None

    # --- global keys ------------------------------------------------------------------------

    @property
    def internal(self) -> bool:
        return self._ctx is not None and self._ctx.source_ip == INTERNAL_SOURCE

    def _header(self, name: str) -> str | None:
        request = self._ctx.request if self._ctx is not None else None
        return request.headers.get(name) if request is not None else None


def _one(value: str | None) -> Values | None:
    return (value,) if value else None


def _principal_arn(c: ConditionContext) -> Values | None:
    caller = c._caller
    if caller.kind is PrincipalKind.ANONYMOUS:
        return None
    return (caller.role_arn or caller.arn,)


def _username(c: ConditionContext) -> Values | None:
    caller = c._caller
    if caller.kind is not PrincipalKind.USER:
        return None
    return (caller.arn.rsplit("/", 1)[-1],)


def _source_ip(c: ConditionContext) -> Values | None:
    if c._ctx is None or c.internal:
        return None
    return _one(c._ctx.source_ip)


def _secure(c: ConditionContext) -> Values:
    if c.internal:
        return ("true",)
    proto = (c._header("x-forwarded-proto") or "").lower()
    return ("true",) if proto == "https" else ("false",)


def _now_iso(_: ConditionContext) -> Values:
    return (datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),)


def _auth_type(c: ConditionContext) -> Values | None:
    request = c._ctx.request if c._ctx is not None else None
    if request is None:
        return None
    if "authorization" in request.headers:
        return ("REST-HEADER",)
    if any(k == "X-Amz-Signature" for k, _ in request.query):
        return ("REST-QUERY-STRING",)
    return None


_GLOBAL: dict[str, Callable[[ConditionContext], Values | None]] = {
    "aws:principalarn": _principal_arn,
    "aws:principalaccount": lambda c: _one(c._caller.account),
    "aws:principaltype": lambda c: _one(_PRINCIPAL_TYPES.get(c._caller.kind)),
    "aws:userid": lambda c: _one(c._caller.user_id),
    "aws:username": _username,
    "aws:principalisawsservice": lambda c: ("true",) if c._caller.kind is PrincipalKind.SERVICE else ("false",),
    "aws:principalservicename": lambda c: _one(c._caller.arn) if c._caller.kind is PrincipalKind.SERVICE else None,
    "aws:sourceip": _source_ip,
    "aws:securetransport": _secure,
    "aws:currenttime": _now_iso,
    "aws:epochtime": lambda c: (str(int(time.time())),),
    "aws:requestedregion": lambda c: _one(c._ctx.region) if c._ctx is not None else None,
    "aws:useragent": lambda c: _one(c._ctx.user_agent) if c._ctx is not None else None,
    "aws:viaawsservice": lambda c: ("true",) if c.internal else ("false",),
    # The service making the request for the principal (one hop: Seedbed does not chain them).
    "aws:calledvia": lambda c: _one(c._ctx.invoked_by) if c._ctx is not None else None,
    "aws:calledviafirst": lambda c: _one(c._ctx.invoked_by) if c._ctx is not None else None,
    "aws:calledvialast": lambda c: _one(c._ctx.invoked_by) if c._ctx is not None else None,
    "aws:multifactorauthpresent": lambda c: ("false",)
    if c._caller.kind is PrincipalKind.ROLE_SESSION
    else None,
    "aws:resourceaccount": lambda c: _one(c._owner),
    "s3:resourceaccount": lambda c: _one(c._owner),
    "s3:authtype": _auth_type,
    "s3:signatureversion": lambda c: ("AWS4-HMAC-SHA256",) if _auth_type(c) else None,
    "s3:x-amz-content-sha256": lambda c: _one(c._header("x-amz-content-sha256")),
}
