"""``Std:JsonGet`` paths as the SDK writes them (property files and ``@step`` delayed returns).
(The Tuning step runs a tuning job through the API: tests/integration/test_sagemaker_pipeline_steps.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from seedbed.services.sagemaker.pipelines import definition as defn

DOCUMENT = {"Result": {"rows": 6, "values": [0, 1, {"deep": "yes"}], "odd key": 1, "none": None},
            "regression_metrics": {"mse": {"value": 2.5}}}


@pytest.mark.parametrize(("path", "expected"), [
    ("regression_metrics.mse.value", 2.5),          # a property file path
    ("Result['rows']", 6),                          # DelayedReturn["rows"]
    ("Result['values'][2]['deep']", "yes"),         # DelayedReturn["values"][2]["deep"]
    ("Result[\"odd key\"]", 1),
    ("$.Result.rows", 6),
    ("Result['none']", None),                       # a None the function returned
    ("Result.values[-1].deep", "yes"),              # anything richer: JMESPath
    ("length(Result.values)", 3),
])
def test_json_get_paths(path: str, expected: Any) -> None:
    assert defn.json_get(DOCUMENT, path) == expected


@pytest.mark.parametrize("path", ["Result['missing']", "Result['values'][9]", "Result.nothing", "Result[?"])
def test_json_get_reports_what_it_cannot_find(path: str) -> None:
    with pytest.raises(defn.DefinitionError, match="Std:JsonGet"):
        defn.json_get(DOCUMENT, path)
