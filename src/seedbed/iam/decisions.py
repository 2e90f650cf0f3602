"""The authorizer's decisions, kept by request id so that ``seedbed iam explain`` can show them.

Like the audit trail, decisions go through an in-memory queue to one writer thread that commits
them in batches: recording one costs the request a queue put, not a database commit. Rows older
than ``RETENTION_DAYS`` are purged now and then.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from seedbed.services.iam import store
from seedbed.state.batching import BatchWriter
from seedbed.state.db import Database

log = logging.getLogger(__name__)

RETENTION_DAYS = 7
PURGE_EVERY = 20_000


class DecisionLog(BatchWriter):
    def __init__(self, db: Database) -> None:
        self._db = db
        self._written = 0
        super().__init__("seedbed-iam-decisions")

    def record(self, row: dict[str, Any] | tuple[Any, ...]) -> None:
        """Queue a decision: a row, or a tuple that :func:`to_row` turns into one later (off the
        request path: serializing the deciding statements costs more than deciding)."""
        self._enqueue(row)

    def _started(self) -> None:
        self._purge()

    def _write(self, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        try:
            rows = [item if isinstance(item, dict) else to_row(item) for item in batch]
            with self._db.begin() as conn:
                store.append_decisions(conn, rows)
        except Exception:  # the decisions are diagnostics: never take the server down for them
            log.exception("could not write %d IAM decisions", len(batch))
            return
        self._written += len(batch)
        if self._written >= PURGE_EVERY:
            self._written = 0
            self._purge()

    def _purge(self) -> None:
        try:
            with self._db.begin() as conn:
                store.purge_decisions(conn, datetime.now(UTC) - timedelta(days=RETENTION_DAYS))
        except Exception:
            log.warning("could not purge old IAM decisions", exc_info=True)


def statements_json(items: list[dict[str, Any]]) -> str:
    return json.dumps(items, default=str)


def to_row(item: tuple[Any, ...]) -> dict[str, Any]:
    """(request id, seq, epoch seconds, account, principal ARN, Decision, mode) -> a table row."""
    request_id, seq, epoch, account, principal_arn, decision, mode = item
    return {
        "request_id": request_id,
        "seq": seq,
        "time": datetime.fromtimestamp(epoch, UTC),
        "account_id": account or None,
        "principal_arn": principal_arn,
        "action": decision.action,
        "resource": decision.resource,
        "decision": decision.outcome.value,
        "mode": mode,
        "reason": decision.reason,
        "statements": statements_json([hit.describe() for hit in decision.deciding]),
    }


def read(db: Database, request_id: str) -> list[dict[str, Any]]:
    """The recorded decisions of one request, in the order they were taken."""
    with db.connect() as conn:
        rows = store.get_decisions(conn, request_id)
    out = []
    for row in rows:
        values = dict(row._mapping)
        values["statements"] = json.loads(values["statements"]) if values.get("statements") else []
        out.append(values)
    return out
