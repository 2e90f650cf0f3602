"""CloudWatch Logs: log groups, log streams, log events. A branch of its own.

Revision ID: 0042_logs
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0042_logs"
down_revision = None
branch_labels = ("logs",)

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
NAME = sa.String(512).with_variant(sa.String(512, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "logs_groups",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=True),
        sa.Column("kms_key_id", sa.String(256), nullable=True),
        sa.Column("log_group_class", sa.String(32), nullable=False),
        sa.Column("deletion_protection", sa.Boolean, nullable=False),
        sa.Column("stored_bytes", sa.BigInteger, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.UniqueConstraint("account_id", "region", "name", name="uq_logs_groups_name"),
    )
    op.create_table(
        "logs_streams",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("group_id", sa.BigInteger, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("first_event_ms", sa.BigInteger, nullable=True),
        sa.Column("last_event_ms", sa.BigInteger, nullable=True),
        sa.Column("last_ingestion_ms", sa.BigInteger, nullable=True),
        sa.Column("stored_bytes", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("group_id", "name", name="uq_logs_streams_name"),
    )
    op.create_index("ix_logs_streams_last_event", "logs_streams", ["group_id", "last_event_ms"])
    op.create_table(
        "logs_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("group_id", sa.BigInteger, nullable=False),
        sa.Column("stream_id", sa.BigInteger, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("ingestion_ms", sa.BigInteger, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_logs_events_stream", "logs_events", ["stream_id", "ts", "id"])
    op.create_index("ix_logs_events_group", "logs_events", ["group_id", "ts", "id"])


def downgrade() -> None:
    op.drop_table("logs_events")
    op.drop_table("logs_streams")
    op.drop_table("logs_groups")
