"""Git hosting: CodeCommit repositories, CodeConnections connections and hosts, workflow runs
and workflow secrets. (The commits live in bare repositories under the data dir.)

Revision ID: 0050_git
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0050_git"
down_revision = None
branch_labels = ("git",)

NAME = sa.String(100).with_variant(sa.String(100, collation="C"), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "codecommit_repositories",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("repository_id", sa.String(36), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("kms_key_id", sa.String(2048), nullable=True),
        _ts("created"),
        _ts("modified"),
        sa.Column("triggers", sa.JSON, nullable=False),
        sa.Column("triggers_id", sa.String(36), nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
    )
    op.create_table(
        "codeconn_connections",
        sa.Column("connection_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("provider_type", sa.String(32), nullable=False),
        sa.Column("host_arn", sa.String(256), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        _ts("created"),
    )
    op.create_index("ix_codeconn_connections_account_id", "codeconn_connections", ["account_id"])
    op.create_table(
        "codeconn_hosts",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("host_id", sa.String(80), primary_key=True),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("provider_type", sa.String(32), nullable=False),
        sa.Column("endpoint", sa.String(512), nullable=False),
        sa.Column("vpc", sa.JSON, nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        _ts("created"),
    )
    op.create_table(
        "workflow_runs",
        sa.Column("run_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("repository", sa.String(256), nullable=False),
        sa.Column("run_number", sa.Integer, nullable=False),
        sa.Column("workflow", sa.String(512), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("conclusion", sa.String(16), nullable=True),
        _ts("created"),
        _ts("updated"),
        sa.Column("doc", sa.JSON, nullable=False),
    )
    op.create_index("ix_workflow_runs_repository", "workflow_runs", ["account_id", "region", "repository"])
    op.create_index("ix_workflow_runs_status", "workflow_runs", ["status"])
    op.create_table(
        "workflow_secrets",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("repository", sa.String(256), primary_key=True),
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        _ts("updated"),
    )


def downgrade() -> None:
    for table in ("workflow_secrets", "workflow_runs", "codeconn_hosts", "codeconn_connections", "codecommit_repositories"):
        op.drop_table(table)
