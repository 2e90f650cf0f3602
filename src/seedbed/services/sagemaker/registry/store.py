"""The model registry's tables: model package groups and model packages (versioned ones belong to a
group and carry its next version number; unversioned ones have a name of their own). Only the
registry module touches them."""

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
    func,
    insert,
    select,
    update,
)

from seedbed.services.sagemaker.store import NAME, now  # noqa: F401  (now: re-exported for callers)
from seedbed.state import columns
from seedbed.state.db import metadata


_ts = columns.timestamp


groups = Table(
    "sm_model_package_groups",
    metadata,
    Column("arn", String(512), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", NAME, nullable=False),
    #: The name lower-cased: names are unique regardless of case, as their ARNs are.
    Column("lname", String(64), nullable=False),
    Column("description", Text, nullable=True),
    Column("status", String(32), nullable=False),
    Column("created_by", JSON, nullable=False),
    Column("policy", Text, nullable=True),
    #: The version the next model package of the group gets (versions are never reused).
    Column("next_version", Integer, nullable=False),
    _ts("created"),
    Index("ix_sm_mpg_name", "account_id", "region", "lname", unique=True),
    Index("ix_sm_mpg_created", "account_id", "region", "created"),
)

packages = Table(
    "sm_model_packages",
    metadata,
    Column("arn", String(512), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    #: ModelPackageName: the group's name for a versioned package, its own name otherwise.
    Column("name", NAME, nullable=False),
    Column("lname", String(64), nullable=False),
    #: Lower-cased group name (versioned) or NULL (unversioned).
    Column("group_lname", String(64), nullable=True),
    Column("version", Integer, nullable=True),
    #: Lower-cased name of an unversioned package, NULL for versioned ones (a unique index).
    Column("unversioned_name", String(64), nullable=True),
    Column("approval", String(32), nullable=True),
    Column("status", String(32), nullable=False),
    Column("description", Text, nullable=True),
    Column("approval_description", Text, nullable=True),
    #: Every other member CreateModelPackage/UpdateModelPackage keep (InferenceSpecification,
    #: ModelMetrics, CustomerMetadataProperties, ...), as DescribeModelPackage returns them.
    Column("body", JSON, nullable=False),
    Column("client_token", String(128), nullable=True),
    Column("created_by", JSON, nullable=False),
    Column("modified_by", JSON, nullable=True),
    _ts("created"),
    _ts("modified", nullable=True),
    Index("ix_sm_mp_group", "account_id", "region", "group_lname", "version"),
    Index("ix_sm_mp_unversioned", "account_id", "region", "unversioned_name", unique=True),
    Index("ix_sm_mp_created", "account_id", "region", "created"),
)


# -- groups -------------------------------------------------------------------------------------


def insert_group(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(groups).values(**values))


def find_group(conn: Connection, account: str, region: str, name: str) -> Row | None:
    return conn.execute(
        select(groups).where(and_(groups.c.account_id == account, groups.c.region == region, groups.c.lname == name.lower()))
    ).first()


def update_group(conn: Connection, arn: str, **values: Any) -> None:
    conn.execute(update(groups).where(groups.c.arn == arn).values(**values))


def take_version(conn: Connection, arn: str) -> int:
    """Reserve the group's next version number (inside the caller's transaction)."""
    conn.execute(update(groups).where(groups.c.arn == arn).values(next_version=groups.c.next_version + 1))
    return int(conn.execute(select(groups.c.next_version).where(groups.c.arn == arn)).scalar_one()) - 1


def delete_group(conn: Connection, arn: str) -> None:
    conn.execute(delete(groups).where(groups.c.arn == arn))


def list_groups(
    conn: Connection, account: str, region: str, *, name_contains: str | None, after: datetime | None,
    before: datetime | None, sort_by: str, descending: bool, offset: int, limit: int,
) -> list[Row]:
    query = select(groups).where(and_(groups.c.account_id == account, groups.c.region == region))
    if name_contains:
        query = query.where(groups.c.lname.contains(name_contains.lower(), autoescape=True))
    if after is not None:
        query = query.where(groups.c.created > after)
    if before is not None:
        query = query.where(groups.c.created < before)
    columns = [groups.c.lname] if sort_by == "Name" else [groups.c.created, groups.c.lname]
    order = [c.desc() if descending else c.asc() for c in columns]
    return list(conn.execute(query.order_by(*order).offset(offset).limit(limit + 1)))


# -- packages -----------------------------------------------------------------------------------


def insert_package(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(packages).values(**values))


def get_package(conn: Connection, arn: str) -> Row | None:
    return conn.execute(select(packages).where(packages.c.arn == arn)).first()


def find_unversioned(conn: Connection, account: str, region: str, name: str) -> Row | None:
    return conn.execute(
        select(packages).where(and_(
            packages.c.account_id == account, packages.c.region == region, packages.c.unversioned_name == name.lower(),
        ))
    ).first()


def find_by_token(conn: Connection, account: str, region: str, token: str) -> Row | None:
    return conn.execute(
        select(packages).where(and_(packages.c.account_id == account, packages.c.region == region, packages.c.client_token == token))
    ).first()


def count_in_group(conn: Connection, account: str, region: str, group_lname: str) -> int:
    query = select(func.count()).select_from(packages).where(and_(
        packages.c.account_id == account, packages.c.region == region, packages.c.group_lname == group_lname,
    ))
    return int(conn.execute(query).scalar_one())


def update_package(conn: Connection, arn: str, **values: Any) -> None:
    conn.execute(update(packages).where(packages.c.arn == arn).values(**values))


def delete_package(conn: Connection, arn: str) -> None:
    conn.execute(delete(packages).where(packages.c.arn == arn))


def list_packages(
    conn: Connection, account: str, region: str, *, kind: str, group_lname: str | None, approval: str | None,
    name_contains: str | None, after: datetime | None, before: datetime | None, sort_by: str, descending: bool,
    offset: int, limit: int,
) -> list[Row]:
    query = select(packages).where(and_(packages.c.account_id == account, packages.c.region == region))
    if kind == "Versioned":
        query = query.where(packages.c.version.is_not(None))
    elif kind == "Unversioned":
        query = query.where(packages.c.version.is_(None))
    if group_lname is not None:
        query = query.where(packages.c.group_lname == group_lname)
    if approval:
        query = query.where(packages.c.approval == approval)
    if name_contains:
        query = query.where(packages.c.lname.contains(name_contains.lower(), autoescape=True))
    if after is not None:
        query = query.where(packages.c.created > after)
    if before is not None:
        query = query.where(packages.c.created < before)
    if sort_by == "Name":
        columns = [packages.c.lname, packages.c.version, packages.c.arn]
    else:
        columns = [packages.c.created, packages.c.version, packages.c.arn]
    order = [c.desc() if descending else c.asc() for c in columns]
    return list(conn.execute(query.order_by(*order).offset(offset).limit(limit + 1)))
