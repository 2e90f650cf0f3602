"""Key policies: the defaults AWS writes, syntax checks, and what IAM's evaluator reads.

Every KMS key has exactly one key policy, named ``default``. The default policy of a customer
managed key gives the account's root full access, which delegates the decision to IAM policies,
as on AWS. The policies of AWS managed keys allow use only through their service
(``kms:ViaService``) from the account (``kms:CallerAccount``).

For IAM enforcement: :func:`key_policy` (the policy text), and :func:`resource_policy_source` /
:func:`condition_key_source`, shaped for ``seedbed.iam.resources.register_policy_source("kms",
...)`` and ``register_context_source("kms", ...)``. They are not registered here: AWS managed
keys stay usable only once the evaluator asks the context source for ``kms:*`` keys.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from seedbed.server.context import INTERNAL_SOURCE
from seedbed.services.kms.errors import MalformedPolicy
from seedbed.state import arns

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import Principal, RequestContext
    from seedbed.state.db import Database

POLICY_NAME = "default"


def default_policy(account_id: str) -> str:
    """What CreateKey writes when no Policy is given: the account decides through IAM."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": arns.root(account_id)},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        },
        indent=2,
    )


def aws_managed_policy(account_id: str, region: str, service: str) -> str:
    """The policy of ``alias/aws/<service>``: use only through that service, metadata to all."""
    via = f"{service}.{region}.amazonaws.com"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": f"auto-{service}-1",
            "Statement": [
                {
                    "Sid": f"Allow access through {service} for all principals in the account "
                    f"that are authorized to use {service}",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"kms:CallerAccount": account_id, "kms:ViaService": via}
                    },
                },
                {
                    "Sid": "Allow direct access to key metadata to the account",
                    "Effect": "Allow",
                    "Principal": {"AWS": arns.root(account_id)},
                    "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                    "Resource": "*",
                },
            ],
        },
        indent=2,
    )


def check_policy(text: str) -> None:
    """Reject what is not a policy document (AWS's MalformedPolicyDocumentException)."""
    try:
        document = json.loads(text)
    except ValueError:
        raise MalformedPolicy("The key policy is not valid JSON.") from None
    if not isinstance(document, dict) or "Statement" not in document:
        raise MalformedPolicy("The key policy must be a JSON object with a Statement.")
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise MalformedPolicy("The key policy's Statement must be a non-empty list.")
    for statement in statements:
        if not isinstance(statement, dict):
            raise MalformedPolicy("Every statement of a key policy must be a JSON object.")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise MalformedPolicy("Every statement needs an Effect of Allow or Deny.")
        if "Principal" not in statement and "NotPrincipal" not in statement:
            raise MalformedPolicy("Every statement of a key policy needs a Principal.")
        if "Action" not in statement and "NotAction" not in statement:
            raise MalformedPolicy("Every statement needs an Action.")


def names_caller(text: str, principal: Principal) -> bool:
    """Whether an Allow statement names the caller, its account, or everyone as a principal.

    A coarse guard for cross-account use until IAM's evaluator reads key policies itself: a key
    of another account is usable only when its policy at least mentions the caller.
    """
    try:
        document = json.loads(text)
    except ValueError:
        return False
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    wanted = {"*", principal.account_id, arns.root(principal.account_id), principal.arn}
    if principal.role_arn:
        wanted.add(principal.role_arn)
    for statement in statements:
        if isinstance(statement, dict) and statement.get("Effect") == "Allow":
            if _principals(statement.get("Principal")) & wanted:
                return True
    return False


def _principals(value: Any) -> set[str]:
    if value == "*":
        return {"*"}
    if not isinstance(value, dict):
        return set()
    names = value.get("AWS", [])
    return {names} if isinstance(names, str) else {n for n in names if isinstance(n, str)}


def key_policy(db: Database, account_id: str, key_arn: str) -> str | None:
    """The key policy of ``key_arn`` (a key of ``account_id``), or None when there is no such key.

    For IAM's resource-policy evaluation. Alias ARNs have no resource policy (None); the form
    ``arn:aws:kms:<region>:<account>:key/alias/<name>`` resolves the alias. A key whose deletion
    date has passed no longer exists.
    """
    from seedbed.services.kms import keys

    with db.connect() as conn:
        key = keys.key_for_arn(conn, key_arn)
    if key is None or key.account_id != account_id:
        return None
    return key.policy


def resource_policy_source(backend: Backend, ctx: RequestContext, resource_arn: str) -> Any:
    """``(backend, ctx, arn) -> ResourcePolicy | None``: the owner and key policy of the key a
    resource ARN names (``key/<id>``, or ``key/alias/<name>`` as IAM renders an alias KeyId)."""
    from seedbed.iam.resources import ResourcePolicy
    from seedbed.services.kms import keys

    with backend.db.connect() as conn:
        key = keys.key_for_arn(conn, resource_arn)
    return ResourcePolicy(key.account_id, key.policy) if key is not None else None


def condition_key_source(
    backend: Backend, ctx: RequestContext, resource_arn: str, key: str
) -> tuple[str, ...] | None:
    """``(backend, ctx, arn, key) -> values``: ``kms:viaservice`` (while S3, Secrets Manager or SSM
    call KMS in-process through :mod:`~seedbed.services.kms.envelope`), ``kms:calleraccount``,
    and the key's ``aws:resourcetag/<k>``, ``kms:keyspec``, ``kms:keyusage``, ``kms:keyorigin``.
    ``key`` is lower-cased, as IAM passes it."""
    from seedbed.services.kms import envelope, keys

    if key == "kms:viaservice":
        via = envelope.via_service()
        internal = ctx.source_ip == INTERNAL_SOURCE
        return (f"{via}.{ctx.region}.amazonaws.com",) if via and internal else None
    if key == "kms:calleraccount":
        return (ctx.principal.account_id,) if ctx.principal else None
    with backend.db.connect() as conn:
        found = keys.key_for_arn(conn, resource_arn)
    if found is None:
        return None
    if key.startswith("aws:resourcetag/"):
        wanted = key.split("/", 1)[1]
        return next(((v,) for k, v in found.tags.items() if k.lower() == wanted), None)
    attributes = {
        "kms:keyspec": found.key_spec,
        "kms:keyusage": found.key_usage,
        "kms:keyorigin": found.origin,
    }
    return (attributes[key],) if key in attributes else None
