"""The CloudWatch metrics a monitoring execution publishes, from its ``statistics.json``.

Data quality (namespace ``/aws/sagemaker/Endpoints/data-metrics``, dimensions ``Endpoint`` and
``MonitoringSchedule``), per feature: ``feature_data_<feature>`` (numerical features, as statistic
values: sample count, sum, minimum, maximum), ``feature_non_null_<feature>`` (completeness, 0..1)
and ``feature_baseline_drift_<feature>`` (the distribution distance to the baseline, see
:mod:`seedbed.runtime.monitoring.drift`). Model quality (``/aws/sagemaker/Endpoints/model-metrics``):
one metric per computed metric (``mae``, ``rmse``, ``accuracy``, ``f1``, ...).

Published by Seedbed acting as SageMaker, when the job definition's ``publish_cloudwatch_metrics``
is not ``Disabled`` and the baseline constraints' ``monitoring_config.emit_metrics`` is not
``Disabled``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from seedbed.runtime.monitoring import stats

DATA_NAMESPACE = "/aws/sagemaker/Endpoints/data-metrics"
MODEL_NAMESPACE = "/aws/sagemaker/Endpoints/model-metrics"
BATCH = 20


def data_quality(current: dict[str, Any], baseline: dict[str, Any] | None, endpoint: str, schedule: str,
                 when: datetime) -> list[dict[str, Any]]:
    dims = [{"Name": "Endpoint", "Value": endpoint}, {"Name": "MonitoringSchedule", "Value": schedule}]
    out: list[dict[str, Any]] = []
    drift = stats.distances(baseline, current) if baseline else {}
    for feature in current.get("features") or []:
        name = feature["name"]
        numerical = feature.get("numerical_statistics")
        if numerical and numerical["common"]["num_present"]:
            out.append({"MetricName": f"feature_data_{name}", "Dimensions": dims, "Timestamp": when, "StatisticValues": {
                "SampleCount": float(numerical["common"]["num_present"]), "Sum": float(numerical["sum"]),
                "Minimum": float(numerical["min"]), "Maximum": float(numerical["max"])}})
        out.append({"MetricName": f"feature_non_null_{name}", "Dimensions": dims, "Timestamp": when,
                    "Value": float(stats.completeness(feature))})
        if name in drift:
            out.append({"MetricName": f"feature_baseline_drift_{name}", "Dimensions": dims, "Timestamp": when,
                        "Value": float(drift[name])})
    return out


def model_quality(current: dict[str, Any], endpoint: str, schedule: str, when: datetime) -> list[dict[str, Any]]:
    dims = [{"Name": "Endpoint", "Value": endpoint}, {"Name": "MonitoringSchedule", "Value": schedule}]
    out = []
    for section in ("regression_metrics", "binary_classification_metrics", "multiclass_classification_metrics"):
        for name, metric in (current.get(section) or {}).items():
            if isinstance(metric, dict) and isinstance(metric.get("value"), (int, float)):
                out.append({"MetricName": name, "Dimensions": dims, "Timestamp": when, "Value": float(metric["value"])})
    return out


def batches(data: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [data[i:i + BATCH] for i in range(0, len(data), BATCH)]
