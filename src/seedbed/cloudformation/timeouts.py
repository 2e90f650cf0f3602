"""Stack creation deadlines (``TimeoutInMinutes``) and what a stack does when its create fails
(``OnFailure``), journaled with the stack so that a resumed operation honours them.

Both live in the stack row's ``pending`` document, written in the same transaction as the stack
itself: ``{"deadline": ISO-8601 time, "on_failure": "ROLLBACK" | "DO_NOTHING" | "DELETE"}``. The
deadline is wall-clock time (it must mean the same thing to the process that resumes the stack);
the engine reads the time through a :class:`Clock` so tests can move it instead of waiting.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from seedbed.cloudformation.errors import CfnValidationError

#: The stack status reason AWS gives when a create outlives TimeoutInMinutes.
TIMED_OUT = "Stack creation time exceeded the specified timeout."
#: What in-progress resources say when their create is abandoned.
CANCELLED = "Resource creation cancelled"
ON_FAILURE = ("ROLLBACK", "DO_NOTHING", "DELETE")
BOTH_GIVEN = "Either DisableRollback or OnFailure can be specified, not both."


class Clock:
    """Wall-clock time for deadlines. Sleeps in slices, so a clock that jumps is noticed."""

    slice_seconds = 30.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        while True:
            left = (when - self.now()).total_seconds()
            if left <= 0:
                return
            await asyncio.sleep(min(left, self.slice_seconds))


def minutes(value: Any) -> int | None:
    """TimeoutInMinutes as given (API integer or template string); at least 1, as AWS requires."""
    if value is None or value == "":
        return None
    try:
        number = int(str(value))
    except ValueError:
        raise CfnValidationError(f"Value '{value}' at 'timeoutInMinutes' is not a valid integer") from None
    if number < 1:
        raise CfnValidationError(
            f"1 validation error detected: Value '{number}' at 'timeoutInMinutes' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1"
        )
    return number


def pending(clock: Clock, timeout_minutes: int | None, on_failure: str | None) -> dict[str, Any] | None:
    """The journaled document for a create that starts now."""
    doc: dict[str, Any] = {}
    if timeout_minutes:
        doc["deadline"] = (clock.now() + timedelta(minutes=timeout_minutes)).isoformat()
    if on_failure and on_failure != "ROLLBACK":
        doc["on_failure"] = on_failure
    return doc or None


def deadline_of(stack: dict[str, Any]) -> datetime | None:
    text = (stack.get("pending") or {}).get("deadline")
    if not text:
        return None
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def on_failure_of(stack: dict[str, Any]) -> str:
    if stack.get("disable_rollback"):
        return "DO_NOTHING"
    return str((stack.get("pending") or {}).get("on_failure") or "ROLLBACK")
