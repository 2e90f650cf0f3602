"""Pick the operation a REST request addresses from the model's ``http.requestUri`` templates.

A template is a path with labels (``{Name}``, greedy ``{Key+}``) and optional literal query parts
(``/{Bucket}?tagging``, ``?list-type=2``) that the request must carry. Several operations can share
a template (S3's ``PutObject``/``UploadPart``/``CopyObject``); they differ only by the query and
header members they require, so the required located members of the input shape break the tie.

Ranking, most important first: literal query parts matched, literal path characters, "all
required query/header members present", how many of them are, fewest query keys the operation
does not know, not deprecated, model order.
Tables are built once per service and cached; the per-request work is a few regex matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from threading import Lock
from urllib.parse import unquote

from botocore.model import OperationModel, ServiceModel

from seedbed.errors import UnknownOperation
from seedbed.protocol.http import HttpRequest

_LABEL = re.compile(r"\{([^}]+)\}")


class MethodNotAllowed(UnknownOperation):
    """The path names a resource, but no operation takes this HTTP method on it."""

    code = "MethodNotAllowed"
    status = 405


@dataclass(frozen=True)
class _Route:
    """One operation under a path pattern: what else the request must carry to be it."""

    operation: str
    literal_query: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    known_query: frozenset[str] | None
    deprecated: bool
    order: int

    def query_matches(self, query: dict[str, str]) -> bool:
        for key, value in self.literal_query:
            if key not in query:
                return False
            if value is not None and query[key] != value:
                return False
        return True

    def rank(
        self, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, int, int, int, int]:
        needed = len(self.required_query) + len(self.required_headers)
        present = sum(1 for key in self.required_query if key in query)
        present += sum(1 for name in self.required_headers if name in headers)
        unknown = 0
        if self.known_query is not None:
            unknown = sum(1 for key in query if key not in self.known_query)
        return (
            len(self.literal_query),
            int(present == needed),
            present,
            -unknown,
            int(not self.deprecated),
        )


@dataclass
class _PathPattern:
    """A compiled path template shared by every route that uses it."""

    regex: re.Pattern[str]
    labels: tuple[str, ...]
    literal_chars: int
    segments: int
    greedy: bool
    routes: dict[str, list[_Route]] = field(default_factory=dict)

    def could_match(self, segments: int) -> bool:
        return segments == self.segments or (self.greedy and segments >= self.segments)


def _segment_count(path: str) -> int:
    """Slashes in the path, ignoring one trailing slash (templates treat it as optional)."""
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path.count("/")


@dataclass
class _RouteTable:
    """Patterns indexed by their first literal path segment; ``None`` holds label-first ones."""

    by_segment: dict[str | None, list[_PathPattern]]

    def candidates(self, path: str) -> list[tuple[_PathPattern, re.Match[str]]]:
        """Patterns whose regex matches the path, with the match (labels not yet decoded)."""
        first = path[1:].split("/", 1)[0]
        segments = _segment_count(path)
        found: list[tuple[_PathPattern, re.Match[str]]] = []
        for key in (first, None):
            for pattern in self.by_segment.get(key, ()):
                if pattern.could_match(segments):
                    match = pattern.regex.match(path)
                    if match is not None:
                        found.append((pattern, match))
        return found


_tables: dict[tuple[str, str], _RouteTable] = {}
_tables_lock = Lock()


def _compile_path(path: str) -> tuple[re.Pattern[str], tuple[str, ...], int]:
    """A regex over the raw (still percent-encoded) path; labels become capture groups.

    A trailing slash is optional because botocore keeps templates like ``/functions/`` and the
    router may add or drop one. Non-greedy labels stop at ``/``; greedy ones take the rest.
    """
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    parts: list[str] = []
    labels: list[str] = []
    literal_chars = 0
    pos = 0
    for match in _LABEL.finditer(path):
        literal = path[pos : match.start()]
        parts.append(re.escape(literal))
        literal_chars += len(literal)
        name = match.group(1)
        if name.endswith("+"):
            labels.append(name[:-1])
            parts.append("(.+)")
        else:
            labels.append(name)
            parts.append("([^/]+)")
        pos = match.end()
    tail = path[pos:]
    parts.append(re.escape(tail))
    literal_chars += len(tail)
    suffix = "" if path == "/" or path.endswith("+}") else "/?"
    return re.compile("^" + "".join(parts) + suffix + "$"), tuple(labels), literal_chars


def _parse_literal_query(query: str) -> tuple[tuple[str, str | None], ...]:
    pairs: list[tuple[str, str | None]] = []
    for part in query.split("&"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        pairs.append((unquote(key), unquote(value) if sep else None))
    return tuple(pairs)


def _known_query(
    operation: OperationModel, literal: tuple[tuple[str, str | None], ...]
) -> frozenset[str] | None:
    """Every query key the operation understands; ``None`` when a map member takes any key."""
    keys = {key for key, _ in literal}
    shape = operation.input_shape
    if shape is not None:
        for name, member in shape.members.items():
            if member.serialization.get("location") != "querystring":
                continue
            if member.type_name == "map":
                return None
            keys.add(member.serialization.get("name", name))
    return frozenset(keys)


def _required_located(operation: OperationModel) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Wire names of required members bound to the query string and to headers."""
    shape = operation.input_shape
    if shape is None:
        return (), ()
    query: list[str] = []
    headers: list[str] = []
    for name in shape.required_members:
        member = shape.members[name]
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "querystring" and member.type_name != "map":
            query.append(wire)
        elif location == "header":
            headers.append(wire.lower())
    return tuple(query), tuple(headers)


def _first_segment(path: str) -> str | None:
    first = path[1:].split("/", 1)[0]
    return None if "{" in first else first


def _build_table(service_model: ServiceModel) -> _RouteTable:
    patterns: dict[str, _PathPattern] = {}
    by_segment: dict[str | None, list[_PathPattern]] = {}
    for order, name in enumerate(service_model.operation_names):
        operation = service_model.operation_model(name)
        uri = operation.http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        path = path or "/"
        pattern = patterns.get(path)
        if pattern is None:
            regex, labels, literal_chars = _compile_path(path)
            greedy = "+}" in path
            pattern = _PathPattern(regex, labels, literal_chars, _segment_count(path), greedy)
            patterns[path] = pattern
            by_segment.setdefault(_first_segment(path), []).append(pattern)
        required_query, required_headers = _required_located(operation)
        literal_query = _parse_literal_query(query)
        route = _Route(
            operation=name,
            literal_query=literal_query,
            known_query=_known_query(operation, literal_query),
            required_query=required_query,
            required_headers=required_headers,
            deprecated=bool(operation.deprecated),
            order=order,
        )
        method = operation.http.get("method", "POST").upper()
        pattern.routes.setdefault(method, []).append(route)
    return _RouteTable(by_segment)


def _table_for(service_model: ServiceModel) -> _RouteTable:
    key = (service_model.service_name, service_model.api_version)
    table = _tables.get(key)
    if table is None:
        with _tables_lock:
            table = _tables.get(key)
            if table is None:
                table = _build_table(service_model)
                _tables[key] = table
    return table


def _addresses(pattern: _PathPattern, query: dict[str, str]) -> bool:
    """Whether some operation, under any method, takes this path and query."""
    return any(route.query_matches(query) for routes in pattern.routes.values() for route in routes)


def match_rest_operation(
    service_model: ServiceModel, request: HttpRequest
) -> tuple[OperationModel, dict[str, str]]:
    """The operation the request's method, path and query address, and its decoded path labels.

    Raises :class:`UnknownOperation` when no template matches, :class:`MethodNotAllowed` when a
    template matches the path and query but not the method.
    """
    path = request.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    query = request.query_dict()
    method = request.method.upper()
    candidates = _table_for(service_model).candidates(path)
    best: tuple[tuple[int, ...], _Route, _PathPattern, re.Match[str]] | None = None
    for pattern, found in candidates:
        for route in pattern.routes.get(method, ()):
            if not route.query_matches(query):
                continue
            literal_query, complete, present, unknown, current = route.rank(query, request.headers)
            score = (
                literal_query,
                pattern.literal_chars,
                complete,
                present,
                unknown,
                current,
                -route.order,
            )
            if best is None or score > best[0]:
                best = (score, route, pattern, found)
    if best is None:
        if any(_addresses(pattern, query) for pattern, _ in candidates):
            raise MethodNotAllowed(
                f"The specified method {method} is not allowed against this resource."
            )
        raise UnknownOperation(f"No {service_model.service_name} operation matches {method} {path}")
    _, route, pattern, found = best
    values = found.groups()
    params = {label: unquote(value) for label, value in zip(pattern.labels, values, strict=True)}
    return service_model.operation_model(route.operation), params
