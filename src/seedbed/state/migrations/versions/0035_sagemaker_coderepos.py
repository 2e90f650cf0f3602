"""SageMaker code repositories (CreateCodeRepository and its family).

Revision ID: 0035_sagemaker_coderepos
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0035_sagemaker_coderepos"
down_revision = None
branch_labels = ("sagemaker_coderepos",)

NAME = sa.String(63).with_variant(sa.String(63, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "sm_code_repositories",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("arn", sa.String(256), nullable=False),
        sa.Column("git_config", sa.JSON, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sm_code_repositories")
