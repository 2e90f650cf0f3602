"""Predictions for post-training bias and SHAP, from a shadow endpoint as on AWS.

With ``predictor.model_name`` the job creates an endpoint config and an endpoint for the model
(``initial_instance_count`` x ``instance_type``), waits for it to be InService, invokes it in
batches with ``sagemaker-runtime`` and deletes both afterwards, whatever happens in between. With
``predictor.endpoint_name`` it uses that endpoint as it is. The calls go through boto3 with the
job role's credentials and ``AWS_ENDPOINT_URL`` from the job's environment, so the role needs
``sagemaker:CreateEndpointConfig``, ``CreateEndpoint``, ``DescribeEndpoint``, ``InvokeEndpoint``,
``DeleteEndpoint`` and ``DeleteEndpointConfig``, as it does on AWS.

Requests are built from ``content_type`` (CSV rows; JSON Lines through ``content_template``'s
``$features``; JSON through ``content_template``'s ``$records``/``$record`` and
``record_template``'s ``$features``, ``$feature_names``, ``$features_kvp`` or ``"${name}"``);
responses are read by ``accept_type`` (one CSV line or JSON Lines record per request row, one CSV
line of comma-separated scores, or a JSON list or ``{"predictions": [...]}``). ``label`` and
``probability`` pick values out of a response record by index or JMESPath.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any, Self

import numpy as np

from seedbed.runtime.clarify.config import ClarifyError

#: Payload limit per request (InvokeEndpoint takes 6 MB), and the rows in one request.
MAX_BYTES = 4 * 1024 * 1024
MAX_ROWS = 1000
WAIT_SECONDS = 900


def _client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(retries={"max_attempts": 3}))


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


class Payload:
    """Turns rows of feature values into request bodies, and response bodies into records."""

    def __init__(self, predictor: dict[str, Any], features: list[str]) -> None:
        self.features = features
        self.content_type = predictor.get("content_type") or "text/csv"
        self.accept_type = predictor.get("accept_type") or self.content_type
        self.content_template = predictor.get("content_template")
        self.record_template = predictor.get("record_template")
        if self.content_type not in ("text/csv", "application/jsonlines", "application/json"):
            raise ClarifyError(f"predictor.content_type {self.content_type} is not supported by Seedbed's local Clarify runtime.")
        if self.accept_type not in ("text/csv", "application/jsonlines", "application/json"):
            raise ClarifyError(f"predictor.accept_type {self.accept_type} is not supported by Seedbed's local Clarify runtime.")
        if self.content_type == "application/jsonlines" and "$features" not in (self.content_template or ""):
            raise ClarifyError("predictor.content_template with a $features placeholder is required for content_type application/jsonlines.")
        if self.content_type == "application/json" and ("$record" not in (self.content_template or "") or not self.record_template):
            raise ClarifyError("predictor.content_template ($records or $record) and record_template are required for content_type application/json.")

    @property
    def one_per_request(self) -> bool:
        return self.content_type == "application/json" and "$records" not in (self.content_template or "")

    def _record(self, row: list[Any]) -> str:
        template = str(self.record_template)
        values = [_jsonable(v) for v in row]
        if "$features_kvp" in template:
            return template.replace("$features_kvp", json.dumps(dict(zip(self.features, values))))
        if "$features" in template or "$feature_names" in template:
            return template.replace("$feature_names", json.dumps(self.features)).replace("$features", json.dumps(values))
        by_name = dict(zip(self.features, values))
        return re.sub(r'"\$\{([^}]*)\}"', lambda m: json.dumps(by_name.get(m.group(1))), template)

    def body(self, rows: list[list[Any]]) -> str:
        if self.content_type == "text/csv":
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            for row in rows:
                writer.writerow([_cell(v) for v in row])
            return buf.getvalue()
        if self.content_type == "application/jsonlines":
            template = str(self.content_template)
            return "\n".join(template.replace("$features", json.dumps([_jsonable(v) for v in row])) for row in rows)
        records = [self._record(row) for row in rows]
        template = str(self.content_template)
        if "$records" in template:
            return template.replace("$records", "[" + ",".join(records) + "]")
        return template.replace("$record", records[0])

    def records(self, body: str, count: int) -> list[Any]:
        """One output record per request row."""
        if self.accept_type == "text/csv":
            lines = [row for row in csv.reader(io.StringIO(body.strip())) if row]
            parsed = [[_number(c) for c in row] for row in lines]
            if len(parsed) == count:
                return parsed
            if len(parsed) == 1 and len(parsed[0]) == count:
                return [[v] for v in parsed[0]]
            raise ClarifyError(f"The model returned {len(parsed)} CSV lines for {count} records.")
        if self.accept_type == "application/jsonlines":
            out = [json.loads(line) for line in body.splitlines() if line.strip()]
            if len(out) != count:
                raise ClarifyError(f"The model returned {len(out)} JSON Lines records for {count} records.")
            return out
        document = json.loads(body)
        if count == 1 and not (isinstance(document, list) and len(document) == 1):
            return [document]
        if isinstance(document, list) and len(document) == count:
            return document
        if isinstance(document, dict):
            for value in document.values():
                if isinstance(value, list) and len(value) == count:
                    return value
        raise ClarifyError(f"Cannot find {count} predictions in the model's JSON response.")


def _number(cell: str) -> Any:
    try:
        return float(cell)
    except ValueError:
        return cell.strip()


def pick(record: Any, key: str | int | None) -> Any:
    """A value of an output record by index (CSV) or JMESPath (JSON)."""
    if key is None:
        if isinstance(record, list) and len(record) == 1:
            return record[0]
        return record
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit() and isinstance(record, list)):
        index = int(key)
        if isinstance(record, list) and index < len(record):
            return record[index]
        if not isinstance(record, list) and index == 0:
            return record
        raise ClarifyError(f"The model output {record!r} has no value at index {key}.")
    import jmespath

    value = jmespath.search(str(key), record)
    if value is None:
        raise ClarifyError(f"The model output {record!r} has nothing at {key}.")
    return value


class Predictor:
    """A context manager: the shadow endpoint lives between enter and exit."""

    def __init__(self, predictor: dict[str, Any], features: list[str], job_name: str = "") -> None:
        self.config = predictor
        self.payload = Payload(predictor, features)
        self.model = predictor.get("model_name")
        self.endpoint = predictor.get("endpoint_name")
        self.shadow = not self.endpoint
        self.job_name = job_name
        self.invocations = 0
        self._sm: Any = None
        self._runtime: Any = None

    def __enter__(self) -> Self:
        self._runtime = _client("sagemaker-runtime")
        if self.shadow:
            self._sm = _client("sagemaker")
            self._create()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.shadow and self._sm is not None:
            self._delete()

    def _name(self) -> str:
        prefix = self.config.get("endpoint_name_prefix") or "sm-clarify"
        base = re.sub(r"[^a-zA-Z0-9-]", "-", f"{prefix}-{self.model}")[:48].rstrip("-")
        return f"{base}-{uuid.uuid4().hex[:12]}"

    def _create(self) -> None:
        from botocore.exceptions import ClientError

        name = self._name()
        variant: dict[str, Any] = {
            "VariantName": "AllTraffic", "ModelName": self.model,
            "InitialInstanceCount": int(self.config.get("initial_instance_count") or 1),
            "InstanceType": self.config.get("instance_type") or "ml.m5.xlarge",
        }
        if self.config.get("accelerator_type"):
            print(f"[clarify] accelerator_type {self.config['accelerator_type']} has no effect locally", flush=True)
        try:
            self._sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
            self.endpoint_config = name
            self._sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
            self.endpoint = name
        except ClientError as exc:
            raise ClarifyError(f"Could not create the shadow endpoint for model {self.model}: {exc}") from None
        print(f"[clarify] creating shadow endpoint {name} for model {self.model}", flush=True)
        deadline = time.monotonic() + WAIT_SECONDS
        delay = 0.2
        while True:
            try:
                status = self._sm.describe_endpoint(EndpointName=name)
            except ClientError as exc:
                raise ClarifyError(f"Could not describe the shadow endpoint {name}: {exc}") from None
            state = status["EndpointStatus"]
            if state == "InService":
                print(f"[clarify] shadow endpoint {name} is InService", flush=True)
                return
            if state in ("Failed", "OutOfService", "Deleting"):
                raise ClarifyError(f"The shadow endpoint {name} is {state}: {status.get('FailureReason', '')}")
            if time.monotonic() > deadline:
                raise ClarifyError(f"The shadow endpoint {name} was not InService after {WAIT_SECONDS} seconds.")
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)

    def _delete(self) -> None:
        from botocore.exceptions import ClientError

        if self.endpoint:
            try:
                self._sm.delete_endpoint(EndpointName=self.endpoint)
                print(f"[clarify] deleted shadow endpoint {self.endpoint}", flush=True)
            except ClientError as exc:
                print(f"[clarify] could not delete shadow endpoint {self.endpoint}: {exc}", flush=True)
        if getattr(self, "endpoint_config", None):
            try:
                self._sm.delete_endpoint_config(EndpointConfigName=self.endpoint_config)
            except ClientError as exc:
                print(f"[clarify] could not delete endpoint config {self.endpoint_config}: {exc}", flush=True)

    def _batches(self, rows: list[list[Any]]) -> Iterator[list[list[Any]]]:
        if self.payload.one_per_request:
            for row in rows:
                yield [row]
            return
        size = MAX_ROWS
        if rows:
            per_row = max(1, len(self.payload.body(rows[:10]).encode()) // min(10, len(rows)))
            size = max(1, min(MAX_ROWS, MAX_BYTES // per_row))
        for start in range(0, len(rows), size):
            yield rows[start : start + size]

    def predict(self, rows: list[list[Any]]) -> list[Any]:
        """The model's output record for each row of feature values."""
        from botocore.exceptions import ClientError

        out: list[Any] = []
        extra: dict[str, Any] = {}
        if self.config.get("custom_attributes"):
            extra["CustomAttributes"] = self.config["custom_attributes"]
        if self.config.get("target_model"):
            extra["TargetModel"] = self.config["target_model"]
        for batch in self._batches(rows):
            try:
                answer = self._runtime.invoke_endpoint(
                    EndpointName=self.endpoint, ContentType=self.payload.content_type,
                    Accept=self.payload.accept_type, Body=self.payload.body(batch).encode(), **extra)
            except ClientError as exc:
                raise ClarifyError(f"Invoking endpoint {self.endpoint} failed: {exc}") from None
            self.invocations += 1
            out += self.payload.records(answer["Body"].read().decode("utf-8"), len(batch))
        return out
