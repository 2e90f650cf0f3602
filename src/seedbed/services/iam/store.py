"""IAM's tables: users, roles and long-term access keys. Only IAM's modules touch them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

from seedbed.state import arns, ids
from seedbed.state.db import metadata

users = Table(
    "iam_users",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("user_name", String(64), primary_key=True),
    Column("user_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

roles = Table(
    "iam_roles",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("role_name", String(64), primary_key=True),
    Column("role_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("assume_role_policy", Text, nullable=False),
    Column("description", String(1000), nullable=True),
    Column("max_session_duration", Integer, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

access_keys = Table(
    "iam_access_keys",
    metadata,
    Column("access_key_id", String(32), primary_key=True),
    Column("secret_access_key", String(64), nullable=False),
    Column("account_id", String(12), nullable=False),
    # None means the account's root user.
    Column("user_name", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str
    account_id: str
    user_name: str | None
    status: str
    created: datetime


def _key(row) -> AccessKey:  # type: ignore[no-untyped-def]
    return AccessKey(
        row.access_key_id,
        row.secret_access_key,
        row.account_id,
        row.user_name,
        row.status,
        row.created,
    )


def create_access_key(conn: Connection, account_id: str, user_name: str | None) -> AccessKey:
    key = AccessKey(ids.access_key_id(), ids.secret_access_key(), account_id, user_name, "Active", now())
    conn.execute(insert(access_keys).values(**key.__dict__))
    return key


def get_access_key(conn: Connection, access_key_id: str) -> AccessKey | None:
    row = conn.execute(
        select(access_keys).where(access_keys.c.access_key_id == access_key_id)
    ).first()
    return _key(row) if row else None


def list_access_keys(conn: Connection, account_id: str, user_name: str | None) -> list[AccessKey]:
    cond = access_keys.c.user_name.is_(None) if user_name is None else access_keys.c.user_name == user_name
    rows = conn.execute(
        select(access_keys)
        .where(access_keys.c.account_id == account_id, cond)
        .order_by(access_keys.c.created)
    )
    return [_key(r) for r in rows]


def delete_access_key(conn: Connection, account_id: str, access_key_id: str) -> bool:
    result = conn.execute(
        delete(access_keys).where(
            access_keys.c.account_id == account_id, access_keys.c.access_key_id == access_key_id
        )
    )
    return result.rowcount > 0


def set_access_key_status(conn: Connection, account_id: str, access_key_id: str, status: str) -> bool:
    result = conn.execute(
        update(access_keys)
        .where(access_keys.c.account_id == account_id, access_keys.c.access_key_id == access_key_id)
        .values(status=status)
    )
    return result.rowcount > 0


@dataclass(frozen=True)
class User:
    account_id: str
    user_name: str
    user_id: str
    path: str
    arn: str
    created: datetime


def create_user(conn: Connection, account_id: str, user_name: str, path: str) -> User:
    user = User(
        account_id, user_name, ids.unique_id("AIDA"), path, arns.iam(account_id, "user", user_name, path), now()
    )
    conn.execute(insert(users).values(**user.__dict__))
    return user


def get_user(conn: Connection, account_id: str, user_name: str) -> User | None:
    row = conn.execute(
        select(users).where(users.c.account_id == account_id, users.c.user_name == user_name)
    ).first()
    return User(**row._mapping) if row else None


def list_users(conn: Connection, account_id: str, path_prefix: str = "/") -> list[User]:
    rows = conn.execute(
        select(users)
        .where(users.c.account_id == account_id, users.c.path.startswith(path_prefix))
        .order_by(users.c.user_name)
    )
    return [User(**r._mapping) for r in rows]


def delete_user(conn: Connection, account_id: str, user_name: str) -> bool:
    result = conn.execute(
        delete(users).where(users.c.account_id == account_id, users.c.user_name == user_name)
    )
    return result.rowcount > 0


@dataclass(frozen=True)
class Role:
    account_id: str
    role_name: str
    role_id: str
    path: str
    arn: str
    assume_role_policy: str
    description: str | None
    max_session_duration: int
    created: datetime


def create_role(
    conn: Connection,
    account_id: str,
    role_name: str,
    path: str,
    assume_role_policy: str,
    description: str | None,
    max_session_duration: int,
) -> Role:
    role = Role(
        account_id,
        role_name,
        ids.unique_id("AROA"),
        path,
        arns.iam(account_id, "role", role_name, path),
        assume_role_policy,
        description,
        max_session_duration,
        now(),
    )
    conn.execute(insert(roles).values(**role.__dict__))
    return role


def get_role(conn: Connection, account_id: str, role_name: str) -> Role | None:
    """Role names are unique per account regardless of case, as in IAM."""
    row = conn.execute(
        select(roles).where(roles.c.account_id == account_id, roles.c.role_name == role_name)
    ).first()
    return Role(**row._mapping) if row else None


def role_name_taken(conn: Connection, account_id: str, role_name: str) -> bool:
    from sqlalchemy import func

    row = conn.execute(
        select(roles.c.role_name).where(
            roles.c.account_id == account_id, func.lower(roles.c.role_name) == role_name.lower()
        )
    ).first()
    return row is not None


def list_roles(conn: Connection, account_id: str, path_prefix: str = "/") -> list[Role]:
    rows = conn.execute(
        select(roles)
        .where(roles.c.account_id == account_id, roles.c.path.startswith(path_prefix))
        .order_by(roles.c.role_name)
    )
    return [Role(**r._mapping) for r in rows]


def delete_role(conn: Connection, account_id: str, role_name: str) -> bool:
    result = conn.execute(
        delete(roles).where(roles.c.account_id == account_id, roles.c.role_name == role_name)
    )
    return result.rowcount > 0
