"""Scheduled rules: one asyncio task per provider sleeps until the next rule is due and fires a
"Scheduled Event" (source ``aws.events``, resources ``[rule ARN]``) to that rule's targets only,
as EventBridge does. PutRule/EnableRule/DisableRule/DeleteRule wake it to re-plan.

Rates count from the rule's last PutRule; cron expressions are in UTC. Firings missed while the
server was down are not replayed. With several API replicas every replica runs a scheduler
(each would fire): run scheduled rules on one replica.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from seedbed.errors import ServiceError
from seedbed.services.events import schedule, store

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

log = logging.getLogger(__name__)

#: Re-read the rules at least this often, even when nothing woke the task.
MAX_SLEEP_SECONDS = 60.0

Fire = Callable[[store.Rule, dict[str, Any]], None]


def scheduled_event(rule: store.Rule, rule_arn: str, when: datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.account_id,
        "time": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": rule.region,
        "resources": [rule_arn],
        "detail": {},
    }


class Scheduler:
    def __init__(self, backend: Backend, fire: Fire) -> None:
        self.backend = backend
        self.fire = fire
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        #: (account, region, bus, name) -> (schedule text, modified, next firing)
        self._plan: dict[tuple[str, str, str, str], tuple[str, datetime, datetime | None]] = {}

    def start(self) -> None:
        """Start the task on the running loop (no-op without one, or when it runs already)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._task is not None and not self._task.done() and self._loop is loop:
            return
        self._loop = loop
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run())

    def poke(self) -> None:
        if self._wake is not None and self._loop is not None:
            try:
                if self._loop is asyncio.get_running_loop():
                    self._wake.set()
            except RuntimeError:
                pass

    def close(self) -> None:
        if self._task is not None:
            try:
                self._task.cancel()
            except RuntimeError:
                pass

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                delay = self._tick(datetime.now(UTC))
            except Exception:
                log.exception("EventBridge scheduler failed; retrying")
                delay = 5.0
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(delay, 0.0))
            except TimeoutError:
                pass
            self._wake.clear()

    def _tick(self, now: datetime) -> float:
        """Fire what is due, plan the rest; returns seconds until the next firing."""
        from seedbed.services.events.provider import rule_arn

        with self.backend.db.connect() as conn:
            rules = store.scheduled_rules(conn)
        plan: dict[tuple[str, str, str, str], tuple[str, datetime, datetime | None]] = {}
        soonest = MAX_SLEEP_SECONDS
        for rule in rules:
            assert rule.schedule is not None
            key = (rule.account_id, rule.region, rule.bus, rule.name)
            previous = self._plan.get(key)
            try:
                parsed = schedule.parse(rule.schedule)
            except ServiceError:
                log.warning("rule %s has an invalid schedule %r", rule.name, rule.schedule)
                continue
            if previous and previous[0] == rule.schedule and previous[1] == rule.modified:
                due = previous[2]
            else:
                due = parsed.next_after(rule.modified, now)
            if due is not None and due <= now:
                try:
                    self.fire(rule, scheduled_event(rule, rule_arn(rule), due))
                except Exception:
                    log.exception("could not fire scheduled rule %s", rule.name)
                due = parsed.next_after(rule.modified, max(now, due))
            plan[key] = (rule.schedule, rule.modified, due)
            if due is not None:
                soonest = min(soonest, (due - now).total_seconds())
        self._plan = plan
        return soonest
