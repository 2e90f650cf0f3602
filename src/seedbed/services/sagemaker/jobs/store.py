"""The jobs' table: one row per processing, training, transform or hyperparameter tuning job,
journaled so a restarted server knows which jobs were running when it stopped.

Only :mod:`seedbed.services.sagemaker.jobs` and :mod:`seedbed.services.sagemaker.tuning` touch it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    Row,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    select,
    update,
)

from seedbed.services.sagemaker.store import NAME, aware, now
from seedbed.state.db import metadata

__all__ = ["aware", "jobs", "now"]

#: Kinds as the pipeline interpreter and wait_for_job name them.
KINDS = ("ProcessingJob", "TrainingJob", "TransformJob")
#: The kind of a hyperparameter tuning job's row (its trials are TrainingJob rows).
TUNING = "Tuning"
ACTIVE = ("InProgress", "Stopping")
TERMINAL = ("Completed", "Failed", "Stopped")

jobs = Table(
    "sm_jobs",
    metadata,
    Column("arn", String(512), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    #: ProcessingJob, TrainingJob, TransformJob or Tuning.
    Column("kind", String(16), nullable=False),
    Column("name", NAME, nullable=False),
    Column("status", String(16), nullable=False),
    Column("secondary_status", String(32), nullable=True),
    Column("failure_reason", Text, nullable=True),
    Column("exit_message", Text, nullable=True),
    #: The Create request as given (without Tags).
    Column("request", JSON, nullable=False),
    #: What running the job produced: ModelArtifacts, FinalMetricDataList,
    #: SecondaryStatusTransitions, TrainingTimeInSeconds, ...
    Column("result", JSON, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("modified", DateTime(timezone=True), nullable=False),
    Column("started", DateTime(timezone=True), nullable=True),
    Column("ended", DateTime(timezone=True), nullable=True),
    #: How many times this job was started (a re-run after a crash counts).
    Column("attempts", Integer, nullable=False),
    Index("ix_sm_jobs_name", "account_id", "region", "kind", "name"),
    Index("ix_sm_jobs_created", "account_id", "region", "kind", "created"),
    Index("ix_sm_jobs_status", "status"),
)


def insert_job(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(jobs).values(**values))


def get_job(conn: Connection, arn: str) -> Row | None:
    return conn.execute(select(jobs).where(jobs.c.arn == arn)).first()


def update_job(conn: Connection, arn: str, **values: Any) -> None:
    conn.execute(update(jobs).where(jobs.c.arn == arn).values(**values))


def active_jobs(conn: Connection, kinds: tuple[str, ...] = KINDS) -> list[Row]:
    return list(conn.execute(select(jobs).where(jobs.c.status.in_(ACTIVE), jobs.c.kind.in_(kinds))))


def list_jobs(
    conn: Connection,
    account: str,
    region: str,
    kind: str,
    *,
    name_contains: str | None = None,
    status: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    modified_after: datetime | None = None,
    modified_before: datetime | None = None,
    sort_by: str = "CreationTime",
    descending: bool = True,
    offset: int = 0,
    limit: int = 10,
) -> list[Row]:
    """One page (``limit + 1`` rows, so the caller sees whether more follow)."""
    query = select(jobs).where(and_(jobs.c.account_id == account, jobs.c.region == region, jobs.c.kind == kind))
    if name_contains:
        # Case-insensitive on both databases (SQLite's LIKE already is; PostgreSQL's is not).
        query = query.where(func.lower(jobs.c.name).contains(name_contains.lower(), autoescape=True))
    if status:
        query = query.where(jobs.c.status == status)
    if created_after is not None:
        query = query.where(jobs.c.created > created_after)
    if created_before is not None:
        query = query.where(jobs.c.created < created_before)
    if modified_after is not None:
        query = query.where(jobs.c.modified > modified_after)
    if modified_before is not None:
        query = query.where(jobs.c.modified < modified_before)
    column = {"Name": jobs.c.name, "Status": jobs.c.status}.get(sort_by, jobs.c.created)
    order = [column, jobs.c.created, jobs.c.arn] if column is not jobs.c.created else [column, jobs.c.arn]
    query = query.order_by(*[c.desc() if descending else c.asc() for c in order])
    return list(conn.execute(query.offset(offset).limit(limit + 1)))
