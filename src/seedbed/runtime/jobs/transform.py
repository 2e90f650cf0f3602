"""Batch transform without a model server: ``python -m seedbed.runtime.jobs.transform``.

On AWS a transform job starts the model's serving container and posts the input to it in
requests. Here one program reads each input file under ``/opt/ml/transform/input``, splits it
(``SplitType`` Line or None), batches records (``BatchStrategy``, ``MaxPayloadInMB``), applies the
``DataProcessing`` filters (``InputFilter``, ``JoinSource`` Input, ``OutputFilter``: the JSONPath
subset ``$``, ``$[i]``, ``$[i,j,...]``, ``$[a:b]``, ``$.key`` on CSV rows and JSON records),
predicts, and writes ``<file>.out`` (records joined per ``AssembleWith``) to
``/opt/ml/transform/output``.

Prediction follows the image: the built-in XGBoost algorithm (CSV without the label, or libsvm),
or an inference script in the SageMaker inference toolkit's style (``SAGEMAKER_PROGRAM`` in
``/opt/ml/code`` or ``/opt/ml/model/code``, with ``model_fn`` / ``input_fn`` / ``predict_fn`` /
``output_fn`` or ``transform_fn``; CSV and JSON defaults for the ones a script leaves out).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

OPT_ML = Path(os.environ.get("SEEDBED_OPT_ML") or "/opt/ml")


# -- JSONPath subset ------------------------------------------------------------------------------

_INDEX = re.compile(r"^\$\[(.+)\]$")


def select(record: Any, path: str | None) -> Any:
    if not path or path == "$":
        return record
    if path.startswith("$."):
        out = record
        for part in path[2:].split("."):
            out = out[part]
        return out
    match = _INDEX.match(path.replace(" ", ""))
    if match is None or not isinstance(record, list):
        raise ValueError(f"Seedbed's batch transform supports $, $[i], $[i,j], $[a:b] and $.key filters, not {path}")
    inner = match.group(1)
    if ":" in inner and "," not in inner:
        a, _, b = inner.partition(":")
        return record[int(a) if a else None : int(b) if b else None]
    picked = [record[int(i)] for i in inner.split(",")]
    return picked if "," in inner else picked[0]


def parse_record(text: str, content_type: str) -> Any:
    if "json" in content_type:
        return json.loads(text)
    return next(iter(__import__("csv").reader([text])), [])


def format_record(value: Any, content_type: str) -> str:
    if "json" in content_type:
        return json.dumps(value)
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


# -- predictors -----------------------------------------------------------------------------------


class XGBoostAlgorithm:
    def __init__(self, model_dir: Path) -> None:
        from seedbed.runtime.jobs.xgboost_algo import load_model

        names = [p for p in model_dir.iterdir() if p.is_file()]
        path = model_dir / "xgboost-model" if (model_dir / "xgboost-model").exists() else names[0]
        self.booster = load_model(path)

    def __call__(self, body: str, content_type: str, accept: str) -> list[str]:
        import numpy as np
        import xgboost as xgb

        if "libsvm" in content_type:
            from sklearn.datasets import load_svmlight_file

            x, _ = load_svmlight_file(io.BytesIO(body.encode()), zero_based=True)
            matrix = xgb.DMatrix(x)
        else:
            data = np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2)
            matrix = xgb.DMatrix(data)
        predictions = self.booster.predict(matrix)
        if "json" in accept:
            return [json.dumps({"predictions": [{"score": float(p)} for p in np.ravel(predictions)]})]
        if predictions.ndim > 1:
            return [",".join(repr(float(v)) for v in row) for row in predictions]
        return [repr(float(p)) for p in predictions]


class Script:
    """An inference script with the toolkit's handler functions."""

    def __init__(self, model_dir: Path, program: str) -> None:
        for folder in (OPT_ML / "code", model_dir / "code"):
            if (folder / program).is_file():
                break
        else:
            raise FileNotFoundError(f"SAGEMAKER_PROGRAM {program} was found neither in /opt/ml/code nor in the model's code/")
        sys.path.insert(0, str(folder))
        spec = importlib.util.spec_from_file_location(Path(program).stem, folder / program)
        assert spec and spec.loader
        self.module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)
        model_fn = getattr(self.module, "model_fn", None)
        self.model = model_fn(str(model_dir)) if model_fn else default_model(model_dir)

    def __call__(self, body: str, content_type: str, accept: str) -> list[str]:
        m = self.module
        if hasattr(m, "transform_fn"):
            out = m.transform_fn(self.model, body, content_type, accept)
        else:
            data = m.input_fn(body, content_type) if hasattr(m, "input_fn") else default_input(body, content_type)
            prediction = m.predict_fn(data, self.model) if hasattr(m, "predict_fn") else self.model.predict(data)
            out = m.output_fn(prediction, accept) if hasattr(m, "output_fn") else default_output(prediction, accept)
        if isinstance(out, tuple):
            out = out[0]
        if isinstance(out, bytes):
            out = out.decode()
        return [str(out).rstrip("\n")]


def default_model(model_dir: Path) -> Any:
    for name in ("model.joblib", "model.pkl"):
        if (model_dir / name).exists():
            import joblib

            return joblib.load(model_dir / name)
    if (model_dir / "xgboost-model").exists():
        from seedbed.runtime.jobs.xgboost_algo import load_model

        return load_model(model_dir / "xgboost-model")
    raise FileNotFoundError("the inference script has no model_fn and the model has no model.joblib")


def default_input(body: str, content_type: str) -> Any:
    import numpy as np

    if "json" in content_type:
        return np.array(json.loads(body))
    return np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2)


def default_output(prediction: Any, accept: str) -> str:
    import numpy as np

    array = np.asarray(prediction)
    if "json" in accept:
        return json.dumps(array.tolist())
    if array.ndim <= 1:
        return "\n".join(repr(float(v)) if np.issubdtype(array.dtype, np.number) else str(v) for v in array)
    return "\n".join(",".join(str(v) for v in row) for row in array)


# -- the run ---------------------------------------------------------------------------------------


def batches(records: list[str], strategy: str, max_bytes: int) -> list[list[str]]:
    if strategy != "MultiRecord":
        return [[r] for r in records]
    out: list[list[str]] = []
    size = 0
    for record in records:
        if not out or size + len(record) + 1 > max_bytes:
            out.append([])
            size = 0
        out[-1].append(record)
        size += len(record) + 1
    return out


def run(config: dict[str, Any]) -> int:
    model_dir = OPT_ML / "model"
    content_type = config.get("content_type") or "text/csv"
    accept = config.get("accept") or content_type
    if config.get("runtime") == "xgboost" and not os.environ.get("SAGEMAKER_PROGRAM"):
        predictor: Any = XGBoostAlgorithm(model_dir)
    elif os.environ.get("SAGEMAKER_PROGRAM"):
        predictor = Script(model_dir, os.environ["SAGEMAKER_PROGRAM"])
    else:
        raise ValueError("the model names no inference script (SAGEMAKER_PROGRAM) for its image")
    split = config.get("split_type") or "None"
    joiner = "\n" if (config.get("assemble_with") or "None") == "Line" else ""
    max_bytes = int(config.get("max_payload_mb") or 6) * 1024 * 1024
    in_dir, out_dir = OPT_ML / "transform" / "input", OPT_ML / "transform" / "output"
    count = 0
    for path in sorted(p for p in in_dir.rglob("*") if p.is_file()):
        text = path.read_text()
        records = [line for line in text.splitlines() if line.strip()] if split == "Line" else [text]
        outputs: list[str] = []
        for batch in batches(records, config.get("batch_strategy") or "MultiRecord", max_bytes):
            parsed = [parse_record(r, content_type) for r in batch] if split == "Line" else None
            inputs = batch
            if config.get("input_filter") and parsed is not None:
                inputs = [format_record(select(p, config["input_filter"]), content_type) for p in parsed]
            predictions = predictor("\n".join(inputs), content_type, accept)
            if len(predictions) == 1 and len(batch) > 1:
                predictions = predictions[0].splitlines()
            for index, prediction in enumerate(predictions):
                record: Any = prediction
                if config.get("join_source") == "Input" and parsed is not None and index < len(parsed):
                    joined = parsed[index] if isinstance(parsed[index], list) else [parsed[index]]
                    record = joined + parse_record(prediction, "text/csv") if "json" not in accept else {
                        "SageMakerInput": parsed[index], "SageMakerOutput": json.loads(prediction)}
                if config.get("output_filter"):
                    record = select(record if not isinstance(record, str) else parse_record(record, accept),
                                    config["output_filter"])
                outputs.append(record if isinstance(record, str) else format_record(record, accept))
        target = out_dir / (path.relative_to(in_dir).as_posix() + ".out")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(joiner.join(outputs) + (joiner if joiner and outputs else ""))
        count += 1
        print(f"Transformed {path.relative_to(in_dir)} ({len(records)} records)", flush=True)
    return 0 if count else _fail("No input files found for the transform job")


def _fail(message: str) -> int:
    print(message, file=sys.stderr, flush=True)
    failure = OPT_ML / "output" / "failure"
    failure.parent.mkdir(parents=True, exist_ok=True)
    failure.write_text(message)
    return 1


def main() -> int:
    try:
        return run(json.loads(os.environ.get("SEEDBED_TRANSFORM") or "{}"))
    except Exception as exc:  # noqa: BLE001 - reported through the failure file
        import traceback

        traceback.print_exc()
        return _fail(f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
