"""The published CloudFormation resource schemas, as cfn-lint ships them.

They say which properties a type accepts (validation before anything is created), which are
read-only (the ``Fn::GetAtt`` attributes), which identify the resource (the ``Ref`` value) and
which cannot change without a replacement (``createOnlyProperties``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from seedbed.cloudformation.intrinsics import has_unresolved


@dataclass(frozen=True)
class TypeSchema:
    type_name: str
    schema: dict[str, Any]
    getatts: frozenset[str] = frozenset()

    @functools.cached_property
    def primary_identifier(self) -> list[str]:
        return [_name(p) for p in self.schema.get("primaryIdentifier", [])]

    @functools.cached_property
    def read_only(self) -> set[str]:
        return {_name(p) for p in self.schema.get("readOnlyProperties", [])}

    @functools.cached_property
    def create_only(self) -> list[str]:
        return [_name(p) for p in self.schema.get("createOnlyProperties", [])]

    @functools.cached_property
    def write_only(self) -> set[str]:
        return {_name(p) for p in self.schema.get("writeOnlyProperties", [])}

    @functools.cached_property
    def tags_form(self) -> str | None:
        """How the type takes stack-propagated tags in ``Tags``: ``"list"`` of ``{Key, Value}``,
        ``"map"`` of key to value, or None when the schema says it is not taggable there."""
        tagging = self.schema.get("tagging") or {}
        if not tagging.get("taggable") or tagging.get("tagProperty", "/properties/Tags") != "/properties/Tags":
            return None
        prop = (self.schema.get("properties") or {}).get("Tags") or {}
        if "$ref" in prop:
            prop = (self.schema.get("definitions") or {}).get(prop["$ref"].rsplit("/", 1)[-1]) or {}
        return {"array": "list", "object": "map"}.get(prop.get("type", ""))

    def attributes(self) -> set[str]:
        """Names ``Fn::GetAtt`` accepts (cfn-lint derives them from the schema), dotted."""
        return set(self.getatts) | set(self.read_only)

    def requires_replacement(self, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
        """The create-only properties whose values differ (dotted paths)."""
        changed = []
        for path in self.create_only:
            if _get(old, path) != _get(new, path):
                changed.append(path)
        return changed

    def validate(self, properties: dict[str, Any]) -> list[str]:
        """Schema violations in ``properties``; parts not known yet (:data:`UNRESOLVED`) are skipped."""
        validator = _validator(self.type_name)
        if validator is None:
            return []
        messages = []
        for error in validator.iter_errors(properties):
            if has_unresolved(error.instance):
                continue
            if error.validator in ("oneOf", "anyOf") and _contains_unresolved_child(error):
                continue
            path = "/".join(str(p) for p in error.absolute_path)
            messages.append(f"#/{path}: {error.message}" if path else f"#: {error.message}")
        return messages


def _contains_unresolved_child(error: Any) -> bool:
    return any(has_unresolved(c.instance) for c in error.context or [])


def _name(pointer: str) -> str:
    return pointer.removeprefix("/properties/").replace("/", ".")


def get_path(props: dict[str, Any], path: str) -> Any:
    return _get(props, path)


def _get(props: dict[str, Any], path: str) -> Any:
    node: Any = props
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


@functools.lru_cache(maxsize=None)
def _manager() -> Any:
    from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER

    return PROVIDER_SCHEMA_MANAGER


@functools.lru_cache(maxsize=4096)
def get(type_name: str, region: str = "us-east-1") -> TypeSchema | None:
    """The schema of ``type_name``, or None when AWS has no such type."""
    if type_name.startswith("Custom::"):
        type_name = "AWS::CloudFormation::CustomResource"
    try:
        found = _manager().get_resource_schema(region, type_name)
        schema = found.schema
        getatts = frozenset(dict(found.get_atts))
    except Exception:  # cfn-lint raises its own ResourceNotFoundError
        return None
    return TypeSchema(type_name, schema, getatts)


def known_type(type_name: str, region: str = "us-east-1") -> bool:
    return type_name.startswith("Custom::") or get(type_name, region) is not None


@functools.lru_cache(maxsize=512)
def _validator(type_name: str) -> Any:
    import jsonschema

    schema = get(type_name)
    if schema is None:
        return None
    body = {k: v for k, v in schema.schema.items() if k in ("properties", "definitions", "required", "additionalProperties", "oneOf", "anyOf", "allOf", "dependencies", "type")}
    body.setdefault("type", "object")
    # Read-only properties are outputs; a template may not set them, but their sub-schemas
    # sometimes carry patterns Python cannot compile: drop them rather than fail.
    cls = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": _pattern, "type": _type, "enum": _enum})
    return cls(body)


_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
_INTEGER = re.compile(r"^-?\d+$")


def _scalar_string_fits(value: str, wanted: str) -> bool:
    """CloudFormation converts scalars to the type a property wants: parameters arrive as strings
    (``Ref`` to a Number parameter for ``RetentionInDays``), and YAML numbers become strings."""
    if wanted == "integer":
        return bool(_INTEGER.match(value))
    if wanted == "number":
        return bool(_NUMBER.match(value))
    if wanted == "boolean":
        return value.lower() in ("true", "false")
    return False


def _enum(validator: Any, enums: Any, instance: Any, schema: dict[str, Any]) -> Any:
    import jsonschema

    if isinstance(instance, str) and _NUMBER.match(instance) and any(
            not isinstance(e, bool) and isinstance(e, (int, float)) and float(instance) == e for e in enums):
        return
    yield from jsonschema.Draft7Validator.VALIDATORS["enum"](validator, enums, instance, schema)


def _type(validator: Any, types: Any, instance: Any, schema: dict[str, Any]) -> Any:
    import jsonschema

    wanted = [types] if isinstance(types, str) else list(types)
    if isinstance(instance, str) and any(_scalar_string_fits(instance, t) for t in wanted):
        return
    if "string" in wanted and isinstance(instance, (int, float, bool)):  # `Version: 1` is "1"
        return
    yield from jsonschema.Draft7Validator.VALIDATORS["type"](validator, types, instance, schema)


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Any:
    """Java-flavoured patterns Python cannot compile are skipped (AWS judges those)."""
    import jsonschema

    if not isinstance(instance, str):
        return
    compiled = _compile(pattern)
    if compiled is not None and not compiled.search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")
