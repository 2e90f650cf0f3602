"""Version bookkeeping in the database (SQLite, or PostgreSQL with SEEDBED_TEST_DATABASE_URL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from seedbed.services.s3 import store
from seedbed.state.db import Database
from tests.conftest import isolated_database_url


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(isolated_database_url() or f"sqlite:///{tmp_path / 's3.db'}")
    database.migrate()
    with database.begin() as conn:
        conn.execute(insert(store.buckets).values(name="b", account_id="000000000000", region="us-east-1", created=store.now(), object_lock=False))
    yield database
    database.dispose()


def version(version_id: str, blob: str) -> dict[str, Any]:
    return {
        "version_id": version_id,
        "delete_marker": False,
        "last_modified": store.now(),
        "size": 1,
        "etag": "e",
        "owner": "000000000000",
        "storage_class": "STANDARD",
        "blobs": [{"id": blob, "size": 1, "key": "k"}],
    }


def put(db: Database, version_id: str, blob: str) -> list[dict[str, Any]]:
    def work(conn):  # type: ignore[no-untyped-def]
        bucket = store.get_bucket(conn, "b")
        return store.insert_version(conn, bucket, "key", version(version_id, blob), store.latest(conn, "b", "key"))

    return store.write_transaction(db, work)


def rows(db: Database) -> list[tuple[str, bool]]:
    with db.connect() as conn:
        return [(r.version_id, r.is_latest) for r in conn.execute(select(store.objects).order_by(store.objects.c.id))]


def test_null_versions_replace_each_other(db: Database) -> None:
    assert put(db, "null", "blob-1") == []
    assert put(db, "null", "blob-2") == [{"id": "blob-1", "size": 1, "key": "k"}]
    assert rows(db) == [("null", True)]


def test_versions_accumulate_and_removal_promotes(db: Database) -> None:
    put(db, "null", "b0")
    put(db, "v1", "b1")
    put(db, "v2", "b2")
    assert rows(db) == [("null", False), ("v1", False), ("v2", True)]
    put(db, "null", "b3")  # suspended: replaces the old null version, becomes current
    assert rows(db) == [("v1", False), ("v2", False), ("null", True)]
    with db.begin() as conn:
        assert store.remove_version(conn, store.version(conn, "b", "key", "null")) == [{"id": "b3", "size": 1, "key": "k"}]
    assert rows(db) == [("v1", False), ("v2", True)]


def test_one_current_version_per_key(db: Database) -> None:
    put(db, "v1", "b1")
    with pytest.raises(IntegrityError):
        with db.begin() as conn:
            conn.execute(insert(store.objects).values(bucket="b", key="key", is_latest=True, **version("v9", "b9")))


def test_listing_queries(db: Database) -> None:
    put(db, "v1", "b1")
    with db.connect() as conn:
        assert [r.key for r in store.list_current(conn, "b", None, False, None, None, 10)] == ["key"]
        assert store.list_current(conn, "b", "key", False, None, None, 10) == []
        assert [r.key for r in store.list_current(conn, "b", "key", True, "k", "l", 10)] == ["key"]
    assert list(store.referenced_blob_ids(db)) == ["b1"]
