"""CloudWatch Logs operations: log groups (retention, KMS key id, class, tags), log streams,
PutLogEvents, GetLogEvents with AWS's ``f/``/``b/`` paging tokens, FilterLogEvents with filter
patterns (:mod:`~seedbed.services.logs.patterns`), and tagging.

Reads and writes of events run in a worker thread, so that a large batch never stalls the event
loop. Retention is enforced twice: reads never return events older than the group's retention,
and a periodic sweep deletes them in small chunks.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from typing import Any

from sqlalchemy.exc import IntegrityError

from seedbed.server.context import RequestContext
from seedbed.services.base import Provider
from seedbed.services.logs import patterns, store
from seedbed.services.logs.errors import (
    InvalidParameter,
    ResourceAlreadyExists,
    ResourceNotFound,
    TooManyTags,
    Validation,
    group_not_found,
    stream_not_found,
)

log = logging.getLogger(__name__)

RETENTION_DAYS = frozenset({1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                            1827, 2192, 2557, 2922, 3288, 3653})
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_EVENT_BYTES = 1_048_576 - EVENT_OVERHEAD
MAX_TAGS = 50
#: A GetLogEvents/FilterLogEvents page holds at most 1 MB of messages.
MAX_PAGE_BYTES = 1_048_576
#: FilterLogEvents reads this many rows per query, and stops a page after scanning this many.
SCAN_CHUNK = 1000
SCAN_BUDGET = 100_000
#: Seconds between retention sweeps.
SWEEP_SECONDS = 600.0

_TOKEN = re.compile(r"^([fb])/(\d{20})(\d{36})(?:/s)?$")


def now_ms() -> int:
    return int(time.time() * 1000)


def _b64(doc: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def _unb64(token: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        raise InvalidParameter("The specified nextToken is invalid.") from None


def position_token(direction: str, position: tuple[int, int]) -> str:
    """``f/`` or ``b/`` and 56 digits (timestamp, event id), as AWS's tokens look."""
    return f"{direction}/{position[0]:020d}{position[1]:036d}/s"


def parse_position_token(token: str) -> tuple[str, tuple[int, int]]:
    m = _TOKEN.match(token)
    if not m:
        raise InvalidParameter("The specified nextToken is invalid.")
    return m.group(1), (int(m.group(2)), int(m.group(3)))


def group_arn(group: store.Group) -> str:
    return group.arn + ":*"


def _group_out(group: store.Group, stored: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {
        "logGroupName": group.name,
        "creationTime": group.created_ms,
        "metricFilterCount": 0,
        "arn": group_arn(group),
        "storedBytes": max(stored, 0),
        "logGroupClass": group.log_group_class,
        "logGroupArn": group.arn,
        "deletionProtectionEnabled": group.deletion_protection,
    }
    if group.retention_days is not None:
        out["retentionInDays"] = group.retention_days
    if group.kms_key_id:
        out["kmsKeyId"] = group.kms_key_id
    return out


def _stream_out(group: store.Group, stream: store.Stream) -> dict[str, Any]:
    out: dict[str, Any] = {
        "logStreamName": stream.name,
        "creationTime": stream.created_ms,
        "arn": f"{group.arn}:log-stream:{stream.name}",
        # Deprecated for log streams since 2019 and always reported as zero.
        "storedBytes": 0,
    }
    for key, value in (("firstEventTimestamp", stream.first_event_ms),
                       ("lastEventTimestamp", stream.last_event_ms),
                       ("lastIngestionTime", stream.last_ingestion_ms)):
        if value is not None:
            out[key] = value
    if stream.last_ingestion_ms is not None:
        out["uploadSequenceToken"] = f"{stream.last_ingestion_ms:056d}"
    return out


def _check_retention(days: int) -> None:
    if days not in RETENTION_DAYS:
        raise InvalidParameter(
            f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy "
            "constraint: Member must satisfy enum value set: "
            f"[{', '.join(str(d) for d in sorted(RETENTION_DAYS))}]"
        )


def _check_tags(tags: dict[str, str], exc: type = TooManyTags) -> None:
    if len(tags) > MAX_TAGS:
        raise exc(f"A resource can have no more than {MAX_TAGS} tags.")
    for key in tags:
        if key.lower().startswith("aws:"):
            raise InvalidParameter("Tag keys prefixed with 'aws:' are reserved by AWS.")


def _retention_floor(group: store.Group, now: int) -> int | None:
    return now - group.retention_days * DAY_MS if group.retention_days else None


class LogsProvider(Provider):
    service = "logs"

    def __init__(self, backend: Any) -> None:
        super().__init__(backend)
        self._sweeper: asyncio.Task[None] | None = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            self._sweeper = loop.create_task(self._sweep_forever())

    async def resume(self) -> None:
        """Start the retention sweep (for a start-up hook; loading by a request also starts it)."""
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    # -- retention ----------------------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.sweep_retention)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("log retention sweep failed")
            await asyncio.sleep(SWEEP_SECONDS)

    def sweep_retention(self, now: int | None = None) -> int:
        """Delete events older than their group's retention, a chunk per transaction."""
        now = now if now is not None else now_ms()
        with self.backend.db.connect() as conn:
            targets = store.groups_with_retention(conn)
        removed = 0
        for group in targets:
            floor = _retention_floor(group, now)
            assert floor is not None
            while True:
                with self.backend.db.begin() as conn:
                    count = store.expire(conn, group.id, floor)
                removed += count
                if count == 0:
                    break
        return removed

    # -- plumbing -----------------------------------------------------------------------------------

    def _name_from(self, ctx: RequestContext, params: dict[str, Any]) -> str:
        name, ident = params.get("logGroupName"), params.get("logGroupIdentifier")
        if name and ident:
            raise InvalidParameter(
                "LogGroup name and LogGroup ARN are mutually exclusive parameters."
            )
        if not name and not ident:
            raise InvalidParameter("Either logGroupName or logGroupIdentifier must be specified.")
        if name:
            return name
        assert ident is not None
        return self._name_from_identifier(ident)

    @staticmethod
    def _name_from_identifier(ident: str) -> str:
        if ident.startswith("arn:"):
            parts = ident.split(":", 6)
            if len(parts) < 7 or parts[5] != "log-group":
                raise InvalidParameter(f"Invalid log group identifier: {ident}")
            name = parts[6]
            return name.removesuffix(":*")
        return ident

    def _group(self, conn: Any, ctx: RequestContext, name: str) -> store.Group:
        group = store.get_group(conn, ctx.account_id, ctx.region, name)
        if group is None:
            raise group_not_found()
        ctx.resources.append(group_arn(group))
        return group

    def _stream(self, conn: Any, group: store.Group, name: str) -> store.Stream:
        stream = store.get_stream(conn, group.id, name)
        if stream is None:
            raise stream_not_found()
        return stream

    def resource_condition_keys(
        self, ctx: RequestContext, resource_arn: str, key: str
    ) -> tuple[str, ...] | None:
        """``aws:ResourceTag/<k>`` of a log group (by its ARN), for IAM conditions."""
        if not key.startswith("aws:resourcetag/"):
            return None
        parts = resource_arn.split(":", 6)
        if len(parts) < 7 or parts[2] != "logs" or parts[5] != "log-group":
            return None
        name = parts[6].split(":", 1)[0]
        with self.backend.db.connect() as conn:
            group = store.get_group(conn, parts[4], parts[3], name)
        if group is None:
            return None
        wanted = key.split("/", 1)[1]
        return next(((v,) for k, v in group.tags.items() if k.lower() == wanted), None)

    # -- log groups ---------------------------------------------------------------------------------

    def create_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["logGroupName"]
        tags = dict(params.get("tags") or {})
        _check_tags(tags, InvalidParameter)
        if name.startswith(("aws/", "AWS/")):
            raise InvalidParameter("Log group names beginning with aws/ are reserved.")
        try:
            with self.backend.db.begin() as conn:
                if store.get_group(conn, ctx.account_id, ctx.region, name) is not None:
                    raise ResourceAlreadyExists("The specified log group already exists")
                store.insert_group(
                    conn, account_id=ctx.account_id, region=ctx.region, name=name,
                    created_ms=now_ms(), retention_days=None, kms_key_id=params.get("kmsKeyId"),
                    log_group_class=params.get("logGroupClass") or "STANDARD",
                    deletion_protection=bool(params.get("deletionProtectionEnabled")), tags=tags,
                )
        except IntegrityError:
            raise ResourceAlreadyExists("The specified log group already exists") from None
        ctx.resources.append(f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{name}:*")
        return {}

    async def delete_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            group = self._group(conn, ctx, params["logGroupName"])
        if group.deletion_protection:
            raise Validation(
                f"Log group {group.name} has deletion protection enabled and cannot be deleted."
            )

        def work() -> None:
            with self.backend.db.begin() as conn:
                store.delete_group(conn, group.id)

        await asyncio.to_thread(work)
        return {}

    def describe_log_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("logGroupNamePrefix")
        pattern = params.get("logGroupNamePattern")
        if prefix and pattern:
            raise InvalidParameter(
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."
            )
        identifiers = params.get("logGroupIdentifiers")
        if identifiers and (prefix or pattern):
            raise InvalidParameter(
                "logGroupIdentifiers cannot be combined with a log group name prefix or pattern."
            )
        names = [self._name_from_identifier(i) for i in identifiers] if identifiers else None
        limit = params.get("limit") or 50
        after = _unb64(params["nextToken"]).get("after") if params.get("nextToken") else None
        wanted = pattern.lower() if pattern else None
        found: list[store.Group] = []
        more = False
        with self.backend.db.connect() as conn:
            while True:
                chunk = store.list_groups(conn, ctx.account_id, ctx.region, prefix, after,
                                          max(limit + 1, 100) if wanted else limit + 1, names,
                                          params.get("logGroupClass"))
                for group in chunk:
                    after = group.name
                    if wanted and wanted not in group.name.lower():
                        continue
                    if len(found) == limit:
                        more = True
                        break
                    found.append(group)
                if more or len(chunk) < (max(limit + 1, 100) if wanted else limit + 1):
                    break
            stored = store.stored_bytes(conn, [g.id for g in found])
        out: dict[str, Any] = {"logGroups": [_group_out(g, stored.get(g.id, 0)) for g in found]}
        if more:
            out["nextToken"] = _b64({"after": found[-1].name})
        return out

    def put_retention_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        days = params["retentionInDays"]
        _check_retention(days)
        with self.backend.db.begin() as conn:
            group = self._group(conn, ctx, params["logGroupName"])
            store.update_group(conn, group.id, retention_days=days)
        return {}

    def delete_retention_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            group = self._group(conn, ctx, params["logGroupName"])
            store.update_group(conn, group.id, retention_days=None)
        return {}

    def put_log_group_deletion_protection(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        name = self._name_from_identifier(params["logGroupIdentifier"])
        with self.backend.db.begin() as conn:
            group = self._group(conn, ctx, name)
            store.update_group(conn, group.id,
                               deletion_protection=bool(params["deletionProtectionEnabled"]))
        return {}

    # -- tags ---------------------------------------------------------------------------------------

    def _tag_group(self, conn: Any, ctx: RequestContext, arn: str) -> store.Group:
        parts = arn.split(":", 6)
        if len(parts) < 7 or parts[0] != "arn" or parts[2] != "logs" or parts[5] != "log-group":
            raise InvalidParameter(f"Invalid resource ARN: {arn}")
        if parts[4] != ctx.account_id or parts[3] != ctx.region:
            raise ResourceNotFound(f"The specified resource does not exist: {arn}")
        return self._group(conn, ctx, self._name_from_identifier(arn))

    def _set_tags(self, conn: Any, group: store.Group, add: dict[str, str],
                  remove: list[str], exc: type = TooManyTags) -> None:
        tags = {k: v for k, v in group.tags.items() if k not in remove}
        tags.update(add)
        _check_tags(tags, exc)
        store.update_group(conn, group.id, tags=tags)

    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            group = self._tag_group(conn, ctx, params["resourceArn"])
            self._set_tags(conn, group, dict(params["tags"]), [])
        return {}

    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            group = self._tag_group(conn, ctx, params["resourceArn"])
            self._set_tags(conn, group, {}, list(params["tagKeys"]))
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            group = self._tag_group(conn, ctx, params["resourceArn"])
        return {"tags": group.tags}

    def tag_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            group = self._group(conn, ctx, params["logGroupName"])
            self._set_tags(conn, group, dict(params["tags"]), [], InvalidParameter)
        return {}

    def untag_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            group = self._group(conn, ctx, params["logGroupName"])
            self._set_tags(conn, group, {}, list(params["tags"]))
        return {}

    def list_tags_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            group = self._group(conn, ctx, params["logGroupName"])
        return {"tags": group.tags}

    # -- log streams --------------------------------------------------------------------------------

    def create_log_stream(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["logStreamName"]
        try:
            with self.backend.db.begin() as conn:
                group = self._group(conn, ctx, params["logGroupName"])
                if store.get_stream(conn, group.id, name) is not None:
                    raise ResourceAlreadyExists("The specified log stream already exists")
                store.insert_stream(conn, group.id, name, now_ms())
        except IntegrityError:
            raise ResourceAlreadyExists("The specified log stream already exists") from None
        return {}

    async def delete_log_stream(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        def work() -> None:
            with self.backend.db.begin() as conn:
                group = self._group(conn, ctx, params["logGroupName"])
                stream = self._stream(conn, group, params["logStreamName"])
                store.delete_stream(conn, stream.id)

        await asyncio.to_thread(work)
        return {}

    def describe_log_streams(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = self._name_from(ctx, params)
        by_time = params.get("orderBy") == "LastEventTime"
        prefix = params.get("logStreamNamePrefix")
        if by_time and prefix:
            raise InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
        descending = bool(params.get("descending"))
        limit = params.get("limit") or 50
        after = None
        if params.get("nextToken"):
            token = _unb64(params["nextToken"])
            if not isinstance(token, dict) or token.get("by_time") != by_time:
                raise InvalidParameter("The specified nextToken is invalid.")
            after = tuple(token["after"])
        with self.backend.db.connect() as conn:
            group = self._group(conn, ctx, name)
            found = store.list_streams(conn, group.id, prefix, by_time, descending, after, limit + 1)
        out: dict[str, Any] = {"logStreams": [_stream_out(group, s) for s in found[:limit]]}
        if len(found) > limit:
            last = found[limit - 1]
            key = [last.last_event_ms or 0, last.id] if by_time else [last.name]
            out["nextToken"] = _b64({"by_time": by_time, "after": key})
        return out

    # -- events -------------------------------------------------------------------------------------

    async def put_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        batch = [(e["timestamp"], e["message"]) for e in params["logEvents"]]
        size = 0
        for index, (_, message) in enumerate(batch):
            length = len(message.encode("utf-8"))
            if length > MAX_EVENT_BYTES:
                raise InvalidParameter(
                    f"Log event too large: {length} bytes exceeds limit of {MAX_EVENT_BYTES}"
                    f" (event {index})"
                )
            size += length + EVENT_OVERHEAD
        if size > MAX_BATCH_BYTES:
            raise InvalidParameter(f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")
        if any(batch[i][0] > batch[i + 1][0] for i in range(len(batch) - 1)):
            raise InvalidParameter(
                "Log events in a single PutLogEvents request must be in chronological order."
            )

        def work() -> dict[str, Any]:
            now = now_ms()
            with self.backend.db.begin() as conn:
                group = self._group(conn, ctx, params["logGroupName"])
                stream = self._stream(conn, group, params["logStreamName"])
                rejected: dict[str, int] = {}
                floor = _retention_floor(group, now)
                too_old = expired = -1
                too_new = len(batch)
                for i, (ts, _) in enumerate(batch):
                    if ts < now - 14 * DAY_MS:
                        too_old = i
                    if floor is not None and ts < floor:
                        expired = i
                    if ts > now + 2 * HOUR_MS and too_new == len(batch):
                        too_new = i
                if too_old >= 0:
                    rejected["tooOldLogEventEndIndex"] = too_old
                if expired >= 0:
                    rejected["expiredLogEventEndIndex"] = expired
                if too_new < len(batch):
                    rejected["tooNewLogEventStartIndex"] = too_new
                accepted = batch[max(too_old, expired) + 1:too_new]
                if accepted and accepted[-1][0] - accepted[0][0] > DAY_MS:
                    raise InvalidParameter(
                        "The batch of log events in a single PutLogEvents request cannot span "
                        "more than 24 hours."
                    )
                if accepted:
                    accepted_size = sum(len(m.encode("utf-8")) for _, m in accepted)
                    store.append_events(conn, group, stream, accepted, now, accepted_size)
            out: dict[str, Any] = {"nextSequenceToken": f"{now:056d}"}
            if rejected:
                out["rejectedLogEventsInfo"] = rejected
            return out

        return await asyncio.to_thread(work)

    async def get_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = self._name_from(ctx, params)
        limit = params.get("limit") or 10_000
        token = params.get("nextToken")
        direction, position = parse_position_token(token) if token else (None, None)
        forward = direction == "f" if direction else bool(params.get("startFromHead"))

        def work() -> dict[str, Any]:
            now = now_ms()
            with self.backend.db.connect() as conn:
                group = self._group(conn, ctx, name)
                stream = self._stream(conn, group, params["logStreamName"])
                start = params.get("startTime")
                floor = _retention_floor(group, now)
                if floor is not None:
                    start = max(start or 0, floor)
                found = store.read_stream(conn, stream.id, start, params.get("endTime"), position,
                                          forward, limit)
            found = _fit(found, forward)
            events = [{"timestamp": e.ts, "message": e.message, "ingestionTime": e.ingestion_ms}
                      for e in found]
            if found:
                head, tail = (found[0].ts, found[0].id), (found[-1].ts, found[-1].id)
                return {"events": events, "nextForwardToken": position_token("f", tail),
                        "nextBackwardToken": position_token("b", head)}
            if position is None:
                start_at = (params.get("startTime") or 0, 0)
                end_at = (params.get("endTime") or now, 0)
                position_f, position_b = (start_at, start_at) if forward else (start_at, end_at)
            else:
                position_f = position_b = position
            return {"events": [], "nextForwardToken": position_token("f", position_f),
                    "nextBackwardToken": position_token("b", position_b)}

        return await asyncio.to_thread(work)

    async def filter_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = self._name_from(ctx, params)
        names, prefix = params.get("logStreamNames"), params.get("logStreamNamePrefix")
        if names and prefix:
            raise InvalidParameter(
                "logStreamNames and logStreamNamePrefix are mutually exclusive parameters."
            )
        match = patterns.compile_pattern(params.get("filterPattern"))
        limit = params.get("limit") or 10_000
        position = None
        if params.get("nextToken"):
            token = _unb64(params["nextToken"])
            try:
                position = (int(token["ts"]), int(token["id"]))
            except (KeyError, TypeError, ValueError):
                raise InvalidParameter("The specified nextToken is invalid.") from None

        def work() -> dict[str, Any]:
            now = now_ms()
            with self.backend.db.connect() as conn:
                group = self._group(conn, ctx, name)
                stream_filter: Any = None
                if names:
                    stream_filter = store.stream_ids(conn, group.id, names, None)
                    if not stream_filter:
                        raise stream_not_found()
                elif prefix:
                    stream_filter = store.prefix_condition(group.id, prefix)
                start = params.get("startTime")
                floor = _retention_floor(group, now)
                if floor is not None:
                    start = max(start or 0, floor)
                matched: list[store.Event] = []
                size = scanned = 0
                cursor = position
                exhausted = False
                while True:
                    rows = store.scan_group(conn, group.id, stream_filter, start,
                                            params.get("endTime"), cursor, SCAN_CHUNK)
                    full = False
                    for row in rows:
                        scanned += 1
                        cursor = (row.ts, row.id)
                        if match(row.message):
                            matched.append(row)
                            size += len(row.message) + EVENT_OVERHEAD
                            if len(matched) >= limit or size >= MAX_PAGE_BYTES:
                                full = True
                                break
                    if full or scanned >= SCAN_BUDGET:
                        break
                    if len(rows) < SCAN_CHUNK:
                        exhausted = True
                        break
                stream_names = store.stream_names(conn, (e.stream_id for e in matched))
            out: dict[str, Any] = {
                "events": [{"logStreamName": stream_names.get(e.stream_id, ""), "timestamp": e.ts,
                            "message": e.message, "ingestionTime": e.ingestion_ms,
                            "eventId": f"{e.id:056d}"} for e in matched],
                "searchedLogStreams": [],
            }
            if not exhausted and cursor is not None:
                out["nextToken"] = _b64({"ts": cursor[0], "id": cursor[1]})
            return out

        return await asyncio.to_thread(work)


def _fit(found: list[store.Event], forward: bool) -> list[store.Event]:
    """At most 1 MB of messages, kept from the end nearest the reader's position."""
    total = 0
    ordered = found if forward else found[::-1]
    for i, event in enumerate(ordered):
        total += len(event.message) + EVENT_OVERHEAD
        if total > MAX_PAGE_BYTES and i > 0:
            kept = ordered[:i]
            return kept if forward else kept[::-1]
    return found
