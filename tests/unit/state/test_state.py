"""The state layer: migrations build exactly the declared schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import seedbed.services.iam.store as iam_store
from seedbed.services.registry import import_all_stores
from seedbed.config import Settings
from seedbed.server.backend import init_data_dir
from seedbed.state import arns
from seedbed.state.db import Database, metadata
from seedbed.state.migrate import current_heads
from tests.conftest import isolated_database_url


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = isolated_database_url() or f"sqlite:///{tmp_path / 'state.db'}"
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()


def test_migrations_match_declared_tables(db: Database) -> None:
    import_all_stores()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert current_heads(db)


def test_migrate_is_idempotent(db: Database) -> None:
    before = current_heads(db)
    db.migrate()
    assert current_heads(db) == before


def test_data_dir_gets_one_admin_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", database_url=isolated_database_url())
    first = init_data_dir(settings)
    second = init_data_dir(settings)
    assert first == second
    assert first.access_key_id.startswith("AKIA") and len(first.secret_access_key) == 40
    assert (tmp_path / "d" / "credentials.json").stat().st_mode & 0o777 == 0o600
    db = Database(settings.resolved_database_url)
    with db.connect() as conn:
        key = iam_store.get_access_key(conn, first.access_key_id)
    db.dispose()
    assert key is not None and key.user_name is None


def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        with db.begin() as conn:
            iam_store.create_user(conn, "111111111111", "alice", "/")
            raise RuntimeError("boom")
    with db.connect() as conn:
        assert iam_store.get_user(conn, "111111111111", "alice") is None


def test_arns_are_built_in_one_place() -> None:
    assert arns.iam("123456789012", "role", "Launch", "/service-role/") == (
        "arn:aws:iam::123456789012:role/service-role/Launch"
    )
    assert arns.build("s3", "bucket", region="us-east-1") == "arn:aws:s3:::bucket"
    assert arns.sagemaker("1", "eu-west-1", "project", "MyProj") == "arn:aws:sagemaker:eu-west-1:1:project/myproj"
    parsed = arns.parse("arn:aws:sts::1:assumed-role/r/s")
    assert (parsed.service, parsed.resource_type, parsed.resource_id) == ("sts", "assumed-role", "r/s")
    with pytest.raises(ValueError):
        arns.parse("not-an-arn")


@pytest.mark.skipif(not os.environ.get("SEEDBED_TEST_DATABASE_URL"), reason="PostgreSQL pass only")
def test_postgres_backend_is_really_postgres(db: Database) -> None:
    assert db.engine.dialect.name == "postgresql"
