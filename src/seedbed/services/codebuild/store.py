"""CodeBuild's tables: projects (their description as CodeBuild returns it) and builds (the
build document plus the plan the runner follows). Only CodeBuild's modules touch them.

Timestamps inside the JSON documents are epoch seconds (floats); :func:`out_time` turns them into
datetimes for the wire.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)

from seedbed.state import columns
from seedbed.state.db import metadata

NAME = columns.name_type(255)

projects = Table(
    "codebuild_projects",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("arn", String(2048), nullable=False),
    Column("doc", JSON, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("last_modified", DateTime(timezone=True), nullable=False),
    Column("build_counter", BigInteger, nullable=False),
)

builds = Table(
    "codebuild_builds",
    metadata,
    Column("build_id", String(512), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("project_name", NAME, nullable=False),
    Column("build_number", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("started", DateTime(timezone=True), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("doc", JSON, nullable=False),
    Column("plan", JSON, nullable=False),
    Index("ix_codebuild_builds_project", "account_id", "region", "project_name"),
    Index("ix_codebuild_builds_status", "status"),
)


def now() -> datetime:
    return datetime.now(UTC)


def epoch() -> float:
    return time.time()


def out_time(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class ProjectRow:
    account_id: str
    region: str
    name: str
    arn: str
    doc: dict[str, Any]
    created: datetime
    last_modified: datetime
    build_counter: int


@dataclass
class BuildRow:
    build_id: str
    account_id: str
    region: str
    project_name: str
    build_number: int
    status: str
    started: datetime
    seq: int
    doc: dict[str, Any]
    plan: dict[str, Any]


def get_project(conn: Connection, account: str, region: str, name: str) -> ProjectRow | None:
    row = conn.execute(select(projects).where(
        projects.c.account_id == account, projects.c.region == region, projects.c.name == name)).first()
    return ProjectRow(**row._mapping) if row else None


def list_projects(conn: Connection, account: str, region: str) -> list[ProjectRow]:
    rows = conn.execute(select(projects).where(
        projects.c.account_id == account, projects.c.region == region).order_by(projects.c.name))
    return [ProjectRow(**r._mapping) for r in rows]


def insert_project(conn: Connection, row: ProjectRow) -> None:
    conn.execute(insert(projects).values(**row.__dict__))


def update_project(conn: Connection, account: str, region: str, name: str, **values: Any) -> None:
    conn.execute(update(projects).where(
        projects.c.account_id == account, projects.c.region == region, projects.c.name == name).values(**values))


def delete_project(conn: Connection, account: str, region: str, name: str) -> bool:
    out = conn.execute(delete(projects).where(
        projects.c.account_id == account, projects.c.region == region, projects.c.name == name))
    return bool(out.rowcount)


def next_build_number(conn: Connection, account: str, region: str, name: str) -> int:
    """Increments the project's counter in the caller's transaction."""
    row = get_project(conn, account, region, name)
    assert row is not None
    number = row.build_counter + 1
    update_project(conn, account, region, name, build_counter=number)
    return number


def insert_build(conn: Connection, row: BuildRow) -> None:
    conn.execute(insert(builds).values(**row.__dict__))


def get_build(conn: Connection, build_id: str) -> BuildRow | None:
    row = conn.execute(select(builds).where(builds.c.build_id == build_id)).first()
    return BuildRow(**row._mapping) if row else None


def save_build(conn: Connection, build_id: str, doc: dict[str, Any], **values: Any) -> None:
    conn.execute(update(builds).where(builds.c.build_id == build_id).values(
        doc=doc, status=doc["buildStatus"], **values))


def list_builds(conn: Connection, account: str, region: str, project: str | None = None,
                newest_first: bool = True) -> list[str]:
    query = select(builds.c.build_id).where(builds.c.account_id == account, builds.c.region == region)
    if project is not None:
        query = query.where(builds.c.project_name == project)
    order = (builds.c.started.desc(), builds.c.seq.desc()) if newest_first else (builds.c.started, builds.c.seq)
    return [r.build_id for r in conn.execute(query.order_by(*order))]


def in_progress(conn: Connection) -> list[BuildRow]:
    rows = conn.execute(select(builds).where(builds.c.status == "IN_PROGRESS"))
    return [BuildRow(**r._mapping) for r in rows]


def delete_builds_of(conn: Connection, account: str, region: str, project: str) -> None:
    """Builds stay after their project is deleted on AWS too; kept as a helper for tests."""
    conn.execute(delete(builds).where(
        builds.c.account_id == account, builds.c.region == region, builds.c.project_name == project))


# -- reports -------------------------------------------------------------------------------------

report_groups = Table(
    "codebuild_report_groups",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("arn", String(2048), nullable=False, unique=True),
    #: The ReportGroup as CodeBuild returns it (times as epoch seconds).
    Column("doc", JSON, nullable=False),
)

reports = Table(
    "codebuild_reports",
    metadata,
    Column("arn", String(2048), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("group_arn", String(2048), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    #: The Report as CodeBuild returns it (times as epoch seconds).
    Column("doc", JSON, nullable=False),
    #: Its TestCase or CodeCoverage items.
    Column("entries", JSON, nullable=False),
    Index("ix_codebuild_reports_group", "group_arn", "created"),
    Index("ix_codebuild_reports_account", "account_id", "region", "created"),
)


def get_report_group(conn: Connection, arn: str) -> dict[str, Any] | None:
    row = conn.execute(select(report_groups.c.doc).where(report_groups.c.arn == arn)).first()
    return dict(row.doc) if row else None


def insert_report_group(conn: Connection, account: str, region: str, doc: dict[str, Any]) -> None:
    conn.execute(insert(report_groups).values(account_id=account, region=region, name=doc["name"], arn=doc["arn"], doc=doc))


def save_report_group(conn: Connection, doc: dict[str, Any]) -> None:
    conn.execute(update(report_groups).where(report_groups.c.arn == doc["arn"]).values(doc=doc))


def delete_report_group(conn: Connection, arn: str) -> None:
    conn.execute(delete(reports).where(reports.c.group_arn == arn))
    conn.execute(delete(report_groups).where(report_groups.c.arn == arn))


def list_report_groups(conn: Connection, account: str, region: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(report_groups.c.doc).where(
        report_groups.c.account_id == account, report_groups.c.region == region))
    return [dict(r.doc) for r in rows]


def insert_report(conn: Connection, account: str, region: str, doc: dict[str, Any], items: list[dict[str, Any]]) -> None:
    conn.execute(insert(reports).values(
        arn=doc["arn"], account_id=account, region=region, group_arn=doc["reportGroupArn"],
        created=out_time(doc["created"]), status=doc["status"], doc=doc, entries=items))


def get_report(conn: Connection, arn: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    row = conn.execute(select(reports.c.doc, reports.c.entries).where(reports.c.arn == arn)).first()
    return (dict(row.doc), list(row.entries)) if row else None


def list_reports(conn: Connection, account: str, region: str, group_arn: str | None, status: str | None,
                 newest_first: bool) -> list[dict[str, Any]]:
    query = select(reports.c.doc).where(reports.c.account_id == account, reports.c.region == region)
    if group_arn is not None:
        query = query.where(reports.c.group_arn == group_arn)
    if status:
        query = query.where(reports.c.status == status)
    order = (reports.c.created.desc(), reports.c.arn.desc()) if newest_first else (reports.c.created, reports.c.arn)
    return [dict(r.doc) for r in conn.execute(query.order_by(*order))]


def count_reports(conn: Connection, group_arn: str) -> int:
    return len(conn.execute(select(reports.c.arn).where(reports.c.group_arn == group_arn).limit(1)).all())


def delete_report(conn: Connection, arn: str) -> bool:
    return bool(conn.execute(delete(reports).where(reports.c.arn == arn)).rowcount)
