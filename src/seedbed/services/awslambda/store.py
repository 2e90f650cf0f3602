"""Lambda's tables: functions, their versions (``$LATEST`` and published numbers) with the stored
configuration, aliases, resource policies (one per function or qualifier), and the queue of
asynchronous invocations (journaled, so a crash does not lose an accepted event). Only Lambda's
modules touch them.

A version's configuration is kept as one JSON document shaped like the API's
``FunctionConfiguration`` (minus what is derived: names and ARNs); the code's bytes live in S3
(see :mod:`seedbed.services.awslambda.code`), the row keeps where.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)

from seedbed.state import columns
from seedbed.state.db import metadata

#: Names sort byte-wise on PostgreSQL too, so list markers mean the same on both databases.
NAME = columns.name_type(64)

functions = Table(
    "lambda_functions",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("tags", JSON, nullable=False),
    # The highest version number ever published (numbers are never reused).
    Column("last_version", Integer, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

versions = Table(
    "lambda_versions",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    # "$LATEST" or a published number; "number" orders them.
    Column("version", String(16), primary_key=True),
    Column("number", Integer, nullable=False),
    Column("config", JSON, nullable=False),
    Column("code_key", String(1024), nullable=False),
    Column("code_hex", String(64), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

aliases = Table(
    "lambda_aliases",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("alias", String(128), primary_key=True),
    Column("function_version", String(16), nullable=False),
    Column("description", Text, nullable=False),
    Column("routing", JSON, nullable=True),
    Column("revision_id", String(36), nullable=False),
)

policies = Table(
    "lambda_policies",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    # "" for the unqualified function, else the version or alias the policy is attached to.
    Column("qualifier", String(128), primary_key=True),
    Column("document", Text, nullable=False),
    Column("revision_id", String(36), nullable=False),
)

event_queue = Table(
    "lambda_event_queue",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", NAME, nullable=False),
    Column("qualifier", String(128), nullable=True),
    Column("payload", LargeBinary, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("due", DateTime(timezone=True), nullable=False),
    # A replica working on the event holds it until then (scale-out: one runner per event).
    Column("claimed_until", DateTime(timezone=True), nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
)


def now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Function:
    account_id: str
    region: str
    name: str
    tags: dict[str, str]
    last_version: int
    created: datetime


@dataclass(frozen=True)
class Version:
    account_id: str
    region: str
    name: str
    version: str
    number: int
    config: dict[str, Any]
    code_key: str
    code_hex: str
    created: datetime


@dataclass(frozen=True)
class Alias:
    account_id: str
    region: str
    name: str
    alias: str
    function_version: str
    description: str
    routing: dict[str, Any] | None
    revision_id: str


@dataclass(frozen=True)
class Policy:
    qualifier: str
    document: str
    revision_id: str


@dataclass(frozen=True)
class QueuedEvent:
    request_id: str
    account_id: str
    region: str
    name: str
    qualifier: str | None
    payload: bytes
    attempts: int
    due: datetime


def _function(row: Any) -> Function:
    return Function(row.account_id, row.region, row.name, dict(row.tags or {}), row.last_version, _aware(row.created))  # type: ignore[arg-type]


def _version(row: Any) -> Version:
    return Version(row.account_id, row.region, row.name, row.version, row.number, dict(row.config),
                   row.code_key, row.code_hex, _aware(row.created))  # type: ignore[arg-type]


def _alias(row: Any) -> Alias:
    return Alias(row.account_id, row.region, row.name, row.alias, row.function_version, row.description,
                 row.routing, row.revision_id)


def _key(table: Table, account: str, region: str, name: str) -> Any:
    return and_(table.c.account_id == account, table.c.region == region, table.c.name == name)


# --- functions ------------------------------------------------------------------------------------


def get_function(conn: Connection, account: str, region: str, name: str) -> Function | None:
    row = conn.execute(select(functions).where(_key(functions, account, region, name))).first()
    return _function(row) if row is not None else None


def insert_function(conn: Connection, account: str, region: str, name: str, tags: dict[str, str]) -> None:
    conn.execute(insert(functions).values(account_id=account, region=region, name=name, tags=tags,
                                          last_version=0, created=now()))


def set_tags(conn: Connection, account: str, region: str, name: str, tags: dict[str, str]) -> None:
    conn.execute(update(functions).where(_key(functions, account, region, name)).values(tags=tags))


def next_version(conn: Connection, account: str, region: str, name: str) -> int:
    """Take the next version number (call inside the transaction that inserts the version)."""
    row = conn.execute(select(functions.c.last_version).where(_key(functions, account, region, name))).first()
    number = (row.last_version if row else 0) + 1
    conn.execute(update(functions).where(_key(functions, account, region, name)).values(last_version=number))
    return number


def delete_function(conn: Connection, account: str, region: str, name: str) -> None:
    for table in (policies, aliases, versions, functions):
        conn.execute(delete(table).where(_key(table, account, region, name)))
    conn.execute(delete(event_queue).where(_key(event_queue, account, region, name)))


def list_functions(conn: Connection, account: str, region: str, after: str | None, limit: int, all_versions: bool) -> list[Version]:
    """$LATEST of each function (or every version), in name order, after the ``after`` marker
    (``name`` or ``name:number``)."""
    query = select(versions).where(versions.c.account_id == account, versions.c.region == region)
    if not all_versions:
        query = query.where(versions.c.version == "$LATEST")
    if after:
        name, _, number = after.partition(":")
        if all_versions and number.lstrip("-").isdigit():
            query = query.where(or_(versions.c.name > name, and_(versions.c.name == name, versions.c.number > int(number))))
        else:
            query = query.where(versions.c.name > name)
    query = query.order_by(versions.c.name, versions.c.number).limit(limit)
    return [_version(r) for r in conn.execute(query)]


# --- versions -------------------------------------------------------------------------------------


def get_version(conn: Connection, account: str, region: str, name: str, version: str) -> Version | None:
    row = conn.execute(select(versions).where(_key(versions, account, region, name), versions.c.version == version)).first()
    return _version(row) if row is not None else None


def list_versions(conn: Connection, account: str, region: str, name: str) -> list[Version]:
    rows = conn.execute(select(versions).where(_key(versions, account, region, name)).order_by(versions.c.number))
    return [_version(r) for r in rows]


def put_version(conn: Connection, account: str, region: str, name: str, version: str, number: int,
                config: dict[str, Any], code_key: str, code_hex: str) -> None:
    conn.execute(insert(versions).values(account_id=account, region=region, name=name, version=version, number=number,
                                         config=config, code_key=code_key, code_hex=code_hex, created=now()))


def update_version(conn: Connection, account: str, region: str, name: str, version: str, config: dict[str, Any],
                   code_key: str | None = None, code_hex: str | None = None, expect_revision: str | None = None) -> bool:
    """Replace a version's configuration (and code); False when ``expect_revision`` no longer
    matches (someone else changed it meanwhile)."""
    where = [_key(versions, account, region, name), versions.c.version == version]
    values: dict[str, Any] = {"config": config}
    if code_key is not None:
        values["code_key"] = code_key
        values["code_hex"] = code_hex
    if expect_revision is not None:
        current = get_version(conn, account, region, name, version)
        if current is None or current.config.get("RevisionId") != expect_revision:
            return False
    return conn.execute(update(versions).where(*where).values(**values)).rowcount == 1


def delete_version(conn: Connection, account: str, region: str, name: str, version: str) -> None:
    conn.execute(delete(versions).where(_key(versions, account, region, name), versions.c.version == version))
    conn.execute(delete(policies).where(_key(policies, account, region, name), policies.c.qualifier == version))


def pending_versions(conn: Connection) -> list[Version]:
    """Versions whose code was still being prepared (dependencies installing) when Seedbed stopped."""
    rows = conn.execute(select(versions))
    return [v for v in (_version(r) for r in rows) if v.config.get("State") == "Pending"
            or v.config.get("LastUpdateStatus") == "InProgress"]


# --- aliases --------------------------------------------------------------------------------------


def get_alias(conn: Connection, account: str, region: str, name: str, alias: str) -> Alias | None:
    row = conn.execute(select(aliases).where(_key(aliases, account, region, name), aliases.c.alias == alias)).first()
    return _alias(row) if row is not None else None


def list_aliases(conn: Connection, account: str, region: str, name: str) -> list[Alias]:
    rows = conn.execute(select(aliases).where(_key(aliases, account, region, name)).order_by(aliases.c.alias))
    return [_alias(r) for r in rows]


def put_alias(conn: Connection, alias: Alias) -> None:
    conn.execute(insert(aliases).values(account_id=alias.account_id, region=alias.region, name=alias.name, alias=alias.alias,
                                        function_version=alias.function_version, description=alias.description,
                                        routing=alias.routing, revision_id=alias.revision_id))


def update_alias(conn: Connection, alias: Alias) -> None:
    conn.execute(update(aliases).where(_key(aliases, alias.account_id, alias.region, alias.name), aliases.c.alias == alias.alias)
                 .values(function_version=alias.function_version, description=alias.description,
                         routing=alias.routing, revision_id=alias.revision_id))


def delete_alias(conn: Connection, account: str, region: str, name: str, alias: str) -> None:
    conn.execute(delete(aliases).where(_key(aliases, account, region, name), aliases.c.alias == alias))
    conn.execute(delete(policies).where(_key(policies, account, region, name), policies.c.qualifier == alias))


# --- resource policies ----------------------------------------------------------------------------


def get_policy(conn: Connection, account: str, region: str, name: str, qualifier: str) -> Policy | None:
    row = conn.execute(select(policies).where(_key(policies, account, region, name), policies.c.qualifier == qualifier)).first()
    return Policy(row.qualifier, row.document, row.revision_id) if row is not None else None


def put_policy(conn: Connection, account: str, region: str, name: str, qualifier: str, document: str, revision_id: str) -> None:
    where = and_(_key(policies, account, region, name), policies.c.qualifier == qualifier)
    if conn.execute(update(policies).where(where).values(document=document, revision_id=revision_id)).rowcount == 0:
        conn.execute(insert(policies).values(account_id=account, region=region, name=name, qualifier=qualifier,
                                             document=document, revision_id=revision_id))


def delete_policy(conn: Connection, account: str, region: str, name: str, qualifier: str) -> None:
    conn.execute(delete(policies).where(_key(policies, account, region, name), policies.c.qualifier == qualifier))


# --- the asynchronous invocation queue ------------------------------------------------------------


def enqueue(conn: Connection, event: QueuedEvent) -> None:
    conn.execute(insert(event_queue).values(
        request_id=event.request_id, account_id=event.account_id, region=event.region, name=event.name,
        qualifier=event.qualifier, payload=event.payload, attempts=event.attempts, due=event.due,
        claimed_until=None, created=now(),
    ))


def claim(conn: Connection, request_id: str, until: datetime) -> bool:
    """Take the event for this process until ``until``; False when another holds it."""
    moment = now()
    result = conn.execute(update(event_queue).where(
        event_queue.c.request_id == request_id,
        or_(event_queue.c.claimed_until.is_(None), event_queue.c.claimed_until < moment),
    ).values(claimed_until=until))
    return result.rowcount == 1


def reschedule(conn: Connection, request_id: str, attempts: int, due: datetime) -> None:
    conn.execute(update(event_queue).where(event_queue.c.request_id == request_id)
                 .values(attempts=attempts, due=due, claimed_until=None))


def dequeue(conn: Connection, request_id: str) -> None:
    conn.execute(delete(event_queue).where(event_queue.c.request_id == request_id))


def queued(conn: Connection) -> list[QueuedEvent]:
    rows = conn.execute(select(event_queue).order_by(event_queue.c.due))
    return [QueuedEvent(r.request_id, r.account_id, r.region, r.name, r.qualifier, bytes(r.payload), r.attempts,
                        _aware(r.due)) for r in rows]  # type: ignore[arg-type]
