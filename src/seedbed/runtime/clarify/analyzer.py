"""The Clarify job's entry point: read the config and the dataset, compute, write the results.

Outputs, in ``/opt/ml/processing/output`` (what the SDK's ``analysis_result`` output uploads):

- ``analysis.json``: ``version``, ``pre_training_bias_metrics``, ``post_training_bias_metrics``
  and ``explanations.kernel_shap.<label>`` (``global_shap_values`` per feature and
  ``expected_value``), each present when its method was asked for;
- ``explanations_shap/out.csv``: the per-record SHAP values (one column per explained feature,
  ``<label>_<feature>`` with several outputs; the join column first when configured), when
  ``save_local_shap_values`` is true (the default); ``explanations_shap/baseline.csv`` when the
  baseline was computed by k-means;
- ``constraint_violations.json``: when the environment variable ``baseline_constraints`` names a
  baseline's analysis.json (a file, or a folder holding one), the bias and feature attribution
  drift checks of :mod:`.violations` against it.

A monitoring execution (``analysis_type`` ``MODEL_BIAS`` or ``MODEL_EXPLAINABILITY`` in the
environment) analyses the window's captured endpoint data instead of a dataset, see
:mod:`.monitor`, and writes to ``output_path``.

The ``report`` method (report.ipynb/html/pdf) is not produced locally; the job says so in its log.
A failure is written to ``/opt/ml/output/failure`` and the process exits 1, so the processing job
ends Failed with that reason.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import numpy as np
import pandas as pd

from seedbed.runtime.clarify import bias, metrics, monitor, shap, violations
from seedbed.runtime.clarify import config as cfg
from seedbed.runtime.clarify import dataset as ds
from seedbed.runtime.clarify.config import ClarifyError
from seedbed.runtime.clarify.predictor import Predictor, pick
from seedbed.runtime.image_main import image_main


def log(text: str) -> None:
    print(f"[clarify] {text}", flush=True)


def _scores(records: list[Any], predictor: dict[str, Any]) -> np.ndarray:
    """The model scores SHAP explains (rows x outputs): the probability, else the label, else the
    whole output."""
    key = predictor.get("probability")
    if key is None:
        key = predictor.get("label")
    values = [pick(r, key) for r in records]
    try:
        array = np.asarray([v if isinstance(v, list) else [v] for v in values], dtype=float)
    except (TypeError, ValueError):
        raise ClarifyError("SHAP needs numeric model outputs; set probability (or label) to the score in the model "
                           "output (ModelPredictedLabelConfig or model_scores).") from None
    if array.ndim != 2:
        raise ClarifyError("The model outputs have different lengths.")
    return array


def _baseline(config: dict[str, Any], shap_config: dict[str, Any], data: ds.Dataset, output: str) -> pd.DataFrame:
    given = shap_config.get("baseline")
    features = data.features
    if isinstance(given, list):
        return ds.baseline_frame(given, features)
    if isinstance(given, str):
        import boto3

        if not given.startswith("s3://"):
            raise ClarifyError(f"The SHAP baseline {given} is not an S3 URI.")
        bucket, _, key = given[5:].partition("/")
        try:
            text = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        except Exception as exc:  # noqa: BLE001 - botocore's errors, reported to the user
            raise ClarifyError(f"Could not read the SHAP baseline {given}: {exc}") from None
        return ds.read_baseline(text, config["dataset_type"], features, config.get("features"))
    if given is not None:
        raise cfg.unsupported("methods.shap.baseline (an object)", "a baseline for time series or text")
    frame = shap.kmeans_baseline(data.model_input(), shap_config.get("num_clusters"), shap_config.get("seed"))
    folder = os.path.join(output, "explanations_shap")
    os.makedirs(folder, exist_ok=True)
    frame.to_csv(os.path.join(folder, "baseline.csv"), index=False, header=False)
    log(f"computed a SHAP baseline of {len(frame)} k-means clusters")
    return frame


def explanations(config: dict[str, Any], data: ds.Dataset, predictor: Predictor, output: str) -> dict[str, Any]:
    shap_config = config["methods"]["shap"]
    features = data.features
    explained_names = features
    if shap_config.get("features_to_explain"):
        explained_names = [ds.resolve(features, f, "feature to explain") for f in shap_config["features_to_explain"]]
    explained = [features.index(f) for f in explained_names]
    baseline = _baseline(config, shap_config, data, output)
    records = data.model_input().to_numpy(dtype=object)
    predictor_config = config.get("predictor") or {}

    def predict(rows: np.ndarray) -> np.ndarray:
        return _scores(predictor.predict(rows.tolist()), predictor_config)

    values, expected = shap.explain(predict, records, baseline.to_numpy(dtype=object), explained,
                                    shap_config.get("num_samples"), shap_config.get("seed"),
                                    bool(shap_config.get("use_logit")))
    n_out = values.shape[1]
    headers = predictor_config.get("label_headers") or []
    labels = [str(headers[o]) if len(headers) == n_out else f"label{o}" for o in range(n_out)]
    method = shap_config.get("agg_method") or "mean_abs"
    result = {}
    for o, label in enumerate(labels):
        aggregated = shap.aggregate(values[:, o, :], method)
        result[label] = {"global_shap_values": {name: float(v) for name, v in zip(explained_names, aggregated)},
                         "expected_value": float(expected[o])}
    if shap_config.get("save_local_shap_values", True):
        columns: dict[str, Any] = {}
        if data.joinsource:
            columns[data.joinsource] = data.frame[data.joinsource].to_numpy()
        for o, label in enumerate(labels):
            for j, name in enumerate(explained_names):
                columns[name if n_out == 1 else f"{label}_{name}"] = values[:, o, j]
        folder = os.path.join(output, "explanations_shap")
        os.makedirs(folder, exist_ok=True)
        pd.DataFrame(columns).to_csv(os.path.join(folder, "out.csv"), index=False)
    log(f"explained {len(records)} records over {len(explained)} features ({method})")
    return {"kernel_shap": result}


def _load_baseline_constraints(path: str) -> dict[str, Any]:
    if os.path.isdir(path):
        candidates = [p for p in ds.files_under(path) if p.endswith(".json")]
        named = [p for p in candidates if os.path.basename(p) == "analysis.json"]
        if len(named) == 1 or len(candidates) == 1:
            path = (named or candidates)[0]
        else:
            raise ClarifyError(f"No single baseline constraints file (analysis.json) in {path}.")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise ClarifyError(f"The baseline constraints file {path} was not found.") from None
    except ValueError:
        raise ClarifyError(f"The baseline constraints file {path} is not valid JSON.") from None


def analyze(config: dict[str, Any], data: ds.Dataset, output: str, job_name: str = "",
            outputs: list[Any] | None = None) -> dict[str, Any]:
    """The analysis.json of ``data``. ``outputs`` are the model's output records for its rows when
    they are known (a bias monitoring execution's captured responses): post-training bias reads
    its predicted labels from them, with ``predictor.label``/``probability``, and calls no model."""
    methods = config["methods"]
    analysis: dict[str, Any] = {"version": "1.0"}
    pre_names = post_names = None
    if "pre_training_bias" in methods:
        pre_names = _names(methods["pre_training_bias"], metrics.PRE_TRAINING, "pre-training")
    if "post_training_bias" in methods:
        post_names = _names(methods["post_training_bias"], metrics.POST_TRAINING, "post-training")
    if pre_names is not None:
        analysis["pre_training_bias_metrics"] = bias.section(config, data, pre_names, metrics.PRE_TRAINING)
        log(f"pre-training bias: {', '.join(pre_names)}")
    needs_model = "shap" in methods or (post_names is not None and data.predicted_label is None and outputs is None)
    predictor = None
    if needs_model:
        predictor = Predictor(config["predictor"], data.features, job_name)
    try:
        if predictor is not None:
            predictor.__enter__()
        if post_names is not None:
            assert data.label is not None
            if outputs is not None:
                records: list[Any] = outputs
                post_config = config
            elif data.predicted_label is not None:
                records = [[v] for v in data.frame[data.predicted_label].tolist()]
                post_config = {**config, "predictor": {**(config.get("predictor") or {}), "label": 0}}
            else:
                assert predictor is not None
                records = predictor.predict(data.model_input().to_numpy(dtype=object).tolist())
                post_config = config
            predicted = bias.predicted_outcome(records, post_config, data.frame[data.label])
            analysis["post_training_bias_metrics"] = bias.section(config, data, post_names, metrics.POST_TRAINING, predicted)
            log(f"post-training bias: {', '.join(post_names)}")
        if "shap" in methods:
            assert predictor is not None
            analysis["explanations"] = explanations(config, data, predictor, output)
    finally:
        if predictor is not None:
            predictor.__exit__(None, None, None)
    return analysis


def _names(method: dict[str, Any], table: dict[str, str], stage: str) -> list[str]:
    try:
        return metrics.select((method or {}).get("methods", "all"), table, stage)
    except metrics.MetricError as exc:
        raise ClarifyError(str(exc)) from None


def run(env: dict[str, str], config_dir: str = cfg.CONFIG_DIR, data_dir: str = cfg.DATA_DIR,
        output: str = cfg.OUTPUT_DIR) -> str:
    outputs = None
    if monitor.monitoring(env):  # a ModelBias / ModelExplainability monitoring execution
        output = env.get("output_path") or output
        config, data, outputs = monitor.prepare(env, cfg.read(config_dir))
    else:
        config = cfg.load(config_dir)
        data = ds.load(config, data_dir)
    log(f"dataset: {len(data.frame)} rows, columns {', '.join(map(str, data.frame.columns))}")
    analysis = analyze(config, data, output, env.get("SEEDBED_JOB_NAME", ""), outputs)
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, "analysis.json"), "w", encoding="utf-8") as fh:
        json.dump(analysis, fh, indent=4)
    if "report" in config["methods"]:
        log("the report method (report.ipynb, report.html, report.pdf) is not produced by Seedbed's local runtime; "
            "analysis.json has the results")
    message = "Analysis completed: analysis.json written."
    if env.get("baseline_constraints"):
        checked = violations.check(analysis, _load_baseline_constraints(env["baseline_constraints"]))
        with open(os.path.join(output, "constraint_violations.json"), "w", encoding="utf-8") as fh:
            json.dump(checked, fh, indent=4)
        count = len(checked["violations"])
        message = (f"CompletedWithViolations: {count} constraint violations." if count
                   else "Completed: no constraint violations.")
    return message


def main() -> int:
    return image_main(run, ClarifyError, "ClientError")


if __name__ == "__main__":
    sys.exit(main())
