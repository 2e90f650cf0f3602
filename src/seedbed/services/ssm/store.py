"""Parameter Store's tables: each parameter's current metadata and tags, and every version with
its value and labels. Only SSM's modules touch them.

A SecureString's value column holds ciphertext only (see :mod:`~seedbed.services.ssm.values`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
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

#: Names sort byte-wise on PostgreSQL too, so page tokens mean the same on both databases.
NAME = columns.name_type(2048)

parameters = Table(
    "ssm_parameters",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    # The newest version; its row in ssm_parameter_versions holds the value.
    Column("version", BigInteger, nullable=False),
    Column("param_type", String(16), nullable=False),
    Column("key_id", String(2048), nullable=True),
    Column("tier", String(16), nullable=False),
    Column("data_type", String(128), nullable=False),
    Column("description", Text, nullable=True),
    Column("allowed_pattern", Text, nullable=True),
    Column("policies", Text, nullable=True),
    Column("last_modified", DateTime(timezone=True), nullable=False),
    Column("last_modified_user", String(2048), nullable=False),
    Column("tags", JSON, nullable=False),
)

versions = Table(
    "ssm_parameter_versions",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("version", BigInteger, primary_key=True),
    Column("param_type", String(16), nullable=False),
    Column("key_id", String(2048), nullable=True),
    Column("value", Text, nullable=False),
    Column("tier", String(16), nullable=False),
    Column("data_type", String(128), nullable=False),
    Column("description", Text, nullable=True),
    Column("allowed_pattern", Text, nullable=True),
    Column("policies", Text, nullable=True),
    Column("labels", JSON, nullable=False),
    Column("last_modified", DateTime(timezone=True), nullable=False),
    Column("last_modified_user", String(2048), nullable=False),
)


def now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Parameter:
    account_id: str
    region: str
    name: str
    version: int
    param_type: str
    key_id: str | None
    tier: str
    data_type: str
    description: str | None
    allowed_pattern: str | None
    policies: str | None
    last_modified: datetime
    last_modified_user: str
    tags: list[dict[str, str]]


@dataclass(frozen=True)
class Version:
    account_id: str
    region: str
    name: str
    version: int
    param_type: str
    key_id: str | None
    value: str
    tier: str
    data_type: str
    description: str | None
    allowed_pattern: str | None
    policies: str | None
    labels: list[str]
    last_modified: datetime
    last_modified_user: str


def _parameter(row: Any) -> Parameter:
    values = {c.name: row._mapping[c] for c in parameters.c}
    values["last_modified"] = _aware(values["last_modified"])
    values["tags"] = list(values["tags"] or [])
    return Parameter(**values)


def _version(row: Any) -> Version:
    values = {c.name: row._mapping[c] for c in versions.c}
    values["last_modified"] = _aware(values["last_modified"])
    values["labels"] = list(values["labels"] or [])
    return Version(**values)


def _where(table: Table, account_id: str, region: str, name: str) -> Any:
    return and_(table.c.account_id == account_id, table.c.region == region, table.c.name == name)


# -- parameters -----------------------------------------------------------------------------------


def get_parameter(conn: Connection, account_id: str, region: str, name: str) -> Parameter | None:
    row = conn.execute(
        select(parameters).where(_where(parameters, account_id, region, name))
    ).first()
    return _parameter(row) if row else None


def list_parameters(
    conn: Connection, account_id: str, region: str, prefix: str | None = None
) -> list[Parameter]:
    """Parameters of the account, sorted by name, optionally only those under ``prefix``."""
    query = select(parameters).where(
        parameters.c.account_id == account_id, parameters.c.region == region
    )
    if prefix:
        query = query.where(parameters.c.name.startswith(prefix, autoescape=True))
    found = [_parameter(r) for r in conn.execute(query)]
    return sorted(found, key=lambda p: p.name)


def current_versions(
    conn: Connection, account_id: str, region: str, prefix: str | None = None
) -> list[tuple[Parameter, Version]]:
    """Each parameter under ``prefix`` with its newest version, sorted by name."""
    query = (
        select(parameters, versions)
        .join(
            versions,
            and_(
                versions.c.account_id == parameters.c.account_id,
                versions.c.region == parameters.c.region,
                versions.c.name == parameters.c.name,
                versions.c.version == parameters.c.version,
            ),
        )
        .where(parameters.c.account_id == account_id, parameters.c.region == region)
    )
    if prefix:
        query = query.where(parameters.c.name.startswith(prefix, autoescape=True))
    found = [(_parameter(r), _version(r)) for r in conn.execute(query)]
    return sorted(found, key=lambda pair: pair[0].name)


def save_parameter(conn: Connection, parameter: Parameter, *, new: bool) -> None:
    if new:
        conn.execute(insert(parameters).values(**parameter.__dict__))
    else:
        key = (parameter.account_id, parameter.region, parameter.name)
        conn.execute(
            update(parameters).where(_where(parameters, *key)).values(**parameter.__dict__)
        )


def update_parameter(conn: Connection, parameter: Parameter, **changes: Any) -> Parameter:
    key = (parameter.account_id, parameter.region, parameter.name)
    conn.execute(update(parameters).where(_where(parameters, *key)).values(**changes))
    return replace(parameter, **changes)


def delete_parameter(conn: Connection, account_id: str, region: str, name: str) -> bool:
    conn.execute(delete(versions).where(_where(versions, account_id, region, name)))
    return (
        conn.execute(
            delete(parameters).where(_where(parameters, account_id, region, name))
        ).rowcount
        > 0
    )


# -- versions -------------------------------------------------------------------------------------


def insert_version(conn: Connection, version: Version) -> None:
    conn.execute(insert(versions).values(**version.__dict__))


def get_version(
    conn: Connection, account_id: str, region: str, name: str, number: int
) -> Version | None:
    row = conn.execute(
        select(versions).where(
            _where(versions, account_id, region, name), versions.c.version == number
        )
    ).first()
    return _version(row) if row else None


def list_versions(conn: Connection, account_id: str, region: str, name: str) -> list[Version]:
    """Every version of a parameter, oldest first."""
    rows = conn.execute(
        select(versions)
        .where(_where(versions, account_id, region, name))
        .order_by(versions.c.version)
    )
    return [_version(r) for r in rows]


def labelled_versions(
    conn: Connection, account_id: str, region: str, prefix: str | None = None
) -> list[Version]:
    """Versions under ``prefix`` (for label filters); callers keep those whose labels match."""
    query = select(versions).where(versions.c.account_id == account_id, versions.c.region == region)
    if prefix:
        query = query.where(versions.c.name.startswith(prefix, autoescape=True))
    return [v for v in (_version(r) for r in conn.execute(query)) if v.labels]


def set_labels(conn: Connection, version: Version, labels: list[str]) -> None:
    conn.execute(
        update(versions)
        .where(
            _where(versions, version.account_id, version.region, version.name),
            versions.c.version == version.version,
        )
        .values(labels=labels)
    )


def delete_version(conn: Connection, version: Version) -> None:
    conn.execute(
        delete(versions).where(
            _where(versions, version.account_id, version.region, version.name),
            versions.c.version == version.version,
        )
    )
