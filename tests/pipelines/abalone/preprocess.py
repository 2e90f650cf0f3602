"""Preprocessing (runs inside the SKLearnProcessor job): split the abalone CSV into train,
validation and test sets, label first, no header, with the sex column one-hot encoded and the
numeric features standardised."""

from __future__ import annotations

import argparse
import glob
import os

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

BASE = "/opt/ml/processing"
FEATURES = ["length", "diameter", "height", "whole_weight", "shucked_weight", "viscera_weight", "shell_weight"]
COLUMNS = ["sex", *FEATURES, "rings"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    base = BASE
    files = sorted(glob.glob(os.path.join(base, "input", "*.csv")))
    frame = pd.concat([pd.read_csv(f, header=None, names=COLUMNS) for f in files])
    label = frame.pop("rings").to_numpy(dtype=float)
    transform = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), FEATURES),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                              OneHotEncoder(handle_unknown="ignore")), ["sex"]),
    ])
    features = transform.fit_transform(frame)
    data = np.concatenate([label.reshape(-1, 1), features], axis=1)
    rng = np.random.default_rng(args.seed)
    rng.shuffle(data)
    n = len(data)
    train, validation, test = np.split(data, [int(0.7 * n), int(0.85 * n)])
    for name, part in (("train", train), ("validation", validation), ("test", test)):
        os.makedirs(os.path.join(base, name), exist_ok=True)
        pd.DataFrame(part).to_csv(os.path.join(base, name, f"{name}.csv"), header=False, index=False)
    print(f"split {n} rows: train {len(train)}, validation {len(validation)}, test {len(test)}")


if __name__ == "__main__":
    main()
