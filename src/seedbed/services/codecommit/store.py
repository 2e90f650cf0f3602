"""CodeCommit's table: one row per repository (its metadata, triggers and tags). The commits
themselves live in the bare repository on disk (:mod:`seedbed.gitserver.repos`). Only CodeCommit's
modules touch this table.
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
    Text,
    and_,
    delete,
    insert,
    select,
    update,
)

from seedbed.state import columns
from seedbed.state.db import metadata

NAME = columns.name_type(100)

repositories = Table(
    "codecommit_repositories",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("repository_id", String(36), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("kms_key_id", String(2048), nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("modified", DateTime(timezone=True), nullable=False),
    Column("triggers", JSON, nullable=False),
    Column("triggers_id", String(36), nullable=True),
    Column("tags", JSON, nullable=False),
)


def now() -> datetime:
    return datetime.now(UTC)


def _row(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for key in ("created", "modified"):
        if out[key].tzinfo is None:
            out[key] = out[key].replace(tzinfo=UTC)
    out["triggers"] = list(out["triggers"] or [])
    out["tags"] = dict(out["tags"] or {})
    return out


def _where(account_id: str, region: str, name: str) -> Any:
    c = repositories.c
    return and_(c.account_id == account_id, c.region == region, c.name == name)


def get(conn: Connection, account_id: str, region: str, name: str) -> dict[str, Any] | None:
    row = conn.execute(select(repositories).where(_where(account_id, region, name))).first()
    return _row(row) if row else None


def list_all(conn: Connection, account_id: str, region: str) -> list[dict[str, Any]]:
    c = repositories.c
    rows = conn.execute(select(repositories).where(and_(c.account_id == account_id, c.region == region)))
    return [_row(r) for r in rows]


def create(conn: Connection, **values: Any) -> None:
    conn.execute(insert(repositories).values(**values))


def change(conn: Connection, account_id: str, region: str, repository: str, **values: Any) -> None:
    conn.execute(update(repositories).where(_where(account_id, region, repository)).values(**values))


def remove(conn: Connection, account_id: str, region: str, name: str) -> None:
    conn.execute(delete(repositories).where(_where(account_id, region, name)))
