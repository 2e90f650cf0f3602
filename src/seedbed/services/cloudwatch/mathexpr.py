"""Statistics and a small subset of CloudWatch metric math.

Statistics: ``SampleCount``, ``Average``, ``Sum``, ``Minimum``, ``Maximum`` and percentiles
``pNN[.NN]``. Metric math: numbers, query ids, ``+ - * /``, unary minus, parentheses, arrays
``[m1, m2]``, and the functions ``SUM AVG MIN MAX`` (over an array: per timestamp; over one
series: a scalar), ``ABS``, ``FILL(m, value)`` and ``METRICS()``. Any other function (``SEARCH``,
``ANOMALY_DETECTION_BAND``, ``RATE``, ...) is refused with a message naming it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from seedbed.services.cloudwatch.errors import InvalidParameterValue, ValidationError

BASIC_STATS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d{1,10})?|100(?:\.0+)?)$")

Series = dict[int, float]  # bucket start (ms) -> value
Value = Any  # Series | float | list[Series]


def check_stat(stat: str, what: str = "Stat") -> str:
    if stat in BASIC_STATS or _PERCENTILE.match(stat):
        return stat
    raise InvalidParameterValue(
        f"The value {stat} for parameter {what} is not supported by Seedbed (supported: "
        "SampleCount, Average, Sum, Minimum, Maximum and percentiles pNN.NN)."
    )


def is_percentile(stat: str) -> bool:
    return bool(_PERCENTILE.match(stat))


def basic(stat: str, count: float, total: float, minimum: float, maximum: float) -> float:
    if stat == "SampleCount":
        return count
    if stat == "Sum":
        return total
    if stat == "Minimum":
        return minimum
    if stat == "Maximum":
        return maximum
    return total / count if count else 0.0


def percentile(stat: str, pairs: list[tuple[float, float]]) -> float | None:
    """Nearest-rank percentile of weighted ``(value, count)`` pairs."""
    if not pairs:
        return None
    q = float(stat[1:])
    ordered = sorted(pairs)
    total = sum(c for _, c in ordered)
    if total <= 0:
        return None
    rank = max(q / 100.0 * total, min(c for _, c in ordered) if q == 0 else 0.0)
    seen = 0.0
    for value, count in ordered:
        seen += count
        if seen >= rank - 1e-9:
            return value
    return ordered[-1][0]


# -- metric math -------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)|(?P<name>[A-Za-z_][\w]*)"
                    r"|(?P<op>[-+*/(),\[\]])|(?P<str>\"[^\"]*\"|'[^']*'))")

FUNCTIONS = {"SUM", "AVG", "MIN", "MAX", "ABS", "FILL", "METRICS"}


class Expression:
    """A parsed expression; :meth:`evaluate` takes the other queries' results by id."""

    def __init__(self, text: str, query_id: str) -> None:
        self.text = text
        self.query_id = query_id
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if not text[pos:].strip():
                break
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise self.error(f"Unrecognized character at position {pos + 1}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0
        self.refs: set[str] = set()
        self.tree = self._expr()
        if self.i != len(self.tokens):
            raise self.error(f"Unexpected token {self.tokens[self.i][1]!r}")

    def error(self, why: str) -> ValidationError:
        return ValidationError(f"Error in expression '{self.query_id}': {why}")

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self, value: str | None = None) -> tuple[str, str]:
        tok = self._peek()
        if tok is None or (value is not None and tok[1] != value):
            raise self.error(f"Expected {value or 'more input'}")
        self.i += 1
        return tok

    def _expr(self) -> Callable[[dict[str, Value]], Value]:
        left = self._term()
        while (tok := self._peek()) and tok[1] in "+-" and tok[0] == "op":
            self._take()
            right = self._term()
            left = _binary(tok[1], left, right)
        return left

    def _term(self) -> Callable[[dict[str, Value]], Value]:
        left = self._factor()
        while (tok := self._peek()) and tok[1] in "*/" and tok[0] == "op":
            self._take()
            right = self._factor()
            left = _binary(tok[1], left, right)
        return left

    def _factor(self) -> Callable[[dict[str, Value]], Value]:
        tok = self._take()
        kind, text = tok
        if kind == "op" and text == "-":
            inner = self._factor()
            return lambda env: _map(inner(env), lambda v: -v)
        if kind == "op" and text == "(":
            inner = self._expr()
            self._take(")")
            return inner
        if kind == "op" and text == "[":
            items = [self._expr()]
            while self._peek() and self._peek()[1] == ",":  # type: ignore[index]
                self._take()
                items.append(self._expr())
            self._take("]")
            return lambda env: [item(env) for item in items]
        if kind == "num":
            number = float(text)
            return lambda env: number
        if kind == "name":
            if self._peek() and self._peek()[1] == "(":  # type: ignore[index]
                return self._call(text)
            self.refs.add(text)
            return lambda env: _ref(env, text, self)
        raise self.error(f"Unexpected token {text!r}")

    def _call(self, name: str) -> Callable[[dict[str, Value]], Value]:
        upper = name.upper()
        if upper not in FUNCTIONS:
            raise ValidationError(
                f"Error in expression '{self.query_id}': the metric math function {name} is not "
                "supported by Seedbed (supported: SUM, AVG, MIN, MAX, ABS, FILL, METRICS and "
                "arithmetic)."
            )
        self._take("(")
        args: list[Callable[[dict[str, Value]], Value]] = []
        if self._peek() and self._peek()[1] != ")":  # type: ignore[index]
            args.append(self._expr())
            while self._peek() and self._peek()[1] == ",":  # type: ignore[index]
                self._take()
                args.append(self._expr())
        self._take(")")
        if upper == "METRICS":
            return lambda env: [v for k, v in env.items() if k != "__order__" and isinstance(v, dict)]
        if upper == "ABS":
            return lambda env: _map(args[0](env), abs)
        if upper == "FILL":
            if len(args) != 2:
                raise self.error("FILL takes a time series and a value")
            return lambda env: _fill(args[0](env), args[1](env), env)
        reducer = {"SUM": sum, "AVG": lambda xs: sum(xs) / len(xs), "MIN": min, "MAX": max}[upper]
        if len(args) != 1:
            raise self.error(f"{upper} takes one argument")
        return lambda env: _reduce(args[0](env), reducer)

    def evaluate(self, env: dict[str, Value]) -> Value:
        return self.tree(env)


def _ref(env: dict[str, Value], name: str, expr: Expression) -> Value:
    if name not in env:
        raise expr.error(f"Unrecognized query id {name}")
    return env[name]


def _map(value: Value, fn: Callable[[float], float]) -> Value:
    if isinstance(value, dict):
        return {k: fn(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_map(v, fn) for v in value]
    return fn(value)


def _apply(op: str, a: float, b: float) -> float | None:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return None
    return a / b


def _combine(op: str, a: Value, b: Value) -> Value:
    if isinstance(a, list) or isinstance(b, list):
        if isinstance(a, list) and isinstance(b, list):
            return [_combine(op, x, y) for x, y in zip(a, b)]
        if isinstance(a, list):
            return [_combine(op, x, b) for x in a]
        return [_combine(op, a, y) for y in b]
    if isinstance(a, dict) and isinstance(b, dict):
        out = {}
        for ts in a.keys() & b.keys():
            value = _apply(op, a[ts], b[ts])
            if value is not None:
                out[ts] = value
        return out
    if isinstance(a, dict):
        return {ts: v for ts, x in a.items() if (v := _apply(op, x, b)) is not None}
    if isinstance(b, dict):
        return {ts: v for ts, y in b.items() if (v := _apply(op, a, y)) is not None}
    result = _apply(op, a, b)
    return result if result is not None else math.nan


def _binary(op: str, left: Callable, right: Callable) -> Callable[[dict[str, Value]], Value]:
    return lambda env: _combine(op, left(env), right(env))


def _reduce(value: Value, reducer: Callable[[list[float]], float]) -> Value:
    if isinstance(value, list):
        series = [s for s in value if isinstance(s, dict)]
        stamps = set().union(*(s.keys() for s in series)) if series else set()
        return {ts: reducer([s[ts] for s in series if ts in s]) for ts in stamps}
    if isinstance(value, dict):
        return reducer(list(value.values())) if value else math.nan
    return value


def _fill(series: Value, fill: Value, env: dict[str, Value]) -> Value:
    if not isinstance(series, dict):
        return series
    stamps = env.get("__stamps__") or []
    out = dict(series)
    for ts in stamps:
        if ts not in out:
            out[ts] = fill if not isinstance(fill, dict) else fill.get(ts, math.nan)
    return out
