"""Connections and hosts: one store behind both API surfaces (``codeconnections`` and
``codestar-connections``). Only this package's modules touch these tables.

A connection keeps the service name it was created with (its ARN's service); either API reads it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    String,
    Table,
    and_,
    delete,
    insert,
    select,
    update,
)

from seedbed.state.db import metadata
from seedbed.state.regional import RegionalTable

connections = Table(
    "codeconn_connections",
    metadata,
    Column("connection_id", String(36), primary_key=True),
    Column("account_id", String(12), nullable=False, index=True),
    Column("region", String(32), nullable=False),
    Column("service", String(32), nullable=False),
    Column("name", String(32), nullable=False),
    Column("provider_type", String(32), nullable=False),
    Column("host_arn", String(256), nullable=True),
    Column("status", String(16), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

hosts = Table(
    "codeconn_hosts",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("host_id", String(80), primary_key=True),
    Column("service", String(32), nullable=False),
    Column("name", String(64), nullable=False),
    Column("provider_type", String(32), nullable=False),
    Column("endpoint", String(512), nullable=False),
    Column("vpc", JSON, nullable=True),
    Column("status", String(32), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)


def now() -> datetime:
    return datetime.now(UTC)


def _dict(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out["tags"] = list(out["tags"] or [])
    return out


def get_connection(conn: Connection, connection_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(connections).where(connections.c.connection_id == connection_id)).first()
    return _dict(row) if row else None


def list_connections(conn: Connection, account_id: str, region: str) -> list[dict[str, Any]]:
    c = connections.c
    rows = conn.execute(select(connections).where(and_(c.account_id == account_id, c.region == region)).order_by(c.created, c.connection_id))
    return [_dict(r) for r in rows]


def add_connection(conn: Connection, **values: Any) -> None:
    conn.execute(insert(connections).values(**values))


def set_connection(conn: Connection, connection_id: str, **values: Any) -> None:
    conn.execute(update(connections).where(connections.c.connection_id == connection_id).values(**values))


def remove_connection(conn: Connection, connection_id: str) -> None:
    conn.execute(delete(connections).where(connections.c.connection_id == connection_id))


_hosts = RegionalTable(hosts, key="host_id", convert=_dict, order_by=("created", "host_id"))
get_host = _hosts.get
list_hosts = _hosts.list_all
add_host = _hosts.add
set_host = _hosts.change
remove_host = _hosts.remove


# The repositories behind connections carry workflows: declare their tables with this service's.
from seedbed.runtime.workflows import store as _workflow_tables  # noqa: F401
