"""CodePipeline's tables: pipelines (their declaration), executions (their journal: stage
statuses, artifacts, namespaces) and action executions (approval tokens, Lambda job ids). Only
CodePipeline's modules touch them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from seedbed.state import columns
from seedbed.state.db import metadata

NAME = columns.name_type(100)

pipelines = Table(
    "codepipeline_pipelines",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("arn", String(2048), nullable=False),
    Column("version", Integer, nullable=False),
    Column("declaration", JSON, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("transitions", JSON, nullable=False),
)

executions = Table(
    "codepipeline_executions",
    metadata,
    Column("execution_id", String(36), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("pipeline_name", NAME, nullable=False),
    Column("pipeline_version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_summary", Text, nullable=True),
    Column("started", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    Column("doc", JSON, nullable=False),
    Index("ix_codepipeline_executions_pipeline", "account_id", "region", "pipeline_name"),
    Index("ix_codepipeline_executions_status", "status"),
)

actions = Table(
    "codepipeline_actions",
    metadata,
    Column("action_execution_id", String(36), primary_key=True),
    Column("execution_id", String(36), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("pipeline_name", NAME, nullable=False),
    Column("stage_name", String(100), nullable=False),
    Column("action_name", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    Column("token", String(64), nullable=True),
    Column("job_id", String(64), nullable=True),
    Column("doc", JSON, nullable=False),
    Index("ix_codepipeline_actions_execution", "execution_id"),
    Index("ix_codepipeline_actions_pipeline", "account_id", "region", "pipeline_name"),
    Index("ix_codepipeline_actions_job", "job_id"),
)


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class PipelineRow:
    account_id: str
    region: str
    name: str
    arn: str
    version: int
    declaration: dict[str, Any]
    created: datetime
    updated: datetime
    tags: list[dict[str, str]]
    transitions: dict[str, Any]


@dataclass
class ExecutionRow:
    execution_id: str
    account_id: str
    region: str
    pipeline_name: str
    pipeline_version: int
    status: str
    status_summary: str | None
    started: datetime
    updated: datetime
    doc: dict[str, Any]


@dataclass
class ActionRow:
    action_execution_id: str
    execution_id: str
    account_id: str
    region: str
    pipeline_name: str
    stage_name: str
    action_name: str
    status: str
    started: datetime
    updated: datetime
    token: str | None
    job_id: str | None
    doc: dict[str, Any]


def _where_pipeline(table: Table, account: str, region: str, name: str) -> Any:
    column = table.c.name if table is pipelines else table.c.pipeline_name
    return (table.c.account_id == account) & (table.c.region == region) & (column == name)


def get_pipeline(conn: Connection, account: str, region: str, name: str) -> PipelineRow | None:
    row = conn.execute(select(pipelines).where(_where_pipeline(pipelines, account, region, name))).first()
    return PipelineRow(**row._mapping) if row else None


def list_pipelines(conn: Connection, account: str | None = None, region: str | None = None) -> list[PipelineRow]:
    query = select(pipelines)
    if account is not None:
        query = query.where(pipelines.c.account_id == account, pipelines.c.region == region)
    return [PipelineRow(**r._mapping) for r in conn.execute(query.order_by(pipelines.c.name))]


def insert_pipeline(conn: Connection, row: PipelineRow) -> None:
    conn.execute(insert(pipelines).values(**row.__dict__))


def update_pipeline(conn: Connection, account: str, region: str, name: str, **values: Any) -> None:
    conn.execute(update(pipelines).where(_where_pipeline(pipelines, account, region, name)).values(**values))


def delete_pipeline(conn: Connection, account: str, region: str, name: str) -> bool:
    from sqlalchemy import delete

    return bool(conn.execute(delete(pipelines).where(_where_pipeline(pipelines, account, region, name))).rowcount)


def insert_execution(conn: Connection, row: ExecutionRow) -> None:
    conn.execute(insert(executions).values(**row.__dict__))


def get_execution(conn: Connection, execution_id: str) -> ExecutionRow | None:
    row = conn.execute(select(executions).where(executions.c.execution_id == execution_id)).first()
    return ExecutionRow(**row._mapping) if row else None


def save_execution(conn: Connection, execution_id: str, **values: Any) -> None:
    conn.execute(update(executions).where(executions.c.execution_id == execution_id).values(updated=now(), **values))


def list_executions(conn: Connection, account: str, region: str, pipeline: str) -> list[ExecutionRow]:
    rows = conn.execute(select(executions).where(_where_pipeline(executions, account, region, pipeline))
                        .order_by(executions.c.started.desc(), executions.c.execution_id.desc()))
    return [ExecutionRow(**r._mapping) for r in rows]


def running_executions(conn: Connection) -> list[ExecutionRow]:
    rows = conn.execute(select(executions).where(executions.c.status.in_(("InProgress", "Stopping")))
                        .order_by(executions.c.started))
    return [ExecutionRow(**r._mapping) for r in rows]


def insert_action(conn: Connection, row: ActionRow) -> None:
    conn.execute(insert(actions).values(**row.__dict__))


def get_action(conn: Connection, action_execution_id: str) -> ActionRow | None:
    row = conn.execute(select(actions).where(actions.c.action_execution_id == action_execution_id)).first()
    return ActionRow(**row._mapping) if row else None


def action_by_job(conn: Connection, job_id: str) -> ActionRow | None:
    row = conn.execute(select(actions).where(actions.c.job_id == job_id)).first()
    return ActionRow(**row._mapping) if row else None


def save_action(conn: Connection, action_execution_id: str, **values: Any) -> None:
    conn.execute(update(actions).where(actions.c.action_execution_id == action_execution_id)
                 .values(updated=now(), **values))


def list_actions(conn: Connection, account: str, region: str, pipeline: str,
                 execution_id: str | None = None) -> list[ActionRow]:
    query = select(actions).where(_where_pipeline(actions, account, region, pipeline))
    if execution_id is not None:
        query = query.where(actions.c.execution_id == execution_id)
    rows = conn.execute(query.order_by(actions.c.started.desc(), actions.c.action_execution_id))
    return [ActionRow(**r._mapping) for r in rows]
