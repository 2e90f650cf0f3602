"""The analyzer's entry point: the Model Monitor container contract, read from the environment.

Baselining (no ``baseline_constraints``): profile the dataset into ``<output_path>/statistics.json``
and suggest ``<output_path>/constraints.json``. Monitoring: profile the window's captured data
into ``statistics.json``, check it against the baseline constraints (and the baseline statistics
for drift) and write ``constraint_violations.json`` (``{"violations": [...]}``, empty when there
are none).

``analysis_type=MODEL_QUALITY`` does the same with model quality metrics (:mod:`.quality`): the
predictions (``inference_attribute``, ``probability_attribute`` with
``probability_threshold_attribute``) against the labels (``ground_truth_attribute`` of the
baseline dataset, or the ground truth records under ``ground_truth_source`` (Seedbed's name for
the staged ``GroundTruthS3Input``), matched to captured records on ``inferenceId`` or
``eventId``).

``seedbed_suggest_constraints=Enabled`` (Seedbed's, for a pipeline QualityCheck step that both
checks against a baseline and calculates a new one) also writes the suggested ``constraints.json``
of the checked dataset in monitoring mode.

A failure is written to ``/opt/ml/output/failure`` and the process exits 1, so the processing
job ends Failed with that reason.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from seedbed.runtime.image_main import image_main
from seedbed.runtime.monitoring import dataset as ds
from seedbed.runtime.monitoring import quality, stats


class AnalyzerError(Exception):
    pass


def _read_json(path: str, what: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise AnalyzerError(f"The {what} file {path} was not found.") from None
    except ValueError:
        raise AnalyzerError(f"The {what} file {path} is not valid JSON.") from None


def _write(folder: str, name: str, document: dict[str, Any]) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=4)


def _preprocessor(path: str | None) -> Any:
    if not path:
        return None
    spec = importlib.util.spec_from_file_location("record_preprocessor", path)
    if spec is None or spec.loader is None:
        raise AnalyzerError(f"Cannot load the record preprocessor script {path}.")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = getattr(module, "preprocess_handler", None)
    if handler is None:
        raise AnalyzerError(f"The record preprocessor script {path} has no preprocess_handler function.")
    return handler


def _dataset(env: dict[str, str], default_source: str) -> ds.Dataset:
    fmt_text = env.get("dataset_format") or '{"csv": {"header": false}}'
    try:
        fmt = json.loads(fmt_text)
    except ValueError:
        raise AnalyzerError(f"dataset_format is not valid JSON: {fmt_text}") from None
    source = env.get("dataset_source") or default_source
    start, end = ds.parse_time(env.get("start_time")), ds.parse_time(env.get("end_time"))
    try:
        return ds.load(fmt, source, start, end, _preprocessor(env.get("record_preprocessor_script")))
    except ds.DatasetError as exc:
        raise AnalyzerError(str(exc)) from None


def _no_rows(env: dict[str, str]) -> AnalyzerError:
    if env.get("start_time") or env.get("end_time"):
        return AnalyzerError(f"Job inputs had no data between {env.get('start_time')} and {env.get('end_time')}.")
    return AnalyzerError("The dataset has no rows.")


def data_quality(env: dict[str, str], output: str) -> str:
    data = _dataset(env, "/opt/ml/processing/input/baseline_dataset_input")
    if not data.rows:
        raise _no_rows(env)
    constraints_path = env.get("baseline_constraints")
    if not constraints_path:
        statistics = stats.profile(data.names, data.rows)
        override: dict[str, Any] = {}
        if env.get("categorical_drift_method"):
            override = {"distribution_constraints": {"categorical_drift_method": env["categorical_drift_method"]}}
        _write(output, "statistics.json", stats.public(statistics))
        _write(output, "constraints.json", stats.suggest(statistics, override))
        return f"Baselining completed: {len(data.rows)} rows, {len(data.names)} features."
    constraints = _read_json(constraints_path, "baseline constraints")
    baseline = None
    if env.get("baseline_statistics") and os.path.exists(env["baseline_statistics"]):
        baseline = _read_json(env["baseline_statistics"], "baseline statistics")
    ds.apply_baseline_names(data, [f["name"] for f in constraints.get("features") or []])
    current = stats.profile(data.names, data.rows)
    violations = stats.check(constraints, baseline, current)
    _write(output, "statistics.json", stats.public(current))
    if env.get("seedbed_suggest_constraints") == "Enabled":  # a pipeline QualityCheck: check and baseline at once
        _write(output, "constraints.json", stats.suggest(current))
    _write(output, "constraint_violations.json", {"violations": violations})
    if violations:
        return f"CompletedWithViolations: Job completed successfully with {len(violations)} violations."
    return "Completed: Job completed successfully with no violations."


def _pick(row: Any, attribute: str | None, names: list[str] | None = None) -> Any:
    """A value of a row (list or dict) by column name, index or dotted path; the first value
    when no attribute is given."""
    if isinstance(row, dict):
        if not attribute:
            return next(iter(row.values()), None)
        current: Any = row
        for part in attribute.replace("[", ".").replace("]", "").split("."):
            if isinstance(current, dict):
                current = current.get(part)
            elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
                current = current[int(part)]
            else:
                return None
        return current
    if not attribute:
        return row[0] if row else None
    if names and attribute in names:
        index = names.index(attribute)
    elif attribute.isdigit():
        index = int(attribute)
    else:
        raise AnalyzerError(f"Attribute {attribute} is neither a column name nor an index.")
    return row[index] if index < len(row) else None


def model_quality(env: dict[str, str], output: str) -> str:
    problem = env.get("problem_type") or "Regression"
    threshold = float(env.get("probability_threshold_attribute") or 0.5)
    inference, probability = env.get("inference_attribute"), env.get("probability_attribute")
    constraints_path = env.get("baseline_constraints")
    truth: list[Any] = []
    predicted: list[Any] = []
    scores: list[Any] | None = [] if probability else None
    # A dataset with labels and predictions: baselining, or a pipeline QualityCheck step checking
    # that dataset against a baseline (monitoring schedules read captures and ground truth instead).
    if not constraints_path or env.get("ground_truth_attribute"):
        data = _dataset(env, "/opt/ml/processing/input/baseline_dataset_input")
        label = env.get("ground_truth_attribute")
        if not label:
            raise AnalyzerError("Model quality baselining needs ground_truth_attribute.")
        for row in data.rows:
            truth.append(_pick(row, label, data.names))
            predicted.append(_pick(row, inference, data.names) if inference else None)
            if scores is not None:
                scores.append(_pick(row, probability, data.names))
    else:
        data = _dataset(env, "/opt/ml/processing/input/endpoint")
        labels = ds.ground_truth(env.get("ground_truth_source") or "/opt/ml/processing/groundtruth")
        for record, values in ds.with_ground_truth(data.records, labels):
            rows = ds.payload_rows((record.get("captureData") or {}).get("endpointOutput"))
            if not rows:
                continue
            truth.append(values[0])
            predicted.append(_pick(rows[0], inference) if (inference or not probability) else None)
            if scores is not None:
                scores.append(_pick(rows[0], probability))
        if not data.records:
            raise _no_rows(env)
    try:
        section, values = quality.metrics(problem, truth, predicted, scores, threshold)
    except quality.QualityError as exc:
        raise AnalyzerError(str(exc)) from None
    statistics = {"version": 0.0, "dataset": {"item_count": len(truth), "evaluation_time": datetime.now(UTC).isoformat()},
                  section: values}
    _write(output, "statistics.json", statistics)
    if not constraints_path:
        _write(output, "constraints.json", quality.suggest(section, values))
        return f"Baselining completed: {len(truth)} labelled predictions."
    violations = quality.check(_read_json(constraints_path, "baseline constraints"), section, values)
    if env.get("seedbed_suggest_constraints") == "Enabled":
        _write(output, "constraints.json", quality.suggest(section, values))
    _write(output, "constraint_violations.json", {"violations": violations})
    if violations:
        return f"CompletedWithViolations: Job completed successfully with {len(violations)} violations."
    return "Completed: Job completed successfully with no violations."


def run(env: dict[str, str]) -> str:
    output = env.get("output_path") or "/opt/ml/processing/output"
    if (env.get("analysis_type") or "").upper() == "MODEL_QUALITY":
        message = model_quality(env, output)
    else:
        message = data_quality(env, output)
    script = env.get("post_analytics_processor_script")
    if script:
        done = subprocess.run([sys.executable, script], env=dict(env), check=False)
        if done.returncode != 0:
            raise AnalyzerError(f"The post-analytics processor script {script} exited with code {done.returncode}.")
    return message


def main() -> int:
    return image_main(run, AnalyzerError, "Error")


