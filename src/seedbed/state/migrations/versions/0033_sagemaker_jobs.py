"""SageMaker processing, training and transform jobs (issue #7). A branch of its own.

Revision ID: 0033_sagemaker_jobs
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0033_sagemaker_jobs"
down_revision = None
branch_labels = ("sagemaker_jobs",)

NAME = sa.String(256).with_variant(sa.String(256, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "sm_jobs",
        sa.Column("arn", sa.String(512), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("secondary_status", sa.String(32), nullable=True),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("exit_message", sa.Text, nullable=True),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
    )
    op.create_index("ix_sm_jobs_name", "sm_jobs", ["account_id", "region", "kind", "name"])
    op.create_index("ix_sm_jobs_created", "sm_jobs", ["account_id", "region", "kind", "created"])
    op.create_index("ix_sm_jobs_status", "sm_jobs", ["status"])


def downgrade() -> None:
    op.drop_table("sm_jobs")
