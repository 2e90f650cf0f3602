"""The CloudWatch metrics a monitoring execution publishes, from its ``statistics.json`` (its
``analysis.json`` for model bias and explainability).

Data quality (namespace ``/aws/sagemaker/Endpoints/data-metrics``, dimensions ``Endpoint`` and
``MonitoringSchedule``), per feature: ``feature_data_<feature>`` (numerical features, as statistic
values: sample count, sum, minimum, maximum), ``feature_non_null_<feature>`` (completeness, 0..1)
and ``feature_baseline_drift_<feature>`` (the distribution distance to the baseline, see
:mod:`seedbed.runtime.monitoring.drift`). Model quality (``/aws/sagemaker/Endpoints/model-metrics``):
one metric per computed metric (``mae``, ``rmse``, ``accuracy``, ``f1``, ...).

Model bias (``aws/sagemaker/Endpoints/bias-metrics``), from the execution's analysis.json:
``bias_metric_<name>`` per metric (``bias_metric_CI``, ``bias_metric_DPPL``, ...), with the
dimensions ``Endpoint``, ``MonitoringSchedule``, ``BiasStage`` (``Pre-training`` or
``Post-Training``, as the documentation spells them), ``Label``, ``LabelValue``, ``Facet`` and
``FacetValue``; infinities are published as +/-2.348543e108 and missing values not at all. Model
explainability (``aws/sagemaker/Endpoints/explainability-metrics``): ``feature_<name>`` per
feature (its global SHAP value, ``ValueType`` ``GlobalShapValues``) and ``ExpectedValue``
(``ValueType`` ``ExpectedValue``), with ``Endpoint``, ``MonitoringSchedule``,
``ExplainabilityMethod`` (``KernelShap``) and ``Label``.

Published by Seedbed acting as SageMaker, when the job definition's ``publish_cloudwatch_metrics``
is not ``Disabled`` and the baseline constraints' ``monitoring_config.emit_metrics`` is not
``Disabled``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from seedbed.runtime.monitoring import stats

DATA_NAMESPACE = "/aws/sagemaker/Endpoints/data-metrics"
MODEL_NAMESPACE = "/aws/sagemaker/Endpoints/model-metrics"
BIAS_NAMESPACE = "aws/sagemaker/Endpoints/bias-metrics"
EXPLAINABILITY_NAMESPACE = "aws/sagemaker/Endpoints/explainability-metrics"
BIAS_STAGES = {"pre_training_bias_metrics": "Pre-training", "post_training_bias_metrics": "Post-Training"}
INFINITY = 2.348543e108
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


def _dimension(value: Any) -> str:
    """A dimension value: 1 to 1024 characters."""
    return (str(value) if value is not None and str(value) != "" else "-")[:1024]


def _bias_value(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if value in ("Infinity", "-Infinity") or (isinstance(value, float) and math.isinf(value)):
        return INFINITY if value in ("Infinity", math.inf) else -INFINITY
    if isinstance(value, (int, float)) and not math.isnan(value):
        return float(value)
    return None


def bias(analysis: dict[str, Any], endpoint: str, schedule: str, when: datetime) -> list[dict[str, Any]]:
    out = []
    for section, stage in BIAS_STAGES.items():
        part = analysis.get(section) or {}
        for facet, entries in (part.get("facets") or {}).items():
            for entry in entries or []:
                dims = [{"Name": "Endpoint", "Value": _dimension(endpoint)}, {"Name": "MonitoringSchedule", "Value": _dimension(schedule)},
                        {"Name": "BiasStage", "Value": stage}, {"Name": "Label", "Value": _dimension(part.get("label"))},
                        {"Name": "LabelValue", "Value": _dimension(part.get("label_value_or_threshold"))},
                        {"Name": "Facet", "Value": _dimension(facet)},
                        {"Name": "FacetValue", "Value": _dimension(entry.get("value_or_threshold"))}]
                for metric in entry.get("metrics") or []:
                    value = _bias_value(metric.get("value"))
                    if value is not None and metric.get("name"):
                        out.append({"MetricName": f"bias_metric_{metric['name']}", "Dimensions": dims, "Timestamp": when,
                                    "Value": value})
    return out


def explainability(analysis: dict[str, Any], endpoint: str, schedule: str, when: datetime) -> list[dict[str, Any]]:
    out = []
    for label, result in (((analysis.get("explanations") or {}).get("kernel_shap")) or {}).items():
        dims = [{"Name": "Endpoint", "Value": _dimension(endpoint)}, {"Name": "MonitoringSchedule", "Value": _dimension(schedule)},
                {"Name": "ExplainabilityMethod", "Value": "KernelShap"}, {"Name": "Label", "Value": _dimension(label)}]
        for feature, value in ((result or {}).get("global_shap_values") or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                out.append({"MetricName": f"feature_{feature}"[:255], "Timestamp": when, "Value": float(value),
                            "Dimensions": [*dims, {"Name": "ValueType", "Value": "GlobalShapValues"}]})
        expected = (result or {}).get("expected_value")
        if isinstance(expected, (int, float)) and not isinstance(expected, bool) and math.isfinite(expected):
            out.append({"MetricName": "ExpectedValue", "Timestamp": when, "Value": float(expected),
                        "Dimensions": [*dims, {"Name": "ValueType", "Value": "ExpectedValue"}]})
    return out


def batches(data: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [data[i:i + BATCH] for i in range(0, len(data), BATCH)]
