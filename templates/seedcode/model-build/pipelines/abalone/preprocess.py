"""Feature engineering for the abalone data: impute and scale the measurements, one-hot encode
the sex, put the label (rings) first, and split 70/15/15 into train, validation and test."""

from __future__ import annotations

import argparse
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
    parser.add_argument("--input", default=f"{BASE}/input/abalone-dataset.csv")
    args = parser.parse_args()

    df = pd.read_csv(args.input, header=None, names=COLUMNS)
    label = df.pop("rings").to_numpy(dtype=float)
    transform = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), FEATURES),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), ["sex"]),
    ])
    features = transform.fit_transform(df)
    data = np.concatenate([label.reshape(-1, 1), np.asarray(features, dtype=float)], axis=1)
    np.random.default_rng(42).shuffle(data)
    train, validation, test = np.split(data, [int(0.7 * len(data)), int(0.85 * len(data))])
    for name, part in (("train", train), ("validation", validation), ("test", test)):
        os.makedirs(f"{BASE}/{name}", exist_ok=True)
        pd.DataFrame(part).to_csv(f"{BASE}/{name}/{name}.csv", header=False, index=False)
    print(f"train {len(train)}, validation {len(validation)}, test {len(test)} rows")


if __name__ == "__main__":
    main()
