"""Training metrics read from log lines: the job's ``MetricDefinitions`` regexes, or the built-in
XGBoost algorithm's own definitions (``train:rmse``, ``validation:auc``, ...), which match the
container's ``[i]#011validation-rmse:...`` lines. The last value of each is the job's
``FinalMetricDataList``; every value also goes to CloudWatch (namespace
``/aws/sagemaker/TrainingJobs``, dimension ``TrainingJobName``), where the SDK's
``TrainingJobAnalytics`` reads the training curves."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

NAMESPACE = "/aws/sagemaker/TrainingJobs"
NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
XGBOOST_METRICS = (
    "rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error", "merror", "mlogloss", "auc", "aucpr", "ndcg",
    "map", "poisson-nloglik", "gamma-nloglik", "cox-nloglik", "gamma-deviance", "tweedie-nloglik", "mse", "r2",
    "f1", "accuracy", "balanced_accuracy", "precision", "recall", "f1_binary", "f1_macro", "accuracy_score",
)


def xgboost_definitions() -> list[dict[str, str]]:
    out = []
    for data in ("train", "validation"):
        for metric in XGBOOST_METRICS:
            out.append({"Name": f"{data}:{metric}", "Regex": rf".*\[[0-9]+\].*#011{data}-{re.escape(metric)}:{NUMBER}.*"})
    return out


class MetricReader:
    """Keeps the last value of each defined metric seen in the log."""

    def __init__(self, definitions: list[dict[str, str]]) -> None:
        self.patterns: list[tuple[str, re.Pattern[str]]] = []
        for item in definitions:
            try:
                self.patterns.append((item["Name"], re.compile(item["Regex"])))
            except re.error:
                continue
        self.values: dict[str, tuple[float, datetime]] = {}
        #: Every value matched since the last :meth:`drain`, for CloudWatch.
        self.points: list[tuple[str, float, datetime]] = []

    def feed(self, line: str, when: datetime) -> None:
        for name, pattern in self.patterns:
            match = pattern.search(line)
            if match is None:
                continue
            try:
                value = float(match.group(1) if match.groups() else match.group(0))
            except (ValueError, IndexError):
                continue
            self.values[name] = (value, when)
            self.points.append((name, value, when))

    def drain(self) -> list[tuple[str, float, datetime]]:
        points, self.points = self.points, []
        return points

    def final(self) -> list[dict[str, Any]]:
        return [{"MetricName": name, "Value": value, "Timestamp": when.isoformat()} for name, (value, when) in self.values.items()]
