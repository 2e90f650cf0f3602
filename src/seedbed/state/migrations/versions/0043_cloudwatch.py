"""CloudWatch: metrics, data points, metric alarms and alarm history. A branch of its own.

Revision ID: 0043_cloudwatch
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0043_cloudwatch"
down_revision = None
branch_labels = ("cloudwatch",)

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
NAME = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "cw_metrics",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("namespace", NAME, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("dims_hash", sa.String(64), nullable=False),
        sa.Column("dims", sa.JSON, nullable=False),
        sa.Column("last_put_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("account_id", "region", "namespace", "name", "dims_hash",
                            name="uq_cw_metrics_identity"),
    )
    op.create_table(
        "cw_datapoints",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("metric_id", sa.BigInteger, nullable=False),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("resolution", sa.Integer, nullable=False),
        sa.Column("sample_count", sa.Float, nullable=False),
        sa.Column("sum", sa.Float, nullable=False),
        sa.Column("minimum", sa.Float, nullable=False),
        sa.Column("maximum", sa.Float, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
    )
    op.create_index("ix_cw_datapoints_metric", "cw_datapoints", ["metric_id", "ts_ms"])
    op.create_table(
        "cw_alarms",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("arn", sa.String(1600), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("actions_enabled", sa.Boolean, nullable=False),
        sa.Column("state_value", sa.String(32), nullable=False),
        sa.Column("state_reason", sa.Text, nullable=False),
        sa.Column("state_reason_data", sa.Text, nullable=True),
        _ts("state_updated"),
        _ts("state_transitioned"),
        _ts("config_updated"),
        sa.Column("last_evaluated_ms", sa.BigInteger, nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
    )
    op.create_table(
        "cw_alarm_history",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("alarm_name", NAME, nullable=False),
        sa.Column("alarm_type", sa.String(32), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("item_type", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_cw_alarm_history_alarm", "cw_alarm_history",
                    ["account_id", "region", "alarm_name", "ts"])


def downgrade() -> None:
    op.drop_table("cw_alarm_history")
    op.drop_table("cw_alarms")
    op.drop_table("cw_datapoints")
    op.drop_table("cw_metrics")
