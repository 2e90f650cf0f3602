"""The evaluation corpus (tests/unit/iam/corpus.py): every case gets the decision AWS documents."""

from __future__ import annotations

import json
from typing import Any

import pytest

from seedbed.iam.document import PolicyKind, parse
from seedbed.iam.evaluator import Caller, NamedPolicy, PolicySet, PrincipalKind, evaluate, message
from tests.unit.iam.corpus import CASES


def _caller(spec: tuple[str, str, str, str | None]) -> Caller:
    kind, arn, account, role_arn = spec
    user_id = "AIDAALICE" if kind == "user" else ""
    return Caller(PrincipalKind(kind), arn, account, role_arn, user_id)


def _named(document: dict[str, Any], name: str, kind: PolicyKind = PolicyKind.IDENTITY) -> NamedPolicy:
    return NamedPolicy(parse(json.dumps(document), kind), name)


def run_case(item: dict[str, Any]):  # type: ignore[no-untyped-def]
    from tests.unit.iam.corpus import USER

    identity = tuple(_named(d, f"identity {i}") for i, d in enumerate(item.get("identity") or []))
    boundary = _named(item["boundary"], "boundary", PolicyKind.BOUNDARY) if item.get("boundary") else None
    session = item.get("session")
    sessions = tuple(_named(d, f"session {i}", PolicyKind.SESSION) for i, d in enumerate(session)) if session is not None else None
    resource_policy = None
    if item.get("resource_policy"):
        kind = PolicyKind.TRUST if item.get("trust") else PolicyKind.RESOURCE
        resource_policy = _named(item["resource_policy"], "resource policy", kind)
    context: dict[str, tuple[str, ...]] = {}
    for key, value in (item.get("context") or {}).items():
        context[key.lower()] = tuple(value) if isinstance(value, list) else (value,)
    caller = _caller(item.get("caller", USER))
    return caller, evaluate(
        caller,
        item["action"],
        item["resource"],
        context.get,
        PolicySet(identity, boundary, sessions),
        resource_policy,
        item.get("owner"),
        trust=bool(item.get("trust")),
        resource_policy_required=bool(item.get("required")),
    )


def test_corpus_is_large_and_names_are_unique() -> None:
    assert len(CASES) >= 200
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]


@pytest.mark.parametrize("item", CASES, ids=[c["name"] for c in CASES])
def test_case(item: dict[str, Any]) -> None:
    caller, decision = run_case(item)
    assert decision.outcome.value == item["expect"], decision.reason
    if not decision.allowed:
        text = message(caller, decision)
        assert item["action"] in text
    if decision.outcome.value == "ExplicitDeny":
        assert decision.deciding and all(not hit.statement.allow for hit in decision.deciding)
