"""SageMaker code repositories: one row each (name, ARN, GitConfig). Only the coderepos area
touches this table."""

from __future__ import annotations

from datetime import UTC, datetime
from sqlalchemy import JSON, Column, DateTime, String, Table

from seedbed.state import columns
from seedbed.state.db import metadata
from seedbed.state.regional import RegionalTable

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


_table = RegionalTable(code_repositories)
get = _table.get
list_all = _table.list_all
add = _table.add
change = _table.change
remove = _table.remove
