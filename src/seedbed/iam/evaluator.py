"""AWS's policy evaluation logic, for one action on one resource.

The order is the documented one: an explicit deny in any applicable policy decides; then, within
one account, an allow from a resource-based policy that names the principal itself (user ARN,
role session ARN or ``*``) is enough, while an allow from identity-based policies (or from a
resource-based policy naming the role ARN) must also pass the permissions boundary and the session
policies; across accounts both the principal's identity-based policies and the resource-based
policy must allow. Role trust policies are resource-based policies that *must* allow. The root
user of an account is not limited by identity-based policies, only by explicit denies in
resource-based policies. Anonymous callers are evaluated against resource-based policies only.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from seedbed.iam import conditions
from seedbed.iam.document import Policy, PrincipalSet, Statement

Lookup = conditions.Lookup


class PrincipalKind(str, enum.Enum):
    ROOT = "root"
    USER = "user"
    ROLE_SESSION = "role-session"
    ANONYMOUS = "anonymous"
    SERVICE = "service"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks, as the evaluator needs to know them."""

    kind: PrincipalKind
    arn: str  # user ARN, assumed-role session ARN, root ARN, service principal name, or "*"
    account: str = ""
    role_arn: str | None = None  # for role sessions
    user_id: str = ""

    @property
    def is_root(self) -> bool:
        return self.kind is PrincipalKind.ROOT


ANONYMOUS = Caller(PrincipalKind.ANONYMOUS, "anonymous")


@dataclass(frozen=True, slots=True)
class NamedPolicy:
    """A compiled policy and how to name it in messages and explanations."""

    policy: Policy
    name: str  # e.g. "arn:aws:iam::aws:policy/ReadOnlyAccess" or "inline policy p of role/r"
    arn: str | None = None  # managed policies: what AWS quotes in explicit-deny messages
    candidates: dict[str, tuple[Statement, ...]] = field(default_factory=dict, compare=False, hash=False)

    def statements_for(self, action: str) -> tuple[Statement, ...]:
        """Statements whose Action/NotAction admits ``action``; memoized per action, since the
        same principal asks for the same few actions over and over."""
        key = action.lower()
        found = self.candidates.get(key)
        if found is None:
            found = tuple(
                s for s in self.policy.statements if s.actions.matches(key) != s.not_action
            )
            if len(self.candidates) < 4096:
                self.candidates[key] = found
        return found


class Kind(str, enum.Enum):
    IDENTITY = "identity-based policy"
    RESOURCE = "resource-based policy"
    BOUNDARY = "permissions boundary"
    SESSION = "session policy"
    TRUST = "role trust policy"


@dataclass(frozen=True, slots=True)
class Hit:
    """A statement that applied to the request."""

    kind: Kind
    policy: str
    policy_arn: str | None
    statement: Statement

    def describe(self) -> dict[str, object]:
        return {
            "policy_type": self.kind.value,
            "policy": self.policy,
            "statement": self.statement.index,
            "sid": self.statement.sid,
            "effect": self.statement.effect,
            "source": self.statement.source,
        }


class Outcome(str, enum.Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    action: str
    resource: str
    #: Why, in AWS's words: "because no identity-based policy allows the s3:GetObject action" or
    #: "with an explicit deny in a resource-based policy".
    reason: str
    #: The statements that decided: the denying ones, or the allowing ones.
    deciding: tuple[Hit, ...] = ()
    #: Which kind of policy was missing an allow (for implicit denies).
    missing: Kind | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW


@dataclass(frozen=True)
class PolicySet:
    """Everything that applies to a principal, compiled. Roots and anonymous callers have none."""

    identity: tuple[NamedPolicy, ...] = ()
    boundary: NamedPolicy | None = None
    #: None: no session policies were passed (no limit); a tuple: their union limits the session.
    session: tuple[NamedPolicy, ...] | None = None


EMPTY = PolicySet()


class Match(enum.IntEnum):
    """How a resource-based policy statement named the caller (decides what else must allow)."""

    NONE = 0
    ACCOUNT = 1  # the account: delegates to the account's identity-based policies
    ROLE = 2  # the role ARN: limited by boundary and session policies
    DIRECT = 3  # the user ARN, the session ARN, a service, or "*"


def principal_match(principals: PrincipalSet, caller: Caller, exact: bool = False) -> Match:
    """How ``principals`` name ``caller``. ``exact`` (for NotPrincipal) matches only the caller's
    own ARN, and an account entry only the account's root user, as the NotPrincipal docs say."""
    if exact:
        if principals.everyone:
            return Match.DIRECT
        if caller.arn in principals.arns or (caller.user_id and caller.user_id in principals.arns):
            return Match.DIRECT
        if caller.kind is PrincipalKind.SERVICE and caller.arn in principals.services:
            return Match.DIRECT
        if caller.is_root and caller.account in principals.accounts:
            return Match.DIRECT
        return Match.NONE
    if principals.everyone:
        return Match.DIRECT
    if caller.kind is PrincipalKind.SERVICE:
        return Match.DIRECT if caller.arn in principals.services else Match.NONE
    if caller.kind is PrincipalKind.ANONYMOUS:
        return Match.NONE
    if caller.arn in principals.arns or (caller.user_id and caller.user_id in principals.arns):
        return Match.DIRECT
    if caller.role_arn is not None and caller.role_arn in principals.arns:
        return Match.ROLE
    if caller.account in principals.accounts:
        return Match.ACCOUNT
    return Match.NONE


def _applies(statement: Statement, resource: str, lookup: Lookup) -> bool:
    if statement.resources is not None:
        if statement.resources.matches(resource, lookup) == statement.not_resource:
            return False
    return not statement.conditions or conditions.evaluate_all(statement.conditions, lookup)


def _scan(policies: Sequence[NamedPolicy], kind: Kind, action: str, resource: str, lookup: Lookup) -> tuple[list[Hit], list[Hit]]:
    allows: list[Hit] = []
    denies: list[Hit] = []
    for named in policies:
        for statement in named.statements_for(action):
            if _applies(statement, resource, lookup):
                (allows if statement.allow else denies).append(Hit(kind, named.name, named.arn, statement))
    return allows, denies


def _scan_resource(
    policy: NamedPolicy, kind: Kind, caller: Caller, action: str, resource: str, lookup: Lookup
) -> tuple[list[tuple[Hit, Match]], list[Hit]]:
    allows: list[tuple[Hit, Match]] = []
    denies: list[Hit] = []
    for statement in policy.statements_for(action):
        assert statement.principals is not None
        if statement.not_principal:
            named = principal_match(statement.principals, caller, exact=True)
            match = Match.DIRECT if named is Match.NONE else Match.NONE
        else:
            match = principal_match(statement.principals, caller)
        if match is Match.NONE or not _applies(statement, resource, lookup):
            continue
        hit = Hit(kind, policy.name, policy.arn, statement)
        if statement.allow:
            allows.append((hit, match))
        else:
            denies.append(hit)
    return allows, denies


def _deny_reason(hit: Hit) -> str:
    kind = hit.kind if hit.kind is not Kind.TRUST else Kind.RESOURCE
    article = "an" if kind.value[0] in "aeiou" else "a"
    reason = f"with an explicit deny in {article} {kind.value}"
    if hit.policy_arn and hit.kind is not Kind.RESOURCE:
        reason += f": {hit.policy_arn}"
    return reason


def _implicit(action: str, resource: str, missing: Kind) -> Decision:
    kind = Kind.RESOURCE if missing is Kind.TRUST else missing
    return Decision(
        Outcome.IMPLICIT_DENY, action, resource, f"because no {kind.value} allows the {action} action", (), missing
    )


def evaluate(
    caller: Caller,
    action: str,
    resource: str,
    lookup: Lookup,
    policies: PolicySet = EMPTY,
    resource_policy: NamedPolicy | None = None,
    resource_account: str | None = None,
    *,
    trust: bool = False,
    resource_policy_required: bool = False,
) -> Decision:
    """Decide ``action`` on ``resource`` for ``caller``.

    ``resource_policy`` is the resource's own policy (a bucket policy, a key policy, a role's
    trust policy with ``trust=True``); ``resource_account`` is the account that owns the resource
    (None: the account in its ARN, else the caller's). ``resource_policy_required`` makes the resource policy a gate even
    within the account, as trust policies and KMS key policies are.
    """
    owner = resource_account or _arn_account(resource) or caller.account
    kind = Kind.TRUST if trust else Kind.RESOURCE
    anonymous_like = caller.kind in (PrincipalKind.ANONYMOUS, PrincipalKind.SERVICE)
    denies: list[Hit] = []
    id_allows: list[Hit] = []
    b_allows: list[Hit] = []
    s_allows: list[Hit] = []
    r_allows: list[tuple[Hit, Match]] = []
    if resource_policy is not None:
        r_allows, r_denies = _scan_resource(resource_policy, kind, caller, action, resource, lookup)
        denies += r_denies
    if not anonymous_like and not caller.is_root:
        id_allows, d = _scan(policies.identity, Kind.IDENTITY, action, resource, lookup)
        denies += d
        if policies.boundary is not None:
            b_allows, d = _scan((policies.boundary,), Kind.BOUNDARY, action, resource, lookup)
            denies += d
        if policies.session is not None:
            s_allows, d = _scan(policies.session, Kind.SESSION, action, resource, lookup)
            denies += d
    if denies:
        return Decision(Outcome.EXPLICIT_DENY, action, resource, _deny_reason(denies[0]), tuple(denies))

    def allow(hits: Sequence[Hit]) -> Decision:
        return Decision(Outcome.ALLOW, action, resource, "allowed", tuple(hits))

    if anonymous_like:
        direct = [h for h, m in r_allows if m is Match.DIRECT]
        return allow(direct) if direct else _implicit(action, resource, kind)

    same_account = owner == caller.account
    if (trust or resource_policy_required) and not r_allows:
        return _implicit(action, resource, kind)
    if not same_account and not r_allows:
        return _implicit(action, resource, Kind.RESOURCE)
    if caller.is_root:
        return allow([h for h, _ in r_allows])

    if same_account:
        direct = [h for h, m in r_allows if m is Match.DIRECT]
        if direct:
            return allow(direct)
        role_grants = [h for h, m in r_allows if m is Match.ROLE]
        granted = id_allows + role_grants
    else:
        granted = id_allows
    if not granted:
        return _implicit(action, resource, Kind.IDENTITY)
    if policies.boundary is not None and not b_allows:
        return _implicit(action, resource, Kind.BOUNDARY)
    if policies.session is not None and not s_allows:
        return _implicit(action, resource, Kind.SESSION)
    return allow(granted + b_allows + s_allows + [h for h, _ in r_allows])


def _arn_account(arn: str) -> str:
    """The account that owns a resource, from its ARN; "" when the ARN names none (S3), names
    AWS itself (``aws`` for AWS managed policies) or is a pattern."""
    parts = arn.split(":", 5)
    account = parts[4] if len(parts) == 6 and parts[0] == "arn" else ""
    return account if len(account) == 12 and account.isdigit() else ""


resource_owner = _arn_account


def message(caller: Caller, decision: Decision) -> str:
    """AWS's AccessDenied message for a denied decision."""
    who = "Anonymous caller" if caller.kind is PrincipalKind.ANONYMOUS else _who(caller)
    on = f" on resource: {decision.resource}" if decision.resource and decision.resource != "*" else ""
    return f"{who} is not authorized to perform: {decision.action}{on} {decision.reason}"


def _who(caller: Caller) -> str:
    return f"User: {caller.arn}"


#: A function that fetches a principal's policies; used by the simulator and the authorizer.
PolicyLoader = Callable[[Caller], PolicySet]
