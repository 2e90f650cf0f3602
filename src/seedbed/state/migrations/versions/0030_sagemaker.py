"""SageMaker: domains, user profiles, projects, tags on SageMaker ARNs, presigned Studio logins.
A branch of its own (``upgrade heads``); later SageMaker issues chain onto it.

Revision ID: 0030_sagemaker
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0030_sagemaker"
down_revision = None
branch_labels = ("sagemaker",)

NAME = sa.String(256).with_variant(sa.String(256, collation="C"), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sm_domains",
        sa.Column("domain_id", sa.String(16), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("arn", sa.String(256), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("auth_mode", sa.String(8), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        _ts("created"),
        _ts("modified"),
    )
    op.create_index("ix_sm_domains_account", "sm_domains", ["account_id", "region"])
    op.create_table(
        "sm_user_profiles",
        sa.Column("domain_id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("arn", sa.String(512), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        _ts("created"),
        _ts("modified"),
    )
    op.create_table(
        "sm_tags",
        sa.Column("arn", sa.String(512), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
        _ts("created"),
    )
    op.create_table(
        "sm_projects",
        sa.Column("project_id", sa.String(20), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("live_name", sa.String(64), nullable=True),
        sa.Column("arn", sa.String(512), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text, nullable=True),
        sa.Column("providers", sa.JSON, nullable=False),
        sa.Column("stack_name", sa.String(128), nullable=True),
        sa.Column("stack_id", sa.String(512), nullable=True),
        sa.Column("stack_status", sa.String(64), nullable=True),
        sa.Column("template_version", sa.JSON, nullable=True),
        sa.Column("outputs", sa.JSON, nullable=True),
        sa.Column("retained", sa.JSON, nullable=True),
        sa.Column("created_by", sa.JSON, nullable=False),
        sa.Column("modified_by", sa.JSON, nullable=True),
        sa.Column("caller", sa.JSON, nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False),
        _ts("created"),
        _ts("modified", nullable=True),
    )
    op.create_index("ix_sm_projects_live", "sm_projects", ["account_id", "region", "live_name"], unique=True)
    op.create_index("ix_sm_projects_created", "sm_projects", ["account_id", "region", "deleted", "created", "project_id"])
    op.create_index("ix_sm_projects_name", "sm_projects", ["account_id", "region", "deleted", "live_name"])
    op.create_index("ix_sm_projects_status", "sm_projects", ["status"])
    op.create_table(
        "sm_presigned_urls",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("domain_id", sa.String(16), nullable=False),
        sa.Column("user_profile", sa.String(63), nullable=False),
        sa.Column("space", sa.String(63), nullable=True),
        sa.Column("landing_uri", sa.String(1023), nullable=True),
        _ts("expires"),
        sa.Column("session_seconds", sa.String(16), nullable=False),
        sa.Column("used", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    for table in ("sm_presigned_urls", "sm_projects", "sm_tags", "sm_user_profiles", "sm_domains"):
        op.drop_table(table)
