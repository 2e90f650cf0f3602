"""Change sets: what an update would do, computed the way the deployer decides it.

Each resource of the new template is compared with the stack's journal: ``Add`` when it is new,
``Remove`` when it is gone, ``Modify`` when its evaluated properties differ, with ``Replacement``
``True`` when a create-only property (from the resource schema) changes, ``Conditional`` when the
new value depends on a resource attribute not known until the update runs.
"""

from __future__ import annotations

from typing import Any

from seedbed.cloudformation import intrinsics, plan, schemas, types
from seedbed.cloudformation.intrinsics import UNRESOLVED, has_unresolved
from seedbed.cloudformation.journal import Rec

NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."


def compute(new_plan: plan.Plan, records: dict[str, Rec], region: str) -> list[dict[str, Any]]:
    def ref(name: str) -> Any:
        rec = records.get(name)
        if rec is None or rec.physical_id is None:
            return UNRESOLVED
        impl = types.get(rec.type)
        return impl.ref(rec.physical_id, rec.attributes) if impl else rec.physical_id

    def att(name: str, attribute: str) -> Any:
        rec = records.get(name)
        if rec is None or attribute not in rec.attributes:
            return UNRESOLVED
        return rec.attributes[attribute]

    scope = plan.scope_for(
        new_plan.tpl, new_plan.values, new_plan.pseudo, set(new_plan.active), ref, att,
        lambda n: UNRESOLVED, new_plan.conditions,
    )
    changes: list[dict[str, Any]] = []
    for name, resource in new_plan.active.items():
        rtype = resource["Type"]
        rec = records.get(name)
        if rec is None or rec.physical_id is None or rec.status.startswith("DELETE"):
            changes.append(_change("Add", name, rtype, None))
            continue
        props = intrinsics.evaluate(resource.get("Properties") or {}, scope)
        if rec.type == rtype and props == rec.properties:
            continue
        schema = schemas.get(rtype, region)
        old = rec.properties or {}
        names = sorted(set(old) | set(props))
        changed = [p for p in names if old.get(p) != props.get(p)]
        create_only = {p.split(".", 1)[0] for p in (schema.create_only if schema else [])}
        details = []
        replacement = "False"
        for prop in changed:
            recreate = "Always" if prop in create_only or rec.type != rtype else "Never"
            if recreate == "Always":
                replacement = "True"
            elif has_unresolved(props.get(prop)) and replacement == "False":
                replacement = "Conditional" if prop in create_only else replacement
            details.append({
                "Target": {"Attribute": "Properties", "Name": prop, "RequiresRecreation": recreate},
                "Evaluation": "Dynamic" if has_unresolved(props.get(prop)) else "Static",
                "ChangeSource": "DirectModification",
            })
        if rec.type != rtype:
            replacement = "True"
        change = _change("Modify", name, rtype, rec.physical_id, replacement)
        change["ResourceChange"]["Scope"] = ["Properties"]
        change["ResourceChange"]["Details"] = details
        changes.append(change)
    for name, rec in records.items():
        if name not in new_plan.active and not rec.status.startswith("DELETE"):
            changes.append(_change("Remove", name, rec.type, rec.physical_id))
    return changes


def _change(action: str, name: str, rtype: str, physical_id: str | None, replacement: str | None = None) -> dict[str, Any]:
    change: dict[str, Any] = {
        "Action": action, "LogicalResourceId": name, "ResourceType": rtype, "Scope": [], "Details": [],
    }
    if physical_id:
        change["PhysicalResourceId"] = physical_id
    if replacement is not None:
        change["Replacement"] = replacement
    return {"Type": "Resource", "ResourceChange": change}
