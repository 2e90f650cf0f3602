"""EventBridge's tables: event buses (with their resource policy), rules, targets, tags, and the
delivery journal. Only the events modules touch them.

The journal (``events_deliveries``) holds one row per (event, rule, target) while the delivery
is under way (``PENDING``: a crash leaves it there and the provider resumes it) and keeps the
deliveries that failed for good (``FAILED``: rule, target, event, error, attempts, dead-letter
ARN), which is where a user looks for events that never reached their target
(:func:`failed_deliveries`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)

from seedbed.state import columns
from seedbed.state.db import metadata

NAME = columns.name_type(256)
RULE_NAME = columns.name_type(64)

buses = Table(
    "events_buses",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("description", String(512), nullable=True),
    Column("kms_key", String(2048), nullable=True),
    Column("dead_letter", JSON, nullable=True),
    Column("log_config", JSON, nullable=True),
    Column("policy", Text, nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("modified", DateTime(timezone=True), nullable=False),
)

rules = Table(
    "events_rules",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("bus", NAME, primary_key=True),
    Column("name", RULE_NAME, primary_key=True),
    Column("event_pattern", Text, nullable=True),
    Column("schedule", String(256), nullable=True),
    Column("state", String(64), nullable=False),
    Column("description", String(512), nullable=True),
    Column("role_arn", String(1600), nullable=True),
    Column("managed_by", String(128), nullable=True),
    Column("created_by", String(12), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("modified", DateTime(timezone=True), nullable=False),
)

targets = Table(
    "events_targets",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("bus", NAME, primary_key=True),
    Column("rule", RULE_NAME, primary_key=True),
    Column("target_id", String(64), primary_key=True),
    Column("arn", String(1600), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Index("ix_events_targets_arn", "account_id", "region", "arn"),
)

tags = Table(
    "events_tags",
    metadata,
    Column("arn", String(1600), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
)

deliveries = Table(
    "events_deliveries",
    metadata,
    Column("delivery_id", String(36), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("bus", String(256), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("rule_arn", String(1600), nullable=False),
    Column("target_id", String(64), nullable=False),
    Column("target_arn", String(1600), nullable=False),
    Column("target", JSON, nullable=False),
    Column("event", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error_code", String(128), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("dead_letter_arn", String(1600), nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    Index("ix_events_deliveries_status", "status", "account_id", "region"),
)

PENDING = "PENDING"
FAILED = "FAILED"


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Bus:
    account_id: str
    region: str
    name: str
    description: str | None
    kms_key: str | None
    dead_letter: dict[str, Any] | None
    log_config: dict[str, Any] | None
    policy: str | None
    created: datetime
    modified: datetime


@dataclass(frozen=True)
class Rule:
    account_id: str
    region: str
    bus: str
    name: str
    event_pattern: str | None
    schedule: str | None
    state: str
    description: str | None
    role_arn: str | None
    managed_by: str | None
    created_by: str
    created: datetime
    modified: datetime

    @property
    def enabled(self) -> bool:
        return self.state != "DISABLED"


@dataclass(frozen=True)
class Target:
    rule: str
    target_id: str
    arn: str
    spec: dict[str, Any]


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    account_id: str
    region: str
    bus: str
    rule: str
    rule_arn: str
    target_id: str
    target_arn: str
    target: dict[str, Any]
    event: str
    status: str
    attempts: int
    error_code: str | None
    error_message: str | None
    dead_letter_arn: str | None
    created: datetime
    updated: datetime


def _row(cls: type, table: Table, row: Any) -> Any:
    values = {c.name: row._mapping[c] for c in table.c}
    for key in ("created", "modified", "updated"):
        if key in values and values[key] is not None:
            values[key] = aware(values[key])
    return cls(**values)


# -- buses ----------------------------------------------------------------------------------------


def get_bus(conn: Connection, account_id: str, region: str, name: str) -> Bus | None:
    row = conn.execute(
        select(buses).where(
            buses.c.account_id == account_id, buses.c.region == region, buses.c.name == name
        )
    ).first()
    return _row(Bus, buses, row) if row else None


def list_buses(conn: Connection, account_id: str, region: str) -> list[Bus]:
    rows = conn.execute(
        select(buses).where(buses.c.account_id == account_id, buses.c.region == region)
    )
    return sorted((_row(Bus, buses, r) for r in rows), key=lambda b: b.name)


def count_buses(conn: Connection, account_id: str, region: str) -> int:
    return conn.execute(
        select(func.count()).select_from(buses).where(
            buses.c.account_id == account_id, buses.c.region == region
        )
    ).scalar_one()


def insert_bus(conn: Connection, bus: Bus) -> None:
    conn.execute(insert(buses).values(**bus.__dict__))


def update_bus(conn: Connection, account_id: str, region: str, name: str, **changes: Any) -> None:
    conn.execute(
        update(buses)
        .where(buses.c.account_id == account_id, buses.c.region == region, buses.c.name == name)
        .values(**changes)
    )


def delete_bus(conn: Connection, account_id: str, region: str, name: str) -> None:
    conn.execute(
        delete(buses).where(
            buses.c.account_id == account_id, buses.c.region == region, buses.c.name == name
        )
    )


# -- rules ----------------------------------------------------------------------------------------


def _rule_key(account_id: str, region: str, bus: str, name: str) -> Any:
    return and_(
        rules.c.account_id == account_id, rules.c.region == region, rules.c.bus == bus,
        rules.c.name == name,
    )


def get_rule(conn: Connection, account_id: str, region: str, bus: str, name: str) -> Rule | None:
    row = conn.execute(select(rules).where(_rule_key(account_id, region, bus, name))).first()
    return _row(Rule, rules, row) if row else None


def list_rules(conn: Connection, account_id: str, region: str, bus: str) -> list[Rule]:
    rows = conn.execute(
        select(rules).where(
            rules.c.account_id == account_id, rules.c.region == region, rules.c.bus == bus
        )
    )
    return sorted((_row(Rule, rules, r) for r in rows), key=lambda r: r.name)


def count_rules(conn: Connection, account_id: str, region: str, bus: str) -> int:
    return conn.execute(
        select(func.count()).select_from(rules).where(
            rules.c.account_id == account_id, rules.c.region == region, rules.c.bus == bus
        )
    ).scalar_one()


def pattern_rules(conn: Connection, account_id: str, region: str, bus: str) -> list[Rule]:
    """Enabled rules with an event pattern on a bus: what PutEvents matches against."""
    rows = conn.execute(
        select(rules).where(
            rules.c.account_id == account_id,
            rules.c.region == region,
            rules.c.bus == bus,
            rules.c.state != "DISABLED",
            rules.c.event_pattern.is_not(None),
        )
    )
    return [_row(Rule, rules, r) for r in rows]


def scheduled_rules(conn: Connection) -> list[Rule]:
    """Every enabled rule with a schedule, in every account and region."""
    rows = conn.execute(
        select(rules).where(rules.c.state != "DISABLED", rules.c.schedule.is_not(None))
    )
    return [_row(Rule, rules, r) for r in rows]


def save_rule(conn: Connection, rule: Rule, *, new: bool) -> None:
    if new:
        conn.execute(insert(rules).values(**rule.__dict__))
    else:
        key = _rule_key(rule.account_id, rule.region, rule.bus, rule.name)
        conn.execute(update(rules).where(key).values(**rule.__dict__))


def set_rule_state(conn: Connection, rule: Rule, state: str) -> None:
    conn.execute(
        update(rules)
        .where(_rule_key(rule.account_id, rule.region, rule.bus, rule.name))
        .values(state=state, modified=now())
    )


def delete_rule(conn: Connection, rule: Rule) -> None:
    conn.execute(delete(rules).where(_rule_key(rule.account_id, rule.region, rule.bus, rule.name)))


# -- targets --------------------------------------------------------------------------------------


def _target(row: Any) -> Target:
    return Target(row.rule, row.target_id, row.arn, dict(row.spec))


def list_targets(conn: Connection, account_id: str, region: str, bus: str, rule: str) -> list[Target]:
    rows = conn.execute(
        select(targets)
        .where(
            targets.c.account_id == account_id, targets.c.region == region,
            targets.c.bus == bus, targets.c.rule == rule,
        )
        .order_by(targets.c.seq)
    )
    return [_target(r) for r in rows]


def targets_of_rules(
    conn: Connection, account_id: str, region: str, bus: str, names: list[str]
) -> dict[str, list[Target]]:
    found: dict[str, list[Target]] = {}
    if not names:
        return found
    rows = conn.execute(
        select(targets)
        .where(
            targets.c.account_id == account_id, targets.c.region == region,
            targets.c.bus == bus, targets.c.rule.in_(names),
        )
        .order_by(targets.c.seq)
    )
    for r in rows:
        found.setdefault(r.rule, []).append(_target(r))
    return found


def rules_with_target(conn: Connection, account_id: str, region: str, bus: str, arn: str) -> list[str]:
    rows = conn.execute(
        select(targets.c.rule).where(
            targets.c.account_id == account_id, targets.c.region == region,
            targets.c.bus == bus, targets.c.arn == arn,
        )
    )
    return sorted({r.rule for r in rows})


def put_target(
    conn: Connection, account_id: str, region: str, bus: str, rule: str, spec: dict[str, Any]
) -> None:
    key = and_(
        targets.c.account_id == account_id, targets.c.region == region, targets.c.bus == bus,
        targets.c.rule == rule, targets.c.target_id == spec["Id"],
    )
    if conn.execute(select(targets.c.seq).where(key)).first():
        conn.execute(update(targets).where(key).values(arn=spec["Arn"], spec=spec))
        return
    seq = conn.execute(select(func.coalesce(func.max(targets.c.seq), 0))).scalar_one() + 1
    conn.execute(
        insert(targets).values(
            account_id=account_id, region=region, bus=bus, rule=rule, target_id=spec["Id"],
            arn=spec["Arn"], spec=spec, seq=seq,
        )
    )


def remove_target(
    conn: Connection, account_id: str, region: str, bus: str, rule: str, target_id: str
) -> bool:
    return conn.execute(
        delete(targets).where(
            targets.c.account_id == account_id, targets.c.region == region,
            targets.c.bus == bus, targets.c.rule == rule, targets.c.target_id == target_id,
        )
    ).rowcount > 0


# -- tags -----------------------------------------------------------------------------------------


def get_tags(conn: Connection, arn: str) -> list[dict[str, str]]:
    rows = conn.execute(select(tags).where(tags.c.arn == arn).order_by(tags.c.key))
    return [{"Key": r.key, "Value": r.value} for r in rows]


def set_tags(conn: Connection, arn: str, new: list[dict[str, str]]) -> None:
    for tag in new:
        conn.execute(delete(tags).where(tags.c.arn == arn, tags.c.key == tag["Key"]))
        conn.execute(insert(tags).values(arn=arn, key=tag["Key"], value=tag["Value"]))


def remove_tags(conn: Connection, arn: str, keys: list[str] | None = None) -> None:
    query = delete(tags).where(tags.c.arn == arn)
    if keys is not None:
        query = query.where(tags.c.key.in_(keys))
    conn.execute(query)


def count_tags(conn: Connection, arn: str) -> int:
    return conn.execute(select(func.count()).select_from(tags).where(tags.c.arn == arn)).scalar_one()


# -- the delivery journal -------------------------------------------------------------------------


def journal(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(deliveries), rows)


def finish_delivery(conn: Connection, delivery_id: str) -> None:
    conn.execute(delete(deliveries).where(deliveries.c.delivery_id == delivery_id))


def record_attempt(conn: Connection, delivery_id: str, attempts: int) -> None:
    conn.execute(
        update(deliveries)
        .where(deliveries.c.delivery_id == delivery_id)
        .values(attempts=attempts, updated=now())
    )


def fail_delivery(
    conn: Connection,
    delivery_id: str,
    attempts: int,
    code: str,
    message: str,
    dead_letter_arn: str | None,
) -> None:
    conn.execute(
        update(deliveries)
        .where(deliveries.c.delivery_id == delivery_id)
        .values(
            status=FAILED, attempts=attempts, error_code=code[:128], error_message=message,
            dead_letter_arn=dead_letter_arn, updated=now(),
        )
    )


def pending_deliveries(conn: Connection) -> list[Delivery]:
    rows = conn.execute(select(deliveries).where(deliveries.c.status == PENDING))
    return [_row(Delivery, deliveries, r) for r in rows]


def failed_deliveries(
    conn: Connection, account_id: str | None = None, region: str | None = None
) -> list[Delivery]:
    """Deliveries that failed for good, oldest first (optionally of one account/region)."""
    query = select(deliveries).where(deliveries.c.status == FAILED)
    if account_id is not None:
        query = query.where(deliveries.c.account_id == account_id)
    if region is not None:
        query = query.where(deliveries.c.region == region)
    rows = conn.execute(query.order_by(deliveries.c.created))
    return [_row(Delivery, deliveries, r) for r in rows]
