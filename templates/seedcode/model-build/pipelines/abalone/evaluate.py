"""Evaluate the trained model on the test split and write evaluation.json (mean squared error
and its standard deviation), which the pipeline reads as a property file."""

from __future__ import annotations

import json
import os
import pickle
import tarfile

import numpy as np
import pandas as pd
import xgboost

BASE = "/opt/ml/processing"


def load_model(path: str) -> xgboost.Booster:
    """The built-in algorithm saves ``xgboost-model`` natively in recent versions, pickled in old."""
    booster = xgboost.Booster()
    try:
        booster.load_model(path)
        return booster
    except xgboost.core.XGBoostError:
        with open(path, "rb") as fh:
            return pickle.load(fh)


def main() -> None:
    with tarfile.open(f"{BASE}/model/model.tar.gz") as archive:
        archive.extractall(".", filter="data")
    model = load_model("xgboost-model")
    test = pd.read_csv(f"{BASE}/test/test.csv", header=None)
    labels = test.iloc[:, 0].to_numpy()
    predictions = model.predict(xgboost.DMatrix(test.iloc[:, 1:].to_numpy()))
    errors = (labels - predictions) ** 2
    report = {"regression_metrics": {"mse": {"value": float(np.mean(errors)), "standard_deviation": float(np.std(errors))}}}
    os.makedirs(f"{BASE}/evaluation", exist_ok=True)
    with open(f"{BASE}/evaluation/evaluation.json", "w") as fh:
        json.dump(report, fh)
    print(f"mse {report['regression_metrics']['mse']['value']:.3f}")


if __name__ == "__main__":
    main()
