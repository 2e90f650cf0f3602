"""Workflow runs (one document per run: jobs, steps, outputs, approvals) and per-repository
secrets (encrypted with a master key kept in the data dir, ``workflows.key``).

Declared on the shared metadata from :mod:`seedbed.services.codeconnections.store`, the service
whose repositories carry the workflows; only :mod:`seedbed.runtime.workflows` touches them.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
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

from seedbed.state.db import metadata

runs = Table(
    "workflow_runs",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("repository", String(256), nullable=False),
    Column("run_number", Integer, nullable=False),
    Column("workflow", String(512), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("conclusion", String(16), nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    Column("doc", JSON, nullable=False),
)
Index("ix_workflow_runs_repository", runs.c.account_id, runs.c.region, runs.c.repository)

secrets = Table(
    "workflow_secrets",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("repository", String(256), primary_key=True),
    Column("name", String(256), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
)


def now() -> datetime:
    return datetime.now(UTC)


def _run(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    for key in ("created", "updated"):
        if out[key].tzinfo is None:
            out[key] = out[key].replace(tzinfo=UTC)
    return out


def add_run(conn: Connection, **values: Any) -> None:
    conn.execute(insert(runs).values(**values))


def next_number(conn: Connection, account_id: str, region: str, repository: str) -> int:
    c = runs.c
    top = conn.execute(select(func.max(c.run_number)).where(
        and_(c.account_id == account_id, c.region == region, c.repository == repository))).scalar()
    return int(top or 0) + 1


def get_run(conn: Connection, run_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(runs).where(runs.c.run_id == run_id)).first()
    return _run(row) if row else None


def find_runs(conn: Connection, run_prefix: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(runs).where(runs.c.run_id.like(run_prefix.replace("%", "") + "%")).limit(5))
    return [_run(r) for r in rows]


def list_runs(conn: Connection, account_id: str, region: str | None, repository: str | None) -> list[dict[str, Any]]:
    c = runs.c
    cond = [c.account_id == account_id]
    if region:
        cond.append(c.region == region)
    if repository:
        cond.append(c.repository == repository)
    rows = conn.execute(select(runs).where(and_(*cond)).order_by(c.created.desc()))
    return [_run(r) for r in rows]


def unfinished(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(runs).where(runs.c.status != "completed"))
    return [_run(r) for r in rows]


def save_run(conn: Connection, run_id: str, **values: Any) -> None:
    conn.execute(update(runs).where(runs.c.run_id == run_id).values(updated=now(), **values))


# -- secrets --------------------------------------------------------------------------------------


def _key(data_dir: Path) -> bytes:
    from seedbed.state.keyfiles import load_or_create

    return load_or_create(data_dir, "workflows.key", "SEEDBED_WORKFLOWS_KEY")


def seal(data_dir: Path, value: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(_key(data_dir)).encrypt(nonce, value.encode(), None)).decode()


def unseal(data_dir: Path, sealed: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.b64decode(sealed)
    return AESGCM(_key(data_dir)).decrypt(raw[:12], raw[12:], None).decode()


def put_secret(conn: Connection, data_dir: Path, account_id: str, region: str, repository: str, name: str, value: str) -> None:
    where = and_(secrets.c.account_id == account_id, secrets.c.region == region,
                 secrets.c.repository == repository, secrets.c.name == name)
    conn.execute(delete(secrets).where(where))
    conn.execute(insert(secrets).values(account_id=account_id, region=region, repository=repository, name=name,
                                        value=seal(data_dir, value), updated=now()))


def delete_secret(conn: Connection, account_id: str, region: str, repository: str, name: str) -> bool:
    where = and_(secrets.c.account_id == account_id, secrets.c.region == region,
                 secrets.c.repository == repository, secrets.c.name == name)
    return conn.execute(delete(secrets).where(where)).rowcount > 0


def get_secrets(conn: Connection, data_dir: Path, account_id: str, region: str, repository: str) -> dict[str, str]:
    c = secrets.c
    rows = conn.execute(select(c.name, c.value).where(
        and_(c.account_id == account_id, c.region == region, c.repository == repository)))
    return {name: unseal(data_dir, value) for name, value in rows}


def secret_names(conn: Connection, account_id: str, region: str, repository: str) -> list[str]:
    c = secrets.c
    rows = conn.execute(select(c.name).where(
        and_(c.account_id == account_id, c.region == region, c.repository == repository)).order_by(c.name))
    return [r[0] for r in rows]
