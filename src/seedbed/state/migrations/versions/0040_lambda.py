"""Lambda: functions, versions, aliases, resource policies, and the asynchronous invocation queue.
A branch of its own (``upgrade heads``).

Revision ID: 0040_lambda
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0040_lambda"
down_revision = None
branch_labels = ("lambda",)

NAME = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _key() -> list[sa.Column]:
    return [
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
    ]


def upgrade() -> None:
    op.create_table(
        "lambda_functions",
        *_key(),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("last_version", sa.Integer, nullable=False),
        _ts("created"),
    )
    op.create_table(
        "lambda_versions",
        *_key(),
        sa.Column("version", sa.String(16), primary_key=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("code_key", sa.String(1024), nullable=False),
        sa.Column("code_hex", sa.String(64), nullable=False),
        _ts("created"),
    )
    op.create_table(
        "lambda_aliases",
        *_key(),
        sa.Column("alias", sa.String(128), primary_key=True),
        sa.Column("function_version", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("routing", sa.JSON, nullable=True),
        sa.Column("revision_id", sa.String(36), nullable=False),
    )
    op.create_table(
        "lambda_policies",
        *_key(),
        sa.Column("qualifier", sa.String(128), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("revision_id", sa.String(36), nullable=False),
    )
    op.create_table(
        "lambda_event_queue",
        sa.Column("request_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("qualifier", sa.String(128), nullable=True),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        _ts("due"),
        _ts("claimed_until", nullable=True),
        _ts("created"),
    )


def downgrade() -> None:
    for table in ("lambda_event_queue", "lambda_policies", "lambda_aliases", "lambda_versions", "lambda_functions"):
        op.drop_table(table)
