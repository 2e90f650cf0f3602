"""Checking an analysis against baseline constraints: Clarify's ``constraint_violations.json``.

The constraints are a baseline job's analysis.json. As the drift-monitoring documentation says:

- bias (``bias_drift_check``): a metric of the same section, facet, facet value and name is a
  violation when it is farther from its ideal value than the baseline's value is (0 for every
  metric but DI, whose ideal is 1);
- explainability (``feature_attribution_drift_check``): for each label of
  ``explanations.kernel_shap``, the nDCG of the current global SHAP ranking, with the baseline's
  global SHAP values as relevance, is a violation below 0.9.

The file is ``{"version": "1.0", "violations": [...]}``, empty when there are none.
"""

from __future__ import annotations

import math
from typing import Any

NDCG_THRESHOLD = 0.9
SECTIONS = ("pre_training_bias_metrics", "post_training_bias_metrics")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value in ("Infinity", "-Infinity"):
        return math.inf if value == "Infinity" else -math.inf
    return None


def _index(analysis: dict[str, Any]) -> dict[tuple[str, str, str, str], float | None]:
    out = {}
    for section in SECTIONS:
        for facet, entries in ((analysis.get(section) or {}).get("facets") or {}).items():
            for entry in entries or []:
                for metric in entry.get("metrics") or []:
                    key = (section, str(facet), str(entry.get("value_or_threshold")), str(metric.get("name")))
                    out[key] = _number(metric.get("value"))
    return out


def bias(current: dict[str, Any], baseline: dict[str, Any]) -> list[dict[str, str]]:
    now = _index(current)
    violations = []
    for key, limit in _index(baseline).items():
        _, facet, facet_value, name = key
        value = now.get(key)
        if value is None or limit is None:
            continue
        ideal = 1.0 if name == "DI" else 0.0
        if abs(value - ideal) > abs(limit - ideal):
            violations.append({"facet": facet, "facet_value": facet_value, "metric_name": name,
                               "constraint_check_type": "bias_drift_check",
                               "description": f"Value {value} does not meet the constraint requirement"})
    return violations


def ndcg(baseline: dict[str, float], current: dict[str, float]) -> float:
    """nDCG of the current ranking of features with the baseline attributions as relevance."""
    relevance = {k: abs(float(v)) for k, v in baseline.items()}
    ideal = sorted(relevance, key=lambda k: -relevance[k])
    ranked = sorted(current, key=lambda k: -abs(float(current[k])))
    ranked = [k for k in ranked if k in relevance] + [k for k in ideal if k not in current]
    idcg = sum(relevance[k] / math.log2(i + 2) for i, k in enumerate(ideal))
    if idcg == 0:
        return 1.0
    return sum(relevance[k] / math.log2(i + 2) for i, k in enumerate(ranked)) / idcg


def explainability(current: dict[str, Any], baseline: dict[str, Any]) -> list[dict[str, str]]:
    now = ((current.get("explanations") or {}).get("kernel_shap") or {})
    violations = []
    for label, base in ((baseline.get("explanations") or {}).get("kernel_shap") or {}).items():
        base_values = (base or {}).get("global_shap_values") or {}
        current_values = (now.get(label) or {}).get("global_shap_values")
        if not base_values or current_values is None:
            continue
        score = ndcg(base_values, current_values)
        if score < NDCG_THRESHOLD:
            violations.append({"label": str(label), "metric_name": "shap",
                               "constraint_check_type": "feature_attribution_drift_check",
                               "description": f"Feature attribution drift: the nDCG score {score} of the global SHAP values against the baseline is below the threshold {NDCG_THRESHOLD}"})
    return violations


def check(current: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    return {"version": "1.0", "violations": bias(current, baseline) + explainability(current, baseline)}
