"""CloudFormation's tables: stacks, their resources and events, change sets, exports.

The stack and resource rows double as the journal of a running operation: the stack status says
which phase runs, each resource row says what was intended before a handler was called (status
``*_IN_PROGRESS`` with the intended physical id) and what to restore (``old``) if the operation
must roll back. Only CloudFormation's modules touch these tables.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Row

from seedbed.state.db import metadata

ID = BigInteger().with_variant(Integer, "sqlite")


def _ts(name: str, nullable: bool = True) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable)


stacks = Table(
    "cfn_stacks",
    metadata,
    Column("stack_id", String(512), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(128), nullable=False),
    Column("status", String(64), nullable=False),
    Column("status_reason", Text),
    Column("template_body", Text, nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("ssm_resolved", JSON),
    Column("description", Text),
    Column("capabilities", JSON),
    Column("tags", JSON),
    Column("outputs", JSON),
    Column("notification_arns", JSON),
    Column("role_arn", String(2048)),
    Column("disable_rollback", Boolean, nullable=False),
    Column("termination_protection", Boolean, nullable=False),
    Column("timeout_minutes", Integer),
    Column("parent_id", String(512)),
    Column("root_id", String(512)),
    Column("caller", JSON),
    Column("previous", JSON),
    Column("pending", JSON),
    Column("change_set_id", String(512)),
    Column("client_request_token", String(128)),
    Column("imports", JSON),
    Column("lease_owner", String(64)),
    _ts("lease_until"),
    _ts("created", nullable=False),
    _ts("updated"),
    _ts("deleted"),
)
Index("ix_cfn_stacks_name", stacks.c.account_id, stacks.c.region, stacks.c.name)
Index("ix_cfn_stacks_status", stacks.c.status)

resources = Table(
    "cfn_resources",
    metadata,
    Column("stack_id", String(512), primary_key=True),
    Column("logical_id", String(255), primary_key=True),
    Column("type", String(256), nullable=False),
    Column("physical_id", String(2048)),
    Column("status", String(64), nullable=False),
    Column("status_reason", Text),
    Column("properties", JSON),
    Column("attributes", JSON),
    Column("old", JSON),
    Column("token", String(64), nullable=False),
    Column("deletion_policy", String(32)),
    Column("update_replace_policy", String(32)),
    Column("metadata", JSON),
    _ts("updated", nullable=False),
)

events = Table(
    "cfn_events",
    metadata,
    Column("seq", ID, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("stack_id", String(512), nullable=False),
    Column("stack_name", String(128), nullable=False),
    Column("logical_id", String(255), nullable=False),
    Column("physical_id", String(2048)),
    Column("type", String(256), nullable=False),
    Column("status", String(64), nullable=False),
    Column("reason", Text),
    Column("properties", Text),
    Column("client_request_token", String(128)),
    _ts("timestamp", nullable=False),
)
Index("ix_cfn_events_stack", events.c.stack_id, events.c.seq)

change_sets = Table(
    "cfn_change_sets",
    metadata,
    Column("change_set_id", String(512), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("stack_id", String(512), nullable=False),
    Column("stack_name", String(128), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("change_set_type", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("status_reason", Text),
    Column("execution_status", String(32), nullable=False),
    Column("template_body", Text, nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("capabilities", JSON),
    Column("tags", JSON),
    Column("notification_arns", JSON),
    Column("role_arn", String(2048)),
    Column("changes", JSON),
    Column("description", Text),
    Column("caller", JSON),
    _ts("created", nullable=False),
)
Index("ix_cfn_change_sets_stack", change_sets.c.stack_id, change_sets.c.name)

exports = Table(
    "cfn_exports",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    Column("stack_id", String(512), nullable=False),
)

ACTIVE_EXCLUDED = ("DELETE_COMPLETE",)


def now() -> datetime:
    return datetime.now(timezone.utc)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; every time stored here is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# Stacks -----------------------------------------------------------------------------------------

def insert_stack(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(stacks).values(**values))


def get_stack(conn: Connection, stack_id: str) -> Row | None:
    return conn.execute(select(stacks).where(stacks.c.stack_id == stack_id)).first()


def find_stack(conn: Connection, account: str, region: str, name_or_id: str, include_deleted: bool = False) -> Row | None:
    """By ARN (deleted stacks included, as AWS does) or by name (live stacks only)."""
    if name_or_id.startswith("arn:"):
        row = get_stack(conn, name_or_id)
        return row if row is not None and row.account_id == account else None
    query = select(stacks).where(
        and_(stacks.c.account_id == account, stacks.c.region == region, stacks.c.name == name_or_id)
    )
    if not include_deleted:
        query = query.where(stacks.c.status != "DELETE_COMPLETE")
    return conn.execute(query.order_by(stacks.c.created.desc())).first()


def list_stacks(conn: Connection, account: str, region: str) -> list[Row]:
    query = select(stacks).where(and_(stacks.c.account_id == account, stacks.c.region == region))
    return list(conn.execute(query.order_by(stacks.c.created.desc())))


def stacks_in_progress(conn: Connection) -> list[Row]:
    return list(conn.execute(select(stacks).where(stacks.c.status.like("%_IN_PROGRESS")).where(stacks.c.status != "REVIEW_IN_PROGRESS")))


def update_stack(conn: Connection, stack_id: str, **values: Any) -> None:
    conn.execute(update(stacks).where(stacks.c.stack_id == stack_id).values(**values))


def children(conn: Connection, parent_id: str) -> list[Row]:
    return list(conn.execute(select(stacks).where(stacks.c.parent_id == parent_id)))


# Resources --------------------------------------------------------------------------------------

def get_resources(conn: Connection, stack_id: str) -> list[Row]:
    return list(conn.execute(select(resources).where(resources.c.stack_id == stack_id)))


def upsert_resource(conn: Connection, stack_id: str, logical_id: str, values: dict[str, Any]) -> None:
    values = {**values, "updated": now()}
    done = conn.execute(
        update(resources)
        .where(and_(resources.c.stack_id == stack_id, resources.c.logical_id == logical_id))
        .values(**values)
    ).rowcount
    if not done:
        conn.execute(insert(resources).values(stack_id=stack_id, logical_id=logical_id, **values))


def insert_resources(conn: Connection, stack_id: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        stamp = now()
        conn.execute(insert(resources), [{**row, "stack_id": stack_id, "updated": stamp} for row in rows])


_UPDATE_BY_KEY = (
    update(resources)
    .where(and_(resources.c.stack_id == bindparam("k_stack"), resources.c.logical_id == bindparam("k_logical")))
)


def update_resources(conn: Connection, stack_id: str, rows: list[dict[str, Any]]) -> None:
    """Full-row updates of many resources in one executemany (rows hold every column)."""
    if rows:
        stamp = now()
        params = []
        for row in rows:
            values = {k: v for k, v in row.items() if k != "logical_id"}
            values.update(k_stack=stack_id, k_logical=row["logical_id"], updated=stamp)
            params.append(values)
        conn.execute(_UPDATE_BY_KEY, params)


def delete_resource(conn: Connection, stack_id: str, logical_id: str) -> None:
    conn.execute(delete(resources).where(and_(resources.c.stack_id == stack_id, resources.c.logical_id == logical_id)))


def find_physical(conn: Connection, account: str, region: str, physical_id: str) -> Row | None:
    """The resource row (and its stack) owning a physical id, for DescribeStackResources."""
    query = (
        select(resources)
        .join(stacks, stacks.c.stack_id == resources.c.stack_id)
        .where(and_(resources.c.physical_id == physical_id, stacks.c.account_id == account, stacks.c.region == region))
        .where(stacks.c.status != "DELETE_COMPLETE")
    )
    return conn.execute(query).first()


# Events -----------------------------------------------------------------------------------------

def add_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(events), rows)


def list_events(conn: Connection, stack_id: str) -> list[Row]:
    query = select(events).where(events.c.stack_id == stack_id).order_by(events.c.seq.desc())
    return list(conn.execute(query))


# Change sets ------------------------------------------------------------------------------------

def insert_change_set(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(change_sets).values(**values))


def get_change_set(conn: Connection, change_set_id: str) -> Row | None:
    return conn.execute(select(change_sets).where(change_sets.c.change_set_id == change_set_id)).first()


def find_change_set(conn: Connection, stack_id: str, name: str) -> Row | None:
    query = select(change_sets).where(and_(change_sets.c.stack_id == stack_id, change_sets.c.name == name))
    return conn.execute(query).first()


def list_change_sets(conn: Connection, stack_id: str) -> list[Row]:
    query = select(change_sets).where(change_sets.c.stack_id == stack_id).order_by(change_sets.c.created)
    return list(conn.execute(query))


def update_change_set(conn: Connection, change_set_id: str, **values: Any) -> None:
    conn.execute(update(change_sets).where(change_sets.c.change_set_id == change_set_id).values(**values))


def delete_change_set(conn: Connection, change_set_id: str) -> None:
    conn.execute(delete(change_sets).where(change_sets.c.change_set_id == change_set_id))


def delete_change_sets_of(conn: Connection, stack_id: str) -> None:
    conn.execute(delete(change_sets).where(change_sets.c.stack_id == stack_id))


# Exports ----------------------------------------------------------------------------------------

def get_export(conn: Connection, account: str, region: str, name: str) -> Row | None:
    query = select(exports).where(
        and_(exports.c.account_id == account, exports.c.region == region, exports.c.name == name)
    )
    return conn.execute(query).first()


def list_exports(conn: Connection, account: str, region: str) -> list[Row]:
    query = select(exports).where(and_(exports.c.account_id == account, exports.c.region == region))
    return list(conn.execute(query.order_by(exports.c.name)))


def set_exports(conn: Connection, account: str, region: str, stack_id: str, values: dict[str, str]) -> None:
    """Replace the stack's exports with ``values``."""
    conn.execute(delete(exports).where(exports.c.stack_id == stack_id))
    for name, value in values.items():
        conn.execute(insert(exports).values(account_id=account, region=region, name=name, value=value, stack_id=stack_id))


def importers(conn: Connection, account: str, region: str, export_names: list[str]) -> list[tuple[str, str]]:
    """(export name, importing stack name) for live stacks that import any of ``export_names``."""
    out = []
    wanted = set(export_names)
    for row in list_stacks(conn, account, region):
        if row.status == "DELETE_COMPLETE":
            continue
        for name in row.imports or []:
            if name in wanted:
                out.append((name, row.name))
    return out
