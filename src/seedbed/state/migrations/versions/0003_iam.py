"""IAM: groups, inline and customer managed policies with versions, attachments, tags, instance
profiles, permissions boundaries, the authorizer's decisions; STS session policy ARNs and tags.

Revision ID: 0003_iam
Revises: 0001_core

A branch of its own (label ``iam``) off the core revision whose tables it extends, so that it
lands independently of other services' migrations (``upgrade heads``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_iam"
down_revision = "0001_core"
branch_labels = ("iam",)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("iam_users", sa.Column("permissions_boundary", sa.String(2048)))
    op.add_column("iam_roles", sa.Column("permissions_boundary", sa.String(2048)))
    op.add_column("iam_roles", _ts("last_used", nullable=True))
    op.add_column("sts_sessions", sa.Column("session_policy_arns", sa.Text))
    op.add_column("sts_sessions", sa.Column("transitive_tag_keys", sa.Text))
    op.add_column("sts_sessions", sa.Column("source_identity", sa.String(64)))
    op.create_table(
        "iam_groups",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("group_name", sa.String(128), primary_key=True),
        sa.Column("group_id", sa.String(32), nullable=False, unique=True),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        _ts("created"),
    )
    op.create_table(
        "iam_group_members",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("group_name", sa.String(128), primary_key=True),
        sa.Column("user_name", sa.String(64), primary_key=True),
    )
    op.create_table(
        "iam_inline_policies",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("entity_type", sa.String(16), primary_key=True),
        sa.Column("entity_name", sa.String(128), primary_key=True),
        sa.Column("policy_name", sa.String(128), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
    )
    op.create_table(
        "iam_policies",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("policy_name", sa.String(128), primary_key=True),
        sa.Column("policy_id", sa.String(32), nullable=False, unique=True),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("description", sa.String(1000)),
        sa.Column("default_version_id", sa.String(16), nullable=False),
        sa.Column("next_version", sa.Integer, nullable=False),
        _ts("created"),
        _ts("updated"),
    )
    op.create_table(
        "iam_policy_versions",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("policy_name", sa.String(128), primary_key=True),
        sa.Column("version_id", sa.String(16), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
        _ts("created"),
    )
    op.create_table(
        "iam_attachments",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("entity_type", sa.String(16), primary_key=True),
        sa.Column("entity_name", sa.String(128), primary_key=True),
        sa.Column("policy_arn", sa.String(2048), primary_key=True),
    )
    op.create_table(
        "iam_tags",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("entity_type", sa.String(24), primary_key=True),
        sa.Column("entity_name", sa.String(128), primary_key=True),
        sa.Column("tag_key", sa.String(128), primary_key=True),
        sa.Column("tag_value", sa.String(256), nullable=False),
    )
    op.create_table(
        "iam_instance_profiles",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("profile_name", sa.String(128), primary_key=True),
        sa.Column("profile_id", sa.String(32), nullable=False, unique=True),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        _ts("created"),
    )
    op.create_table(
        "iam_instance_profile_roles",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("profile_name", sa.String(128), primary_key=True),
        sa.Column("role_name", sa.String(64), primary_key=True),
    )
    op.create_table(
        "iam_decisions",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        _ts("time"),
        sa.Column("account_id", sa.String(12)),
        sa.Column("principal_arn", sa.String(2048)),
        sa.Column("action", sa.String(256), nullable=False),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("statements", sa.Text),
    )
    op.create_index("ix_iam_decisions_time", "iam_decisions", ["time"])


def downgrade() -> None:
    op.drop_index("ix_iam_decisions_time", "iam_decisions")
    for table in (
        "iam_decisions",
        "iam_instance_profile_roles",
        "iam_instance_profiles",
        "iam_tags",
        "iam_attachments",
        "iam_policy_versions",
        "iam_policies",
        "iam_inline_policies",
        "iam_group_members",
        "iam_groups",
    ):
        op.drop_table(table)
    with op.batch_alter_table("sts_sessions") as batch:
        for column in ("source_identity", "transitive_tag_keys", "session_policy_arns"):
            batch.drop_column(column)
    with op.batch_alter_table("iam_roles") as batch:
        batch.drop_column("last_used")
        batch.drop_column("permissions_boundary")
    with op.batch_alter_table("iam_users") as batch:
        batch.drop_column("permissions_boundary")
