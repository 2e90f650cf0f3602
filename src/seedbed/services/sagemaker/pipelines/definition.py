"""Pipeline definitions (the JSON the SageMaker Python SDK's ``pipeline.definition()`` writes):
parsing and checking, the step graph, and the expression language (``Get``, ``Std:Join``,
``Std:JsonGet``, conditions). Pure functions: the interpreter supplies what they read."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import jmespath

JOB_TYPES = {"Processing": "ProcessingJob", "Training": "TrainingJob", "Transform": "TransformJob"}
CACHEABLE = {"Processing", "Training", "Transform", "Tuning", "AutoML", "EMR", "QualityCheck", "ClarifyCheck"}
#: Steps that run a Model Monitor or Clarify job and check drift against a baseline (check_steps).
CHECK_TYPES = {"QualityCheck", "ClarifyCheck"}
NOT_BUILT = {
    "EMR": "EMR steps need Amazon EMR, which Seedbed does not implement (it cannot run a cluster locally).",
    "AutoML": "AutoML steps need SageMaker Autopilot, which Seedbed does not implement yet.",
    "Notebook": "Notebook job steps are not implemented in Seedbed yet.",
}
KNOWN_TYPES = {*JOB_TYPES, *CHECK_TYPES, "Tuning", "Model", "CreateModel", "RegisterModel", "Condition", "Fail", "Lambda", "Callback", *NOT_BUILT}
PARAMETER_TYPES = ("String", "Integer", "Float", "Boolean")

#: The cache key attributes of each step type (AWS: "Default cache key attributes by pipeline step type").
CACHE_ATTRIBUTES = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": ("AlgorithmSpecification", "CheckpointConfig", "DebugHookConfig", "DebugRuleConfigurations",
                 "Environment", "HyperParameters", "InputDataConfig"),
    "Tuning": ("HyperParameterTuningJobConfig", "TrainingJobDefinition", "TrainingJobDefinitions"),
    "Transform": ("DataProcessing", "Environment", "ModelName", "TransformInput"),
    "QualityCheck": ("AppSpecification", "Environment", "ProcessingInputs"),
    "ClarifyCheck": ("AppSpecification", "Environment", "ProcessingInputs"),
}


class DefinitionError(ValueError):
    """The definition is not one SageMaker would accept; the message says why."""


@dataclass
class Step:
    name: str
    type: str
    raw: dict[str, Any]
    depends: set[str] = field(default_factory=set)
    #: (condition step, True for IfSteps / False for ElseSteps) for a step inside a condition branch.
    branch: tuple[str, bool] | None = None

    @property
    def arguments(self) -> Any:
        return self.raw.get("Arguments") or {}

    @property
    def display_name(self) -> str | None:
        return self.raw.get("DisplayName")

    @property
    def description(self) -> str | None:
        return self.raw.get("Description")

    @property
    def cache_enabled(self) -> bool:
        return bool((self.raw.get("CacheConfig") or {}).get("Enabled")) and self.type in CACHEABLE

    @property
    def cache_expiry(self) -> timedelta | None:
        text = (self.raw.get("CacheConfig") or {}).get("ExpireAfter")
        return parse_duration(text) if text else None

    @property
    def retry_policies(self) -> list[dict[str, Any]]:
        return list(self.raw.get("RetryPolicies") or [])


@dataclass
class Definition:
    steps: dict[str, Step]
    parameters: list[dict[str, Any]]
    raw: dict[str, Any]

    def top_level(self) -> list[Step]:
        return [s for s in self.steps.values() if s.branch is None]


_DURATION = re.compile(r"^P?(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration as CacheConfig.ExpireAfter takes it ("P30D", "PT1H", "30d", "T16m")."""
    match = _DURATION.match(text.strip())
    if not match or not any(match.groups()):
        raise DefinitionError(f"CacheConfig ExpireAfter {text!r} is not an ISO 8601 duration.")
    y, mo, w, d, h, mi, s = (int(g or 0) for g in match.groups())
    return timedelta(days=365 * y + 30 * mo + 7 * w + d, hours=h, minutes=mi, seconds=s)


def references(value: Any) -> set[str]:
    """The step names a value refers to (``Get: Steps.<name>...``)."""
    found: set[str] = set()
    if isinstance(value, dict):
        get = value.get("Get")
        if isinstance(get, str) and get.startswith("Steps."):
            found.add(get.split(".", 2)[1].split("[", 1)[0])
        for item in value.values():
            found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def parse(text: str) -> Definition:
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise DefinitionError(f"The pipeline definition is not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("Steps"), list):
        raise DefinitionError("The pipeline definition must be a JSON object with a Steps list.")
    parameters = raw.get("Parameters") or []
    if not isinstance(parameters, list):
        raise DefinitionError("Parameters must be a list.")
    seen_params: set[str] = set()
    for p in parameters:
        if not isinstance(p, dict) or not p.get("Name") or p.get("Type", "String") not in PARAMETER_TYPES:
            raise DefinitionError(f"Invalid parameter {p!r}: a Name and a Type of {', '.join(PARAMETER_TYPES)} are required.")
        if p["Name"] in seen_params:
            raise DefinitionError(f"Parameter {p['Name']} is defined more than once.")
        seen_params.add(p["Name"])
    steps: dict[str, Step] = {}

    def add(items: Any, branch: tuple[str, bool] | None) -> None:
        if not isinstance(items, list):
            raise DefinitionError("Steps must be a list of step objects.")
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("Name"), str) or not item.get("Type"):
                raise DefinitionError(f"Every step needs a Name and a Type: {str(item)[:200]}")
            name, kind = item["Name"], item["Type"]
            if not re.fullmatch(r"[A-Za-z0-9\-_]{1,64}", name):
                raise DefinitionError(f"Step name {name!r} must be 1-64 letters, digits, '-' or '_'.")
            if name in steps:
                raise DefinitionError(f"Step name {name} is used more than once.")
            if kind not in KNOWN_TYPES:
                raise DefinitionError(f"Step {name} has an unknown type {kind}.")
            step = Step(name, kind, item, branch=branch)
            step.depends = set(item.get("DependsOn") or []) | references(item.get("Arguments"))
            for key in ("FunctionArn", "SqsQueueUrl"):
                step.depends |= references(item.get(key))
            if branch is not None:
                step.depends.add(branch[0])
            steps[name] = step
            if kind == "Condition":
                args = item.get("Arguments") or {}
                step.depends = set(item.get("DependsOn") or []) | references(args.get("Conditions"))
                if branch is not None:
                    step.depends.add(branch[0])
                add(args.get("IfSteps") or [], (name, True))
                add(args.get("ElseSteps") or [], (name, False))

    add(raw["Steps"], None)
    for step in steps.values():
        for dep in step.depends:
            if dep not in steps:
                raise DefinitionError(f"Step {step.name} refers to step {dep}, which is not in the pipeline.")
        step.depends.discard(step.name)
    _check_acyclic(steps)
    return Definition(steps, parameters, raw)


def _check_acyclic(steps: dict[str, Step]) -> None:
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise DefinitionError(f"The pipeline has a cycle: {' -> '.join(path + [name])}")
        state[name] = 1
        for dep in sorted(steps[name].depends):
            visit(dep, path + [name])
        state[name] = 2

    for name in steps:
        visit(name, [])


def parameter_values(definition: Definition, given: list[dict[str, str]]) -> dict[str, Any]:
    """Typed values of every parameter: the given ones (strings on the wire) over the defaults."""
    declared = {p["Name"]: p for p in definition.parameters}
    values: dict[str, Any] = {}
    supplied = {p["Name"]: p["Value"] for p in given}
    for name in supplied:
        if name not in declared:
            raise DefinitionError(f"Parameter {name} is not defined in the pipeline definition.")
    for name, p in declared.items():
        kind = p.get("Type", "String")
        if name in supplied:
            values[name] = convert(supplied[name], kind, name)
        elif "DefaultValue" in p:
            values[name] = p["DefaultValue"]
        else:
            raise DefinitionError(f"Parameter {name} has no default value and was not supplied.")
        if p.get("EnumValues") and values[name] not in p["EnumValues"]:
            raise DefinitionError(f"Parameter {name} must be one of {p['EnumValues']}.")
    return values


def convert(text: str, kind: str, name: str) -> Any:
    try:
        if kind == "Integer":
            return int(text)
        if kind == "Float":
            return float(text)
        if kind == "Boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError
            return text.lower() == "true"
    except ValueError:
        raise DefinitionError(f"Value {text!r} of parameter {name} is not a valid {kind}.") from None
    return text


def to_text(value: Any) -> str:
    """A value as Std:Join and string parameters show it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return "" if value is None else str(value)


# -- property paths -----------------------------------------------------------------------------

_TOKEN = re.compile(r"\.?([A-Za-z0-9_:\-]+)|\['((?:[^'\\]|\\.)*)'\]|\[\"([^\"]*)\"\]|\[(\d+)\]")
#: Members that name the items of a list, so ``Outputs['train']`` finds the output called train.
_NAME_KEYS = ("OutputName", "ChannelName", "MetricName", "Name", "InputName", "Key", "PropertyFileName")


def split_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if not match or match.end() == pos:
            raise DefinitionError(f"Cannot parse the property path {path!r}.")
        name, quoted, dquoted, index = match.groups()
        if index is not None:
            parts.append(int(index))
        else:
            parts.append(next(v for v in (name, quoted, dquoted) if v is not None))
        pos = match.end()
    return parts


def walk(value: Any, parts: list[str | int], path: str) -> Any:
    for part in parts:
        if isinstance(value, list):
            if isinstance(part, int):
                if part >= len(value):
                    raise DefinitionError(f"{path}: index {part} is out of range.")
                value = value[part]
                continue
            match = [v for v in value if isinstance(v, dict) and any(v.get(k) == part for k in _NAME_KEYS)]
            if not match:
                raise DefinitionError(f"{path}: no item named {part!r}.")
            value = match[0]
        elif isinstance(value, dict):
            if part not in value:
                raise DefinitionError(f"{path}: {part} is not set.")
            value = value[part]
        else:
            raise DefinitionError(f"{path}: cannot look up {part!r} in {type(value).__name__}.")
    return value


# -- expressions --------------------------------------------------------------------------------


@dataclass
class Scope:
    """What expressions read while an execution runs."""

    parameters: dict[str, Any]
    execution: Callable[[str], Any]
    #: Properties of a finished step (the Describe output of its job, ...).
    step_properties: Callable[[str], dict[str, Any]]
    #: A property file of a processing step: (step, file name) -> the JSON document.
    property_file: Callable[[str, str], Awaitable[Any]]
    #: A JSON document at an S3 URI.
    s3_json: Callable[[str], Awaitable[Any]]


async def resolve(value: Any, scope: Scope) -> Any:
    if isinstance(value, list):
        return [await resolve(v, scope) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"} and isinstance(value["Get"], str):
        return await _get(value["Get"], scope)
    if set(value) == {"Std:Join"}:
        spec = value["Std:Join"]
        items = await resolve(spec.get("Values") or [], scope)
        return to_text(spec.get("On", "")).join(to_text(v) for v in items)
    if set(value) == {"Std:JsonGet"}:
        spec = value["Std:JsonGet"]
        path = await resolve(spec.get("Path"), scope)
        if "PropertyFile" in spec:
            ref = spec["PropertyFile"]
            get = ref.get("Get", "") if isinstance(ref, dict) else ""
            match = re.fullmatch(r"Steps\.([A-Za-z0-9\-_]+)\.PropertyFiles\.(.+)", get)
            if not match:
                raise DefinitionError(f"Std:JsonGet PropertyFile must be a Get of Steps.<step>.PropertyFiles.<name>: {ref!r}")
            document = await scope.property_file(match.group(1), match.group(2))
        else:
            uri = await resolve(spec.get("S3Uri"), scope)
            document = await scope.s3_json(to_text(uri))
        return json_get(document, to_text(path))
    return {k: await resolve(v, scope) for k, v in value.items()}


_JSON_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\[\"((?:[^\"\\]|\\.)*)\"\]")


def _json_steps(path: str) -> list[str | int] | None:
    """A plain path (``a.b[0]``, ``Result['key']``, ``$.a``) as keys and indexes; None when the
    path uses anything more (filters, projections, functions), which JMESPath then evaluates."""
    text = path.strip()
    rooted = text.startswith("$")
    text = text.removeprefix("$")
    steps: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _JSON_STEP.match(text, pos)
        if match is None or match.end() == pos or (pos == 0 and text.startswith(".") and not rooted):
            return None
        name, index, single, double = match.groups()
        if index is not None:
            steps.append(int(index))
        else:
            quoted = single if single is not None else double
            steps.append(name if quoted is None else re.sub(r"\\(.)", r"\1", quoted))
        pos = match.end()
    return steps if steps else None


def json_get(document: Any, path: str) -> Any:
    """What ``Std:JsonGet`` reads at ``path``. Property files are read with JMESPath-style dotted
    paths (``regression_metrics.mse.value``); ``@step`` delayed returns with bracketed keys and
    indexes (``Result['rows']``, ``Result[1]``), which JMESPath does not parse, so plain paths are
    walked directly and anything richer goes to JMESPath."""
    steps = _json_steps(path)
    if steps is not None:
        value = document
        for step in steps:
            if (isinstance(step, int) and isinstance(value, list) and step < len(value)) or (
                    isinstance(step, str) and isinstance(value, dict) and step in value):
                value = value[step]
            else:
                raise DefinitionError(f"Std:JsonGet found nothing at {path!r} in the JSON document.")
        return value
    try:
        found = jmespath.search(path, document)
    except jmespath.exceptions.JMESPathError as exc:
        raise DefinitionError(f"Std:JsonGet path {path!r} is not valid: {exc}") from None
    if found is None:
        raise DefinitionError(f"Std:JsonGet found nothing at {path!r} in the JSON document.")
    return found


async def _get(path: str, scope: Scope) -> Any:
    head, _, rest = path.partition(".")
    if head == "Parameters":
        if rest not in scope.parameters:
            raise DefinitionError(f"{path}: no such parameter.")
        return scope.parameters[rest]
    if head == "Execution":
        return scope.execution(rest)
    if head == "Steps":
        parts = split_path(rest)
        if not parts or not isinstance(parts[0], str):
            raise DefinitionError(f"Cannot parse {path!r}.")
        return walk(scope.step_properties(parts[0]), parts[1:], path)
    raise DefinitionError(f"Unknown reference {path!r} (Parameters, Execution or Steps).")


def _compare(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, bool) or isinstance(right, bool):
        return left, right
    if isinstance(left, (int, float)) or isinstance(right, (int, float)):
        try:
            return float(left), float(right)
        except (TypeError, ValueError):
            raise DefinitionError(f"Cannot compare {left!r} with {right!r}.") from None
    return left, right


async def evaluate(condition: dict[str, Any], scope: Scope) -> bool:
    kind = condition.get("Type")
    if kind == "Not":
        return not await evaluate(condition.get("Expression") or {}, scope)
    if kind == "Or":
        for item in condition.get("Conditions") or []:
            if await evaluate(item, scope):
                return True
        return False
    if kind == "In":
        query = await resolve(condition.get("QueryValue"), scope)
        values = await resolve(condition.get("Values") or [], scope)
        return any(_equal(query, v) for v in values)
    left = await resolve(condition.get("LeftValue"), scope)
    right = await resolve(condition.get("RightValue"), scope)
    if kind == "Equals":
        return _equal(left, right)
    a, b = _compare(left, right)
    try:
        if kind == "GreaterThan":
            return a > b
        if kind == "GreaterThanOrEqualTo":
            return a >= b
        if kind == "LessThan":
            return a < b
        if kind == "LessThanOrEqualTo":
            return a <= b
    except TypeError:
        raise DefinitionError(f"Cannot compare {left!r} with {right!r}.") from None
    raise DefinitionError(f"Unknown condition type {kind!r}.")


def _equal(left: Any, right: Any) -> bool:
    a, b = _compare(left, right)
    return a == b
