"""The audit trail: every request, allowed or denied, as a CloudTrail-style event.

Writing a row per request inside the request would put a database commit on every call's latency,
so events go through :class:`~seedbed.state.batching.BatchWriter`, which commits them in batches
(every 50 ms or 500 events). A crash can lose at most the last fraction of a second
of events; a clean shutdown loses none. Readers call :meth:`AuditLog.flush` first so a process
sees its own events.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

from seedbed.server.context import INTERNAL_SOURCE, RequestContext
from seedbed.services.cloudtrail import store
from seedbed.state import ids
from seedbed.state.batching import BatchWriter
from seedbed.state.db import Database

log = logging.getLogger(__name__)

MAX_PARAMETERS_CHARS = 64 * 1024
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"

#: Member names whose values never reach the trail (lower-cased).
SENSITIVE = frozenset(
    name.lower()
    for name in (
        "SecretAccessKey",
        "SessionToken",
        "Password",
        "OldPassword",
        "NewPassword",
        "PrivateKey",
        "SecretString",
        "SecretBinary",
        "Plaintext",
        "Token",
        "AuthToken",
        "PersonalAccessToken",
        "ClientSecret",
        "Body",
        "ZipFile",
        "Environment",
    )
)

#: Top-level members hidden only for one operation (a global rule would also hide tag values).
SENSITIVE_BY_OPERATION: dict[tuple[str, str], frozenset[str]] = {
    ("ssm", "PutParameter"): frozenset({"Value"}),
}

READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Head", "Lookup", "BatchGet", "Search", "Select")


def redact(value: Any) -> Any:
    """A JSON-safe copy of request parameters with secrets and payloads hidden."""
    if isinstance(value, dict):
        return {k: (HIDDEN if k.lower() in SENSITIVE else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def is_read_only(operation: str) -> bool:
    return operation.startswith(READ_ONLY_PREFIXES)


class AuditLog(BatchWriter):
    """Queue of events and the thread that writes them."""

    def __init__(self, db: Database) -> None:
        self._db = db
        super().__init__("seedbed-audit")

    def record(
        self,
        ctx: RequestContext,
        event_source: str,
        params: dict[str, Any] | None,
        error_code: str | None = None,
        error_message: str | None = None,
        access_key_id: str | None = None,
    ) -> None:
        principal = ctx.principal
        parameters = None
        if params:
            hidden = SENSITIVE_BY_OPERATION.get((ctx.service, ctx.operation), frozenset())
            visible = {k: (HIDDEN if k in hidden else v) for k, v in params.items()}
            parameters = json.dumps(redact(visible), default=str)
            if len(parameters) > MAX_PARAMETERS_CHARS:
                parameters = json.dumps({"truncated": True, "size": len(parameters)})
        self._enqueue(
            {
                "event_id": ids.request_id(),
                "event_time": datetime.now(timezone.utc),
                "event_source": event_source,
                "event_name": ctx.operation or "Unknown",
                "aws_region": ctx.region,
                "account_id": principal.account_id if principal else (ctx.account_id or None),
                "principal_arn": principal.arn if principal else None,
                "principal_type": principal.type if principal else None,
                "access_key_id": principal.access_key_id if principal else access_key_id,
                "user_name": _user_name(principal),
                "source_ip": _source(ctx),
                "user_agent": (ctx.invoked_by or ctx.user_agent or _source(ctx))[:1024],
                "request_id": ctx.request_id,
                "read_only": is_read_only(ctx.operation or ""),
                "error_code": error_code,
                "error_message": (error_message or None) and error_message[:4000],
                "request_parameters": parameters,
                "resources": json.dumps(ctx.resources) if ctx.resources else None,
            }
        )

    def _write(self, batch: list[dict]) -> None:
        if not batch:
            return
        try:
            with self._db.begin() as conn:
                store.append(conn, batch)
        except Exception:  # never let the trail take the server down; say so loudly
            log.exception("could not write %d audit events", len(batch))


def _source(ctx: RequestContext) -> str:
    """``sourceIPAddress``: the caller's address, the acting service's name for a call one service
    makes for another, or "AWS Internal" (CloudTrail's words) for Seedbed's own housekeeping."""
    if ctx.invoked_by:
        return ctx.invoked_by
    return "AWS Internal" if ctx.source_ip == INTERNAL_SOURCE else ctx.source_ip


def _user_name(principal) -> str | None:  # type: ignore[no-untyped-def]
    if principal is None:
        return None
    if principal.type == "AssumedRole":
        return principal.arn.rsplit("/", 1)[-1]
    if principal.type == "Root":
        return "root"
    return principal.user_name

