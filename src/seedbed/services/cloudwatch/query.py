"""Reading metric data: one statistic of one metric per period, and GetMetricData's queries
(metric stats and metric math), shared by the API and the alarm evaluator."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from seedbed.services.cloudwatch import mathexpr, store
from seedbed.services.cloudwatch.errors import ValidationError

_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")


def fetch_series(conn: Connection, account: str, region: str, metric: dict[str, Any],
                 start_ms: int, end_ms: int, period_s: int, stat: str,
                 unit: str | None = None, origin_ms: int = 0) -> mathexpr.Series:
    """``stat`` of the metric per period in ``[start, end)``; periods start at ``origin_ms`` plus
    a multiple of the period. Periods without data are absent."""
    mid = store.metric_id(conn, account, region, metric["Namespace"], metric["MetricName"],
                          metric.get("Dimensions") or [])
    if mid is None:
        return {}
    period_ms = period_s * 1000
    shift = origin_ms % period_ms
    out: mathexpr.Series = {}
    if mathexpr.is_percentile(stat):
        for key, (pairs, complete) in store.raw_values(
            conn, mid, start_ms, end_ms, period_s, unit, shift
        ).items():
            value = mathexpr.percentile(stat, pairs) if complete else None
            if value is not None:
                out[key] = value
        return out
    for bucket in store.aggregate(conn, mid, start_ms, end_ms, period_s, unit, False, shift):
        out[bucket.start_ms] = mathexpr.basic(stat, bucket.sample_count, bucket.sum,
                                              bucket.minimum, bucket.maximum)
    return out


@dataclass
class Result:
    id: str
    label: str
    series: mathexpr.Series
    return_data: bool


def check_queries(queries: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    returned = 0
    for index, query in enumerate(queries, start=1):
        qid = query["Id"]
        if not _ID.match(qid):
            raise ValidationError(
                f"The value {qid} for parameter MetricDataQueries.member.{index}.Id is invalid: "
                "it must start with a lowercase letter and hold only letters, digits and _."
            )
        if qid in seen:
            raise ValidationError(f"The values for parameter id in MetricDataQueries are not unique: {qid}")
        seen.add(qid)
        if bool(query.get("MetricStat")) == bool(query.get("Expression")):
            raise ValidationError(
                f"Exactly one element of MetricDataQueries.member.{index}.MetricStat and "
                f"MetricDataQueries.member.{index}.Expression must be specified."
            )
        if query.get("MetricStat"):
            mathexpr.check_stat(query["MetricStat"]["Stat"],
                                f"MetricDataQueries.member.{index}.MetricStat.Stat")
        else:
            mathexpr.Expression(query["Expression"], qid)  # parse errors surface now
        if query.get("ReturnData", True):
            returned += 1
    if not returned:
        raise ValidationError("At least one MetricDataQuery must have ReturnData set to true.")


def run_queries(conn: Connection, account: str, region: str, queries: list[dict[str, Any]],
                start_ms: int, end_ms: int) -> list[Result]:
    """Every query's series, in the given order (expressions may refer to any other id)."""
    env: dict[str, Any] = {}
    results: dict[str, Result] = {}
    periods = [q["MetricStat"]["Period"] for q in queries if q.get("MetricStat")]
    for query in queries:
        stat = query.get("MetricStat")
        if not stat:
            continue
        metric = stat["Metric"]
        period = stat["Period"]
        # Periods start at StartTime rounded down to the minute (to the second below 60 s).
        step = min(period, 60) * 1000
        origin = (start_ms // step) * step
        series = fetch_series(conn, account, region, metric, origin, end_ms, period,
                              stat["Stat"], stat.get("Unit"), origin)
        env[query["Id"]] = series
        results[query["Id"]] = Result(query["Id"], query.get("Label") or metric["MetricName"],
                                      series, query.get("ReturnData", True))
    stamps = sorted(set().union(*(r.series.keys() for r in results.values()))) if results else []
    if not stamps and periods:
        step = min(periods) * 1000
        first = (start_ms // step) * step
        stamps = list(range(first, end_ms, step))[:2000]
    env["__stamps__"] = stamps
    pending = [q for q in queries if q.get("Expression")]
    for _ in range(len(pending) + 1):
        if not pending:
            break
        remaining = []
        for query in pending:
            expression = mathexpr.Expression(query["Expression"], query["Id"])
            if any(ref not in env for ref in expression.refs):
                remaining.append(query)
                continue
            value = expression.evaluate(env)
            if isinstance(value, list):
                raise ValidationError(
                    f"Error in expression '{query['Id']}': the expression returns several time "
                    "series; Seedbed supports expressions that return one."
                )
            if not isinstance(value, dict):
                value = {ts: float(value) for ts in stamps}
            value = {ts: v for ts, v in value.items() if not math.isnan(v)}
            env[query["Id"]] = value
            results[query["Id"]] = Result(query["Id"], query.get("Label") or query["Id"], value,
                                          query.get("ReturnData", True))
        if len(remaining) == len(pending):
            missing = sorted({ref for q in remaining
                              for ref in mathexpr.Expression(q["Expression"], q["Id"]).refs
                              if ref not in env and ref not in {p["Id"] for p in remaining}})
            raise ValidationError(
                f"Error in expression '{remaining[0]['Id']}': unknown or circular reference"
                + (f" ({', '.join(missing)})" if missing else "")
            )
        pending = remaining
    return [results[q["Id"]] for q in queries]
