"""Data capture: sampled requests and responses as JSON Lines in S3, in SageMaker's layout, so that
Model Monitor jobs (and anything reading captures) find them.

Objects are written to ``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-fff-uuid>.jsonl``
(the hour of the records' inference time, UTC), each line::

    {"captureData": {"endpointInput": {"observedContentType": ..., "mode": "INPUT", "data": ...,
     "encoding": "CSV"|"JSON"|"BASE64"}, "endpointOutput": {...}},
     "eventMetadata": {"eventId": ..., "inferenceTime": "2024-01-01T00:00:00Z"}, "eventVersion": "0"}

Records are batched and put through S3 ``PutObject`` by Seedbed acting as SageMaker, every
:data:`FLUSH_SECONDS` or :data:`MAX_BATCH` records.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from seedbed.errors import ServiceError

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

log = logging.getLogger(__name__)

FLUSH_SECONDS = 2.0
MAX_BATCH = 1000
DEFAULT_CSV = ("text/csv",)
DEFAULT_JSON = ("application/json",)


def _encoding(content_type: str, csv_types: tuple[str, ...], json_types: tuple[str, ...]) -> str:
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base in csv_types:
        return "CSV"
    if base in json_types:
        return "JSON"
    return "BASE64"


class Capture:
    """The capture settings of one endpoint deployment and its buffer of records per variant."""

    def __init__(self, backend: Backend, account: str, region: str, endpoint: str, config: dict[str, Any],
                 principal: Any = None) -> None:
        self.backend = backend
        self.account = account
        self.region = region
        self.endpoint = endpoint
        self.principal = principal
        self.percentage = int(config.get("InitialSamplingPercentage", 0))
        dest = config["DestinationS3Uri"].rstrip("/")
        self.bucket, _, self.prefix = dest[5:].partition("/") if dest.startswith("s3://") else ("", "", "")
        modes = {o.get("CaptureMode") for o in config.get("CaptureOptions") or []}
        self.inputs = "Input" in modes
        self.outputs = "Output" in modes
        header = config.get("CaptureContentTypeHeader") or {}
        self.csv_types = tuple(t.lower() for t in header.get("CsvContentTypes") or DEFAULT_CSV)
        self.json_types = tuple(t.lower() for t in header.get("JsonContentTypes") or DEFAULT_JSON)
        self.kms_key = config.get("KmsKeyId")
        self.buffers: dict[str, list[tuple[datetime, str]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def sampled(self) -> bool:
        return self.percentage >= 100 or (self.percentage > 0 and random.random() * 100 < self.percentage)

    def _part(self, mode: str, content_type: str, data: bytes) -> dict[str, Any]:
        encoding = _encoding(content_type, self.csv_types, self.json_types)
        if encoding == "BASE64":
            text = base64.b64encode(data).decode()
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                encoding, text = "BASE64", base64.b64encode(data).decode()
        return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": encoding}

    def record(self, variant: str, inference_id: str | None, in_type: str, body: bytes,
               out_type: str, out: bytes) -> None:
        when = datetime.now(UTC)
        data: dict[str, Any] = {}
        if self.inputs:
            data["endpointInput"] = self._part("INPUT", in_type, body)
        if self.outputs:
            data["endpointOutput"] = self._part("OUTPUT", out_type, out)
        meta = {"eventId": str(uuid.uuid4()), "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%S.") +
                f"{when.microsecond // 1000:03d}Z"}
        if inference_id:
            meta["inferenceId"] = inference_id
        line = json.dumps({"captureData": data, "eventMetadata": meta, "eventVersion": "0"}, separators=(",", ":"))
        buffer = self.buffers.setdefault(variant, [])
        buffer.append((when, line))
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._flush_later())
        elif len(buffer) >= MAX_BATCH:
            asyncio.get_running_loop().create_task(self.flush())

    async def _flush_later(self) -> None:
        try:
            await asyncio.sleep(FLUSH_SECONDS)
        finally:
            self._task = None
        await self.flush()

    async def flush(self) -> None:
        buffers, self.buffers = self.buffers, {}
        for variant, records in buffers.items():
            # One object per hour folder: records are in time order, so split where the hour turns.
            groups: dict[str, list[tuple[datetime, str]]] = {}
            for when, line in records:
                groups.setdefault(when.strftime("%Y/%m/%d/%H"), []).append((when, line))
            for hour, group in groups.items():
                first = group[0][0]
                name = f"{first:%M-%S}-{first.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
                key = "/".join(p for p in (self.prefix, self.endpoint, variant, hour, name) if p)
                params: dict[str, Any] = {
                    "Bucket": self.bucket, "Key": key, "ContentType": "application/jsonlines",
                    "Body": ("\n".join(line for _, line in group) + "\n").encode(),
                }
                if self.kms_key:
                    params.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=self.kms_key)
                try:
                    await self.backend.call(self.principal, "s3", "PutObject", params, self.region, self.account)
                except ServiceError as exc:
                    log.warning("data capture of %s could not write s3://%s/%s: %s: %s",
                                self.endpoint, self.bucket, key, exc.code, exc.message)

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            self._task = None
        await self.flush()
