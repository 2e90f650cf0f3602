"""SageMaker model monitoring: job definitions, monitoring schedules and their executions.

Revision ID: 0036_sagemaker_monitoring
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0036_sagemaker_monitoring"
down_revision = None
branch_labels = ("sagemaker_monitoring",)

NAME = sa.String(63).with_variant(sa.String(63, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "sm_monitoring_job_definitions",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("arn", sa.String(256), nullable=False),
        sa.Column("endpoint_name", sa.String(63), nullable=True),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sm_monitoring_schedules",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("arn", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("monitoring_type", sa.String(32), nullable=False),
        sa.Column("definition_name", sa.String(63), nullable=True),
        sa.Column("endpoint_name", sa.String(63), nullable=True),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("next_run", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sm_monitoring_executions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("schedule_name", sa.String(63), nullable=False),
        sa.Column("scheduled", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("processing_job_arn", sa.String(256), nullable=True),
        sa.Column("failure_reason", sa.Text, nullable=True),
        sa.Column("endpoint_name", sa.String(63), nullable=True),
        sa.Column("definition_name", sa.String(63), nullable=True),
        sa.Column("monitoring_type", sa.String(32), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("account_id", "region", "schedule_name", "scheduled", name="uq_sm_monitoring_execution_time"),
    )
    op.create_index("ix_sm_monitoring_executions_status", "sm_monitoring_executions", ["status"])


def downgrade() -> None:
    op.drop_index("ix_sm_monitoring_executions_status", table_name="sm_monitoring_executions")
    op.drop_table("sm_monitoring_executions")
    op.drop_table("sm_monitoring_schedules")
    op.drop_table("sm_monitoring_job_definitions")
