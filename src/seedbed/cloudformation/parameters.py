"""Template parameters: types, constraints, defaults, NoEcho, and the pseudo parameters.

Parameter values arrive as strings. A ``Ref`` yields a string for scalar types and a list for
``List<...>`` and ``CommaDelimitedList``. ``AWS::SSM::Parameter::Value<...>`` parameters hold a
parameter *name*; the engine looks its value up in SSM (through the SSM provider) when the stack
operation starts, as AWS does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from seedbed.cloudformation.errors import CfnValidationError, TemplateError

SCALAR_TYPES = {"String", "Number"}
LIST_TYPES = {"List<Number>", "CommaDelimitedList"}
SSM_VALUE = re.compile(r"^AWS::SSM::Parameter::Value<(.+)>$")
AWS_SPECIFIC = re.compile(r"^(List<)?AWS::[A-Za-z0-9]+::[A-Za-z0-9:]+(>)?$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
MASK = "****"
PSEUDO = (
    "AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
    "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
)


def check_declaration(name: str, decl: dict[str, Any]) -> None:
    ptype = decl.get("Type")
    if not isinstance(ptype, str) or not (
        ptype in SCALAR_TYPES or ptype in LIST_TYPES or SSM_VALUE.match(ptype) or AWS_SPECIFIC.match(ptype)
    ):
        raise CfnValidationError(f"Template format error: Unrecognized parameter type: {ptype}")
    if len(name) > 255 or not name.isalnum():
        raise CfnValidationError(f"Template format error: Parameter name {name} is non alphanumeric.")


def is_list_type(ptype: str) -> bool:
    inner = SSM_VALUE.match(ptype)
    if inner:
        ptype = inner.group(1)
    return ptype in LIST_TYPES or ptype.startswith("List<")


def is_ssm_value(ptype: str) -> bool:
    return bool(SSM_VALUE.match(ptype))


@dataclass
class Resolved:
    """The values a stack runs with: ``given`` as DescribeStacks shows them, ``values`` for Ref."""

    given: dict[str, str]
    values: dict[str, Any]
    resolved_ssm: dict[str, str]


def merge(
    declared: dict[str, dict[str, Any]],
    supplied: list[dict[str, Any]],
    previous: dict[str, str] | None = None,
) -> dict[str, str]:
    """Supplied ``Parameters`` + defaults (+ UsePreviousValue) -> a string per declared name."""
    given: dict[str, str] = {}
    unknown = []
    for item in supplied:
        key = item.get("ParameterKey")
        if key not in declared:
            unknown.append(str(key))
            continue
        if item.get("UsePreviousValue"):
            if previous is None or key not in previous:
                raise CfnValidationError(f"Invalid input for parameter key {key}. Cannot specify usePreviousValue as true for a parameter key not in the previous template")
            given[key] = previous[key]
        elif "ParameterValue" in item:
            given[key] = str(item["ParameterValue"])
    if unknown:
        raise CfnValidationError(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    missing = []
    for name, decl in declared.items():
        if name in given:
            continue
        if "Default" in decl:
            default = decl["Default"]
            given[name] = ",".join(str(v) for v in default) if isinstance(default, list) else _scalar(default)
        else:
            missing.append(name)
    if missing:
        raise CfnValidationError(f"Parameters: [{', '.join(missing)}] must have values")
    return given


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_constraints(name: str, decl: dict[str, Any], value: str) -> None:
    """AllowedValues, AllowedPattern, lengths and numeric bounds, as AWS words their failures."""
    ptype = decl["Type"]
    items = [v.strip() for v in value.split(",")] if is_list_type(ptype) and value else [value]
    description = decl.get("ConstraintDescription")
    for item in items:
        if ptype in ("Number", "List<Number>") and not NUMBER.match(item):
            raise CfnValidationError(f"Parameter '{name}' must be a number.")
        allowed = decl.get("AllowedValues")
        if allowed is not None and item not in [_scalar(v) for v in allowed]:
            raise CfnValidationError(description or f"Parameter '{name}' must be one of AllowedValues")
        pattern = decl.get("AllowedPattern")
        if pattern is not None:
            try:
                matched = re.fullmatch(str(pattern), item) is not None
            except re.error:
                matched = True  # a Java-only regex we cannot run: AWS would have judged it
            if not matched:
                raise CfnValidationError(description or f"Parameter '{name}' must match pattern {pattern}")
        if "MinLength" in decl and len(item) < int(decl["MinLength"]):
            raise CfnValidationError(description or f"Parameter '{name}' must contain at least {decl['MinLength']} characters")
        if "MaxLength" in decl and len(item) > int(decl["MaxLength"]):
            raise CfnValidationError(description or f"Parameter '{name}' must contain at most {decl['MaxLength']} characters")
        if "MinValue" in decl and float(item) < float(decl["MinValue"]):
            raise CfnValidationError(description or f"Parameter '{name}' must be a number not less than {decl['MinValue']}")
        if "MaxValue" in decl and float(item) > float(decl["MaxValue"]):
            raise CfnValidationError(description or f"Parameter '{name}' must be a number not greater than {decl['MaxValue']}")


async def resolve(
    declared: dict[str, dict[str, Any]],
    given: dict[str, str],
    ssm_lookup: Callable[[str], Awaitable[str]] | None,
) -> Resolved:
    """Check every value, look SSM-typed ones up, and produce what ``Ref`` returns."""
    values: dict[str, Any] = {}
    from_ssm: dict[str, str] = {}
    for name, decl in declared.items():
        check_declaration(name, decl)
        value = given[name]
        ptype = decl["Type"]
        if is_ssm_value(ptype):
            if ssm_lookup is None:
                raise CfnValidationError(f"Parameter {name} needs SSM, which is not available")
            value = await ssm_lookup(value)
            from_ssm[name] = value
        else:
            check_constraints(name, decl, value)
        values[name] = [v.strip() for v in value.split(",")] if is_list_type(ptype) else value
        if is_list_type(ptype) and value == "":
            values[name] = []
    return Resolved(given=given, values=values, resolved_ssm=from_ssm)


def pseudo(account: str, region: str, stack_name: str, stack_id: str, notification_arns: list[str]) -> dict[str, Any]:
    from seedbed.cloudformation.intrinsics import NO_VALUE

    return {
        "AWS::AccountId": account,
        "AWS::Region": region,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack_name,
        "AWS::StackId": stack_id,
        "AWS::NotificationARNs": list(notification_arns),
        "AWS::NoValue": NO_VALUE,
    }


def describe(declared: dict[str, dict[str, Any]], given: dict[str, str], from_ssm: dict[str, str]) -> list[dict[str, Any]]:
    """DescribeStacks' ``Parameters``: NoEcho values masked, SSM-typed ones with ResolvedValue."""
    out = []
    for name, decl in declared.items():
        if name not in given:
            continue
        noecho = str(decl.get("NoEcho", "false")).lower() == "true"
        item: dict[str, Any] = {"ParameterKey": name, "ParameterValue": MASK if noecho else given[name]}
        if name in from_ssm:
            item["ResolvedValue"] = from_ssm[name]
        out.append(item)
    return out


def summary(declared: dict[str, dict[str, Any]], for_summary: bool) -> list[dict[str, Any]]:
    """ValidateTemplate's and GetTemplateSummary's ``Parameters`` (the latter adds type and constraints)."""
    out = []
    for name, decl in declared.items():
        check_declaration(name, decl)
        item: dict[str, Any] = {"ParameterKey": name}
        if "Default" in decl:
            default = decl["Default"]
            item["DefaultValue"] = ",".join(str(v) for v in default) if isinstance(default, list) else _scalar(default)
        if for_summary:
            item["ParameterType"] = decl["Type"]
        item["NoEcho"] = str(decl.get("NoEcho", "false")).lower() == "true"
        if "Description" in decl:
            item["Description"] = str(decl["Description"])
        if for_summary:
            allowed = decl.get("AllowedValues")
            item["ParameterConstraints"] = {"AllowedValues": [_scalar(v) for v in allowed]} if allowed else {}
        out.append(item)
    return out


def check_template_parameters(declared: dict[str, Any]) -> None:
    if len(declared) > 200:
        raise TemplateError("Parameter count 201 is greater than max allowed 200")
    for name, decl in declared.items():
        check_declaration(name, decl)
