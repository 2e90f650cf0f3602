"""Hypothesis strategies that build valid operation inputs and outputs from botocore shapes.

Shared by the RPC and REST protocol round-trip tests. Values respect the model's enums, length
and range limits and required members, stay small (tests walk every operation of many services)
and avoid what no wire format can carry back unchanged: NaN, sub-millisecond timestamps, and
XML-illegal characters. ``pattern`` constraints are ignored.

Public API (keep stable): :func:`value_for_shape`, :func:`input_for_operation`,
:func:`output_for_operation`, :func:`any_text`.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime
from typing import Any

from botocore.model import OperationModel, Shape
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

MAX_DEPTH = 4
"""Below this depth structures keep only required members and lists/maps their minimum size."""

EXTRA_TEXT = 8
EXTRA_ITEMS = 2
EXTRA_BLOB = 12

INT_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
MIN_TIME = datetime(1971, 1, 1)
MAX_TIME = datetime(2099, 12, 31)

# Every character XML 1.0 can carry, including the whitespace that escaping must preserve;
# no surrogates, control characters or noncharacters.
_TEXT_CHARS = st.characters(
    exclude_categories=("Cs", "Cc", "Cn", "Co"), include_characters="\t\n\r <>&\"'"
)
# Header values: visible ASCII, no commas (botocore splits list headers on them), no edges spaces.
_HEADER_CHARS = st.sampled_from(string.ascii_letters + string.digits + "-_.:/=+@")
_HOST_LABEL_CHARS = st.sampled_from(string.ascii_letters + string.digits + "-")
_HEADER_KEY_CHARS = st.sampled_from(string.ascii_lowercase + string.digits + "-")

_cache: dict[tuple[int, int], tuple[Shape, SearchStrategy[Any]]] = {}


def _limits(shape: Shape, default_min: int = 0) -> tuple[int, int | None]:
    meta = shape.metadata
    low = int(meta.get("min", default_min) or default_min)
    high = meta.get("max")
    return max(low, 0), (int(high) if high is not None else None)


def _size_range(shape: Shape, extra: int, default_min: int = 0) -> tuple[int, int]:
    low, high = _limits(shape, default_min)
    top = low + extra
    if high is not None:
        top = min(top, high)
    return low, max(top, low)


def _string(shape: Shape) -> SearchStrategy[str]:
    serialization = shape.serialization
    if shape.enum:
        return st.sampled_from(list(shape.enum))
    location = serialization.get("location")
    if serialization.get("jsonvalue") and location == "header":
        return _simple_document()  # type: ignore[return-value]
    if serialization.get("hostLabel"):
        low, high = _size_range(shape, EXTRA_TEXT, default_min=1)
        return st.text(_HOST_LABEL_CHARS, min_size=max(low, 1), max_size=max(high, 1))
    if location in ("header", "headers"):
        low, high = _size_range(shape, EXTRA_TEXT)
        return st.text(_HEADER_CHARS, min_size=low, max_size=high)
    default_min = 1 if location == "uri" else 0
    low, high = _size_range(shape, EXTRA_TEXT, default_min=default_min)
    return st.text(_TEXT_CHARS, min_size=low, max_size=high)


def any_text(min_size: int = 0, max_size: int = EXTRA_TEXT) -> SearchStrategy[str]:
    """Free text every wire format carries (what string members get), for messages and the like."""
    return st.text(_TEXT_CHARS, min_size=min_size, max_size=max_size)


def _number(shape: Shape) -> SearchStrategy[Any]:
    meta = shape.metadata
    if shape.type_name in INT_BOUNDS:
        low, high = INT_BOUNDS[shape.type_name]
        if "min" in meta:
            low = max(low, int(meta["min"]))
        if "max" in meta:
            high = min(high, int(meta["max"]))
        return st.integers(min_value=low, max_value=max(low, high))
    width = 32 if shape.type_name == "float" else 64
    return st.floats(
        min_value=float(meta["min"]) if "min" in meta else None,
        max_value=float(meta["max"]) if "max" in meta else None,
        allow_nan=False,
        allow_infinity=False,
        width=width,
    )


def _timestamp() -> SearchStrategy[datetime]:
    """Aware UTC datetimes with whole milliseconds: what every wire format round-trips."""
    return st.datetimes(min_value=MIN_TIME, max_value=MAX_TIME, timezones=st.just(UTC)).map(
        lambda dt: dt.replace(microsecond=dt.microsecond // 1000 * 1000)
    )


def _simple_document() -> SearchStrategy[dict[str, Any]]:
    """A small JSON object: documents are opaque, so shallow values suffice."""
    scalar = st.one_of(
        st.booleans(), st.integers(-1000, 1000), st.text(string.ascii_letters, max_size=6)
    )
    return st.dictionaries(
        st.text(string.ascii_letters, min_size=1, max_size=6), scalar, max_size=3
    )


def _is_event_stream(shape: Shape) -> bool:
    return bool(shape.serialization.get("eventstream"))


def _structure(shape: Shape, depth: int) -> SearchStrategy[dict[str, Any]]:
    if shape.is_document_type:
        return _simple_document()
    members = {
        name: member for name, member in shape.members.items() if not _is_event_stream(member)
    }
    if shape.is_tagged_union:
        if not members:
            return st.just({})
        choices = [
            st.fixed_dictionaries({name: value_for_shape(member, depth + 1)})
            for name, member in members.items()
        ]
        return st.one_of(choices)
    required = set(shape.required_members)
    fixed = {n: value_for_shape(m, depth + 1) for n, m in members.items() if n in required}
    optional = {}
    if depth < MAX_DEPTH:
        optional = {
            n: value_for_shape(m, depth + 1) for n, m in members.items() if n not in required
        }
    return st.fixed_dictionaries(fixed, optional=optional)


def _list(shape: Shape, depth: int) -> SearchStrategy[list[Any]]:
    low, high = _size_range(shape, EXTRA_ITEMS if depth < MAX_DEPTH else 0)
    return st.lists(value_for_shape(shape.member, depth + 1), min_size=low, max_size=high)


def _map(shape: Shape, depth: int) -> SearchStrategy[dict[Any, Any]]:
    low, high = _size_range(shape, EXTRA_ITEMS if depth < MAX_DEPTH else 0)
    if shape.serialization.get("location") == "headers":
        key_low, key_high = 1, 8
        keys: SearchStrategy[str] = st.text(_HEADER_KEY_CHARS, min_size=key_low, max_size=key_high)
    else:
        keys = value_for_shape(shape.key, depth + 1)
    return st.dictionaries(
        keys, value_for_shape(shape.value, depth + 1), min_size=low, max_size=high
    )


def _build(shape: Shape, depth: int) -> SearchStrategy[Any]:
    kind = shape.type_name
    if kind == "structure":
        return _structure(shape, depth)
    if kind == "list":
        return _list(shape, depth)
    if kind == "map":
        return _map(shape, depth)
    if kind in ("string", "character"):
        return _string(shape)
    if kind in ("integer", "long", "float", "double"):
        return _number(shape)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return _timestamp()
    if kind == "blob":
        low, high = _size_range(shape, EXTRA_BLOB)
        return st.binary(min_size=low, max_size=high)
    return st.nothing()


def value_for_shape(shape: Shape, depth: int = 0) -> SearchStrategy[Any]:
    """A strategy for valid Python values of ``shape`` (as boto3 callers pass and receive them).

    Recursive shapes are expanded lazily and bounded by :data:`MAX_DEPTH`.
    """
    key = (id(shape), min(depth, MAX_DEPTH + 1))
    cached = _cache.get(key)
    if cached is not None:
        return cached[1]
    strategy = st.deferred(lambda: _build(shape, depth))
    _cache[key] = (shape, strategy)  # keeping the shape alive keeps its id unique
    return strategy


def input_for_operation(operation_model: OperationModel) -> SearchStrategy[dict[str, Any]]:
    """Valid parameters for calling the operation."""
    shape = operation_model.input_shape
    return st.just({}) if shape is None else value_for_shape(shape)


def output_for_operation(operation_model: OperationModel) -> SearchStrategy[dict[str, Any]]:
    """A valid result of the operation, as a provider would return it."""
    shape = operation_model.output_shape
    return st.just({}) if shape is None else value_for_shape(shape)
