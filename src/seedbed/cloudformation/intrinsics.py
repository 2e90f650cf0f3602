"""Intrinsic functions and conditions, evaluated against a stack's values.

The evaluator is pure: what it needs from outside (a resource's Ref value and attributes, an
export) comes through the :class:`Scope` callbacks. While validating a template before anything
exists, those callbacks return :data:`UNRESOLVED`, which flows through every function so that the
properties' shape can still be checked against the resource schema.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from seedbed.cloudformation.errors import CfnValidationError, TemplateError


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __deepcopy__(self, memo: Any) -> _Marker:
        return self


#: ``Ref: AWS::NoValue``: the enclosing property (or list item) disappears.
NO_VALUE = _Marker("AWS::NoValue")
#: A value only known once another resource exists.
UNRESOLVED = _Marker("<unresolved>")

FUNCTIONS = {
    "Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::If",
    "Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Fn::FindInMap", "Fn::GetAZs",
    "Fn::ImportValue", "Fn::Base64", "Fn::Cidr", "Fn::Length", "Fn::ToJsonString",
}
EXTENSION_FUNCTIONS = {"Fn::Length", "Fn::ToJsonString"}
_SUB = re.compile(r"\$\{([^}]*)\}")


def has_unresolved(value: Any) -> bool:
    if value is UNRESOLVED:
        return True
    if isinstance(value, dict):
        return any(has_unresolved(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unresolved(v) for v in value)
    return False


def availability_zones(region: str) -> list[str]:
    return [f"{region}{suffix}" for suffix in "abc"]


@dataclass
class Scope:
    """What an evaluation can see. Callbacks raise :class:`CfnValidationError` for unknown names."""

    parameters: dict[str, Any]
    pseudo: dict[str, Any]
    mappings: dict[str, Any]
    condition_defs: dict[str, Any]
    resource_names: set[str]
    resource_ref: Callable[[str], Any]
    resource_att: Callable[[str, str], Any]
    import_value: Callable[[str], Any]
    language_extensions: bool = False
    conditions: dict[str, bool] = field(default_factory=dict)
    _evaluating: set[str] = field(default_factory=set)

    def condition(self, name: str) -> bool:
        if name in self.conditions:
            return self.conditions[name]
        if name not in self.condition_defs:
            raise TemplateError(f"Unresolved dependencies [{name}]. Cannot reference resources in the Conditions block of the template")
        if name in self._evaluating:
            raise TemplateError(f"Circular dependency between conditions: [{name}]")
        self._evaluating.add(name)
        try:
            value = evaluate_condition(self.condition_defs[name], self)
        finally:
            self._evaluating.discard(name)
        self.conditions[name] = value
        return value


def evaluate_condition(node: Any, scope: Scope) -> bool:
    """A condition expression: Fn::Equals/And/Or/Not or ``{"Condition": name}``."""
    if isinstance(node, dict) and len(node) == 1 and "Condition" in node:
        return scope.condition(str(node["Condition"]))
    value = evaluate(node, scope, in_condition=True)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TemplateError("Conditions can only be boolean operations on parameters and other conditions")


def evaluate(node: Any, scope: Scope, in_condition: bool = False) -> Any:
    """Resolve every intrinsic in ``node``; :data:`NO_VALUE` members are dropped."""
    if isinstance(node, dict):
        if len(node) == 1:
            (key, arg), = node.items()
            if key in FUNCTIONS:
                return _call(key, arg, scope, in_condition)
            if in_condition and key == "Condition":
                return scope.condition(str(arg))
        out: dict[str, Any] = {}
        for key, value in node.items():
            resolved = evaluate(value, scope, in_condition)
            if resolved is not NO_VALUE:
                out[key] = resolved
        return out
    if isinstance(node, list):
        return [v for v in (evaluate(item, scope, in_condition) for item in node) if v is not NO_VALUE]
    return node


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise CfnValidationError(f"Template error: expected a string, got {type(value).__name__}")


def _list(value: Any, fn: str) -> list[Any]:
    if not isinstance(value, list):
        raise TemplateError(f"Template error: {fn} requires a list argument")
    return value


def _call(fn: str, arg: Any, scope: Scope, in_condition: bool) -> Any:
    if fn in EXTENSION_FUNCTIONS and not scope.language_extensions:
        raise TemplateError(f"Unrecognized function {fn}: it needs 'Transform: AWS::LanguageExtensions'")
    if fn == "Ref":
        return _ref(arg, scope)
    if fn == "Fn::GetAtt":
        return _get_att(arg, scope)
    if fn == "Fn::Sub":
        return _sub(arg, scope)
    if fn == "Fn::If":
        args = _list(arg, fn)
        if len(args) != 3:
            raise TemplateError("Template error: Fn::If requires a list argument with three elements")
        taken = args[1] if scope.condition(str(args[0])) else args[2]
        return evaluate(taken, scope, in_condition)
    if fn == "Fn::Equals":
        args = _list(evaluate(arg, scope, in_condition), fn)
        if len(args) != 2:
            raise TemplateError("Template error: Fn::Equals requires a list argument with two elements")
        if has_unresolved(args):
            return UNRESOLVED
        return _norm(args[0]) == _norm(args[1])
    if fn in ("Fn::And", "Fn::Or"):
        args = _list(arg, fn)
        if not 2 <= len(args) <= 10:
            raise TemplateError(f"Template error: {fn} requires between 2 and 10 conditions")
        values = [evaluate_condition(a, scope) for a in args]
        return all(values) if fn == "Fn::And" else any(values)
    if fn == "Fn::Not":
        args = _list(arg, fn)
        if len(args) != 1:
            raise TemplateError("Template error: Fn::Not requires a list argument with one element")
        return not evaluate_condition(args[0], scope)
    value = evaluate(arg, scope, in_condition)
    if has_unresolved(value):
        return UNRESOLVED
    if fn == "Fn::Join":
        args = _list(value, fn)
        if len(args) != 2 or not isinstance(args[1], list):
            raise TemplateError("Template error: every Fn::Join object requires two parameters, (1) a string delimiter and (2) a list of strings to be joined")
        return _str(args[0]).join(_str(v) for v in args[1])
    if fn == "Fn::Select":
        args = _list(value, fn)
        if len(args) != 2 or not isinstance(args[1], list):
            raise TemplateError("Template error: Fn::Select requires a list argument with two elements: an integer index and a list")
        try:
            index = int(args[0])
        except (TypeError, ValueError):
            raise TemplateError("Template error: Fn::Select index must be an integer") from None
        if not 0 <= index < len(args[1]):
            raise TemplateError("Template error: Fn::Select cannot select nonexistent value at index %d" % index)
        return args[1][index]
    if fn == "Fn::Split":
        args = _list(value, fn)
        if len(args) != 2:
            raise TemplateError("Template error: Fn::Split requires a list argument with two elements")
        return _str(args[1]).split(_str(args[0]))
    if fn == "Fn::FindInMap":
        return _find_in_map(value, scope)
    if fn == "Fn::GetAZs":
        return availability_zones(_str(value) or scope.pseudo["AWS::Region"])
    if fn == "Fn::ImportValue":
        return scope.import_value(_str(value))
    if fn == "Fn::Base64":
        return base64.b64encode(_str(value).encode()).decode()
    if fn == "Fn::Cidr":
        return _cidr(value)
    if fn == "Fn::Length":
        return len(_list(value, fn))
    if fn == "Fn::ToJsonString":
        if not isinstance(value, (dict, list)):
            raise TemplateError("Template error: Fn::ToJsonString requires an object or a list")
        return json.dumps(value, separators=(",", ":"))
    raise TemplateError(f"Unrecognized function {fn}")  # pragma: no cover


def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _ref(arg: Any, scope: Scope) -> Any:
    if not isinstance(arg, str):
        raise TemplateError("Template error: every Ref object must have a single String value.")
    if arg == "AWS::NoValue":
        return NO_VALUE
    if arg in scope.pseudo:
        return scope.pseudo[arg]
    if arg in scope.parameters:
        return scope.parameters[arg]
    if arg in scope.resource_names:
        return scope.resource_ref(arg)
    raise TemplateError(f"Unresolved resource dependencies [{arg}] in the Resources block of the template")


def _get_att(arg: Any, scope: Scope) -> Any:
    if isinstance(arg, str):
        arg = arg.split(".", 1)
    if not isinstance(arg, list) or len(arg) != 2:
        raise TemplateError("Template error: every Fn::GetAtt object requires two non-empty parameters")
    name, attribute = arg[0], evaluate(arg[1], scope)
    if attribute is UNRESOLVED:
        return UNRESOLVED
    if not isinstance(name, str) or name not in scope.resource_names:
        raise TemplateError(f"Template error: instance of Fn::GetAtt references undefined resource {name}")
    return scope.resource_att(name, _str(attribute))


def _sub(arg: Any, scope: Scope) -> Any:
    if isinstance(arg, str):
        text, variables = arg, {}
    elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
        text, variables = arg[0], {k: evaluate(v, scope) for k, v in arg[1].items()}
    else:
        raise TemplateError("Template error: One or more Fn::Sub intrinsic functions don't specify expected arguments. Specify a string as first argument, and an optional second argument to specify a mapping of values to replace in the string")
    unresolved = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unresolved
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        name = name.strip()
        if name in variables:
            value = variables[name]
        elif name in scope.pseudo or name in scope.parameters or name in scope.resource_names:
            value = _ref(name, scope)
        elif "." in name and name.split(".", 1)[0] in scope.resource_names:
            value = scope.resource_att(*name.split(".", 1))
        else:
            raise TemplateError(f"Unresolved resource dependencies [{name}] in the Resources block of the template")
        if value is UNRESOLVED:
            unresolved = True
            return ""
        if isinstance(value, list):
            return ",".join(_str(v) for v in value)
        return _str(value)

    result = _SUB.sub(replace, text)
    return UNRESOLVED if unresolved else result


def sub_references(arg: Any) -> list[str]:
    """Names a Fn::Sub refers to (for the dependency graph), minus its own variables."""
    if isinstance(arg, str):
        text, own = arg, set()
    elif isinstance(arg, list) and arg and isinstance(arg[0], str):
        text, own = arg[0], set(arg[1]) if len(arg) > 1 and isinstance(arg[1], dict) else set()
    else:
        return []
    names = []
    for match in _SUB.finditer(text):
        name = match.group(1).strip()
        if name.startswith("!") or name in own:
            continue
        names.append(name.split(".", 1)[0])
    return names


def _find_in_map(value: Any, scope: Scope) -> Any:
    args = _list(value, "Fn::FindInMap")
    default: Any = None
    if len(args) == 4 and scope.language_extensions and isinstance(args[3], dict) and "DefaultValue" in args[3]:
        default = args[3]["DefaultValue"]
        args = args[:3]
    if len(args) != 3:
        raise TemplateError("Template error: every Fn::FindInMap object requires three parameters, the map name, map key and the attribute for return value")
    name, top, second = (_str(a) for a in args)
    mapping = scope.mappings.get(name)
    if mapping is None:
        if default is not None:
            return default
        raise TemplateError(f"Template error: Unable to get mapping for {name}::{top}::{second}")
    try:
        return mapping[top][second]
    except (KeyError, TypeError):
        if default is not None:
            return default
        raise TemplateError(f"Template error: Unable to get mapping for {name}::{top}::{second}") from None


def _cidr(value: Any) -> list[str]:
    args = _list(value, "Fn::Cidr")
    if len(args) != 3:
        raise TemplateError("Template error: Fn::Cidr requires three parameters: ipBlock, count, cidrBits")
    try:
        network = ipaddress.ip_network(_str(args[0]), strict=False)
        count, bits = int(args[1]), int(args[2])
    except ValueError:
        raise TemplateError("Template error: Fn::Cidr has an invalid ipBlock, count or cidrBits") from None
    prefix = network.max_prefixlen - bits
    if not 1 <= count <= 256 or prefix < network.prefixlen or bits < 1:
        raise TemplateError("Template error: Fn::Cidr cannot split the block as asked")
    subnets = []
    for subnet in network.subnets(new_prefix=prefix):
        subnets.append(str(subnet))
        if len(subnets) == count:
            break
    if len(subnets) < count:
        raise TemplateError("Template error: Fn::Cidr cannot fit that many subnets in the block")
    return subnets
