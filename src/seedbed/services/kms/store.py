"""KMS's tables: keys, their wrapped key materials, and aliases. Only KMS's modules touch them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
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

keys = Table(
    "kms_keys",
    metadata,
    Column("key_id", String(36), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("description", Text, nullable=False),
    Column("key_usage", String(32), nullable=False),
    Column("key_spec", String(32), nullable=False),
    Column("origin", String(32), nullable=False),
    # CUSTOMER, or AWS for the keys behind alias/aws/<service>.
    Column("manager", String(16), nullable=False),
    # Enabled | Disabled | PendingDeletion
    Column("state", String(32), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("deletion_date", DateTime(timezone=True), nullable=True),
    Column("pending_window_days", Integer, nullable=True),
    Column("rotation_enabled", Boolean, nullable=False),
    Column("rotation_period_days", Integer, nullable=True),
    Column("next_rotation", DateTime(timezone=True), nullable=True),
    # The material version new ciphertexts use; older versions still decrypt.
    Column("current_material", Integer, nullable=False),
    Column("policy", Text, nullable=False),
    Column("tags", JSON, nullable=False),
)
Index("ix_kms_keys_account", keys.c.account_id, keys.c.region)

materials = Table(
    "kms_key_material",
    metadata,
    Column("key_id", String(36), ForeignKey("kms_keys.key_id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    # nonce + AES-GCM(material) under the master key; never the material itself.
    Column("wrapped", LargeBinary, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    # None for the first material, else AUTOMATIC or ON_DEMAND.
    Column("rotation_type", String(16), nullable=True),
)

aliases = Table(
    "kms_aliases",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("alias_name", String(256), primary_key=True),
    Column("key_id", String(36), ForeignKey("kms_keys.key_id"), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
)
Index("ix_kms_aliases_key", aliases.c.key_id)


def now() -> datetime:
    return datetime.now(timezone.utc)


def utc(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; every time Seedbed stores is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def aware(value: datetime | None) -> datetime | None:
    return utc(value) if value is not None else None


@dataclass(frozen=True)
class Key:
    key_id: str
    account_id: str
    region: str
    arn: str
    description: str
    key_usage: str
    key_spec: str
    origin: str
    manager: str
    state: str
    created: datetime
    deletion_date: datetime | None
    pending_window_days: int | None
    rotation_enabled: bool
    rotation_period_days: int | None
    next_rotation: datetime | None
    current_material: int
    policy: str
    tags: dict[str, str]

    @property
    def aws_managed(self) -> bool:
        return self.manager == "AWS"


@dataclass(frozen=True)
class Material:
    key_id: str
    version: int
    wrapped: bytes
    created: datetime
    rotation_type: str | None


@dataclass(frozen=True)
class Alias:
    account_id: str
    region: str
    alias_name: str
    key_id: str
    created: datetime
    updated: datetime


def _key(row: Any) -> Key:
    values = dict(row._mapping)
    for name in ("created", "deletion_date", "next_rotation"):
        values[name] = aware(values[name])
    values["tags"] = dict(values["tags"] or {})
    return Key(**values)


def _alias(row: Any) -> Alias:
    values = dict(row._mapping)
    values["created"] = utc(values["created"])
    values["updated"] = utc(values["updated"])
    return Alias(**values)


# -- keys -----------------------------------------------------------------------------------------


def insert_key(conn: Connection, key: Key, wrapped_material: bytes) -> None:
    conn.execute(insert(keys).values(**key.__dict__))
    conn.execute(
        insert(materials).values(
            key_id=key.key_id,
            version=1,
            wrapped=wrapped_material,
            created=key.created,
            rotation_type=None,
        )
    )


def get_key(conn: Connection, key_id: str) -> Key | None:
    row = conn.execute(select(keys).where(keys.c.key_id == key_id)).first()
    return _key(row) if row else None


def list_keys(conn: Connection, account_id: str, region: str) -> list[Key]:
    rows = conn.execute(
        select(keys)
        .where(keys.c.account_id == account_id, keys.c.region == region)
        .order_by(keys.c.key_id)
    )
    return [_key(r) for r in rows]


def update_key(conn: Connection, key: Key, **changes: Any) -> Key:
    conn.execute(update(keys).where(keys.c.key_id == key.key_id).values(**changes))
    return replace(key, **changes)


def delete_key(conn: Connection, key_id: str) -> None:
    """The key, its aliases and its materials: what KMS forgets when a deletion date passes."""
    conn.execute(delete(aliases).where(aliases.c.key_id == key_id))
    conn.execute(delete(materials).where(materials.c.key_id == key_id))
    conn.execute(delete(keys).where(keys.c.key_id == key_id))


# -- key material ---------------------------------------------------------------------------------


def get_material(conn: Connection, key_id: str, version: int) -> Material | None:
    row = conn.execute(
        select(materials).where(materials.c.key_id == key_id, materials.c.version == version)
    ).first()
    if row is None:
        return None
    return Material(
        row.key_id, row.version, bytes(row.wrapped), utc(row.created), row.rotation_type
    )


def list_materials(conn: Connection, key_id: str) -> list[Material]:
    rows = conn.execute(
        select(materials).where(materials.c.key_id == key_id).order_by(materials.c.version)
    )
    return [
        Material(r.key_id, r.version, bytes(r.wrapped), utc(r.created), r.rotation_type)
        for r in rows
    ]


def add_material(
    conn: Connection, key: Key, wrapped: bytes, rotation_type: str, when: datetime, **changes: Any
) -> Key:
    """A new current material (a rotation); ``changes`` update the key row in the same step."""
    version = key.current_material + 1
    conn.execute(
        insert(materials).values(
            key_id=key.key_id,
            version=version,
            wrapped=wrapped,
            created=when,
            rotation_type=rotation_type,
        )
    )
    return update_key(conn, key, current_material=version, **changes)


# -- aliases --------------------------------------------------------------------------------------


def get_alias(conn: Connection, account_id: str, region: str, alias_name: str) -> Alias | None:
    row = conn.execute(
        select(aliases).where(
            aliases.c.account_id == account_id,
            aliases.c.region == region,
            aliases.c.alias_name == alias_name,
        )
    ).first()
    return _alias(row) if row else None


def list_aliases(
    conn: Connection, account_id: str, region: str, key_id: str | None = None
) -> list[Alias]:
    query = select(aliases).where(aliases.c.account_id == account_id, aliases.c.region == region)
    if key_id is not None:
        query = query.where(aliases.c.key_id == key_id)
    return [_alias(r) for r in conn.execute(query.order_by(aliases.c.alias_name))]


def insert_alias(conn: Connection, alias: Alias) -> None:
    conn.execute(insert(aliases).values(**alias.__dict__))


def retarget_alias(conn: Connection, alias: Alias, key_id: str, when: datetime) -> None:
    conn.execute(
        update(aliases)
        .where(
            aliases.c.account_id == alias.account_id,
            aliases.c.region == alias.region,
            aliases.c.alias_name == alias.alias_name,
        )
        .values(key_id=key_id, updated=when)
    )


def delete_alias(conn: Connection, alias: Alias) -> None:
    conn.execute(
        delete(aliases).where(
            aliases.c.account_id == alias.account_id,
            aliases.c.region == alias.region,
            aliases.c.alias_name == alias.alias_name,
        )
    )
