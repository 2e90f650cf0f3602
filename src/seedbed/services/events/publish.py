"""How other services emit the events AWS services emit ("SageMaker Model Package State Change",
"CodeBuild Build State Change", ...) onto an account's default event bus.

It is a ``PutEvents`` call made by Seedbed acting as the AWS service (principal None), so the
events bus code stays the only owner of rules and deliveries. Only calls from Seedbed itself may
use ``aws.*`` sources, as on AWS.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from seedbed.errors import ServiceError

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

log = logging.getLogger(__name__)


async def emit(
    backend: Backend,
    account_id: str,
    region: str,
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    resources: list[str] | None = None,
) -> None:
    """Put one service event on the default bus of ``account_id`` in ``region``. A failure to
    deliver is logged, never raised: the operation that caused the event has already happened."""
    entry = {
        "Source": source, "DetailType": detail_type, "Detail": json.dumps(detail, default=str),
        "Resources": resources or [], "EventBusName": "default",
    }
    try:
        await backend.call(None, "events", "PutEvents", {"Entries": [entry]}, region, account_id)
    except ServiceError as exc:
        log.warning("could not emit %s %r: %s: %s", source, detail_type, exc.code, exc.message)
