"""The local Model Monitor analyzer: profiles, suggested constraints, violations, data-capture
reading and model quality, run through its container contract (environment and files)."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest

from seedbed.runtime import image_main
from seedbed.runtime.monitoring import analyzer, dataset, drift, quality, stats


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run(tmp_path: Path, **env: str) -> tuple[str, Path]:
    out = tmp_path / "out"
    message = analyzer.run({"output_path": str(out), **env})
    return message, out


def capture(inp: str, out: str, when: str = "2024-05-01T10:30:00Z", encoding: str = "CSV", event: str = "e1",
            content_type: str = "text/csv") -> str:
    return json.dumps({"captureData": {
        "endpointInput": {"observedContentType": content_type, "mode": "INPUT", "data": inp, "encoding": encoding},
        "endpointOutput": {"observedContentType": content_type, "mode": "OUTPUT", "data": out, "encoding": encoding}},
        "eventMetadata": {"eventId": event, "inferenceTime": when}, "eventVersion": "0"})


def baseline(tmp_path: Path, rows: list[str], header: str | None = "label,x,color") -> tuple[dict, dict]:
    data = "\n".join(([header] if header else []) + rows) + "\n"
    write(tmp_path / "base" / "data.csv", data)
    fmt = {"csv": {"header": header is not None}}
    run(tmp_path, dataset_source=str(tmp_path / "base"), dataset_format=json.dumps(fmt))
    out = tmp_path / "out"
    return json.loads((out / "statistics.json").read_text()), json.loads((out / "constraints.json").read_text())


def test_baselining_profiles_types_completeness_and_domains(tmp_path: Path) -> None:
    rows = [f"{i % 3},{i / 10},{'red' if i % 2 else 'blue'}" for i in range(100)] + [",1.5,red"]
    statistics, constraints = baseline(tmp_path, rows)
    features = {f["name"]: f for f in statistics["features"]}
    assert statistics["dataset"] == {"item_count": 101}
    assert [f["inferred_type"] for f in statistics["features"]] == ["Integral", "Fractional", "String"]
    label = features["label"]["numerical_statistics"]
    assert label["common"] == {"num_present": 100, "num_missing": 1} and label["min"] == 0 and label["max"] == 2
    assert len(label["distribution"]["kll"]["buckets"]) == 10
    color = features["color"]["string_statistics"]
    assert color["distinct_count"] == 2.0
    assert {b["value"]: b["count"] for b in color["distribution"]["categorical"]["buckets"]} == {"red": 51, "blue": 50}
    by_name = {f["name"]: f for f in constraints["features"]}
    assert by_name["label"]["completeness"] == pytest.approx(100 / 101, abs=1e-9)
    assert by_name["x"]["num_constraints"] == {"is_non_negative": True}
    assert by_name["color"]["string_constraints"] == {"domains": ["blue", "red"]}
    assert constraints["monitoring_config"]["datatype_check_threshold"] == 1.0
    assert "_types" not in json.dumps(statistics)


def test_monitoring_finds_each_kind_of_violation(tmp_path: Path) -> None:
    rng = random.Random(4)
    rows = [f"{rng.randint(0, 9)},{rng.random():.4f},{rng.choice(['red', 'blue'])}" for _ in range(500)]
    baseline(tmp_path, rows)
    base = tmp_path / "out"
    (tmp_path / "mon").mkdir()
    constraints = str(tmp_path / "mon" / "constraints.json")
    Path(constraints).write_text((base / "constraints.json").read_text())
    statistics = str(tmp_path / "mon" / "statistics.json")
    Path(statistics).write_text((base / "statistics.json").read_text())
    lines = []
    for i in range(200):  # label becomes fractional, x shifts by +5, colors gain 'green', 10% of x missing
        x = "" if i % 10 == 0 else f"{rng.random() + 5:.4f}"
        lines.append(capture(f"{x},{rng.choice(['red', 'green'])}", f"{rng.randint(0, 9)}.5", event=str(i)))
    lines.append(capture("1,red", "1", when="2024-05-01T12:00:00Z"))  # outside the window
    write(tmp_path / "capture" / "ep" / "AllTraffic" / "2024" / "05" / "01" / "10" / "a.jsonl", "\n".join(lines))
    message, out = run(
        tmp_path / "run", dataset_source=str(tmp_path / "capture"), baseline_constraints=constraints, baseline_statistics=statistics,
        dataset_format='{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}',
        start_time="2024-05-01T10:00:00Z", end_time="2024-05-01T11:00:00Z")
    assert message.startswith("CompletedWithViolations")
    violations = json.loads((out / "constraint_violations.json").read_text())["violations"]
    kinds = {(v["feature_name"], v["constraint_check_type"]) for v in violations}
    assert kinds == {("label", "data_type_check"), ("label", "baseline_drift_check"), ("x", "completeness_check"),
                     ("x", "baseline_drift_check"),
                     ("color", "categorical_values_check"), ("color", "baseline_drift_check")}
    current = json.loads((out / "statistics.json").read_text())
    assert current["dataset"]["item_count"] == 200
    data_type = next(v for v in violations if v["constraint_check_type"] == "data_type_check")
    assert "Expected data type: Integral" in data_type["description"] and "Only 0.0% of data is Integral" in data_type["description"]


def test_same_distribution_has_no_violations_and_column_counts_are_checked(tmp_path: Path) -> None:
    rows = [f"{i % 7},{(i * 37 % 100) / 100}" for i in range(300)]
    statistics, constraints = baseline(tmp_path, rows, header=None)
    current = stats.profile(["_c0", "_c1"], [r.split(",") for r in rows])
    assert stats.check(constraints, statistics, current) == []
    fewer = stats.profile(["_c0"], [[r.split(",")[0]] for r in rows])
    assert [v["constraint_check_type"] for v in stats.check(constraints, statistics, fewer)] == ["missing_column_check"]
    more = stats.profile(["_c0", "_c1", "_c2"], [[*r.split(","), "1"] for r in rows])
    extra = stats.check(constraints, statistics, more)
    assert [(v["feature_name"], v["constraint_check_type"]) for v in extra] == [("_c2", "extra_column_check")]
    assert "Number of columns in current dataset: 3, Number of columns in baseline constraints: 2" in extra[0]["description"]
    disabled = {**constraints, "monitoring_config": {**constraints["monitoring_config"], "evaluate_constraints": "Disabled"}}
    assert stats.check(disabled, statistics, more) == []


def test_drift_distance_is_zero_for_the_same_data_and_grows_with_a_shift() -> None:
    values = [str(i / 100) for i in range(1000)]
    a = stats.profile(["v"], [[v] for v in values])["features"][0]
    shifted = stats.profile(["v"], [[str(float(v) + 2.5)] for v in values])["features"][0]
    assert drift.feature_distance(a, a) == 0.0
    assert drift.feature_distance(a, shifted) == pytest.approx(0.25, abs=0.01)
    no_sketch = json.loads(json.dumps(shifted))
    no_sketch["numerical_statistics"]["distribution"]["kll"].pop("sketch")
    assert drift.feature_distance(a, no_sketch) == pytest.approx(0.25, abs=0.05)  # from the buckets
    big = stats.profile(["v"], [[str(i)] for i in range(10000)])["features"][0]
    assert len(big["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"][0]) == stats.SKETCH_K
    assert drift.feature_distance(big, big) == 0.0


def test_capture_payloads_json_base64_and_multiline_csv(tmp_path: Path) -> None:
    lines = [
        capture("1,2\n3,4", "0.1\n0.2"),
        capture(json.dumps({"instances": [[5, 6]]}), json.dumps({"predictions": [0.3]}), encoding="JSON", content_type="application/json"),
        capture(base64.b64encode(b"7,8").decode(), base64.b64encode(b"0.4").decode(), encoding="BASE64"),
    ]
    write(tmp_path / "cap" / "f.jsonl", "\n".join(lines))
    data = dataset.load({"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}, str(tmp_path / "cap"))
    assert data.names == ["_c0", "_c1", "_c2"]
    assert [[str(v) for v in row] for row in data.rows] == [
        ["0.1", "1", "2"], ["0.2", "3", "4"], ["0.3", "5", "6"], ["0.4", "7", "8"]]
    only_input = dataset.load({"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput"]}}, str(tmp_path / "cap"))
    assert only_input.rows[0] == ["1", "2"]
    dataset.apply_baseline_names(data, ["y", "a", "b"])
    assert data.names == ["y", "a", "b"]


def test_record_preprocessor_shapes_rows(tmp_path: Path) -> None:
    write(tmp_path / "cap" / "f.jsonl", "\n".join(capture(f"{i},{i * 2}", str(i % 2), event=str(i)) for i in range(20)))
    script = write(tmp_path / "pre.py", (
        "def preprocess_handler(inference_record):\n"
        "    a, b = inference_record.endpoint_input.data.split(',')\n"
        "    return {'total': int(a) + int(b), 'label': inference_record.endpoint_output.data}\n"))
    message, out = run(tmp_path, dataset_source=str(tmp_path / "cap"), record_preprocessor_script=str(script),
                       dataset_format='{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}')
    assert message.startswith("Baselining completed")
    features = json.loads((out / "statistics.json").read_text())["features"]
    assert [(f["name"], f["inferred_type"]) for f in features] == [("total", "Integral"), ("label", "Integral")]


def test_empty_window_and_bad_inputs_fail_the_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "cap" / "f.jsonl", capture("1", "2", when="2024-05-01T09:00:00Z"))
    failure = tmp_path / "failure"
    monkeypatch.setattr(image_main, "FAILURE", str(failure))
    for key, value in {"dataset_source": str(tmp_path / "cap"), "output_path": str(tmp_path / "o"),
                       "dataset_format": '{"sagemakerCaptureJson": {}}', "start_time": "2024-05-01T10:00:00Z",
                       "end_time": "2024-05-01T11:00:00Z", "baseline_constraints": str(tmp_path / "none.json")}.items():
        monkeypatch.setenv(key, value)
    assert analyzer.main() == 1
    assert failure.read_text().startswith("Error: Job inputs had no data")
    monkeypatch.setenv("dataset_format", '{"parquet": {}}')
    assert analyzer.main() == 1 and "Parquet" in failure.read_text()


def test_model_quality_regression_baseline_and_monitoring(tmp_path: Path) -> None:
    rows = ["label,prediction"] + [f"{i},{i + (1 if i % 2 else -1)}" for i in range(50)]
    write(tmp_path / "base" / "d.csv", "\n".join(rows))
    message, out = run(tmp_path, dataset_source=str(tmp_path / "base"), dataset_format='{"csv": {"header": true}}',
                       analysis_type="MODEL_QUALITY", problem_type="Regression", ground_truth_attribute="label",
                       inference_attribute="prediction")
    assert message.startswith("Baselining completed")
    statistics = json.loads((out / "statistics.json").read_text())
    assert statistics["regression_metrics"]["mae"]["value"] == 1.0 and statistics["regression_metrics"]["rmse"]["value"] == 1.0
    constraints = json.loads((out / "constraints.json").read_text())
    assert constraints["regression_constraints"]["mae"] == {"threshold": 1.0, "comparison_operator": "GreaterThanThreshold"}
    cons = write(tmp_path / "c.json", json.dumps(constraints))
    write(tmp_path / "cap" / "f.jsonl", "\n".join(capture("x", str(i + 3), event=f"ev{i}") for i in range(20)))
    write(tmp_path / "gt" / "2024" / "05" / "01" / "11" / "g.jsonl", "\n".join(json.dumps({
        "groundTruthData": {"data": str(i), "encoding": "CSV"}, "eventMetadata": {"eventId": f"ev{i}"}, "eventVersion": "0"})
        for i in range(20)))
    message, out = run(tmp_path / "m", dataset_source=str(tmp_path / "cap"), ground_truth_source=str(tmp_path / "gt"),
                       dataset_format='{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}',
                       analysis_type="MODEL_QUALITY", problem_type="Regression", baseline_constraints=str(cons))
    assert message.startswith("CompletedWithViolations")
    violations = json.loads((out / "constraint_violations.json").read_text())["violations"]
    assert {v["metric_name"] for v in violations} == {"mae", "mse", "rmse", "r2"}
    assert violations[0]["constraint_check_type"] == "GreaterThanThreshold"


def test_model_quality_binary_classification_and_multiclass_refusal() -> None:
    truth = [1, 0, 1, 1, 0, 0, 1, 0]
    scores = [0.9, 0.2, 0.4, 0.8, 0.1, 0.6, 0.7, 0.3]
    section, values = quality.metrics("BinaryClassification", truth, [None] * 8, scores, 0.5)
    assert section == "binary_classification_metrics"
    assert values["confusion_matrix"] == {"0": {"0": 3, "1": 1}, "1": {"0": 1, "1": 3}}
    assert values["accuracy"]["value"] == 0.75 and values["precision"]["value"] == 0.75 and values["recall"]["value"] == 0.75
    assert values["auc"]["value"] == pytest.approx(0.9375)
    suggested = quality.suggest(section, values)["binary_classification_constraints"]
    assert suggested["accuracy"]["comparison_operator"] == "LessThanThreshold"
    assert suggested["false_positive_rate"]["comparison_operator"] == "GreaterThanThreshold"
    with pytest.raises(quality.QualityError, match="MulticlassClassification"):
        quality.metrics("MulticlassClassification", truth, truth, None, 0.5)


def test_quality_check_mode_checks_and_suggests_at_once(tmp_path: Path) -> None:
    rows = [f"{i % 5},{i}" for i in range(100)]
    _, constraints = baseline(tmp_path, rows, header=None)
    cons = write(tmp_path / "c" / "constraints.json", json.dumps(constraints))
    write(tmp_path / "new" / "d.csv", "\n".join(f"{i % 5},{i * 10}" for i in range(100)))
    message, out = run(tmp_path / "check", dataset_source=str(tmp_path / "new"), dataset_format='{"csv": {"header": false}}',
                       baseline_constraints=str(cons), seedbed_suggest_constraints="Enabled")
    assert message.startswith("Completed")
    assert json.loads((out / "constraint_violations.json").read_text()) == {"violations": []}  # no baseline statistics: no drift check
    assert [f["name"] for f in json.loads((out / "constraints.json").read_text())["features"]] == ["_c0", "_c1"]
