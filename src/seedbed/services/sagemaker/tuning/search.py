"""Where the next trial of a tuning job goes: the Random, Grid and Bayesian strategies.

A hyperparameter space comes from ``ParameterRanges`` (integer, continuous, categorical, with
``Linear``, ``Logarithmic`` and ``ReverseLogarithmic`` scaling; ``Auto`` reads as linear). Random
samples it; Grid walks every combination of the categorical values (AWS's grid search takes only
categorical ranges); Bayesian samples at random until it has a few scored trials, then fits a
Gaussian process (scikit-learn, in a child process) to the scores in the unit cube and picks, among random
candidates, the one with the highest expected improvement. Values are the strings SageMaker
passes to training jobs.
"""

from __future__ import annotations

import itertools
import math
import random
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: Random candidates scored by the Bayesian strategy for each suggestion.
CANDIDATES = 256


class SpaceError(ValueError):
    """A range SageMaker would refuse; the message is the ValidationException's."""


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # Integer, Continuous or Categorical
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Linear"
    values: tuple[str, ...] = ()

    def sample(self, rng: random.Random) -> str:
        if self.kind == "Categorical":
            return rng.choice(self.values)
        return self.decode(rng.random())

    def decode(self, unit: float) -> str:
        """The value at position ``unit`` (0..1) of the range, as its scaling spreads it."""
        low, high = self.low, self.high
        if self.scaling == "Logarithmic":
            value = math.exp(math.log(low) + unit * (math.log(high) - math.log(low)))
        elif self.scaling == "ReverseLogarithmic":
            value = 1 - math.exp(math.log(1 - high) + (1 - unit) * (math.log(1 - low) - math.log(1 - high)))
        else:
            value = low + unit * (high - low)
        if self.kind == "Integer":
            return str(min(int(high), max(int(low), round(value))))
        return repr(min(high, max(low, value)))

    def encode(self, text: str) -> list[float]:
        """The value as coordinates in the unit cube (one-hot for categorical values)."""
        if self.kind == "Categorical":
            return [1.0 if text == v else 0.0 for v in self.values]
        value, low, high = float(text), self.low, self.high
        if high == low:
            return [0.0]
        if self.scaling == "Logarithmic":
            unit = (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
        elif self.scaling == "ReverseLogarithmic":
            unit = 1 - (math.log(1 - value) - math.log(1 - high)) / (math.log(1 - low) - math.log(1 - high))
        else:
            unit = (value - low) / (high - low)
        return [min(1.0, max(0.0, unit))]


def parse_space(ranges: dict[str, Any]) -> list[Parameter]:
    """The parameters of ``ParameterRanges``, checked as CreateHyperParameterTuningJob checks them."""
    out: list[Parameter] = []
    for key, kind in (("IntegerParameterRanges", "Integer"), ("ContinuousParameterRanges", "Continuous")):
        for spec in ranges.get(key) or []:
            try:
                low, high = float(spec["MinValue"]), float(spec["MaxValue"])
            except (KeyError, TypeError, ValueError):
                raise SpaceError(f"The {kind.lower()} range of hyperparameter {spec.get('Name')} needs numeric MinValue and MaxValue.") from None
            if kind == "Integer" and (low != int(low) or high != int(high)):
                raise SpaceError(f"The integer range of hyperparameter {spec['Name']} must have integer MinValue and MaxValue.")
            if low > high:
                raise SpaceError(f"MinValue must be less than or equal to MaxValue for hyperparameter {spec['Name']}.")
            scaling = spec.get("ScalingType") or "Auto"
            scaling = "Linear" if scaling == "Auto" else scaling
            if scaling == "Logarithmic" and low <= 0:
                raise SpaceError(f"Logarithmic scaling needs a range greater than 0 for hyperparameter {spec['Name']}.")
            if scaling == "ReverseLogarithmic" and (kind == "Integer" or low < 0 or high >= 1):
                raise SpaceError(f"ReverseLogarithmic scaling needs a continuous range within [0, 1) for hyperparameter {spec['Name']}.")
            out.append(Parameter(spec["Name"], kind, low, high, scaling))
    for spec in ranges.get("CategoricalParameterRanges") or []:
        values = tuple(str(v) for v in spec.get("Values") or [])
        if not values:
            raise SpaceError(f"The categorical range of hyperparameter {spec.get('Name')} needs at least one value.")
        out.append(Parameter(spec["Name"], "Categorical", values=values))
    names = [p.name for p in out]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise SpaceError(f"Hyperparameter {duplicate} appears in more than one parameter range.")
    return out


def grid(space: list[Parameter]) -> list[dict[str, str]]:
    """Every combination of the categorical values, in a stable order."""
    if any(p.kind != "Categorical" for p in space):
        raise SpaceError("The Grid strategy supports only categorical parameter ranges.")
    return [dict(zip([p.name for p in space], combo, strict=True)) for combo in itertools.product(*(p.values for p in space))]


class Sampler:
    """Suggests the hyperparameters of a tuning job's next trial from the trials scored so far."""

    def __init__(self, strategy: str, space: list[Parameter], seed: Any, initial: int = 3) -> None:
        self.strategy, self.space = strategy, space
        self.rng = random.Random(str(seed))
        self.initial = initial
        self._grid: Iterator[dict[str, str]] | None = iter(grid(space)) if strategy == "Grid" else None

    def wants_model(self, scored: list[tuple[dict[str, str], float]]) -> bool:
        """Whether the next suggestion comes from the Bayesian model (enough trials are scored)."""
        return self.strategy == "Bayesian" and len(scored) >= self.initial

    def suggest(self, index: int, scored: list[tuple[dict[str, str], float]], pending: list[dict[str, str]]) -> dict[str, str] | None:
        """Trial ``index``'s hyperparameters; ``scored`` pairs earlier trials' values with their
        objective as a loss (smaller is better). None when a grid is exhausted."""
        if self._grid is not None:
            return next(self._grid, None)
        if self.wants_model(scored):
            return expected_improvement(self.space, scored, pending, self.rng)
        return {p.name: p.sample(self.rng) for p in self.space}


def expected_improvement(space: list[Parameter], scored: list[tuple[dict[str, str], float]],
                         pending: list[dict[str, str]], rng: random.Random) -> dict[str, str]:
    """The random candidate with the highest expected improvement under a Gaussian process fitted
    to the scored trials (in the unit cube, losses standardized); pending and tried points are
    not suggested again."""
    import numpy as np
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    def encode(values: dict[str, str]) -> list[float]:
        return [x for p in space for x in p.encode(values[p.name])]

    known = [(v, loss) for v, loss in scored if all(p.name in v for p in space)]
    x = np.array([encode(v) for v, _ in known])
    y = np.array([loss for _, loss in known])
    target = (y - y.mean()) / (float(y.std()) or 1.0)
    kernel = ConstantKernel(1.0) * Matern(length_scale=np.full(x.shape[1], 0.5), nu=2.5) + WhiteKernel(1e-3)
    model = GaussianProcessRegressor(kernel=kernel, random_state=rng.randrange(2**31))
    with warnings.catch_warnings():  # a few noisy points often end the optimizer early; that is fine here
        warnings.simplefilter("ignore")
        model.fit(x, target)
    candidates = [{p.name: p.sample(rng) for p in space} for _ in range(CANDIDATES)]
    taken = {tuple(encode(v)) for v in pending} | {tuple(row) for row in x.tolist()}
    mean, std = model.predict(np.array([encode(c) for c in candidates]), return_std=True)
    std = np.maximum(std, 1e-9)
    gain = target.min() - mean
    z = gain / std
    cdf = 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))
    pdf = np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    improvement = gain * cdf + std * pdf
    for index in np.argsort(-improvement):
        if tuple(encode(candidates[int(index)])) not in taken:
            return candidates[int(index)]
    return candidates[int(np.argmax(improvement))]


async def suggest_elsewhere(ranges: dict[str, Any], scored: list[tuple[dict[str, str], float]],
                            pending: list[dict[str, str]], seed: str) -> dict[str, str]:
    """:func:`expected_improvement` in a child process: scikit-learn's Gaussian process would add
    over 100 MB to the server for good after one Bayesian tuning job."""
    import asyncio
    import json
    import sys

    request = json.dumps({"ranges": ranges, "scored": scored, "pending": pending, "seed": seed}).encode()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", __name__, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await child.communicate(request)
    if child.returncode != 0:
        raise RuntimeError(f"the Bayesian search failed: {err.decode(errors='replace')[-500:]}")
    return dict(json.loads(out))


def _main() -> None:
    import json
    import sys

    request = json.load(sys.stdin)
    scored = [(dict(values), float(loss)) for values, loss in request["scored"]]
    values = expected_improvement(parse_space(request["ranges"]), scored, request["pending"], random.Random(request["seed"]))
    json.dump(values, sys.stdout)


if __name__ == "__main__":
    _main()
