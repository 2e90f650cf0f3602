"""Column types that every service's tables share, so both databases behave the same."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, String
from sqlalchemy.types import TypeEngine


def name_type(length: int) -> TypeEngine:
    """A name column that compares byte-wise on PostgreSQL too (collation "C"), so ordering and
    page tokens agree with SQLite's."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def timestamp(name: str, nullable: bool = False) -> Column:
    """A timezone-aware timestamp column."""
    return Column(name, DateTime(timezone=True), nullable=nullable)
