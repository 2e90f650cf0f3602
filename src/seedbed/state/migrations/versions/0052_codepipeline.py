"""CodePipeline: pipelines, executions and action executions (journaled).

Revision ID: 0052_codepipeline
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0052_codepipeline"
down_revision = None
branch_labels = ("codepipeline",)

NAME = sa.String(100).with_variant(sa.String(100, collation="C"), "postgresql")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "codepipeline_pipelines",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("declaration", sa.JSON, nullable=False),
        _ts("created"),
        _ts("updated"),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("transitions", sa.JSON, nullable=False),
    )
    op.create_table(
        "codepipeline_executions",
        sa.Column("execution_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("pipeline_name", NAME, nullable=False),
        sa.Column("pipeline_version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_summary", sa.Text, nullable=True),
        _ts("started"),
        _ts("updated"),
        sa.Column("doc", sa.JSON, nullable=False),
    )
    op.create_index("ix_codepipeline_executions_pipeline", "codepipeline_executions",
                    ["account_id", "region", "pipeline_name"])
    op.create_index("ix_codepipeline_executions_status", "codepipeline_executions", ["status"])
    op.create_table(
        "codepipeline_actions",
        sa.Column("action_execution_id", sa.String(36), primary_key=True),
        sa.Column("execution_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("pipeline_name", NAME, nullable=False),
        sa.Column("stage_name", sa.String(100), nullable=False),
        sa.Column("action_name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("started"),
        _ts("updated"),
        sa.Column("token", sa.String(64), nullable=True),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("doc", sa.JSON, nullable=False),
    )
    op.create_index("ix_codepipeline_actions_execution", "codepipeline_actions", ["execution_id"])
    op.create_index("ix_codepipeline_actions_pipeline", "codepipeline_actions", ["account_id", "region", "pipeline_name"])
    op.create_index("ix_codepipeline_actions_job", "codepipeline_actions", ["job_id"])


def downgrade() -> None:
    op.drop_table("codepipeline_actions")
    op.drop_table("codepipeline_executions")
    op.drop_table("codepipeline_pipelines")
