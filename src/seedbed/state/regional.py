"""Reads and writes of a table whose rows are named per account and region: the shape of most
regional AWS resources (a repository, a host), written once instead of in every store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from sqlalchemy import Connection, Row, Table, and_, delete, insert, select, update


def aware(out: dict[str, Any], *keys: str) -> dict[str, Any]:
    """``out`` with its timestamp ``keys`` made timezone-aware (SQLite hands them back naive)."""
    for key in keys:
        value = out.get(key)
        if value is not None and value.tzinfo is None:
            out[key] = value.replace(tzinfo=UTC)
    return out


class RegionalTable:
    """CRUD on ``table`` keyed by (account_id, region, ``key``); rows come back as dicts made by
    ``convert`` (the timestamps ``created`` and ``modified`` made aware, by default)."""

    def __init__(self, table: Table, key: str = "name",
                 convert: Callable[[Row], dict[str, Any]] | None = None,
                 order_by: tuple[str, ...] = ()) -> None:
        self.table = table
        self.key = key
        self.convert = convert or (lambda row: aware(dict(row._mapping), "created", "modified"))
        self.order_by = order_by

    def where(self, account_id: str, region: str, name: str) -> Any:
        c = self.table.c
        return and_(c.account_id == account_id, c.region == region, c[self.key] == name)

    def get(self, conn: Connection, account_id: str, region: str, name: str) -> dict[str, Any] | None:
        row = conn.execute(select(self.table).where(self.where(account_id, region, name))).first()
        return self.convert(row) if row else None

    def list_all(self, conn: Connection, account_id: str, region: str) -> list[dict[str, Any]]:
        c = self.table.c
        query = select(self.table).where(and_(c.account_id == account_id, c.region == region))
        if self.order_by:
            query = query.order_by(*(c[name] for name in self.order_by))
        return [self.convert(row) for row in conn.execute(query)]

    def add(self, conn: Connection, **values: Any) -> None:
        conn.execute(insert(self.table).values(**values))

    def change(self, conn: Connection, account_id: str, region: str, name: str, /, **values: Any) -> None:
        """Set ``values`` on the row (they may rename it: ``name`` here is the current one)."""
        conn.execute(update(self.table).where(self.where(account_id, region, name)).values(**values))

    def remove(self, conn: Connection, account_id: str, region: str, name: str) -> None:
        conn.execute(delete(self.table).where(self.where(account_id, region, name)))
