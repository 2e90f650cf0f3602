"""The bias metrics, as the SageMaker Clarify documentation defines them.

Every metric compares the sensitive group ``d`` (the facet's selected values, or the values above
its threshold) with everyone else ``a``, over boolean arrays: ``facet`` (member of ``d``),
``label`` (observed outcome is positive) and ``predicted`` (predicted outcome is positive). Labels
are collapsed to positive/negative before any metric sees them, so the distribution metrics (KL,
JS, LP, TVD, KS) compare two-bin distributions, as Clarify does.

A ratio whose denominator is 0 is 0 when its numerator is 0 too, and +/-infinity otherwise; a
difference of two infinite ratios is 0. A metric that cannot be computed (an empty group, no
``group_variable`` for CDDL) raises :class:`MetricError`, which the report turns into an entry
with an ``error`` and a null value, as Clarify's analysis.json does.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

INF = math.inf


class MetricError(ValueError):
    """A metric that cannot be computed for this facet value."""


PRE_TRAINING: dict[str, str] = {
    "CDDL": "Conditional Demographic Disparity in Labels (CDDL)",
    "CI": "Class Imbalance (CI)",
    "DPL": "Difference in Positive Proportions in Labels (DPL)",
    "JS": "Jensen-Shannon Divergence (JS)",
    "KL": "Kullback-Liebler Divergence (KL)",
    "KS": "Kolmogorov-Smirnov Distance (KS)",
    "LP": "L-p Norm (LP)",
    "TVD": "Total Variation Distance (TVD)",
}

POST_TRAINING: dict[str, str] = {
    "AD": "Accuracy Difference (AD)",
    "CDDPL": "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
    "DAR": "Difference in Acceptance Rates (DAR)",
    "DCA": "Difference in Conditional Acceptance (DCA)",
    "DCR": "Difference in Conditional Rejection (DCR)",
    "DI": "Disparate Impact (DI)",
    "DPPL": "Difference in Positive Proportions in Predicted Labels (DPPL)",
    "DRR": "Difference in Rejection Rates (DRR)",
    "FT": "Flip Test (FT)",
    "GE": "Generalized Entropy (GE)",
    "RD": "Recall Difference (RD)",
    "SD": "Specificity Difference (SD)",
    "TE": "Treatment Equality (TE)",
}

#: Names the SDK and the documentation also use for the same metrics.
ALIASES = {"DCACC": "DCA", "DCO": "DCA", "DLR": "DAR"}


def ratio(num: float, den: float) -> float:
    if den == 0:
        return 0.0 if num == 0 else (INF if num > 0 else -INF)
    return num / den


def difference(x: float, y: float) -> float:
    if math.isinf(x) and x == y:
        return 0.0
    return x - y


def _groups(facet: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(facet, dtype=bool)
    if not d.any():
        raise MetricError("Facet set is empty.")
    if d.all():
        raise MetricError("Negated facet set is empty.")
    return ~d, d


# -- pre-training -----------------------------------------------------------------------------------


def ci(facet: np.ndarray) -> float:
    """(n_a - n_d) / (n_a + n_d)."""
    a, d = _groups(facet)
    return float(a.sum() - d.sum()) / len(a)


def dpl(facet: np.ndarray, positive: np.ndarray) -> float:
    """q_a - q_d: the difference in the proportion of positive outcomes."""
    a, d = _groups(facet)
    positive = np.asarray(positive, dtype=bool)
    return float(positive[a].mean() - positive[d].mean())


def _distributions(facet: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P_a and P_d over the outcomes both groups have (the outcomes with a zero probability in
    either group are left out, so KL and JS stay finite)."""
    a, d = _groups(facet)
    label = np.asarray(label, dtype=bool)
    pa = np.array([1 - label[a].mean(), label[a].mean()])
    pd_ = np.array([1 - label[d].mean(), label[d].mean()])
    keep = (pa > 0) & (pd_ > 0)
    if not keep.any():
        raise MetricError("No outcome is common to both groups; the dataset may be too small.")
    return pa[keep], pd_[keep]


def kl(facet: np.ndarray, label: np.ndarray) -> float:
    """sum_y P_a(y) log(P_a(y) / P_d(y))."""
    pa, pd_ = _distributions(facet, label)
    return float(np.sum(pa * np.log(pa / pd_)))


def js(facet: np.ndarray, label: np.ndarray) -> float:
    """(KL(P_a, P) + KL(P_d, P)) / 2 with P = (P_a + P_d) / 2."""
    pa, pd_ = _distributions(facet, label)
    p = (pa + pd_) / 2
    return float(0.5 * (np.sum(pa * np.log(pa / p)) + np.sum(pd_ * np.log(pd_ / p))))


def lp(facet: np.ndarray, label: np.ndarray, order: float = 2) -> float:
    """The L-p norm (p = 2) of P_a - P_d."""
    pa, pd_ = _distributions(facet, label)
    return float(np.linalg.norm(pa - pd_, order))


def tvd(facet: np.ndarray, label: np.ndarray) -> float:
    """Half the L1 norm of P_a - P_d."""
    return 0.5 * lp(facet, label, 1)


def ks(facet: np.ndarray, label: np.ndarray) -> float:
    """max_y |P_a(y) - P_d(y)|."""
    return lp(facet, label, np.inf)


def cdd(facet: np.ndarray, outcome: np.ndarray, group: np.ndarray | None) -> float:
    """Conditional demographic disparity: sum_i n_i DD_i / n, where in subgroup i
    DD_i = (rejected members of d / rejected) - (accepted members of d / accepted)."""
    if group is None:
        raise MetricError("Group variable is empty or not provided.")
    d = np.asarray(facet, dtype=bool)
    outcome = np.asarray(outcome, dtype=bool)
    if not outcome.any():
        raise MetricError("No positive labels in set.")
    if outcome.all():
        raise MetricError("No negative labels in set.")
    group = np.asarray(group)
    total = 0.0
    for value in _unique(group):
        member = group == value
        accepted = outcome & member
        rejected = ~outcome & member
        share_accepted = (accepted & d).sum() / accepted.sum() if accepted.any() else 0.0
        share_rejected = (rejected & d).sum() / rejected.sum() if rejected.any() else 0.0
        total += member.sum() * (share_rejected - share_accepted)
    return float(total / len(group))


def _unique(values: np.ndarray) -> list[object]:
    seen: dict[object, None] = {}
    for value in values.tolist():
        seen.setdefault(value, None)
    return list(seen)


# -- post-training ----------------------------------------------------------------------------------


class Confusion:
    """True/false positives/negatives of one group."""

    def __init__(self, member: np.ndarray, label: np.ndarray, predicted: np.ndarray) -> None:
        self.tp = int((member & label & predicted).sum())
        self.fp = int((member & ~label & predicted).sum())
        self.fn = int((member & label & ~predicted).sum())
        self.tn = int((member & ~label & ~predicted).sum())

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


def _confusions(facet: np.ndarray, label: np.ndarray, predicted: np.ndarray) -> tuple[Confusion, Confusion]:
    a, d = _groups(facet)
    label, predicted = np.asarray(label, dtype=bool), np.asarray(predicted, dtype=bool)
    return Confusion(a, label, predicted), Confusion(d, label, predicted)


def dppl(facet: np.ndarray, predicted: np.ndarray) -> float:
    """q^_a - q^_d: DPL over the predicted labels."""
    return dpl(facet, predicted)


def di(facet: np.ndarray, predicted: np.ndarray) -> float:
    """q^_d / q^_a."""
    a, d = _groups(facet)
    predicted = np.asarray(predicted, dtype=bool)
    return ratio(float(predicted[d].mean()), float(predicted[a].mean()))


def dca(facet: np.ndarray, label: np.ndarray, predicted: np.ndarray) -> float:
    """c_a - c_d, c = observed positives / predicted positives."""
    ca, cd = _confusions(facet, label, predicted)
    return difference(ratio(ca.tp + ca.fn, ca.tp + ca.fp), ratio(cd.tp + cd.fn, cd.tp + cd.fp))


def dcr(facet: np.ndarray, label: np.ndarray, predicted: np.ndarray) -> float:
    """r_d - r_a, r = observed negatives / predicted negatives."""
    ca, cd = _confusions(facet, label, predicted)
    return difference(ratio(cd.tn + cd.fp, cd.tn + cd.fn), ratio(ca.tn + ca.fp, ca.tn + ca.fn))


def rd(facet: np.ndarray, label: np.ndarray, predicted: np.ndarray) -> float:
    """Recall of a minus recall of d."""
    ca, cd = _confusions(facet, label, predicted)
    return difference(ratio(ca.tp, ca.tp + ca.fn), ratio(cd.tp, cd.tp + cd.fn))


def sd(facet: np.ndarray, label: np.ndarray, predicted: np.ndarray) -> float:
    """Specificity of d minus specificity of a."""
    ca, cd = _confusions(facet, label, predicted)
    return difference(ratio(cd.tn, cd.tn + cd.fp), ratio(ca.tn, ca.tn + ca.fp))


def dar(facet: np.ndarray, label: np.ndarray, predicted: np.ndarray) -> float:
    """Precision of a minus precision of d (TP / predicted positives)."""
    ca, cd = _confusions(facet, label, predicted)
    return difference(ratio(ca.tp, ca.tp + ca.fp), ratio(cd.tp, cd.tp + cd.fp))


def drr(facet: np.ndarray, label: np.ndarray, predicted: np.ndarray) -> float:
    """TN / predicted negatives of d minus that of a."""
    ca, cd = _confusions(facet, label, predicted)
    return difference(ratio(cd.tn, cd.tn + cd.fn), ratio(ca.tn, ca.tn + ca.fn))


def ad(facet: np.ndarray, label: np.ndarray, predicted: np.ndarray) -> float:
    """Accuracy of a minus accuracy of d."""
    ca, cd = _confusions(facet, label, predicted)
    return difference(ratio(ca.tp + ca.tn, ca.n), ratio(cd.tp + cd.tn, cd.n))


def te(facet: np.ndarray, label: np.ndarray, predicted: np.ndarray) -> float:
    """FN_d / FP_d - FN_a / FP_a."""
    ca, cd = _confusions(facet, label, predicted)
    return difference(ratio(cd.fn, cd.fp), ratio(ca.fn, ca.fp))


def ge(label: np.ndarray, predicted: np.ndarray, alpha: float = 2.0) -> float:
    """Generalized entropy index of the benefits b_i = y^_i - y_i + 1 (alpha = 2)."""
    benefit = np.asarray(predicted, dtype=float) - np.asarray(label, dtype=float) + 1
    if len(benefit) == 0:
        raise MetricError("The dataset is empty.")
    mean = benefit.mean()
    if mean == 0:
        raise MetricError("All predicted labels are false negatives.")
    return float(((benefit / mean) ** alpha - 1).sum() / (len(benefit) * alpha * (alpha - 1)))


def ft(facet: np.ndarray, predicted: np.ndarray, features: np.ndarray | None) -> float:
    """Flip test: a k-nearest-neighbour model (k = 5, or 1 for fewer than 10 samples) fitted on
    group a's features and predicted labels labels group d; FT = (F+ - F-) / n_d, F+ the members
    of d the model accepts and the neighbours reject, F- the other way round."""
    a, d = _groups(facet)
    if features is None or features.size == 0:
        raise MetricError("FlipTest needs feature columns besides the facet and the label.")
    try:
        x = np.asarray(features, dtype=float)
    except (TypeError, ValueError):
        raise MetricError("FlipTest does not support non-numeric columns.") from None
    from sklearn.neighbors import KNeighborsClassifier

    predicted = np.asarray(predicted, dtype=bool)
    knn = KNeighborsClassifier(n_neighbors=5 if a.sum() > 9 else 1)
    knn.fit(x[a], predicted[a])
    neighbours = knn.predict(x[d]).astype(bool)
    model = predicted[d]
    return (int((model & ~neighbours).sum()) - int((~model & neighbours).sum())) / int(d.sum())


# -- dispatch ---------------------------------------------------------------------------------------


class Inputs:
    """What one facet value's metrics are computed from."""

    def __init__(self, facet: np.ndarray, label: np.ndarray, predicted: np.ndarray | None = None,
                 group: np.ndarray | None = None, features: np.ndarray | None = None) -> None:
        self.facet, self.label, self.predicted, self.group, self.features = facet, label, predicted, group, features


CALLS: dict[str, Callable[[Inputs], float]] = {
    "CI": lambda i: ci(i.facet),
    "DPL": lambda i: dpl(i.facet, i.label),
    "KL": lambda i: kl(i.facet, i.label),
    "JS": lambda i: js(i.facet, i.label),
    "LP": lambda i: lp(i.facet, i.label),
    "TVD": lambda i: tvd(i.facet, i.label),
    "KS": lambda i: ks(i.facet, i.label),
    "CDDL": lambda i: cdd(i.facet, i.label, i.group),
    "DPPL": lambda i: dppl(i.facet, i.predicted),  # type: ignore[arg-type]
    "DI": lambda i: di(i.facet, i.predicted),  # type: ignore[arg-type]
    "DCA": lambda i: dca(i.facet, i.label, i.predicted),  # type: ignore[arg-type]
    "DCR": lambda i: dcr(i.facet, i.label, i.predicted),  # type: ignore[arg-type]
    "RD": lambda i: rd(i.facet, i.label, i.predicted),  # type: ignore[arg-type]
    "SD": lambda i: sd(i.facet, i.label, i.predicted),  # type: ignore[arg-type]
    "DAR": lambda i: dar(i.facet, i.label, i.predicted),  # type: ignore[arg-type]
    "DRR": lambda i: drr(i.facet, i.label, i.predicted),  # type: ignore[arg-type]
    "AD": lambda i: ad(i.facet, i.label, i.predicted),  # type: ignore[arg-type]
    "TE": lambda i: te(i.facet, i.label, i.predicted),  # type: ignore[arg-type]
    "GE": lambda i: ge(i.label, i.predicted),  # type: ignore[arg-type]
    "FT": lambda i: ft(i.facet, i.predicted, i.features),  # type: ignore[arg-type]
    "CDDPL": lambda i: cdd(i.facet, i.predicted, i.group),  # type: ignore[arg-type]
}


def select(requested: str | list[str] | None, table: dict[str, str], stage: str) -> list[str]:
    """The metric names a ``methods`` value asks for ("all" or a list), sorted as Clarify sorts them."""
    if requested is None or requested == "all" or requested == ["all"]:
        return sorted(table)
    if isinstance(requested, str):
        requested = [requested]
    names = []
    for name in requested:
        key = ALIASES.get(str(name).upper(), str(name).upper())
        if key not in table:
            raise MetricError(f"Unknown {stage} bias metric {name}; the metrics are {', '.join(sorted(table))} (or \"all\").")
        names.append(key)
    return sorted(set(names))


def compute(names: list[str], table: dict[str, str], inputs: Inputs) -> list[dict[str, object]]:
    """analysis.json's ``metrics`` list for one facet value."""
    out: list[dict[str, object]] = []
    for name in names:
        entry: dict[str, object] = {"name": name, "description": table[name]}
        try:
            value = CALLS[name](inputs)
        except MetricError as exc:
            entry.update(value=None, error=str(exc))
        else:
            entry["value"] = ("Infinity" if value > 0 else "-Infinity") if math.isinf(value) else float(value)
        out.append(entry)
    return out
