"""CodeBuild: report groups and the test and code coverage reports builds write into them.

Revision ID: 0053_codebuild_reports
Revises: 0051_codebuild
"""

import sqlalchemy as sa
from alembic import op

revision = "0053_codebuild_reports"
down_revision = "0051_codebuild"
branch_labels = None

NAME = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "codebuild_report_groups",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("arn", sa.String(2048), nullable=False, unique=True),
        sa.Column("doc", sa.JSON, nullable=False),
    )
    op.create_table(
        "codebuild_reports",
        sa.Column("arn", sa.String(2048), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("group_arn", sa.String(2048), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("doc", sa.JSON, nullable=False),
        sa.Column("entries", sa.JSON, nullable=False),
    )
    op.create_index("ix_codebuild_reports_group", "codebuild_reports", ["group_arn", "created"])
    op.create_index("ix_codebuild_reports_account", "codebuild_reports", ["account_id", "region", "created"])


def downgrade() -> None:
    op.drop_table("codebuild_reports")
    op.drop_table("codebuild_report_groups")
