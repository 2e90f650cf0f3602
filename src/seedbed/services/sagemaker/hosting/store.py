"""Hosting's tables: models, endpoint configs and endpoints. Only the hosting modules touch them.

Names are unique per account and region regardless of case (SageMaker lower-cases them in ARNs), so
each table is keyed on the lower-cased name and keeps the name as given for display.

An endpoint row is also the journal of its long operation: ``status`` says what is under way
(Creating, Updating, SystemUpdating, RollingBack, Deleting) and ``operation`` holds what the
operation needs to be re-run after a crash (the target config, the deployment config, weights).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Index,
    Row,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    select,
    update,
)

from seedbed.state import columns
from seedbed.state.db import metadata

#: Names sort byte-wise on PostgreSQL too, so sorted listings and page tokens agree with SQLite.
NAME = columns.name_type(64)


_ts = columns.timestamp


models = Table(
    "sm_models",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("name", NAME, nullable=False),
    Column("arn", String(256), nullable=False),
    #: PrimaryContainer/Containers/ExecutionRoleArn/VpcConfig/... as given (resolved images kept).
    Column("spec", JSON, nullable=False),
    _ts("created"),
    Index("ix_sm_models_created", "account_id", "region", "created"),
)

endpoint_configs = Table(
    "sm_endpoint_configs",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("name", NAME, nullable=False),
    Column("arn", String(256), nullable=False),
    Column("spec", JSON, nullable=False),
    _ts("created"),
    Index("ix_sm_endpoint_configs_created", "account_id", "region", "created"),
)

endpoints = Table(
    "sm_endpoints",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("name", NAME, nullable=False),
    Column("arn", String(256), nullable=False),
    Column("config_name", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("failure_reason", Text, nullable=True),
    #: What DescribeEndpoint reports of the serving fleet: ProductionVariants, DataCaptureConfig,
    #: AsyncInferenceConfig, LastDeploymentConfig, and each variant's weight and instance count.
    Column("state", JSON, nullable=False),
    #: The operation under way (its target config and parameters), None when at rest.
    Column("operation", JSON, nullable=True),
    _ts("created"),
    _ts("modified"),
    Index("ix_sm_endpoints_created", "account_id", "region", "created"),
    Index("ix_sm_endpoints_status", "status"),
)


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _key(table: Table, account: str, region: str, name: str) -> Any:
    return and_(table.c.account_id == account, table.c.region == region, table.c.key == name.lower())


def get(conn: Connection, table: Table, account: str, region: str, name: str) -> Row | None:
    return conn.execute(select(table).where(_key(table, account, region, name))).first()


def add(conn: Connection, table: Table, values: dict[str, Any]) -> None:
    conn.execute(insert(table).values(key=values["name"].lower(), **values))


def change(conn: Connection, table: Table, account: str, region: str, name: str, **values: Any) -> None:
    conn.execute(update(table).where(_key(table, account, region, name)).values(**values))


def remove(conn: Connection, table: Table, account: str, region: str, name: str) -> None:
    conn.execute(delete(table).where(_key(table, account, region, name)))


def listing(conn: Connection, table: Table, account: str, region: str) -> list[Row]:
    query = select(table).where(and_(table.c.account_id == account, table.c.region == region))
    return list(conn.execute(query.order_by(table.c.created, table.c.key)))


def endpoints_using_config(conn: Connection, account: str, region: str, config_name: str) -> list[Row]:
    query = select(endpoints).where(and_(endpoints.c.account_id == account, endpoints.c.region == region))
    return [r for r in conn.execute(query) if r.config_name.lower() == config_name.lower()]


def all_endpoints(conn: Connection) -> list[Row]:
    return list(conn.execute(select(endpoints)))
