"""Statistics, metric math and alarm evaluation rules, without a server."""

from __future__ import annotations

import pytest

from seedbed.services.cloudwatch import alarms, mathexpr
from seedbed.services.cloudwatch.errors import InvalidParameterValue, ValidationError


def test_percentiles_are_weighted_nearest_rank() -> None:
    pairs = [(float(v), 1.0) for v in range(1, 101)]
    assert mathexpr.percentile("p50", pairs) == 50.0
    assert mathexpr.percentile("p99", pairs) == 99.0
    assert mathexpr.percentile("p100", pairs) == 100.0
    assert mathexpr.percentile("p90", [(1.0, 9.0), (50.0, 1.0)]) == 1.0
    assert mathexpr.percentile("p95", [(1.0, 9.0), (50.0, 1.0)]) == 50.0
    assert mathexpr.check_stat("p99.9") == "p99.9"
    with pytest.raises(InvalidParameterValue, match="TM90"):
        mathexpr.check_stat("TM90")


def test_expressions() -> None:
    env = {"a": {1: 1.0, 2: 2.0, 3: 3.0}, "b": {2: 10.0, 3: 0.0}, "__stamps__": [1, 2, 3]}
    ev = lambda text: mathexpr.Expression(text, "e1").evaluate(env)
    assert ev("a * 2 + 1") == {1: 3.0, 2: 5.0, 3: 7.0}
    assert ev("a + b") == {2: 12.0, 3: 3.0}
    assert ev("b / a") == {2: 5.0, 3: 0.0}
    assert ev("a / b") == {2: 0.2}  # division by zero leaves the point out
    assert ev("SUM([a, b])") == {1: 1.0, 2: 12.0, 3: 3.0}
    assert ev("AVG(a)") == 2.0
    assert ev("-(a - 4)") == {1: 3.0, 2: 2.0, 3: 1.0}
    assert ev("ABS(a - 2)") == {1: 1.0, 2: 0.0, 3: 1.0}
    assert ev("FILL(b, 0)") == {1: 0.0, 2: 10.0, 3: 0.0}
    with pytest.raises(ValidationError, match="SEARCH"):
        mathexpr.Expression("SEARCH('{AWS/EC2} CPU', 'Average', 300)", "e1")
    with pytest.raises(ValidationError, match="e2"):
        mathexpr.Expression("a +", "e2")


def _config(**extra: object) -> dict:
    return {"Period": 60, "EvaluationPeriods": 3, "Threshold": 10.0,
            "ComparisonOperator": "GreaterThanThreshold", "Statistic": "Average", **extra}


NOW = 1_700_000_000_000 - (1_700_000_000_000 % 60_000) + 30_000  # mid-period


def _fetch(values: dict[int, float]):  # type: ignore[no-untyped-def]
    def fetch(start: int, end: int, period: int) -> dict[int, float]:
        return {k: v for k, v in values.items() if start <= k < end}
    return fetch


def _periods_ago(*values: float | None) -> dict[int, float]:
    current = NOW - NOW % 60_000
    out = {}
    for back, value in enumerate(reversed(values)):
        if value is not None:
            out[current - back * 60_000] = value
    return out


def test_alarm_when_enough_periods_breach() -> None:
    out = alarms.evaluate(_config(), _fetch(_periods_ago(11, 12, 13)), NOW, "OK")
    assert out and out.state == "ALARM" and "3 out of the last 3 datapoints" in out.reason
    out = alarms.evaluate(_config(DatapointsToAlarm=2), _fetch(_periods_ago(11, 1, 13)), NOW, "OK")
    assert out and out.state == "ALARM"
    out = alarms.evaluate(_config(), _fetch(_periods_ago(11, 1, 13)), NOW, "ALARM")
    assert out and out.state == "OK" and "were not greater than the threshold (10.0)" in out.reason


def test_the_period_under_way_counts_once_it_has_data() -> None:
    current = NOW - NOW % 60_000
    data = {current - 60_000: 20.0}
    out = alarms.evaluate(_config(EvaluationPeriods=1), _fetch(data), NOW, "OK")
    assert out and out.state == "ALARM" and out.reason.startswith("Threshold Crossed: 1 datapoint [20.0")
    data[current] = 1.0
    out = alarms.evaluate(_config(EvaluationPeriods=1), _fetch(data), NOW, "ALARM")
    assert out and out.state == "OK"


@pytest.mark.parametrize("treat,state", [
    ("missing", "INSUFFICIENT_DATA"), ("breaching", "ALARM"), ("notBreaching", "OK"), ("ignore", None)])
def test_missing_data_treatment(treat: str, state: str | None) -> None:
    out = alarms.evaluate(_config(TreatMissingData=treat), _fetch({}), NOW, "OK")
    assert (out.state if out else None) == state


def test_missing_periods_count_as_breaching_when_told() -> None:
    out = alarms.evaluate(_config(TreatMissingData="breaching"), _fetch(_periods_ago(11, None, None)), NOW, "OK")
    assert out and out.state == "ALARM"
    out = alarms.evaluate(_config(), _fetch(_periods_ago(11, None, None)), NOW, "OK")
    assert out and out.state == "OK"
