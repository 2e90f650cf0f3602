"""ListSecrets filters, sort orders and page tokens, worded as the Secrets Manager API reference.

Filter keys match by prefix: ``name``, ``tag-key``, ``tag-value``, ``primary-region`` and
``owning-service`` case-sensitively, ``description`` and ``all`` (every word against name,
description, tag keys and values) not. A value starting with ``!`` negates. Values of one filter
are alternatives; several filters must all match.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from seedbed.services.secretsmanager import store
from seedbed.services.secretsmanager.errors import InvalidNextToken, InvalidParameter

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _fields(secret: store.Secret, key: str) -> tuple[list[str], bool]:
    """The attribute values a filter key looks at, and whether matching ignores case."""
    if key == "name":
        return [secret.name], False
    if key == "description":
        return [secret.description or ""], True
    if key == "tag-key":
        return [t["Key"] for t in secret.tags], False
    if key == "tag-value":
        return [t["Value"] for t in secret.tags], False
    if key == "primary-region":
        return [secret.region], False
    if key == "owning-service":
        return [], False
    values = [secret.name, secret.description or ""]
    values += [t["Key"] for t in secret.tags] + [t["Value"] for t in secret.tags]
    return values, True


def _matches_value(fields: list[str], value: str, fold: bool, words: bool) -> bool:
    needles = value.split() if words else [value]
    if fold:
        fields = [f.lower() for f in fields]
        needles = [n.lower() for n in needles]
    if words:
        fields = [word for f in fields for word in f.split()] + fields
    return any(f.startswith(n) for n in needles for f in fields)


def matches(secret: store.Secret, filters: list[dict[str, Any]]) -> bool:
    for flt in filters:
        key, values = flt.get("Key"), flt.get("Values") or []
        if key is None or not values:
            raise InvalidParameter("Each filter needs a Key and at least one value.")
        fields, fold = _fields(secret, key)
        positive = [v for v in values if not v.startswith("!")]
        negative = [v[1:] for v in values if v.startswith("!")]
        words = key == "all"
        if positive and not any(_matches_value(fields, v, fold, words) for v in positive):
            return False
        if any(_matches_value(fields, v, fold, words) for v in negative):
            return False
    return True


def sort(secrets: list[store.Secret], sort_by: str | None, order: str | None) -> list[store.Secret]:
    keys: dict[str, Callable[[store.Secret], Any]] = {
        "created-date": lambda s: (s.created, s.arn),
        "last-accessed-date": lambda s: (s.last_accessed or _EPOCH, s.arn),
        "last-changed-date": lambda s: (s.last_changed, s.arn),
        "name": lambda s: (s.name, s.arn),
    }
    return sorted(secrets, key=keys[sort_by or "created-date"], reverse=(order or "desc") == "desc")


def page(
    items: list[T], max_results: int | None, token: str | None, default: int
) -> tuple[list[T], str | None]:
    """An offset page: the token says where the next page starts (listings are small)."""
    start = 0
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise InvalidNextToken("The NextToken value is not valid.") from None
        if start < 0:
            raise InvalidNextToken("The NextToken value is not valid.")
    size = max_results or default
    chunk = items[start : start + size]
    if start + size >= len(items):
        return chunk, None
    return chunk, base64.urlsafe_b64encode(json.dumps({"offset": start + size}).encode()).decode()
