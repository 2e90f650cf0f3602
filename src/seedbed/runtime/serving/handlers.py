"""The model runtimes a worker hosts. Imported only in worker processes (they import numpy,
xgboost, the user's inference script); the server process never imports this module.

- :class:`XGBoostHandler`: the built-in XGBoost algorithm's serving contract: the model file
  (``xgboost-model``, native format or a pickled Booster) and its request formats (``text/csv``
  rows without a header, ``text/libsvm``, ``application/json``), answering as the algorithm
  container does (``text/csv`` comma-joined scores by default, ``application/json``
  ``{"predictions": [{"score": x}]}``, ``application/jsonlines``).
- :class:`ScriptHandler`: the inference-script contract of the framework containers
  (scikit-learn, PyTorch, ... and XGBoost's framework mode): ``model_fn``, ``input_fn``,
  ``predict_fn``, ``output_fn`` (or ``transform_fn``) from ``code/inference.py`` in the model or
  from ``SAGEMAKER_PROGRAM`` in ``SAGEMAKER_SUBMIT_DIRECTORY``, with the toolkit's defaults for
  what the script leaves out. With framework ``generic`` the defaults pass bytes through.
"""

from __future__ import annotations

import importlib.util
import inspect
import io
import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
LIBSVM = "text/libsvm"
NPY = "application/x-npy"
RECORDIO = "application/x-recordio-protobuf"


class HandlerError(Exception):
    """An answer other than 200 from the model server (the status the container would send)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def base_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def pick_accept(accept: str | None, supported: tuple[str, ...], default: str) -> str:
    """The first type of an Accept header that we can write; ``*/*`` or none means ``default``."""
    if not accept:
        return default
    for part in accept.split(","):
        kind = base_type(part)
        if kind in ("*/*", ""):
            return default
        if kind in supported:
            return kind
    raise HandlerError(406, f"Accept type {accept} is not supported; use one of {', '.join(supported)}.")


# -- XGBoost ------------------------------------------------------------------------------------


def load_booster(model_dir: Path) -> Any:
    """The Booster in ``model_dir``: ``xgboost-model`` (or the only file there), in XGBoost's own
    format (JSON/UBJSON/legacy binary, what 1.3-1 and later images write) or pickled (what 0.90-x to
    1.2-1 images write)."""
    import xgboost as xgb

    path = model_dir / "xgboost-model"
    if not path.is_file():
        files = sorted(p for p in model_dir.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise RuntimeError(f"no model file in {model_dir} (expected xgboost-model)")
        path = files[0]
    booster = xgb.Booster()
    try:  # from bytes: XGBoost tells JSON, UBJSON and its legacy binary format apart itself
        booster.load_model(bytearray(path.read_bytes()))
        return booster
    except xgb.core.XGBoostError as native_error:
        try:
            with path.open("rb") as fh:
                loaded = pickle.load(fh)
        except Exception:  # noqa: BLE001 - any unpickling failure means "not a model"
            raise RuntimeError(f"could not load {path.name} as an XGBoost model: {native_error}") from None
        if isinstance(loaded, xgb.Booster):
            return loaded
        get_booster = getattr(loaded, "get_booster", None)
        if get_booster is not None:
            return get_booster()
        raise RuntimeError(f"{path.name} holds a {type(loaded).__name__}, not an XGBoost Booster") from None


def _float(text: str) -> float:
    text = text.strip()
    return float(text) if text else float("nan")


def parse_features(body: bytes | str, content_type: str, num_features: int) -> Any:
    """Rows of features as a 2-D float array (NaN where a value is missing)."""
    import numpy as np

    kind = base_type(content_type) or CSV
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if kind == CSV:
        rows = [[_float(v) for v in line.split(",")] for line in text.splitlines() if line.strip()]
        if not rows:
            raise HandlerError(400, "Empty request: no rows in the text/csv body.")
        width = max(len(r) for r in rows)
        if any(len(r) != width for r in rows):
            raise HandlerError(400, "Rows of the text/csv body have different numbers of columns.")
        return np.asarray(rows, dtype=np.float32)
    if kind == LIBSVM:
        parsed = []
        width = num_features
        for line in text.splitlines():
            tokens = line.split()
            if not tokens:
                continue
            if ":" not in tokens[0]:
                tokens = tokens[1:]  # the label
            row = {}
            for token in tokens:
                index, _, value = token.partition(":")
                row[int(index)] = float(value)
                width = max(width, int(index) + 1)
            parsed.append(row)
        out = np.full((len(parsed), width), np.nan, dtype=np.float32)
        for i, row in enumerate(parsed):
            for j, value in row.items():
                out[i, j] = value
        return out
    if kind in (JSON, JSONLINES):
        try:
            if kind == JSONLINES:
                data: Any = [json.loads(line) for line in text.splitlines() if line.strip()]
            else:
                data = json.loads(text)
        except ValueError as exc:
            raise HandlerError(400, f"Could not parse the JSON body: {exc}") from None
        if isinstance(data, dict):
            data = data.get("instances", data.get("features", data.get("data")))
        if not isinstance(data, list):
            raise HandlerError(400, 'JSON input must be a list of rows or {"instances": [...]}.')
        rows = []
        for item in data:
            if isinstance(item, dict):
                item = item.get("features", item.get("values"))
            rows.append(item if isinstance(item, list) else [item])
        if data and not isinstance(data[0], (list, dict)):
            rows = [data]
        return np.asarray(rows, dtype=np.float32)
    if kind == RECORDIO:
        raise HandlerError(
            415, "Seedbed's XGBoost server does not read application/x-recordio-protobuf; "
            "send text/csv, text/libsvm or application/json.",
        )
    raise HandlerError(415, f"Content type {content_type} is not supported by XGBoost; "
                            "use text/csv, text/libsvm or application/json.")


def encode_scores(predictions: Any, accept: str) -> tuple[bytes, str]:
    scores = predictions.tolist()
    if accept == CSV:
        if scores and isinstance(scores[0], list):  # several outputs per row: a line each
            return "\n".join(",".join(map(str, s)) for s in scores).encode(), CSV
        return ",".join(map(str, scores)).encode(), CSV
    if accept == JSON:
        return json.dumps({"predictions": [{"score": s} for s in scores]}).encode(), JSON
    return "".join(json.dumps({"score": s}) + "\n" for s in scores).encode(), JSONLINES


class XGBoostHandler:
    OUTPUTS = (CSV, JSON, JSONLINES)

    def __init__(self, model_dir: Path, env: dict[str, str]) -> None:
        self.booster = load_booster(model_dir)
        self.num_features = int(self.booster.num_features())
        # The algorithm container answers in the request's format when asked for none.
        self.default_accept = env.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", CSV)

    def predict(self, rows: Any) -> Any:
        try:
            return self.booster.inplace_predict(rows, validate_features=False)
        except Exception as exc:  # noqa: BLE001 - XGBoostError, ValueError, ... for bad shapes
            raise HandlerError(400, f"Unable to evaluate payload provided: {exc}") from None

    def invoke(self, body: bytes, content_type: str, accept: str, custom_attributes: str) -> tuple[bytes, str]:
        rows = parse_features(body, content_type or CSV, self.num_features)
        accept_type = pick_accept(accept, self.OUTPUTS, self.default_accept)
        return encode_scores(self.predict(rows), accept_type)


# -- inference scripts --------------------------------------------------------------------------

#: Types whose bodies reach input_fn as str (as the framework containers hand them).
_TEXT_TYPES = (JSON, CSV)


def _default_decode(data: Any, content_type: str) -> Any:
    import numpy as np

    kind = base_type(content_type)
    if kind == JSON:
        return np.asarray(json.loads(data))
    if kind == CSV:
        text = data if isinstance(data, str) else data.decode()
        return np.genfromtxt(io.StringIO(text), delimiter=",", ndmin=2)
    if kind == NPY:
        return np.load(io.BytesIO(data), allow_pickle=False)
    raise HandlerError(415, f"Content type {content_type} is not supported by the default input_fn; "
                            "provide an input_fn in the inference script.")


def _default_encode(prediction: Any, accept: str) -> tuple[bytes, str]:
    kind = base_type(accept)
    value = prediction.tolist() if hasattr(prediction, "tolist") else prediction
    if kind == JSON:
        return json.dumps(value).encode(), JSON
    if kind == CSV:
        rows = value if isinstance(value, list) else [value]
        return "\n".join(",".join(map(str, r)) if isinstance(r, list) else str(r) for r in rows).encode(), CSV
    if kind == NPY:
        import numpy as np

        buf = io.BytesIO()
        np.save(buf, np.asarray(prediction))
        return buf.getvalue(), NPY
    raise HandlerError(406, f"Accept type {accept} is not supported by the default output_fn.")


def _import_script(path: Path) -> Any:
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def _call(fn: Any, *args: Any) -> Any:
    """Call a handler function with or without the toolkit's trailing ``context`` argument."""
    try:
        count = len(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        count = len(args)
    return fn(*args, None) if count == len(args) + 1 else fn(*args)


class ScriptHandler:
    def __init__(self, model_dir: Path, env: dict[str, str], framework: str, code_dir: Path | None) -> None:
        self.framework = framework
        program = env.get("SAGEMAKER_PROGRAM") or "inference.py"
        code_dir = code_dir or model_dir / "code"
        script = code_dir / program
        self.module: Any = None
        if script.is_file():
            self.module = _import_script(script)
        elif framework == "generic" or env.get("SAGEMAKER_PROGRAM"):
            raise RuntimeError(f"inference script {program} not found in {code_dir}")
        self.default_accept = env.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", JSON)
        model_fn = self._fn("model_fn")
        if model_fn is not None:
            self.model = _call(model_fn, str(model_dir))
        elif framework == "xgboost":
            self.model = load_booster(model_dir)
        elif framework == "generic":
            self.model = None
        else:
            raise RuntimeError("Please provide a model_fn implementation (in code/inference.py or "
                               "the SAGEMAKER_PROGRAM script).")

    def _fn(self, name: str) -> Any:
        return getattr(self.module, name, None) if self.module is not None else None

    def invoke(self, body: bytes, content_type: str, accept: str, custom_attributes: str) -> tuple[bytes, str]:
        kind = base_type(content_type)
        data: Any = body.decode("utf-8") if kind in _TEXT_TYPES else body
        accept = accept if accept and base_type(accept) != "*/*" else self.default_accept
        transform_fn = self._fn("transform_fn")
        if transform_fn is not None:
            result = _call(transform_fn, self.model, data, content_type, accept)
            return self._as_response(result, accept)
        input_fn, predict_fn, output_fn = (self._fn(n) for n in ("input_fn", "predict_fn", "output_fn"))
        if input_fn is not None:
            decoded = _call(input_fn, data, content_type)
        elif self.framework == "generic":
            decoded = body
        elif self.framework == "xgboost":
            decoded = parse_features(data, content_type, int(self.model.num_features()))
        else:
            decoded = _default_decode(data, content_type)
        if predict_fn is not None:
            prediction = _call(predict_fn, decoded, self.model)
        elif self.framework == "xgboost":
            prediction = self.model.inplace_predict(decoded, validate_features=False)
        elif self.framework == "generic":
            raise RuntimeError("the inference script defines no predict_fn (or transform_fn)")
        else:
            prediction = self.model.predict(decoded) if hasattr(self.model, "predict") else self.model(decoded)
        if output_fn is not None:
            return self._as_response(_call(output_fn, prediction, accept), accept)
        if self.framework == "generic":
            return self._as_response(prediction, accept)
        if self.framework == "xgboost":
            return encode_scores(prediction, pick_accept(accept, XGBoostHandler.OUTPUTS, CSV))
        return _default_encode(prediction, accept)

    @staticmethod
    def _as_response(result: Any, accept: str) -> tuple[bytes, str]:
        content_type = accept
        if isinstance(result, tuple) and len(result) == 2:
            result, content_type = result
        if isinstance(result, str):
            result = result.encode("utf-8")
        elif not isinstance(result, (bytes, bytearray)):
            result = json.dumps(result.tolist() if hasattr(result, "tolist") else result).encode()
        return bytes(result), content_type


def load(runtime: str, framework: str, model_dir: Path, env: dict[str, str], code_dir: Path | None) -> Any:
    """The handler for a worker: ``runtime`` is "xgboost" (the algorithm) or "script"."""
    if runtime == "xgboost":
        return XGBoostHandler(model_dir, env)
    if code_dir is not None and str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    extra = os.environ.get("SEEDBED_SERVING_SITE")
    if extra:
        sys.path.insert(0, extra)
    return ScriptHandler(model_dir, env, framework, code_dir)
