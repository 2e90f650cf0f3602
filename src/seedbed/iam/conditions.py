"""Condition operators and the condition block, as the IAM JSON policy reference defines them.

A condition block is an AND of operators, each an AND of keys, each an OR of values. Context
values are tuples of strings (multivalued keys such as ``aws:TagKeys`` have several). The rules
for a key missing from the request, for ``...IfExists``, for ``Null`` and for the
``ForAnyValue:``/``ForAllValues:`` set qualifiers follow the documentation:

- a missing key fails a positive operator and satisfies a negated one (``StringNotEquals``...);
- ``...IfExists`` is satisfied by a missing key;
- ``ForAllValues:`` is satisfied by a missing or empty key, ``ForAnyValue:`` is not;
- ``Null: true`` means "the key is absent", ``Null: false`` "the key is present".
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from seedbed.iam import variables

Values = tuple[str, ...]
Lookup = Callable[[str], "Values | None"]
Match = Callable[[str, str], bool]  # (context value, policy value) -> bool


def _string_equals(value: str, pattern: str) -> bool:
    return value == pattern


def _string_equals_ic(value: str, pattern: str) -> bool:
    return value.casefold() == pattern.casefold()


def _string_like(value: str, pattern: str) -> bool:
    return variables.glob(pattern).match(value) is not None


def _number(text: str) -> float:
    return float(text)


def _numeric(compare: Callable[[float, float], bool]) -> Match:
    def match(value: str, pattern: str) -> bool:
        try:
            return compare(_number(value), _number(pattern))
        except ValueError:
            return False

    return match


@lru_cache(maxsize=4096)
def parse_date(text: str) -> float:
    """ISO 8601 (with or without time and zone) or epoch seconds, as a POSIX timestamp."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return float(text)
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _date(compare: Callable[[float, float], bool]) -> Match:
    def match(value: str, pattern: str) -> bool:
        try:
            return compare(parse_date(value), parse_date(pattern))
        except ValueError:
            return False

    return match


def _bool(value: str, pattern: str) -> bool:
    return value.lower() == pattern.lower()


def _binary(value: str, pattern: str) -> bool:
    try:
        return base64.b64decode(value, validate=True) == base64.b64decode(pattern, validate=True)
    except ValueError:
        return False


@lru_cache(maxsize=2048)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text.strip(), strict=False)


def _ip(value: str, pattern: str) -> bool:
    try:
        return ipaddress.ip_address(value.strip()) in _network(pattern)
    except ValueError:
        return False


def _arn_like(value: str, pattern: str) -> bool:
    return variables.arn_matches(pattern, value)


#: base operator -> (single-value match, negated)
BASE_OPERATORS: dict[str, tuple[Match, bool]] = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ic, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ic, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "NumericEquals": (_numeric(lambda a, b: a == b), False),
    "NumericNotEquals": (_numeric(lambda a, b: a == b), True),
    "NumericLessThan": (_numeric(lambda a, b: a < b), False),
    "NumericLessThanEquals": (_numeric(lambda a, b: a <= b), False),
    "NumericGreaterThan": (_numeric(lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (_numeric(lambda a, b: a >= b), False),
    "DateEquals": (_date(lambda a, b: a == b), False),
    "DateNotEquals": (_date(lambda a, b: a == b), True),
    "DateLessThan": (_date(lambda a, b: a < b), False),
    "DateLessThanEquals": (_date(lambda a, b: a <= b), False),
    "DateGreaterThan": (_date(lambda a, b: a > b), False),
    "DateGreaterThanEquals": (_date(lambda a, b: a >= b), False),
    "Bool": (_bool, False),
    "BinaryEquals": (_binary, False),
    "IpAddress": (_ip, False),
    "NotIpAddress": (_ip, True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "Null": (_bool, False),
}
_BY_LOWER = {name.lower(): name for name in BASE_OPERATORS}
#: Operators whose policy values are patterns or strings that may carry policy variables.
_VARIABLE_OPERATORS = frozenset(
    name for name in BASE_OPERATORS if name.startswith(("String", "Arn"))
)


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    base: str
    match: Match
    negated: bool
    set_mode: str | None  # None, "any" or "all"
    if_exists: bool


class UnknownOperator(ValueError):
    pass


@lru_cache(maxsize=512)
def operator(name: str) -> Operator:
    """Parse ``ForAnyValue:StringLikeIfExists`` and the like; raises UnknownOperator."""
    rest = name
    set_mode = None
    if ":" in rest:
        qualifier, rest = rest.split(":", 1)
        set_mode = {"foranyvalue": "any", "forallvalues": "all"}.get(qualifier.lower())
        if set_mode is None:
            raise UnknownOperator(name)
    if_exists = False
    if rest.lower().endswith("ifexists") and rest.lower() != "ifexists":
        rest, if_exists = rest[: -len("IfExists")], True
    base = _BY_LOWER.get(rest.lower())
    if base is None or (base == "Null" and (if_exists or set_mode)):
        raise UnknownOperator(name)
    match, negated = BASE_OPERATORS[base]
    return Operator(name, base, match, negated, set_mode, if_exists)


@dataclass(frozen=True, slots=True)
class Condition:
    """One key of one operator: ``{"StringEquals": {"aws:username": ["a", "b"]}}`` has one."""

    operator: Operator
    key: str  # lower-cased
    values: tuple[str, ...]
    has_variables: bool

    def describe(self) -> str:
        return f"{self.operator.name} {self.key} {list(self.values)}"


def compile_condition(op_name: str, key: str, values: tuple[str, ...], version: str) -> Condition:
    op = operator(op_name)
    has_vars = (
        version == "2012-10-17"
        and op.base in _VARIABLE_OPERATORS
        and any(variables.has_variables(v) for v in values)
    )
    return Condition(op, key.lower(), values, has_vars)


def _policy_values(condition: Condition, lookup: Lookup) -> list[str]:
    if not condition.has_variables:
        return list(condition.values)
    out = []
    for value in condition.values:
        text = variables.substitute(value, lookup)
        if text is None:
            continue  # an unresolved variable matches nothing
        if condition.operator.base.startswith("String") and not condition.operator.base.startswith(
            "StringLike"
        ) and not condition.operator.base.startswith("StringNotLike"):
            text = variables.literal(text)
        out.append(text)
    return out


def evaluate(condition: Condition, lookup: Lookup) -> bool:
    """Whether one condition key holds for the request."""
    op = condition.operator
    values = lookup(condition.key)
    present = bool(values)
    if op.base == "Null":
        return any((v.lower() == "true") != present for v in condition.values)
    if not present:
        if op.if_exists or op.set_mode == "all":
            return True
        if op.set_mode == "any":
            return False
        return op.negated
    patterns = _policy_values(condition, lookup)
    match = op.match

    def hits(value: str) -> bool:
        return any(match(value, p) for p in patterns)

    assert values is not None
    if op.set_mode == "all":
        return all(hits(v) != op.negated for v in values)
    if op.set_mode == "any":
        return any(hits(v) != op.negated for v in values)
    found = any(hits(v) for v in values)
    return found != op.negated


def evaluate_all(conditions: tuple[Condition, ...], lookup: Lookup) -> bool:
    for condition in conditions:
        if not evaluate(condition, lookup):
            return False
    return True
