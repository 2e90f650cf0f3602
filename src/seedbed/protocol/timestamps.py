"""Timestamp wire formats shared by every protocol.

AWS models carry timestamps in three wire forms; a member's ``timestampFormat`` trait overrides
the protocol default. The defaults, as botocore's serializers and parsers apply them:

==========================  ===========================  ====================================
protocol                    body                         header / query string
==========================  ===========================  ====================================
``json``                    ``unixTimestamp``            (no headers or query members)
``rest-json``               ``unixTimestamp``            header ``rfc822``, query ``iso8601``
``rest-xml``                ``iso8601``                  header ``rfc822``, query ``iso8601``
``query`` / ``ec2``         ``iso8601``                  (everything is in the form / XML)
``smithy-rpc-v2-cbor``      CBOR tag 1 epoch seconds     (``timestampFormat`` is ignored)
==========================  ===========================  ====================================

:data:`DEFAULT_BODY_FORMAT`, :data:`HEADER_FORMAT` and :data:`QUERYSTRING_FORMAT` encode that
table. Parsing is lenient (AWS accepts any of the three forms where the value is unambiguous),
formatting is exact. :func:`parse_timestamp` raises :class:`ValueError` on garbage so that each
protocol can turn it into the error code its service uses.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from email.utils import format_datetime, parsedate_to_datetime

ISO8601 = "iso8601"
RFC822 = "rfc822"
UNIX = "unixtimestamp"

DEFAULT_BODY_FORMAT: dict[str, str] = {
    "json": UNIX,
    "rest-json": UNIX,
    "rest-xml": ISO8601,
    "query": ISO8601,
    "ec2": ISO8601,
    "smithy-rpc-v2-cbor": UNIX,
}
HEADER_FORMAT = RFC822
QUERYSTRING_FORMAT = ISO8601

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def normalize_format(fmt: str | None, default: str = ISO8601) -> str:
    """Lower-case a model's ``timestampFormat`` (``unixTimestamp`` -> ``unixtimestamp``)."""
    return (fmt or default).lower()


def member_format(shape: object, protocol_default: str) -> str:
    """The format for a timestamp shape: its ``timestampFormat`` trait or the protocol default."""
    serialization = getattr(shape, "serialization", {}) or {}
    return normalize_format(serialization.get("timestampFormat"), protocol_default)


def from_epoch(seconds: float | int) -> datetime:
    """An aware UTC datetime from epoch seconds, exact to the microsecond for whole numbers."""
    if isinstance(seconds, bool) or not math.isfinite(float(seconds)):
        raise ValueError(f"not a timestamp: {seconds!r}")
    try:
        if isinstance(seconds, int):
            return _EPOCH + timedelta(seconds=seconds)
        # Go through the shortest decimal repr so 1.123 becomes .123000, not .122999.
        micros = int((Decimal(repr(float(seconds))) * 1_000_000).to_integral_value(ROUND_HALF_EVEN))
        return _EPOCH + timedelta(microseconds=micros)
    except (OverflowError, InvalidOperation) as exc:
        raise ValueError(f"timestamp out of range: {seconds!r}") from exc


def _parse_iso(text: str) -> datetime:
    cleaned = text.strip()
    if cleaned[-1:] in "zZ":
        cleaned = cleaned[:-1] + "+00:00"
    cleaned = cleaned.replace("t", "T") if "T" not in cleaned else cleaned
    parsed = datetime.fromisoformat(cleaned)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_rfc822(text: str) -> datetime:
    parsed = parsedate_to_datetime(text.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_timestamp(value: str | int | float | datetime, fmt: str | None = None) -> datetime:
    """Read a wire timestamp into an aware UTC datetime.

    ``fmt`` is the expected form (``iso8601``, ``rfc822`` or ``unixTimestamp``, any case); it is
    tried first, then the other forms, because clients and AWS are not always strict.
    Raises :class:`ValueError` when the value is no timestamp at all.
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, (int, float)):
        return from_epoch(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a timestamp: {value!r}")
    text = value.strip()
    if _NUMBER.match(text):
        if text.lstrip("+-").isdigit():
            return from_epoch(int(text))
        return from_epoch(float(text))
    order = (
        [_parse_rfc822, _parse_iso]
        if normalize_format(fmt) == RFC822
        else [_parse_iso, _parse_rfc822]
    )
    for parser in order:
        try:
            return parser(text)
        except (ValueError, TypeError, IndexError, OverflowError):
            continue
    raise ValueError(f"not a timestamp: {value!r}")


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def format_iso8601(dt: datetime) -> str:
    """``2024-01-02T03:04:05.123Z``: millisecond fraction as AWS writes it, micro only if needed."""
    dt = _aware(dt)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond == 0:
        return base + "Z"
    if dt.microsecond % 1000 == 0:
        return f"{base}.{dt.microsecond // 1000:03d}Z"
    return f"{base}.{dt.microsecond:06d}Z"


def format_epoch(dt: datetime) -> int | float:
    """Epoch seconds: an int for whole seconds, else a float with the sub-second part."""
    delta = _aware(dt) - _EPOCH
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    if micros % 1_000_000 == 0:
        return micros // 1_000_000
    return micros / 1_000_000


def format_timestamp(dt: datetime | int | float | str, fmt: str | None = None) -> str | int | float:
    """Write a timestamp in ``fmt`` (``iso8601`` default, ``rfc822``, ``unixTimestamp``).

    Accepts anything :func:`parse_timestamp` does so providers may hand back strings or epochs.
    """
    value = parse_timestamp(dt) if not isinstance(dt, datetime) else _aware(dt)
    form = normalize_format(fmt)
    if form == UNIX:
        return format_epoch(value)
    if form == RFC822:
        return format_datetime(value.replace(microsecond=0), usegmt=True)
    return format_iso8601(value)
