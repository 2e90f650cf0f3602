"""CloudWatch metrics and alarms in process: data, statistics, metric data queries, alarms."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from seedbed.errors import ServiceError
from tests.unit.logs.conftest import Api

DIMS = [{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "AllTraffic"}]


def minute(offset: int = 0) -> datetime:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now + timedelta(minutes=offset)


def test_put_list_and_statistics(cw: Api) -> None:
    t = minute(-2) + timedelta(seconds=5)
    cw("PutMetricData", Namespace="MyApp", MetricData=[
        {"MetricName": "Latency", "Dimensions": DIMS, "Timestamp": t, "Value": 10.0, "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": list(reversed(DIMS)), "Timestamp": t, "Values": [20.0, 30.0],
         "Counts": [1.0, 2.0], "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": DIMS, "Timestamp": t + timedelta(minutes=1),
         "StatisticValues": {"SampleCount": 4, "Sum": 8, "Minimum": 1, "Maximum": 3}, "Unit": "Milliseconds"},
        {"MetricName": "Errors", "Dimensions": DIMS[:1], "Timestamp": t, "Value": 1.0},
    ])
    metrics = cw("ListMetrics", Namespace="MyApp")["Metrics"]
    assert sorted((m["MetricName"], len(m["Dimensions"])) for m in metrics) == [("Errors", 1), ("Latency", 2)]
    only = cw("ListMetrics", Dimensions=[{"Name": "VariantName", "Value": "AllTraffic"}])["Metrics"]
    assert [m["MetricName"] for m in only] == ["Latency"]
    assert cw("ListMetrics", Dimensions=[{"Name": "VariantName", "Value": "x"}])["Metrics"] == []
    stats = cw("GetMetricStatistics", Namespace="MyApp", MetricName="Latency", Dimensions=DIMS,
               StartTime=minute(-5), EndTime=minute(1), Period=60,
               Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"])
    points = sorted(stats["Datapoints"], key=lambda p: p["Timestamp"])
    assert stats["Label"] == "Latency" and len(points) == 2
    assert points[0]["Timestamp"] == minute(-2) and points[0]["Unit"] == "Milliseconds"
    assert (points[0]["SampleCount"], points[0]["Sum"], points[0]["Minimum"], points[0]["Maximum"]) == (4.0, 90.0, 10.0, 30.0)
    assert points[0]["Average"] == 22.5 and points[1]["Average"] == 2.0
    five = cw("GetMetricStatistics", Namespace="MyApp", MetricName="Latency", Dimensions=DIMS,
              StartTime=minute(-5), EndTime=minute(1), Period=300, Statistics=["SampleCount"])
    assert sum(p["SampleCount"] for p in five["Datapoints"]) == 8.0
    pct = cw("GetMetricStatistics", Namespace="MyApp", MetricName="Latency", Dimensions=DIMS,
             StartTime=minute(-5), EndTime=minute(1), Period=60, ExtendedStatistics=["p50", "p99"])
    by_time = {p["Timestamp"]: p["ExtendedStatistics"] for p in pct["Datapoints"]}
    assert by_time[minute(-2)] == {"p50": 20.0, "p99": 30.0}
    assert by_time[minute(-1)] == {}  # a statistic set has no values to take percentiles of


@pytest.mark.parametrize("params,code", [
    ({"Period": 45, "Statistics": ["Sum"]}, "InvalidParameterValue"),
    ({"Period": 60}, "InvalidParameterCombination"),
    ({"Period": 60, "Statistics": ["Sum"], "ExtendedStatistics": ["p9"]}, "InvalidParameterCombination"),
    ({"Period": 1, "Statistics": ["Sum"]}, "InvalidParameterCombination"),  # 3,600 datapoints
])
def test_statistics_validation(cw: Api, params: dict[str, Any], code: str) -> None:
    with pytest.raises(ServiceError) as exc:
        cw("GetMetricStatistics", Namespace="n", MetricName="m", StartTime=minute(-60), EndTime=minute(0), **params)
    assert exc.value.code == code


def test_put_metric_data_validation(cw: Api) -> None:
    for datum, code in (
        ({"MetricName": "m", "Value": 1.0, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}},
         "InvalidParameterCombination"),
        ({"MetricName": "m"}, "MissingParameter"),
        ({"MetricName": "m", "Values": [1.0, 2.0], "Counts": [1.0]}, "InvalidParameterValue"),
        ({"MetricName": "m", "Value": 1.0, "StorageResolution": 5}, "InvalidParameterValue"),
        ({"MetricName": "m", "Value": 1.0, "Timestamp": minute(300)}, "InvalidParameterValue"),
    ):
        with pytest.raises(ServiceError) as exc:
            cw("PutMetricData", Namespace="n", MetricData=[datum])
        assert exc.value.code == code, datum
    with pytest.raises(ServiceError) as exc:
        cw("PutMetricData", Namespace="AWS/SageMaker", MetricData=[{"MetricName": "m", "Value": 1.0}])
    assert exc.value.code == "InvalidParameterValue"


def test_get_metric_data_stats_math_and_order(cw: Api) -> None:
    for offset, (requests, errors) in enumerate(((10.0, 1.0), (20.0, 5.0), (40.0, 0.0))):
        t = minute(offset - 3) + timedelta(seconds=1)
        cw("PutMetricData", Namespace="Svc", MetricData=[
            {"MetricName": "Requests", "Timestamp": t, "Value": requests},
            {"MetricName": "Errors", "Timestamp": t, "Value": errors}])
    metric = lambda name: {"Namespace": "Svc", "MetricName": name}
    out = cw("GetMetricData", StartTime=minute(-5), EndTime=minute(1), MetricDataQueries=[
        {"Id": "r", "MetricStat": {"Metric": metric("Requests"), "Period": 60, "Stat": "Sum"}},
        {"Id": "e", "MetricStat": {"Metric": metric("Errors"), "Period": 60, "Stat": "Sum"}, "ReturnData": False},
        {"Id": "rate", "Expression": "100 * e / r", "Label": "Error rate"},
    ])
    results = {r["Id"]: r for r in out["MetricDataResults"]}
    assert set(results) == {"r", "rate"}
    assert results["r"]["Values"] == [40.0, 20.0, 10.0]  # TimestampDescending by default
    assert results["r"]["Label"] == "Requests" and results["rate"]["Label"] == "Error rate"
    assert results["rate"]["Values"] == [0.0, 25.0, 10.0] and results["rate"]["StatusCode"] == "Complete"
    asc = cw("GetMetricData", StartTime=minute(-5), EndTime=minute(1), ScanBy="TimestampAscending", MaxDatapoints=2,
             MetricDataQueries=[{"Id": "r", "MetricStat": {"Metric": metric("Requests"), "Period": 60, "Stat": "Maximum"}}])
    assert asc["MetricDataResults"][0]["Values"] == [10.0, 20.0] and asc["NextToken"]
    rest = cw("GetMetricData", StartTime=minute(-5), EndTime=minute(1), ScanBy="TimestampAscending", MaxDatapoints=2,
              NextToken=asc["NextToken"],
              MetricDataQueries=[{"Id": "r", "MetricStat": {"Metric": metric("Requests"), "Period": 60, "Stat": "Maximum"}}])
    assert rest["MetricDataResults"][0]["Values"] == [40.0] and "NextToken" not in rest
    with pytest.raises(ServiceError) as exc:
        cw("GetMetricData", StartTime=minute(-5), EndTime=minute(1),
           MetricDataQueries=[{"Id": "q", "Expression": "ANOMALY_DETECTION_BAND(r, 2)"}])
    assert exc.value.code == "ValidationError" and "ANOMALY_DETECTION_BAND" in exc.value.message


def test_alarm_lifecycle_with_events_and_history(cw: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    emitted: list[tuple[str, str, dict[str, Any], list[str]]] = []

    async def fake_emit(backend: Any, account: str, region: str, source: str, detail_type: str,
                        detail: dict[str, Any], resources: list[str] | None = None) -> None:
        emitted.append((source, detail_type, detail, resources or []))

    monkeypatch.setattr("seedbed.services.events.publish.emit", fake_emit)
    cw("PutMetricAlarm", AlarmName="ep-5xx", Namespace="AWS/SageMaker", MetricName="Invocation5XXErrors",
       Dimensions=DIMS, Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=0,
       ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
       AlarmActions=["arn:aws:sns:us-east-1:000000000000:ops"], Tags=[{"Key": "team", "Value": "ml"}])
    alarm = cw("DescribeAlarms", AlarmNames=["ep-5xx"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "INSUFFICIENT_DATA" and alarm["StateReason"] == "Unchecked: Initial alarm creation"
    assert alarm["AlarmArn"].endswith(":alarm:ep-5xx") and alarm["ActionsEnabled"] is True
    provider = cw.provider
    assert asyncio.run(provider.evaluate_due(force=True)) == 1
    assert cw("DescribeAlarms", StateValue="OK")["MetricAlarms"][0]["AlarmName"] == "ep-5xx"
    # A custom namespace stands in for AWS/SageMaker, which only AWS services may write to.
    cw("PutMetricAlarm", AlarmName="custom", Namespace="Custom", MetricName="Errors", Statistic="Sum",
       Period=60, EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold")
    cw("PutMetricData", Namespace="Custom", MetricData=[{"MetricName": "Errors", "Value": 3.0}])
    asyncio.run(provider.evaluate_due(force=True))
    custom = cw("DescribeAlarms", AlarmNamePrefix="cust")["MetricAlarms"][0]
    assert custom["StateValue"] == "ALARM"
    assert custom["StateReason"].startswith("Threshold Crossed: 1 datapoint [3.0 (")
    assert json.loads(custom["StateReasonData"])["recentDatapoints"] == [3.0]
    kinds = [(e[0], e[1], e[2]["alarmName"], e[2]["state"]["value"]) for e in emitted]
    assert ("aws.cloudwatch", "CloudWatch Alarm State Change", "custom", "ALARM") in kinds
    event = next(e for e in emitted if e[2]["alarmName"] == "custom" and e[2]["state"]["value"] == "ALARM")
    assert event[2]["previousState"]["value"] == "INSUFFICIENT_DATA"
    assert event[2]["configuration"]["metrics"][0]["metricStat"]["metric"]["name"] == "Errors"
    assert event[3] == [custom["AlarmArn"]]
    # SetAlarmState, actions, history.
    cw("SetAlarmState", AlarmName="ep-5xx", StateValue="ALARM", StateReason="testing")
    asyncio.run(asyncio.sleep(0))
    assert cw("DescribeAlarms", AlarmNames=["ep-5xx"])["MetricAlarms"][0]["StateValue"] == "ALARM"
    history = cw("DescribeAlarmHistory", AlarmName="ep-5xx")["AlarmHistoryItems"]
    summaries = [h["HistorySummary"] for h in history]
    assert "Alarm updated from OK to ALARM" in summaries and 'Alarm "ep-5xx" created' in summaries
    assert summaries.index("Alarm updated from OK to ALARM") < summaries.index('Alarm "ep-5xx" created')
    actions = [h for h in history if h["HistoryItemType"] == "Action"]
    assert actions and "Failed to execute action arn:aws:sns" in actions[0]["HistorySummary"]
    only_state = cw("DescribeAlarmHistory", AlarmName="ep-5xx", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert {h["HistoryItemType"] for h in only_state} == {"StateUpdate"}
    cw("DisableAlarmActions", AlarmNames=["ep-5xx"])
    assert cw("DescribeAlarms", AlarmNames=["ep-5xx"])["MetricAlarms"][0]["ActionsEnabled"] is False
    for_metric = cw("DescribeAlarmsForMetric", Namespace="Custom", MetricName="Errors")["MetricAlarms"]
    assert [a["AlarmName"] for a in for_metric] == ["custom"]
    assert cw("ListTagsForResource", ResourceARN=alarm["AlarmArn"])["Tags"] == [{"Key": "team", "Value": "ml"}]
    with pytest.raises(ServiceError) as exc:
        cw("SetAlarmState", AlarmName="nope", StateValue="OK", StateReason="x")
    assert exc.value.code == "ResourceNotFound"
    cw("DeleteAlarms", AlarmNames=["ep-5xx", "custom"])
    assert cw("DescribeAlarms")["MetricAlarms"] == []


@pytest.mark.parametrize("params,code", [
    ({"DatapointsToAlarm": 3}, "ValidationError"),
    ({"Period": 45}, "InvalidParameterValue"),
    ({"TreatMissingData": "sometimes"}, "InvalidParameterValue"),
    ({"ComparisonOperator": "GreaterThanUpperThreshold"}, "InvalidParameterValue"),
    ({"ExtendedStatistic": "p90"}, "InvalidParameterCombination"),
])
def test_alarm_validation(cw: Api, params: dict[str, Any], code: str) -> None:
    base = {"AlarmName": "a", "Namespace": "n", "MetricName": "m", "Statistic": "Sum", "Period": 60,
            "EvaluationPeriods": 2, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"}
    with pytest.raises(ServiceError) as exc:
        cw("PutMetricAlarm", **{**base, **params})
    assert exc.value.code == code
