"""Metric alarm evaluation: which state the data puts an alarm in, and why (as AWS words it).

An alarm looks at its last ``EvaluationPeriods`` periods (aligned to the epoch). The period now
under way counts once it has data; until then the range ends with the last whole period, so an
alarm does not flap at each period boundary. ``DatapointsToAlarm`` (M) of the ``N`` periods must
breach for ALARM. Missing periods follow ``TreatMissingData``: ``missing`` (default) and
``ignore`` leave them out (all missing: INSUFFICIENT_DATA, or no change for ``ignore``),
``breaching`` and ``notBreaching`` count them as such.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from seedbed.services.cloudwatch import mathexpr

OPERATORS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", lambda v, t: v >= t),
    "GreaterThanThreshold": ("greater than", lambda v, t: v > t),
    "LessThanThreshold": ("less than", lambda v, t: v < t),
    "LessThanOrEqualToThreshold": ("less than or equal to", lambda v, t: v <= t),
}
TREAT_MISSING = ("breaching", "notBreaching", "ignore", "missing")


@dataclass
class Outcome:
    state: str
    reason: str
    reason_data: dict[str, Any]


#: (start_ms, end_ms, period_s) -> series of the alarm's metric (or its ReturnData expression)
Fetch = Callable[[int, int, int], mathexpr.Series]


def alarm_period(config: dict[str, Any]) -> int:
    if config.get("Metrics"):
        for query in config["Metrics"]:
            if query.get("MetricStat"):
                return int(query["MetricStat"]["Period"])
            if query.get("Period"):
                return int(query["Period"])
        return 60
    return int(config["Period"])


def _fmt_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%d/%m/%y %H:%M:%S")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _num(value: float) -> str:
    return repr(float(value))


def evaluate(config: dict[str, Any], fetch: Fetch, now_ms: int, current: str) -> Outcome | None:
    """The state the alarm's data says it should be in, or None to leave it as it is."""
    period = alarm_period(config)
    period_ms = period * 1000
    n = int(config["EvaluationPeriods"])
    m = int(config.get("DatapointsToAlarm") or n)
    threshold = float(config["Threshold"])
    op_text, breaches = OPERATORS[config["ComparisonOperator"]]
    treat = config.get("TreatMissingData") or "missing"
    current_bucket = (now_ms // period_ms) * period_ms
    series = fetch(current_bucket - n * period_ms, current_bucket + period_ms, period)
    last = current_bucket if current_bucket in series else current_bucket - period_ms
    buckets = [last - (n - 1 - i) * period_ms for i in range(n)]
    values = [series.get(b) for b in buckets]
    present = [(b, v) for b, v in zip(buckets, values) if v is not None]
    breaching = [(b, v) for b, v in present if breaches(v, threshold)]
    missing = n - len(present)
    if treat == "breaching":
        breach_count = len(breaching) + missing
    else:
        breach_count = len(breaching)
    stat = config.get("Statistic") or config.get("ExtendedStatistic")
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": _iso(now_ms),
        "startDate": _iso(buckets[0]),
        "period": period,
        "recentDatapoints": [v for _, v in reversed(present)],
        "threshold": threshold,
        "evaluatedDatapoints": [{"timestamp": _iso(b), "value": v} for b, v in reversed(present)],
    }
    if stat:
        data["statistic"] = stat
    shown = ", ".join(f"{_num(v)} ({_fmt_time(b)})" for b, v in reversed(present))
    if not present and treat in ("missing", "ignore"):
        if treat == "ignore":
            return None
        what = "1 datapoint was" if n == 1 else f"{n} datapoints were"
        return Outcome("INSUFFICIENT_DATA", f"Insufficient Data: {what} unknown.", data)
    if breach_count >= m:
        count = len(breaching) if treat != "breaching" else breach_count
        if n == 1:
            reason = f"Threshold Crossed: 1 datapoint [{shown}] was {op_text} the threshold ({_num(threshold)})."
        else:
            reason = (f"Threshold Crossed: {count} out of the last {n} datapoints [{shown}] were "
                      f"{op_text} the threshold ({_num(threshold)}) (minimum {m} datapoint"
                      f"{'s' if m != 1 else ''} for OK -> ALARM transition).")
        if not present:
            reason = (f"Threshold Crossed: no datapoints were received for {n} period"
                      f"{'s' if n != 1 else ''} and {n} missing datapoint"
                      f"{'s were' if n != 1 else ' was'} treated as [Breaching].")
        return Outcome("ALARM", reason, data)
    if not present:
        reason = (f"Threshold Crossed: no datapoints were received for {n} period"
                  f"{'s' if n != 1 else ''} and {n} missing datapoint"
                  f"{'s were' if n != 1 else ' was'} treated as [NonBreaching].")
    elif n == 1:
        reason = (f"Threshold Crossed: 1 datapoint [{shown}] was not {op_text} the threshold "
                  f"({_num(threshold)}).")
    else:
        reason = (f"Threshold Crossed: {len(present) - len(breaching)} out of the last {n} "
                  f"datapoints [{shown}] were not {op_text} the threshold ({_num(threshold)}) "
                  f"(minimum {n - m + 1} datapoint{'s' if n - m + 1 != 1 else ''} for ALARM -> "
                  "OK transition).")
    return Outcome("OK", reason, data)


def event_configuration(config: dict[str, Any]) -> dict[str, Any]:
    """The ``configuration`` member of "CloudWatch Alarm State Change" events."""
    out: dict[str, Any] = {}
    if config.get("AlarmDescription"):
        out["description"] = config["AlarmDescription"]
    if config.get("Metrics"):
        metrics = []
        for query in config["Metrics"]:
            item: dict[str, Any] = {"id": query["Id"], "returnData": query.get("ReturnData", True)}
            if query.get("Expression"):
                item["expression"] = query["Expression"]
            if query.get("Label"):
                item["label"] = query["Label"]
            if query.get("MetricStat"):
                stat = query["MetricStat"]
                item["metricStat"] = {
                    "metric": {"namespace": stat["Metric"]["Namespace"],
                               "name": stat["Metric"]["MetricName"],
                               "dimensions": {d["Name"]: d["Value"]
                                              for d in stat["Metric"].get("Dimensions") or []}},
                    "period": stat["Period"], "stat": stat["Stat"],
                }
            metrics.append(item)
        out["metrics"] = metrics
    else:
        out["metrics"] = [{
            "id": "m1",
            "metricStat": {
                "metric": {"namespace": config["Namespace"], "name": config["MetricName"],
                           "dimensions": {d["Name"]: d["Value"]
                                          for d in config.get("Dimensions") or []}},
                "period": config["Period"],
                "stat": config.get("Statistic") or config.get("ExtendedStatistic"),
            },
            "returnData": True,
        }]
    return out


def state_doc(value: str, reason: str, reason_data: str | None, when: datetime) -> dict[str, Any]:
    doc: dict[str, Any] = {"value": value, "reason": reason,
                           "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"}
    if reason_data:
        doc["reasonData"] = reason_data
    return doc


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))
