"""Model quality: metrics of predictions against ground truth, in Model Monitor's formats.

``problem_type`` ``Regression`` gives ``regression_metrics`` (``mae``, ``mse``, ``rmse``, ``r2``);
``BinaryClassification`` gives ``binary_classification_metrics`` (``confusion_matrix``,
``accuracy``, ``precision``, ``recall``, ``f0_5``, ``f1``, ``f2``, the true/false positive/negative
rates, and ``auc`` when probabilities are given). ``MulticlassClassification`` is not available
locally. Each metric is ``{"value": v, "standard_deviation": s}``; Seedbed reports the standard
error of the mean for ``mae`` and ``mse`` and 0 for the others (the service bootstraps them).

Suggested constraints (``regression_constraints`` / ``binary_classification_constraints``) take
each baseline metric as the threshold: error metrics and false rates must not be
``GreaterThanThreshold``, the others not ``LessThanThreshold``.
"""

from __future__ import annotations

import math
from typing import Any

LOWER_IS_BETTER = {"mae", "mse", "rmse", "false_positive_rate", "false_negative_rate"}
POSITIVE = {"1", "1.0", "true", "yes", "positive"}


class QualityError(Exception):
    """The data cannot give the metrics (the job fails with this message)."""


def _metric(value: float, sd: float = 0.0) -> dict[str, float]:
    return {"value": float(f"{value:.12g}"), "standard_deviation": float(f"{sd:.12g}")}


def regression(truth: list[float], predicted: list[float]) -> dict[str, Any]:
    n = len(truth)
    errors = [p - t for t, p in zip(truth, predicted, strict=True)]
    abs_err = [abs(e) for e in errors]
    sq = [e * e for e in errors]
    mae, mse = sum(abs_err) / n, sum(sq) / n
    mean_t = sum(truth) / n
    total = sum((t - mean_t) ** 2 for t in truth)
    r2 = 1 - sum(sq) / total if total else 0.0

    def sem(values: list[float], mean: float) -> float:
        return math.sqrt(sum((v - mean) ** 2 for v in values) / n) / math.sqrt(n) if n > 1 else 0.0

    return {"mae": _metric(mae, sem(abs_err, mae)), "mse": _metric(mse, sem(sq, mse)),
            "rmse": _metric(math.sqrt(mse)), "r2": _metric(r2)}


def is_positive(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in POSITIVE:
        return True
    try:
        return float(text) >= 0.5
    except ValueError:
        return False


def _auc(truth: list[bool], scores: list[float]) -> float | None:
    pos = [s for t, s in zip(truth, scores, strict=True) if t]
    neg = [s for t, s in zip(truth, scores, strict=True) if not t]
    if not pos or not neg:
        return None
    ranked = sorted((s, t) for s, t in zip(scores, truth, strict=True))
    ranks: dict[int, float] = {}
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(ranks[k] for k, (_, t) in enumerate(ranked) if t)
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def binary(truth: list[bool], predicted: list[bool], scores: list[float] | None) -> dict[str, Any]:
    tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t and p)
    tn = sum(1 for t, p in zip(truth, predicted, strict=True) if not t and not p)
    fp = sum(1 for t, p in zip(truth, predicted, strict=True) if not t and p)
    fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t and not p)
    n = len(truth)

    def div(a: float, b: float) -> float:
        return a / b if b else 0.0

    precision, recall = div(tp, tp + fp), div(tp, tp + fn)

    def f(beta: float) -> float:
        return div((1 + beta * beta) * precision * recall, beta * beta * precision + recall)

    out: dict[str, Any] = {
        "confusion_matrix": {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}},
        "recall": _metric(recall), "precision": _metric(precision), "accuracy": _metric(div(tp + tn, n)),
        "true_positive_rate": _metric(recall), "true_negative_rate": _metric(div(tn, tn + fp)),
        "false_positive_rate": _metric(div(fp, fp + tn)), "false_negative_rate": _metric(div(fn, fn + tp)),
        "f0_5": _metric(f(0.5)), "f1": _metric(f(1.0)), "f2": _metric(f(2.0)),
    }
    if scores is not None:
        auc = _auc(truth, scores)
        if auc is not None:
            out["auc"] = _metric(auc)
    return out


def metrics(problem_type: str, truth: list[Any], predicted: list[Any], scores: list[Any] | None,
            threshold: float) -> tuple[str, dict[str, Any]]:
    """(section name, metrics) for ``statistics.json``."""
    if not truth:
        raise QualityError("No predictions could be matched with ground truth labels.")
    if problem_type == "Regression":
        try:
            return "regression_metrics", regression([float(t) for t in truth], [float(p) for p in predicted])
        except (TypeError, ValueError) as exc:
            raise QualityError(f"Regression needs numeric labels and predictions: {exc}") from None
    if problem_type == "BinaryClassification":
        prob = [float(s) for s in scores] if scores is not None else None
        if predicted and all(p is not None for p in predicted):
            labels = [is_positive(p) for p in predicted]
        elif prob is not None:
            labels = [s >= threshold for s in prob]
        else:
            raise QualityError("BinaryClassification needs an inference_attribute or a probability_attribute.")
        return "binary_classification_metrics", binary([is_positive(t) for t in truth], labels, prob)
    raise QualityError(f"Problem type {problem_type} is not available in Seedbed's local model quality analyzer "
                       "(Regression and BinaryClassification are).")


def suggest(section: str, values: dict[str, Any]) -> dict[str, Any]:
    key = section.replace("_metrics", "_constraints")
    constraints = {}
    for name, metric in values.items():
        if isinstance(metric, dict) and "value" in metric:
            constraints[name] = {"threshold": metric["value"],
                                 "comparison_operator": "GreaterThanThreshold" if name in LOWER_IS_BETTER else "LessThanThreshold"}
    return {"version": 0.0, key: constraints}


def check(constraints: dict[str, Any], section: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    wanted = constraints.get(section.replace("_metrics", "_constraints")) or {}
    out = []
    for name, rule in wanted.items():
        metric = values.get(name)
        if not isinstance(metric, dict) or "value" not in metric:
            continue
        value, threshold = float(metric["value"]), float(rule["threshold"])
        op = rule.get("comparison_operator", "LessThanThreshold")
        broken = {"GreaterThanThreshold": value > threshold, "LessThanThreshold": value < threshold,
                  "GreaterThanOrEqualToThreshold": value >= threshold,
                  "LessThanOrEqualToThreshold": value <= threshold}.get(op, False)
        if broken:
            out.append({"constraint_check_type": op, "metric_name": name, "description": (
                f"Metric {name} with {value:.6g} +/- {metric.get('standard_deviation', 0.0):.6g} was {op} '{threshold:g}'")})
    return out
