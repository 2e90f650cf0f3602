"""Resource policies on secrets: syntax checks, the public-access check, and IAM's lookup."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from seedbed.services.secretsmanager import store
from seedbed.services.secretsmanager.errors import MalformedPolicy, PublicPolicy

if TYPE_CHECKING:
    from seedbed.state.db import Database

POLICY_NAME = "default"


def problems(text: str) -> list[str]:
    """What is wrong with a policy document, in words (empty when it is fine)."""
    try:
        document = json.loads(text)
    except ValueError:
        return ["The policy is not valid JSON."]
    if not isinstance(document, dict) or "Statement" not in document:
        return ["The policy must be a JSON object with a Statement."]
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return ["The policy's Statement must be a non-empty list."]
    found = []
    for index, statement in enumerate(statements, 1):
        if not isinstance(statement, dict):
            found.append(f"Statement {index} is not a JSON object.")
            continue
        if statement.get("Effect") not in ("Allow", "Deny"):
            found.append(f"Statement {index} needs an Effect of Allow or Deny.")
        if "Principal" not in statement and "NotPrincipal" not in statement:
            found.append(f"Statement {index} of a resource policy needs a Principal.")
        if "Action" not in statement and "NotAction" not in statement:
            found.append(f"Statement {index} needs an Action.")
    return found


def check(text: str) -> None:
    found = problems(text)
    if found:
        raise MalformedPolicy("This resource policy contains a syntax error. " + " ".join(found))


def is_public(text: str) -> bool:
    """An unconditioned Allow for every principal: what BlockPublicPolicy refuses."""
    document = json.loads(text)
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    return any(
        s.get("Effect") == "Allow" and not s.get("Condition") and _everyone(s.get("Principal"))
        for s in statements
        if isinstance(s, dict)
    )


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        names = principal.get("AWS")
        return names == "*" or (isinstance(names, list) and "*" in names)
    return False


def check_not_public(text: str) -> None:
    if is_public(text):
        raise PublicPolicy(
            "This resource policy grants public access to the secret; BlockPublicPolicy refuses it."
        )


def secret_policy(db: Database, account_id: str, secret_arn: str) -> str | None:
    """The resource policy of ``secret_arn`` (a full secret ARN of ``account_id``), for IAM's
    resource-policy evaluation; None when there is no such secret or it has no policy."""
    with db.connect() as conn:
        secret = store.get_by_arn(conn, secret_arn)
    if secret is None or secret.account_id != account_id:
        return None
    return secret.policy
