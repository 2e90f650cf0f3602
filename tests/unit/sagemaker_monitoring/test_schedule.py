"""Monitoring schedule expressions, analysis windows, and CloudFormation value conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seedbed.runtime.monitoring import stats
from seedbed.services.sagemaker.errors import SageMakerValidation
from seedbed.services.sagemaker.monitoring import metrics
from seedbed.services.sagemaker.monitoring import schedule as sched
from seedbed.services.sagemaker.monitoring.resources import _shape, conform

T = datetime(2024, 5, 1, 10, 17, 3, tzinfo=UTC)


def test_hourly_cron_fires_on_the_hour_and_analyses_the_hour_before() -> None:
    hourly = sched.parse({"ScheduleExpression": "cron(0 * ? * * *)"})
    assert not hourly.one_time
    first = hourly.next_after(T)
    assert first == datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
    assert hourly.next_after(first) == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert hourly.window(first) == (datetime(2024, 5, 1, 10, 0, tzinfo=UTC), first)


def test_every_six_hours_daily_and_default() -> None:
    every6 = sched.parse({"ScheduleExpression": "cron(0 0/6 ? * * *)"})
    assert every6.next_after(T) == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert every6.next_after(datetime(2024, 5, 1, 18, 0, tzinfo=UTC)) == datetime(2024, 5, 2, 0, 0, tzinfo=UTC)
    noon = sched.parse({"ScheduleExpression": "cron(0 12 ? * * *)", "DataAnalysisStartTime": "-PT5H", "DataAnalysisEndTime": "-PT1H"})
    fire = noon.next_after(T)
    assert fire == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert noon.window(fire) == (fire - timedelta(hours=5), fire - timedelta(hours=1))
    assert sched.parse(None).next_after(T) == datetime(2024, 5, 2, 0, 0, tzinfo=UTC)


def test_now_runs_once_over_its_offsets() -> None:
    now = sched.parse({"ScheduleExpression": "NOW", "DataAnalysisStartTime": "-PT1H", "DataAnalysisEndTime": "PT0H"})
    assert now.one_time and now.next_after(T) is None
    assert now.window(T) == (T - timedelta(hours=1), T)


@pytest.mark.parametrize("config", [
    {"ScheduleExpression": "NOW"},
    {"ScheduleExpression": "NOW", "DataAnalysisStartTime": "-PT1H"},
    {"ScheduleExpression": "cron(30 * ? * * *)"},
    {"ScheduleExpression": "cron(0 * * * *)"},
    {"ScheduleExpression": "rate(1 hour)"},
    {"ScheduleExpression": "NOW", "DataAnalysisStartTime": "-PT25H", "DataAnalysisEndTime": "-PT0H"},
    {"ScheduleExpression": "NOW", "DataAnalysisStartTime": "-PT1H", "DataAnalysisEndTime": "-PT2H"},
    {"ScheduleExpression": "NOW", "DataAnalysisStartTime": "-PT1H", "DataAnalysisEndTime": "PT1H"},
    {"ScheduleExpression": "NOW", "DataAnalysisStartTime": "one hour ago", "DataAnalysisEndTime": "PT0H"},
])
def test_invalid_schedules_are_refused(config: dict) -> None:
    with pytest.raises(SageMakerValidation):
        sched.parse(config)


def test_offsets() -> None:
    assert sched.offset("-PT1H", "x") == -timedelta(hours=1)
    assert sched.offset("-P1DT2H30M", "x") == -timedelta(days=1, hours=2, minutes=30)
    assert sched.offset("PT0H", "x") == timedelta(0)


def test_cloudformation_strings_become_the_api_types() -> None:
    shape = _shape("CreateDataQualityJobDefinition")
    out = conform({"JobResources": {"ClusterConfig": {"InstanceCount": "2", "InstanceType": "ml.m5.large", "VolumeSizeInGB": "20"}},
                   "StoppingCondition": {"MaxRuntimeInSeconds": "1800"}, "EndpointName": "dropped",
                   "DataQualityJobInput": {"EndpointInput": {"EndpointName": "e", "LocalPath": "/opt/ml/x",
                                                             "ProbabilityThresholdAttribute": "0.5"}}}, shape)
    assert out["JobResources"]["ClusterConfig"] == {"InstanceCount": 2, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}
    assert out["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800} and "EndpointName" not in out
    assert out["DataQualityJobInput"]["EndpointInput"]["ProbabilityThresholdAttribute"] == 0.5


def test_data_quality_metrics_carry_drift_and_completeness() -> None:
    base = stats.profile(["a", "s"], [[str(i), "x"] for i in range(100)])
    current = stats.profile(["a", "s"], [[str(i + 50), "x" if i % 2 else None] for i in range(100)])
    data = metrics.data_quality(current, base, "ep", "sched", T)
    by_name = {d["MetricName"]: d for d in data}
    assert by_name["feature_baseline_drift_a"]["Value"] == pytest.approx(0.5)
    assert by_name["feature_non_null_s"]["Value"] == 0.5
    assert by_name["feature_data_a"]["StatisticValues"] == {"SampleCount": 100.0, "Sum": 9950.0, "Minimum": 50.0, "Maximum": 149.0}
    assert by_name["feature_data_a"]["Dimensions"] == [{"Name": "Endpoint", "Value": "ep"}, {"Name": "MonitoringSchedule", "Value": "sched"}]
    assert "feature_data_s" not in by_name
    assert all(len(b) <= metrics.BATCH for b in metrics.batches(data * 10))
