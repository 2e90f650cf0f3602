"""The local Clarify runtime: bias metric math against hand-computed values on tiny data, Kernel
SHAP against exact Shapley values, drift violations, request/response payloads, and whole runs
through the container contract (config and data folders in, analysis.json out)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seedbed.runtime import image_main
from seedbed.runtime.clarify import analyzer, bias, config, metrics, shap, violations
from seedbed.runtime.clarify.predictor import Payload, pick

# Six rows: d = the first two. Labels 1,0 | 1,1,1,0. Predictions 1,1 | 1,0,0,0.
FACET = np.array([True, True, False, False, False, False])
LABEL = np.array([True, False, True, True, True, False])
PRED = np.array([True, True, True, False, False, False])
GROUP = np.array(["g1", "g1", "g1", "g2", "g2", "g2"])


def test_pre_training_metrics_by_hand() -> None:
    assert metrics.ci(FACET) == pytest.approx((4 - 2) / 6)
    assert metrics.dpl(FACET, LABEL) == pytest.approx(3 / 4 - 1 / 2)
    pa, pd_ = [0.25, 0.75], [0.5, 0.5]  # P(negative), P(positive) for a and d
    assert metrics.kl(FACET, LABEL) == pytest.approx(0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5))
    p = [(x + y) / 2 for x, y in zip(pa, pd_)]
    js = 0.5 * (sum(x * math.log(x / m) for x, m in zip(pa, p)) + sum(y * math.log(y / m) for y, m in zip(pd_, p)))
    assert metrics.js(FACET, LABEL) == pytest.approx(js)
    assert metrics.lp(FACET, LABEL) == pytest.approx(math.sqrt(0.25**2 + 0.25**2))
    assert metrics.tvd(FACET, LABEL) == pytest.approx(0.25)
    assert metrics.ks(FACET, LABEL) == pytest.approx(0.25)
    # g1: accepted rows 0, 2 (d share 1/2), rejected row 1 (d share 1) -> 0.5; g2: no d -> 0
    assert metrics.cdd(FACET, LABEL, GROUP) == pytest.approx((3 * 0.5 + 3 * 0) / 6)


def test_post_training_metrics_by_hand() -> None:
    # a: TP 1, FN 2, FP 0, TN 1; d: TP 1, FP 1, FN 0, TN 0
    assert metrics.dppl(FACET, PRED) == pytest.approx(1 / 4 - 1)
    assert metrics.di(FACET, PRED) == pytest.approx(1 / (1 / 4))
    assert metrics.dca(FACET, LABEL, PRED) == pytest.approx(3 / 1 - 1 / 2)
    assert metrics.dcr(FACET, LABEL, PRED) == math.inf  # d: 1 observed negative, 0 predicted
    assert metrics.rd(FACET, LABEL, PRED) == pytest.approx(1 / 3 - 1)
    assert metrics.dar(FACET, LABEL, PRED) == pytest.approx(1 - 1 / 2)
    assert metrics.drr(FACET, LABEL, PRED) == pytest.approx(0 - 1 / 3)
    assert metrics.ad(FACET, LABEL, PRED) == pytest.approx(0.5 - 0.5)
    assert metrics.te(FACET, LABEL, PRED) == -math.inf  # FN_a / FP_a = 2 / 0
    assert metrics.sd(FACET, LABEL, PRED) == pytest.approx(0 - 1)
    benefit = np.array([1, 2, 1, 0, 0, 1])
    mean = benefit.mean()
    assert metrics.ge(LABEL, PRED) == pytest.approx(((benefit / mean) ** 2 - 1).sum() / (6 * 2))
    assert metrics.cdd(FACET, PRED, GROUP) == pytest.approx((3 * (0 - 2 / 3) + 3 * (0 - 0)) / 6)
    # a's nearest neighbours (k=1): 0 -> 0.1 (positive), 10 -> 10.1 (negative); the model accepts both
    features = np.array([[0.0], [10.0], [0.1], [10.1], [5.0], [20.0]])
    assert metrics.ft(FACET, PRED, features) == pytest.approx((1 - 0) / 2)


def test_ratios_and_errors() -> None:
    assert metrics.ratio(0, 0) == 0.0 and metrics.ratio(-1, 0) == -math.inf
    assert metrics.difference(math.inf, math.inf) == 0.0
    out = metrics.compute(["CDDL", "CI", "TE"], {**metrics.PRE_TRAINING, **metrics.POST_TRAINING},
                          metrics.Inputs(FACET, LABEL, PRED))
    assert out[0] == {"name": "CDDL", "description": "Conditional Demographic Disparity in Labels (CDDL)",
                      "value": None, "error": "Group variable is empty or not provided."}
    assert out[1]["value"] == pytest.approx(1 / 3)
    assert out[2]["value"] == "-Infinity"
    with pytest.raises(metrics.MetricError, match="Facet set is empty"):
        metrics.ci(np.zeros(3, dtype=bool))
    assert metrics.select("all", metrics.PRE_TRAINING, "pre") == ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]
    assert metrics.select(["DCAcc", "DI"], metrics.POST_TRAINING, "post") == ["DCA", "DI"]
    with pytest.raises(metrics.MetricError, match="Unknown pre-training bias metric XX"):
        metrics.select(["XX"], metrics.PRE_TRAINING, "pre-training")


def test_facets_and_labels_as_clarify_groups_them() -> None:
    sex = pd.Series(["M", "F", "I", "M"])
    groups = bias.facet_groups(sex, None, "sex")
    assert [g[0] for g in groups] == ["M", "F", "I"] and groups[0][1].tolist() == [True, False, False, True]
    assert [g[0] for g in bias.facet_groups(sex, ["M", "F"], "sex")] == ["M,F"]
    length = pd.Series([0.2, 0.4, 0.6, 0.8])
    (text, member), = bias.facet_groups(length, [0.5], "length")
    assert text == "(0.5, 0.8]" and member.tolist() == [False, False, True, True]
    rings = pd.Series(list(range(1, 30)))  # integral with many distinct values: continuous
    positive, text = bias.outcome(rings, [10], "label")
    assert text == "(10, 29]" and positive.sum() == 19
    few = pd.Series([0, 1, 1, 0] * 30)  # integral with few distinct values: categorical
    positive, text = bias.outcome(few, ["1"], "label")
    assert text == "1" and positive.sum() == 60
    with pytest.raises(config.ClarifyError, match="give a threshold"):
        bias.facet_groups(length, None, "length")


def test_predicted_labels_from_scores_labels_and_lists() -> None:
    label = pd.Series([0, 1, 0, 1] * 30)
    cfg = {"label_values_or_threshold": [1], "probability_threshold": 0.7, "predictor": {}}
    assert bias.predicted_outcome([[0.1], [0.8], [0.65]], cfg, label).tolist() == [False, True, False]
    cfg = {"label_values_or_threshold": [1], "predictor": {}}
    assert bias.predicted_outcome([[0.2], [0.6]], cfg, label).tolist() == [False, True]  # a probability, 0.5
    assert bias.predicted_outcome([[1.0], [0.0]], cfg, label).tolist() == [True, False]  # labels
    cfg = {"label_values_or_threshold": ["dog"], "predictor": {"probability": "scores", "label_headers": ["cat", "dog"]}}
    records = [{"scores": [0.9, 0.1]}, {"scores": [0.3, 0.7]}]
    assert bias.predicted_outcome(records, cfg, pd.Series(["cat", "dog"] * 10)).tolist() == [False, True]


def test_kernel_shap_is_exact_for_products_and_linear_models() -> None:
    # f = x0 * x1 over a zero baseline: the Shapley values split the product evenly.
    def product(rows: np.ndarray) -> np.ndarray:
        rows = rows.astype(float)
        return (rows[:, 0] * rows[:, 1])[:, None]

    records = np.array([[2.0, 3.0, 7.0]])
    values, expected = shap.explain(product, records, np.zeros((1, 3)), [0, 1, 2])
    assert expected.tolist() == [0.0]
    assert values[0, 0].tolist() == pytest.approx([3.0, 3.0, 0.0])
    # linear model, 12 features sampled (not enumerated), two baseline rows: phi = w (x - mean b)
    w = np.arange(1, 13, dtype=float)

    def linear(rows: np.ndarray) -> np.ndarray:
        return (rows.astype(float) @ w)[:, None]

    rng = np.random.default_rng(0)
    records, base = rng.random((3, 12)), rng.random((2, 12))
    values, expected = shap.explain(linear, records, base, list(range(12)), num_samples=300, seed=1)
    assert expected[0] == pytest.approx(float((base @ w).mean()))
    assert values[:, 0, :] == pytest.approx(w * (records - base.mean(axis=0)), abs=1e-9)
    # only some features explained: the others keep the record's value
    values, _ = shap.explain(linear, records, base, [0, 5])
    assert values[:, 0, :] == pytest.approx((w * (records - base.mean(axis=0)))[:, [0, 5]])
    assert shap.aggregate(np.array([[-1.0], [3.0]]), "mean_abs").tolist() == [2.0]
    assert shap.aggregate(np.array([[-1.0], [3.0]]), "mean_sq").tolist() == [5.0]
    assert shap.aggregate(np.array([[-1.0], [3.0], [2.0]]), "median").tolist() == [2.0]


def test_kmeans_baseline_keeps_text_features() -> None:
    frame = pd.DataFrame({"sex": ["M", "M", "F", "F"], "x": [0.0, 0.2, 10.0, 10.2]})
    base = shap.kmeans_baseline(frame, 2, 0).sort_values("x").reset_index(drop=True)
    assert base["x"].tolist() == pytest.approx([0.1, 10.1]) and base["sex"].tolist() == ["M", "F"]


def test_bias_and_attribution_drift_violations() -> None:
    def analysis(dppl: float, di: float) -> dict:
        return {"post_training_bias_metrics": {"label": "y", "facets": {"sex": [{"value_or_threshold": "M", "metrics": [
            {"name": "DPPL", "value": dppl}, {"name": "DI", "value": di}]}]}}}

    assert violations.check(analysis(0.1, 0.9), analysis(0.2, 0.8))["violations"] == []
    found = violations.check(analysis(-0.3, 1.3), analysis(0.2, 0.8))["violations"]
    assert [(v["metric_name"], v["facet"], v["facet_value"], v["constraint_check_type"]) for v in found] == [
        ("DPPL", "sex", "M", "bias_drift_check"), ("DI", "sex", "M", "bias_drift_check")]
    assert found[0]["description"] == "Value -0.3 does not meet the constraint requirement"
    base = {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"a": 3.0, "b": 2.0, "c": 1.0}}}}}
    same = {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"a": 0.3, "b": 0.2, "c": 0.1}}}}}
    flipped = {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"a": 0.1, "b": 0.2, "c": 3.0}}}}}
    assert violations.ndcg({"a": 3.0, "b": 2.0, "c": 1.0}, {"a": 0.3, "b": 0.2, "c": 0.1}) == pytest.approx(1.0)
    idcg = 3 + 2 / math.log2(3) + 1 / 2
    assert violations.ndcg({"a": 3.0, "b": 2.0, "c": 1.0}, {"a": 0.1, "b": 0.2, "c": 3.0}) == pytest.approx(
        (1 + 2 / math.log2(3) + 3 / 2) / idcg)
    assert violations.check(same, base)["violations"] == []
    (v,) = violations.check(flipped, base)["violations"]
    assert v["label"] == "label0" and v["constraint_check_type"] == "feature_attribution_drift_check"


def test_payloads_and_output_records() -> None:
    csv = Payload({"content_type": "text/csv"}, ["a", "b"])
    assert csv.body([[1.5, "x"], [2, "y,z"]]) == '1.5,x\n2,"y,z"\n'
    assert csv.records("0.1,0.9", 2) == [[0.1], [0.9]]
    assert csv.records("0.1,0.9\n0.8,0.2\n", 2) == [[0.1, 0.9], [0.8, 0.2]]
    lines = Payload({"content_type": "application/jsonlines", "content_template": '{"features":$features}'}, ["a", "b"])
    assert lines.body([[1, 2], [3, 4]]) == '{"features":[1, 2]}\n{"features":[3, 4]}'
    js = Payload({"content_type": "application/json", "content_template": '{"instances":$records}',
                  "record_template": "$features_kvp", "accept_type": "application/json"}, ["a", "b"])
    assert json.loads(js.body([[1, 2]])) == {"instances": [{"a": 1, "b": 2}]}
    assert js.records('{"predictions": [{"score": 0.2}, {"score": 0.4}]}', 2) == [{"score": 0.2}, {"score": 0.4}]
    named = Payload({"content_type": "application/json", "content_template": "$record",
                     "record_template": '{"A": "${a}", "B": "${b}"}'}, ["a", "b"])
    assert named.one_per_request and json.loads(named.body([[1, "x"]])) == {"A": 1, "B": "x"}
    assert pick({"score": 0.2}, "score") == 0.2 and pick([0.1, 0.9], 1) == 0.9 and pick([0.4], None) == 0.4
    with pytest.raises(config.ClarifyError, match="content_template"):
        Payload({"content_type": "application/jsonlines"}, ["a"])


@pytest.mark.parametrize(("change", "named"), [
    ({"dataset_type": "application/x-parquet"}, "dataset_type=application/x-parquet"),
    ({"methods": {"pdp": {"grid_resolution": 5}}}, "methods.pdp"),
    ({"methods": {"shap": {"text_config": {"granularity": "token"}}}}, "methods.shap.text_config"),
    ({"segment_config": [{"name_or_index": "a", "segments": [["x"]]}]}, "segment_config"),
    ({"facet_dataset_uri": "s3://b/f.csv"}, "facet_dataset_uri"),
])
def test_unsupported_options_fail_by_name(change: dict, named: str) -> None:
    base = {"dataset_type": "text/csv", "label": "y", "label_values_or_threshold": [1],
            "facet": [{"name_or_index": "s"}], "methods": {"pre_training_bias": {"methods": "all"}}}
    with pytest.raises(config.ClarifyError, match="not supported") as err:
        config.check({**base, **change})
    assert named in str(err.value)


def _job(tmp_path: Path, analysis_config: dict, csv_text: str) -> tuple[Path, Path, Path]:
    conf, data, out = tmp_path / "config", tmp_path / "data", tmp_path / "out"
    conf.mkdir()
    data.mkdir()
    (conf / "analysis_config.json").write_text(json.dumps(analysis_config))
    (data / "part.csv").write_text(csv_text)
    return conf, data, out


def test_run_with_predicted_label_column_and_baseline(tmp_path: Path) -> None:
    rows = ["s,y,p,x"] + [f"{s},{int(y)},{int(p)},{i}" for i, (s, y, p) in
                          enumerate(zip(["d", "d", "a", "a", "a", "a"], LABEL, PRED))]
    analysis_config = {"dataset_type": "text/csv", "headers": ["s", "y", "p", "x"], "label": "y",
                       "predicted_label": "p", "label_values_or_threshold": [1],
                       "facet": [{"name_or_index": "s", "value_or_threshold": ["d"]}],
                       "methods": {"pre_training_bias": {"methods": ["CI", "DPL"]},
                                   "post_training_bias": {"methods": ["DPPL", "DI"]},
                                   "report": {"name": "report", "title": "t"}}}
    conf, data, out = _job(tmp_path, analysis_config, "\n".join(rows) + "\n")
    assert analyzer.run({}, str(conf), str(data), str(out)) == "Analysis completed: analysis.json written."
    result = json.loads((out / "analysis.json").read_text())
    pre = result["pre_training_bias_metrics"]
    assert pre["label"] == "y" and pre["label_value_or_threshold"] == "1"
    (entry,) = pre["facets"]["s"]
    assert entry["value_or_threshold"] == "d"
    assert {m["name"]: m["value"] for m in entry["metrics"]} == pytest.approx({"CI": 1 / 3, "DPL": 0.25})
    post = {m["name"]: m["value"] for m in result["post_training_bias_metrics"]["facets"]["s"][0]["metrics"]}
    assert post == pytest.approx({"DI": 4.0, "DPPL": -0.75})
    baseline = tmp_path / "baseline.json"
    stricter = json.loads(json.dumps(result))
    stricter["post_training_bias_metrics"]["facets"]["s"][0]["metrics"][1]["value"] = -0.5  # DPPL
    baseline.write_text(json.dumps(stricter))
    message = analyzer.run({"baseline_constraints": str(baseline)}, str(conf), str(data), str(tmp_path / "out2"))
    assert message == "CompletedWithViolations: 1 constraint violations."
    found = json.loads((tmp_path / "out2" / "constraint_violations.json").read_text())["violations"]
    assert [(v["metric_name"], v["facet_value"]) for v in found] == [("DPPL", "d")]


def test_run_fails_when_the_model_is_missing(tmp_path: Path) -> None:
    analysis_config = {"dataset_type": "text/csv", "label": 0, "label_values_or_threshold": [1],
                       "facet": [{"name_or_index": 1}], "methods": {"post_training_bias": {"methods": "all"}}}
    conf, data, out = _job(tmp_path, analysis_config, "1,a\n0,b\n")
    with pytest.raises(config.ClarifyError, match="predictor.model_name or predictor.endpoint_name"):
        analyzer.run({}, str(conf), str(data), str(out))


def test_the_clarify_image_maps_to_this_runtime() -> None:
    from seedbed.services.sagemaker.jobs import images

    runtime = images.resolve("205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0")
    assert runtime is not None and runtime.runtime == "clarify"
    assert runtime.entrypoint == ("python3", "-m", "seedbed.runtime.clarify")


def test_main_writes_the_failure_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image_main, "FAILURE", str(tmp_path / "output" / "failure"))
    monkeypatch.setattr(analyzer.run, "__defaults__", (str(tmp_path / "nowhere"), str(tmp_path / "data"), str(tmp_path / "out")))
    assert analyzer.main() == 1
    text = (tmp_path / "output" / "failure").read_text()
    assert text.startswith("ClientError: The analysis configuration file was not found")
