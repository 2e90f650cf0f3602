"""SageMaker hosting: models, endpoint configs, endpoints (with the journal of their operations).

Revision ID: 0034_sagemaker_hosting
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0034_sagemaker_hosting"
down_revision = None
branch_labels = ("sagemaker_hosting",)

NAME = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _named(table: str, *extra: sa.Column) -> None:
    op.create_table(
        table,
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("name", NAME, nullable=False),
        sa.Column("arn", sa.String(256), nullable=False),
        *extra,
    )
    op.create_index(f"ix_{table}_created", table, ["account_id", "region", "created"])


def upgrade() -> None:
    _named("sm_models", sa.Column("spec", sa.JSON, nullable=False), _ts("created"))
    _named("sm_endpoint_configs", sa.Column("spec", sa.JSON, nullable=False), _ts("created"))
    _named(
        "sm_endpoints",
        sa.Column("config_name", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("operation", sa.JSON, nullable=True),
        _ts("created"),
        _ts("modified"),
    )
    op.create_index("ix_sm_endpoints_status", "sm_endpoints", ["status"])


def downgrade() -> None:
    for table in ("sm_endpoints", "sm_endpoint_configs", "sm_models"):
        op.drop_table(table)
