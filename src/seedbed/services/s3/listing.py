"""Listing keys the way S3 does: prefix, delimiter roll-ups, markers, pages, URL encoding.

The database returns rows in key order from a position; this module walks them, folds keys that
contain the delimiter after the prefix into one *common prefix* (and jumps the cursor past all of
them with one query instead of reading them), and stops at ``max-keys`` entries, counting keys
and common prefixes alike, as S3 does.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from seedbed.errors import ServiceError

MAX_KEYS = 1000


def prefix_upper(prefix: str) -> str | None:
    """The least string greater than every string that starts with ``prefix`` (None: no bound).

    Code point order is UTF-8 byte order, which is how S3 (and the ``C`` collation) sort keys.
    """
    chars = prefix
    while chars:
        last = ord(chars[-1])
        if last < 0x10FFFF:
            following = last + 1
            if 0xD800 <= following <= 0xDFFF:  # surrogates are not characters
                following = 0xE000
            return chars[:-1] + chr(following)
        chars = chars[:-1]
    return None


def common_prefix(key: str, prefix: str, delimiter: str | None) -> str | None:
    """The roll-up ``key`` falls under, or None when it is listed itself."""
    if not delimiter:
        return None
    index = key.find(delimiter, len(prefix))
    return key[: index + len(delimiter)] if index >= 0 else None


@dataclass(frozen=True)
class Position:
    """Where to resume: after ``key`` (exclusive), or at ``key`` (inclusive) after a roll-up."""

    key: str | None = None
    inclusive: bool = False


def resume_after(marker: str | None, prefix: str, delimiter: str | None) -> Position:
    """A position just past ``marker``; past its whole roll-up when it names one (V1 NextMarker)."""
    if not marker:
        return Position()
    if delimiter and common_prefix(marker, prefix, delimiter) == marker:
        upper = prefix_upper(marker)
        return Position(upper, True) if upper is not None else Position(marker)
    return Position(marker)


#: fetch(position, limit) -> rows with a ``key`` attribute, in key order, within the prefix.
Fetch = Callable[[Any, int], Sequence[Any]]


@dataclass
class Page:
    """One page: entries in order (rows and roll-up strings), and whether more follow."""

    entries: list[Any] = field(default_factory=list)
    truncated: bool = False

    @property
    def rows(self) -> list[Any]:
        return [entry for entry in self.entries if not isinstance(entry, str)]

    @property
    def prefixes(self) -> list[str]:
        return [entry for entry in self.entries if isinstance(entry, str)]

    @property
    def last(self) -> str | None:
        """The last key or roll-up on the page: what the next page starts after."""
        if not self.entries:
            return None
        entry = self.entries[-1]
        return entry if isinstance(entry, str) else entry.key


def walk(
    fetch: Fetch,
    prefix: str,
    delimiter: str | None,
    start: Any,
    max_keys: int,
    key_of: Callable[[Any], str] = lambda row: row.key,
    position_of: Callable[[Any], Any] | None = None,
) -> tuple[Page, Any]:
    """Up to ``max_keys`` entries from ``start``; returns the page and the position after it.

    ``position_of(row)`` is the position just after a row (by default after its key; version
    listings resume inside a key, after a version).
    """
    page = Page()
    position = start
    if max_keys <= 0:
        return page, position
    batch = min(max_keys + 1, MAX_KEYS + 1)
    while True:
        rows = fetch(position, batch)
        if not rows:
            return page, position
        for row in rows:
            key = key_of(row)
            rolled = common_prefix(key, prefix, delimiter)
            if len(page.entries) == max_keys:
                page.truncated = True
                return page, position
            if rolled is not None:
                page.entries.append(rolled)
                upper = prefix_upper(rolled)
                if upper is None:
                    return page, Position(rolled)
                position = Position(upper, True)
                break  # re-query past the roll-up
            page.entries.append(row)
            position = position_of(row) if position_of else Position(key)
        else:
            if len(rows) < batch:
                return page, position


# --- tokens and encoding ---------------------------------------------------------------------


def encode_token(value: str) -> str:
    return base64.urlsafe_b64encode(("1:" + value).encode("utf-8")).decode("ascii")


def decode_token(token: str) -> str:
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeError):
        text = ""
    if not text.startswith("1:"):
        raise ServiceError(
            "The continuation token provided is incorrect",
            code="InvalidArgument",
            status=400,
            fields={"ArgumentName": "continuation-token", "ArgumentValue": token},
        )
    return text[2:]


def url_encode(value: str | None, enabled: bool) -> str | None:
    """S3's ``encoding-type=url``: botocore decodes with ``unquote_plus``, so ``+`` must be escaped."""
    if value is None or not enabled:
        return value
    return quote(value, safe="/")


def check_encoding_type(value: str | None) -> bool:
    if value is None:
        return False
    if value != "url":
        raise ServiceError(
            "Invalid Encoding Method specified in Request",
            code="InvalidArgument",
            status=400,
            fields={"ArgumentName": "encoding-type", "ArgumentValue": value},
        )
    return True


def clamp_max_keys(value: int | None, name: str = "max-keys") -> int:
    if value is None:
        return MAX_KEYS
    if value < 0:
        raise ServiceError(
            f"Argument {name} must be an integer between 0 and 2147483647",
            code="InvalidArgument",
            status=400,
            fields={"ArgumentName": name, "ArgumentValue": str(value)},
        )
    return min(value, MAX_KEYS)


def add_grouping(out: dict[str, Any], prefixes: Sequence[str], delimiter: str | None, encode: bool) -> None:
    """The members every listing shares: ``CommonPrefixes``, ``Delimiter``, ``EncodingType``."""
    if prefixes:
        out["CommonPrefixes"] = [{"Prefix": url_encode(p, encode)} for p in prefixes]
    if delimiter:
        out["Delimiter"] = url_encode(delimiter, encode)
    if encode:
        out["EncodingType"] = "url"


def add_key_markers(out: dict[str, Any], entries: Sequence[Any], encode: bool, id_member: str, id_attr: str) -> None:
    """``NextKeyMarker`` and the id marker (version or upload) after a truncated page."""
    last = entries[-1]
    if isinstance(last, str):
        out["NextKeyMarker"] = url_encode(last, encode)
    else:
        out["NextKeyMarker"] = url_encode(last.key, encode)
        out[id_member] = getattr(last, id_attr)
