"""CloudWatch's tables: metrics (one row per namespace, name and dimension set), their data
points, metric alarms and alarm history. Only the CloudWatch modules touch them.

A data point row is one ``PutMetricData`` value (``value`` set, weight ``sample_count``) or one
statistic set (``value`` NULL). Sums, counts, minima and maxima aggregate in SQL per period;
percentiles read the raw values of the buckets asked for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    update,
)

from seedbed.state import columns
from seedbed.state.db import metadata

ID = BigInteger().with_variant(Integer, "sqlite")
NAME = columns.name_type(255)

metrics = Table(
    "cw_metrics",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("namespace", NAME, nullable=False),
    Column("name", NAME, nullable=False),
    Column("dims_hash", String(64), nullable=False),
    Column("dims", JSON, nullable=False),
    Column("last_put_ms", BigInteger, nullable=False),
    UniqueConstraint("account_id", "region", "namespace", "name", "dims_hash",
                     name="uq_cw_metrics_identity"),
)

datapoints = Table(
    "cw_datapoints",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("metric_id", BigInteger, nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("unit", String(32), nullable=False),
    Column("resolution", Integer, nullable=False),
    Column("sample_count", Float, nullable=False),
    Column("sum", Float, nullable=False),
    Column("minimum", Float, nullable=False),
    Column("maximum", Float, nullable=False),
    Column("value", Float, nullable=True),
    Index("ix_cw_datapoints_metric", "metric_id", "ts_ms"),
)

alarms = Table(
    "cw_alarms",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("arn", String(1600), nullable=False),
    Column("config", JSON, nullable=False),
    Column("actions_enabled", Boolean, nullable=False),
    Column("state_value", String(32), nullable=False),
    Column("state_reason", Text, nullable=False),
    Column("state_reason_data", Text, nullable=True),
    Column("state_updated", DateTime(timezone=True), nullable=False),
    Column("state_transitioned", DateTime(timezone=True), nullable=False),
    Column("config_updated", DateTime(timezone=True), nullable=False),
    Column("last_evaluated_ms", BigInteger, nullable=True),
    Column("tags", JSON, nullable=False),
)

history = Table(
    "cw_alarm_history",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("alarm_name", NAME, nullable=False),
    Column("alarm_type", String(32), nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("item_type", String(32), nullable=False),
    Column("summary", Text, nullable=False),
    Column("data", Text, nullable=False),
    Index("ix_cw_alarm_history_alarm", "account_id", "region", "alarm_name", "ts"),
)


def now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def dims_key(dimensions: Iterable[dict[str, str]]) -> tuple[str, list[dict[str, str]]]:
    """The hash that names a dimension set (order-insensitive) and the sorted set itself."""
    ordered = sorted(({"Name": d["Name"], "Value": d["Value"]} for d in dimensions),
                     key=lambda d: (d["Name"], d["Value"]))
    text = json.dumps([[d["Name"], d["Value"]] for d in ordered], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest(), ordered


@dataclass(frozen=True)
class Metric:
    id: int
    namespace: str
    name: str
    dims: list[dict[str, str]]
    last_put_ms: int


@dataclass(frozen=True)
class Alarm:
    account_id: str
    region: str
    name: str
    arn: str
    config: dict[str, Any]
    actions_enabled: bool
    state_value: str
    state_reason: str
    state_reason_data: str | None
    state_updated: datetime
    state_transitioned: datetime
    config_updated: datetime
    last_evaluated_ms: int | None
    tags: list[dict[str, str]]


def _alarm(row: Any) -> Alarm:
    data = dict(row._mapping)
    for key in ("state_updated", "state_transitioned", "config_updated"):
        data[key] = _aware(data[key])
    data["actions_enabled"] = bool(data["actions_enabled"])
    data["tags"] = list(data["tags"] or [])
    return Alarm(**data)


# -- metrics and data -------------------------------------------------------------------------------


def metric_id(conn: Connection, account: str, region: str, namespace: str, name: str,
              dims: Iterable[dict[str, str]], put_ms: int | None = None) -> int | None:
    """The metric's id; with ``put_ms`` it is created (or touched) as data arrives."""
    digest, ordered = dims_key(dims)
    where = (metrics.c.account_id == account, metrics.c.region == region,
             metrics.c.namespace == namespace, metrics.c.name == name,
             metrics.c.dims_hash == digest)
    row = conn.execute(select(metrics.c.id, metrics.c.last_put_ms).where(*where)).first()
    if row is not None:
        if put_ms is not None and put_ms > row.last_put_ms:
            conn.execute(update(metrics).where(metrics.c.id == row.id).values(last_put_ms=put_ms))
        return int(row.id)
    if put_ms is None:
        return None
    result = conn.execute(insert(metrics).values(
        account_id=account, region=region, namespace=namespace, name=name, dims_hash=digest,
        dims=ordered, last_put_ms=put_ms))
    return int(result.inserted_primary_key[0])


def insert_datapoints(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(datapoints), list(rows))


def list_metrics(conn: Connection, account: str, region: str, namespace: str | None,
                 name: str | None, after_id: int, since_ms: int, limit: int) -> list[Metric]:
    query = select(metrics).where(metrics.c.account_id == account, metrics.c.region == region,
                                  metrics.c.id > after_id, metrics.c.last_put_ms >= since_ms)
    if namespace:
        query = query.where(metrics.c.namespace == namespace)
    if name:
        query = query.where(metrics.c.name == name)
    rows = conn.execute(query.order_by(metrics.c.id).limit(limit))
    return [Metric(r.id, r.namespace, r.name, list(r.dims), r.last_put_ms) for r in rows]


@dataclass
class Bucket:
    start_ms: int
    unit: str | None
    sample_count: float
    sum: float
    minimum: float
    maximum: float


def aggregate(conn: Connection, metric: int, start_ms: int, end_ms: int, period_s: int,
              unit: str | None, by_unit: bool, shift_ms: int = 0) -> list[Bucket]:
    """SampleCount/Sum/Minimum/Maximum per period in ``[start, end)``; periods start at
    ``shift_ms`` plus a multiple of the period after the epoch."""
    period_ms = period_s * 1000
    bucket = ((datapoints.c.ts_ms - shift_ms) // period_ms).label("bucket")
    cols = [bucket, func.sum(datapoints.c.sample_count), func.sum(datapoints.c.sum),
            func.min(datapoints.c.minimum), func.max(datapoints.c.maximum)]
    group = [bucket]
    if by_unit:
        cols.append(datapoints.c.unit)
        group.append(datapoints.c.unit)
    query = select(*cols).where(datapoints.c.metric_id == metric, datapoints.c.ts_ms >= start_ms,
                                datapoints.c.ts_ms < end_ms)
    if unit:
        query = query.where(datapoints.c.unit == unit)
    out = []
    for row in conn.execute(query.group_by(*group).order_by(bucket)):
        out.append(Bucket(int(row[0]) * period_ms + shift_ms, row[5] if by_unit else unit,
                          float(row[1]), float(row[2]), float(row[3]), float(row[4])))
    return out


def raw_values(conn: Connection, metric: int, start_ms: int, end_ms: int, period_s: int,
               unit: str | None, shift_ms: int = 0) -> dict[int, tuple[list[tuple[float, float]], bool]]:
    """Per bucket start: the ``(value, count)`` pairs, and whether the bucket is complete (no
    statistic sets, which carry no values)."""
    period_ms = period_s * 1000
    query = select(datapoints.c.ts_ms, datapoints.c.value, datapoints.c.sample_count).where(
        datapoints.c.metric_id == metric, datapoints.c.ts_ms >= start_ms,
        datapoints.c.ts_ms < end_ms)
    if unit:
        query = query.where(datapoints.c.unit == unit)
    out: dict[int, tuple[list[tuple[float, float]], bool]] = {}
    for ts, value, count in conn.execute(query):
        key = ((ts - shift_ms) // period_ms) * period_ms + shift_ms
        values, _ = out.setdefault(key, ([], True))
        if value is None:
            out[key] = (values, False)
        else:
            values.append((float(value), float(count)))
    return out


def expire_datapoints(conn: Connection, before_ms: int) -> int:
    return conn.execute(delete(datapoints).where(datapoints.c.ts_ms < before_ms)).rowcount or 0


# -- alarms -----------------------------------------------------------------------------------------


def get_alarm(conn: Connection, account: str, region: str, name: str) -> Alarm | None:
    row = conn.execute(select(alarms).where(alarms.c.account_id == account,
                                            alarms.c.region == region,
                                            alarms.c.name == name)).first()
    return _alarm(row) if row else None


def save_alarm(conn: Connection, alarm: Alarm, new: bool) -> None:
    values = {k: getattr(alarm, k) for k in alarms.c.keys()}  # noqa: SIM118
    if new:
        conn.execute(insert(alarms).values(**values))
    else:
        conn.execute(update(alarms).where(alarms.c.account_id == alarm.account_id,
                                          alarms.c.region == alarm.region,
                                          alarms.c.name == alarm.name).values(**values))


def list_alarms(conn: Connection, account: str, region: str, names: Sequence[str] | None = None,
                prefix: str | None = None, state: str | None = None, after: str | None = None,
                limit: int | None = None) -> list[Alarm]:
    query = select(alarms).where(alarms.c.account_id == account, alarms.c.region == region)
    if names is not None:
        query = query.where(alarms.c.name.in_(list(names)))
    if prefix:
        query = query.where(func.substr(alarms.c.name, 1, len(prefix)) == prefix)
    if state:
        query = query.where(alarms.c.state_value == state)
    if after is not None:
        query = query.where(alarms.c.name > after)
    query = query.order_by(alarms.c.name)
    if limit is not None:
        query = query.limit(limit)
    return [_alarm(r) for r in conn.execute(query)]


def all_alarm_keys(conn: Connection) -> list[tuple[str, str, str]]:
    rows = conn.execute(select(alarms.c.account_id, alarms.c.region, alarms.c.name))
    return [(r[0], r[1], r[2]) for r in rows]


def delete_alarm(conn: Connection, account: str, region: str, name: str) -> None:
    conn.execute(delete(alarms).where(alarms.c.account_id == account, alarms.c.region == region,
                                      alarms.c.name == name))
    conn.execute(delete(history).where(history.c.account_id == account,
                                       history.c.region == region,
                                       history.c.alarm_name == name))


def set_state(conn: Connection, alarm: Alarm, expected: str, state: str, reason: str,
              reason_data: str | None, when: datetime, evaluated_ms: int | None) -> bool:
    """Compare-and-set: move the alarm from ``expected`` to ``state``; False when another
    evaluator (another replica) got there first."""
    values: dict[str, Any] = {"state_value": state, "state_reason": reason,
                              "state_reason_data": reason_data, "state_updated": when}
    if state != expected:
        values["state_transitioned"] = when
    if evaluated_ms is not None:
        values["last_evaluated_ms"] = evaluated_ms
    result = conn.execute(update(alarms).where(
        alarms.c.account_id == alarm.account_id, alarms.c.region == alarm.region,
        alarms.c.name == alarm.name, alarms.c.state_value == expected).values(**values))
    return bool(result.rowcount)


def mark_evaluated(conn: Connection, alarm: Alarm, evaluated_ms: int) -> None:
    conn.execute(update(alarms).where(
        alarms.c.account_id == alarm.account_id, alarms.c.region == alarm.region,
        alarms.c.name == alarm.name).values(last_evaluated_ms=evaluated_ms))


def add_history(conn: Connection, alarm: Alarm, item_type: str, summary: str,
                data: dict[str, Any], when: datetime | None = None) -> None:
    conn.execute(insert(history).values(
        account_id=alarm.account_id, region=alarm.region, alarm_name=alarm.name,
        alarm_type="MetricAlarm", ts=when or now(), item_type=item_type, summary=summary,
        data=json.dumps(data, default=str)))


def list_history(conn: Connection, account: str, region: str, name: str | None,
                 item_type: str | None, start: datetime | None, end: datetime | None,
                 ascending: bool, offset: int, limit: int) -> list[Any]:
    query = select(history).where(history.c.account_id == account, history.c.region == region)
    if name:
        query = query.where(history.c.alarm_name == name)
    if item_type:
        query = query.where(history.c.item_type == item_type)
    if start:
        query = query.where(history.c.ts >= start)
    if end:
        query = query.where(history.c.ts <= end)
    order = [history.c.ts, history.c.id] if ascending else [history.c.ts.desc(), history.c.id.desc()]
    return list(conn.execute(query.order_by(*order).offset(offset).limit(limit)))


def expire_history(conn: Connection, before: datetime) -> None:
    conn.execute(delete(history).where(history.c.ts < before))
