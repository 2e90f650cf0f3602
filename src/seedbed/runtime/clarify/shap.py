"""Kernel SHAP (Lundberg and Lee, 2017) over a baseline, in numpy.

For a record x and the features to explain (all, or ``features_to_explain``), each coalition z
(a subset of those features) is scored by the model on synthetic rows that take x's values for
z (and for the features not explained) and a baseline row's values for the rest, averaged over the
baseline rows: f(z). The SHAP values are the weighted least-squares fit of f(z) - f(empty) by
the coalition's features, with Shapley kernel weights (M - 1) / (C(M, |z|) |z| (M - |z|)) and the
constraint that they sum to f(x) - f(empty); ``expected_value`` is f(empty), the mean prediction
over the baseline (averaged over the records when ``features_to_explain`` keeps the others). With M features there are 2^M - 2 proper coalitions: all of them are used when
that is at most ``num_samples`` (default 2048 + 2M), otherwise ``num_samples`` are drawn from the
kernel distribution (sizes by weight, members uniformly), deduplicated and weighted by count.
``use_logit`` fits log-odds, logit(f(z)).

With no baseline, the baseline is ``num_clusters`` (default 10) k-means centres of the dataset's
numeric features, with each cluster's most common value for text features.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import combinations

import numpy as np
import pandas as pd

from seedbed.runtime.clarify.config import ClarifyError

DEFAULT_CLUSTERS = 10
ROWS_PER_CALL = 200_000


def coalitions(m: int, num_samples: int | None, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(masks (S x m, bool), regression weights (S,)) of the proper, non-empty coalitions."""
    if m < 2:
        return np.zeros((0, m), dtype=bool), np.zeros(0)
    total = 2**m - 2
    budget = num_samples if num_samples else 2048 + 2 * m
    if total <= budget:
        masks, weights = [], []
        for size in range(1, m):
            w = (m - 1) / (math.comb(m, size) * size * (m - size))
            for members in combinations(range(m), size):
                mask = np.zeros(m, dtype=bool)
                mask[list(members)] = True
                masks.append(mask)
                weights.append(w)
        return np.array(masks), np.array(weights)
    sizes = np.arange(1, m)
    p = (m - 1) / (sizes * (m - sizes))
    p = p / p.sum()
    counts: dict[bytes, int] = {}
    rows: dict[bytes, np.ndarray] = {}
    for size in rng.choice(sizes, size=budget, p=p):
        mask = np.zeros(m, dtype=bool)
        mask[rng.choice(m, size=int(size), replace=False)] = True
        key = mask.tobytes()
        counts[key] = counts.get(key, 0) + 1
        rows[key] = mask
    keys = list(rows)
    return np.array([rows[k] for k in keys]), np.array([counts[k] for k in keys], dtype=float)


def solve(masks: np.ndarray, weights: np.ndarray, values: np.ndarray, base: float, full: float) -> np.ndarray:
    """SHAP values of one record and output: the constrained weighted least-squares fit."""
    m = masks.shape[1]
    delta = full - base
    if m == 1:
        return np.array([delta])
    z = masks.astype(float)
    y = values - base - z[:, -1] * delta
    x = z[:, :-1] - z[:, -1:]
    sw = np.sqrt(weights)
    head, *_ = np.linalg.lstsq(x * sw[:, None], y * sw, rcond=None)
    return np.append(head, delta - head.sum())


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def explain(predict: Callable[[np.ndarray], np.ndarray], records: np.ndarray, baseline: np.ndarray,
            explained: list[int], num_samples: int | None = None, seed: int | None = None,
            use_logit: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values (records x outputs x explained features) and expected values (outputs,).

    ``predict`` takes rows of all the model's features and returns scores (rows x outputs)."""
    rng = np.random.default_rng(seed)
    m = len(explained)
    masks, weights = coalitions(m, num_samples, rng)
    link: Callable[[np.ndarray], np.ndarray] = _logit if use_logit else (lambda v: v)
    full_scores = link(predict(records))
    n_out = full_scores.shape[1]
    # the coalitions plus the empty one: f(empty) is the record's own base value (the mean baseline
    # prediction, or with features_to_explain that mean with the other features kept)
    every = np.vstack([masks, np.zeros((1, m), dtype=bool)])
    out = np.zeros((len(records), n_out, m))
    bases = np.zeros((len(records), n_out))
    k = len(baseline)
    chunk = max(1, ROWS_PER_CALL // max(1, len(every) * k))
    for start in range(0, len(records), chunk):
        block = records[start : start + chunk]
        # synthetic[r, s, b, :]: the record's values, the baseline row's where the coalition is off
        synthetic = np.repeat(block[:, None, None, :], len(every), axis=1).repeat(k, axis=2)
        for j_pos, j in enumerate(explained):
            synthetic[:, ~every[:, j_pos], :, j] = baseline[None, None, :, j]
        flat = synthetic.reshape(-1, records.shape[1])
        scores = link(predict(flat).reshape(len(block), len(every), k, n_out).mean(axis=2))
        for r in range(len(block)):
            bases[start + r] = scores[r, -1]
            for o in range(n_out):
                out[start + r, o] = solve(masks, weights, scores[r, :-1, o], scores[r, -1, o], full_scores[start + r, o])
    return out, bases.mean(axis=0)


def aggregate(values: np.ndarray, method: str) -> np.ndarray:
    """Global SHAP values over records (axis 0): mean_abs, median or mean_sq."""
    if method == "mean_abs":
        return np.abs(values).mean(axis=0)
    if method == "median":
        return np.median(values, axis=0)
    if method == "mean_sq":
        return (values**2).mean(axis=0)
    raise ClarifyError(f"Invalid agg_method {method}; choose mean_abs, median or mean_sq.")


def kmeans_baseline(frame: pd.DataFrame, clusters: int | None, seed: int | None) -> pd.DataFrame:
    """The cluster centres of the dataset's numeric features; a cluster's most common value for the
    others."""
    from sklearn.cluster import KMeans

    n = len(frame)
    k = max(1, min(int(clusters or DEFAULT_CLUSTERS), n))
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    if numeric:
        data = frame[numeric].astype(float).fillna(frame[numeric].astype(float).mean()).fillna(0.0).to_numpy()
        model = KMeans(n_clusters=k, n_init=10, random_state=seed if seed is not None else 0).fit(data)
        assign = model.labels_
        centres = model.cluster_centers_
    else:
        assign = np.arange(n) % k
        centres = np.zeros((k, 0))
    rows = []
    for c in range(k):
        members = frame[assign == c]
        row = {}
        for col in frame.columns:
            if col in numeric:
                row[col] = float(centres[c, numeric.index(col)])
            else:
                modes = members[col].mode()
                row[col] = modes.iloc[0] if len(modes) else frame[col].mode().iloc[0]
        rows.append(row)
    return pd.DataFrame(rows, columns=list(frame.columns))
