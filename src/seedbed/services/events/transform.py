"""What a target receives: the event itself, constant ``Input``, the part ``InputPath`` selects,
or ``InputTransformer``'s template filled from ``InputPathsMap``.

Paths are the JSONPath subset EventBridge documents: ``$``, ``$.a.b``, ``$['a-b']``, ``$.a[0]``.
In an ``InputTemplate``, ``<name>`` is replaced by the variable's value: inside a JSON string
as the (escaped) text, elsewhere as JSON. Predefined variables: ``<aws.events.rule-arn>``,
``<aws.events.rule-name>``, ``<aws.events.event.ingestion-time>``, ``<aws.events.event>`` and
``<aws.events.event.json>`` (the whole event as JSON).
"""

from __future__ import annotations

import json
import re
from typing import Any

_STEP = re.compile(r"""\.([^.\[\]]+)|\[\s*(\d+)\s*\]|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\]""")
_VARIABLE = re.compile(r"<([^<>\s]+)>")
_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
MAX_VARIABLES = 100
_NOTHING = object()


class PathError(ValueError):
    pass


def parse_path(path: str) -> list[str | int]:
    """The steps of a JSONPath; PathError when it is not in the supported subset."""
    text = path.strip()
    if not text.startswith("$"):
        raise PathError(path)
    steps: list[str | int] = []
    pos = 1
    while pos < len(text):
        m = _STEP.match(text, pos)
        if not m:
            raise PathError(path)
        if m.group(1) is not None:
            steps.append(m.group(1))
        elif m.group(2) is not None:
            steps.append(int(m.group(2)))
        else:
            steps.append(m.group(3) if m.group(3) is not None else m.group(4))
        pos = m.end()
    return steps


def select(document: Any, path: str) -> Any:
    """The value at ``path``, or None when the event has nothing there."""
    value = document
    for step in parse_path(path):
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return None
            value = value[step]
        else:
            if not isinstance(value, dict) or step not in value:
                return None
            value = value[step]
    return value


def check_transformer(paths: dict[str, str], template: str) -> str | None:
    """Why an InputTransformer is refused, or None."""
    if len(paths) > MAX_VARIABLES:
        return f"InputPathsMap has more than {MAX_VARIABLES} entries."
    for name, path in paths.items():
        if not _NAME.match(name):
            return f"InputPathsMap key {name} is not valid."
        if name.startswith("aws."):
            return "InputPathsMap key cannot start with 'aws.'."
        try:
            parse_path(path)
        except PathError:
            return f"Invalid InputPathsMap value for key {name}: {path}"
    return None


def render(
    template: str, paths: dict[str, str], event: dict[str, Any], rule_arn: str, rule_name: str
) -> str:
    """Fill ``template``: each ``<var>`` in the template becomes its value from the event."""
    values: dict[str, Any] = {name: select(event, path) for name, path in paths.items()}
    predefined = {
        "aws.events.rule-arn": rule_arn,
        "aws.events.rule-name": rule_name,
        "aws.events.event.ingestion-time": event.get("time"),
        "aws.events.event": event,
        "aws.events.event.json": event,
    }
    out: list[str] = []
    in_string = False
    escaped = False
    pos = 0
    while pos < len(template):
        ch = template[pos]
        if ch == "<":
            m = _VARIABLE.match(template, pos)
            if m:
                name = m.group(1)
                value = values.get(name, _NOTHING)
                if value is _NOTHING:
                    value = predefined.get(name, _NOTHING)
                if value is not _NOTHING:
                    out.append(_text(value, in_string))
                    pos = m.end()
                    escaped = False
                    continue
        out.append(ch)
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        pos += 1
    return "".join(out)


def _text(value: Any, in_string: bool) -> str:
    if in_string:
        if value is None:
            return ""
        raw = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        return json.dumps(raw)[1:-1]
    return json.dumps(value, separators=(",", ":"))


def target_input(target: dict[str, Any], event: dict[str, Any], rule_arn: str, rule_name: str) -> str:
    """The payload (JSON text, or the template's text) the target receives for ``event``."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        return json.dumps(select(event, target["InputPath"]))
    transformer = target.get("InputTransformer")
    if transformer:
        return render(
            transformer["InputTemplate"], transformer.get("InputPathsMap") or {}, event, rule_arn,
            rule_name,
        )
    return json.dumps(event)
