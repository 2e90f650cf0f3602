"""The declared action tables: API operation -> IAM action(s), resource ARN(s), request condition keys.

One generated JSON file per service (``data/actions/<service>.json``, see
:mod:`seedbed.iam.datagen`). A table loads on first use and is compiled once; looking an
operation up is then a dict access. Rendering a check turns request parameters into the ARNs and
condition-key values that the evaluator needs.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

TABLES = Path(__file__).parent / "data" / "actions"
_FIELD = re.compile(r"\{([^}]+)\}")

#: Looks up the IAM path of a named entity: (entity type, name) -> "/service-role/" or None.
PathLookup = Callable[[str, str], "str | None"]


@dataclass(frozen=True, slots=True)
class Field:
    path: tuple[str, ...]  # "Delete", "Objects[]", "Key"
    filters: tuple[str, ...]
    #: The member name when the path is one plain member (the common case, read directly).
    simple: str | None = None


def _field(path: tuple[str, ...], filters: tuple[str, ...]) -> Field:
    plain = len(path) == 1 and not path[0].endswith("[]") and not path[0].startswith("$")
    return Field(path, filters, path[0] if plain else None)


@dataclass(frozen=True, slots=True)
class Template:
    parts: tuple[str | Field, ...]

    @property
    def is_star(self) -> bool:
        return self.parts == ("*",)


@dataclass(frozen=True, slots=True)
class KeySpec:
    """Where a condition key's value is in the request: a member path, or a tag carrier."""

    kind: str  # "path", "tags", "tagkeys", "querytags", "querytagkeys"
    path: tuple[str, ...]


def _spec(text: str) -> KeySpec:
    if text.startswith("@"):
        kind, path = text[1:].split(":", 1)
        return KeySpec(kind, tuple(path.split(".")))
    return KeySpec("path", tuple(text.split(".")))


@dataclass(frozen=True, slots=True)
class Check:
    """One authorization an operation needs: ``action`` on each of ``resources``."""

    action: str
    resources: tuple[Template, ...]
    when: str | None  # a parameter that must be present for the check to apply
    unless: str | None  # a parameter that must be absent
    keys: tuple[tuple[str, tuple[str, ...]], ...]  # (condition key, extractor specs)
    #: The same, compiled for on-demand look-up: exact keys, and tag-key prefixes.
    exact: dict[str, tuple[KeySpec, ...]] = field(default_factory=dict, compare=False, hash=False)
    prefixes: tuple[tuple[str, tuple[KeySpec, ...]], ...] = ()

    def applies(self, params: Mapping[str, Any]) -> bool:
        if self.when is not None and _missing(params.get(self.when)):
            return False
        return self.unless is None or _missing(params.get(self.unless))


def _missing(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _compile_template(text: str) -> Template:
    parts: list[str | Field] = []
    last = 0
    for match in _FIELD.finditer(text):
        if match.start() > last:
            parts.append(text[last : match.start()])
        expr = match.group(1).split("|")
        parts.append(_field(tuple(expr[0].split(".")), tuple(expr[1:])))
        last = match.end()
    if last < len(text):
        parts.append(text[last:])
    return Template(tuple(parts))


def _compile_check(raw: Mapping[str, Any]) -> Check:
    keys = tuple((key, tuple(specs)) for key, specs in (raw.get("keys") or {}).items())
    exact: dict[str, tuple[KeySpec, ...]] = {}
    prefixes: list[tuple[str, tuple[KeySpec, ...]]] = []
    for key, specs in keys:
        compiled = tuple(_spec(s) for s in specs)
        lowered = key.lower()
        if lowered.endswith(("/*", "/<key>", "/${tagkey}")):
            prefixes.append((lowered.rsplit("/", 1)[0] + "/", compiled))
        else:
            exact[lowered] = compiled
    return Check(
        action=raw["action"],
        resources=tuple(_compile_template(r) for r in raw.get("resources") or ["*"]),
        when=raw.get("if"),
        unless=raw.get("unless"),
        keys=keys,
        exact=exact,
        prefixes=tuple(prefixes),
    )


@dataclass(frozen=True)
class ServiceTable:
    service: str
    prefix: str
    operations: dict[str, tuple[Check, ...]]
    source: dict[str, str]

    def checks(self, operation: str) -> tuple[Check, ...]:
        found = self.operations.get(operation)
        if found is None:  # not in the model we generated from: the action shares its name
            found = (Check(f"{self.prefix}:{operation}", (Template(("*",)),), None, None, ()),)
        return found


_tables: dict[str, ServiceTable | None] = {}
_lock = threading.Lock()


def table(service: str) -> ServiceTable | None:
    """The service's table, loaded and compiled on first use (None for an unknown service)."""
    found = _tables.get(service, False)
    if found is not False:
        return found  # type: ignore[return-value]
    with _lock:
        if service not in _tables:
            path = TABLES / f"{service}.json"
            if not path.exists():
                _tables[service] = None
            else:
                raw = json.loads(path.read_text())
                _tables[service] = ServiceTable(
                    service,
                    raw["prefix"],
                    {op: tuple(_compile_check(c) for c in checks) for op, checks in raw["operations"].items()},
                    raw.get("source", {}),
                )
    return _tables[service]


def checks(service: str, operation: str) -> tuple[Check, ...]:
    found = table(service)
    if found is None:
        return (Check(f"{service}:{operation}", (Template(("*",)),), None, None, ()),)
    return found.checks(operation)


# --- rendering -------------------------------------------------------------------------------


def _walk(value: Any, path: tuple[str, ...]) -> list[Any]:
    """The values at ``path`` (``X[]`` expands a list)."""
    if len(path) == 1 and not path[0].endswith("[]"):
        found = value.get(path[0]) if isinstance(value, dict) else None
        return [] if found is None else [found]
    current = [value]
    for segment in path:
        expand = segment.endswith("[]")
        name = segment[:-2] if expand else segment
        nxt = []
        for item in current:
            if not isinstance(item, Mapping):
                continue
            child = item.get(name) if name else item
            if child is None:
                continue
            if expand and isinstance(child, list):
                nxt.extend(child)
            else:
                nxt.append(child)
        current = nxt
    return current


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _copy_source(value: str) -> tuple[str, str]:
    text = unquote(value.split("?", 1)[0]).lstrip("/")
    bucket, _, key = text.partition("/")
    return bucket, key


@dataclass(frozen=True)
class Env:
    region: str
    account: str
    iam_path: PathLookup | None = None


def _apply(filters: tuple[str, ...], value: str, params: Mapping[str, Any], env: Env) -> tuple[str, bool]:
    """(the filtered value, whether it is a whole ARN that replaces the template)."""
    for name in filters:
        if name == "arnok" and value.startswith("arn:"):
            return value, True
        if name == "lower":
            value = value.lower()
        elif name == "nolead":
            value = value.lstrip("/")
        elif name == "bucket":
            value = _copy_source(value)[0]
        elif name == "key":
            value = _copy_source(value)[1]
        elif name.startswith("iam:"):
            path = params.get("Path") if isinstance(params.get("Path"), str) else None
            if path is None and env.iam_path is not None:
                path = env.iam_path(name[4:], value)
            value = (path or "/")[1:] + value
    return value, False


def _field_values(part: Field, params: Mapping[str, Any], env: Env) -> list[str]:
    simple = part.simple
    if simple is not None:
        value = params.get(simple)
        if type(value) is str:
            return [value]
        if value is None or isinstance(value, (dict, list)):
            return []
        return [_text(value)]
    if part.path == ("$region",):
        return [env.region]
    if part.path == ("$account",):
        return [env.account]
    return [_text(v) for v in _walk(params, part.path) if not isinstance(v, (Mapping, list))]


def render(template: Template, params: Mapping[str, Any], env: Env) -> list[str]:
    """The ARNs a template names for this request; a missing member becomes ``*``.

    The common case (every field has one value) builds one string; a field with several values
    (``Delete.Objects[].Key``) takes the general path."""
    parts = template.parts
    if parts == _STAR:
        return ["*"]
    pieces: list[str] = []
    for part in parts:
        if type(part) is str:
            pieces.append(part)
            continue
        values = _field_values(part, params, env)  # type: ignore[arg-type]
        if len(values) == 1:
            value = values[0]
            if part.filters:  # type: ignore[union-attr]
                value, whole = _apply(part.filters, value, params, env)  # type: ignore[union-attr]
                if whole:
                    return [value]
            pieces.append(value)
        elif not values:
            pieces.append("*")
        else:
            return _render_many(template, params, env)
    return ["".join(pieces)]


_STAR = ("*",)


def _render_many(template: Template, params: Mapping[str, Any], env: Env) -> list[str]:
    results = [""]
    for part in template.parts:
        if isinstance(part, str):
            results = [r + part for r in results]
            continue
        values = _field_values(part, params, env)
        if len(values) == 1 and not part.filters:
            results = [r + values[0] for r in results]
            continue
        if not values:
            results = [r + "*" for r in results]
            continue
        expanded = []
        for value in values:
            text, whole = _apply(part.filters, value, params, env)
            if whole:
                return [text] if len(values) == 1 else [v for v in values if v.startswith("arn:")]
            expanded.extend(r + text for r in results)
        results = expanded
    return results


def _tags(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): _text(v) for k, v in value.items()}
    out: dict[str, str] = {}
    if isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping):
                key = item.get("Key", item.get("key"))
                if key is not None:
                    out[str(key)] = _text(item.get("Value", item.get("value", "")))
    return out


def _tag_values(spec: KeySpec, params: Mapping[str, Any]) -> dict[str, str] | None:
    raw = _walk(params, spec.path)
    if not raw:
        return None
    if spec.kind.startswith("query"):
        return dict(parse_qsl(str(raw[0]), keep_blank_values=True))
    return _tags(raw[0])


def _values(spec: KeySpec, params: Mapping[str, Any]) -> tuple[str, ...] | None:
    flat: list[str] = []
    for value in _walk(params, spec.path):
        if isinstance(value, list):
            flat.extend(_text(v) for v in value)
        elif not isinstance(value, Mapping):
            flat.append(_text(value))
    return tuple(flat) if flat else None


def request_value(check: Check, params: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    """One condition key's value in this request (``key`` lower-cased), computed on demand: most
    requests meet no condition, and extracting every key up front costs more than deciding."""
    specs = check.exact.get(key)
    if specs is not None:
        for spec in specs:
            if spec.kind == "path":
                found = _values(spec, params)
            else:
                tags = _tag_values(spec, params)
                found = tuple(tags) if tags is not None else None
            if found is not None:
                return found
        return None
    for prefix, prefix_specs in check.prefixes:
        if key.startswith(prefix):
            wanted = key[len(prefix) :]
            for spec in prefix_specs:
                tags = _tag_values(spec, params)
                if tags is not None:
                    for tag_key, tag_value in tags.items():
                        if tag_key.lower() == wanted:
                            return (tag_value,)
                    return None
    return None


def request_keys(check: Check, params: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Every condition key this request carries for ``check``, lower-cased (for the simulator and
    for tests; the authorizer asks :func:`request_value` per key)."""
    out: dict[str, tuple[str, ...]] = {}
    for key, specs in check.exact.items():
        value = request_value(check, params, key)
        if value is not None:
            out[key] = value
    for prefix, specs in check.prefixes:
        for spec in specs:
            tags = _tag_values(spec, params)
            if tags is not None:
                for tag_key, tag_value in tags.items():
                    out[prefix + tag_key.lower()] = (tag_value,)
                break
    return out


@lru_cache(maxsize=1)
def known_services() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in TABLES.glob("*.json")))


def all_actions(services: Iterable[str] | None = None) -> set[str]:
    """Every IAM action the tables name (for tests and the simulator's checks)."""
    out: set[str] = set()
    for service in services or known_services():
        found = table(service)
        if found:
            for checks_ in found.operations.values():
                out.update(c.action for c in checks_)
    return out
