"""Model monitoring state: job definitions, schedules and their executions. Only the monitoring
area touches these tables.

An execution row is written before its processing job is created (status ``Pending``) and
carries the job's ARN once it exists, so a restarted server follows it to the end. The unique
``(schedule, scheduled time)`` key makes a scheduled time fire once, whichever replica sees it
first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    insert,
    select,
    update,
)

from seedbed.state import columns
from seedbed.state.db import metadata

NAME = columns.name_type(63)

job_definitions = Table(
    "sm_monitoring_job_definitions",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("arn", String(256), nullable=False),
    Column("endpoint_name", String(63), nullable=True),
    Column("request", JSON, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

schedules = Table(
    "sm_monitoring_schedules",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("arn", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("failure_reason", Text, nullable=True),
    Column("monitoring_type", String(32), nullable=False),
    Column("definition_name", String(63), nullable=True),
    Column("endpoint_name", String(63), nullable=True),
    Column("config", JSON, nullable=False),
    Column("next_run", DateTime(timezone=True), nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("modified", DateTime(timezone=True), nullable=False),
)

executions = Table(
    "sm_monitoring_executions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("schedule_name", String(63), nullable=False),
    Column("scheduled", DateTime(timezone=True), nullable=False),
    Column("status", String(32), nullable=False),
    Column("processing_job_arn", String(256), nullable=True),
    Column("failure_reason", Text, nullable=True),
    Column("endpoint_name", String(63), nullable=True),
    Column("definition_name", String(63), nullable=True),
    Column("monitoring_type", String(32), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("modified", DateTime(timezone=True), nullable=False),
    UniqueConstraint("account_id", "region", "schedule_name", "scheduled", name="uq_sm_monitoring_execution_time"),
    Index("ix_sm_monitoring_executions_status", "status"),
)

ACTIVE = ("Pending", "InProgress", "Stopping")
TIME_COLUMNS = ("created", "modified", "next_run", "scheduled")


def now() -> datetime:
    return datetime.now(UTC)


def _row(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(row._mapping)
    for key in TIME_COLUMNS:
        if isinstance(out.get(key), datetime) and out[key].tzinfo is None:
            out[key] = out[key].replace(tzinfo=UTC)
    return out


# -- job definitions -------------------------------------------------------------------------------


def _definition_where(account_id: str, region: str, kind: str, name: str) -> Any:
    c = job_definitions.c
    return and_(c.account_id == account_id, c.region == region, c.kind == kind, c.name == name)


def get_definition(conn: Connection, account_id: str, region: str, kind: str, name: str) -> dict[str, Any] | None:
    return _row(conn.execute(select(job_definitions).where(_definition_where(account_id, region, kind, name))).first())


def list_definitions(conn: Connection, account_id: str, region: str, kind: str) -> list[dict[str, Any]]:
    c = job_definitions.c
    rows = conn.execute(select(job_definitions).where(and_(c.account_id == account_id, c.region == region, c.kind == kind)))
    return [_row(r) for r in rows]  # type: ignore[misc]


def add_definition(conn: Connection, **values: Any) -> None:
    conn.execute(insert(job_definitions).values(**values))


def remove_definition(conn: Connection, account_id: str, region: str, kind: str, name: str) -> None:
    conn.execute(delete(job_definitions).where(_definition_where(account_id, region, kind, name)))


# -- schedules -------------------------------------------------------------------------------------


def _schedule_where(account_id: str, region: str, name: str) -> Any:
    c = schedules.c
    return and_(c.account_id == account_id, c.region == region, c.name == name)


def get_schedule(conn: Connection, account_id: str, region: str, name: str) -> dict[str, Any] | None:
    return _row(conn.execute(select(schedules).where(_schedule_where(account_id, region, name))).first())


def list_schedules(conn: Connection, account_id: str, region: str) -> list[dict[str, Any]]:
    c = schedules.c
    rows = conn.execute(select(schedules).where(and_(c.account_id == account_id, c.region == region)))
    return [_row(r) for r in rows]  # type: ignore[misc]


def due_schedules(conn: Connection, when: datetime) -> list[dict[str, Any]]:
    c = schedules.c
    rows = conn.execute(select(schedules).where(and_(c.status == "Scheduled", c.next_run.is_not(None), c.next_run <= when)))
    return [_row(r) for r in rows]  # type: ignore[misc]


def next_due(conn: Connection) -> datetime | None:
    c = schedules.c
    row = conn.execute(select(c.next_run).where(and_(c.status == "Scheduled", c.next_run.is_not(None)))
                       .order_by(c.next_run).limit(1)).first()
    if row is None:
        return None
    value = row[0]
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def schedules_using(conn: Connection, account_id: str, region: str, definition: str) -> list[str]:
    c = schedules.c
    rows = conn.execute(select(c.name).where(and_(c.account_id == account_id, c.region == region, c.definition_name == definition)))
    return [r[0] for r in rows]


def add_schedule(conn: Connection, **values: Any) -> None:
    conn.execute(insert(schedules).values(**values))


def change_schedule(conn: Connection, account_id: str, region: str, name: str, **values: Any) -> None:
    conn.execute(update(schedules).where(_schedule_where(account_id, region, name)).values(**values))


def remove_schedule(conn: Connection, account_id: str, region: str, name: str) -> None:
    conn.execute(delete(schedules).where(_schedule_where(account_id, region, name)))
    c = executions.c
    conn.execute(delete(executions).where(and_(c.account_id == account_id, c.region == region, c.schedule_name == name)))


# -- executions ------------------------------------------------------------------------------------


def add_execution(conn: Connection, **values: Any) -> None:
    conn.execute(insert(executions).values(**values))


def get_execution(conn: Connection, execution_id: str) -> dict[str, Any] | None:
    return _row(conn.execute(select(executions).where(executions.c.id == execution_id)).first())


def change_execution(conn: Connection, execution_id: str, **values: Any) -> None:
    conn.execute(update(executions).where(executions.c.id == execution_id).values(**values))


def list_executions(conn: Connection, account_id: str, region: str, schedule_name: str | None = None) -> list[dict[str, Any]]:
    c = executions.c
    query = select(executions).where(and_(c.account_id == account_id, c.region == region))
    if schedule_name is not None:
        query = query.where(c.schedule_name == schedule_name)
    return [_row(r) for r in conn.execute(query)]  # type: ignore[misc]


def last_execution(conn: Connection, account_id: str, region: str, schedule_name: str) -> dict[str, Any] | None:
    c = executions.c
    row = conn.execute(select(executions).where(and_(c.account_id == account_id, c.region == region, c.schedule_name == schedule_name))
                       .order_by(c.scheduled.desc(), c.created.desc()).limit(1)).first()
    return _row(row)


def active_executions(conn: Connection) -> list[dict[str, Any]]:
    return [_row(r) for r in conn.execute(select(executions).where(executions.c.status.in_(ACTIVE)))]  # type: ignore[misc]
