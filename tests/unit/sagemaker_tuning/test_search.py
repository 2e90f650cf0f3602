"""The tuning strategies: ranges parsed and checked as SageMaker checks them, scaling, the grid,
and a Bayesian search that beats chance on a known objective."""

from __future__ import annotations

import math
import random

import pytest

from seedbed.services.sagemaker.tuning import search


def test_ranges_are_parsed_with_their_scaling() -> None:
    space = search.parse_space({
        "IntegerParameterRanges": [{"Name": "depth", "MinValue": "2", "MaxValue": "8"}],
        "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.001", "MaxValue": "1", "ScalingType": "Logarithmic"},
                                      {"Name": "momentum", "MinValue": "0.9", "MaxValue": "0.999", "ScalingType": "ReverseLogarithmic"}],
        "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
    })
    assert [(p.name, p.kind, p.scaling) for p in space] == [
        ("depth", "Integer", "Linear"), ("eta", "Continuous", "Logarithmic"),
        ("momentum", "Continuous", "ReverseLogarithmic"), ("booster", "Categorical", "Linear")]
    rng = random.Random(1)
    for _ in range(200):
        values = {p.name: p.sample(rng) for p in space}
        assert 2 <= int(values["depth"]) <= 8
        assert 0.001 <= float(values["eta"]) <= 1
        assert 0.9 <= float(values["momentum"]) <= 0.999
        assert values["booster"] in ("gbtree", "dart")
    eta = space[1]
    # Logarithmic scaling spreads values evenly in orders of magnitude: the middle is the geometric mean.
    assert math.isclose(float(eta.decode(0.5)), math.sqrt(0.001), rel_tol=1e-9)
    for unit in (0.0, 0.25, 0.9):
        assert math.isclose(eta.encode(eta.decode(unit))[0], unit, abs_tol=1e-9)
        assert math.isclose(space[2].encode(space[2].decode(unit))[0], unit, abs_tol=1e-9)
    assert space[3].encode("dart") == [0.0, 1.0]


@pytest.mark.parametrize(("ranges", "message"), [
    ({"IntegerParameterRanges": [{"Name": "a", "MinValue": "5", "MaxValue": "1"}]}, "MinValue"),
    ({"IntegerParameterRanges": [{"Name": "a", "MinValue": "0.5", "MaxValue": "3"}]}, "integer"),
    ({"ContinuousParameterRanges": [{"Name": "a", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}]}, "greater than 0"),
    ({"ContinuousParameterRanges": [{"Name": "a", "MinValue": "0.5", "MaxValue": "1", "ScalingType": "ReverseLogarithmic"}]}, "[0, 1)"),
    ({"CategoricalParameterRanges": [{"Name": "a", "Values": []}]}, "at least one"),
    ({"CategoricalParameterRanges": [{"Name": "a", "Values": ["x"]}],
      "IntegerParameterRanges": [{"Name": "a", "MinValue": "1", "MaxValue": "2"}]}, "more than one"),
])
def test_bad_ranges_are_refused(ranges: dict, message: str) -> None:
    with pytest.raises(search.SpaceError, match=message.replace("[", r"\[").replace(")", r"\)")):
        search.parse_space(ranges)


def test_grid_walks_every_combination_then_ends() -> None:
    space = search.parse_space({"CategoricalParameterRanges": [{"Name": "a", "Values": ["1", "2"]},
                                                               {"Name": "b", "Values": ["x", "y", "z"]}]})
    sampler = search.Sampler("Grid", space, seed=0)
    seen = []
    while (values := sampler.suggest(len(seen), [], [])) is not None:
        seen.append((values["a"], values["b"]))
    assert sorted(seen) == sorted((a, b) for a in "12" for b in "xyz") and len(set(seen)) == 6
    with pytest.raises(search.SpaceError, match="only categorical"):
        search.grid(search.parse_space({"IntegerParameterRanges": [{"Name": "a", "MinValue": "1", "MaxValue": "3"}]}))


def test_bayesian_search_finds_the_minimum_better_than_chance() -> None:
    space = search.parse_space({"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"},
                                                              {"Name": "y", "MinValue": "0", "MaxValue": "1"}]})

    def loss(values: dict[str, str]) -> float:
        return (float(values["x"]) - 0.3) ** 2 + (float(values["y"]) - 0.7) ** 2

    def best_after(strategy: str, seed: int, trials: int = 15) -> float:
        sampler = search.Sampler(strategy, space, seed=seed)
        scored: list[tuple[dict[str, str], float]] = []
        for index in range(trials):
            values = sampler.suggest(index, scored, [])
            assert values is not None
            scored.append((values, loss(values)))
        return min(score for _, score in scored)

    bayesian = sorted(best_after("Bayesian", seed) for seed in range(5))
    chance = sorted(best_after("Random", seed) for seed in range(5))
    assert bayesian[2] < chance[2] / 3  # the median run gets far closer to (0.3, 0.7)


def test_the_server_asks_a_child_process_for_bayesian_suggestions() -> None:
    import asyncio

    ranges = {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}],
              "CategoricalParameterRanges": [{"Name": "kind", "Values": ["a", "b"]}]}
    scored = [({"x": repr(x), "kind": k}, (x - 0.3) ** 2 + (0 if k == "a" else 1)) for x, k in
              [(0.1, "a"), (0.9, "b"), (0.5, "a"), (0.7, "b")]]
    first = asyncio.run(search.suggest_elsewhere(ranges, scored, [], seed="job/4"))
    again = asyncio.run(search.suggest_elsewhere(ranges, scored, [], seed="job/4"))
    assert first == again and 0 <= float(first["x"]) <= 1 and first["kind"] in ("a", "b")
    assert first == search.expected_improvement(search.parse_space(ranges), scored, [], random.Random("job/4"))
