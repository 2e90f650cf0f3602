"""Evaluation (runs inside the ScriptProcessor job on the XGBoost image): score the trained model
on the test set and write ``evaluation.json`` with the mean squared error."""

from __future__ import annotations

import json
import os
import tarfile

import numpy as np
import pandas as pd
import xgboost

BASE = "/opt/ml/processing"


def main() -> None:
    base = BASE
    with tarfile.open(os.path.join(base, "model", "model.tar.gz")) as tar:
        tar.extractall(path=".")
    booster = xgboost.Booster()
    booster.load_model("xgboost-model")
    test = pd.read_csv(os.path.join(base, "test", "test.csv"), header=None)
    labels = test.iloc[:, 0].to_numpy()
    predictions = booster.predict(xgboost.DMatrix(test.iloc[:, 1:].to_numpy()))
    errors = (labels - predictions) ** 2
    report = {"regression_metrics": {"mse": {"value": float(np.mean(errors)), "standard_deviation": float(np.std(errors))}}}
    os.makedirs(os.path.join(base, "evaluation"), exist_ok=True)
    with open(os.path.join(base, "evaluation", "evaluation.json"), "w") as fh:
        json.dump(report, fh)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
