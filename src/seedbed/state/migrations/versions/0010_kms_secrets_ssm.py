"""KMS keys, key material and aliases; Secrets Manager secrets and versions; SSM parameters.

A branch of its own (``upgrade heads``), so these services land independently of the others.

Revision ID: 0010_kms_secrets_ssm
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_kms_secrets_ssm"
down_revision = None
branch_labels = ("kms_secrets_ssm",)

#: Parameter names sort byte-wise on PostgreSQL too, so pagination tokens mean the same everywhere.
NAME = sa.String(2048).with_variant(sa.String(2048, collation="C"), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "kms_keys",
        sa.Column("key_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("key_usage", sa.String(32), nullable=False),
        sa.Column("key_spec", sa.String(32), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("manager", sa.String(16), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        _ts("created"),
        _ts("deletion_date", nullable=True),
        sa.Column("pending_window_days", sa.Integer),
        sa.Column("rotation_enabled", sa.Boolean, nullable=False),
        sa.Column("rotation_period_days", sa.Integer),
        _ts("next_rotation", nullable=True),
        sa.Column("current_material", sa.Integer, nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
    )
    op.create_index("ix_kms_keys_account", "kms_keys", ["account_id", "region"])
    op.create_table(
        "kms_key_material",
        sa.Column("key_id", sa.String(36), sa.ForeignKey("kms_keys.key_id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        _ts("created"),
        sa.Column("rotation_type", sa.String(16)),
    )
    op.create_table(
        "kms_aliases",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("alias_name", sa.String(256), primary_key=True),
        sa.Column("key_id", sa.String(36), sa.ForeignKey("kms_keys.key_id"), nullable=False),
        _ts("created"),
        _ts("updated"),
    )
    op.create_index("ix_kms_aliases_key", "kms_aliases", ["key_id"])

    op.create_table(
        "secretsmanager_secrets",
        sa.Column("arn", sa.String(2048), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("kms_key_id", sa.String(2048)),
        sa.Column("secret_type", sa.String(256)),
        _ts("created"),
        _ts("last_changed"),
        _ts("last_accessed", nullable=True),
        _ts("deleted_date", nullable=True),
        _ts("deletion_date", nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("policy", sa.Text),
    )
    op.create_index(
        "ux_secretsmanager_secrets_name",
        "secretsmanager_secrets",
        ["account_id", "region", "name"],
        unique=True,
    )
    op.create_table(
        "secretsmanager_versions",
        sa.Column(
            "secret_arn",
            sa.String(2048),
            sa.ForeignKey("secretsmanager_secrets.arn"),
            primary_key=True,
        ),
        sa.Column("version_id", sa.String(64), primary_key=True),
        _ts("created"),
        _ts("last_accessed", nullable=True),
        sa.Column("stages", sa.JSON, nullable=False),
        sa.Column("value_kind", sa.String(8), nullable=False),
        sa.Column("key_arn", sa.String(2048), nullable=False),
        sa.Column("data_key", sa.LargeBinary, nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
    )

    op.create_table(
        "ssm_parameters",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("param_type", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(2048)),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("data_type", sa.String(128), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("allowed_pattern", sa.Text),
        sa.Column("policies", sa.Text),
        _ts("last_modified"),
        sa.Column("last_modified_user", sa.String(2048), nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
    )
    op.create_table(
        "ssm_parameter_versions",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("version", sa.BigInteger, primary_key=True),
        sa.Column("param_type", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(2048)),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("data_type", sa.String(128), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("allowed_pattern", sa.Text),
        sa.Column("policies", sa.Text),
        sa.Column("labels", sa.JSON, nullable=False),
        _ts("last_modified"),
        sa.Column("last_modified_user", sa.String(2048), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ssm_parameter_versions")
    op.drop_table("ssm_parameters")
    op.drop_table("secretsmanager_versions")
    op.drop_index("ux_secretsmanager_secrets_name", "secretsmanager_secrets")
    op.drop_table("secretsmanager_secrets")
    op.drop_index("ix_kms_aliases_key", "kms_aliases")
    op.drop_table("kms_aliases")
    op.drop_table("kms_key_material")
    op.drop_index("ix_kms_keys_account", "kms_keys")
    op.drop_table("kms_keys")
