"""The journal of stack operations: resource records, events, and the stack row, in the database.

Every state change a handler makes is preceded by a committed record of what is about to happen
(the intended physical id, the snapshot to restore), so that after a crash the engine can roll
the operation back or forward and never lose track of a resource. Events are written in the same
transactions, so DescribeStackEvents shows exactly what the journal holds.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from seedbed.services.cloudformation import store
from seedbed.state import ids

if TYPE_CHECKING:
    from seedbed.state.db import Database


@dataclass
class Rec:
    """One resource of a stack, as the journal holds it."""

    logical_id: str
    type: str
    token: str
    status: str = "NEW"
    physical_id: str | None = None
    status_reason: str | None = None
    properties: dict[str, Any] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    #: what to restore or clean up: {"action": "create"|"update"|"replace"|"discard", ...snapshot}
    old: dict[str, Any] | None = None
    deletion_policy: str | None = None
    update_replace_policy: str | None = None
    metadata: dict[str, Any] | None = None

    def row(self) -> dict[str, Any]:
        """A shallow snapshot (handlers replace nested values, never mutate them)."""
        return {
            "type": self.type, "token": self.token, "status": self.status, "physical_id": self.physical_id,
            "status_reason": self.status_reason, "properties": self.properties, "attributes": self.attributes,
            "old": self.old, "deletion_policy": self.deletion_policy,
            "update_replace_policy": self.update_replace_policy, "metadata": self.metadata,
        }

    @classmethod
    def from_row(cls, row: Any) -> Rec:
        m = row._mapping
        return cls(
            logical_id=m["logical_id"], type=m["type"], token=m["token"], status=m["status"],
            physical_id=m["physical_id"], status_reason=m["status_reason"], properties=m["properties"],
            attributes=m["attributes"] or {}, old=m["old"], deletion_policy=m["deletion_policy"],
            update_replace_policy=m["update_replace_policy"], metadata=m["metadata"],
        )

    def snapshot(self, action: str) -> dict[str, Any]:
        return {
            "action": action, "physical_id": self.physical_id, "properties": self.properties,
            "attributes": self.attributes, "status": self.status, "type": self.type, "token": self.token,
        }


def new_token() -> str:
    return ids.hex_id(32)


_DROP = object()


class Journal:
    """Writes records, events and stack changes of one stack.

    :meth:`write` is a group commit: every write requested by the stack's concurrent handlers in
    the same turn of the event loop lands in one transaction, and each writer resumes only once it
    is durable, so "journal before act" holds at a fraction of the cost of one commit per write.
    """

    def __init__(self, db: Database, stack_id: str, stack_name: str, client_token: str | None = None) -> None:
        self.db = db
        self.stack_id = stack_id
        self.stack_name = stack_name
        self.client_token = client_token
        self._in_db: set[str] = set()
        self._pending: list[tuple[list[tuple[str, Any]], list[dict[str, Any]], dict[str, Any] | None, Any, asyncio.Future[None]]] = []
        self._scheduled = False

    def load(self) -> dict[str, Rec]:
        with self.db.connect() as conn:
            recs = {row.logical_id: Rec.from_row(row) for row in store.get_resources(conn, self.stack_id)}
        self._in_db = set(recs)
        return recs

    async def write(
        self,
        recs: list[Rec] = (),  # type: ignore[assignment]
        events: list[dict[str, Any]] = (),  # type: ignore[assignment]
        stack: dict[str, Any] | None = None,
        drop: list[str] = (),  # type: ignore[assignment]
        exports: tuple[str, str, dict[str, str]] | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        changes = [(rec.logical_id, rec.row()) for rec in recs] + [(name, _DROP) for name in drop]
        self._pending.append((changes, list(events), stack, exports, done))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        await done

    def _flush(self) -> None:
        pending, self._pending, self._scheduled = self._pending, [], False
        final: dict[str, Any] = {}
        events: list[dict[str, Any]] = []
        stack: dict[str, Any] = {}
        exports = None
        for changes, evs, stack_values, exp, _ in pending:
            for name, row in changes:
                final[name] = row
            events.extend(evs)
            if stack_values:
                stack.update(stack_values)
            if exp is not None:
                exports = exp
        try:
            with self.db.begin() as conn:
                for name, row in final.items():
                    if row is _DROP and name in self._in_db:
                        store.delete_resource(conn, self.stack_id, name)
                inserts = [{**row, "logical_id": n} for n, row in final.items() if row is not _DROP and n not in self._in_db]
                updates = [{**row, "logical_id": n} for n, row in final.items() if row is not _DROP and n in self._in_db]
                store.insert_resources(conn, self.stack_id, inserts)
                store.update_resources(conn, self.stack_id, updates)
                store.add_events(conn, events)
                if stack:
                    store.update_stack(conn, self.stack_id, **stack)
                if exports is not None:
                    store.set_exports(conn, exports[0], exports[1], self.stack_id, exports[2])
        except Exception as exc:  # noqa: BLE001 - every writer learns of it
            for *_, done in pending:
                if not done.done():
                    done.set_exception(exc)
            return
        for name, row in final.items():
            if row is _DROP:
                self._in_db.discard(name)
            else:
                self._in_db.add(name)
        for *_, done in pending:
            if not done.done():
                done.set_result(None)

    def event(
        self, logical_id: str, physical_id: str | None, rtype: str, status: str, reason: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "event_id": ids.request_id(),
            "stack_id": self.stack_id,
            "stack_name": self.stack_name,
            "logical_id": logical_id,
            "physical_id": physical_id,
            "type": rtype,
            "status": status,
            "reason": reason,
            "properties": json.dumps(properties, default=str) if properties is not None else None,
            "client_request_token": self.client_token,
            "timestamp": store.now(),
        }

    def rec_event(self, rec: Rec, status: str | None = None, reason: str | None = None, physical: bool = True) -> dict[str, Any]:
        return self.event(
            rec.logical_id, rec.physical_id if physical else None, rec.type, status or rec.status,
            reason if reason is not None else rec.status_reason, rec.properties,
        )

    def stack_event(self, status: str, reason: str | None = None) -> dict[str, Any]:
        return self.event(self.stack_name, self.stack_id, "AWS::CloudFormation::Stack", status, reason)

    def commit(
        self,
        recs: list[Rec] = (),  # type: ignore[assignment]
        events: list[dict[str, Any]] = (),  # type: ignore[assignment]
        stack: dict[str, Any] | None = None,
        drop: list[str] = (),  # type: ignore[assignment]
        exports: tuple[str, str, dict[str, str]] | None = None,
    ) -> None:
        with self.db.begin() as conn:
            for rec in recs:
                store.upsert_resource(conn, self.stack_id, rec.logical_id, rec.row())
            for logical_id in drop:
                store.delete_resource(conn, self.stack_id, logical_id)
            store.add_events(conn, list(events))
            if stack:
                store.update_stack(conn, self.stack_id, **stack)
            if exports is not None:
                store.set_exports(conn, exports[0], exports[1], self.stack_id, exports[2])
