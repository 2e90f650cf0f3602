"""The analysis configuration (``analysis_config.json``) and what the local runtime refuses.

The SDK writes the file (``sagemaker.clarify._AnalysisConfigGenerator``) and stages it at
``/opt/ml/processing/input/config``. Options the local runtime cannot honour fail the job with a
message that names them, rather than being ignored: a result computed without them would be wrong.
"""

from __future__ import annotations

import json
import os
from typing import Any

CONFIG_DIR = "/opt/ml/processing/input/config"
DATA_DIR = "/opt/ml/processing/input/data"
OUTPUT_DIR = "/opt/ml/processing/output"

DATASET_TYPES = ("text/csv", "application/jsonlines")
METHODS = ("pre_training_bias", "post_training_bias", "shap", "report")

#: Options that Seedbed does not run, with why.
UNSUPPORTED_KEYS = {
    "facet_dataset_uri": "a facet dataset separate from the main dataset",
    "facet_headers": "a facet dataset separate from the main dataset",
    "predicted_label_dataset_uri": "a predicted label dataset separate from the main dataset",
    "predicted_label_headers": "a predicted label dataset separate from the main dataset",
    "segment_config": "segmented analysis",
    "time_series_data_config": "time series explainability",
}
UNSUPPORTED_METHODS = {
    "pdp": "partial dependence plots (PDPConfig)",
    "asymmetric_shapley_value": "asymmetric Shapley values for time series",
}
UNSUPPORTED_SHAP = {"text_config": "SHAP for text features (TextConfig)", "image_config": "SHAP for images (ImageConfig)"}
UNSUPPORTED_PREDICTOR = {"time_series_predictor_config": "time series explainability"}


class ClarifyError(Exception):
    """Ends the job Failed, with this message as its FailureReason."""


def unsupported(option: str, what: str) -> ClarifyError:
    return ClarifyError(
        f"The analysis configuration option {option} ({what}) is not supported by Seedbed's local Clarify runtime."
    )


def load(folder: str = CONFIG_DIR) -> dict[str, Any]:
    """The analysis config staged in ``folder`` (the SDK names it analysis_config.json), checked."""
    config = read(folder)
    check(config)
    return config


def read(folder: str = CONFIG_DIR) -> dict[str, Any]:
    """The analysis config staged in ``folder``, as written (a monitoring schedule's config is
    completed by :mod:`.monitor` before it is checked)."""
    path = os.path.join(folder, "analysis_config.json")
    if not os.path.isfile(path):
        found = sorted(f for f in os.listdir(folder) if f.endswith(".json")) if os.path.isdir(folder) else []
        if len(found) != 1:
            raise ClarifyError(f"The analysis configuration file was not found in {folder} (processing input analysis_config).")
        path = os.path.join(folder, found[0])
    try:
        with open(path, encoding="utf-8") as fh:
            config = json.load(fh)
    except ValueError as exc:
        raise ClarifyError(f"The analysis configuration file is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ClarifyError("The analysis configuration must be a JSON object.")
    return config


def check(config: dict[str, Any]) -> None:
    """Refuse what the local runtime cannot do (see the module docstring)."""
    version = str(config.get("version", "1.0"))
    if version != "1.0":
        raise ClarifyError(f"Unsupported analysis configuration version {version}; the supported version is 1.0.")
    dataset_type = config.get("dataset_type")
    if dataset_type not in DATASET_TYPES:
        raise unsupported(f"dataset_type={dataset_type}", f"the local runtime reads {' and '.join(DATASET_TYPES)}")
    for key, what in UNSUPPORTED_KEYS.items():
        if config.get(key):
            raise unsupported(key, what)
    methods = config.get("methods")
    if not isinstance(methods, dict) or not methods:
        raise ClarifyError("The analysis configuration has no methods.")
    for key in methods:
        if key in UNSUPPORTED_METHODS:
            raise unsupported(f"methods.{key}", UNSUPPORTED_METHODS[key])
        if key not in METHODS:
            raise ClarifyError(f"Unknown analysis method {key}; the methods are {', '.join(METHODS)}.")
    for key, what in UNSUPPORTED_SHAP.items():
        if (methods.get("shap") or {}).get(key):
            raise unsupported(f"methods.shap.{key}", what)
    predictor = config.get("predictor") or {}
    for key, what in UNSUPPORTED_PREDICTOR.items():
        if predictor.get(key):
            raise unsupported(f"predictor.{key}", what)
    if ("pre_training_bias" in methods or "post_training_bias" in methods) and not config.get("facet"):
        raise ClarifyError("Bias analysis needs at least one facet.")
    if ("pre_training_bias" in methods or "post_training_bias" in methods) and config.get("label") is None:
        raise ClarifyError("Bias analysis needs the label.")
    if ("pre_training_bias" in methods or "post_training_bias" in methods) and not config.get("label_values_or_threshold"):
        raise ClarifyError("Bias analysis needs label_values_or_threshold.")
    needs_model = "shap" in methods or ("post_training_bias" in methods and config.get("predicted_label") is None)
    if needs_model and not (predictor.get("model_name") or predictor.get("endpoint_name")):
        raise ClarifyError("This analysis needs predictions: the configuration needs predictor.model_name or predictor.endpoint_name.")
