"""Data quality: ``statistics.json``, suggested ``constraints.json`` and
``constraint_violations.json`` in the formats SageMaker Model Monitor documents.

A dataset is a list of column names and rows of raw values (strings or None for missing).

Types are inferred as Deequ does for the prebuilt container: a column whose present values are
all whole numbers is ``Integral``, all numbers ``Fractional``, anything else ``String`` (no present
value: ``Unknown``).

The ``kll`` distribution of a numerical feature has ten equal-width ``buckets`` between the minimum
and the maximum (the container's default of ten buckets) and a ``sketch`` of one compactor level:
all the values when there are at most ``k`` (2048), otherwise ``k`` evenly spaced quantiles of the
sorted values. It is what :mod:`.drift` measures distances on.

Standard library only.
"""

from __future__ import annotations

import math
import re
from typing import Any

from seedbed.runtime.monitoring.drift import feature_distance

INTEGRAL = re.compile(r"^[+-]?\d+$")
SKETCH_K = 2048
BUCKETS = 10
MAX_DOMAIN = 20
DEFAULT_MONITORING_CONFIG: dict[str, Any] = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 1.0,
    "domain_content_threshold": 1.0,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1,
        "categorical_drift_method": "LInfinity",
    },
}


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def value_type(value: Any) -> str:
    """``Integral``, ``Fractional`` or ``String`` of one present value."""
    if isinstance(value, bool):
        return "String"
    if isinstance(value, int):
        return "Integral"
    if isinstance(value, float):
        return "Fractional" if math.isfinite(value) else "String"
    text = str(value).strip()
    if INTEGRAL.match(text):
        return "Integral"
    try:
        number = float(text)
    except ValueError:
        return "String"
    return "Fractional" if math.isfinite(number) else "String"


def infer(types: dict[str, int]) -> str:
    if not any(types.values()):
        return "Unknown"
    if types.get("String"):
        return "String"
    if types.get("Fractional"):
        return "Fractional"
    return "Integral"


def _number(value: Any) -> float:
    return float(value) if not isinstance(value, str) else float(value.strip())


def _round(value: float) -> float:
    return float(f"{value:.12g}")


def _sketch(values: list[float]) -> list[float]:
    ordered = sorted(values)
    if len(ordered) <= SKETCH_K:
        return ordered
    step = (len(ordered) - 1) / (SKETCH_K - 1)
    return [ordered[round(i * step)] for i in range(SKETCH_K)]


def _histogram(values: list[float], low: float, high: float) -> list[dict[str, float]]:
    if high <= low:
        return [{"lower_bound": low, "upper_bound": high, "count": float(len(values))}]
    width = (high - low) / BUCKETS
    counts = [0] * BUCKETS
    for v in values:
        counts[min(BUCKETS - 1, int((v - low) / width))] += 1
    return [{"lower_bound": _round(low + i * width), "upper_bound": _round(low + (i + 1) * width if i < BUCKETS - 1 else high),
             "count": float(c)} for i, c in enumerate(counts)]


def profile_column(name: str, values: list[Any]) -> dict[str, Any]:
    """One feature of ``statistics.json``."""
    present = [v for v in values if not is_missing(v)]
    types = {"Integral": 0, "Fractional": 0, "String": 0}
    for v in present:
        types[value_type(v)] += 1
    inferred = infer(types)
    common = {"num_present": len(present), "num_missing": len(values) - len(present)}
    feature: dict[str, Any] = {"name": name, "inferred_type": inferred}
    if inferred in ("Integral", "Fractional"):
        numbers = [_number(v) for v in present]
        total = math.fsum(numbers)
        mean = total / len(numbers)
        std = math.sqrt(math.fsum((x - mean) ** 2 for x in numbers) / len(numbers))
        low, high = min(numbers), max(numbers)
        feature["numerical_statistics"] = {
            "common": common, "mean": _round(mean), "sum": _round(total), "std_dev": _round(std),
            "min": low, "max": high,
            "distribution": {"kll": {
                "buckets": _histogram(numbers, low, high),
                "sketch": {"parameters": {"c": 0.64, "k": float(SKETCH_K)}, "data": [_sketch(numbers)]},
            }},
        }
    else:
        counts: dict[str, int] = {}
        for v in present:
            counts[str(v)] = counts.get(str(v), 0) + 1
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        feature["string_statistics"] = {
            "common": common, "distinct_count": float(len(counts)),
            "distribution": {"categorical": {"buckets": [{"value": k, "count": c} for k, c in ordered]}},
        }
    feature["_types"] = types  # dropped before writing; used by the checks
    return feature


def profile(names: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    """``statistics.json`` of a dataset (features carry ``_types`` until :func:`public`)."""
    columns: list[list[Any]] = [[] for _ in names]
    for row in rows:
        for i in range(len(names)):
            columns[i].append(row[i] if i < len(row) else None)
    return {"version": 0.0, "dataset": {"item_count": len(rows)},
            "features": [profile_column(n, c) for n, c in zip(names, columns, strict=True)]}


def public(statistics: dict[str, Any]) -> dict[str, Any]:
    return {**statistics, "features": [{k: v for k, v in f.items() if not k.startswith("_")} for f in statistics["features"]]}


def _common(feature: dict[str, Any]) -> dict[str, Any]:
    stats = feature.get("numerical_statistics") or feature.get("string_statistics") or {}
    return stats.get("common") or {"num_present": 0, "num_missing": 0}


def completeness(feature: dict[str, Any]) -> float:
    common = _common(feature)
    total = common["num_present"] + common["num_missing"]
    return common["num_present"] / total if total else 0.0


def suggest(statistics: dict[str, Any], monitoring_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``constraints.json`` the baselining job suggests."""
    features = []
    for f in statistics["features"]:
        item: dict[str, Any] = {"name": f["name"], "inferred_type": f["inferred_type"], "completeness": _round(completeness(f))}
        if "numerical_statistics" in f:
            item["num_constraints"] = {"is_non_negative": f["numerical_statistics"]["min"] >= 0}
        elif "string_statistics" in f:
            buckets = f["string_statistics"]["distribution"]["categorical"]["buckets"]
            if 0 < len(buckets) <= MAX_DOMAIN:
                item["string_constraints"] = {"domains": sorted(b["value"] for b in buckets)}
        features.append(item)
    config = _merge(DEFAULT_MONITORING_CONFIG, monitoring_config or {})
    return {"version": 0.0, "features": features, "monitoring_config": config}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _enabled(value: Any, default: bool = True) -> bool:
    if value is None:
        return default
    return str(value).lower() in ("enabled", "true")


def distances(baseline: dict[str, Any], current: dict[str, Any]) -> dict[str, float]:
    """Feature name -> distribution distance, for the features both profiles have."""
    base = {f["name"]: f for f in baseline.get("features") or []}
    out: dict[str, float] = {}
    for f in current.get("features") or []:
        if f["name"] in base:
            d = feature_distance(base[f["name"]], f)
            if d is not None:
                out[f["name"]] = d
    return out


def check(constraints: dict[str, Any], baseline: dict[str, Any] | None, current: dict[str, Any]) -> list[dict[str, Any]]:
    """The violations of ``current`` (a profile from :func:`profile`) against the constraints."""
    config = _merge(DEFAULT_MONITORING_CONFIG, constraints.get("monitoring_config") or {})
    if not _enabled(config.get("evaluate_constraints")):
        return []
    expected = constraints.get("features") or []
    names = {f["name"] for f in expected}
    observed = {f["name"]: f for f in current["features"]}
    violations: list[dict[str, Any]] = []
    counts = f"Number of columns in current dataset: {len(observed)}, Number of columns in baseline constraints: {len(expected)}"
    for f in expected:
        if f["name"] not in observed:
            violations.append({"feature_name": f["name"], "constraint_check_type": "missing_column_check",
                               "description": f"There are missing columns in current dataset. {counts}"})
    for name in observed:
        if name not in names:
            violations.append({"feature_name": name, "constraint_check_type": "extra_column_check",
                               "description": f"There are extra columns in current dataset. {counts}"})
    base_features = {f["name"]: f for f in (baseline or {}).get("features") or []}
    for spec in expected:
        feature = observed.get(spec["name"])
        if feature is None:
            continue
        cfg = _merge(config, spec.get("monitoringConfigOverrides") or {})
        violations += _feature_checks(spec, feature, base_features.get(spec["name"]), cfg)
    return violations


def _feature_checks(spec: dict[str, Any], feature: dict[str, Any], base: dict[str, Any] | None,
                    cfg: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    name = spec["name"]
    types = feature.get("_types") or {}
    present = sum(types.values()) if types else _common(feature)["num_present"]
    wanted = spec.get("inferred_type")
    if wanted in ("Integral", "Fractional") and present:
        matching = types.get("Integral", 0) + (types.get("Fractional", 0) if wanted == "Fractional" else 0)
        if not types:
            matching = present if feature["inferred_type"] in (wanted, "Integral") else 0
        ratio = matching / present
        threshold = float(cfg.get("datatype_check_threshold", 1.0))
        if ratio < threshold:
            out.append({"feature_name": name, "constraint_check_type": "data_type_check", "description": (
                f"Data type match requirement is not met. Expected data type: {wanted}, Expected match: "
                f"{_pct(threshold)}. Observed: Only {_pct(ratio)} of data is {wanted}.")})
    if spec.get("completeness") is not None:
        observed = completeness(feature)
        if observed + 1e-9 < float(spec["completeness"]):
            out.append({"feature_name": name, "constraint_check_type": "completeness_check", "description": (
                f"Data completeness requirement is not met. Expected completeness: {_pct(float(spec['completeness']))}. "
                f"Observed completeness: {_pct(observed)}.")})
    domains = (spec.get("string_constraints") or {}).get("domains")
    if domains and "string_statistics" in feature:
        buckets = feature["string_statistics"]["distribution"]["categorical"]["buckets"]
        total = sum(b["count"] for b in buckets)
        inside = sum(b["count"] for b in buckets if b["value"] in set(domains))
        ratio = inside / total if total else 1.0
        threshold = float(cfg.get("domain_content_threshold", 1.0))
        if ratio < threshold:
            out.append({"feature_name": name, "constraint_check_type": "categorical_values_check", "description": (
                f"Categorical value match requirement is not met. Expected match: {_pct(threshold)}. "
                f"Observed: Only {_pct(ratio)} of data is within the expected domain {sorted(domains)}.")})
    dist_cfg = cfg.get("distribution_constraints") or {}
    if base is not None and _enabled(dist_cfg.get("perform_comparison")):
        distance = feature_distance(base, feature)
        if distance is not None:
            key = "comparison_threshold" if "numerical_statistics" in feature else "categorical_comparison_threshold"
            threshold = float(dist_cfg.get(key, 0.1))
            if distance > threshold:
                out.append({"feature_name": name, "constraint_check_type": "baseline_drift_check", "description": (
                    f"Baseline drift distance: {distance:.6g} exceeds threshold: {threshold:g}")})
    return out
