"""SageMaker Pipelines' tables: pipelines (with every version of their definition), executions and
the execution journal (one row per step of an execution, with its state, metadata and resolved
properties). A running execution is entirely described by these rows, which is what lets a
restarted server carry it on (:meth:`PipelineOperations.resume_pipelines`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Index,
    Integer,
    Row,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    select,
    update,
)

from seedbed.services.sagemaker.store import NAME
from seedbed.state import columns
from seedbed.state.db import metadata

_ts = columns.timestamp


pipelines = Table(
    "sm_pipelines",
    metadata,
    Column("arn", String(512), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", NAME, nullable=False),
    Column("lname", String(256), nullable=False),
    Column("display_name", String(256), nullable=True),
    Column("description", Text, nullable=True),
    Column("role_arn", String(2048), nullable=False),
    Column("status", String(32), nullable=False),
    Column("parallelism", JSON, nullable=True),
    #: The current version (its definition is in sm_pipeline_versions).
    Column("version", Integer, nullable=False),
    Column("client_token", String(128), nullable=True),
    Column("created_by", JSON, nullable=False),
    Column("modified_by", JSON, nullable=True),
    _ts("created"),
    _ts("modified"),
    _ts("last_run", nullable=True),
    Index("ix_sm_pipelines_name", "account_id", "region", "lname", unique=True),
)

versions = Table(
    "sm_pipeline_versions",
    metadata,
    Column("pipeline_arn", String(512), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("definition", Text, nullable=False),
    _ts("created"),
)

executions = Table(
    "sm_pipeline_executions",
    metadata,
    Column("arn", String(512), primary_key=True),
    Column("execution_id", String(32), nullable=False),
    Column("pipeline_arn", String(512), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("display_name", String(256), nullable=True),
    Column("description", Text, nullable=True),
    Column("failure_reason", Text, nullable=True),
    #: [{"Name", "Value"}]: every parameter of the definition, defaults filled in.
    Column("parameters", JSON, nullable=False),
    Column("definition", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("role_arn", String(2048), nullable=False),
    Column("parallelism", JSON, nullable=True),
    Column("selective", JSON, nullable=True),
    Column("client_token", String(128), nullable=True),
    Column("created_by", JSON, nullable=False),
    Column("modified_by", JSON, nullable=True),
    _ts("created"),
    _ts("modified"),
    Index("ix_sm_pexec_pipeline", "pipeline_arn", "created"),
    Index("ix_sm_pexec_status", "status"),
)

steps = Table(
    "sm_pipeline_steps",
    metadata,
    Column("execution_arn", String(512), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("pipeline_arn", String(512), nullable=False),
    Column("step_type", String(64), nullable=False),
    Column("display_name", String(256), nullable=True),
    Column("description", Text, nullable=True),
    Column("status", String(32), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("failure_reason", Text, nullable=True),
    #: PipelineExecutionStepMetadata as ListPipelineExecutionSteps returns it.
    Column("metadata", JSON, nullable=True),
    #: What ``Get: Steps.<name>...`` reads: the job's Describe output, OutputParameters, ...
    Column("properties", JSON, nullable=True),
    #: The job (or other resource) of the running attempt: {"kind", "name"}.
    Column("job", JSON, nullable=True),
    Column("cache_key", String(64), nullable=True),
    Column("cache_hit", JSON, nullable=True),
    Column("selective_result", JSON, nullable=True),
    Column("callback_token", String(64), nullable=True),
    #: The order steps started in (ListPipelineExecutionSteps sorts by it).
    Column("seq", Integer, nullable=False),
    _ts("started", nullable=True),
    _ts("ended", nullable=True),
    Index("ix_sm_psteps_cache", "pipeline_arn", "cache_key"),
    Index("ix_sm_psteps_token", "callback_token"),
)


# -- pipelines ----------------------------------------------------------------------------------


def insert_pipeline(conn: Connection, values: dict[str, Any], definition: str) -> None:
    conn.execute(insert(pipelines).values(**values))
    conn.execute(insert(versions).values(pipeline_arn=values["arn"], version=values["version"], definition=definition,
                                         created=values["created"]))


def find_pipeline(conn: Connection, account: str, region: str, name: str) -> Row | None:
    return conn.execute(select(pipelines).where(and_(
        pipelines.c.account_id == account, pipelines.c.region == region, pipelines.c.lname == name.lower(),
    ))).first()


def get_pipeline(conn: Connection, arn: str) -> Row | None:
    return conn.execute(select(pipelines).where(pipelines.c.arn == arn)).first()


def get_definition(conn: Connection, arn: str, version: int) -> str | None:
    return conn.execute(select(versions.c.definition).where(and_(versions.c.pipeline_arn == arn, versions.c.version == version))).scalar()


def add_version(conn: Connection, arn: str, version: int, definition: str, when: datetime) -> None:
    conn.execute(insert(versions).values(pipeline_arn=arn, version=version, definition=definition, created=when))


def update_pipeline(conn: Connection, arn: str, **values: Any) -> None:
    conn.execute(update(pipelines).where(pipelines.c.arn == arn).values(**values))


def delete_pipeline(conn: Connection, arn: str) -> None:
    """The pipeline and its versions; executions stay readable by ARN until they are gone too."""
    conn.execute(delete(versions).where(versions.c.pipeline_arn == arn))
    conn.execute(delete(pipelines).where(pipelines.c.arn == arn))


def list_pipelines(
    conn: Connection, account: str, region: str, *, prefix: str | None, after: datetime | None,
    before: datetime | None, sort_by: str, descending: bool, offset: int, limit: int,
) -> list[Row]:
    query = select(pipelines).where(and_(pipelines.c.account_id == account, pipelines.c.region == region))
    if prefix:
        query = query.where(pipelines.c.lname.startswith(prefix.lower(), autoescape=True))
    if after is not None:
        query = query.where(pipelines.c.created > after)
    if before is not None:
        query = query.where(pipelines.c.created < before)
    columns = [pipelines.c.lname] if sort_by == "Name" else [pipelines.c.created, pipelines.c.lname]
    order = [c.desc() if descending else c.asc() for c in columns]
    return list(conn.execute(query.order_by(*order).offset(offset).limit(limit + 1)))


# -- executions ---------------------------------------------------------------------------------


def insert_execution(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(executions).values(**values))


def get_execution(conn: Connection, arn: str) -> Row | None:
    return conn.execute(select(executions).where(executions.c.arn == arn)).first()


def find_execution_by_token(conn: Connection, pipeline_arn: str, token: str) -> Row | None:
    return conn.execute(select(executions).where(and_(
        executions.c.pipeline_arn == pipeline_arn, executions.c.client_token == token,
    ))).first()


def update_execution(conn: Connection, arn: str, **values: Any) -> None:
    conn.execute(update(executions).where(executions.c.arn == arn).values(**values))


def running_executions(conn: Connection) -> list[Row]:
    return list(conn.execute(select(executions).where(executions.c.status.in_(("Executing", "Stopping")))))


def list_executions(
    conn: Connection, pipeline_arn: str, *, after: datetime | None, before: datetime | None, descending: bool,
    offset: int, limit: int,
) -> list[Row]:
    query = select(executions).where(executions.c.pipeline_arn == pipeline_arn)
    if after is not None:
        query = query.where(executions.c.created > after)
    if before is not None:
        query = query.where(executions.c.created < before)
    columns = [executions.c.created, executions.c.arn]
    order = [c.desc() if descending else c.asc() for c in columns]
    return list(conn.execute(query.order_by(*order).offset(offset).limit(limit + 1)))


def delete_executions(conn: Connection, pipeline_arn: str) -> None:
    arns = [r.arn for r in conn.execute(select(executions.c.arn).where(executions.c.pipeline_arn == pipeline_arn))]
    if arns:
        conn.execute(delete(steps).where(steps.c.execution_arn.in_(arns)))
        conn.execute(delete(executions).where(executions.c.pipeline_arn == pipeline_arn))


# -- the step journal ---------------------------------------------------------------------------


def get_steps(conn: Connection, execution_arn: str) -> list[Row]:
    return list(conn.execute(select(steps).where(steps.c.execution_arn == execution_arn).order_by(steps.c.seq)))


def get_step(conn: Connection, execution_arn: str, name: str) -> Row | None:
    return conn.execute(select(steps).where(and_(steps.c.execution_arn == execution_arn, steps.c.name == name))).first()


def upsert_step(conn: Connection, execution_arn: str, name: str, values: dict[str, Any]) -> None:
    if get_step(conn, execution_arn, name) is None:
        conn.execute(insert(steps).values(execution_arn=execution_arn, name=name, **values))
    else:
        conn.execute(update(steps).where(and_(steps.c.execution_arn == execution_arn, steps.c.name == name)).values(**values))


def delete_step(conn: Connection, execution_arn: str, name: str) -> None:
    conn.execute(delete(steps).where(and_(steps.c.execution_arn == execution_arn, steps.c.name == name)))


def find_step_by_token(conn: Connection, token: str) -> Row | None:
    return conn.execute(select(steps).where(steps.c.callback_token == token)).first()


def cached_step(conn: Connection, pipeline_arn: str, cache_key: str, since: datetime) -> Row | None:
    """The latest successful run of a step with this cache key, ended after ``since``."""
    query = select(steps).where(and_(
        steps.c.pipeline_arn == pipeline_arn, steps.c.cache_key == cache_key, steps.c.status == "Succeeded",
        steps.c.ended >= since,
    ))
    return conn.execute(query.order_by(steps.c.ended.desc()).limit(1)).first()
