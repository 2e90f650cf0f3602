"""Pure helpers of the web UI (no I/O): parameter forms built from a template's declarations,
form values turned into API parameters, status badges, metrics flattened for display."""

from __future__ import annotations

import re
from typing import Any

from seedbed.services.sagemaker.catalog import SUPPLIED

#: Form field prefix of template parameters (``param.Stage``).
PARAM = "param."
_TEMPLATE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")

GOOD = ("Completed", "Succeeded", "InService", "Approved", "_COMPLETE", "Active", "Success", "Enabled")
BAD = ("Fail", "FAILED", "ROLLBACK", "Rejected", "Stopped", "OutOfService", "Error")
BUSY = ("InProgress", "IN_PROGRESS", "Pending", "Executing", "Creating", "Updating", "Deleting",
        "Stopping", "RollingBack", "SystemUpdating", "Starting", "Running", "Provisioning")
#: Statuses a page keeps polling for (PendingManualApproval waits on a person, not on Seedbed).
WAITING_ON_PEOPLE = ("PendingManualApproval",)


def badge(status: Any) -> str:
    """The CSS class of a status badge: good, bad, busy or idle."""
    text = str(status or "")
    if text in WAITING_ON_PEOPLE:
        return "idle"
    if any(word in text for word in BAD):
        return "bad"
    if any(word in text for word in BUSY):
        return "busy"
    if any(word in text for word in GOOD):
        return "good"
    return "idle"


def in_progress(*statuses: Any) -> bool:
    return any(badge(s) == "busy" for s in statuses)


def template_name(name: str) -> str:
    """A catalog file name as CfnTemplateProvider.TemplateName accepts it (1-32 of [a-zA-Z0-9-],
    no leading or trailing hyphen)."""
    cleaned = re.sub(r"[^a-zA-Z0-9-]+", "-", name).strip("-")[:32].strip("-")
    return cleaned if cleaned and _TEMPLATE_NAME.fullmatch(cleaned) else "template"


def fields(parameters: list[dict[str, Any]], groups: list[dict[str, Any]],
           values: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Fieldsets for a template's parameters: its ``AWS::CloudFormation::Interface`` groups in
    order, then the rest. Each field has ``name``, ``label``, ``input`` (select, number, password,
    text), ``options``, ``value``, ``required``, ``min``/``max``, ``hint``; the parameters
    SageMaker supplies are left out."""
    values = values or {}
    by_name = {p["Name"]: p for p in parameters if not p.get("SuppliedBySageMaker") and p["Name"] not in SUPPLIED}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for group in groups:
        members = [by_name[n] for n in group.get("Parameters") or [] if n in by_name and n not in seen]
        if members:
            seen.update(p["Name"] for p in members)
            out.append({"label": group.get("Label") or "Parameters", "fields": [_field(p, values) for p in members]})
    rest = [p for name, p in by_name.items() if name not in seen]
    if rest:
        out.append({"label": "Parameters" if not out else "Other parameters", "fields": [_field(p, values) for p in rest]})
    return out


def _field(param: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    constraints = param.get("Constraints") or {}
    kind = str(param.get("Type") or "String")
    default = param.get("Default")
    value = values.get(param["Name"], default if isinstance(default, str) else None)
    field: dict[str, Any] = {
        "name": param["Name"], "label": param.get("Label") or param["Name"], "type": kind,
        "description": param.get("Description") or "", "value": "" if value is None else value,
        "required": "Default" not in param, "options": None, "input": "text", "min": None, "max": None,
        "minlength": constraints.get("MinLength"), "maxlength": constraints.get("MaxLength"),
        "hint": _hint(kind, constraints, default),
    }
    if constraints.get("AllowedValues"):
        field["input"] = "select"
        field["options"] = [str(v) for v in constraints["AllowedValues"]]
    elif param.get("NoEcho"):
        field["input"] = "password"
    elif kind == "Number":
        field["input"] = "number"
        field["min"], field["max"] = constraints.get("MinValue"), constraints.get("MaxValue")
    return field


def _hint(kind: str, constraints: dict[str, Any], default: Any) -> str:
    bits = [kind]
    if "MinValue" in constraints or "MaxValue" in constraints:
        bits.append(f"{constraints.get('MinValue', '')}..{constraints.get('MaxValue', '')}")
    if "MinLength" in constraints or "MaxLength" in constraints:
        bits.append(f"length {constraints.get('MinLength', 0)}..{constraints.get('MaxLength', '')}")
    if constraints.get("AllowedPattern"):
        bits.append(f"pattern {constraints['AllowedPattern']}")
    if default is not None:
        bits.append(f"default {default!s}" if str(default) else "default empty")
    text = ", ".join(bits)
    if constraints.get("ConstraintDescription"):
        text += f". {constraints['ConstraintDescription']}"
    return text


def parameter_values(form: dict[str, str], parameters: list[dict[str, Any]], keep_empty: bool = False) -> list[dict[str, str]]:
    """``[{"Key", "Value"}]`` for CreateProject/UpdateProject from the submitted form. An empty
    field of a parameter with a default is left out (CloudFormation applies the default) unless
    ``keep_empty``; SageMaker's own parameters are never sent."""
    out = []
    for param in parameters:
        name = param["Name"]
        if param.get("SuppliedBySageMaker") or name in SUPPLIED or PARAM + name not in form:
            continue
        value = form[PARAM + name]
        if value == "" and "Default" in param and not keep_empty:
            continue
        out.append({"Key": name, "Value": value})
    return out


def parse_tags(text: str) -> list[dict[str, str]]:
    """``key=value`` per line (or comma-separated) into SageMaker tags; raises ValueError."""
    tags = []
    for raw in re.split(r"[\n,]", text or ""):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"Tag {line!r} is not key=value.")
        tags.append({"Key": key.strip(), "Value": value.strip()})
    return tags


def flatten_metrics(doc: Any, prefix: str = "", limit: int = 24) -> list[tuple[str, Any]]:
    """Numbers in a metrics report (SageMaker's ``{"regression_metrics": {"mse": {"value": 4.1}}}``
    and friends) as ``(path, value)`` pairs; ``.value`` is dropped from the path."""
    out: list[tuple[str, Any]] = []

    def walk(node: Any, path: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(node, bool):
            return
        if isinstance(node, (int, float)):
            out.append((path.removesuffix(".value") or "value", node))
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            for i, value in enumerate(node[:8]):
                walk(value, f"{path}[{i}]")

    walk(doc, prefix)
    return out


def looks_like_clone_url(key: str, value: Any) -> bool:
    """A stack output that is a git URL (CodeCommit, Seedbed's git hosting, GitHub, any .git)."""
    if not isinstance(value, str) or not value.startswith(("http://", "https://", "ssh://", "git@", "codecommit::")):
        return False
    lowered = key.lower()
    return (value.endswith(".git") or "/v1/repos/" in value or "/git-http/" in value or "/_seedbed/git/" in value
            or value.startswith("codecommit::") or "clone" in lowered or "repo" in lowered)
