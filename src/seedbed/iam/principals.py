"""The policies that apply to a principal, loaded from IAM's store, compiled, and cached.

A user's policies are its inline and attached policies plus those of its groups; a role
session's are the role's, limited by the session policies passed to AssumeRole. Compiled sets are
cached per entity and dropped when IAM changes anything in this process (:meth:`invalidate`),
and after ``TTL_SECONDS`` in any case, so replicas sharing a database converge quickly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection

from seedbed.iam import managed
from seedbed.iam.document import MalformedPolicyDocument, PolicyKind, parse
from seedbed.iam.evaluator import Caller, NamedPolicy, PolicySet, PrincipalKind
from seedbed.server.context import Principal
from seedbed.services.iam import store
from seedbed.services.sts import store as sts_store
from seedbed.state.db import Database

log = logging.getLogger(__name__)

TTL_SECONDS = 2.0


@dataclass(frozen=True)
class EntityPolicies:
    """A user's or role's compiled policies and tags."""

    identity: tuple[NamedPolicy, ...] = ()
    boundary: NamedPolicy | None = None
    tags: dict[str, str] = field(default_factory=dict)
    exists: bool = True
    arn: str | None = None
    #: A role's trust policy, compiled (None for users, or when it does not parse).
    trust: NamedPolicy | None = None


@dataclass(frozen=True)
class PrincipalInfo:
    caller: Caller
    policies: PolicySet
    #: aws:PrincipalTag values, keys lower-cased (session tags override the role's).
    tags: dict[str, str]


def caller_for(principal: Principal | None) -> Caller:
    from seedbed.iam.evaluator import ANONYMOUS

    if principal is None:
        return ANONYMOUS
    if principal.type == "Root":
        kind = PrincipalKind.ROOT
    elif principal.type == "AssumedRole":
        kind = PrincipalKind.ROLE_SESSION
    else:
        kind = PrincipalKind.USER
    return Caller(kind, principal.arn, principal.account_id, principal.role_arn, principal.user_id)


def compile_named(text: str, name: str, arn: str | None, kind: PolicyKind = PolicyKind.IDENTITY) -> NamedPolicy | None:
    """A stored document, compiled; None (and a warning) if it no longer parses."""
    try:
        return NamedPolicy(parse(text, kind), name, arn)
    except MalformedPolicyDocument as exc:
        log.warning("ignoring policy %s that does not parse: %s", name, exc.message)
        return None


def managed_document(conn: Connection, account_id: str, arn: str) -> str | None:
    """The default version's document of an AWS managed or customer managed policy."""
    if managed.is_aws_managed(arn):
        found = managed.get(arn)
        return found.document if found else None
    parts = arn.split(":")
    if len(parts) < 6:
        return None
    found_customer = store.default_document(conn, parts[4], arn)
    return found_customer[1] if found_customer else None


def _entity_policies(conn: Connection, account_id: str, entity_type: str, name: str) -> list[NamedPolicy]:
    out = []
    for policy_name, text in store.list_inline(conn, account_id, entity_type, name):
        named = compile_named(text, f"inline policy {policy_name} of {entity_type} {name}", None)
        if named:
            out.append(named)
    for arn in store.attached(conn, account_id, entity_type, name):
        text = managed_document(conn, account_id, arn)
        if text is not None:
            named = compile_named(text, arn, arn)
            if named:
                out.append(named)
    return out


def _boundary(conn: Connection, account_id: str, arn: str | None) -> NamedPolicy | None:
    if not arn:
        return None
    text = managed_document(conn, account_id, arn)
    if text is None:  # a boundary whose policy is gone allows nothing
        return NamedPolicy(parse('{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":"*","Resource":"*"}]}'), arn, arn)
    return compile_named(text, arn, arn, PolicyKind.BOUNDARY)


def load_user(conn: Connection, account_id: str, user_name: str) -> EntityPolicies:
    user = store.get_user(conn, account_id, user_name)
    if user is None:
        return EntityPolicies(exists=False)
    identity = _entity_policies(conn, account_id, "user", user_name)
    for group in store.groups_for_user(conn, account_id, user_name):
        identity += _entity_policies(conn, account_id, "group", group.group_name)
    return EntityPolicies(
        tuple(identity),
        _boundary(conn, account_id, user.permissions_boundary),
        store.get_tags(conn, account_id, "user", user_name),
        arn=user.arn,
    )


def load_role(conn: Connection, account_id: str, role_name: str) -> EntityPolicies:
    role = store.get_role(conn, account_id, role_name)
    if role is None:
        return EntityPolicies(exists=False)
    return EntityPolicies(
        tuple(_entity_policies(conn, account_id, "role", role_name)),
        _boundary(conn, account_id, role.permissions_boundary),
        store.get_tags(conn, account_id, "role", role_name),
        arn=role.arn,
        trust=compile_named(role.assume_role_policy, f"trust policy of {role.arn}", None, PolicyKind.TRUST),
    )


class PolicyCache:
    """Compiled policies per user, role and session, with invalidation and a short TTL."""

    def __init__(self, db: Database, ttl: float = TTL_SECONDS) -> None:
        self._db = db
        self._ttl = ttl
        self._cache: dict[tuple[str, ...], tuple[float, object]] = {}
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Drop everything: IAM changed something (this process's view is exact at once)."""
        with self._lock:
            self._cache.clear()

    def _cached(self, key: tuple[str, ...], load: Callable[[], object]) -> object:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._cache) > 20_000:
                self._cache.clear()
            self._cache[key] = (now + self._ttl, value)
        return value

    def user(self, account_id: str, user_name: str) -> EntityPolicies:
        def load() -> EntityPolicies:
            with self._db.connect() as conn:
                return load_user(conn, account_id, user_name)

        return self._cached(("user", account_id, user_name), load)  # type: ignore[return-value]

    def role(self, account_id: str, role_name: str) -> EntityPolicies:
        def load() -> EntityPolicies:
            with self._db.connect() as conn:
                return load_role(conn, account_id, role_name)

        return self._cached(("role", account_id, role_name), load)  # type: ignore[return-value]

    def session(self, principal: Principal) -> tuple[NamedPolicy, ...] | None:
        """The session policies of an STS session (inline and managed), or None when it has none."""

        def load() -> tuple[NamedPolicy, ...] | None:
            policy_arns: list[str] = []
            if principal.access_key_id.startswith("ASIA"):
                with self._db.connect() as conn:
                    session = sts_store.get(conn, principal.access_key_id)
                    policy_arns = session.policy_arns if session else []
                    documents = [(arn, managed_document(conn, principal.account_id, arn)) for arn in policy_arns]
            else:
                documents = []
            found: list[NamedPolicy] = []
            if principal.session_policy:
                named = compile_named(principal.session_policy, "session policy", None, PolicyKind.SESSION)
                if named:
                    found.append(named)
            for arn, text in documents:
                if text is not None:
                    named = compile_named(text, arn, arn, PolicyKind.SESSION)
                    if named:
                        found.append(named)
            if not principal.session_policy and not policy_arns:
                return None
            return tuple(found)

        return self._cached(("session", principal.access_key_id), load)  # type: ignore[return-value]

    def principal(self, principal: Principal) -> PrincipalInfo:
        """Everything the evaluator needs about ``principal`` (cached like its parts)."""
        key = ("principal", principal.access_key_id, principal.arn)
        hit = self._cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]  # type: ignore[return-value]
        return self._cached(key, lambda: self._principal(principal))  # type: ignore[return-value]

    def _principal(self, principal: Principal) -> PrincipalInfo:
        caller = caller_for(principal)
        if caller.is_root:
            return PrincipalInfo(caller, PolicySet(), {})
        if caller.kind is PrincipalKind.ROLE_SESSION and principal.role_arn:
            role_name = principal.role_arn.rsplit("/", 1)[-1]
            role_account = principal.role_arn.split(":")[4]
            entity = self.role(role_account, role_name)
            session = self.session(principal)
            tags = {k.lower(): v for k, v in entity.tags.items()}
            tags.update({k.lower(): v for k, v in principal.session_tags.items()})
            return PrincipalInfo(caller, PolicySet(entity.identity, entity.boundary, session), tags)
        # A GetSessionToken session carries the user's ARN but no user name.
        user_name = principal.user_name or principal.arn.rsplit("/", 1)[-1]
        entity = self.user(principal.account_id, user_name)
        return PrincipalInfo(
            caller, PolicySet(entity.identity, entity.boundary, None), {k.lower(): v for k, v in entity.tags.items()}
        )
