"""Schedule expressions of scheduled rules: ``rate(...)`` and ``cron(...)``, checked as
EventBridge checks them and evaluated in UTC.

``rate(value unit)``: a positive whole number and ``minute``/``minutes``, ``hour``/``hours`` or
``day``/``days`` (singular exactly when the value is 1).

``cron(minutes hours day-of-month month day-of-week year)``: six fields; ``, - * /`` everywhere,
``?`` in one of day-of-month and day-of-week (exactly one of them must be ``?``), ``L`` and
``W`` in day-of-month (``L``, ``LW``, ``15W``), ``L`` and ``#`` in day-of-week (``L``, ``6L``,
``3#2``); months ``1-12`` or ``JAN-DEC``, weekdays ``1-7`` (Sunday is 1) or ``SUN-SAT``, years
``1970-2199``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from seedbed.services.events.errors import Validation

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
MAX_YEAR = 2199


def invalid() -> Validation:
    return Validation("Parameter ScheduleExpression is not valid.")


@dataclass(frozen=True)
class Rate:
    seconds: int

    def next_after(self, anchor: datetime, now: datetime) -> datetime:
        """The first firing after ``now`` of a rate started at ``anchor``."""
        if now < anchor:
            return anchor + timedelta(seconds=self.seconds)
        periods = int((now - anchor).total_seconds() // self.seconds) + 1
        return anchor + timedelta(seconds=periods * self.seconds)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    #: day-of-month: a set of days, or None when the field is ``?``.
    days: frozenset[int] | None
    last_day: bool
    last_weekday: bool
    nearest_weekday: frozenset[int]
    #: day-of-week: a set of 1..7, or None when the field is ``?``.
    weekdays: frozenset[int] | None
    last_of_weekday: frozenset[int]
    nth_weekday: frozenset[tuple[int, int]]

    def next_after(self, anchor: datetime, now: datetime) -> datetime | None:
        """The first firing strictly after ``now`` (None when there is none before 2200)."""
        start = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        first = True
        while day.year <= MAX_YEAR:
            if day.year not in self.years:
                day = day.replace(year=day.year + 1, month=1, day=1)
                first = False
                continue
            if day.month not in self.months:
                day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
                first = False
                continue
            if self._day_ok(day.year, day.month, day.day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        when = datetime(day.year, day.month, day.day, hour, minute,
                                        tzinfo=UTC)
                        if not first or when >= start:
                            return when
            day += timedelta(days=1)
            first = False
        return None

    def _day_ok(self, year: int, month: int, day: int) -> bool:
        last = calendar.monthrange(year, month)[1]
        weekday = (calendar.weekday(year, month, day) + 1) % 7 + 1  # Sunday 1 .. Saturday 7
        if self.days is not None or self.last_day or self.last_weekday or self.nearest_weekday:
            if self.days is not None and day in self.days:
                return True
            if self.last_day and day == last:
                return True
            if self.last_weekday and day == _nearest_weekday(year, month, last, last):
                return True
            return any(day == _nearest_weekday(year, month, n, last)
                       for n in self.nearest_weekday if n <= last)
        if self.weekdays is not None and weekday in self.weekdays:
            return True
        if weekday in self.last_of_weekday and day + 7 > last:
            return True
        return (weekday, (day - 1) // 7 + 1) in self.nth_weekday


def _nearest_weekday(year: int, month: int, target: int, last: int) -> int:
    """The weekday (Mon-Fri) nearest to ``target`` within the month (cron's ``W``)."""
    weekday = calendar.weekday(year, month, target)  # Monday 0
    if weekday == 5:  # Saturday: Friday before, or Monday after on the 1st
        return target - 1 if target > 1 else target + 2
    if weekday == 6:  # Sunday: Monday after, or Friday before on the last day
        return target + 1 if target < last else target - 2
    return target


Schedule = Rate | Cron


def parse(expression: str) -> Schedule:
    """Check and parse a schedule expression; ValidationException as EventBridge answers."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1 or (value == 1) != (not unit.endswith("s")):
            raise invalid()
        return Rate(value * _UNIT_SECONDS[unit.rstrip("s")])
    cron = _CRON.match(text)
    if not cron:
        raise invalid()
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise invalid()
    try:
        return _cron(fields)
    except (ValueError, IndexError):
        raise invalid() from None


def _cron(fields: list[str]) -> Cron:
    minute_f, hour_f, dom_f, month_f, dow_f, year_f = fields
    if (dom_f == "?") == (dow_f == "?"):
        raise ValueError("exactly one of day-of-month and day-of-week is '?'")
    days: frozenset[int] | None = None
    last_day = last_weekday = False
    nearest: set[int] = set()
    if dom_f != "?":
        plain: list[str] = []
        for item in dom_f.split(","):
            if item == "L":
                last_day = True
            elif item == "LW":
                last_weekday = True
            elif item.endswith("W"):
                n = int(item[:-1])
                if not 1 <= n <= 31:
                    raise ValueError(item)
                nearest.add(n)
            else:
                plain.append(item)
        days = _field(",".join(plain), 1, 31) if plain else frozenset()
    weekdays: frozenset[int] | None = None
    last_of: set[int] = set()
    nth: set[tuple[int, int]] = set()
    if dow_f != "?":
        plain = []
        for item in dow_f.split(","):
            if item == "L":
                last_of.add(7)
            elif item.endswith("L"):
                last_of.add(_value(item[:-1], 1, 7, _DAYS))
            elif "#" in item:
                day, _, n = item.partition("#")
                count = int(n)
                if not 1 <= count <= 5:
                    raise ValueError(item)
                nth.add((_value(day, 1, 7, _DAYS), count))
            else:
                plain.append(item)
        weekdays = _field(",".join(plain), 1, 7, _DAYS) if plain else frozenset()
    return Cron(
        minutes=_field(minute_f, 0, 59),
        hours=_field(hour_f, 0, 23),
        months=_field(month_f, 1, 12, _MONTHS),
        years=_field(year_f, 1970, MAX_YEAR),
        days=days,
        last_day=last_day,
        last_weekday=last_weekday,
        nearest_weekday=frozenset(nearest),
        weekdays=weekdays,
        last_of_weekday=frozenset(last_of),
        nth_weekday=frozenset(nth),
    )


def _value(text: str, low: int, high: int, names: dict[str, int] | None = None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ValueError(text)
    number = int(text)
    if not low <= number <= high:
        raise ValueError(text)
    return number


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    out: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ValueError("empty item")
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            step = int(step_text)
            if step < 1:
                raise ValueError(item)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _value(a, low, high, names), _value(b, low, high, names)
            if first > last:
                raise ValueError(item)
        else:
            first = _value(base, low, high, names)
            last = high if step_text else first
        out.update(range(first, last + 1, step))
    return frozenset(out)
