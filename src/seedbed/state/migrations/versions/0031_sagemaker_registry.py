"""SageMaker model registry: model package groups and model packages. A branch of its own.

Revision ID: 0031_sagemaker_registry
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0031_sagemaker_registry"
down_revision = None
branch_labels = ("sagemaker_registry",)

NAME = sa.String(256).with_variant(sa.String(256, collation="C"), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sm_model_package_groups",
        sa.Column("arn", sa.String(512), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("lname", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_by", sa.JSON, nullable=False),
        sa.Column("policy", sa.Text, nullable=True),
        sa.Column("next_version", sa.Integer, nullable=False),
        _ts("created"),
    )
    op.create_index("ix_sm_mpg_name", "sm_model_package_groups", ["account_id", "region", "lname"], unique=True)
    op.create_index("ix_sm_mpg_created", "sm_model_package_groups", ["account_id", "region", "created"])
    op.create_table(
        "sm_model_packages",
        sa.Column("arn", sa.String(512), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("lname", sa.String(64), nullable=False),
        sa.Column("group_lname", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("unversioned_name", sa.String(64), nullable=True),
        sa.Column("approval", sa.String(32), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("approval_description", sa.Text, nullable=True),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("client_token", sa.String(128), nullable=True),
        sa.Column("created_by", sa.JSON, nullable=False),
        sa.Column("modified_by", sa.JSON, nullable=True),
        _ts("created"),
        _ts("modified", nullable=True),
    )
    op.create_index("ix_sm_mp_group", "sm_model_packages", ["account_id", "region", "group_lname", "version"])
    op.create_index("ix_sm_mp_unversioned", "sm_model_packages", ["account_id", "region", "unversioned_name"], unique=True)
    op.create_index("ix_sm_mp_created", "sm_model_packages", ["account_id", "region", "created"])


def downgrade() -> None:
    op.drop_table("sm_model_packages")
    op.drop_table("sm_model_package_groups")
