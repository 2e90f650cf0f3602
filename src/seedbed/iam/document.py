"""Policy documents: parse, validate (with the reason a bad one is refused), and compile.

A compiled :class:`Policy` keeps each statement's actions as a set of exact names plus a few
regular expressions, its resources as precompiled ARN patterns, its principals as sets, and its
conditions as :class:`~seedbed.iam.conditions.Condition` objects, so evaluating a request costs
set look-ups and a handful of regex matches. Compiled policies are cached by document text.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from seedbed.errors import ServiceError
from seedbed.iam import conditions, variables

VERSIONS = ("2012-10-17", "2008-10-17")
STATEMENT_FIELDS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition"}
)
_SID = re.compile(r"^[0-9A-Za-z]*$")
_ACTION = re.compile(r"^[A-Za-z0-9_.*?-]+:[A-Za-z0-9_*?-]*$")
_ACCOUNT = re.compile(r"^\d{12}$")
TRUST_ACTIONS = re.compile(
    r"^sts:(assumerole|assumerolewithsaml|assumerolewithwebidentity|tagsession|setsourceidentity|"
    r"setcontext|\*|assume\*|\*assume\*)$|^\*$",
    re.IGNORECASE,
)


class MalformedPolicyDocument(ServiceError):
    """A policy IAM (or STS, or a resource-policy API) refuses, with the reason."""

    code = "MalformedPolicyDocument"
    status = 400


class PolicyKind(str, enum.Enum):
    """What a policy is attached as: decides which elements it must and must not have."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"
    BOUNDARY = "boundary"
    SESSION = "session"

    @property
    def has_principal(self) -> bool:
        return self in (PolicyKind.RESOURCE, PolicyKind.TRUST)


@dataclass(frozen=True, slots=True)
class ActionSet:
    """``Action``/``NotAction`` values: exact names (lower-cased) and wildcard patterns."""

    everything: bool
    exact: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]

    def matches(self, action: str) -> bool:
        if self.everything:
            return True
        lowered = action.lower()
        if lowered in self.exact:
            return True
        return any(p.match(lowered) for p in self.patterns)


@dataclass(frozen=True, slots=True)
class ResourceSet:
    """``Resource``/``NotResource`` values; those with policy variables are matched per request."""

    everything: bool
    patterns: tuple[str, ...]
    has_variables: bool

    def matches(self, resource: str, lookup: conditions.Lookup) -> bool:
        if self.everything:
            return True
        for pattern in self.patterns:
            if self.has_variables and "${" in pattern:
                resolved = variables.substitute(pattern, lookup)
                if resolved is None:
                    continue
                pattern = resolved
            if variables.arn_matches(pattern, resource):
                return True
        return False


@dataclass(frozen=True, slots=True)
class PrincipalSet:
    """``Principal``/``NotPrincipal`` values, by kind."""

    everyone: bool = False
    accounts: frozenset[str] = frozenset()  # 12-digit ids (root ARNs are stored as their account)
    arns: frozenset[str] = frozenset()  # user, role and assumed-role ARNs
    services: frozenset[str] = frozenset()
    federated: frozenset[str] = frozenset()
    canonical: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Statement:
    index: int
    sid: str | None
    allow: bool
    actions: ActionSet
    not_action: bool
    resources: ResourceSet | None  # None: the element is absent (trust policies)
    not_resource: bool
    principals: PrincipalSet | None
    not_principal: bool
    conditions: tuple[conditions.Condition, ...]
    source: dict[str, Any] = field(compare=False, hash=False)

    @property
    def effect(self) -> str:
        return "Allow" if self.allow else "Deny"

    def label(self) -> str:
        return f"Statement[{self.index}]" + (f" (Sid {self.sid})" if self.sid else "")


@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    statements: tuple[Statement, ...]
    text: str


def _fail(reason: str) -> MalformedPolicyDocument:
    return MalformedPolicyDocument(reason)


def _strings(value: Any, what: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        raise _fail(f"Syntax errors in policy: {what} must not be an empty list.")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise _fail(f"Syntax errors in policy: {what} values must be strings.")
        out.append(item)
    return out


def _compile_actions(values: list[str], kind: PolicyKind) -> ActionSet:
    exact: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    everything = False
    for value in values:
        if value == "*":
            everything = True
            continue
        if not _ACTION.match(value):
            raise _fail("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
        if kind is PolicyKind.TRUST and not TRUST_ACTIONS.match(value):
            raise _fail("AssumeRole policy may only specify STS AssumeRole actions.")
        lowered = value.lower()
        if "*" in lowered or "?" in lowered:
            patterns.append(variables.glob(lowered))
        else:
            exact.add(lowered)
    return ActionSet(everything, frozenset(exact), tuple(patterns))


def _compile_resources(values: list[str], version: str) -> ResourceSet:
    for value in values:
        if value != "*" and not value.startswith("arn:") and not variables.has_variables(value[:4]):
            raise _fail(f'Resource {value} must be in ARN format or "*".')
        if value.startswith("arn:") and len(value.split(":", 5)) < 6:
            raise _fail(f'Resource {value} must be in ARN format or "*".')
    has_vars = version == "2012-10-17" and any(variables.has_variables(v) for v in values)
    return ResourceSet("*" in values, tuple(values), has_vars)


def _compile_principals(value: Any) -> PrincipalSet:
    if value == "*":
        return PrincipalSet(everyone=True)
    if not isinstance(value, dict) or not value:
        raise _fail(f"Invalid principal in policy: {json.dumps(value)}")
    accounts: set[str] = set()
    arns: set[str] = set()
    services: set[str] = set()
    federated: set[str] = set()
    canonical: set[str] = set()
    everyone = False
    for kind, raw in value.items():
        items = _strings(raw, "Principal")
        if kind == "AWS":
            for item in items:
                if item == "*":
                    everyone = True
                elif _ACCOUNT.match(item):
                    accounts.add(item)
                elif re.match(r"^arn:aws:iam::\d{12}:root$", item):
                    accounts.add(item.split(":")[4])
                elif re.match(r"^arn:aws:(iam::\d{12}:(user|role|federated-user)/.+|sts::\d{12}:(assumed-role|federated-user)/.+)$", item):
                    arns.add(item)
                elif re.match(r"^[A-Z0-9]{21}$", item) and item[:4] in ("AIDA", "AROA"):
                    arns.add(item)  # a unique id: what IAM shows once the entity is gone
                else:
                    raise _fail(f'Invalid principal in policy: "AWS":"{item}"')
        elif kind == "Service":
            for item in items:
                if item == "*" or not re.match(r"^[a-z0-9.-]+\.(amazonaws\.com|amazonaws\.com\.cn|aws\.internal)$", item):
                    raise _fail(f'Invalid principal in policy: "SERVICE":"{item}"')
                services.add(item)
        elif kind == "Federated":
            federated.update(items)
        elif kind == "CanonicalUser":
            canonical.update(items)
        else:
            raise _fail(f"Invalid principal in policy: {json.dumps({kind: raw})}")
    return PrincipalSet(
        everyone, frozenset(accounts), frozenset(arns), frozenset(services), frozenset(federated), frozenset(canonical)
    )


def _condition_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value
    raise _fail("Syntax errors in policy: condition values must be strings, numbers or booleans.")


def _compile_conditions(value: Any, version: str) -> tuple[conditions.Condition, ...]:
    if not isinstance(value, dict):
        raise _fail("Syntax errors in policy: Condition must be an object.")
    out = []
    for op_name, block in value.items():
        if not isinstance(block, dict) or not block:
            raise _fail(f"Syntax errors in policy: Condition {op_name} must map keys to values.")
        for key, raw in block.items():
            if ":" not in key and not key.lower().startswith("aws"):
                raise _fail("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
            items = raw if isinstance(raw, list) else [raw]
            values = tuple(_condition_value(v) for v in items)
            try:
                out.append(conditions.compile_condition(op_name, key, values, version))
            except conditions.UnknownOperator:
                raise _fail(f"Invalid Condition type : {op_name}.") from None
    return tuple(out)


def _statement(index: int, raw: Any, kind: PolicyKind, version: str) -> Statement:
    if not isinstance(raw, dict):
        raise _fail("Syntax errors in policy: each statement must be an object.")
    unknown = set(raw) - STATEMENT_FIELDS
    if unknown:
        raise _fail(f"Syntax errors in policy: unknown statement field {sorted(unknown)[0]}.")
    sid = raw.get("Sid")
    if sid is not None:
        if not isinstance(sid, str):
            raise _fail("Syntax errors in policy: Sid must be a string.")
        if kind is not PolicyKind.RESOURCE and not _SID.match(sid):
            raise _fail(
                "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the "
                "regular expression [0-9A-Za-z]*"
            )
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise _fail(
            "Missing required field Effect" if effect is None else f"Invalid effect: {effect}"
        )
    if ("Action" in raw) == ("NotAction" in raw):
        raise _fail(
            "Policy statement must contain actions."
            if "Action" not in raw
            else "Syntax errors in policy: a statement has both Action and NotAction."
        )
    action_key = "Action" if "Action" in raw else "NotAction"
    actions = _compile_actions(_strings(raw[action_key], action_key), kind)
    has_principal = "Principal" in raw or "NotPrincipal" in raw
    if "Principal" in raw and "NotPrincipal" in raw:
        raise _fail("Syntax errors in policy: a statement has both Principal and NotPrincipal.")
    if kind.has_principal and not has_principal:
        raise _fail("Missing required field Principal")
    if not kind.has_principal and has_principal:
        raise _fail("Policy document should not specify a principal.")
    if kind is PolicyKind.TRUST and "NotPrincipal" in raw and effect == "Allow":
        raise _fail("Syntax errors in policy: NotPrincipal cannot be used with Allow.")
    has_resource = "Resource" in raw or "NotResource" in raw
    if "Resource" in raw and "NotResource" in raw:
        raise _fail("Syntax errors in policy: a statement has both Resource and NotResource.")
    if kind is PolicyKind.TRUST and has_resource:
        raise _fail("Has prohibited field Resource")
    if kind is not PolicyKind.TRUST and not has_resource:
        raise _fail("Policy statement must contain resources.")
    resources = None
    if has_resource:
        resource_key = "Resource" if "Resource" in raw else "NotResource"
        resources = _compile_resources(_strings(raw[resource_key], resource_key), version)
    principals = None
    if has_principal:
        principal_key = "Principal" if "Principal" in raw else "NotPrincipal"
        principals = _compile_principals(raw[principal_key])
    conds = _compile_conditions(raw["Condition"], version) if "Condition" in raw else ()
    return Statement(
        index=index,
        sid=sid,
        allow=effect == "Allow",
        actions=actions,
        not_action="NotAction" in raw,
        resources=resources,
        not_resource="NotResource" in raw,
        principals=principals,
        not_principal="NotPrincipal" in raw,
        conditions=conds,
        source=raw,
    )


def load_json(text: str) -> dict[str, Any]:
    """The JSON object of a policy document, or MalformedPolicyDocument."""
    if not isinstance(text, str) or not text.strip():
        raise _fail("Syntax errors in policy: the document is empty.")
    try:
        document = json.loads(text)
    except ValueError:
        raise _fail("This policy contains invalid Json") from None
    if not isinstance(document, dict):
        raise _fail("This policy contains invalid Json")
    return document


def _parse(text: str, kind: PolicyKind) -> Policy:
    document = load_json(text)
    unknown = set(document) - {"Version", "Id", "Statement"}
    if unknown:
        raise _fail(f"Syntax errors in policy: unknown field {sorted(unknown)[0]}.")
    version = document.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise _fail("The policy failed legacy parsing")
    if "Statement" not in document:
        raise _fail("Syntax errors in policy: missing required field Statement.")
    raw = document["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise _fail("Syntax errors in policy: the Statement list is empty.")
    statements = tuple(_statement(i, item, kind, version) for i, item in enumerate(items))
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise _fail("Statement IDs (SID) in a single policy must be unique.")
    return Policy(version, statements, text)


@lru_cache(maxsize=4096)
def parse(text: str, kind: PolicyKind = PolicyKind.IDENTITY) -> Policy:
    """Parse and validate ``text`` as a policy of ``kind`` (cached: documents repeat a lot)."""
    return _parse(text, kind)


def validate(text: str, kind: PolicyKind) -> Policy:
    """The same as :func:`parse`; the name says why the caller calls it."""
    return parse(text, kind)


def chars_without_whitespace(text: str) -> int:
    """IAM's policy size quotas count characters other than white space."""
    return sum(1 for c in text if not c.isspace())
