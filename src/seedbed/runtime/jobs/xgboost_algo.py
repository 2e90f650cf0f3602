"""The built-in SageMaker XGBoost algorithm, as a local program (``python -m ... train``).

It follows the ``sagemaker-xgboost`` container in algorithm mode: hyperparameters from
``/opt/ml/input/config/hyperparameters.json`` (``num_round`` required; ``objective``,
``max_depth``, ``eta``, ``gamma``, ``min_child_weight``, ``subsample``, ``eval_metric``,
``early_stopping_rounds`` and every other XGBoost parameter passed through, ``silent`` read as
``verbosity``), the ``train`` and optional ``validation`` channels in CSV (label in the first
column, no header) or libsvm, chosen by the channel's ``ContentType`` (``text/csv``,
``text/libsvm``; libsvm when none is given, as the container does), and the evaluation log printed
as ``[i]#011train-rmse:...#011validation-rmse:...`` (the tab shows as ``#011`` in the container's
CloudWatch logs, and the algorithm's metric definitions match on that).

The model is ``/opt/ml/model/xgboost-model``: a pickled Booster for the image versions that
pickled (0.90-x, 1.0-1, 1.2-1) and ``Booster.save_model`` output otherwise. Those later images
wrote XGBoost's binary format, which current XGBoost no longer writes, so Seedbed writes UBJSON,
which ``Booster.load_model`` of XGBoost 1.7 and later reads from a file of any name.
``SEEDBED_XGBOOST_MODEL_FORMAT`` (``pickle`` or ``ubj``) carries the choice from the image tag.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any

OPT_ML = Path(os.environ.get("SEEDBED_OPT_ML") or "/opt/ml")
INT_PARAMS = {"num_round", "max_depth", "early_stopping_rounds", "num_class", "seed", "max_leaves",
              "max_bin", "num_parallel_tree", "verbosity", "nthread", "silent", "csv_weights", "max_delta_step"}
CONTAINER_ONLY = {"num_round", "early_stopping_rounds", "csv_weights", "silent", "_kfold", "_num_cv_round",
                  "save_model_on_termination", "_tuning_objective_metric"}


def _value(name: str, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    text = raw.strip().strip('"')
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if name in INT_PARAMS or (number.is_integer() and "." not in text and "e" not in text.lower()) else number


def content_type(config: dict[str, Any], channel: str) -> str:
    raw = (config.get(channel) or {}).get("ContentType") or "text/libsvm"
    base = raw.split(";")[0].strip().lower()
    if base in ("text/csv", "csv"):
        return "csv"
    if base in ("text/libsvm", "libsvm", "text/x-libsvm"):
        return "libsvm"
    raise ValueError(
        f"Content type {raw} of channel {channel} is not supported locally: use text/csv or text/libsvm"
    )


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def load(folder: Path, kind: str, labelled: bool = True) -> Any:
    """A DMatrix of every file in ``folder`` (read in Python, so the path shim applies)."""
    import numpy as np
    import xgboost as xgb

    files = _files(folder)
    if not files:
        raise ValueError(f"No data files in {folder}")
    if kind == "csv":
        rows = [np.loadtxt(f, delimiter=",", ndmin=2) for f in files if f.stat().st_size]
        data = np.vstack(rows)
        if labelled:
            return xgb.DMatrix(data[:, 1:], label=data[:, 0])
        return xgb.DMatrix(data)
    from sklearn.datasets import load_svmlight_files

    loaded = load_svmlight_files([str(f) for f in files], zero_based=True)
    xs, ys = loaded[0::2], loaded[1::2]
    import scipy.sparse as sp

    width = max(x.shape[1] for x in xs)
    x = sp.vstack([sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], width)) for m in xs])
    return xgb.DMatrix(x, label=np.concatenate(ys)) if labelled else xgb.DMatrix(x)


class LogLines:
    """XGBoost's evaluation log as the container prints it (``#011`` for the tab)."""

    def __init__(self) -> None:
        import xgboost as xgb

        class Callback(xgb.callback.TrainingCallback):
            def after_iteration(self, model, epoch, evals_log):  # type: ignore[no-untyped-def]
                parts = [f"[{epoch}]"]
                for data, metrics in evals_log.items():
                    for metric, values in metrics.items():
                        parts.append(f"{data}-{metric}:{values[-1]:.5f}")
                print("#011".join(parts), flush=True)
                return False

        self.callback = Callback()


def save(booster: Any, path: Path, model_format: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if model_format == "pickle":
        with open(path, "wb") as fh:
            pickle.dump(booster, fh)
        return
    tmp = path.with_name(path.name + ".ubj")
    booster.save_model(str(tmp))
    os.replace(tmp, path)


def load_model(path: Path) -> Any:
    """A Booster from ``xgboost-model`` in either format."""
    import xgboost as xgb

    with open(path, "rb") as fh:
        head = fh.read(2)
    if head[:1] == b"\x80":  # a pickle
        with open(path, "rb") as fh:
            return pickle.load(fh)
    booster = xgb.Booster()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        booster.load_model(bytearray(path.read_bytes()))
    return booster


def train() -> int:
    import xgboost as xgb

    config_dir = OPT_ML / "input" / "config"
    hps = {k: _value(k, v) for k, v in json.loads((config_dir / "hyperparameters.json").read_text()).items()}
    data_config = json.loads((config_dir / "inputdataconfig.json").read_text())
    if "num_round" not in hps:
        raise ValueError("Missing required hyperparameter: num_round")
    if "train" not in data_config:
        raise ValueError("Channel 'train' is required: the XGBoost algorithm trains on the train channel")
    params = {k: v for k, v in hps.items() if k not in CONTAINER_ONLY and not k.startswith("sagemaker_")}
    if "silent" in hps and "verbosity" not in params:
        params["verbosity"] = 0 if int(hps["silent"]) else 1
    if isinstance(params.get("eval_metric"), str) and "," in params["eval_metric"]:
        params["eval_metric"] = params["eval_metric"].split(",")
    data_dir = OPT_ML / "input" / "data"
    dtrain = load(data_dir / "train", content_type(data_config, "train"))
    evals = [(dtrain, "train")]
    if "validation" in data_config:
        evals.append((load(data_dir / "validation", content_type(data_config, "validation")), "validation"))
    early = hps.get("early_stopping_rounds")
    booster = xgb.train(
        params, dtrain, num_boost_round=int(hps["num_round"]), evals=evals, verbose_eval=False,
        early_stopping_rounds=int(early) if early and len(evals) > 1 else None, callbacks=[LogLines().callback],
    )
    save(booster, OPT_ML / "model" / "xgboost-model", os.environ.get("SEEDBED_XGBOOST_MODEL_FORMAT", "ubj"))
    return 0


def main() -> int:
    try:
        return train()
    except Exception as exc:  # noqa: BLE001 - the container's contract: a failure file, exit 1
        message = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc)
        print(message, file=sys.stderr, flush=True)
        failure = OPT_ML / "output" / "failure"
        failure.parent.mkdir(parents=True, exist_ok=True)
        failure.write_text(message)
        return 1


if __name__ == "__main__":
    sys.exit(main())
