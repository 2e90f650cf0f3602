"""SageMaker code repositories: one row each (name, ARN, GitConfig). Only the coderepos area
touches this table."""

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

from seedbed.state import columns
from seedbed.state.db import metadata

NAME = columns.name_type(63)

code_repositories = Table(
    "sm_code_repositories",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("arn", String(256), nullable=False),
    Column("git_config", JSON, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("modified", DateTime(timezone=True), nullable=False),
)


def now() -> datetime:
    return datetime.now(UTC)


def _row(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for key in ("created", "modified"):
        if out[key].tzinfo is None:
            out[key] = out[key].replace(tzinfo=UTC)
    return out


def _where(account_id: str, region: str, name: str) -> Any:
    c = code_repositories.c
    return and_(c.account_id == account_id, c.region == region, c.name == name)


def get(conn: Connection, account_id: str, region: str, name: str) -> dict[str, Any] | None:
    row = conn.execute(select(code_repositories).where(_where(account_id, region, name))).first()
    return _row(row) if row else None


def list_all(conn: Connection, account_id: str, region: str) -> list[dict[str, Any]]:
    c = code_repositories.c
    rows = conn.execute(select(code_repositories).where(and_(c.account_id == account_id, c.region == region)))
    return [_row(r) for r in rows]


def add(conn: Connection, **values: Any) -> None:
    conn.execute(insert(code_repositories).values(**values))


def change(conn: Connection, account_id: str, region: str, repository: str, **values: Any) -> None:
    conn.execute(update(code_repositories).where(_where(account_id, region, repository)).values(**values))


def remove(conn: Connection, account_id: str, region: str, name: str) -> None:
    conn.execute(delete(code_repositories).where(_where(account_id, region, name)))
