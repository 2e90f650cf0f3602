"""ModelBias and ModelExplainability monitoring: the Clarify image's monitoring mode run through its
container contract (captured requests and responses, ground truth, the schedule's analysis config
and a baseline analysis.json in; analysis.json and constraint_violations.json out), bias metrics
checked by hand, the CloudWatch metrics of an analysis, and the job definitions' unified shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pytest

from seedbed.runtime.clarify import analyzer, monitor
from seedbed.runtime.clarify.config import ClarifyError
from seedbed.runtime.monitoring import dataset as captures
from seedbed.services.sagemaker.monitoring import metrics
from seedbed.services.sagemaker.monitoring.operations import _unified

# Ten captured requests "male,x" with the model's probability; their ground truth labels.
MALE = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
X = [0.5, 1.5, 2.5, 3.5, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7]
SCORE = [0.9, 0.8, 0.7, 0.2, 0.9, 0.1, 0.2, 0.3, 0.6, 0.4]
TRUTH = [1, 1, 0, 0, 1, 1, 0, 0, 1, 0]
BIAS_CONFIG = {"label_values_or_threshold": [1], "facet": [{"name_or_index": "male", "value_or_threshold": [1]}],
               "headers": ["y", "male", "x"], "label": "y"}  # what the SDK's BiasAnalysisConfig uploads


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def record(event: str, inp: str, out: str, when: str = "2024-05-01T10:30:00Z", out_type: str = "text/csv",
           inference_id: str | None = None) -> str:
    meta = {"eventId": event, "inferenceTime": when}
    if inference_id:
        meta["inferenceId"] = inference_id
    return json.dumps({"captureData": {
        "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": inp, "encoding": "CSV"},
        "endpointOutput": {"observedContentType": out_type, "mode": "OUTPUT", "data": out,
                           "encoding": "JSON" if "json" in out_type else "CSV"}},
        "eventMetadata": meta, "eventVersion": "0"})


def truth(event: str, label: Any) -> str:
    return json.dumps({"groundTruthData": {"data": str(label), "encoding": "CSV"}, "eventMetadata": {"eventId": event},
                       "eventVersion": "0"})


def stage(tmp_path: Path, config: dict[str, Any], lines: list[str], labels: list[str] | None = None,
          baseline: dict[str, Any] | None = None, **extra: str) -> dict[str, str]:
    """The folders and environment a monitoring execution's processing job gets."""
    write(tmp_path / "capture" / "ep" / "AllTraffic" / "2024" / "05" / "01" / "10" / "a.jsonl", "\n".join(lines))
    write(tmp_path / "config" / "analysis_config.json", json.dumps(config))
    env = {"analysis_type": "MODEL_BIAS" if labels is not None else "MODEL_EXPLAINABILITY",
           "dataset_source": str(tmp_path / "capture"), "output_path": str(tmp_path / "out"),
           "start_time": "2024-05-01T10:00:00Z", "end_time": "2024-05-01T11:00:00Z", "sagemaker_endpoint_name": "ep",
           "dataset_format": monitor_format(), **extra}
    if labels is not None:
        write(tmp_path / "truth" / "2024" / "05" / "01" / "12" / "t.jsonl", "\n".join(labels))
        env["ground_truth_source"] = str(tmp_path / "truth")
    if baseline is not None:
        write(tmp_path / "baseline" / "analysis.json", json.dumps(baseline))
        env["baseline_constraints"] = str(tmp_path / "baseline" / "analysis.json")
    return env


def monitor_format() -> str:
    return '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}'


def run(tmp_path: Path, env: dict[str, str]) -> tuple[str, dict[str, Any]]:
    message = analyzer.run(env, config_dir=str(tmp_path / "config"), data_dir=str(tmp_path / "unused"))
    return message, json.loads((tmp_path / "out" / "analysis.json").read_text())


def bias_lines() -> tuple[list[str], list[str]]:
    lines = [record(f"e{i}", f"{m},{x}", str(s)) for i, (m, x, s) in enumerate(zip(MALE, X, SCORE, strict=True))]
    lines.append(record("late", "1,9.0", "0.9", when="2024-05-01T11:00:00Z"))  # outside the window
    lines.append(record("unlabelled", "1,9.0", "0.9"))  # no ground truth
    labels = [truth(f"e{i}", t) for i, t in enumerate(TRUTH)] + [truth("late", 1)]
    return lines, labels


def facet_metrics(section: dict[str, Any]) -> dict[str, float]:
    (entry,) = section["facets"]["male"]
    assert entry["value_or_threshold"] == "1"
    return {m["name"]: m["value"] for m in entry["metrics"]}


def test_bias_merges_captures_with_ground_truth_and_computes_both_stages(tmp_path: Path) -> None:
    lines, labels = bias_lines()
    message, analysis = run(tmp_path, stage(tmp_path, BIAS_CONFIG, lines, labels))
    assert message.startswith("Analysis completed")
    pre, post = analysis["pre_training_bias_metrics"], analysis["post_training_bias_metrics"]
    assert pre["label"] == "y" and pre["label_value_or_threshold"] == "1"
    d = np.array(MALE) == 1
    label = np.array(TRUTH) == 1
    predicted = np.array(SCORE) > 0.5
    got = facet_metrics(pre)
    assert got["CI"] == pytest.approx((6 - 4) / 10)
    assert got["DPL"] == pytest.approx(label[~d].mean() - label[d].mean())
    got = facet_metrics(post)
    assert got["DPPL"] == pytest.approx(predicted[~d].mean() - predicted[d].mean())
    assert got["DI"] == pytest.approx(predicted[d].mean() / predicted[~d].mean())
    accuracy = predicted == label
    assert got["AD"] == pytest.approx(accuracy[~d].mean() - accuracy[d].mean())
    assert not (tmp_path / "out" / "constraint_violations.json").exists()


def test_bias_against_a_baseline_reports_the_metrics_that_drifted(tmp_path: Path) -> None:
    lines, labels = bias_lines()
    _, current = run(tmp_path / "first", stage(tmp_path / "first", BIAS_CONFIG, lines, labels))
    baseline = json.loads(json.dumps(current))
    for metric in baseline["post_training_bias_metrics"]["facets"]["male"][0]["metrics"]:
        if metric["name"] == "DPPL":
            metric["value"] = 0.0  # a perfectly balanced baseline: today's DPPL is worse
    message, _ = run(tmp_path, stage(tmp_path, BIAS_CONFIG, lines, labels, baseline=baseline))
    assert message.startswith("CompletedWithViolations: 1 ")
    checked = json.loads((tmp_path / "out" / "constraint_violations.json").read_text())
    assert [(v["facet"], v["facet_value"], v["metric_name"], v["constraint_check_type"]) for v in checked["violations"]] == [
        ("male", "1", "DPPL", "bias_drift_check")]
    same = tmp_path / "same"
    message, _ = run(same, stage(same, BIAS_CONFIG, lines, labels, baseline=current))
    assert message == "Completed: no constraint violations."
    assert json.loads((same / "out" / "constraint_violations.json").read_text()) == {"version": "1.0", "violations": []}


def test_bias_reads_predictions_with_the_endpoint_input_attributes(tmp_path: Path) -> None:
    """JSON responses with ProbabilityAttribute and ProbabilityThresholdAttribute; ground truth
    matched on the caller's inferenceId."""
    lines = [record(f"e{i}", f"{m},{x}", json.dumps({"score": s}), out_type="application/json", inference_id=f"id{i}")
             for i, (m, x, s) in enumerate(zip(MALE, X, SCORE, strict=True))]
    labels = [truth(f"id{i}", t) for i, t in enumerate(TRUTH)]
    config = {**BIAS_CONFIG, "methods": {"post_training_bias": {"methods": ["DPPL"]}}}
    env = stage(tmp_path, config, lines, labels, probability_attribute="score", probability_threshold_attribute="0.75")
    _, analysis = run(tmp_path, env)
    assert "pre_training_bias_metrics" not in analysis
    predicted = np.array(SCORE) > 0.75
    d = np.array(MALE) == 1
    assert facet_metrics(analysis["post_training_bias_metrics"]) == {
        "DPPL": pytest.approx(predicted[~d].mean() - predicted[d].mean())}


def test_bias_failures_say_what_is_missing(tmp_path: Path) -> None:
    lines, labels = bias_lines()
    with pytest.raises(ClarifyError, match="has ground truth"):
        run(tmp_path / "a", stage(tmp_path / "a", BIAS_CONFIG, lines, [truth("other", 1)]))
    wide = {**BIAS_CONFIG, "headers": ["y", "male", "x", "extra"]}
    with pytest.raises(ClarifyError, match="2 feature values but the analysis configuration's headers"):
        run(tmp_path / "b", stage(tmp_path / "b", wide, lines, labels))
    env = stage(tmp_path / "c", BIAS_CONFIG, lines, labels)
    env.update(start_time="2024-05-01T12:00:00Z", end_time="2024-05-01T13:00:00Z")
    with pytest.raises(ClarifyError, match="Job inputs had no data between 2024-05-01T12:00:00Z"):
        run(tmp_path / "c", env)
    no_label = {k: v for k, v in BIAS_CONFIG.items() if k != "label"}
    with pytest.raises(ClarifyError, match="needs the label"):
        run(tmp_path / "d", stage(tmp_path / "d", no_label, lines, labels))


def test_layout_places_the_label_among_the_headers() -> None:
    assert monitor.layout({"headers": ["y", "a", "b"], "label": "y"}, 2, True) == (["y", "a", "b"], "y")
    assert monitor.layout({"headers": ["a", "b"], "label": "y"}, 2, True) == (["a", "b", "y"], "y")
    assert monitor.layout({"label": 0}, 2, True) == (["label", "feature_0", "feature_1"], "label")
    assert monitor.layout({"headers": ["a", "b", "y"], "label": "y"}, 2, False) == (["a", "b"], None)
    assert monitor.layout({}, 3, False) == (["feature_0", "feature_1", "feature_2"], None)


class LinearEndpoint:
    """Stands in for the predictor the analysis calls: a linear model 1a + 2b + 3c."""

    seen: ClassVar[list[dict[str, Any]]] = []
    weights = np.array([1.0, 2.0, 3.0])

    def __init__(self, config: dict[str, Any], features: list[str], job_name: str = "") -> None:
        self.seen.append(dict(config))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def predict(self, rows: list[list[Any]]) -> list[Any]:
        return [[float(np.dot(self.weights, np.asarray(r, dtype=float)))] for r in rows]


EXPLAIN_CONFIG = {"methods": {"shap": {"baseline": [[0, 0, 0]], "num_samples": 64, "agg_method": "mean_abs",
                                       "save_local_shap_values": False}},
                  "predictor": {"model_name": "m", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1,
                                "content_type": "text/csv", "accept_type": "text/csv"},
                  "headers": ["a", "b", "c"]}  # what the SDK's ExplainabilityAnalysisConfig uploads


def test_explainability_explains_the_captured_requests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyzer, "Predictor", LinearEndpoint)
    LinearEndpoint.seen.clear()
    rows = [[1.0, 1.0, 1.0], [2.0, 0.5, 1.0], [0.5, 1.0, 2.0]]
    lines = [record(f"e{i}", ",".join(map(str, r)), "0") for i, r in enumerate(rows)]
    message, analysis = run(tmp_path, stage(tmp_path, EXPLAIN_CONFIG, lines))
    assert message.startswith("Analysis completed")
    shap = analysis["explanations"]["kernel_shap"]["label0"]
    expected = np.abs(np.asarray(rows) * LinearEndpoint.weights).mean(axis=0)  # exact for a linear model
    assert [shap["global_shap_values"][f] for f in ("a", "b", "c")] == pytest.approx(expected.tolist(), abs=1e-6)
    assert shap["expected_value"] == pytest.approx(0.0, abs=1e-9)
    assert LinearEndpoint.seen[-1]["model_name"] == "m" and "endpoint_name" not in LinearEndpoint.seen[-1]  # a shadow endpoint
    # Without a model in the config, the monitored endpoint answers; a reversed ranking drifts.
    config = {**EXPLAIN_CONFIG, "predictor": {"content_type": "text/csv", "accept_type": "text/csv"}}
    reversed_ = {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"a": 9.0, "b": 1.0, "c": 0.1},
                                                             "expected_value": 0.0}}}}
    message, _ = run(tmp_path / "x", stage(tmp_path / "x", config, lines, baseline=reversed_))
    assert LinearEndpoint.seen[-1]["endpoint_name"] == "ep"
    assert message.startswith("CompletedWithViolations: 1 ")
    (violation,) = json.loads((tmp_path / "x" / "out" / "constraint_violations.json").read_text())["violations"]
    assert violation["label"] == "label0" and violation["constraint_check_type"] == "feature_attribution_drift_check"
    message, _ = run(tmp_path / "y", stage(tmp_path / "y", config, lines, baseline=analysis))
    assert message == "Completed: no constraint violations."


def test_explainability_needs_shap(tmp_path: Path) -> None:
    lines = [record("e0", "1,2,3", "0")]
    with pytest.raises(ClarifyError, match="needs methods.shap"):
        run(tmp_path, stage(tmp_path, {"headers": ["a", "b", "c"], "methods": {}}, lines))


def test_ground_truth_merge_is_shared_with_model_quality(tmp_path: Path) -> None:
    write(tmp_path / "t.jsonl", "\n".join([truth("e1", 1), truth("e2", 0), "not json"]))
    labels = captures.ground_truth(str(tmp_path))
    assert labels == {"e1": ["1"], "e2": ["0"]}
    records = [{"eventMetadata": {"eventId": "e2"}}, {"eventMetadata": {"eventId": "x", "inferenceId": "e1"}},
               {"eventMetadata": {"eventId": "nope"}}]
    assert [(r["eventMetadata"]["eventId"], v) for r, v in captures.with_ground_truth(records, labels)] == [
        ("e2", ["0"]), ("x", ["1"])]


def test_cloudwatch_metrics_of_an_analysis() -> None:
    from datetime import UTC, datetime

    when = datetime(2024, 5, 1, 11, tzinfo=UTC)
    analysis = {"post_training_bias_metrics": {"label": "y", "label_value_or_threshold": "1", "facets": {"male": [
        {"value_or_threshold": "1", "metrics": [{"name": "DPPL", "value": -0.25}, {"name": "DCR", "value": "Infinity"},
                                                {"name": "FT", "value": None}]}]}}}
    data = metrics.bias(analysis, "ep", "sched", when)
    assert [(m["MetricName"], m["Value"]) for m in data] == [("bias_metric_DPPL", -0.25), ("bias_metric_DCR", 2.348543e108)]
    assert {d["Name"]: d["Value"] for d in data[0]["Dimensions"]} == {
        "Endpoint": "ep", "MonitoringSchedule": "sched", "BiasStage": "Post-Training", "Label": "y", "LabelValue": "1",
        "Facet": "male", "FacetValue": "1"}
    explained = {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"a": 0.5}, "expected_value": 0.25}}}}
    data = metrics.explainability(explained, "ep", "sched", when)
    assert [(m["MetricName"], m["Value"], m["Dimensions"][-1]["Value"]) for m in data] == [
        ("feature_a", 0.5, "GlobalShapValues"), ("ExpectedValue", 0.25, "ExpectedValue")]
    assert {"Name": "ExplainabilityMethod", "Value": "KernelShap"} in data[0]["Dimensions"]


def test_clarify_definitions_unify_like_the_others() -> None:
    request = {
        "JobDefinitionName": "b", "RoleArn": "arn:aws:iam::123456789012:role/r",
        "ModelBiasAppSpecification": {"ImageUri": "x/sagemaker-clarify-processing:1.0", "ConfigUri": "s3://b/config.json",
                                      "Environment": {"publish_cloudwatch_metrics": "Disabled"}},
        "ModelBiasJobInput": {"EndpointInput": {"EndpointName": "ep", "LocalPath": "/opt/ml/processing/input/endpoint"},
                              "GroundTruthS3Input": {"S3Uri": "s3://b/truth"}},
        "ModelBiasBaselineConfig": {"ConstraintsResource": {"S3Uri": "s3://b/analysis.json"}},
        "ModelBiasJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://b/out", "LocalPath": "/opt/ml/processing/output"}}]},
        "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}},
    }
    unified = _unified("ModelBias", request)
    assert unified["MonitoringAppSpecification"]["ConfigUri"] == "s3://b/config.json"
    assert unified["GroundTruthS3Input"] == {"S3Uri": "s3://b/truth"}
    assert unified["Environment"] == {"publish_cloudwatch_metrics": "Disabled"}
    assert unified["MonitoringInputs"] == [{"EndpointInput": request["ModelBiasJobInput"]["EndpointInput"]}]
