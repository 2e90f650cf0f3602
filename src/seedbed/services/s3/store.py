"""S3's tables: buckets, their configuration documents, object versions, multipart uploads.

Only S3's modules touch these. Object bytes are not here: a version row lists the blobs that hold
them (see :mod:`seedbed.services.s3.storage`). Every version of every key is one row of
``s3_objects``; ``is_latest`` marks the current one, and a partial unique index allows one
current row per key, so two writers racing on a key cannot both win (the loser retries). Keys
sort by their UTF-8 bytes as S3 lists them (``COLLATE "C"`` on PostgreSQL).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    bindparam,
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    literal_column,
    select,
    false,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError, OperationalError

from seedbed.state.db import Database, metadata

T = TypeVar("T")

#: Object keys compare as bytes, as S3 lists them.
KeyText = Text().with_variant(Text(collation="C"), "postgresql")
IdType = BigInteger().with_variant(Integer, "sqlite")

buckets = Table(
    "s3_buckets",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    # None (never enabled), "Enabled" or "Suspended".
    Column("versioning", String(16)),
    Column("mfa_delete", String(16)),
    Column("object_lock", Boolean, nullable=False, default=False),
)
Index("ix_s3_buckets_account", buckets.c.account_id, buckets.c.name)

#: One configuration document per (bucket, kind): tagging, cors, policy, public-access-block,
#: encryption, lifecycle, ownership ... stored as the dict the operation takes and returns.
bucket_configs = Table(
    "s3_bucket_configs",
    metadata,
    Column("bucket", String(63), ForeignKey("s3_buckets.name"), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("document", JSON, nullable=False),
)

objects = Table(
    "s3_objects",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("bucket", String(63), ForeignKey("s3_buckets.name"), nullable=False),
    Column("key", KeyText, nullable=False),
    Column("version_id", String(64), nullable=False),
    Column("is_latest", Boolean, nullable=False),
    Column("delete_marker", Boolean, nullable=False),
    Column("last_modified", DateTime(timezone=True), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(80), nullable=False),
    Column("owner", String(12), nullable=False),
    Column("storage_class", String(32), nullable=False),
    # Content-Type, Cache-Control ... as the PutObject members that set them.
    Column("headers", JSON),
    Column("user_metadata", JSON),
    Column("tags", JSON),
    # {"algorithm": "CRC32", "value": base64, "type": "FULL_OBJECT" | "COMPOSITE"}
    Column("checksum", JSON),
    # {"SSEAlgorithm": "AES256"}
    Column("encryption", JSON),
    # [BlobRef.to_json(), ...]: the bytes, in order.
    Column("blobs", JSON, nullable=False),
    # Multipart objects: [{"size": n, "checksum": base64 | None}, ...] per part; else None.
    Column("parts", JSON),
)
Index("ux_s3_objects_version", objects.c.bucket, objects.c.key, objects.c.version_id, unique=True)
Index(
    "ux_s3_objects_latest",
    objects.c.bucket,
    objects.c.key,
    unique=True,
    sqlite_where=text("is_latest = 1"),
    postgresql_where=text("is_latest"),
)
Index("ix_s3_objects_history", objects.c.bucket, objects.c.key, objects.c.id)

uploads = Table(
    "s3_uploads",
    metadata,
    Column("upload_id", String(128), primary_key=True),
    Column("bucket", String(63), ForeignKey("s3_buckets.name"), nullable=False),
    Column("key", KeyText, nullable=False),
    Column("initiated", DateTime(timezone=True), nullable=False),
    Column("owner", String(12), nullable=False),
    Column("initiator_arn", String(2048)),
    Column("initiator_id", String(256)),
    Column("storage_class", String(32), nullable=False),
    # What CreateMultipartUpload was given: headers, metadata, tags, checksum, encryption.
    Column("params", JSON, nullable=False),
)
Index("ix_s3_uploads_key", uploads.c.bucket, uploads.c.key, uploads.c.initiated)

parts = Table(
    "s3_parts",
    metadata,
    Column("upload_id", String(128), ForeignKey("s3_uploads.upload_id"), primary_key=True),
    Column("part_number", Integer, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(80), nullable=False),
    Column("last_modified", DateTime(timezone=True), nullable=False),
    Column("checksum", JSON),
    Column("blob", JSON, nullable=False),
)


# Statements on the per-request path are built once: building a SQLAlchemy expression costs
# several times more than executing the cached, compiled form.
_GET_BUCKET = select(buckets).where(buckets.c.name == bindparam("b"))
_LATEST = select(objects).where(
    objects.c.bucket == bindparam("b"), objects.c.key == bindparam("k"), objects.c.is_latest == true()
)
_LATEST_FOR_UPDATE = _LATEST.with_for_update()
_VERSION = select(objects).where(
    objects.c.bucket == bindparam("b"), objects.c.key == bindparam("k"), objects.c.version_id == bindparam("v")
)
#: What a write decides from, in one statement: the bucket (no row: it is gone) and the columns
#: of the key's current version that the decision and the clean-up use (all None: no version).
#: No row lock: :func:`insert_version` checks every row it changes and retries a lost race.
_WRITE_TARGET = (
    select(
        buckets.c.name,
        buckets.c.account_id,
        buckets.c.created,
        buckets.c.versioning,
        objects.c.id,
        objects.c.version_id,
        objects.c.etag,
        objects.c.last_modified,
        objects.c.delete_marker,
        objects.c.blobs,
    )
    .select_from(
        buckets.outerjoin(
            objects,
            and_(objects.c.bucket == buckets.c.name, objects.c.key == bindparam("k"), objects.c.is_latest == true()),
        )
    )
    .where(buckets.c.name == bindparam("b"))
)
#: The version row a writer read, still as it was. The id alone is not enough: SQLite hands the
#: highest id out again once its row is deleted, so a racing writer's new version may carry the
#: id of the one it replaced; its ETag and timestamp tell them apart.
_SAME_ROW = and_(
    objects.c.id == bindparam("row_id"),
    objects.c.etag == bindparam("row_etag"),
    objects.c.last_modified == bindparam("row_modified"),
)
_NOT_LATEST = update(objects).where(_SAME_ROW, objects.c.is_latest == true()).values(is_latest=False)
_DELETE_ROW = delete(objects).where(_SAME_ROW)
_INSERT_OBJECT = insert(objects)
_GET_CONFIG = select(bucket_configs.c.document).where(
    bucket_configs.c.bucket == bindparam("b"), bucket_configs.c.kind == bindparam("kind")
)
_GET_CONFIGS = select(bucket_configs.c.kind, bucket_configs.c.document).where(
    bucket_configs.c.bucket == bindparam("b"), bucket_configs.c.kind.in_(bindparam("kinds", expanding=True))
)


def now() -> datetime:
    """S3 keeps millisecond timestamps."""
    moment = datetime.now(timezone.utc)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Retry(Exception):
    """Raised inside a write transaction when a racing writer changed what it read."""


def write_transaction(db: Database, work: Callable[[Connection], T], attempts: int = 8) -> T:
    """Run ``work`` in a transaction, again when it lost a race (unique index, lock, deadlock).

    Writers decide from what they read, and the unique indexes reject a decision made on a stale
    read; rerunning re-reads. SQLite answers a busy lock with an OperationalError, PostgreSQL a
    deadlock or serialization failure likewise: both are retried.
    """
    for attempt in range(attempts):
        try:
            with db.begin() as conn:
                return work(conn)
        except (IntegrityError, OperationalError, Retry):
            if attempt == attempts - 1:
                raise
            time.sleep(0.002 * (attempt + 1))
    raise AssertionError("unreachable")


# --- buckets ---------------------------------------------------------------------------------


def get_bucket(conn: Connection, name: str) -> Row | None:
    return conn.execute(_GET_BUCKET, {"b": name}).first()


def list_buckets(conn: Connection, account_id: str) -> list[Row]:
    query = select(buckets).where(buckets.c.account_id == account_id).order_by(buckets.c.name)
    return list(conn.execute(query))


def get_config(conn: Connection, bucket: str, kind: str) -> Any | None:
    row = conn.execute(_GET_CONFIG, {"b": bucket, "kind": kind}).first()
    return row.document if row else None


def get_configs(conn: Connection, bucket: str, kinds: tuple[str, ...]) -> dict[str, Any]:
    rows = conn.execute(_GET_CONFIGS, {"b": bucket, "kinds": list(kinds)})
    return {row.kind: row.document for row in rows}


def put_config(conn: Connection, bucket: str, kind: str, document: Any) -> None:
    updated = conn.execute(
        update(bucket_configs)
        .where(bucket_configs.c.bucket == bucket, bucket_configs.c.kind == kind)
        .values(document=document)
    ).rowcount
    if not updated:
        conn.execute(insert(bucket_configs).values(bucket=bucket, kind=kind, document=document))


def delete_config(conn: Connection, bucket: str, kind: str) -> None:
    conn.execute(
        delete(bucket_configs).where(bucket_configs.c.bucket == bucket, bucket_configs.c.kind == kind)
    )


def bucket_has_objects(conn: Connection, bucket: str) -> bool:
    return conn.execute(select(objects.c.id).where(objects.c.bucket == bucket).limit(1)).first() is not None


def drop_bucket(conn: Connection, bucket: str) -> list[dict[str, Any]]:
    """Delete an empty bucket with its configuration and unfinished uploads; returns the upload
    part blobs to discard."""
    upload_ids = [row.upload_id for row in conn.execute(select(uploads.c.upload_id).where(uploads.c.bucket == bucket))]
    blobs: list[dict[str, Any]] = []
    if upload_ids:
        blobs = [row.blob for row in conn.execute(select(parts.c.blob).where(parts.c.upload_id.in_(upload_ids)))]
        conn.execute(delete(parts).where(parts.c.upload_id.in_(upload_ids)))
        conn.execute(delete(uploads).where(uploads.c.upload_id.in_(upload_ids)))
    conn.execute(delete(bucket_configs).where(bucket_configs.c.bucket == bucket))
    conn.execute(delete(buckets).where(buckets.c.name == bucket))
    return blobs


# --- object versions -------------------------------------------------------------------------


def latest(conn: Connection, bucket: str, key: str, for_update: bool = False) -> Row | None:
    return conn.execute(_LATEST_FOR_UPDATE if for_update else _LATEST, {"b": bucket, "k": key}).first()


def _seen(row: Row) -> dict[str, Any]:
    """Bind values of :data:`_SAME_ROW` for a version row as it was read."""
    return {"row_id": row.id, "row_etag": row.etag, "row_modified": row.last_modified}


def write_target(conn: Connection, bucket: str, key: str) -> tuple[Row, Row | None] | None:
    """For a write to ``key``: the bucket (its name, account, creation time and versioning) and
    the key's current version (id, version id, ETag, time, delete marker, blobs), read together;
    None when the bucket does not exist."""
    row = conn.execute(_WRITE_TARGET, {"b": bucket, "k": key}).first()
    if row is None:
        return None
    return row, (row if row.id is not None else None)


def version(conn: Connection, bucket: str, key: str, version_id: str) -> Row | None:
    return conn.execute(_VERSION, {"b": bucket, "k": key, "v": version_id}).first()


def insert_version(
    conn: Connection, bucket: Row, key: str, values: dict[str, Any], current: Row | None
) -> list[dict[str, Any]]:
    """Make ``values`` the current version of ``key``; returns blobs that no version keeps.

    Versioning Enabled keeps the previous current version as a noncurrent one; never-enabled or
    Suspended replaces the ``null`` version (whether or not it was current). ``current`` is the
    row read as current in this transaction; if a racing writer moved it, :class:`Retry`.
    """
    discarded: list[dict[str, Any]] = []
    replacing_current = current is not None and values["version_id"] == "null" and current.version_id == "null"
    if current is not None and not replacing_current:
        if conn.execute(_NOT_LATEST, _seen(current)).rowcount != 1:
            raise Retry()
    if values["version_id"] == "null":
        old = current if replacing_current else version(conn, bucket.name, key, "null")
        if old is not None and old is not current and old.is_latest:
            raise Retry()  # a racing writer made its null version current after ``current`` was read
        if old is not None:
            if conn.execute(_DELETE_ROW, _seen(old)).rowcount != 1:
                raise Retry()
            discarded.extend(old.blobs or [])
    conn.execute(_INSERT_OBJECT, dict(values, bucket=bucket.name, key=key, is_latest=True))
    return discarded


def remove_version(conn: Connection, row: Row) -> list[dict[str, Any]]:
    """Delete one version for good; if it was current, the newest remaining one becomes current."""
    if conn.execute(_DELETE_ROW, _seen(row)).rowcount != 1:
        raise Retry()
    if row.is_latest:
        newest = conn.execute(
            select(objects.c.id)
            .where(objects.c.bucket == row.bucket, objects.c.key == row.key)
            .order_by(objects.c.id.desc())
            .limit(1)
        ).first()
        if newest is not None:
            conn.execute(update(objects).where(objects.c.id == newest.id).values(is_latest=True))
    return list(row.blobs or [])


def set_tags(conn: Connection, row_id: int, tags: list[dict[str, str]] | None) -> None:
    conn.execute(update(objects).where(objects.c.id == row_id).values(tags=tags))


def _key_range(query: Any, column: Any, start: str | None, inclusive: bool, lower: str | None, upper: str | None) -> Any:
    if start is not None:
        query = query.where(column >= start if inclusive else column > start)
    if lower:
        query = query.where(column >= lower)
    if upper is not None:
        query = query.where(column < upper)
    return query


def list_current(
    conn: Connection,
    bucket: str,
    start: str | None,
    inclusive: bool,
    lower: str | None,
    upper: str | None,
    limit: int,
) -> list[Row]:
    """Current, non-deleted versions from ``start`` with ``lower <= key < upper``, by key."""
    query = select(
        objects.c.key,
        objects.c.last_modified,
        objects.c.etag,
        objects.c.size,
        objects.c.storage_class,
        objects.c.owner,
        objects.c.checksum,
    ).where(objects.c.bucket == bucket, objects.c.is_latest == true(), objects.c.delete_marker == false())
    query = _key_range(query, objects.c.key, start, inclusive, lower, upper)
    return list(conn.execute(query.order_by(objects.c.key).limit(limit)))


def list_versions(
    conn: Connection,
    bucket: str,
    start: str | None,
    inclusive: bool,
    below_id: int | None,
    lower: str | None,
    upper: str | None,
    limit: int,
) -> list[Row]:
    """Versions by key, newest first within a key; ``below_id`` resumes inside key ``start``."""
    base = select(objects).where(objects.c.bucket == bucket)
    rows: list[Row] = []
    if below_id is not None and start is not None:
        rows = list(
            conn.execute(
                _key_range(base, objects.c.key, None, False, lower, upper)
                .where(objects.c.key == start, objects.c.id < below_id)
                .order_by(objects.c.id.desc())
                .limit(limit)
            )
        )
        inclusive = False
    if len(rows) < limit:
        query = _key_range(base, objects.c.key, start, inclusive, lower, upper)
        rows += list(conn.execute(query.order_by(objects.c.key, objects.c.id.desc()).limit(limit - len(rows))))
    return rows


# --- multipart uploads -----------------------------------------------------------------------


def get_upload(conn: Connection, upload_id: str) -> Row | None:
    return conn.execute(select(uploads).where(uploads.c.upload_id == upload_id)).first()


def list_parts(conn: Connection, upload_id: str, after: int = 0, limit: int | None = None) -> list[Row]:
    query = (
        select(parts)
        .where(parts.c.upload_id == upload_id, parts.c.part_number > after)
        .order_by(parts.c.part_number)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query))


def put_part(conn: Connection, values: dict[str, Any]) -> dict[str, Any] | None:
    """Insert or replace a part; returns the replaced part's blob."""
    old = conn.execute(
        select(parts.c.blob).where(
            parts.c.upload_id == values["upload_id"], parts.c.part_number == values["part_number"]
        )
    ).first()
    if old is not None:
        conn.execute(
            update(parts)
            .where(parts.c.upload_id == values["upload_id"], parts.c.part_number == values["part_number"])
            .values(**values)
        )
        return old.blob
    conn.execute(insert(parts).values(**values))
    return None


def drop_upload(conn: Connection, upload_id: str) -> list[dict[str, Any]]:
    """Delete an upload and its parts; returns their blobs."""
    blobs = [row.blob for row in conn.execute(select(parts.c.blob).where(parts.c.upload_id == upload_id))]
    conn.execute(delete(parts).where(parts.c.upload_id == upload_id))
    removed = conn.execute(delete(uploads).where(uploads.c.upload_id == upload_id)).rowcount
    if removed != 1:
        raise Retry()
    return blobs


def list_uploads(
    conn: Connection,
    bucket: str,
    start: str | None,
    inclusive: bool,
    after_upload: Row | None,
    lower: str | None,
    upper: str | None,
    limit: int,
) -> list[Row]:
    """Uploads by key, then initiation; ``after_upload`` resumes inside key ``start``."""
    base = select(uploads).where(uploads.c.bucket == bucket)
    rows: list[Row] = []
    if after_upload is not None and start is not None:
        later = (uploads.c.initiated > after_upload.initiated) | and_(
            uploads.c.initiated == after_upload.initiated, uploads.c.upload_id > after_upload.upload_id
        )
        rows = list(
            conn.execute(
                _key_range(base, uploads.c.key, None, False, lower, upper)
                .where(uploads.c.key == start, later)
                .order_by(uploads.c.initiated, uploads.c.upload_id)
                .limit(limit)
            )
        )
        inclusive = False
    if len(rows) < limit:
        query = _key_range(base, uploads.c.key, start, inclusive, lower, upper)
        rows += list(
            conn.execute(query.order_by(uploads.c.key, uploads.c.initiated, uploads.c.upload_id).limit(limit - len(rows)))
        )
    return rows


# --- the orphan sweep ------------------------------------------------------------------------


def referenced_blob_ids(db: Database) -> Iterator[str]:
    """Every blob id that metadata refers to, read in one statement (one consistent snapshot)."""
    query = union_all(
        select(objects.c.blobs.label("doc"), literal_column("1").label("many")),
        select(parts.c.blob.label("doc"), literal_column("0").label("many")),
    )
    with db.connect() as conn:
        for row in conn.execute(query):
            if row.many:
                for ref in row.doc or ():
                    yield ref["id"]
            elif row.doc:
                yield row.doc["id"]
