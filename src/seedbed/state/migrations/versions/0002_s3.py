"""S3: buckets, bucket configuration documents, object versions, multipart uploads and parts.

Revision ID: 0002_s3
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_s3"
down_revision = "0001_core"

KEY = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "s3_buckets",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        _ts("created"),
        sa.Column("versioning", sa.String(16)),
        sa.Column("mfa_delete", sa.String(16)),
        sa.Column("object_lock", sa.Boolean, nullable=False),
    )
    op.create_index("ix_s3_buckets_account", "s3_buckets", ["account_id", "name"])
    op.create_table(
        "s3_bucket_configs",
        sa.Column("bucket", sa.String(63), sa.ForeignKey("s3_buckets.name"), primary_key=True),
        sa.Column("kind", sa.String(40), primary_key=True),
        sa.Column("document", sa.JSON, nullable=False),
    )
    op.create_table(
        "s3_objects",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("bucket", sa.String(63), sa.ForeignKey("s3_buckets.name"), nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("is_latest", sa.Boolean, nullable=False),
        sa.Column("delete_marker", sa.Boolean, nullable=False),
        _ts("last_modified"),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(80), nullable=False),
        sa.Column("owner", sa.String(12), nullable=False),
        sa.Column("storage_class", sa.String(32), nullable=False),
        sa.Column("headers", sa.JSON),
        sa.Column("user_metadata", sa.JSON),
        sa.Column("tags", sa.JSON),
        sa.Column("checksum", sa.JSON),
        sa.Column("encryption", sa.JSON),
        sa.Column("blobs", sa.JSON, nullable=False),
        sa.Column("parts", sa.JSON),
    )
    op.create_index("ux_s3_objects_version", "s3_objects", ["bucket", "key", "version_id"], unique=True)
    op.create_index(
        "ux_s3_objects_latest",
        "s3_objects",
        ["bucket", "key"],
        unique=True,
        sqlite_where=sa.text("is_latest = 1"),
        postgresql_where=sa.text("is_latest"),
    )
    op.create_index("ix_s3_objects_history", "s3_objects", ["bucket", "key", "id"])
    op.create_table(
        "s3_uploads",
        sa.Column("upload_id", sa.String(128), primary_key=True),
        sa.Column("bucket", sa.String(63), sa.ForeignKey("s3_buckets.name"), nullable=False),
        sa.Column("key", KEY, nullable=False),
        _ts("initiated"),
        sa.Column("owner", sa.String(12), nullable=False),
        sa.Column("initiator_arn", sa.String(2048)),
        sa.Column("initiator_id", sa.String(256)),
        sa.Column("storage_class", sa.String(32), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
    )
    op.create_index("ix_s3_uploads_key", "s3_uploads", ["bucket", "key", "initiated"])
    op.create_table(
        "s3_parts",
        sa.Column("upload_id", sa.String(128), sa.ForeignKey("s3_uploads.upload_id"), primary_key=True),
        sa.Column("part_number", sa.Integer, primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(80), nullable=False),
        _ts("last_modified"),
        sa.Column("checksum", sa.JSON),
        sa.Column("blob", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("s3_parts")
    op.drop_index("ix_s3_uploads_key", "s3_uploads")
    op.drop_table("s3_uploads")
    for name in ("ix_s3_objects_history", "ux_s3_objects_latest", "ux_s3_objects_version"):
        op.drop_index(name, "s3_objects")
    op.drop_table("s3_objects")
    op.drop_table("s3_bucket_configs")
    op.drop_index("ix_s3_buckets_account", "s3_buckets")
    op.drop_table("s3_buckets")
