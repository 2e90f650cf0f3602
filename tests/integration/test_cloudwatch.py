"""CloudWatch metrics and alarms against the live server, with boto3 (CBOR) and the AWS CLI v1:
put and read statistics, metric math, and an alarm that goes to ALARM when data crosses its
threshold."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import LiveServer
from tests.integration.test_s3_cli import aws, shell_env


def test_put_and_read_metrics(server: LiveServer, tmp_path: Path) -> None:
    cw = server.client("cloudwatch")
    namespace = f"Seedbed/Test/{uuid.uuid4().hex[:6]}"
    dims = [{"Name": "EndpointName", "Value": "ep"}]
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    cw.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "ModelLatency", "Dimensions": dims, "Timestamp": start + timedelta(minutes=i, seconds=5),
         "Values": [float(10 * (i + 1)), float(10 * (i + 1) + 2)], "Unit": "Microseconds"} for i in range(3)])
    listed = cw.list_metrics(Namespace=namespace)["Metrics"]
    assert listed == [{"Namespace": namespace, "MetricName": "ModelLatency", "Dimensions": dims}]
    stats = cw.get_metric_statistics(Namespace=namespace, MetricName="ModelLatency", Dimensions=dims,
                                     StartTime=start, EndTime=start + timedelta(minutes=4), Period=60,
                                     Statistics=["Average", "Maximum", "SampleCount"], Unit="Microseconds")
    points = sorted(stats["Datapoints"], key=lambda p: p["Timestamp"])
    assert [(p["Average"], p["Maximum"], p["SampleCount"]) for p in points] == [(11.0, 12.0, 2.0), (21.0, 22.0, 2.0), (31.0, 32.0, 2.0)]
    assert points[0]["Timestamp"] == start and points[0]["Unit"] == "Microseconds"
    data = cw.get_metric_data(StartTime=start, EndTime=start + timedelta(minutes=4), ScanBy="TimestampAscending",
                              MetricDataQueries=[
                                  {"Id": "lat", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "ModelLatency",
                                                                           "Dimensions": dims}, "Period": 180, "Stat": "p50"}},
                                  {"Id": "ms", "Expression": "lat / 1000"}])
    results = {r["Id"]: r for r in data["MetricDataResults"]}
    assert results["lat"]["Values"] == [20.0] and results["ms"]["Values"] == [0.02]

    env = shell_env(server)
    out = json.loads(aws(env, f"cloudwatch get-metric-statistics --namespace {namespace} --metric-name ModelLatency "
                              f"--dimensions Name=EndpointName,Value=ep --start-time {start.isoformat()} "
                              f"--end-time {(start + timedelta(minutes=4)).isoformat()} --period 240 "
                              "--statistics Sum --output json", tmp_path))
    assert [p["Sum"] for p in out["Datapoints"]] == [126.0]
    cw.put_metric_data(Namespace=namespace, MetricData=[{"MetricName": "Invocations", "Value": 3.0}])
    names = {m["MetricName"] for m in cw.list_metrics(Namespace=namespace)["Metrics"]}
    assert names == {"ModelLatency", "Invocations"}
    try:
        cw.get_metric_statistics(Namespace=namespace, MetricName="ModelLatency", StartTime=start,
                                 EndTime=start + timedelta(minutes=4), Period=60)
    except cw.exceptions.InvalidParameterCombinationException as exc:
        assert exc.response["Error"]["Code"] == "InvalidParameterCombination"
    else:
        raise AssertionError("expected InvalidParameterCombination")


def test_alarm_goes_to_alarm_when_data_crosses_the_threshold(server: LiveServer, tmp_path: Path) -> None:
    cw = server.client("cloudwatch")
    namespace = f"Seedbed/Alarm/{uuid.uuid4().hex[:6]}"
    name = f"errors-{uuid.uuid4().hex[:6]}"
    dims = [{"Name": "EndpointName", "Value": "prod"}]
    cw.put_metric_data(Namespace=namespace, MetricData=[{"MetricName": "Errors", "Dimensions": dims, "Value": 1.0}])
    cw.put_metric_alarm(AlarmName=name, Namespace=namespace, MetricName="Errors", Dimensions=dims, Statistic="Maximum",
                        Period=60, EvaluationPeriods=1, Threshold=5.0, ComparisonOperator="GreaterThanThreshold",
                        TreatMissingData="notBreaching", AlarmDescription="too many errors")

    def state(wanted: str, timeout: float = 25.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
            if alarm["StateValue"] == wanted or time.monotonic() > deadline:
                return alarm
            time.sleep(0.5)

    assert state("OK")["StateValue"] == "OK"
    cw.put_metric_data(Namespace=namespace, MetricData=[{"MetricName": "Errors", "Dimensions": dims, "Value": 9.0}])
    alarm = state("ALARM")
    assert alarm["StateValue"] == "ALARM", alarm["StateReason"]
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 datapoint [9.0 (")
    assert alarm["StateReason"].endswith("was greater than the threshold (5.0).")
    assert json.loads(alarm["StateReasonData"])["threshold"] == 5.0
    history = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in history][:2] == ["Alarm updated from OK to ALARM",
                                                           "Alarm updated from INSUFFICIENT_DATA to OK"]
    for_metric = cw.describe_alarms_for_metric(Namespace=namespace, MetricName="Errors", Dimensions=dims)
    assert [a["AlarmName"] for a in for_metric["MetricAlarms"]] == [name]

    env = shell_env(server)
    shown = json.loads(aws(env, f"cloudwatch describe-alarms --alarm-names {name} --output json", tmp_path))
    assert shown["MetricAlarms"][0]["StateValue"] == "ALARM"
    cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="manual")
    assert cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"][0][
        "HistorySummary"] == "Alarm updated from ALARM to OK"
    cw.delete_alarms(AlarmNames=[name])
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []
