"""Core tables: IAM users, roles and access keys; STS sessions; the CloudTrail audit trail.

Revision ID: 0001_core
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_core"
down_revision = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "iam_users",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("user_name", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(32), nullable=False, unique=True),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        _ts("created"),
    )
    op.create_table(
        "iam_roles",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("role_name", sa.String(64), primary_key=True),
        sa.Column("role_id", sa.String(32), nullable=False, unique=True),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("assume_role_policy", sa.Text, nullable=False),
        sa.Column("description", sa.String(1000)),
        sa.Column("max_session_duration", sa.Integer, nullable=False),
        _ts("created"),
    )
    op.create_table(
        "iam_access_keys",
        sa.Column("access_key_id", sa.String(32), primary_key=True),
        sa.Column("secret_access_key", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("user_name", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created"),
    )
    op.create_table(
        "sts_sessions",
        sa.Column("access_key_id", sa.String(32), primary_key=True),
        sa.Column("secret_access_key", sa.String(64), nullable=False),
        sa.Column("session_token", sa.Text, nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("principal_arn", sa.String(2048), nullable=False),
        sa.Column("principal_id", sa.String(128), nullable=False),
        sa.Column("principal_type", sa.String(32), nullable=False),
        sa.Column("role_arn", sa.String(2048)),
        sa.Column("source_access_key_id", sa.String(32)),
        sa.Column("session_policy", sa.Text),
        sa.Column("tags", sa.Text),
        _ts("expiration"),
        _ts("created"),
    )
    op.create_table(
        "cloudtrail_events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        _ts("event_time"),
        sa.Column("event_source", sa.String(128), nullable=False),
        sa.Column("event_name", sa.String(128), nullable=False),
        sa.Column("aws_region", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(12)),
        sa.Column("principal_arn", sa.String(2048)),
        sa.Column("principal_type", sa.String(32)),
        sa.Column("access_key_id", sa.String(32)),
        sa.Column("user_name", sa.String(256)),
        sa.Column("source_ip", sa.String(64)),
        sa.Column("user_agent", sa.String(1024)),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("read_only", sa.Boolean, nullable=False),
        sa.Column("error_code", sa.String(128)),
        sa.Column("error_message", sa.Text),
        sa.Column("request_parameters", sa.Text),
        sa.Column("resources", sa.Text),
    )
    op.create_index("ix_cloudtrail_events_time", "cloudtrail_events", ["event_time"])


def downgrade() -> None:
    op.drop_index("ix_cloudtrail_events_time", "cloudtrail_events")
    for table in ("cloudtrail_events", "sts_sessions", "iam_access_keys", "iam_roles", "iam_users"):
        op.drop_table(table)
