"""HTTP semantics S3 applies to object reads and writes: ranges and conditional headers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from seedbed.errors import ServiceError
from seedbed.services.s3.errors import error, no_such_key, precondition_failed

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # exclusive
    size: int

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end - 1}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range a ``Range`` header selects, None for the whole object.

    As S3: a header it cannot parse (or a multi-range one) is ignored; a syntactically valid range
    that starts past the end is ``416 InvalidRange``.
    """
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            raise invalid_range(header, size)
        return ByteRange(max(0, size - count), size, size)
    start = int(first)
    end = int(last) + 1 if last else size
    if last and int(last) < start:
        return None
    if start >= size:
        raise invalid_range(header, size)
    return ByteRange(start, min(end, size), size)


def invalid_range(header: str, size: int) -> ServiceError:
    exc = error(
        "InvalidRange",
        "The requested range is not satisfiable",
        416,
        RangeRequested=header,
        ActualObjectSize=str(size),
    )
    exc.headers["Content-Range"] = f"bytes */{size}"
    return exc


def _etags(header: str) -> list[str]:
    return [part.strip().removeprefix("W/").strip('"') for part in header.split(",") if part.strip()]


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-Match/If-None-Match list names ``etag`` (unquoted) or is ``*``."""
    tags = _etags(header)
    return "*" in tags or etag.strip('"') in tags


def _seconds(moment: datetime) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.replace(microsecond=0)


@dataclass(frozen=True)
class Conditions:
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: datetime | None = None
    if_unmodified_since: datetime | None = None

    @classmethod
    def for_read(cls, params: dict) -> Conditions:
        return cls(
            params.get("IfMatch"),
            params.get("IfNoneMatch"),
            params.get("IfModifiedSince"),
            params.get("IfUnmodifiedSince"),
        )

    @classmethod
    def for_copy_source(cls, params: dict) -> Conditions:
        return cls(
            params.get("CopySourceIfMatch"),
            params.get("CopySourceIfNoneMatch"),
            params.get("CopySourceIfModifiedSince"),
            params.get("CopySourceIfUnmodifiedSince"),
        )

    def evaluate(self, etag: str, last_modified: datetime) -> int | None:
        """None when the request goes ahead, else 412 or 304 (S3's order of evaluation).

        If-Match decides over If-Unmodified-Since, If-None-Match over If-Modified-Since.
        """
        modified = _seconds(last_modified)
        if self.if_match is not None:
            if not etag_matches(self.if_match, etag):
                return 412
        elif self.if_unmodified_since is not None and modified > _seconds(self.if_unmodified_since):
            return 412
        if self.if_none_match is not None:
            if etag_matches(self.if_none_match, etag):
                return 304
        elif self.if_modified_since is not None:
            since = _seconds(self.if_modified_since)
            if since <= datetime.now(timezone.utc) and modified <= since:
                return 304
        return None

    def check_read(self, etag: str, last_modified: datetime) -> bool:
        """Raise 412 for a failed precondition; return True for ``304 Not Modified``."""
        outcome = self.evaluate(etag, last_modified)
        if outcome == 412:
            raise precondition_failed("If-Match" if self.if_match is not None else "If-Unmodified-Since")
        return outcome == 304

    def check_copy_source(self, etag: str, last_modified: datetime) -> None:
        """Copy sources fail every unmet condition with 412."""
        outcome = self.evaluate(etag, last_modified)
        if outcome is not None:
            raise precondition_failed("x-amz-copy-source-If-Match")


def check_write(if_match: str | None, if_none_match: str | None, key: str, current_etag: str | None) -> None:
    """Conditional writes: ``If-None-Match: *`` (create only) and ``If-Match: <etag>``."""
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise error(
                "NotImplemented",
                "A header you provided implies functionality that is not implemented",
                501,
                Header="If-None-Match",
            )
        if current_etag is not None:
            raise precondition_failed("If-None-Match")
    if if_match is not None:
        if current_etag is None:
            raise no_such_key(key)
        if not etag_matches(if_match, current_etag):
            raise precondition_failed("If-Match")
