"""SageMaker Pipelines: pipelines, their definition versions, executions and the step journal.
A branch of its own.

Revision ID: 0032_sagemaker_pipelines
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0032_sagemaker_pipelines"
down_revision = None
branch_labels = ("sagemaker_pipelines",)

NAME = sa.String(256).with_variant(sa.String(256, collation="C"), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sm_pipelines",
        sa.Column("arn", sa.String(512), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("lname", sa.String(256), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("role_arn", sa.String(2048), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("parallelism", sa.JSON, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("client_token", sa.String(128), nullable=True),
        sa.Column("created_by", sa.JSON, nullable=False),
        sa.Column("modified_by", sa.JSON, nullable=True),
        _ts("created"),
        _ts("modified"),
        _ts("last_run", nullable=True),
    )
    op.create_index("ix_sm_pipelines_name", "sm_pipelines", ["account_id", "region", "lname"], unique=True)
    op.create_table(
        "sm_pipeline_versions",
        sa.Column("pipeline_arn", sa.String(512), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("definition", sa.Text, nullable=False),
        _ts("created"),
    )
    op.create_table(
        "sm_pipeline_executions",
        sa.Column("arn", sa.String(512), primary_key=True),
        sa.Column("execution_id", sa.String(32), nullable=False),
        sa.Column("pipeline_arn", sa.String(512), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("role_arn", sa.String(2048), nullable=False),
        sa.Column("parallelism", sa.JSON, nullable=True),
        sa.Column("selective", sa.JSON, nullable=True),
        sa.Column("client_token", sa.String(128), nullable=True),
        sa.Column("created_by", sa.JSON, nullable=False),
        sa.Column("modified_by", sa.JSON, nullable=True),
        _ts("created"),
        _ts("modified"),
    )
    op.create_index("ix_sm_pexec_pipeline", "sm_pipeline_executions", ["pipeline_arn", "created"])
    op.create_index("ix_sm_pexec_status", "sm_pipeline_executions", ["status"])
    op.create_table(
        "sm_pipeline_steps",
        sa.Column("execution_arn", sa.String(512), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("pipeline_arn", sa.String(512), nullable=False),
        sa.Column("step_type", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("metadata", sa.JSON, nullable=True),
        sa.Column("properties", sa.JSON, nullable=True),
        sa.Column("job", sa.JSON, nullable=True),
        sa.Column("cache_key", sa.String(64), nullable=True),
        sa.Column("cache_hit", sa.JSON, nullable=True),
        sa.Column("selective_result", sa.JSON, nullable=True),
        sa.Column("callback_token", sa.String(64), nullable=True),
        sa.Column("seq", sa.Integer, nullable=False),
        _ts("started", nullable=True),
        _ts("ended", nullable=True),
    )
    op.create_index("ix_sm_psteps_cache", "sm_pipeline_steps", ["pipeline_arn", "cache_key"])
    op.create_index("ix_sm_psteps_token", "sm_pipeline_steps", ["callback_token"])


def downgrade() -> None:
    for table in ("sm_pipeline_steps", "sm_pipeline_executions", "sm_pipeline_versions", "sm_pipelines"):
        op.drop_table(table)
