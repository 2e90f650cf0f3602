"""CloudTrail's table: one row per API request, allowed or denied."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Index,
    String,
    Table,
    Text,
    insert,
    select,
)

from seedbed.state.db import metadata

events = Table(
    "cloudtrail_events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("event_source", String(128), nullable=False),
    Column("event_name", String(128), nullable=False),
    Column("aws_region", String(32), nullable=False),
    Column("account_id", String(12), nullable=True),
    Column("principal_arn", String(2048), nullable=True),
    Column("principal_type", String(32), nullable=True),
    Column("access_key_id", String(32), nullable=True),
    Column("user_name", String(256), nullable=True),
    Column("source_ip", String(64), nullable=True),
    Column("user_agent", String(1024), nullable=True),
    Column("request_id", String(64), nullable=False),
    Column("read_only", Boolean, nullable=False),
    Column("error_code", String(128), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("request_parameters", Text, nullable=True),
    Column("resources", Text, nullable=True),
    Index("ix_cloudtrail_events_time", "event_time"),
)


def append(conn: Connection, rows: Sequence[dict]) -> None:
    if rows:
        conn.execute(insert(events), list(rows))


#: LookupEvents attribute keys and the column each filters on.
LOOKUP_COLUMNS = {
    "EventId": events.c.event_id,
    "EventName": events.c.event_name,
    "EventSource": events.c.event_source,
    "Username": events.c.user_name,
    "AccessKeyId": events.c.access_key_id,
    "ReadOnly": events.c.read_only,
}


def lookup(
    conn: Connection,
    account_id: str | None,
    region: str | None,
    include_unattributed: bool,
    start: datetime | None,
    end: datetime | None,
    attribute: tuple[str, str] | None,
    limit: int,
    before: tuple[datetime, str] | None,
) -> list:
    """Events newest first; ``before`` is the (time, id) of the last row of the previous page.

    ``include_unattributed`` adds events that belong to no account (requests with an unknown key
    or no signature), which only the installation's admin gets to see.
    """
    query = select(events)
    if account_id is not None:
        own = events.c.account_id == account_id
        query = query.where(own | events.c.account_id.is_(None) if include_unattributed else own)
    if region is not None:
        query = query.where(events.c.aws_region == region)
    if start is not None:
        query = query.where(events.c.event_time >= start)
    if end is not None:
        query = query.where(events.c.event_time <= end)
    if attribute is not None:
        key, value = attribute
        column = LOOKUP_COLUMNS[key]
        if key == "ReadOnly":
            query = query.where(column.is_(value.lower() == "true"))
        else:
            query = query.where(column == value)
    if before is not None:
        t, eid = before
        query = query.where(
            (events.c.event_time < t) | ((events.c.event_time == t) & (events.c.event_id < eid))
        )
    query = query.order_by(events.c.event_time.desc(), events.c.event_id.desc()).limit(limit)
    return list(conn.execute(query))
