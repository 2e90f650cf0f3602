"""Monitoring executions on the Clarify image: a ModelBias or ModelExplainability schedule's job
turns the window's captured endpoint data into the dataset to analyse and completes the schedule's
analysis config (``ConfigUri``, which names only what the docs list: headers, label, label values,
facets, group variable; methods and predictor for explainability).

The monitoring scheduler (:mod:`seedbed.services.sagemaker.monitoring`) stages the capture files,
the ground truth, the config and the baseline, and sets the environment:

- ``analysis_type``: ``MODEL_BIAS`` or ``MODEL_EXPLAINABILITY`` (Seedbed's name);
- ``dataset_source``, ``start_time``, ``end_time``: the capture files and the window (records
  outside it are skipped, the service stages whole hours);
- ``ground_truth_source``: the staged ``GroundTruthS3Input`` (bias);
- ``features_attribute``: JMESPath of the features in a JSON request (``FeaturesAttribute``);
- ``inference_attribute``, ``probability_attribute``, ``probability_threshold_attribute``: where
  the predicted label or score is in the captured response (``EndpointInput``'s attributes);
- ``sagemaker_endpoint_name``, ``output_path``, ``baseline_constraints``.

Bias: the captured records that have ground truth (matched on ``inferenceId`` or ``eventId`` by
:func:`seedbed.runtime.monitoring.dataset.with_ground_truth`, the merge the model quality monitor
uses) give one row per request row: its features and its ground truth label. The captured
response is the model output post-training bias reads its predicted labels from, so no model is
called. Pre- and post-training metrics are both computed unless the config lists methods, as the
bias drift monitor does.

Explainability: each captured request row is explained. Predictions for SHAP come from the
config's predictor: a shadow endpoint of ``predictor.model_name`` (what the SDK's
``ExplainabilityAnalysisConfig`` writes from its ModelConfig, as on AWS, so the job's synthetic
SHAP requests do not land in the monitored endpoint's captures); a config naming neither a model
nor an endpoint uses the monitored endpoint.

Columns are named by the config's ``headers`` (the label at its place among them for bias), else
``feature_<i>`` and ``label``; a count that does not match the captured requests fails the job
saying so.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import tempfile
from typing import Any

from seedbed.runtime.clarify import dataset as ds
from seedbed.runtime.clarify.config import ClarifyError
from seedbed.runtime.clarify.predictor import Payload
from seedbed.runtime.monitoring import dataset as captures

BIAS, EXPLAINABILITY = "MODEL_BIAS", "MODEL_EXPLAINABILITY"
BIAS_METHODS = {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}}
GROUND_TRUTH = "/opt/ml/processing/groundtruth"
#: Keys of a dataset's config that describe a file layout the merged dataset does not have.
LAYOUT_KEYS = ("features", "predicted_label", "dataset_uri", "s3_data_distribution_type", "joinsource_name_or_index")


def monitoring(env: dict[str, str]) -> bool:
    return (env.get("analysis_type") or "").upper() in (BIAS, EXPLAINABILITY)


def _text(capture: dict[str, Any]) -> str:
    data = capture.get("data") or ""
    if (capture.get("encoding") or "").upper() == "BASE64":
        data = base64.b64decode(data).decode("utf-8", errors="replace")
    return data


def _content_type(capture: dict[str, Any]) -> str:
    return (capture.get("observedContentType") or "").split(";", 1)[0].strip().lower()


def _is_json(capture: dict[str, Any]) -> bool:
    return "json" in _content_type(capture) or (capture.get("encoding") or "").upper() == "JSON"


def _documents(text: str) -> list[Any]:
    """A JSON body: one document, or JSON Lines."""
    try:
        return [json.loads(text)]
    except ValueError:
        pass
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError:
        raise ClarifyError(f"Captured data is not valid JSON: {text[:200]}") from None


def request_rows(capture: dict[str, Any], features_attribute: str | None) -> list[Any]:
    """The feature rows of a captured request: CSV lines, or JSON rows (found with
    ``features_attribute`` when given)."""
    if not _is_json(capture):
        return captures.payload_rows(capture)
    rows: list[Any] = []
    for document in _documents(_text(capture)):
        if features_attribute:
            import jmespath

            found = jmespath.search(features_attribute, document)
            if isinstance(found, list) and found and all(isinstance(v, list) for v in found):
                rows += found
            elif isinstance(found, list):
                rows.append(found)
            else:
                raise ClarifyError(f"FeaturesAttribute {features_attribute} finds no list of features in the captured request.")
        else:
            rows += captures.payload_rows({"data": json.dumps(document), "encoding": "JSON"})
    return rows


def response_records(capture: dict[str, Any], count: int) -> list[Any]:
    """One model output record per request row, read as the Clarify predictor reads a response."""
    kind = _content_type(capture)
    accept = "application/jsonlines" if "jsonlines" in kind else "application/json" if _is_json(capture) else "text/csv"
    return Payload({"content_type": "text/csv", "accept_type": accept}, []).records(_text(capture), count)


def _mismatch(width: int, headers: list[str], what: str) -> ClarifyError:
    return ClarifyError(f"The captured requests have {width} feature values but the analysis configuration's headers "
                        f"({', '.join(headers)}) name {len(headers)} columns{what}.")


def layout(config: dict[str, Any], width: int, bias: bool) -> tuple[list[str], str | None]:
    """(the merged dataset's column names, the label column) for ``width`` captured features."""
    headers = [str(h) for h in config.get("headers") or []]
    label = config.get("label")
    if not bias:
        if headers and len(headers) == width + 1 and label is not None:  # a dataset's headers with its label
            index = label if isinstance(label, int) else headers.index(str(label)) if str(label) in headers else len(headers) - 1
            headers = [h for i, h in enumerate(headers) if i != index]
        if headers and len(headers) != width:
            raise _mismatch(width, headers, "")
        return headers or [f"feature_{i}" for i in range(width)], None
    if label is None:
        raise ClarifyError("Bias monitoring needs the label in the analysis configuration (the ground truth column).")
    if isinstance(label, int) and not isinstance(label, bool):
        if headers:
            if len(headers) != width + 1:
                raise _mismatch(width, headers, " with the label")
            return headers, headers[label]
        if not 0 <= label <= width:
            raise ClarifyError(f"The label index {label} is out of range for {width} captured features and the label.")
        names = [f"feature_{i}" for i in range(width)]
        names.insert(label, "label")
        return names, "label"
    name = str(label)
    if headers:
        if len(headers) == width:
            return [*headers, name], name
        if len(headers) == width + 1:
            return headers, name if name in headers else headers[-1]  # JSON Lines: the last header names the label
        raise _mismatch(width, headers, " with the label")
    return [*(f"feature_{i}" for i in range(width)), name], name


def _write(folder: str, names: list[str], rows: list[list[Any]]) -> None:
    with open(os.path.join(folder, "dataset.csv"), "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        writer.writerows([["" if v is None else v for v in row] for row in rows])


def _row(values: Any, features: list[str]) -> list[Any]:
    if isinstance(values, dict):
        missing = [f for f in features if f not in values]
        if missing:
            raise ClarifyError(f"The captured JSON request has no {', '.join(missing)}; set FeaturesAttribute to where its features are.")
        return [values[f] for f in features]
    return list(values)


def _no_data(env: dict[str, str]) -> ClarifyError:
    return ClarifyError(f"Job inputs had no data between {env.get('start_time')} and {env.get('end_time')}.")


def prepare(env: dict[str, str], raw: dict[str, Any]) -> tuple[dict[str, Any], ds.Dataset, list[Any] | None]:
    """(the completed config, the dataset, the model outputs of its rows (bias) or None)."""
    from seedbed.runtime.clarify import config as cfg

    bias = env["analysis_type"].upper() == BIAS
    source = env.get("dataset_source") or "/opt/ml/processing/input/endpoint"
    if not os.path.isdir(source):
        raise _no_data(env)
    records = captures.capture_records(source, captures.parse_time(env.get("start_time")), captures.parse_time(env.get("end_time")))
    if not records:
        raise _no_data(env)
    features_attribute = env.get("features_attribute") or None
    rows: list[Any] = []
    labels: list[Any] = []
    outputs: list[Any] = []
    skipped = 0
    if bias:
        truth = captures.ground_truth(env.get("ground_truth_source") or GROUND_TRUTH)
        matched = captures.with_ground_truth(records, truth)
        if not matched:
            raise ClarifyError(f"None of the {len(records)} captured records in the window has ground truth "
                               "(matched on inferenceId or eventId) under GroundTruthS3Input.")
        for record, values in matched:
            data = record.get("captureData") or {}
            if not data.get("endpointInput") or not data.get("endpointOutput"):
                skipped += 1
                continue
            inputs = request_rows(data["endpointInput"], features_attribute)
            if len(values) != len(inputs):
                skipped += 1
                continue
            rows += inputs
            labels += values
            outputs += response_records(data["endpointOutput"], len(inputs))
    else:
        for record in records:
            captured = (record.get("captureData") or {}).get("endpointInput")
            if captured:
                rows += request_rows(captured, features_attribute)
            else:
                skipped += 1
    if not rows:
        raise ClarifyError("No captured request in the window could be read (are requests captured? CaptureMode Input).")
    if skipped:
        print(f"[clarify] skipped {skipped} captured records without a request, a response, or one label per request row",
              flush=True)
    first = rows[0]
    width = len(first) if isinstance(first, list) else len([k for k in first])
    names, label = layout(raw, width, bias)
    features = [n for n in names if n != label]
    table = []
    for i, values in enumerate(rows):
        row = _row(values, features)
        if len(row) != len(features):
            raise ClarifyError(f"The captured requests do not all have {len(features)} feature values.")
        if label is not None:
            row.insert(names.index(label), labels[i])
        table.append(row)
    config = {k: v for k, v in raw.items() if k not in LAYOUT_KEYS}
    config.update({"dataset_type": "text/csv", "headers": names})
    predictor = {k: v for k, v in (config.get("predictor") or {}).items()}
    if bias:
        config["label"] = label
        config["methods"] = config.get("methods") or dict(BIAS_METHODS)
        # The predictions are the captured responses of the monitored endpoint (not called again).
        predictor = {k: v for k, v in predictor.items() if k not in ("model_name", "label", "probability")}
        predictor["endpoint_name"] = env.get("sagemaker_endpoint_name") or "monitored-endpoint"
        for key, variable in (("label", "inference_attribute"), ("probability", "probability_attribute")):
            if env.get(variable):
                predictor[key] = env[variable]
        if env.get("probability_threshold_attribute"):
            config["probability_threshold"] = float(env["probability_threshold_attribute"])
    else:
        config.pop("label", None)
        if "shap" not in (config.get("methods") or {}):
            raise ClarifyError("Explainability monitoring needs methods.shap in the analysis configuration.")
        if not predictor.get("model_name") and not predictor.get("endpoint_name"):
            predictor["endpoint_name"] = env.get("sagemaker_endpoint_name")
    config["predictor"] = predictor
    cfg.check(config)
    folder = tempfile.mkdtemp(prefix="clarify-monitoring-")
    _write(folder, names, table)
    data = ds.load(config, folder)
    print(f"[clarify] monitoring dataset: {len(table)} rows from {len(records)} captured records"
          + (f", {len(outputs)} labelled predictions" if bias else ""), flush=True)
    return config, data, outputs if bias else None
