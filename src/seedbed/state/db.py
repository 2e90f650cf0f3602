"""The database behind every service: SQLite (WAL) by default, PostgreSQL for scale-out.

One :class:`Database` per server process. Services keep their own tables (declared on
:data:`metadata` in their ``store.py``) and reach them only through their own modules.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, create_engine, event
from sqlalchemy.pool import NullPool

#: The single metadata object every service's tables are declared on; migrations create them.
metadata = MetaData()


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'seedbed.db'}"


def _configure_sqlite(engine: Engine) -> None:
    """WAL lets readers run beside the writer; NORMAL sync is durable across process crashes."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


class Database:
    """Owns the engine; hands out short transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = create_engine(url, connect_args={"check_same_thread": False})
            _configure_sqlite(self.engine)
        elif url.startswith("postgresql"):
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            self.engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        else:
            self.engine = create_engine(url, poolclass=NullPool)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads (no commit)."""
        with self.engine.connect() as conn:
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent, safe on every start)."""
        from seedbed.state.migrate import upgrade

        upgrade(self)

    def dispose(self) -> None:
        self.engine.dispose()
