"""From a template and parameters to a checked plan, before anything is created.

:func:`prepare` does every check AWS does up front and a few Seedbed adds: the anatomy, parameter
values and constraints, conditions, unknown resource types, types Seedbed cannot create yet,
dependency cycles, capabilities, ``Fn::GetAtt`` attribute names, and each resource's properties
against its published schema (with values that depend on other resources left out).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from seedbed.cloudformation import dynamic, graph, intrinsics, parameters, schemas, template, types
from seedbed.cloudformation.errors import (
    CfnValidationError,
    InsufficientCapabilities,
    TemplateError,
)
from seedbed.cloudformation.intrinsics import UNRESOLVED, Scope

IAM_TYPES = {
    "AWS::IAM::AccessKey", "AWS::IAM::Group", "AWS::IAM::InstanceProfile", "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy", "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::UserToGroupAddition",
    "AWS::IAM::ServiceLinkedRole", "AWS::IAM::RolePolicy", "AWS::IAM::UserPolicy", "AWS::IAM::GroupPolicy",
}
NAME_PROPS = {"RoleName", "UserName", "GroupName", "ManagedPolicyName", "InstanceProfileName"}


@dataclass
class Plan:
    tpl: template.Template
    given: dict[str, str]
    values: dict[str, Any]
    ssm_resolved: dict[str, str]
    pseudo: dict[str, Any]
    conditions: dict[str, bool]
    active: dict[str, dict[str, Any]]
    graph: dict[str, set[str]]
    imports: list[str] = field(default_factory=list)


def required_capabilities(tpl: template.Template) -> tuple[list[str], str | None]:
    """CAPABILITY_NAMED_IAM when an IAM resource has a custom name, CAPABILITY_IAM otherwise."""
    iam = {n: r for n, r in tpl.resources.items() if r.get("Type") in IAM_TYPES}
    caps: list[str] = []
    if iam:
        named = any(NAME_PROPS & set((r.get("Properties") or {})) for r in iam.values())
        caps.append("CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM")
    if tpl.transforms:  # macros, AWS::LanguageExtensions included, need the acknowledgement
        caps.append("CAPABILITY_AUTO_EXPAND")
    reason = None
    if iam:
        reason = f"The following resource(s) require capabilities: [{', '.join(sorted({r['Type'] for r in iam.values()}))}]"
    return caps, reason


def check_capabilities(tpl: template.Template, granted: list[str]) -> None:
    needed, _ = required_capabilities(tpl)
    for cap in needed:
        if cap == "CAPABILITY_IAM" and ("CAPABILITY_IAM" in granted or "CAPABILITY_NAMED_IAM" in granted):
            continue
        if cap not in granted:
            raise InsufficientCapabilities(f"Requires capabilities : [{cap}]")


def static_checks(tpl: template.Template, region: str) -> None:
    """What ValidateTemplate checks without parameter values."""
    parameters.check_template_parameters(tpl.parameters)
    if tpl.transforms:
        unsupported = [t for t in tpl.transforms if t != template.LANGUAGE_EXTENSIONS]
        if unsupported:
            raise CfnValidationError(f"Template format error: Seedbed does not run the transform(s) {unsupported}")
    unknown = sorted({r["Type"] for r in tpl.resources.values() if not schemas.known_type(r["Type"], region)})
    if unknown:
        raise TemplateError(f"Unrecognized resource types: [{', '.join(unknown)}]")
    for name, cond in tpl.conditions.items():
        if not isinstance(name, str):
            raise TemplateError("Condition names must be strings")
    for name, resource in tpl.resources.items():
        cond = resource.get("Condition")
        if cond is not None and cond not in tpl.conditions:
            raise TemplateError(f"Unresolved dependencies [{cond}]. Cannot reference resources in the Conditions block of the template")
    graph.build(tpl.resources)  # cycles and unknown DependsOn targets, whatever the conditions


def scope_for(
    tpl: template.Template,
    values: dict[str, Any],
    pseudo: dict[str, Any],
    active: set[str],
    resource_ref: Callable[[str], Any],
    resource_att: Callable[[str, str], Any],
    import_value: Callable[[str], Any],
    conditions: dict[str, bool] | None = None,
) -> Scope:
    return Scope(
        parameters=values,
        pseudo=pseudo,
        mappings=tpl.mappings,
        condition_defs=tpl.conditions,
        resource_names=active,
        resource_ref=resource_ref,
        resource_att=resource_att,
        import_value=import_value,
        language_extensions=tpl.language_extensions,
        conditions=dict(conditions or {}),
    )


def check_attribute(tpl: template.Template, name: str, attribute: str, region: str) -> None:
    rtype = tpl.resources[name]["Type"]
    impl = types.get(rtype)
    if rtype.startswith("Custom::") or rtype in ("AWS::CloudFormation::CustomResource", "AWS::CloudFormation::Stack"):
        return
    if impl is not None and impl.any_attribute():
        return
    schema = schemas.get(rtype, region)
    if schema is None or attribute in schema.attributes():
        return
    raise TemplateError(f"Template error: resource {name} does not support attribute type {attribute} in Fn::GetAtt")


async def prepare(
    tpl: template.Template,
    supplied: list[dict[str, Any]],
    *,
    account: str,
    region: str,
    stack_name: str,
    stack_id: str,
    notification_arns: list[str],
    capabilities: list[str],
    ssm_lookup: Callable[[str], Awaitable[str]] | None,
    previous: dict[str, str] | None = None,
    check_creatable: bool = True,
) -> Plan:
    static_checks(tpl, region)
    given = parameters.merge(tpl.parameters, supplied, previous)
    resolved = await parameters.resolve(tpl.parameters, given, ssm_lookup)
    pseudo = parameters.pseudo(account, region, stack_name, stack_id, notification_arns)
    imports: list[str] = []

    def record_import(name: str) -> Any:
        imports.append(name)
        return UNRESOLVED

    names = set(tpl.resources)
    probe = scope_for(tpl, resolved.values, pseudo, names, lambda n: UNRESOLVED, lambda n, a: UNRESOLVED, record_import)
    conditions = {name: probe.condition(name) for name in tpl.conditions}
    active = {n: r for n, r in tpl.resources.items() if r.get("Condition") is None or conditions[r["Condition"]]}
    if check_creatable:
        missing = sorted({r["Type"] for r in active.values() if not types.creatable(r["Type"])})
        if missing:
            raise CfnValidationError(
                "Seedbed cannot create these resource types yet: [" + ", ".join(missing) + "]. "
                "Nothing was created."
            )
    deps = graph.build(active, lambda c: conditions[c])

    def att(name: str, attribute: str) -> Any:
        check_attribute(tpl, name, attribute, region)
        return UNRESOLVED

    scope = scope_for(tpl, resolved.values, pseudo, set(active), lambda n: UNRESOLVED, att, record_import, conditions)
    problems: list[str] = []
    evaluated: list[tuple[str, Any]] = []
    for name, resource in active.items():
        props = intrinsics.evaluate(resource.get("Properties") or {}, scope)
        evaluated.append((resource["Type"], props))
        schema = schemas.get(resource["Type"], region)
        if schema is None or resource["Type"] == "AWS::CloudFormation::CustomResource" or resource["Type"].startswith("Custom::"):
            if "ServiceToken" not in props and (resource["Type"].startswith("Custom::") or resource["Type"] == "AWS::CloudFormation::CustomResource"):
                problems.append(f"{name}: #: required key [ServiceToken] not found")
            continue
        for message in schema.validate(dynamic.unknown(props)):
            problems.append(f"{name}: {message}")
    if problems:
        raise CfnValidationError("Properties validation failed for resource(s): " + "; ".join(problems[:20]))
    dynamic.check(evaluated)
    for name, output in tpl.outputs.items():
        cond = output.get("Condition")
        if cond is not None and cond not in conditions:
            raise TemplateError(f"Unresolved dependencies [{cond}]. Cannot reference resources in the Conditions block of the template")
        if cond is None or conditions[cond]:
            intrinsics.evaluate(output.get("Value"), scope)
            if "Export" in output:
                intrinsics.evaluate(output["Export"], scope)
    check_capabilities(tpl, capabilities)
    return Plan(
        tpl=tpl,
        given=given,
        values=resolved.values,
        ssm_resolved=resolved.resolved_ssm,
        pseudo=pseudo,
        conditions=conditions,
        active=active,
        graph=deps,
        imports=sorted(set(imports)),
    )
