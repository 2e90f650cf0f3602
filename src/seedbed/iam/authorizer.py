"""Enforcement: the hook that runs before every provider operation, and ``iam:PassRole``.

``authorize`` looks the operation up in its service's action table, renders the resource ARNs and
request condition keys from the parameters, finds the caller's policies (cached) and the
resource's policy (from the service that owns it), and asks the evaluator. In ``enforce`` mode a
denial raises AccessDenied with AWS's message; in ``audit`` mode it is only recorded; ``off``
skips everything. Each decision is recorded under the request id (``seedbed iam explain``).

The root user of an account is never limited by identity-based policies, so its requests cost a
dict lookup unless the resource has a resource-based policy that might deny it explicitly.
Seedbed's own calls with no principal (``dispatch.invoke`` with ``principal=None``) are trusted.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from seedbed.errors import AccessDenied
from seedbed.iam import actions, evaluator, resources, sources  # noqa: F401  (sources registers S3)
from seedbed.iam.context_keys import INTERNAL_SOURCE, VOLATILE, ConditionContext, Values
from seedbed.iam.decisions import DecisionLog
from seedbed.iam.document import MalformedPolicyDocument, PolicyKind, parse
from seedbed.iam.evaluator import Caller, Decision, NamedPolicy, Outcome, PrincipalKind
from seedbed.iam.principals import PolicyCache, PrincipalInfo
from seedbed.services.iam import store

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import Principal, RequestContext

log = logging.getLogger(__name__)

#: sts actions evaluated against the role's trust policy.
TRUST_ACTIONS = frozenset(
    {"sts:assumerole", "sts:tagsession", "sts:setsourceidentity", "sts:setcontext"}
)
#: S3 lets the bucket owner's root user manage the bucket policy even when it denies them.
ROOT_ALWAYS = frozenset({"s3:getbucketpolicy", "s3:putbucketpolicy", "s3:deletebucketpolicy"})
_QUERY_PROTOCOLS = frozenset({"query", "ec2", "rest-xml"})
#: How long a condition-free decision is reused (IAM writes in this process clear it at once).
CACHE_SECONDS = 2.0


def access_denied(service: str, message: str) -> AccessDenied:
    """AccessDenied as the service's protocol spells it."""
    from seedbed.protocol.models import service_model

    try:
        protocol = service_model(service).protocol
    except Exception:
        protocol = "json"
    code = "AccessDenied" if protocol in _QUERY_PROTOCOLS else "AccessDeniedException"
    return AccessDenied(message, code=code)


class Authorizer:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.mode = backend.settings.iam_mode
        self.policies = PolicyCache(backend.db)
        self.decisions = DecisionLog(backend.db)
        self._paths: dict[tuple[str, str, str], str | None] = {}
        self._seq = itertools.count(int(time.time() * 1000) % 1_000_000_000)
        #: Decisions without a resource policy: (key) -> (expires, decision, keys read and values).
        self._cache: dict[tuple[str, str, str, str], tuple[float, Decision, tuple[tuple[str, Values | None], ...]]] = {}
        self._sources: dict[str, bool] = {}
        self._envs: dict[tuple[str, str], actions.Env] = {}

    def close(self) -> None:
        self.decisions.close()

    def invalidate(self) -> None:
        """IAM changed: forget compiled policies, decisions and entity paths (this process, at once)."""
        self.policies.invalidate()
        self._paths.clear()
        self._cache.clear()

    # --- the request hook -------------------------------------------------------------------

    def authorize(self, ctx: RequestContext, operation: str, params: Mapping[str, Any]) -> None:
        """Raise AccessDenied unless the caller may perform ``operation`` with ``params``."""
        if self.mode == "off" or (ctx.principal is None and ctx.source_ip == INTERNAL_SOURCE):
            return
        resources.notify(ctx.service, operation, params)
        checks = actions.checks(ctx.service, operation)
        if not checks:
            return
        params = resources.resolve_request(ctx.service, operation, params)
        info = self._info(ctx.principal)
        env = self._env(ctx.region, info.caller.account)
        for check in checks:
            if not check.applies(params):
                continue
            lookup = _request_lookup(check, params) if check.keys else None
            for template in check.resources:
                for resource in actions.render(template, params, env):
                    self._enforce(ctx, info, check.action, resource, _NO_KEYS, lookup)

    def check_pass_role(
        self,
        ctx: RequestContext,
        role_arn: str,
        service_principal: str,
        associated_resource_arn: str | None = None,
    ) -> None:
        """``iam:PassRole`` for handing ``role_arn`` to ``service_principal`` (e.g.
        ``sagemaker.amazonaws.com``): call it wherever a request names a role for a service."""
        if self.mode == "off" or (ctx.principal is None and ctx.source_ip == INTERNAL_SOURCE):
            return
        keys: dict[str, Values] = {"iam:passedtoservice": (service_principal,)}
        if associated_resource_arn:
            keys["iam:associatedresourcearn"] = (associated_resource_arn,)
        self._enforce(ctx, self._info(ctx.principal), "iam:PassRole", role_arn, keys)

    def service_can_assume(
        self,
        role_arn: str,
        service_principal: str,
        source_account: str | None = None,
        source_arn: str | None = None,
    ) -> Decision:
        """Whether the role's trust policy lets ``service_principal`` assume it (a service acting
        with a role it was passed: a SageMaker job's execution role, CloudFormation's role)."""
        caller = Caller(PrincipalKind.SERVICE, service_principal, "")
        trust = self._trust_policy(role_arn)
        lookup = ConditionContext(None, caller, {}, role_arn, _arn_account(role_arn), {})
        if source_account:
            lookup.set("aws:sourceaccount", (source_account,))
        if source_arn:
            lookup.set("aws:sourcearn", (source_arn,))
        return evaluator.evaluate(caller, "sts:AssumeRole", role_arn, lookup, resource_policy=trust, trust=True)

    # --- decisions --------------------------------------------------------------------------

    def decide(
        self,
        ctx: RequestContext,
        info: PrincipalInfo,
        action: str,
        resource: str,
        request_keys: dict[str, Values],
        request_lookup: Callable[[str], Values | None] | None = None,
    ) -> Decision | None:
        """The decision, or None when the root user acts on a resource without a policy (allowed
        without evaluation, and not recorded)."""
        caller = info.caller
        lowered = _lower(action)
        trust = lowered in TRUST_ACTIONS and ":role/" in resource and resource.startswith("arn:aws:iam::")
        resource_policy: NamedPolicy | None = None
        required = False
        parts = _arn_parts(resource)
        owner = (parts[4] if parts[4].isdigit() and len(parts[4]) == 12 else "") or caller.account
        if trust:
            resource_policy = self._trust_policy(resource)
        elif parts[2] and self._has_source(parts[2], resource):
            found = resources.policy_for(self.backend, ctx, resource)
            if found is not None:
                owner = found.owner_account or owner
                # A KMS key's policy is a gate: IAM policies count only where it delegates to them.
                required = resource.startswith("arn:aws:kms:") and ":key/" in resource
                if found.document:
                    resource_policy = _compile_resource_policy(found.document, resource)
        if caller.is_root and not trust and owner == caller.account:
            if (resource_policy is None and not required) or lowered in ROOT_ALWAYS:
                return None
        lookup = None
        # Without a resource policy (which can change outside IAM) a decision is a function of
        # the principal's policies, the action, the resource and the keys it read: reuse it while
        # those keys have the same values.
        plain = resource_policy is None and not trust and not required and ctx.principal is not None
        if plain:
            key = (ctx.principal.access_key_id, action, resource, owner)  # type: ignore[union-attr]
            hit = self._cache.get(key)
            if hit is not None and hit[0] > time.monotonic():
                if not hit[2]:
                    return hit[1]
                lookup = self._lookup(ctx, info, resource, owner, request_keys, request_lookup)
                if all(lookup(k) == v for k, v in hit[2]):
                    return hit[1]
        if lookup is None or lookup.seen:
            lookup = self._lookup(ctx, info, resource, owner, request_keys, request_lookup)
        decision = evaluator.evaluate(
            caller,
            action,
            resource,
            lookup,
            info.policies,
            resource_policy,
            owner,
            trust=trust,
            resource_policy_required=required,
        )
        if plain and not request_keys and VOLATILE.isdisjoint(lookup.seen):
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[key] = (time.monotonic() + CACHE_SECONDS, decision, tuple(lookup.seen.items()))
        return decision

    def _lookup(
        self,
        ctx: RequestContext,
        info: PrincipalInfo,
        resource: str,
        owner: str,
        request_keys: dict[str, Values],
        request_lookup: Callable[[str], Values | None] | None,
    ) -> ConditionContext:
        return ConditionContext(
            ctx,
            info.caller,
            info.tags,
            resource,
            owner,
            request_keys,
            lambda key: self._resource_key(ctx, resource, key),
            request_lookup,
        )

    def _has_source(self, service: str, resource: str) -> bool:
        found = self._sources.get(service)
        if found is None:
            found = self._sources[service] = resources.has_policy_source(self.backend, resource)
        return found

    def _enforce(
        self,
        ctx: RequestContext,
        info: PrincipalInfo,
        action: str,
        resource: str,
        keys: dict[str, Values],
        lookup: Callable[[str], Values | None] | None = None,
    ) -> None:
        decision = self.decide(ctx, info, action, resource, keys, lookup)
        if decision is None:
            return
        self._record(ctx, info.caller, decision)
        if not decision.allowed and self.mode == "enforce":
            raise access_denied(ctx.service, evaluator.message(info.caller, decision))

    def _record(self, ctx: RequestContext, caller: Caller, decision: Decision) -> None:
        self.decisions.record(
            (
                ctx.request_id,
                next(self._seq),  # increasing: orders a request's decisions, keeps keys unique
                time.time(),
                caller.account,
                caller.arn if caller.kind is not PrincipalKind.ANONYMOUS else None,
                decision,
                self.mode,
            )
        )

    # --- helpers ------------------------------------------------------------------------------

    def _env(self, region: str, account: str) -> actions.Env:
        env = self._envs.get((region, account))
        if env is None:
            env = actions.Env(region, account, lambda kind, name: self._iam_path(account, kind, name))
            if len(self._envs) > 1000:
                self._envs.clear()
            self._envs[(region, account)] = env
        return env

    def _info(self, principal: Principal | None) -> PrincipalInfo:
        if principal is None:
            return PrincipalInfo(evaluator.ANONYMOUS, evaluator.EMPTY, {})
        return self.policies.principal(principal)

    def _trust_policy(self, role_arn: str) -> NamedPolicy | None:
        """The role's compiled trust policy; None when no role has exactly this ARN."""
        entity = self.policies.role(_arn_account(role_arn), role_arn.rsplit("/", 1)[-1])
        if not entity.exists or entity.arn != role_arn:
            return None
        return entity.trust

    def _iam_path(self, account: str, kind: str, name: str) -> str | None:
        key = (account, kind, name)
        if key in self._paths:
            return self._paths[key]
        with self.backend.db.connect() as conn:
            entity: Any = {
                "user": store.get_user,
                "role": store.get_role,
                "group": store.get_group,
                "instance-profile": store.get_instance_profile,
            }.get(kind, lambda *_: None)(conn, account, name)
        path = entity.path if entity is not None else None
        if len(self._paths) > 10_000:
            self._paths.clear()
        self._paths[key] = path
        return path

    def _resource_key(self, ctx: RequestContext, resource: str, key: str) -> Values | None:
        if resource.startswith("arn:aws:iam::") and (
            key.startswith("aws:resourcetag/") or key.startswith("iam:resourcetag/")
        ):
            return self._iam_tag(resource, key.split("/", 1)[1])
        return resources.context_for(self.backend, ctx, resource, key)

    def _iam_tag(self, resource: str, tag_key: str) -> Values | None:
        parts = resource.split(":", 5)
        kind, _, rest = parts[5].partition("/")
        if kind not in ("user", "role"):
            return None
        name = rest.rsplit("/", 1)[-1]
        entity = self.policies.user(parts[4], name) if kind == "user" else self.policies.role(parts[4], name)
        for key, value in entity.tags.items():
            if key.lower() == tag_key:
                return (value,)
        return None


_arn_account = evaluator.resource_owner
_NO_KEYS: dict[str, Values] = {}
_NOT_AN_ARN = ("", "", "", "", "", "")


@lru_cache(maxsize=1024)
def _lower(action: str) -> str:
    return action.lower()


@lru_cache(maxsize=8192)
def _arn_parts(resource: str) -> tuple[str, ...]:
    """The six parts of an ARN (cached: the same ARNs come back request after request)."""
    parts = resource.split(":", 5)
    return tuple(parts) if len(parts) == 6 and parts[0] == "arn" else _NOT_AN_ARN


def _request_lookup(check: actions.Check, params: Mapping[str, Any]) -> Callable[[str], Values | None]:
    return lambda key: actions.request_value(check, params, key)


_resource_policy_cache: dict[str, NamedPolicy | None] = {}


def _compile_resource_policy(text: str, resource: str) -> NamedPolicy | None:
    found = _resource_policy_cache.get(text, False)
    if found is not False:
        return found  # type: ignore[return-value]
    try:
        named: NamedPolicy | None = NamedPolicy(parse(text, PolicyKind.RESOURCE), f"resource policy of {resource.split('/', 1)[0]}")
    except MalformedPolicyDocument as exc:
        log.warning("ignoring a resource policy on %s that does not parse: %s", resource, exc.message)
        named = None
    if len(_resource_policy_cache) > 2048:
        _resource_policy_cache.clear()
    _resource_policy_cache[text] = named
    return named


__all__ = ["Authorizer", "Outcome", "access_denied"]
