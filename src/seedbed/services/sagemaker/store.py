"""SageMaker's tables: domains, user profiles, projects, tags on any SageMaker ARN, and presigned
Studio logins. Only the SageMaker modules touch them; later issues add tables for pipelines, jobs,
the model registry and hosting beside these (each with its own migration on the ``sagemaker``
branch).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Index,
    Row,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)

from seedbed.state import columns
from seedbed.state.db import metadata

#: Names sort byte-wise on PostgreSQL too, so sorted listings and page tokens agree with SQLite.
NAME = columns.name_type(256)


_ts = columns.timestamp


domains = Table(
    "sm_domains",
    metadata,
    Column("domain_id", String(16), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(63), nullable=False),
    Column("arn", String(256), nullable=False),
    Column("status", String(32), nullable=False),
    Column("auth_mode", String(8), nullable=False),
    #: Everything else CreateDomain/UpdateDomain accept, as given (DefaultUserSettings, ...).
    Column("settings", JSON, nullable=False),
    _ts("created"),
    _ts("modified"),
    Index("ix_sm_domains_account", "account_id", "region"),
)

user_profiles = Table(
    "sm_user_profiles",
    metadata,
    Column("domain_id", String(16), primary_key=True),
    Column("name", String(63), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("arn", String(512), nullable=False),
    Column("status", String(32), nullable=False),
    Column("settings", JSON, nullable=False),
    _ts("created"),
    _ts("modified"),
)

tags = Table(
    "sm_tags",
    metadata,
    Column("arn", String(512), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
    _ts("created"),
)

projects = Table(
    "sm_projects",
    metadata,
    Column("project_id", String(20), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", NAME, nullable=False),
    #: The name while the project exists, NULL once deleted: a unique index keeps live names
    #: unique while deleted projects stay on record (NULLs never collide).
    Column("live_name", String(64), nullable=True),
    Column("arn", String(512), nullable=False),
    Column("description", Text, nullable=True),
    Column("status", String(32), nullable=False),
    Column("status_reason", Text, nullable=True),
    #: [{"CfnTemplateProvider": {...}}] as DescribeProject returns it, without StackDetail.
    Column("providers", JSON, nullable=False),
    Column("stack_name", String(128), nullable=True),
    Column("stack_id", String(512), nullable=True),
    Column("stack_status", String(64), nullable=True),
    #: The template object each provider was created (or last updated) from: bucket, key,
    #: VersionId, ETag, LastModified; what `seedbed projects list --outdated` compares.
    Column("template_version", JSON, nullable=True),
    Column("outputs", JSON, nullable=True),
    Column("retained", JSON, nullable=True),
    Column("created_by", JSON, nullable=False),
    Column("modified_by", JSON, nullable=True),
    #: The creating principal (JSON), whom SageMaker acts for on the stack afterwards.
    Column("caller", JSON, nullable=True),
    Column("deleted", Boolean, nullable=False),
    _ts("created"),
    _ts("modified", nullable=True),
    Index("ix_sm_projects_live", "account_id", "region", "live_name", unique=True),
    Index("ix_sm_projects_created", "account_id", "region", "deleted", "created", "project_id"),
    Index("ix_sm_projects_name", "account_id", "region", "deleted", "live_name"),
    Index("ix_sm_projects_status", "status"),
)

presigned_urls = Table(
    "sm_presigned_urls",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("domain_id", String(16), nullable=False),
    Column("user_profile", String(63), nullable=False),
    Column("space", String(63), nullable=True),
    Column("landing_uri", String(1023), nullable=True),
    _ts("expires"),
    Column("session_seconds", String(16), nullable=False),
    Column("used", Boolean, nullable=False),
)


def now() -> datetime:
    return datetime.now(timezone.utc)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; every time stored here is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# -- domains and user profiles -----------------------------------------------------------------


def insert_domain(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(domains).values(**values))


def get_domain(conn: Connection, account: str, region: str, domain_id: str) -> Row | None:
    return conn.execute(
        select(domains).where(
            and_(domains.c.domain_id == domain_id, domains.c.account_id == account, domains.c.region == region)
        )
    ).first()


def list_domains(conn: Connection, account: str, region: str) -> list[Row]:
    query = select(domains).where(and_(domains.c.account_id == account, domains.c.region == region))
    return list(conn.execute(query.order_by(domains.c.created, domains.c.domain_id)))


def domain_name_taken(conn: Connection, account: str, region: str, name: str) -> bool:
    query = select(domains.c.domain_id).where(
        and_(domains.c.account_id == account, domains.c.region == region, domains.c.name == name)
    )
    return conn.execute(query).first() is not None


def update_domain(conn: Connection, domain_id: str, **values: Any) -> None:
    conn.execute(update(domains).where(domains.c.domain_id == domain_id).values(**values))


def delete_domain(conn: Connection, domain_id: str, arn: str) -> None:
    conn.execute(delete(domains).where(domains.c.domain_id == domain_id))
    delete_all_tags(conn, arn)


def insert_user_profile(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(user_profiles).values(**values))


def get_user_profile(conn: Connection, domain_id: str, name: str) -> Row | None:
    return conn.execute(
        select(user_profiles).where(and_(user_profiles.c.domain_id == domain_id, user_profiles.c.name == name))
    ).first()


def list_user_profiles(conn: Connection, account: str, region: str, domain_id: str | None = None) -> list[Row]:
    query = select(user_profiles).where(
        and_(user_profiles.c.account_id == account, user_profiles.c.region == region)
    )
    if domain_id:
        query = query.where(user_profiles.c.domain_id == domain_id)
    return list(conn.execute(query.order_by(user_profiles.c.created, user_profiles.c.name)))


def delete_user_profile(conn: Connection, domain_id: str, name: str, arn: str) -> None:
    conn.execute(delete(user_profiles).where(and_(user_profiles.c.domain_id == domain_id, user_profiles.c.name == name)))
    delete_all_tags(conn, arn)


# -- tags ---------------------------------------------------------------------------------------


def get_tags(conn: Connection, arn: str) -> list[dict[str, str]]:
    rows = conn.execute(select(tags.c.key, tags.c.value).where(tags.c.arn == arn).order_by(tags.c.created, tags.c.key))
    return [{"Key": r.key, "Value": r.value} for r in rows]


def put_tags(conn: Connection, arn: str, new: list[dict[str, str]]) -> None:
    """Add or overwrite: a key keeps its first creation time, so listings keep their order."""
    existing = {t["Key"] for t in get_tags(conn, arn)}
    when = now()
    for tag in new:
        if tag["Key"] in existing:
            conn.execute(update(tags).where(and_(tags.c.arn == arn, tags.c.key == tag["Key"])).values(value=tag["Value"]))
        else:
            conn.execute(insert(tags).values(arn=arn, key=tag["Key"], value=tag["Value"], created=when))
            existing.add(tag["Key"])


def delete_tags(conn: Connection, arn: str, keys: list[str]) -> None:
    if keys:
        conn.execute(delete(tags).where(and_(tags.c.arn == arn, tags.c.key.in_(keys))))


def delete_all_tags(conn: Connection, arn: str) -> None:
    conn.execute(delete(tags).where(tags.c.arn == arn))


# -- projects -----------------------------------------------------------------------------------


def insert_project(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(projects).values(**values))


def find_project(conn: Connection, account: str, region: str, name: str) -> Row | None:
    """The live project of that name (project names are case-insensitive on AWS)."""
    return conn.execute(
        select(projects).where(
            and_(projects.c.account_id == account, projects.c.region == region, projects.c.live_name == name.lower())
        )
    ).first()


def get_project(conn: Connection, project_id: str) -> Row | None:
    return conn.execute(select(projects).where(projects.c.project_id == project_id)).first()


def update_project(conn: Connection, project_id: str, **values: Any) -> None:
    conn.execute(update(projects).where(projects.c.project_id == project_id).values(**values))


def delete_project_row(conn: Connection, project_id: str) -> None:
    conn.execute(delete(projects).where(projects.c.project_id == project_id))


def projects_in_progress(conn: Connection) -> list[Row]:
    wanted = ("Pending", "CreateInProgress", "UpdateInProgress", "DeleteInProgress")
    return list(conn.execute(select(projects).where(and_(projects.c.status.in_(wanted), projects.c.deleted.is_(False)))))


def list_projects(
    conn: Connection,
    account: str,
    region: str,
    *,
    name_contains: str | None,
    after: datetime | None,
    before: datetime | None,
    sort_by: str,
    descending: bool,
    offset: int,
    limit: int,
) -> list[Row]:
    """One page of live projects; ``limit + 1`` rows are asked for so the caller sees if more follow."""
    query = select(
        projects.c.project_id, projects.c.name, projects.c.arn, projects.c.description,
        projects.c.status, projects.c.created,
    ).where(and_(projects.c.account_id == account, projects.c.region == region, projects.c.deleted.is_(False)))
    if name_contains:
        query = query.where(projects.c.live_name.contains(name_contains.lower(), autoescape=True))
    if after is not None:
        query = query.where(projects.c.created > after)
    if before is not None:
        query = query.where(projects.c.created < before)
    # Both orders are total and follow an index: live names are unique, creation times are
    # broken by project id.
    columns = [projects.c.live_name] if sort_by == "Name" else [projects.c.created, projects.c.project_id]
    order = [c.desc() if descending else c.asc() for c in columns]
    return list(conn.execute(query.order_by(*order).offset(offset).limit(limit + 1)))


def count_projects(conn: Connection, account: str, region: str) -> int:
    query = select(func.count()).select_from(projects).where(
        and_(projects.c.account_id == account, projects.c.region == region, projects.c.deleted.is_(False))
    )
    return int(conn.execute(query).scalar_one())


# -- presigned Studio logins --------------------------------------------------------------------


def insert_presigned(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(presigned_urls).values(**values))
