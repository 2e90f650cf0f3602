"""CodeBuild: projects and builds (the build document and the runner's plan, journaled).

Revision ID: 0051_codebuild
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0051_codebuild"
down_revision = None
branch_labels = ("codebuild",)

NAME = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "codebuild_projects",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("doc", sa.JSON, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.Column("build_counter", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "codebuild_builds",
        sa.Column("build_id", sa.String(512), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("project_name", NAME, nullable=False),
        sa.Column("build_number", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("doc", sa.JSON, nullable=False),
        sa.Column("plan", sa.JSON, nullable=False),
    )
    op.create_index("ix_codebuild_builds_project", "codebuild_builds", ["account_id", "region", "project_name"])
    op.create_index("ix_codebuild_builds_status", "codebuild_builds", ["status"])


def downgrade() -> None:
    op.drop_table("codebuild_builds")
    op.drop_table("codebuild_projects")
