"""Secrets Manager's tables: secrets and their versions. Only Secrets Manager's modules touch them.

A version row holds its value sealed with a KMS data key and that data key as KMS wrapped it;
nothing here can read a value without a ``kms:Decrypt`` call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

from seedbed.state.db import metadata

secrets = Table(
    "secretsmanager_secrets",
    metadata,
    Column("arn", String(2048), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(512), nullable=False),
    Column("description", Text, nullable=True),
    # As the customer gave it (key id, ARN or alias); None means alias/aws/secretsmanager.
    Column("kms_key_id", String(2048), nullable=True),
    Column("secret_type", String(256), nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("last_changed", DateTime(timezone=True), nullable=False),
    Column("last_accessed", DateTime(timezone=True), nullable=True),
    # When DeleteSecret was called, and when the secret goes for good.
    Column("deleted_date", DateTime(timezone=True), nullable=True),
    Column("deletion_date", DateTime(timezone=True), nullable=True),
    Column("tags", JSON, nullable=False),
    Column("policy", Text, nullable=True),
)
# A secret scheduled for deletion still holds its name, as on AWS.
Index(
    "ux_secretsmanager_secrets_name",
    secrets.c.account_id,
    secrets.c.region,
    secrets.c.name,
    unique=True,
)

versions = Table(
    "secretsmanager_versions",
    metadata,
    Column("secret_arn", String(2048), ForeignKey("secretsmanager_secrets.arn"), primary_key=True),
    Column("version_id", String(64), primary_key=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("last_accessed", DateTime(timezone=True), nullable=True),
    Column("stages", JSON, nullable=False),
    # "string" (SecretString) or "binary" (SecretBinary)
    Column("value_kind", String(8), nullable=False),
    Column("key_arn", String(2048), nullable=False),
    Column("data_key", LargeBinary, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
)


def now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Secret:
    arn: str
    account_id: str
    region: str
    name: str
    description: str | None
    kms_key_id: str | None
    secret_type: str | None
    created: datetime
    last_changed: datetime
    last_accessed: datetime | None
    deleted_date: datetime | None
    deletion_date: datetime | None
    tags: list[dict[str, str]]
    policy: str | None

    @property
    def deleted(self) -> bool:
        return self.deletion_date is not None


@dataclass(frozen=True)
class Version:
    secret_arn: str
    version_id: str
    created: datetime
    last_accessed: datetime | None
    stages: list[str]
    value_kind: str
    key_arn: str
    data_key: bytes
    sealed: bytes


def _secret(row: Any) -> Secret:
    values = dict(row._mapping)
    for name in ("created", "last_changed", "last_accessed", "deleted_date", "deletion_date"):
        values[name] = _aware(values[name])
    values["tags"] = list(values["tags"] or [])
    return Secret(**values)


def _version(row: Any) -> Version:
    values = dict(row._mapping)
    values["created"] = _aware(values["created"])
    values["last_accessed"] = _aware(values["last_accessed"])
    values["stages"] = list(values["stages"] or [])
    values["data_key"] = bytes(values["data_key"])
    values["sealed"] = bytes(values["sealed"])
    return Version(**values)


# -- secrets --------------------------------------------------------------------------------------


def insert_secret(conn: Connection, secret: Secret) -> None:
    conn.execute(insert(secrets).values(**secret.__dict__))


def get_by_arn(conn: Connection, arn: str) -> Secret | None:
    row = conn.execute(select(secrets).where(secrets.c.arn == arn)).first()
    return _secret(row) if row else None


def get_by_name(conn: Connection, account_id: str, region: str, name: str) -> Secret | None:
    row = conn.execute(
        select(secrets).where(
            secrets.c.account_id == account_id, secrets.c.region == region, secrets.c.name == name
        )
    ).first()
    return _secret(row) if row else None


def list_secrets(conn: Connection, account_id: str, region: str) -> list[Secret]:
    rows = conn.execute(
        select(secrets).where(secrets.c.account_id == account_id, secrets.c.region == region)
    )
    return [_secret(r) for r in rows]


def update_secret(conn: Connection, secret: Secret, **changes: Any) -> Secret:
    conn.execute(update(secrets).where(secrets.c.arn == secret.arn).values(**changes))
    return replace(secret, **changes)


def delete_secret(conn: Connection, arn: str) -> None:
    conn.execute(delete(versions).where(versions.c.secret_arn == arn))
    conn.execute(delete(secrets).where(secrets.c.arn == arn))


# -- versions -------------------------------------------------------------------------------------


def insert_version(conn: Connection, version: Version) -> None:
    conn.execute(insert(versions).values(**version.__dict__))


def list_versions(conn: Connection, arn: str) -> list[Version]:
    """Every version of a secret, newest first."""
    rows = conn.execute(
        select(versions)
        .where(versions.c.secret_arn == arn)
        .order_by(versions.c.created.desc(), versions.c.version_id)
    )
    return [_version(r) for r in rows]


def list_versions_of(conn: Connection, arns: list[str]) -> dict[str, list[Version]]:
    """The versions of several secrets at once (for listings), newest first."""
    found: dict[str, list[Version]] = {arn: [] for arn in arns}
    if not arns:
        return found
    rows = conn.execute(
        select(versions)
        .where(versions.c.secret_arn.in_(arns))
        .order_by(versions.c.created.desc(), versions.c.version_id)
    )
    for row in rows:
        found[row.secret_arn].append(_version(row))
    return found


def get_version(conn: Connection, arn: str, version_id: str) -> Version | None:
    row = conn.execute(
        select(versions).where(versions.c.secret_arn == arn, versions.c.version_id == version_id)
    ).first()
    return _version(row) if row else None


def set_stages(conn: Connection, arn: str, stages: dict[str, list[str]]) -> None:
    """Write the staging labels of the versions named in ``stages``."""
    for version_id, labels in stages.items():
        conn.execute(
            update(versions)
            .where(versions.c.secret_arn == arn, versions.c.version_id == version_id)
            .values(stages=labels)
        )


def update_version(conn: Connection, version: Version, **changes: Any) -> None:
    conn.execute(
        update(versions)
        .where(
            versions.c.secret_arn == version.secret_arn, versions.c.version_id == version.version_id
        )
        .values(**changes)
    )


def delete_versions(conn: Connection, arn: str, version_ids: list[str]) -> None:
    if version_ids:
        conn.execute(
            delete(versions).where(
                versions.c.secret_arn == arn, versions.c.version_id.in_(version_ids)
            )
        )
