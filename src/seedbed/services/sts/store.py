"""STS's table: the temporary credentials it has issued. Only STS's modules touch it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, Connection, DateTime, String, Table, Text, delete, insert, select

from seedbed.state.db import metadata

sessions = Table(
    "sts_sessions",
    metadata,
    Column("access_key_id", String(32), primary_key=True),
    Column("secret_access_key", String(64), nullable=False),
    Column("session_token", Text, nullable=False),
    Column("account_id", String(12), nullable=False),
    # The principal the session acts as: an assumed-role ARN, or a user / root ARN for
    # GetSessionToken.
    Column("principal_arn", String(2048), nullable=False),
    Column("principal_id", String(128), nullable=False),
    Column("principal_type", String(32), nullable=False),
    Column("role_arn", String(2048), nullable=True),
    Column("source_access_key_id", String(32), nullable=True),
    Column("session_policy", Text, nullable=True),
    Column("tags", Text, nullable=True),
    Column("expiration", DateTime(timezone=True), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    # Managed session policies (AssumeRole's PolicyArns), a JSON list of ARNs.
    Column("session_policy_arns", Text, nullable=True),
    # Session tag keys that pass on to a chained role session, a JSON list.
    Column("transitive_tag_keys", Text, nullable=True),
    Column("source_identity", String(64), nullable=True),
)


@dataclass(frozen=True)
class Session:
    access_key_id: str
    secret_access_key: str
    session_token: str
    account_id: str
    principal_arn: str
    principal_id: str
    principal_type: str
    role_arn: str | None
    source_access_key_id: str | None
    session_policy: str | None
    tags: str | None
    expiration: datetime
    created: datetime
    session_policy_arns: str | None = None
    transitive_tag_keys: str | None = None
    source_identity: str | None = None

    @property
    def tag_dict(self) -> dict[str, str]:
        return json.loads(self.tags) if self.tags else {}

    @property
    def policy_arns(self) -> list[str]:
        return json.loads(self.session_policy_arns) if self.session_policy_arns else []

    @property
    def transitive_keys(self) -> list[str]:
        return json.loads(self.transitive_tag_keys) if self.transitive_tag_keys else []


def _aware(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; every time Seedbed stores is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def save(conn: Connection, session: Session) -> None:
    conn.execute(insert(sessions).values(**session.__dict__))


def get(conn: Connection, access_key_id: str) -> Session | None:
    row = conn.execute(select(sessions).where(sessions.c.access_key_id == access_key_id)).first()
    if row is None:
        return None
    values = dict(row._mapping)
    values["expiration"] = _aware(values["expiration"])
    values["created"] = _aware(values["created"])
    return Session(**values)


def purge_expired(conn: Connection, before: datetime) -> int:
    """Drop sessions that expired before ``before`` (kept a while so late use says ExpiredToken)."""
    return conn.execute(delete(sessions).where(sessions.c.expiration < before)).rowcount
