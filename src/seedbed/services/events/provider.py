"""Amazon EventBridge: event buses and their policies, rules (event patterns and schedules),
targets, tags, PutEvents with delivery to targets, TestEventPattern.

The ``default`` bus exists in every account and region (its row is made on first use). PutEvents
builds each event in the EventBridge envelope, matches it against the enabled rules of its bus
(:mod:`~seedbed.services.events.patterns`), journals one delivery per matched target and hands
it to :mod:`~seedbed.services.events.delivery`, which runs it as an asyncio task: PutEvents
returns without waiting for any target. Scheduled rules fire from
:mod:`~seedbed.services.events.scheduler`. Only Seedbed itself (an in-process call without a
principal, see :mod:`~seedbed.services.events.publish`) may put events with an ``aws.`` source.

Archives, replays, connections, API destinations, global endpoints and partner event sources are
not implemented (those operations answer NotImplemented).
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from seedbed.errors import ServiceError
from seedbed.server.context import RequestContext
from seedbed.services.base import Provider
from seedbed.services.events import delivery, patterns, schedule, scheduler, store, transform
from seedbed.services.events.errors import (
    LimitExceeded,
    NotImplementedHere,
    PolicyLengthExceeded,
    ResourceAlreadyExists,
    ResourceNotFound,
    Validation,
    bus_not_found,
    rule_not_found,
)
from seedbed.state import arns

log = logging.getLogger(__name__)

DEFAULT_BUS = "default"
MAX_BUSES = 100
MAX_RULES_PER_BUS = 300
MAX_TARGETS_PER_RULE = 5
MAX_TAGS = 50
MAX_ENTRIES_BYTES = 256 * 1024
MAX_POLICY_BYTES = 10240
ENABLED_STATES = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
#: Targets that EventBridge calls with a role: it must be named.
_ROLE_REQUIRED = ("codepipeline", "codebuild", "sagemaker", "ecs", "batch", "states", "kinesis",
                  "firehose", "ssm")


def bus_arn(account: str, region: str, name: str) -> str:
    return arns.build("events", f"event-bus/{name}", account, region)


def rule_arn_of(account: str, region: str, bus: str, name: str) -> str:
    path = name if bus == DEFAULT_BUS else f"{bus}/{name}"
    return arns.build("events", f"rule/{path}", account, region)


def rule_arn(rule: store.Rule) -> str:
    return rule_arn_of(rule.account_id, rule.region, rule.bus, rule.name)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _token(name: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": name}).encode()).decode()


def _after(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return str(json.loads(base64.urlsafe_b64decode(token.encode()))["after"])
    except (ValueError, KeyError, TypeError):
        raise Validation("The NextToken provided is invalid.") from None


def _page(items: list[Any], key: Any, params: dict[str, Any]) -> tuple[list[Any], str | None]:
    after = _after(params.get("NextToken"))
    if after is not None:
        at = next((n for n, item in enumerate(items) if key(item) == after), None)
        items = items[at + 1:] if at is not None else [i for i in items if key(i) > after]
    limit = int(params.get("Limit") or 100)
    if len(items) > limit:
        return items[:limit], _token(key(items[limit - 1]))
    return items, None


class EventsProvider(Provider):
    service = "events"

    def __init__(self, backend: Any) -> None:
        super().__init__(backend)
        self.deliverer = delivery.Deliverer(backend, self._route_to_bus)
        self.scheduler = scheduler.Scheduler(backend, self._fire_scheduled)
        self._resumed = False
        self._defaults: set[tuple[str, str]] = set()
        self._start()

    # -- lifecycle --------------------------------------------------------------------------------

    def _start(self) -> None:
        """Start the scheduler and resume interrupted deliveries, once a loop is running."""
        self.scheduler.start()
        if not self._resumed:
            try:
                import asyncio

                asyncio.get_running_loop()
            except RuntimeError:
                return
            self._resumed = True
            self._resume_deliveries()

    def operation(self, name: str) -> Any:
        self._start()  # the scheduler runs once any EventBridge call has been made
        return super().operation(name)

    async def resume(self) -> None:
        """Called at server start (if listed): starts the scheduler, resumes deliveries."""
        self._start()

    def _resume_deliveries(self) -> None:
        try:
            with self.backend.db.connect() as conn:
                pending = store.pending_deliveries(conn)
        except Exception:
            log.exception("could not read the EventBridge delivery journal")
            return
        now = store.now()
        for row in pending:
            job = delivery.Job(
                row.delivery_id, row.account_id, row.region, row.bus, row.rule, row.rule_arn,
                dict(row.target), json.loads(row.event), attempts=row.attempts,
                age_offset=(now - row.created).total_seconds(),
            )
            self.deliverer.submit(job)
        if pending:
            log.info("resumed %d EventBridge deliveries interrupted by a restart", len(pending))

    def close(self) -> None:
        self.scheduler.close()
        self.deliverer.close()

    # -- plumbing ---------------------------------------------------------------------------------

    def _bus_ref(self, ctx: RequestContext, value: str | None) -> tuple[str, str]:
        """(account, bus name) of an ``EventBusName`` that may be a name or an ARN."""
        if not value:
            return ctx.account_id, DEFAULT_BUS
        if value.startswith("arn:"):
            try:
                parsed = arns.parse(value)
            except ValueError:
                raise Validation(f"Parameter {value} is not valid.") from None
            if parsed.service != "events" or parsed.resource_type != "event-bus":
                raise Validation(f"Parameter {value} is not valid.")
            return parsed.account, parsed.resource_id
        return ctx.account_id, value

    def _own_bus(self, ctx: RequestContext, value: str | None) -> str:
        account, name = self._bus_ref(ctx, value)
        if account != ctx.account_id:
            raise bus_not_found(name)
        return name

    def _ensure_default(self, account: str, region: str) -> None:
        """Give the implicit ``default`` bus its row (its creation time, its policy) once."""
        if (account, region) in self._defaults:
            return
        with self.backend.db.begin() as conn:
            missing = store.get_bus(conn, account, region, DEFAULT_BUS) is None
        if missing:
            now = store.now()
            try:
                with self.backend.db.begin() as conn:
                    store.insert_bus(conn, store.Bus(
                        account, region, DEFAULT_BUS, None, None, None, None, None, now, now))
            except IntegrityError:
                pass  # made by a concurrent request
        self._defaults.add((account, region))

    def _bus(self, conn: Connection, account: str, region: str, name: str) -> store.Bus:
        found = store.get_bus(conn, account, region, name)
        if found is not None:
            return found
        if name != DEFAULT_BUS:
            raise bus_not_found(name)
        now = store.now()
        return store.Bus(account, region, name, None, None, None, None, None, now, now)

    def _rule(self, conn: Connection, ctx: RequestContext, bus: str, name: str) -> store.Rule:
        self._bus(conn, ctx.account_id, ctx.region, bus)
        rule = store.get_rule(conn, ctx.account_id, ctx.region, bus, name)
        if rule is None:
            raise rule_not_found(name, bus)
        ctx.resources.append(rule_arn(rule))
        return rule

    # -- event buses ------------------------------------------------------------------------------

    def create_event_bus(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Name"]
        if params.get("EventSourceName"):
            raise ResourceNotFound(f"Event source {params['EventSourceName']} does not exist.")
        if "/" in name:
            raise Validation("Event bus name must not contain '/'.")
        if name == DEFAULT_BUS:
            raise ResourceAlreadyExists(f"Event bus {name} already exists.")
        _check_tags(params.get("Tags") or [])
        account, region = ctx.account_id, ctx.region
        now = store.now()
        bus = store.Bus(
            account, region, name, params.get("Description"), params.get("KmsKeyIdentifier"),
            params.get("DeadLetterConfig"), params.get("LogConfig"), None, now, now,
        )
        arn = bus_arn(account, region, name)
        try:
            with self.backend.db.begin() as conn:
                if store.get_bus(conn, account, region, name) is not None:
                    raise ResourceAlreadyExists(f"Event bus {name} already exists.")
                if store.count_buses(conn, account, region) >= MAX_BUSES:
                    raise LimitExceeded(
                        "The requested resource exceeds the maximum number allowed."
                    )
                store.insert_bus(conn, bus)
                if params.get("Tags"):
                    store.set_tags(conn, arn, params["Tags"])
        except IntegrityError:
            raise ResourceAlreadyExists(f"Event bus {name} already exists.") from None
        ctx.resources.append(arn)
        out: dict[str, Any] = {"EventBusArn": arn}
        for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig"):
            if params.get(key) is not None:
                out[key] = params[key]
        return out

    def describe_event_bus(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = self._own_bus(ctx, params.get("Name"))
        self._ensure_default(ctx.account_id, ctx.region)
        with self.backend.db.begin() as conn:
            bus = self._bus(conn, ctx.account_id, ctx.region, name)
        ctx.resources.append(bus_arn(bus.account_id, bus.region, bus.name))
        return _bus_out(bus, detail=True)

    def list_event_buses(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._ensure_default(ctx.account_id, ctx.region)
        with self.backend.db.begin() as conn:
            found = store.list_buses(conn, ctx.account_id, ctx.region)
        prefix = params.get("NamePrefix")
        if prefix:
            found = [b for b in found if b.name.startswith(prefix)]
        page, token = _page(found, lambda b: b.name, params)
        out: dict[str, Any] = {"EventBuses": [_bus_out(b, detail=False) for b in page]}
        if token:
            out["NextToken"] = token
        return out

    def update_event_bus(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = self._own_bus(ctx, params.get("Name"))
        changes: dict[str, Any] = {"modified": store.now()}
        mapping = {"Description": "description", "KmsKeyIdentifier": "kms_key",
                   "DeadLetterConfig": "dead_letter", "LogConfig": "log_config"}
        for key, column in mapping.items():
            if key in params:
                changes[column] = params[key]
        self._ensure_default(ctx.account_id, ctx.region)
        with self.backend.db.begin() as conn:
            self._bus(conn, ctx.account_id, ctx.region, name)
            store.update_bus(conn, ctx.account_id, ctx.region, name, **changes)
            bus = self._bus(conn, ctx.account_id, ctx.region, name)
        out = _bus_out(bus, detail=True)
        return {k: out[k] for k in ("Arn", "Name", "Description", "KmsKeyIdentifier",
                                    "DeadLetterConfig", "LogConfig") if k in out}

    def delete_event_bus(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Name"]
        if name == DEFAULT_BUS:
            raise Validation("Cannot delete event bus default.")
        arn = bus_arn(ctx.account_id, ctx.region, name)
        with self.backend.db.begin() as conn:
            if store.get_bus(conn, ctx.account_id, ctx.region, name) is None:
                return {}
            if store.count_rules(conn, ctx.account_id, ctx.region, name):
                raise Validation(
                    f"Cannot delete event bus {name} because it still has rules. Delete its "
                    "rules first."
                )
            store.delete_bus(conn, ctx.account_id, ctx.region, name)
            store.remove_tags(conn, arn)
        ctx.resources.append(arn)
        return {}

    # -- bus policy -------------------------------------------------------------------------------

    def put_permission(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("EventBusName") or DEFAULT_BUS
        account, region = ctx.account_id, ctx.region
        arn = bus_arn(account, region, name)
        self._ensure_default(account, region)
        with self.backend.db.begin() as conn:
            bus = self._bus(conn, account, region, name)
            if params.get("Policy"):
                try:
                    document = json.loads(params["Policy"])
                except ValueError:
                    raise Validation("This policy contains invalid Json") from None
                if not isinstance(document, dict):
                    raise Validation("This policy contains invalid Json")
            else:
                statement = _statement(params, arn)
                document = json.loads(bus.policy) if bus.policy else {
                    "Version": "2012-10-17", "Statement": []}
                kept = [s for s in document.get("Statement", []) if s.get("Sid") != statement["Sid"]]
                document["Statement"] = kept + [statement]
            text = json.dumps(document, separators=(",", ":"))
            if len(text.encode()) > MAX_POLICY_BYTES:
                raise PolicyLengthExceeded("The policy length exceeds the maximum allowed.")
            store.update_bus(conn, account, region, name, policy=text, modified=store.now())
        ctx.resources.append(arn)
        return {}

    def remove_permission(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("EventBusName") or DEFAULT_BUS
        account, region = ctx.account_id, ctx.region
        with self.backend.db.begin() as conn:
            bus = self._bus(conn, account, region, name)
            if params.get("RemoveAllPermissions"):
                store.update_bus(conn, account, region, name, policy=None, modified=store.now())
                return {}
            if not bus.policy:
                raise ResourceNotFound("EventBus does not have a policy.")
            document = json.loads(bus.policy)
            statements = document.get("Statement", [])
            if isinstance(statements, dict):
                statements = [statements]
            sid = params.get("StatementId")
            kept = [s for s in statements if s.get("Sid") != sid]
            if len(kept) == len(statements):
                raise ResourceNotFound("Statement with the provided id does not exist.")
            document["Statement"] = kept
            text = json.dumps(document, separators=(",", ":")) if kept else None
            store.update_bus(conn, account, region, name, policy=text, modified=store.now())
        return {}

    # -- rules ------------------------------------------------------------------------------------

    def put_rule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Name"]
        bus = self._own_bus(ctx, params.get("EventBusName"))
        pattern, expression = params.get("EventPattern"), params.get("ScheduleExpression")
        if not pattern and not expression:
            raise Validation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
        if pattern:
            patterns.check(pattern)
        if expression:
            if bus != DEFAULT_BUS:
                raise Validation("ScheduleExpression is supported only on the default event bus.")
            schedule.parse(expression)
        state = params.get("State") or "ENABLED"
        if state not in ENABLED_STATES:
            raise Validation(f"Parameter State is not valid. Value {state} is not supported.")
        if params.get("RoleArn"):
            self.backend.authorizer.check_pass_role(ctx, params["RoleArn"], "events.amazonaws.com")
        _check_tags(params.get("Tags") or [])
        account, region = ctx.account_id, ctx.region
        arn = rule_arn_of(account, region, bus, name)
        now = store.now()
        with self.backend.db.begin() as conn:
            self._bus(conn, account, region, bus)
            existing = store.get_rule(conn, account, region, bus, name)
            if existing is None and store.count_rules(conn, account, region, bus) >= MAX_RULES_PER_BUS:
                raise LimitExceeded("The requested resource exceeds the maximum number allowed.")
            rule = store.Rule(
                account, region, bus, name, pattern or None, expression or None, state,
                params.get("Description"), params.get("RoleArn"), None,
                existing.created_by if existing else account,
                existing.created if existing else now, now,
            )
            store.save_rule(conn, rule, new=existing is None)
            if params.get("Tags"):
                if len({t["Key"] for t in params["Tags"]} | {
                        t["Key"] for t in store.get_tags(conn, arn)}) > MAX_TAGS:
                    raise Validation("Tag limit exceeded: a resource can have at most 50 tags.")
                store.set_tags(conn, arn, params["Tags"])
        ctx.resources.append(arn)
        if expression:
            self.scheduler.poke()
        return {"RuleArn": arn}

    def describe_rule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bus = self._own_bus(ctx, params.get("EventBusName"))
        with self.backend.db.begin() as conn:
            rule = self._rule(conn, ctx, bus, params["Name"])
        out = _rule_out(rule)
        out["CreatedBy"] = rule.created_by
        return out

    def list_rules(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bus = self._own_bus(ctx, params.get("EventBusName"))
        with self.backend.db.begin() as conn:
            self._bus(conn, ctx.account_id, ctx.region, bus)
            found = store.list_rules(conn, ctx.account_id, ctx.region, bus)
        prefix = params.get("NamePrefix")
        if prefix:
            found = [r for r in found if r.name.startswith(prefix)]
        page, token = _page(found, lambda r: r.name, params)
        out: dict[str, Any] = {"Rules": [_rule_out(r) for r in page]}
        if token:
            out["NextToken"] = token
        return out

    def _set_state(self, ctx: RequestContext, params: dict[str, Any], state: str) -> dict[str, Any]:
        bus = self._own_bus(ctx, params.get("EventBusName"))
        with self.backend.db.begin() as conn:
            rule = self._rule(conn, ctx, bus, params["Name"])
            if rule.state != state:
                store.set_rule_state(conn, rule, state)
        if rule.schedule:
            self.scheduler.poke()
        return {}

    def enable_rule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._set_state(ctx, params, "ENABLED")

    def disable_rule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._set_state(ctx, params, "DISABLED")

    def delete_rule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bus = self._own_bus(ctx, params.get("EventBusName"))
        name = params["Name"]
        with self.backend.db.begin() as conn:
            if bus != DEFAULT_BUS and store.get_bus(conn, ctx.account_id, ctx.region, bus) is None:
                raise bus_not_found(bus)
            rule = store.get_rule(conn, ctx.account_id, ctx.region, bus, name)
            if rule is None:
                return {}
            if store.list_targets(conn, ctx.account_id, ctx.region, bus, name):
                raise Validation("Rule can't be deleted since it has targets.")
            store.delete_rule(conn, rule)
            store.remove_tags(conn, rule_arn(rule))
        ctx.resources.append(rule_arn(rule))
        if rule.schedule:
            self.scheduler.poke()
        return {}

    # -- targets ----------------------------------------------------------------------------------

    def put_targets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bus = self._own_bus(ctx, params.get("EventBusName"))
        name = params["Rule"]
        wanted = params["Targets"]
        ids = [t["Id"] for t in wanted]
        if len(set(ids)) != len(ids):
            raise Validation("The same target ID is used more than once in the request.")
        for target in wanted:
            if not _arn_ok(target["Arn"]):
                raise Validation(
                    f"Parameter {target['Arn']} is not valid. Reason: Provided Arn is not in "
                    "correct format."
                )
        failed: list[dict[str, str]] = []
        accepted: list[dict[str, Any]] = []
        for target in wanted:
            problem = _target_problem(target)
            if problem:
                failed.append({"TargetId": target["Id"], "ErrorCode": "ValidationException",
                               "ErrorMessage": problem})
            else:
                accepted.append(target)
        for target in accepted:
            if target.get("RoleArn"):
                self.backend.authorizer.check_pass_role(
                    ctx, target["RoleArn"], "events.amazonaws.com"
                )
        with self.backend.db.begin() as conn:
            self._rule(conn, ctx, bus, name)
            existing = {t.target_id for t in store.list_targets(
                conn, ctx.account_id, ctx.region, bus, name)}
            if len(existing | {t["Id"] for t in accepted}) > MAX_TARGETS_PER_RULE:
                raise LimitExceeded("The requested resource exceeds the maximum number allowed.")
            for target in accepted:
                store.put_target(conn, ctx.account_id, ctx.region, bus, name, _clean(target))
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    def remove_targets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bus = self._own_bus(ctx, params.get("EventBusName"))
        name = params["Rule"]
        with self.backend.db.begin() as conn:
            self._rule(conn, ctx, bus, name)
            for target_id in params["Ids"]:
                store.remove_target(conn, ctx.account_id, ctx.region, bus, name, target_id)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    def list_targets_by_rule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bus = self._own_bus(ctx, params.get("EventBusName"))
        with self.backend.db.begin() as conn:
            self._rule(conn, ctx, bus, params["Rule"])
            found = store.list_targets(conn, ctx.account_id, ctx.region, bus, params["Rule"])
        page, token = _page(found, lambda t: t.target_id, params)
        out: dict[str, Any] = {"Targets": [t.spec for t in page]}
        if token:
            out["NextToken"] = token
        return out

    def list_rule_names_by_target(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bus = self._own_bus(ctx, params.get("EventBusName"))
        with self.backend.db.begin() as conn:
            self._bus(conn, ctx.account_id, ctx.region, bus)
            names = store.rules_with_target(
                conn, ctx.account_id, ctx.region, bus, params["TargetArn"]
            )
        page, token = _page(names, lambda n: n, params)
        out: dict[str, Any] = {"RuleNames": page}
        if token:
            out["NextToken"] = token
        return out

    # -- tags -------------------------------------------------------------------------------------

    def _tagged(self, conn: Connection, ctx: RequestContext, arn: str) -> None:
        """ResourceNotFoundException unless ``arn`` names a rule or bus of the caller."""
        try:
            parsed = arns.parse(arn)
        except ValueError:
            raise Validation(f"Parameter ResourceARN is not valid: {arn}") from None
        if parsed.service != "events" or parsed.account != ctx.account_id or (
            parsed.region != ctx.region
        ):
            raise ResourceNotFound(f"Resource {arn} does not exist.")
        kind, rest = parsed.resource_type, parsed.resource_id
        if kind == "event-bus":
            self._bus(conn, ctx.account_id, ctx.region, rest)
        elif kind == "rule":
            bus, _, name = rest.rpartition("/")
            self._rule(conn, ctx, bus or DEFAULT_BUS, name)
        else:
            raise ResourceNotFound(f"Resource {arn} does not exist.")
        ctx.resources.append(arn)

    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["ResourceARN"]
        _check_tags(params["Tags"])
        with self.backend.db.begin() as conn:
            self._tagged(conn, ctx, arn)
            keys = {t["Key"] for t in store.get_tags(conn, arn)} | {t["Key"] for t in params["Tags"]}
            if len(keys) > MAX_TAGS:
                raise Validation("Tag limit exceeded: a resource can have at most 50 tags.")
            store.set_tags(conn, arn, params["Tags"])
        return {}

    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["ResourceARN"]
        with self.backend.db.begin() as conn:
            self._tagged(conn, ctx, arn)
            store.remove_tags(conn, arn, list(params["TagKeys"]))
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["ResourceARN"]
        with self.backend.db.begin() as conn:
            self._tagged(conn, ctx, arn)
            return {"Tags": store.get_tags(conn, arn)}

    # -- patterns ---------------------------------------------------------------------------------

    def test_event_pattern(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        node = patterns.compile_pattern(params["EventPattern"])
        try:
            event = json.loads(params["Event"])
        except ValueError:
            raise Validation("Parameter Event is not valid.") from None
        required = ("id", "account", "source", "time", "region", "resources", "detail-type")
        if not isinstance(event, dict) or any(k not in event for k in required):
            raise Validation("Parameter Event is not valid.")
        return {"Result": patterns.matches(node, event)}

    # -- events -----------------------------------------------------------------------------------

    async def put_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._start()
        if params.get("EndpointId"):
            raise NotImplementedHere(
                "Seedbed does not implement EventBridge global endpoints (EndpointId): put "
                "events on an event bus of the region instead."
            )
        entries = params["Entries"]
        if sum(_entry_size(e) for e in entries) > MAX_ENTRIES_BYTES:
            raise Validation("Total size of the entries in the request is over the limit.")
        results: list[dict[str, Any]] = []
        batches: dict[tuple[str, str], list[dict[str, Any]]] = {}
        known: dict[tuple[str, str], str | None] = {}
        now = datetime.now(UTC)
        for entry in entries:
            problem = self._entry_problem(ctx, entry)
            if problem is None:
                account, bus = self._bus_ref(ctx, entry.get("EventBusName"))
                key = (account, bus)
                if key not in known:
                    known[key] = self._bus_problem(ctx, account, bus)
                if known[key] is not None:
                    problem = ("ResourceNotFoundException", known[key])
            if problem is not None:
                results.append({"ErrorCode": problem[0], "ErrorMessage": problem[1]})
                continue
            event_id = str(uuid.uuid4())
            when = entry.get("Time")
            event = {
                "version": "0",
                "id": event_id,
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": ctx.account_id,
                "time": _iso(when if isinstance(when, datetime) else now),
                "region": ctx.region,
                "resources": list(entry.get("Resources") or []),
                "detail": json.loads(entry["Detail"]),
            }
            batches.setdefault(key, []).append(event)
            results.append({"EventId": event_id})
        for (account, bus), events in batches.items():
            self._route(account, ctx.region, bus, events)
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}

    def _entry_problem(self, ctx: RequestContext, entry: dict[str, Any]) -> tuple[str, str] | None:
        for key in ("Source", "DetailType", "Detail"):
            if not entry.get(key):
                return ("InvalidArgument",
                        f"Parameter {key} is not valid. Reason: {key} is a required argument.")
        try:
            detail = json.loads(entry["Detail"])
        except ValueError:
            return ("MalformedDetail", "Detail is malformed.")
        if not isinstance(detail, dict):
            return ("MalformedDetail", "Detail is malformed.")
        if entry["Source"].startswith("aws.") and ctx.principal is not None:
            return ("NotAuthorizedForSourceException", "Not authorized for the source.")
        return None

    def _bus_problem(self, ctx: RequestContext, account: str, bus: str) -> str | None:
        if bus == DEFAULT_BUS and account == ctx.account_id:
            return None
        with self.backend.db.begin() as conn:
            found = store.get_bus(conn, account, ctx.region, bus)
        if found is None:
            return f"Event bus {bus} does not exist."
        if (account != ctx.account_id and ctx.principal is not None
                and not _policy_allows(found.policy, ctx.account_id)):
            return f"Event bus {bus} does not exist."
        return None

    def _route(self, account: str, region: str, bus: str, events: list[dict[str, Any]]) -> None:
        """Match events against the bus's rules; journal and start one delivery per target."""
        with self.backend.db.begin() as conn:
            candidates = store.pattern_rules(conn, account, region, bus)
            matched: list[tuple[store.Rule, dict[str, Any]]] = []
            for rule in candidates:
                try:
                    node = patterns.compile_pattern(rule.event_pattern or "")
                except ServiceError:  # checked at PutRule; a rule stored otherwise is skipped
                    log.warning("rule %s has an invalid event pattern", rule_arn(rule))
                    continue
                matched.extend((rule, e) for e in events if patterns.matches(node, e))
            if not matched:
                return
            by_rule = store.targets_of_rules(
                conn, account, region, bus, sorted({r.name for r, _ in matched})
            )
            jobs = [
                delivery.new_job(account, region, bus, rule.name, rule_arn(rule), t.spec, event)
                for rule, event in matched
                for t in by_rule.get(rule.name, [])
            ]
            store.journal(conn, [j.row() for j in jobs])
        for job in jobs:
            self.deliverer.submit(job)

    async def _route_to_bus(
        self, account: str, region: str, bus: str, event: dict[str, Any]
    ) -> None:
        with self.backend.db.begin() as conn:
            if store.get_bus(conn, account, region, bus) is None and bus != DEFAULT_BUS:
                raise delivery.DeliveryFailed(
                    "ResourceNotFoundException", f"Event bus {bus} does not exist."
                )
        self._route(account, region, bus, [event])

    def _fire_scheduled(self, rule: store.Rule, event: dict[str, Any]) -> None:
        with self.backend.db.begin() as conn:
            found = store.list_targets(conn, rule.account_id, rule.region, rule.bus, rule.name)
            jobs = [
                delivery.new_job(rule.account_id, rule.region, rule.bus, rule.name, rule_arn(rule),
                                 t.spec, event)
                for t in found
            ]
            store.journal(conn, [j.row() for j in jobs])
        for job in jobs:
            self.deliverer.submit(job)

    # -- what users and tests read ----------------------------------------------------------------

    def failed_deliveries(self, account_id: str | None = None,
                          region: str | None = None) -> list[store.Delivery]:
        with self.backend.db.connect() as conn:
            return store.failed_deliveries(conn, account_id, region)


# -- helpers --------------------------------------------------------------------------------------


def _bus_out(bus: store.Bus, detail: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Name": bus.name,
        "Arn": bus_arn(bus.account_id, bus.region, bus.name),
        "CreationTime": bus.created,
        "LastModifiedTime": bus.modified,
    }
    if bus.description:
        out["Description"] = bus.description
    if bus.policy:
        out["Policy"] = bus.policy
    if detail:
        if bus.kms_key:
            out["KmsKeyIdentifier"] = bus.kms_key
        if bus.dead_letter:
            out["DeadLetterConfig"] = bus.dead_letter
        if bus.log_config:
            out["LogConfig"] = bus.log_config
    return out


def _rule_out(rule: store.Rule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Name": rule.name,
        "Arn": rule_arn(rule),
        "State": rule.state,
        "EventBusName": rule.bus,
    }
    for key, value in (("EventPattern", rule.event_pattern),
                       ("ScheduleExpression", rule.schedule),
                       ("Description", rule.description), ("RoleArn", rule.role_arn),
                       ("ManagedBy", rule.managed_by)):
        if value:
            out[key] = value
    return out


def _check_tags(tags: list[dict[str, str]]) -> None:
    if len(tags) > MAX_TAGS:
        raise Validation("Tag limit exceeded: a resource can have at most 50 tags.")
    for tag in tags:
        if tag["Key"].lower().startswith("aws:"):
            raise Validation("Tag keys may not begin with 'aws:'; that prefix is reserved.")


def _statement(params: dict[str, Any], arn: str) -> dict[str, Any]:
    principal, action, sid = params.get("Principal"), params.get("Action"), params.get("StatementId")
    condition = params.get("Condition")
    if not principal:
        raise Validation("Parameter Principal must be specified.")
    if condition and principal != "*":
        raise Validation(
            "Value of the parameter 'principal' must be '*' when the parameter 'condition' is set."
        )
    if action != "events:PutEvents":
        raise Validation("Provided value in parameter 'action' is not supported.")
    if not sid:
        raise Validation("Parameter StatementId must be specified.")
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": "*" if principal == "*" else {"AWS": arns.root(principal)},
        "Action": action,
        "Resource": arn,
    }
    if condition:
        statement["Condition"] = {condition["Type"]: {condition["Key"]: condition["Value"]}}
    return statement


def _policy_allows(policy: str | None, account: str) -> bool:
    """Whether a bus policy lets ``account`` put events (principal ``*`` without conditions, or
    the account itself)."""
    if not policy:
        return False
    try:
        statements = json.loads(policy).get("Statement", [])
    except (ValueError, AttributeError):
        return False
    if isinstance(statements, dict):
        statements = [statements]
    for s in statements:
        if s.get("Effect") != "Allow":
            continue
        actions = s.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("events:PutEvents", "events:*", "*") for a in actions):
            continue
        principal = s.get("Principal")
        if principal == "*" and not s.get("Condition"):
            return True
        if isinstance(principal, dict):
            values = principal.get("AWS", [])
            values = [values] if isinstance(values, str) else values
            if any(v in (account, arns.root(account)) for v in values):
                return True
    return False


def _arn_ok(arn: str) -> bool:
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and bool(parts[1]) and bool(parts[2]) and bool(
        parts[5])


def _target_problem(target: dict[str, Any]) -> str | None:
    given = [k for k in ("Input", "InputPath", "InputTransformer") if target.get(k) is not None]
    if len(given) > 1:
        return "Only one of Input, InputPath, or InputTransformer must be provided."
    if target.get("Input") is not None:
        try:
            json.loads(target["Input"])
        except ValueError:
            return f"Parameter Input of target {target['Id']} is not valid JSON."
    if target.get("InputPath"):
        try:
            transform.parse_path(target["InputPath"])
        except transform.PathError:
            return f"Parameter InputPath of target {target['Id']} is not a valid JsonPath."
    transformer = target.get("InputTransformer")
    if transformer:
        problem = transform.check_transformer(
            transformer.get("InputPathsMap") or {}, transformer["InputTemplate"]
        )
        if problem:
            return problem
    service = target["Arn"].split(":", 5)[2]
    if service in _ROLE_REQUIRED and not target.get("RoleArn"):
        return f"RoleArn is required for target {target['Arn']}."
    return None


def _clean(target: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in target.items() if v is not None}


def _entry_size(entry: dict[str, Any]) -> int:
    """The entry size EventBridge counts ("Calculating PutEvents event entry size")."""
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        if entry.get(key):
            size += len(str(entry[key]).encode())
    for resource in entry.get("Resources") or []:
        size += len(resource.encode())
    return size
