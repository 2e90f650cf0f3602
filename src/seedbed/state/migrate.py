"""Schema migrations with Alembic, configured in code so no ini file has to be found at run time."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from seedbed.state.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["engine"] = db.engine
    return cfg


def upgrade(db: Database, revision: str = "heads") -> None:
    """Apply pending migrations. Concurrent starters are serialized by the database's own locks.

    ``heads``: a service may keep its migrations on a branch of its own (``down_revision = None``
    and a ``branch_labels`` entry), so services that land in parallel need no shared chain.
    """
    command.upgrade(alembic_config(db), revision)


def current_heads(db: Database) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
