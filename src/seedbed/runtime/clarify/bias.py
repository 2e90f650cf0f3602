"""The bias sections of analysis.json: facets and labels turned into groups and outcomes.

A column is continuous when it is floating point, or integral with at least 5% distinct values
(the rule Clarify applies), unless several values are given or it holds two values at most (a
binary column of a small dataset); otherwise categorical. A categorical
facet with values selects the rows holding any of them (one entry, ``value_or_threshold`` the values
joined by ","); without values each distinct value is compared with the rest (one entry each). A
continuous facet or label takes one threshold and selects the rows above it, reported as the
interval ``(threshold, max]``.

The sections have the shape Clarify writes::

    {"label": "<label>", "label_value_or_threshold": "1",
     "facets": {"<facet>": [{"value_or_threshold": "M", "metrics": [{"name", "description", "value"}]}]}}
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from seedbed.runtime.clarify import metrics
from seedbed.runtime.clarify.config import ClarifyError
from seedbed.runtime.clarify.dataset import Dataset

UNIQUENESS = 0.05


def as_list(values: Any) -> list[Any]:
    if values is None:
        return []
    return list(values) if isinstance(values, (list, tuple)) else [values]


def continuous(series: pd.Series, values: list[Any]) -> bool:
    if len(values) > 1 or not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return False
    count, distinct = series.count(), series.nunique()
    if distinct <= 2:
        return False
    return pd.api.types.is_float_dtype(series) or distinct / count >= UNIQUENESS


def matches(series: pd.Series, values: list[Any]) -> np.ndarray:
    """Rows holding one of ``values``: numerically for numeric columns, as text otherwise."""
    if pd.api.types.is_numeric_dtype(series):
        numbers = []
        for value in values:
            try:
                numbers.append(float(value))
            except (TypeError, ValueError):
                continue
        hit = series.astype(float).isin(numbers).to_numpy()
        if hit.any() or len(numbers) == len(values):
            return hit
    return series.astype(str).isin([str(v) for v in values]).to_numpy()


def _threshold(values: list[Any], what: str) -> float:
    if len(values) != 1:
        raise ClarifyError(f"The {what} is continuous: give one threshold value.")
    try:
        return float(values[0])
    except (TypeError, ValueError):
        raise ClarifyError(f"The {what} is continuous: its threshold {values[0]!r} is not a number.") from None


def _interval(series: pd.Series, threshold: float, original: Any) -> str:
    upper = series.max()
    upper = int(upper) if float(upper).is_integer() and not pd.api.types.is_float_dtype(series) else float(upper)
    return str(pd.Interval(original if isinstance(original, (int, float)) else threshold, upper, closed="right"))


def outcome(series: pd.Series, values: Any, what: str) -> tuple[np.ndarray, str]:
    """(positive rows, label_value_or_threshold) of a label or predicted label column."""
    values = as_list(values)
    if not values:
        raise ClarifyError(f"The {what} needs label_values_or_threshold.")
    if continuous(series, values):
        threshold = _threshold(values, what)
        return (series.astype(float) > threshold).to_numpy(), _interval(series, threshold, values[0])
    return matches(series, values), ",".join(map(str, values))


def facet_groups(series: pd.Series, values: Any, name: str) -> list[tuple[str, np.ndarray]]:
    values = as_list(values)
    if continuous(series, values):
        if not values:
            raise ClarifyError(f"The facet {name} is continuous: give a threshold in value_or_threshold.")
        threshold = _threshold(values, f"facet {name}")
        return [(_interval(series, threshold, values[0]), (series.astype(float) > threshold).to_numpy())]
    if values:
        return [(",".join(map(str, values)), matches(series, values))]
    return [(str(v), (series == v).to_numpy()) for v in series.dropna().unique()]


def section(config: dict[str, Any], data: Dataset, names: list[str], table: dict[str, str],
            predicted: np.ndarray | None = None) -> dict[str, Any]:
    """One bias section (pre- or post-training) over every configured facet."""
    assert data.label is not None
    label_positive, label_text = outcome(data.frame[data.label], config.get("label_values_or_threshold"), "label")
    group = None
    if config.get("group_variable") is not None:
        group = data.frame[data.column(config["group_variable"], "group_variable")].to_numpy()
    facets: dict[str, list[dict[str, Any]]] = {}
    for facet in config.get("facet") or []:
        name = data.column(facet.get("name_or_index"), "facet")
        others = [c for c in data.features if c != name]
        features = None
        if "FT" in names:
            numeric = data.frame[others].select_dtypes("number")
            features = numeric.to_numpy(dtype=float) if len(numeric.columns) == len(others) else np.empty((0, 0))
        entries = []
        for value_text, member in facet_groups(data.frame[name], facet.get("value_or_threshold"), name):
            inputs = metrics.Inputs(member, label_positive, predicted, group, features)
            entries.append({"value_or_threshold": value_text, "metrics": metrics.compute(names, table, inputs)})
        facets.setdefault(name, []).extend(entries)
    return {"label": data.label, "facets": facets, "label_value_or_threshold": label_text}


def predicted_outcome(records: list[Any], config: dict[str, Any], label: pd.Series) -> np.ndarray:
    """Positive predicted labels from the model's output records.

    ``predictor.label`` picks the predicted label. ``predictor.probability`` picks a score: a list
    of scores gives the label at the highest one (``label_headers`` name them), a single score is
    positive above ``probability_threshold`` (0.5). With neither, a single output value is a
    predicted label, except that a score between 0 and 1 is compared with the threshold when
    ``probability_threshold`` is set or the values are not all 0 and 1 (a binary classifier's
    probability)."""
    from seedbed.runtime.clarify.predictor import pick

    predictor = config.get("predictor") or {}
    threshold = float(config.get("probability_threshold", 0.5))
    headers = predictor.get("label_headers")
    positive_values = config.get("label_values_or_threshold")
    if predictor.get("label") is not None:
        values = [pick(r, predictor["label"]) for r in records]
    else:
        key = predictor.get("probability")
        values = [pick(r, key) for r in records]
        if any(isinstance(v, list) for v in values):
            values = [_argmax(v, headers) for v in values]
        else:
            numbers = _floats(values)
            scored = key is not None or "probability_threshold" in config or (
                numbers is not None and numbers.size and numbers.min() >= 0 and numbers.max() <= 1
                and not np.isin(numbers, (0.0, 1.0)).all())
            if scored and numbers is not None:
                return numbers > threshold
    series = pd.Series(values)
    typed = pd.to_numeric(series, errors="coerce")
    if typed.notna().all():
        series = typed
    values_list = as_list(positive_values)
    if continuous(label, values_list):
        return series.astype(float).to_numpy() > _threshold(values_list, "label")
    return matches(series, values_list)


def _floats(values: list[Any]) -> np.ndarray | None:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return None


def _argmax(scores: Any, headers: list[Any] | None) -> Any:
    if not isinstance(scores, list) or not scores:
        raise ClarifyError(f"The model output {scores!r} is not a list of scores.")
    index = int(np.argmax(np.asarray(scores, dtype=float)))
    return headers[index] if headers and index < len(headers) else index
