"""Server-side pieces of hosting that need no server: routing, image runtimes, capture records,
metric aggregation, the worker frame format."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from seedbed.runtime.serving import protocol
from seedbed.services.sagemaker.hosting import capture as capture_mod
from seedbed.services.sagemaker.hosting.artifacts import runtime_for_image
from seedbed.services.sagemaker.hosting.deploy import LiveEndpoint, Route, resolved_image
from seedbed.services.sagemaker.hosting.metrics import Metrics
from seedbed.services.sagemaker.hosting.operations import HostingOperations


class FakeBackend:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def call(self, principal: Any, service: str, operation: str, params: dict[str, Any],
                   region: str | None = None, account_id: str | None = None) -> dict[str, Any]:
        self.calls.append((service, operation, params))
        return {}


def _route(variant: str, weight: float) -> Route:
    return Route(variant, weight, fleet=object(), model_name="m", image="i")  # type: ignore[arg-type]


def test_weighted_choice_and_target_variant() -> None:
    live = LiveEndpoint("1", "r", "e", "arn", [])
    live.set_routes([_route("A", 3.0), _route("B", 1.0), _route("Z", 0.0)])
    picks = [live.choose(None).variant for _ in range(4000)]  # type: ignore[union-attr]
    assert 0.7 < picks.count("A") / len(picks) < 0.8 and "Z" not in picks
    assert live.choose("Z").variant == "Z"  # type: ignore[union-attr]
    assert live.choose("nope") is None


def test_canary_mix_keeps_old_and_new_shares() -> None:
    mixed = HostingOperations._hs_mix([_route("A", 1.0)], [_route("A", 2.0), _route("B", 2.0)], 0.25)
    assert [round(r.weight, 3) for r in mixed] == [0.75, 0.125, 0.125]


def test_images_map_to_runtimes() -> None:
    base = "683313688378.dkr.ecr.us-east-1.amazonaws.com"
    assert runtime_for_image(f"{base}/sagemaker-xgboost:1.7-1", {}) == ("xgboost", "xgboost")
    assert runtime_for_image(f"{base}/sagemaker-xgboost:1.7-1", {"SAGEMAKER_PROGRAM": "x.py"}) == ("script", "xgboost")
    assert runtime_for_image(f"{base}/sagemaker-scikit-learn:1.2-1-cpu-py3", {}) == ("script", "sklearn")
    assert runtime_for_image(f"{base}/pytorch-inference:2.1-cpu", {}) == ("script", "python")
    assert runtime_for_image("my.registry.example/custom:1", {}) is None
    assert resolved_image(f"{base}/sagemaker-xgboost:1.7-1").startswith(f"{base}/sagemaker-xgboost@sha256:")


def test_frames_round_trip() -> None:
    frame = protocol.encode({"ct": "text/csv"}, b"1,2")
    meta_len, body_len = protocol.HEADER.unpack_from(frame)
    assert protocol.decode(frame[protocol.HEADER.size:], meta_len) == ({"ct": "text/csv"}, b"1,2")
    assert body_len == 3


def test_capture_records_and_keys() -> None:
    backend = FakeBackend()

    async def go() -> None:
        cap = capture_mod.Capture(backend, "1", "us-east-1", "ep", {  # type: ignore[arg-type]
            "InitialSamplingPercentage": 100, "DestinationS3Uri": "s3://b/pre",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]})
        assert cap.sampled()
        cap.record("AllTraffic", "id-1", "text/csv", b"1,2", "application/x-npy", b"\x00\x01")
        await cap.close()

    asyncio.run(go())
    (service, operation, params), = backend.calls
    assert (service, operation) == ("s3", "PutObject") and params["Bucket"] == "b"
    parts = params["Key"].split("/")
    assert parts[:3] == ["pre", "ep", "AllTraffic"] and len(parts) == 8
    record = json.loads(params["Body"])
    assert record["eventVersion"] == "0" and record["eventMetadata"]["inferenceId"] == "id-1"
    assert record["captureData"]["endpointInput"] == {"observedContentType": "text/csv", "mode": "INPUT",
                                                      "data": "1,2", "encoding": "CSV"}
    out = record["captureData"]["endpointOutput"]
    assert out["encoding"] == "BASE64" and base64.b64decode(out["data"]) == b"\x00\x01"


def test_zero_percent_never_samples() -> None:
    cap = capture_mod.Capture(FakeBackend(), "1", "r", "e", {  # type: ignore[arg-type]
        "InitialSamplingPercentage": 0, "DestinationS3Uri": "s3://b", "CaptureOptions": []})
    assert not any(cap.sampled() for _ in range(1000))


def test_metrics_published_per_variant_and_minute() -> None:
    backend = FakeBackend()

    async def go() -> None:
        metrics = Metrics(backend)  # type: ignore[arg-type]
        metrics.record("1", "r", "ep", "A", 200, 100, 50)
        metrics.record("1", "r", "ep", "A", 424, 300, 70)
        metrics.record("1", "r", "ep", "A", 500, None, None)
        await metrics.publish()
        metrics.close()

    asyncio.run(go())
    (service, operation, params), = backend.calls
    assert (service, operation, params["Namespace"]) == ("cloudwatch", "PutMetricData", "AWS/SageMaker")
    by_name = {d["MetricName"]: d for d in params["MetricData"]}
    assert by_name["Invocations"]["Value"] == 3.0
    assert by_name["Invocation4XXErrors"]["Value"] == 1.0 and by_name["Invocation5XXErrors"]["Value"] == 1.0
    assert by_name["ModelLatency"]["StatisticValues"] == {"SampleCount": 2.0, "Sum": 400, "Minimum": 100,
                                                          "Maximum": 300}
    assert by_name["ModelLatency"]["Unit"] == "Microseconds"
    assert {d["Name"]: d["Value"] for d in by_name["Invocations"]["Dimensions"]} == {"EndpointName": "ep",
                                                                                     "VariantName": "A"}
