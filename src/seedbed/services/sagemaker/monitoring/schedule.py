"""Monitoring schedule expressions and analysis windows.

``ScheduleExpression`` is ``NOW`` (one execution, right away) or an hourly-grained cron
expression (``cron(0 * ? * * *)``, ``cron(0 12 ? * * *)``, ``cron(0 17/12 ? * * *)``: six fields
in the EventBridge syntax, with the minutes field ``0``, as SageMaker requires). A schedule
without a ScheduleConfig runs daily at midnight UTC.

The analysis window of an execution scheduled at ``T`` is ``[T + DataAnalysisStartTime,
T + DataAnalysisEndTime)`` when those ISO 8601 offsets are given (``-PT1H``, ``PT0H``; at most 24
hours apart; required with ``NOW``), otherwise the hour before ``T``. An execution is due at its
scheduled time (AWS starts within 0-20 minutes after it; Seedbed starts at once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from seedbed.services.sagemaker.errors import SageMakerValidation

NOW = "NOW"
DAILY = "cron(0 0 ? * * *)"
_DURATION = re.compile(
    r"^(?P<sign>[-+])?P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
MAX_WINDOW = timedelta(hours=24)


def offset(text: str, what: str) -> timedelta:
    """An ISO 8601 duration offset such as ``-PT1H`` (ValidationException when malformed)."""
    match = _DURATION.match(text.strip())
    if not match or text.strip().lstrip("+-") in ("P", "PT"):
        raise SageMakerValidation(f"{what} {text} is not a valid ISO 8601 duration offset such as -PT1H.")
    delta = timedelta(days=int(match["days"] or 0), hours=int(match["hours"] or 0),
                      minutes=int(match["minutes"] or 0), seconds=int(match["seconds"] or 0))
    return -delta if match["sign"] == "-" else delta


@dataclass(frozen=True)
class Schedule:
    expression: str
    cron: object | None  # seedbed.services.events.schedule.Cron, None for NOW
    start_offset: timedelta | None
    end_offset: timedelta | None

    @property
    def one_time(self) -> bool:
        return self.cron is None

    def next_after(self, when: datetime) -> datetime | None:
        """The first scheduled time strictly after ``when`` (None for NOW)."""
        if self.cron is None:
            return None
        return self.cron.next_after(when, when)  # type: ignore[attr-defined]

    def window(self, scheduled: datetime) -> tuple[datetime, datetime]:
        if self.start_offset is None or self.end_offset is None:
            return scheduled - timedelta(hours=1), scheduled
        return scheduled + self.start_offset, scheduled + self.end_offset


def parse(config: dict[str, object] | None) -> Schedule:
    """Check a ScheduleConfig as CreateMonitoringSchedule does."""
    config = dict(config or {})
    expression = str(config.get("ScheduleExpression") or DAILY).strip()
    start_text, end_text = config.get("DataAnalysisStartTime"), config.get("DataAnalysisEndTime")
    start = offset(str(start_text), "DataAnalysisStartTime") if start_text else None
    end = offset(str(end_text), "DataAnalysisEndTime") if end_text else None
    if expression.upper() == NOW:
        if start is None or end is None:
            raise SageMakerValidation(
                "DataAnalysisStartTime and DataAnalysisEndTime are required when the ScheduleExpression is NOW.")
        cron = None
        expression = NOW
    else:
        from seedbed.services.events.schedule import Cron
        from seedbed.services.events.schedule import parse as parse_expression

        try:
            parsed = parse_expression(expression)
        except Exception:  # noqa: BLE001 - the events module's ValidationException
            parsed = None
        if not isinstance(parsed, Cron) or parsed.minutes != frozenset({0}):
            raise SageMakerValidation(
                f"Invalid ScheduleExpression {expression}: use NOW or an hourly cron expression such as "
                "cron(0 * ? * * *), cron(0 12 ? * * *) or cron(0 0/6 ? * * *).")
        cron = parsed
    if (start is None) != (end is None):
        raise SageMakerValidation("DataAnalysisStartTime and DataAnalysisEndTime must be given together.")
    if start is not None and end is not None:
        if start >= end:
            raise SageMakerValidation("DataAnalysisStartTime must be before DataAnalysisEndTime.")
        if end - start > MAX_WINDOW:
            raise SageMakerValidation("DataAnalysisStartTime must not precede DataAnalysisEndTime by more than 24 hours.")
        if end > timedelta(0):
            raise SageMakerValidation("DataAnalysisEndTime must not be later than the scheduled time (an offset of PT0H or less).")
    return Schedule(expression, cron, start, end)
