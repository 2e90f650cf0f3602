"""CloudFormation: stacks (also the journal of running operations), resources, events, change
sets and exports. A branch of its own.

Revision ID: 0020_cloudformation
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_cloudformation"
down_revision = None
branch_labels = ("cloudformation",)

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cfn_stacks",
        sa.Column("stack_id", sa.String(512), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("template_body", sa.Text, nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("ssm_resolved", sa.JSON),
        sa.Column("description", sa.Text),
        sa.Column("capabilities", sa.JSON),
        sa.Column("tags", sa.JSON),
        sa.Column("outputs", sa.JSON),
        sa.Column("notification_arns", sa.JSON),
        sa.Column("role_arn", sa.String(2048)),
        sa.Column("disable_rollback", sa.Boolean, nullable=False),
        sa.Column("termination_protection", sa.Boolean, nullable=False),
        sa.Column("timeout_minutes", sa.Integer),
        sa.Column("parent_id", sa.String(512)),
        sa.Column("root_id", sa.String(512)),
        sa.Column("caller", sa.JSON),
        sa.Column("previous", sa.JSON),
        sa.Column("pending", sa.JSON),
        sa.Column("change_set_id", sa.String(512)),
        sa.Column("client_request_token", sa.String(128)),
        sa.Column("imports", sa.JSON),
        sa.Column("lease_owner", sa.String(64)),
        _ts("lease_until"),
        _ts("created", nullable=False),
        _ts("updated"),
        _ts("deleted"),
    )
    op.create_index("ix_cfn_stacks_name", "cfn_stacks", ["account_id", "region", "name"])
    op.create_index("ix_cfn_stacks_status", "cfn_stacks", ["status"])
    op.create_table(
        "cfn_resources",
        sa.Column("stack_id", sa.String(512), primary_key=True),
        sa.Column("logical_id", sa.String(255), primary_key=True),
        sa.Column("type", sa.String(256), nullable=False),
        sa.Column("physical_id", sa.String(2048)),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("properties", sa.JSON),
        sa.Column("attributes", sa.JSON),
        sa.Column("old", sa.JSON),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("deletion_policy", sa.String(32)),
        sa.Column("update_replace_policy", sa.String(32)),
        sa.Column("metadata", sa.JSON),
        _ts("updated", nullable=False),
    )
    op.create_table(
        "cfn_events",
        sa.Column("seq", ID, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("stack_id", sa.String(512), nullable=False),
        sa.Column("stack_name", sa.String(128), nullable=False),
        sa.Column("logical_id", sa.String(255), nullable=False),
        sa.Column("physical_id", sa.String(2048)),
        sa.Column("type", sa.String(256), nullable=False),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("properties", sa.Text),
        sa.Column("client_request_token", sa.String(128)),
        _ts("timestamp", nullable=False),
    )
    op.create_index("ix_cfn_events_stack", "cfn_events", ["stack_id", "seq"])
    op.create_table(
        "cfn_change_sets",
        sa.Column("change_set_id", sa.String(512), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("stack_id", sa.String(512), nullable=False),
        sa.Column("stack_name", sa.String(128), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("change_set_type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("execution_status", sa.String(32), nullable=False),
        sa.Column("template_body", sa.Text, nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("capabilities", sa.JSON),
        sa.Column("tags", sa.JSON),
        sa.Column("notification_arns", sa.JSON),
        sa.Column("role_arn", sa.String(2048)),
        sa.Column("changes", sa.JSON),
        sa.Column("description", sa.Text),
        sa.Column("caller", sa.JSON),
        _ts("created", nullable=False),
    )
    op.create_index("ix_cfn_change_sets_stack", "cfn_change_sets", ["stack_id", "name"])
    op.create_table(
        "cfn_exports",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("stack_id", sa.String(512), nullable=False),
    )


def downgrade() -> None:
    for table in ("cfn_exports", "cfn_change_sets", "cfn_events", "cfn_resources", "cfn_stacks"):
        op.drop_table(table)
