"""Reading the dataset a Model Monitor job was given into column names and rows.

``dataset_format`` (JSON, as the SDK and the service set it):

- ``{"csv": {"header": true|false, "output_columns_position": "START"|"END"}}``: every file under
  ``dataset_source``; with a header, each file's first line names the columns, otherwise they are
  ``_c0``, ``_c1``, ...
- ``{"json": {"lines": true}}``: JSON Lines of objects; the columns are the keys.
- ``{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}``: the
  endpoint's data-capture files (``<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``). Records whose
  ``eventMetadata.inferenceTime`` is outside ``[start_time, end_time)`` are skipped (the service
  stages whole hours). A record's ``endpointOutput`` values come first, then its
  ``endpointInput`` values (the layout of a training CSV with the label first). CSV data with one
  line per row; JSON data as an object (its keys name the columns), a list of values, or a list of
  such rows; BASE64 data decoded then read by its content type. Capture columns have no names:
  when their count equals the baseline's, they take the baseline's feature names in order.
- ``{"parquet": {}}`` is not available locally (the job fails saying so).

A record preprocessor script (``record_preprocessor_script``) may turn each capture record into a
row: its ``preprocess_handler(inference_record)`` gets an object with ``endpoint_input``,
``endpoint_output`` (``data``, ``encoding``, ``mode``, ``observed_content_type``),
``event_metadata`` (``event_id``, ``inference_id``, ``inference_time``) and ``event_version``, and
returns a dict (names to values), a list of values, or a list of either (several rows).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any


class DatasetError(Exception):
    """The dataset cannot be read (the job fails with this message)."""


@dataclass
class Dataset:
    names: list[str]
    rows: list[list[Any]]
    #: Capture records as read (for model quality: event ids and raw outputs).
    records: list[dict[str, Any]] = field(default_factory=list)
    named: bool = True


def files_under(root: str) -> list[str]:
    out = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if not name.startswith("."):
                out.append(os.path.join(folder, name))
    return sorted(out)


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    value = text.strip().replace(" ", "")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- CSV and JSON Lines ----------------------------------------------------------------------------


def read_csv(source: str, header: bool) -> Dataset:
    names: list[str] | None = None
    rows: list[list[Any]] = []
    for path in files_under(source):
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            first = True
            for row in reader:
                if not row:
                    continue
                if header and first:
                    first = False
                    if names is None:
                        names = [c.strip() for c in row]
                    continue
                first = False
                rows.append([None if c.strip() == "" else c for c in row])
    if names is None:
        width = max((len(r) for r in rows), default=0)
        return Dataset([f"_c{i}" for i in range(width)], rows, named=False)
    return Dataset(names, rows)


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    key = prefix[:-1] if prefix else "_c0"
    return {key: json.dumps(obj) if isinstance(obj, list) else obj}


def read_json_lines(source: str) -> Dataset:
    names: list[str] = []
    objects = []
    for path in files_under(source):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    obj = _flatten(json.loads(line))
                    for k in obj:
                        if k not in names:
                            names.append(k)
                    objects.append(obj)
    return Dataset(names, [[o.get(n) for n in names] for o in objects])


# -- data capture ----------------------------------------------------------------------------------


def _decode(capture: dict[str, Any]) -> tuple[str, str]:
    """(text, kind) of a captured payload: kind is ``CSV`` or ``JSON``."""
    data = capture.get("data") or ""
    encoding = (capture.get("encoding") or "").upper()
    content_type = (capture.get("observedContentType") or "").split(";")[0].strip().lower()
    if encoding == "BASE64":
        data = base64.b64decode(data).decode("utf-8", errors="replace")
        encoding = "JSON" if "json" in content_type else "CSV"
    if encoding not in ("CSV", "JSON"):
        encoding = "JSON" if "json" in content_type else "CSV"
    return data, encoding


def _json_rows(value: Any) -> list[Any]:
    """Rows of a JSON payload: each a dict (named) or a list of values."""
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(value) == 1 and lists:  # {"instances": [...]} / {"predictions": [...]}
            return _json_rows(lists[0])
        return [_flatten(value)]
    if isinstance(value, list):
        if value and all(isinstance(v, (list, dict)) for v in value):
            return [r if isinstance(r, list) else _flatten(r) for r in value]
        return [value]
    return [[value]]


def payload_rows(capture: dict[str, Any] | None) -> list[Any]:
    if not capture:
        return []
    text, kind = _decode(capture)
    if kind == "JSON":
        try:
            return _json_rows(json.loads(text))
        except ValueError:
            raise DatasetError(f"Captured data is not valid JSON: {text[:200]}") from None
    return [[None if c.strip() == "" else c for c in row] for row in csv.reader(io.StringIO(text)) if row]


def json_lines(folder: str) -> Iterator[dict[str, Any]]:
    """The JSON Lines records of every file under ``folder`` (captures, ground truth); lines that
    are blank or not JSON are skipped, as SageMaker's containers skip them."""
    for path in files_under(folder):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record


def capture_records(source: str, start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
    records = []
    for record in json_lines(source):
        when = parse_time((record.get("eventMetadata") or {}).get("inferenceTime"))
        if when is not None and ((start and when < start) or (end and when >= end)):
            continue
        records.append(record)
    return records


def _as_inference_record(record: dict[str, Any]) -> SimpleNamespace:
    def capture(c: dict[str, Any] | None) -> SimpleNamespace | None:
        if not c:
            return None
        return SimpleNamespace(data=c.get("data"), encoding=c.get("encoding"), mode=c.get("mode"),
                               observed_content_type=c.get("observedContentType"))

    data = record.get("captureData") or {}
    meta = record.get("eventMetadata") or {}
    return SimpleNamespace(
        endpoint_input=capture(data.get("endpointInput")), endpoint_output=capture(data.get("endpointOutput")),
        event_metadata=SimpleNamespace(event_id=meta.get("eventId"), inference_id=meta.get("inferenceId"),
                                       inference_time=meta.get("inferenceTime")),
        event_version=record.get("eventVersion"),
    )


def _combine(outputs: list[Any], inputs: list[Any], position: str) -> list[Any]:
    """Rows of one record: output values joined to input values, row by row."""
    count = max(len(outputs), len(inputs))
    rows = []
    for i in range(count):
        out = outputs[i] if i < len(outputs) else ([] if not outputs or isinstance(outputs[0], list) else {})
        inp = inputs[i] if i < len(inputs) else ([] if not inputs or isinstance(inputs[0], list) else {})
        if isinstance(out, dict) or isinstance(inp, dict):
            named = {**(inp if isinstance(inp, dict) else {f"_c{j}": v for j, v in enumerate(inp)})}
            named.update(out if isinstance(out, dict) else {f"prediction_{j}": v for j, v in enumerate(out)})
            rows.append(named)
        else:
            rows.append(list(out) + list(inp) if position == "START" else list(inp) + list(out))
    return rows


def read_capture(source: str, index_names: list[str], start: datetime | None, end: datetime | None,
                 preprocessor: Any = None, output_position: str = "START") -> Dataset:
    records = capture_records(source, start, end)
    produced: list[Any] = []
    for record in records:
        if preprocessor is not None:
            result = preprocessor(_as_inference_record(record))
            if result is None:
                continue
            if isinstance(result, list) and result and all(isinstance(r, (dict, list)) for r in result):
                produced += result
            else:
                produced.append(result)
            continue
        data = record.get("captureData") or {}
        inputs = payload_rows(data.get("endpointInput")) if "endpointInput" in index_names else []
        outputs = payload_rows(data.get("endpointOutput")) if "endpointOutput" in index_names else []
        produced += _combine(outputs, inputs, output_position)
    if any(isinstance(r, dict) for r in produced):
        names: list[str] = []
        for r in produced:
            for k in (r if isinstance(r, dict) else {f"_c{j}": None for j in range(len(r))}):
                if k not in names:
                    names.append(k)
        rows = [[(r.get(n) if isinstance(r, dict) else (r[int(n[2:])] if n.startswith("_c") and n[2:].isdigit()
                 and int(n[2:]) < len(r) else None)) for n in names] for r in produced]
        return Dataset(names, [[None if isinstance(v, str) and not v.strip() else v for v in row] for row in rows],
                       records, named=True)
    width = max((len(r) for r in produced), default=0)
    return Dataset([f"_c{i}" for i in range(width)], [list(r) for r in produced], records, named=False)


def load(dataset_format: dict[str, Any], source: str, start: datetime | None = None, end: datetime | None = None,
         preprocessor: Any = None) -> Dataset:
    if not os.path.isdir(source):
        raise DatasetError(f"The dataset source {source} does not exist.")
    if "csv" in dataset_format:
        spec = dataset_format["csv"] or {}
        return read_csv(source, str(spec.get("header", False)).lower() == "true")
    if "json" in dataset_format:
        return read_json_lines(source)
    if "sagemakerCaptureJson" in dataset_format:
        spec = dataset_format["sagemakerCaptureJson"] or {}
        names = spec.get("captureIndexNames") or ["endpointInput", "endpointOutput"]
        return read_capture(source, names, start, end, preprocessor)
    if "parquet" in dataset_format:
        raise DatasetError("Parquet datasets are not available in Seedbed's local Model Monitor analyzer; use CSV or JSON Lines.")
    raise DatasetError(f"Unknown dataset_format {json.dumps(dataset_format)}.")


def apply_baseline_names(dataset: Dataset, baseline_names: list[str]) -> Dataset:
    """Unnamed columns take the baseline's feature names when the counts agree."""
    if not dataset.named and baseline_names and len(baseline_names) == len(dataset.names):
        dataset.names = list(baseline_names)
    return dataset


# -- ground truth ----------------------------------------------------------------------------------


def first_value(row: Any) -> Any:
    """The first value of a payload row (a list of values, or an object's first member)."""
    if isinstance(row, dict):
        return next(iter(row.values()), None)
    return row[0] if row else None


def ground_truth(folder: str) -> dict[str, list[Any]]:
    """The ground truth under ``folder`` (the staged ``GroundTruthS3Input``: JSON Lines records
    with ``groundTruthData`` and ``eventMetadata.eventId``), as event id -> one label per row of
    the record's data (the first value of each row)."""
    labels: dict[str, list[Any]] = {}
    for record in json_lines(folder):
        event = (record.get("eventMetadata") or {}).get("eventId")
        rows = payload_rows(record.get("groundTruthData"))
        if event and rows:
            labels[str(event)] = [first_value(r) for r in rows]
    return labels


def with_ground_truth(records: list[dict[str, Any]], labels: dict[str, list[Any]]) -> list[tuple[dict[str, Any], list[Any]]]:
    """The capture records that have ground truth, with it: matched on ``eventMetadata.inferenceId``
    (set by the caller of InvokeEndpoint) or else ``eventId``, as the service merges them."""
    out = []
    for record in records:
        meta = record.get("eventMetadata") or {}
        key = str(meta.get("inferenceId") or meta.get("eventId") or "")
        if key in labels:
            out.append((record, labels[key]))
    return out
