"""EventBridge: event buses, rules, targets, tags, and the delivery journal (pending and failed
deliveries). A branch of its own (``upgrade heads``).

Revision ID: 0041_events
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0041_events"
down_revision = None
branch_labels = ("events",)

NAME = sa.String(256).with_variant(sa.String(256, collation="C"), "postgresql")
RULE_NAME = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "events_buses",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("description", sa.String(512), nullable=True),
        sa.Column("kms_key", sa.String(2048), nullable=True),
        sa.Column("dead_letter", sa.JSON, nullable=True),
        sa.Column("log_config", sa.JSON, nullable=True),
        sa.Column("policy", sa.Text, nullable=True),
        _ts("created"),
        _ts("modified"),
    )
    op.create_table(
        "events_rules",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("bus", NAME, primary_key=True),
        sa.Column("name", RULE_NAME, primary_key=True),
        sa.Column("event_pattern", sa.Text, nullable=True),
        sa.Column("schedule", sa.String(256), nullable=True),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("description", sa.String(512), nullable=True),
        sa.Column("role_arn", sa.String(1600), nullable=True),
        sa.Column("managed_by", sa.String(128), nullable=True),
        sa.Column("created_by", sa.String(12), nullable=False),
        _ts("created"),
        _ts("modified"),
    )
    op.create_table(
        "events_targets",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("bus", NAME, primary_key=True),
        sa.Column("rule", RULE_NAME, primary_key=True),
        sa.Column("target_id", sa.String(64), primary_key=True),
        sa.Column("arn", sa.String(1600), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_events_targets_arn", "events_targets", ["account_id", "region", "arn"])
    op.create_table(
        "events_tags",
        sa.Column("arn", sa.String(1600), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_table(
        "events_deliveries",
        sa.Column("delivery_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("bus", sa.String(256), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("rule_arn", sa.String(1600), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("target_arn", sa.String(1600), nullable=False),
        sa.Column("target", sa.JSON, nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error_code", sa.String(128), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("dead_letter_arn", sa.String(1600), nullable=True),
        _ts("created"),
        _ts("updated"),
    )
    op.create_index(
        "ix_events_deliveries_status", "events_deliveries", ["status", "account_id", "region"]
    )


def downgrade() -> None:
    for table in (
        "events_deliveries", "events_tags", "events_targets", "events_rules", "events_buses"
    ):
        op.drop_table(table)
