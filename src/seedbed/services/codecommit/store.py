"""CodeCommit's table: one row per repository (its metadata, triggers and tags). The commits
themselves live in the bare repository on disk (:mod:`seedbed.gitserver.repos`). Only CodeCommit's
modules touch this table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Row, String, Table, Text

from seedbed.state import columns
from seedbed.state.db import metadata
from seedbed.state.regional import RegionalTable, aware

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


def _row(row: Row) -> dict[str, Any]:
    out = aware(dict(row._mapping), "created", "modified")
    out["triggers"] = list(out["triggers"] or [])
    out["tags"] = dict(out["tags"] or {})
    return out


_table = RegionalTable(repositories, convert=_row)
get = _table.get
list_all = _table.list_all
create = _table.add
change = _table.change
remove = _table.remove
