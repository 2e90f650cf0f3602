"""Persistent state: the SQLAlchemy engine, migrations, ids and ARNs."""
