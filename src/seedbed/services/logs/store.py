"""CloudWatch Logs' tables: log groups, log streams and the events themselves. Only the Logs
modules touch them.

Events live in one narrow table keyed by an autoincrement id, with integer group and stream ids
(not names) so that the two indexes a steady stream of writes maintains stay small:
``(stream_id, ts, id)`` for GetLogEvents and ``(group_id, ts, id)`` for FilterLogEvents and the
retention sweep. ``(ts, id)`` is the total order every read pages through.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from seedbed.state import columns
from seedbed.state.db import metadata

ID = BigInteger().with_variant(Integer, "sqlite")
#: Names compare byte-wise on PostgreSQL too, so ordering and page tokens agree on both databases.
NAME = columns.name_type(512)

groups = Table(
    "logs_groups",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", NAME, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("retention_days", Integer, nullable=True),
    Column("kms_key_id", String(256), nullable=True),
    Column("log_group_class", String(32), nullable=False),
    Column("deletion_protection", Boolean, nullable=False),
    Column("stored_bytes", BigInteger, nullable=False),
    Column("tags", JSON, nullable=False),
    UniqueConstraint("account_id", "region", "name", name="uq_logs_groups_name"),
)

streams = Table(
    "logs_streams",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("group_id", BigInteger, nullable=False),
    Column("name", NAME, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("first_event_ms", BigInteger, nullable=True),
    Column("last_event_ms", BigInteger, nullable=True),
    Column("last_ingestion_ms", BigInteger, nullable=True),
    Column("stored_bytes", BigInteger, nullable=False),
    UniqueConstraint("group_id", "name", name="uq_logs_streams_name"),
    Index("ix_logs_streams_last_event", "group_id", "last_event_ms"),
)

events = Table(
    "logs_events",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("group_id", BigInteger, nullable=False),
    Column("stream_id", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("ingestion_ms", BigInteger, nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_logs_events_stream", "stream_id", "ts", "id"),
    Index("ix_logs_events_group", "group_id", "ts", "id"),
)


@dataclass(frozen=True)
class Group:
    id: int
    account_id: str
    region: str
    name: str
    created_ms: int
    retention_days: int | None
    kms_key_id: str | None
    log_group_class: str
    deletion_protection: bool
    stored_bytes: int
    tags: dict[str, str]

    @property
    def arn(self) -> str:
        """The ARN without the trailing ``:*`` (``logGroupArn``, and what tagging takes)."""
        return f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{self.name}"


@dataclass(frozen=True)
class Stream:
    id: int
    group_id: int
    name: str
    created_ms: int
    first_event_ms: int | None
    last_event_ms: int | None
    last_ingestion_ms: int | None
    stored_bytes: int


@dataclass(frozen=True)
class Event:
    id: int
    stream_id: int
    ts: int
    ingestion_ms: int
    message: str


def _group(row: Any) -> Group:
    data = row._mapping
    return Group(**{**data, "deletion_protection": bool(data["deletion_protection"]),
                    "tags": dict(data["tags"] or {})})


def _stream(row: Any) -> Stream:
    return Stream(**row._mapping)


# -- groups ---------------------------------------------------------------------------------------


def get_group(conn: Connection, account: str, region: str, name: str) -> Group | None:
    row = conn.execute(
        select(groups).where(
            groups.c.account_id == account, groups.c.region == region, groups.c.name == name
        )
    ).first()
    return _group(row) if row else None


def insert_group(conn: Connection, **values: Any) -> None:
    conn.execute(insert(groups).values(stored_bytes=0, **values))


def update_group(conn: Connection, group_id: int, **values: Any) -> None:
    conn.execute(update(groups).where(groups.c.id == group_id).values(**values))


def list_groups(
    conn: Connection,
    account: str,
    region: str,
    prefix: str | None,
    after: str | None,
    limit: int,
    names: Sequence[str] | None = None,
    log_group_class: str | None = None,
) -> list[Group]:
    """Groups by name; ``after`` is the last name of the previous page. ``names`` restricts to
    exact names. (A name pattern is applied by the caller.)"""
    query = select(groups).where(groups.c.account_id == account, groups.c.region == region)
    if prefix:
        query = query.where(func.substr(groups.c.name, 1, len(prefix)) == prefix)
    if names is not None:
        query = query.where(groups.c.name.in_(list(names)))
    if log_group_class:
        query = query.where(groups.c.log_group_class == log_group_class)
    if after is not None:
        query = query.where(groups.c.name > after)
    rows = conn.execute(query.order_by(groups.c.name).limit(limit))
    return [_group(r) for r in rows]


def delete_group(conn: Connection, group_id: int) -> None:
    conn.execute(delete(events).where(events.c.group_id == group_id))
    conn.execute(delete(streams).where(streams.c.group_id == group_id))
    conn.execute(delete(groups).where(groups.c.id == group_id))


def groups_with_retention(conn: Connection) -> list[Group]:
    rows = conn.execute(select(groups).where(groups.c.retention_days.is_not(None)))
    return [_group(r) for r in rows]


# -- streams --------------------------------------------------------------------------------------


def get_stream(conn: Connection, group_id: int, name: str) -> Stream | None:
    row = conn.execute(
        select(streams).where(streams.c.group_id == group_id, streams.c.name == name)
    ).first()
    return _stream(row) if row else None


def insert_stream(conn: Connection, group_id: int, name: str, created_ms: int) -> None:
    conn.execute(
        insert(streams).values(group_id=group_id, name=name, created_ms=created_ms, stored_bytes=0)
    )


def delete_stream(conn: Connection, stream_id: int) -> None:
    conn.execute(delete(events).where(events.c.stream_id == stream_id))
    conn.execute(delete(streams).where(streams.c.id == stream_id))


def list_streams(
    conn: Connection,
    group_id: int,
    prefix: str | None,
    by_last_event: bool,
    descending: bool,
    after: tuple[Any, ...] | None,
    limit: int,
) -> list[Stream]:
    """Streams by name or by last event time (streams without events count as time 0, and ties
    go by id); ``after`` is the sort key of the previous page's last stream."""
    query = select(streams).where(streams.c.group_id == group_id)
    if prefix:
        query = query.where(func.substr(streams.c.name, 1, len(prefix)) == prefix)
    if by_last_event:
        key = func.coalesce(streams.c.last_event_ms, 0)
        if after is not None:
            cmp = (key < after[0]) if descending else (key > after[0])
            tie = (streams.c.id < after[1]) if descending else (streams.c.id > after[1])
            query = query.where(or_(cmp, and_(key == after[0], tie)))
        order = [key.desc(), streams.c.id.desc()] if descending else [key, streams.c.id]
    else:
        if after is not None:
            query = query.where(streams.c.name < after[0] if descending else streams.c.name > after[0])
        order = [streams.c.name.desc() if descending else streams.c.name]
    return [_stream(r) for r in conn.execute(query.order_by(*order).limit(limit))]


def stream_names(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(select(streams.c.id, streams.c.name).where(streams.c.id.in_(wanted)))
    return {r.id: r.name for r in rows}


def stream_ids(conn: Connection, group_id: int, names: Sequence[str] | None,
               prefix: str | None) -> list[int]:
    query = select(streams.c.id).where(streams.c.group_id == group_id)
    if names is not None:
        query = query.where(streams.c.name.in_(list(names)))
    if prefix:
        query = query.where(func.substr(streams.c.name, 1, len(prefix)) == prefix)
    return [r.id for r in conn.execute(query)]


# -- events ---------------------------------------------------------------------------------------


def append_events(
    conn: Connection, group: Group, stream: Stream, batch: Sequence[tuple[int, str]],
    ingestion_ms: int, size: int,
) -> None:
    """Insert ``(timestamp, message)`` pairs in one executemany and move the stream's counters,
    all in the caller's transaction. (A group's stored bytes are the sum over its streams, read
    when groups are described, so writers to different streams never touch one row.)"""
    conn.execute(
        insert(events),
        [{"group_id": group.id, "stream_id": stream.id, "ts": ts, "ingestion_ms": ingestion_ms,
          "message": message} for ts, message in batch],
    )
    first = min(ts for ts, _ in batch)
    last = max(ts for ts, _ in batch)
    conn.execute(
        update(streams).where(streams.c.id == stream.id).values(
            first_event_ms=func.coalesce(func.min(streams.c.first_event_ms, first), first)
            if conn.dialect.name == "sqlite"
            else func.least(func.coalesce(streams.c.first_event_ms, first), first),
            last_event_ms=func.coalesce(func.max(streams.c.last_event_ms, last), last)
            if conn.dialect.name == "sqlite"
            else func.greatest(func.coalesce(streams.c.last_event_ms, last), last),
            last_ingestion_ms=ingestion_ms,
            stored_bytes=streams.c.stored_bytes + size,
        )
    )


def stored_bytes(conn: Connection, group_ids: Sequence[int]) -> dict[int, int]:
    if not group_ids:
        return {}
    rows = conn.execute(
        select(streams.c.group_id, func.coalesce(func.sum(streams.c.stored_bytes), 0))
        .where(streams.c.group_id.in_(list(group_ids))).group_by(streams.c.group_id)
    )
    return {int(r[0]): int(r[1]) for r in rows}


def _after(position: tuple[int, int] | None, forward: bool) -> Any:
    if position is None:
        return None
    ts, eid = position
    if forward:
        return and_(events.c.ts >= ts, or_(events.c.ts > ts, events.c.id > eid))
    return and_(events.c.ts <= ts, or_(events.c.ts < ts, events.c.id < eid))


def read_stream(
    conn: Connection,
    stream_id: int,
    start: int | None,
    end: int | None,
    position: tuple[int, int] | None,
    forward: bool,
    limit: int,
) -> list[Event]:
    """Up to ``limit`` events of a stream in ``[start, end)`` strictly after (forward) or before
    (backward) ``position``, nearest first, returned in ascending order."""
    query = select(events.c.id, events.c.stream_id, events.c.ts, events.c.ingestion_ms,
                   events.c.message).where(events.c.stream_id == stream_id)
    if start is not None:
        query = query.where(events.c.ts >= start)
    if end is not None:
        query = query.where(events.c.ts < end)
    cond = _after(position, forward)
    if cond is not None:
        query = query.where(cond)
    if forward:
        query = query.order_by(events.c.ts, events.c.id)
    else:
        query = query.order_by(events.c.ts.desc(), events.c.id.desc())
    rows = [Event(*r) for r in conn.execute(query.limit(limit))]
    return rows if forward else rows[::-1]


def scan_group(
    conn: Connection,
    group_id: int,
    stream_filter: Any,
    start: int | None,
    end: int | None,
    position: tuple[int, int] | None,
    limit: int,
) -> list[Event]:
    """The next ``limit`` events of a group (optionally some of its streams) in ``(ts, id)``
    order after ``position``. ``stream_filter`` is a list of stream ids or a SQL condition."""
    query = select(events.c.id, events.c.stream_id, events.c.ts, events.c.ingestion_ms,
                   events.c.message).where(events.c.group_id == group_id)
    if isinstance(stream_filter, list):
        query = query.where(events.c.stream_id.in_(stream_filter))
    elif stream_filter is not None:
        query = query.where(stream_filter)
    if start is not None:
        query = query.where(events.c.ts >= start)
    if end is not None:
        query = query.where(events.c.ts < end)
    cond = _after(position, True)
    if cond is not None:
        query = query.where(cond)
    return [Event(*r) for r in conn.execute(query.order_by(events.c.ts, events.c.id).limit(limit))]


def prefix_condition(group_id: int, prefix: str) -> Any:
    sub = select(streams.c.id).where(
        streams.c.group_id == group_id, func.substr(streams.c.name, 1, len(prefix)) == prefix
    )
    return events.c.stream_id.in_(sub)


def expire(conn: Connection, group_id: int, before_ms: int, chunk: int = 5000) -> int:
    """Delete up to ``chunk`` events of a group older than ``before_ms``; returns how many."""
    ids = [r.id for r in conn.execute(
        select(events.c.id).where(events.c.group_id == group_id, events.c.ts < before_ms)
        .order_by(events.c.ts, events.c.id).limit(chunk)
    )]
    if not ids:
        return 0
    sizes = conn.execute(
        select(events.c.stream_id, func.coalesce(func.sum(func.length(events.c.message)), 0))
        .where(events.c.id.in_(ids)).group_by(events.c.stream_id)
    ).all()
    conn.execute(delete(events).where(events.c.id.in_(ids)))
    for stream_id, size in sizes:
        left = streams.c.stored_bytes - int(size)
        conn.execute(update(streams).where(streams.c.id == stream_id).values(
            stored_bytes=func.max(left, 0) if conn.dialect.name == "sqlite" else func.greatest(left, 0)))
    return len(ids)
