"""Reading the dataset a Clarify job was given, as the analysis config describes it.

CSV (``text/csv``): every file under the data folder (sorted, gzip by extension), no header row
unless the first row repeats ``headers`` (or, with no ``headers``, is all text over numeric data);
columns are named by ``headers`` or ``feature_<i>`` (the label ``label``). JSON Lines
(``application/jsonlines``): one record per line; ``features`` (a JMESPath, default: the record
itself when it is a list, else its ``features`` field) gives the feature list, ``label`` and
``predicted_label`` JMESPaths their values; ``headers`` name the features and then the label.

Names or indexes (``label``, facets, ``group_variable``, ``joinsource_name_or_index``,
``excluded_columns``) resolve to column names; the model's input is every column except the label,
the predicted label, the join column and the excluded columns, in dataset order.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from seedbed.runtime.clarify.config import DATA_DIR, ClarifyError


@dataclass
class Dataset:
    frame: pd.DataFrame
    label: str | None = None
    predicted_label: str | None = None
    joinsource: str | None = None
    features: list[str] = field(default_factory=list)

    def column(self, name_or_index: str | int, what: str) -> str:
        return resolve(list(self.frame.columns), name_or_index, what)

    def model_input(self) -> pd.DataFrame:
        return self.frame[self.features]


def resolve(columns: list[str], name_or_index: str | int, what: str) -> str:
    if isinstance(name_or_index, int) and not isinstance(name_or_index, bool):
        if 0 <= name_or_index < len(columns):
            return columns[name_or_index]
        raise ClarifyError(f"The {what} index {name_or_index} is out of range: the dataset has {len(columns)} columns.")
    if str(name_or_index) in columns:
        return str(name_or_index)
    raise ClarifyError(f"The {what} {name_or_index} is not a column of the dataset (columns: {', '.join(map(str, columns))}).")


def files_under(folder: str) -> list[str]:
    out = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [os.path.join(root, n) for n in sorted(names) if not n.startswith(".")]
    return sorted(out)


def _text(path: str) -> str:
    opener: Any = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return fh.read()


def _numeric(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of numbers become numeric (integers stay integers); the rest stay text."""
    out = {}
    for name in frame.columns:
        col = frame[name]
        try:
            out[name] = pd.to_numeric(col.replace("", np.nan))
        except (ValueError, TypeError):
            out[name] = col
    return pd.DataFrame(out, columns=frame.columns)


def parse_csv(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text)) if row and any(cell.strip() for cell in row)]


def read_csv(config: dict[str, Any], folder: str) -> Dataset:
    headers: list[str] | None = config.get("headers")
    rows: list[list[str]] = []
    detected: list[str] | None = None
    for path in files_under(folder):
        part = parse_csv(_text(path))
        if not part:
            continue
        first = [c.strip() for c in part[0]]
        if headers and first == [str(h) for h in headers]:
            part = part[1:]
        elif not headers and len(part) > 1 and not any(map(_numeric, first)) and any(map(_numeric, part[1])):
            detected = first
            part = part[1:]
        rows += part
    if not rows:
        raise ClarifyError(f"The dataset under {folder} has no rows.")
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        raise ClarifyError("The CSV dataset's rows do not all have the same number of columns.")
    names = [str(h) for h in headers] if headers else detected
    label = config.get("label")
    if names is None:
        names = [f"feature_{i}" for i in range(width)]
        if isinstance(label, int) and 0 <= label < width:
            names[label] = "label"
    if len(names) != width:
        raise ClarifyError(f"headers names {len(names)} columns but the dataset has {width}.")
    frame = typed(pd.DataFrame(rows, columns=names))
    return _finish(frame, config)


def read_jsonlines(config: dict[str, Any], folder: str) -> Dataset:
    import jmespath

    features_expr, label_expr = config.get("features"), config.get("label")
    predicted_expr = config.get("predicted_label")
    records: list[list[Any]] = []
    labels: list[Any] = []
    predicted: list[Any] = []
    for path in files_under(folder):
        for n, line in enumerate(_text(path).splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise ClarifyError(f"{os.path.basename(path)} line {n} is not valid JSON.") from None
            if features_expr:
                values = jmespath.search(str(features_expr), record)
            elif isinstance(record, list):
                values = record
            else:
                values = record.get("features") if isinstance(record, dict) else None
            if not isinstance(values, list):
                raise ClarifyError(f"{os.path.basename(path)} line {n}: the features ({features_expr or 'features'}) are not a list.")
            records.append(values)
            if label_expr is not None:
                labels.append(jmespath.search(str(label_expr), record))
            if predicted_expr is not None:
                predicted.append(jmespath.search(str(predicted_expr), record))
    if not records:
        raise ClarifyError(f"The dataset under {folder} has no rows.")
    width = len(records[0])
    if any(len(r) != width for r in records):
        raise ClarifyError("The JSON Lines records do not all have the same number of features.")
    headers = [str(h) for h in config.get("headers") or []]
    names = headers[:width] if len(headers) >= width else [f"feature_{i}" for i in range(width)]
    frame = pd.DataFrame(records, columns=names)
    config = dict(config)
    if label_expr is not None:
        label_name = headers[width] if len(headers) > width else "label"
        frame[label_name] = labels
        config["label"] = label_name
    if predicted_expr is not None:
        frame["predicted_label"] = predicted
        config["predicted_label"] = "predicted_label"
    return _finish(typed(frame.astype(object).where(frame.notna(), "").astype(str)), config)


def _finish(frame: pd.DataFrame, config: dict[str, Any]) -> Dataset:
    columns = list(frame.columns)
    data = Dataset(frame)
    if config.get("label") is not None:
        data.label = resolve(columns, config["label"], "label")
    if config.get("predicted_label") is not None:
        data.predicted_label = resolve(columns, config["predicted_label"], "predicted_label")
    if config.get("joinsource_name_or_index") is not None:
        data.joinsource = resolve(columns, config["joinsource_name_or_index"], "joinsource_name_or_index")
    skip = {data.label, data.predicted_label, data.joinsource}
    skip |= {resolve(columns, c, "excluded column") for c in config.get("excluded_columns") or []}
    data.features = [c for c in columns if c not in skip]
    if not data.features:
        raise ClarifyError("The dataset has no feature columns besides the label.")
    return data


def load(config: dict[str, Any], folder: str = DATA_DIR) -> Dataset:
    if not os.path.isdir(folder):
        raise ClarifyError(f"The dataset folder {folder} does not exist (processing input dataset).")
    if config["dataset_type"] == "application/jsonlines":
        return read_jsonlines(config, folder)
    return read_csv(config, folder)


def read_baseline(text: str, dataset_type: str, features: list[str], features_expr: str | None) -> pd.DataFrame:
    """A SHAP baseline file (the dataset's format, feature columns only)."""
    if dataset_type == "application/jsonlines":
        import jmespath

        rows = []
        for line in text.splitlines():
            if line.strip():
                record = json.loads(line)
                rows.append(jmespath.search(features_expr, record) if features_expr else
                            record if isinstance(record, list) else record.get("features"))
    else:
        rows = parse_csv(text)
        if rows and [c.strip() for c in rows[0]] == features:
            rows = rows[1:]
    return baseline_frame(rows, features)


def baseline_frame(rows: list[Any], features: list[str]) -> pd.DataFrame:
    if not rows or not all(isinstance(r, list) for r in rows):
        raise ClarifyError("The SHAP baseline must be a non-empty list of rows.")
    if any(len(r) != len(features) for r in rows):
        raise ClarifyError(f"Each SHAP baseline row must have the {len(features)} feature values the model takes "
                           f"({', '.join(features)}), without the label.")
    return typed(pd.DataFrame([[str(v) for v in r] for r in rows], columns=features))
