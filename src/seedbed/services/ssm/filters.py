"""ParameterFilters (and DescribeParameters' older Filters), and page tokens.

Keys and options as the SSM API reference lists them: ``Name`` (Equals, BeginsWith, Contains),
``Path`` (OneLevel, Recursive), ``Type``/``KeyId``/``Tier``/``DataType`` (Equals, BeginsWith),
``Label`` (Equals) and ``tag:<key>`` (Equals; no values means "has the tag"). GetParametersByPath
accepts only Type, KeyId and Label.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, TypeVar

from seedbed.services.ssm import names, store
from seedbed.services.ssm.errors import (
    InvalidFilterKey,
    InvalidFilterOption,
    InvalidFilterValue,
    InvalidNextToken,
)

T = TypeVar("T")
OPTIONS: dict[str, tuple[str, ...]] = {
    "Name": ("Equals", "BeginsWith", "Contains"),
    "Path": ("OneLevel", "Recursive"),
    "Type": ("Equals", "BeginsWith"),
    "KeyId": ("Equals", "BeginsWith"),
    "Tier": ("Equals", "BeginsWith"),
    "DataType": ("Equals", "BeginsWith"),
    "Label": ("Equals",),
    "tag": ("Equals",),
}
BY_PATH_KEYS = ("Type", "KeyId", "Label")
TYPES = ("String", "StringList", "SecureString")
TIERS = ("Standard", "Advanced", "Intelligent-Tiering")


def _kind(key: str) -> str:
    return "tag" if key.startswith("tag:") else key


def check(filters: list[dict[str, Any]], allowed: tuple[str, ...] | None = None) -> None:
    """Refuse unknown keys, options and values, as InvalidFilterKey/Option/Value."""
    for flt in filters:
        key = flt["Key"]
        kind = _kind(key)
        if kind not in OPTIONS or (allowed is not None and kind not in allowed):
            valid = ", ".join(allowed or tuple(OPTIONS))
            raise InvalidFilterKey(
                f"The following filter key is not valid: {key}. "
                f"Valid filter keys include: [{valid}]."
            )
        option = flt.get("Option") or ("OneLevel" if kind == "Path" else "Equals")
        if option not in OPTIONS[kind]:
            raise InvalidFilterOption(
                f"The following filter option is not valid: {option}. Valid "
                f"options include: {list(OPTIONS[kind])}."
            )
        values = flt.get("Values") or []
        if not values and kind != "tag":
            raise InvalidFilterValue(f"The filter {key} needs at least one value.")
        if kind == "Type" and option == "Equals" and not set(values) <= set(TYPES):
            raise InvalidFilterValue(
                f"The following filter value is not valid: {values}. "
                f"Valid values include: {list(TYPES)}."
            )
        if kind == "Tier" and option == "Equals" and not set(values) <= set(TIERS):
            raise InvalidFilterValue(
                f"The following filter value is not valid: {values}. "
                f"Valid values include: {list(TIERS)}."
            )
        if kind == "Path":
            for value in values:
                names.check_path(value)


def matches(parameter: store.Parameter, labels: set[str], flt: dict[str, Any]) -> bool:
    """Whether a parameter passes one filter; ``labels`` are those on any of its versions."""
    key = flt["Key"]
    kind = _kind(key)
    option = flt.get("Option") or ("OneLevel" if kind == "Path" else "Equals")
    values = flt.get("Values") or []
    if kind == "tag":
        tags = {t["Key"]: t["Value"] for t in parameter.tags}
        wanted = key[len("tag:") :]
        return wanted in tags and (not values or tags[wanted] in values)
    if kind == "Path":
        return any(
            names.under(names.check_path(v), parameter.name, option == "Recursive") for v in values
        )
    if kind == "Label":
        return bool(labels & set(values))
    field: str | None = {
        "Name": parameter.name,
        "Type": parameter.param_type,
        "KeyId": parameter.key_id,
        "Tier": parameter.tier,
        "DataType": parameter.data_type,
    }[kind]
    if field is None:
        return False
    if kind == "Name":
        # Names match with or without their leading slash, as AWS does for Name filters.
        fields = {field, field.removeprefix("/")}
        values = [v.removeprefix("/") for v in values] + list(values)
    else:
        fields = {field}
    if option == "Equals":
        return bool(fields & set(values))
    if option == "BeginsWith":
        return any(f.startswith(v) for f in fields for v in values)
    return any(v in f for f in fields for v in values)  # Contains


def legacy(filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """DescribeParameters' older ``Filters`` (Name BeginsWith, Type/KeyId Equals), as new ones."""
    return [
        {
            "Key": f["Key"],
            "Option": "BeginsWith" if f["Key"] == "Name" else "Equals",
            "Values": f["Values"],
        }
        for f in filters
    ]


def page(
    items: list[T], name_of: Callable[[T], str], limit: int, token: str | None
) -> tuple[list[T], str | None]:
    """A page of name-sorted ``items`` after the name the token carries, and the next token."""
    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise InvalidNextToken("The specified token isn't valid.") from None
        if not isinstance(after, str):
            raise InvalidNextToken("The specified token isn't valid.")
        items = [item for item in items if name_of(item) > after]
    chunk = items[:limit]
    if len(items) <= limit:
        return chunk, None
    return chunk, base64.urlsafe_b64encode(
        json.dumps({"after": name_of(chunk[-1])}).encode()
    ).decode()
