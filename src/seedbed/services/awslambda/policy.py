"""Function resource policies: the statements AddPermission writes, and the check a service's
invocation must pass (EventBridge targets, S3 notifications, custom resources through SNS...).

AddPermission builds one statement per call, as Lambda does: the principal as ``{"Service": ...}``
for a service, ``{"AWS": "arn:aws:iam::<account>:root"}`` for an account id, ``{"AWS": <arn>}``
for an ARN, or ``"*"``; ``SourceAccount`` as ``StringEquals AWS:SourceAccount``; ``SourceArn``
as ``ArnLike AWS:SourceArn``; ``PrincipalOrgID``, ``EventSourceToken`` and
``FunctionUrlAuthType`` as ``StringEquals`` on their keys. The document is
``{"Version": "2012-10-17", "Id": "default", "Statement": [...]}``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from seedbed.iam import evaluator
from seedbed.iam.context_keys import ConditionContext
from seedbed.iam.document import MalformedPolicyDocument, PolicyKind, parse
from seedbed.iam.evaluator import Caller, NamedPolicy, PrincipalKind
from seedbed.services.awslambda.errors import InvalidParameterValue, PolicyLengthExceeded

MAX_POLICY_BYTES = 20_480
_ACCOUNT = re.compile(r"^\d{12}$")
_SERVICE = re.compile(r"^[a-z0-9.-]+\.(amazonaws\.com|amazon\.com|aws\.internal)$")


def principal_element(principal: str) -> Any:
    if principal == "*":
        return "*"
    if _ACCOUNT.match(principal):
        return {"AWS": f"arn:aws:iam::{principal}:root"}
    if principal.startswith("arn:"):
        return {"AWS": principal}
    if _SERVICE.match(principal) or "." in principal:
        return {"Service": principal}
    raise InvalidParameterValue(
        "The provided principal was invalid. Please check the principal and try again."
    )


def statement(params: dict[str, Any], resource: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Sid": params["StatementId"],
        "Effect": "Allow",
        "Principal": principal_element(params["Principal"]),
        "Action": params["Action"],
        "Resource": resource,
    }
    condition: dict[str, dict[str, str]] = {}
    if params.get("SourceAccount"):
        condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = params["SourceAccount"]
    if params.get("PrincipalOrgID"):
        condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = params["PrincipalOrgID"]
    if params.get("EventSourceToken"):
        condition.setdefault("StringEquals", {})["lambda:EventSourceToken"] = params["EventSourceToken"]
    if params.get("FunctionUrlAuthType"):
        condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = params["FunctionUrlAuthType"]
    if params.get("InvokedViaFunctionUrl"):
        condition.setdefault("Bool", {})["lambda:InvokedViaFunctionUrl"] = "true"
    if params.get("SourceArn"):
        condition.setdefault("ArnLike", {})["AWS:SourceArn"] = params["SourceArn"]
    if condition:
        out["Condition"] = condition
    return out


def add(document: str | None, new: dict[str, Any]) -> str:
    """The policy text with ``new`` added; ResourceConflict is the caller's to raise for a
    duplicate Sid (checked with :func:`sids`)."""
    policy = json.loads(document) if document else {"Version": "2012-10-17", "Id": "default", "Statement": []}
    policy["Statement"].append(new)
    text = json.dumps(policy, separators=(",", ":"))
    if len(text.encode()) > MAX_POLICY_BYTES:
        size = len(text.encode())
        raise PolicyLengthExceeded(f"The final policy size ({size}) is bigger than the limit ({MAX_POLICY_BYTES}).")
    return text


def sids(document: str | None) -> list[str]:
    if not document:
        return []
    return [str(s.get("Sid")) for s in json.loads(document).get("Statement", [])]


def remove(document: str, sid: str) -> str | None:
    """The policy without statement ``sid``; None when no statement is left."""
    policy = json.loads(document)
    policy["Statement"] = [s for s in policy.get("Statement", []) if s.get("Sid") != sid]
    if not policy["Statement"]:
        return None
    return json.dumps(policy, separators=(",", ":"))


def service_may_invoke(
    document: str | None,
    resource: str,
    owner: str,
    service_principal: str,
    source_arn: str | None,
    source_account: str | None,
) -> evaluator.Decision:
    """Whether the resource policy lets ``service_principal`` call lambda:InvokeFunction on
    ``resource`` for the given source (a service principal needs an allow that names it)."""
    caller = Caller(PrincipalKind.SERVICE, service_principal, "")
    named = None
    if document:
        try:
            named = NamedPolicy(parse(document, PolicyKind.RESOURCE), f"resource policy of {resource}")
        except MalformedPolicyDocument:
            named = None
    lookup = ConditionContext(None, caller, {}, resource, owner, {})
    lookup.set("aws:sourcearn", (source_arn,) if source_arn else None)
    lookup.set("aws:sourceaccount", (source_account,) if source_account else None)
    return evaluator.evaluate(caller, "lambda:InvokeFunction", resource, lookup, resource_policy=named,
                              resource_account=owner)
