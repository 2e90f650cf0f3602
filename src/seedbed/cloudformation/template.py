"""Reading templates: YAML with the short-form tags, or JSON; the template anatomy; summaries.

A template is kept as the text the user sent (GetTemplate returns it unchanged) and parsed into
plain dicts where every short-form tag became its long form (``!Ref X`` -> ``{"Ref": "X"}``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from seedbed.cloudformation.errors import TemplateError

TOP_LEVEL = {
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
    "Hooks",
}
RESOURCE_KEYS = {
    "Type",
    "Properties",
    "DependsOn",
    "Condition",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "Metadata",
    "CreationPolicy",
    "UpdatePolicy",
    "Version",
}
POLICIES = {"Delete", "Retain", "Snapshot", "RetainExceptOnCreate"}
MAX_BODY = 51_200
MAX_URL_BODY = 1_024_000
LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"


class _Loader(yaml.SafeLoader):
    """SafeLoader without timestamps (``2010-09-09`` stays a string) and with CFN's tags."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}


def _construct(loader: yaml.Loader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


def _tag(name: str) -> Any:
    def construct(loader: yaml.Loader, node: yaml.Node) -> Any:
        value = _construct(loader, node)
        if name == "Ref" or name == "Condition":
            return {name: value}
        if name == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{name}": value}

    return construct


for _name in (
    "Ref", "Condition", "GetAtt", "Sub", "Join", "Select", "Split", "If", "Equals", "And", "Or",
    "Not", "FindInMap", "GetAZs", "ImportValue", "Base64", "Cidr", "Length", "ToJsonString",
    "Transform", "ForEach",
):
    _Loader.add_constructor(f"!{_name}", _tag(_name))


def _mapping(loader: yaml.Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)  # type: ignore[no-untyped-call]
        if key in seen:
            raise TemplateError(f"YAML not well-formed. Duplicate key {key!r} (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse(body: str) -> dict[str, Any]:
    """The template as plain data; JSON first (a JSON text is valid YAML but slower to parse)."""
    text = body.strip()
    if not text:
        raise TemplateError("Template body is empty")
    doc: Any
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise TemplateError(f"JSON not well-formed. ({exc})") from None
    else:
        try:
            doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
        except TemplateError:
            raise
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise TemplateError(f"YAML not well-formed.{where}") from None
    if not isinstance(doc, dict):
        raise TemplateError("Template format error: not a JSON or YAML object") from None
    return doc


@dataclass
class Template:
    """A parsed template with its anatomy checked."""

    body: str
    doc: dict[str, Any]
    transforms: list[str] = field(default_factory=list)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.doc.get("Resources") or {}

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return self.doc.get("Parameters") or {}

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return self.doc.get("Outputs") or {}

    @property
    def conditions(self) -> dict[str, Any]:
        return self.doc.get("Conditions") or {}

    @property
    def mappings(self) -> dict[str, Any]:
        return self.doc.get("Mappings") or {}

    @property
    def description(self) -> str | None:
        value = self.doc.get("Description")
        return value if isinstance(value, str) else None

    @property
    def language_extensions(self) -> bool:
        return LANGUAGE_EXTENSIONS in self.transforms


def load(body: str) -> Template:
    """Parse and check the anatomy; raises :class:`TemplateError` the way AWS words it."""
    try:
        return _load(body)
    except TemplateError:
        raise
    except (TypeError, AttributeError, ValueError, KeyError) as exc:
        raise TemplateError(f"the template is malformed ({type(exc).__name__})") from None


def _load(body: str) -> Template:
    doc = parse(body)
    unknown = sorted(str(k) for k in doc if k not in TOP_LEVEL)
    if unknown:
        raise TemplateError(f"Invalid template property or properties [{', '.join(unknown)}]")
    version = doc.get("AWSTemplateFormatVersion")
    if version is not None and str(version) != "2010-09-09":
        raise TemplateError(f"'{version}' is not a valid template version")
    transforms = doc.get("Transform") or []
    if isinstance(transforms, str):
        transforms = [transforms]
    resources = doc.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise TemplateError("At least one Resources member must be defined.")
    for section in ("Parameters", "Mappings", "Conditions", "Outputs", "Metadata"):
        if section in doc and not isinstance(doc[section], dict):
            raise TemplateError(f"{section} must be an object")
    for name, resource in resources.items():
        if not isinstance(name, str):
            raise TemplateError(f"Resource name {name} is non alphanumeric.")
        _check_resource(name, resource)
    for name, param in (doc.get("Parameters") or {}).items():
        if not isinstance(param, dict) or "Type" not in param:
            raise TemplateError("Every Parameters object must contain a Type member.")
    for name, output in (doc.get("Outputs") or {}).items():
        if not isinstance(output, dict) or "Value" not in output:
            raise TemplateError("Every Outputs member must contain a Value object")
    return Template(body=body, doc=doc, transforms=[str(t) for t in transforms if isinstance(t, str)])


def _check_resource(name: str, resource: Any) -> None:
    if not name.isalnum():
        raise TemplateError(f"Resource name {name} is non alphanumeric.")
    if not isinstance(resource, dict):
        raise TemplateError(f"[/Resources/{name}] resource definition is malformed")
    if "Type" not in resource or not isinstance(resource["Type"], str):
        raise TemplateError(f"[/Resources/{name}] Every Resources object must contain a Type member.")
    extra = sorted(k for k in resource if k not in RESOURCE_KEYS)
    if extra:
        raise TemplateError(f"Unrecognized resource attribute(s) [{', '.join(extra)}] in resource {name}")
    for key in ("DeletionPolicy", "UpdateReplacePolicy"):
        if key in resource and resource[key] not in POLICIES:
            raise TemplateError(f"[/Resources/{name}/{key}] Unrecognized {key} {resource[key]}")
    props = resource.get("Properties")
    if props is not None and not isinstance(props, dict):
        raise TemplateError(f"[/Resources/{name}/Properties] properties must be an object")


def metadata_json(tpl: Template) -> str | None:
    meta = tpl.doc.get("Metadata")
    return json.dumps(meta) if meta is not None else None
