"""Distribution distance between a baseline feature profile and a current one.

Numerical features: the largest gap between the two empirical cumulative distributions (the
two-sample Kolmogorov-Smirnov statistic, between 0 and 1). It is computed from the ``kll`` sketch
values of ``statistics.json`` (Seedbed's sketch is one compactor level of at most ``k`` quantile
values, exact below ``k`` values), or, when a profile has no sketch data, from its histogram
buckets (values spread evenly within each bucket). ``comparison_method`` ``Simple`` and
``Robust`` both use this distance.

String features: the L-infinity distance between the two value frequency distributions
(``categorical_drift_method`` ``LInfinity``; ``ChiSquared`` is measured the same way).

Standard library only: the server imports this module to publish drift metrics.
"""

from __future__ import annotations

import bisect
from typing import Any


def _sketch_values(numerical: dict[str, Any]) -> list[float]:
    kll = ((numerical.get("distribution") or {}).get("kll") or {})
    data = (kll.get("sketch") or {}).get("data") or []
    values = sorted(float(v) for level in data for v in level)
    return values


def _buckets(numerical: dict[str, Any]) -> list[tuple[float, float, float]]:
    kll = ((numerical.get("distribution") or {}).get("kll") or {})
    return [(float(b["lower_bound"]), float(b["upper_bound"]), float(b["count"])) for b in kll.get("buckets") or []]


def _cdf_from_sample(values: list[float]):  # type: ignore[no-untyped-def]
    n = len(values)

    def cdf(x: float) -> float:
        return bisect.bisect_right(values, x) / n if n else 0.0

    return cdf


def _cdf_from_buckets(buckets: list[tuple[float, float, float]]):  # type: ignore[no-untyped-def]
    total = sum(c for _, _, c in buckets) or 1.0

    def cdf(x: float) -> float:
        acc = 0.0
        for low, high, count in buckets:
            if x >= high:
                acc += count
            elif x > low:
                acc += count * (x - low) / (high - low) if high > low else count
        return acc / total

    return cdf


def _points(numerical: dict[str, Any]) -> tuple[Any, list[float]]:
    values = _sketch_values(numerical)
    if values:
        return _cdf_from_sample(values), values
    buckets = _buckets(numerical)
    points = sorted({p for low, high, _ in buckets for p in (low, high)})
    return _cdf_from_buckets(buckets), points


def numerical_distance(baseline: dict[str, Any], current: dict[str, Any]) -> float:
    """Largest CDF gap of two ``numerical_statistics`` objects (0 when either is empty)."""
    cdf_a, points_a = _points(baseline)
    cdf_b, points_b = _points(current)
    if not points_a or not points_b:
        return 0.0
    return max(abs(cdf_a(x) - cdf_b(x)) for x in set(points_a) | set(points_b))


def _frequencies(string_stats: dict[str, Any]) -> dict[str, float]:
    buckets = (((string_stats.get("distribution") or {}).get("categorical") or {}).get("buckets") or [])
    total = sum(float(b["count"]) for b in buckets) or 1.0
    return {str(b["value"]): float(b["count"]) / total for b in buckets}


def categorical_distance(baseline: dict[str, Any], current: dict[str, Any]) -> float:
    """L-infinity distance of two ``string_statistics`` value distributions."""
    a, b = _frequencies(baseline), _frequencies(current)
    if not a or not b:
        return 0.0
    return max(abs(a.get(v, 0.0) - b.get(v, 0.0)) for v in set(a) | set(b))


def feature_distance(baseline: dict[str, Any], current: dict[str, Any]) -> float | None:
    """The distance between two features of ``statistics.json``, or None when they are not
    comparable (one numerical and one string, or no data)."""
    if "numerical_statistics" in baseline and "numerical_statistics" in current:
        return numerical_distance(baseline["numerical_statistics"], current["numerical_statistics"])
    if "string_statistics" in baseline and "string_statistics" in current:
        return categorical_distance(baseline["string_statistics"], current["string_statistics"])
    return None
