"""Round-trips of the REST protocols through botocore itself, for every operation of s3,
sagemaker-runtime and lambda.

Input: botocore's serializer writes a generated input as a request, Seedbed matches the
operation and parses it back. Output: Seedbed serializes a generated output, botocore's parser
reads it back. Errors and S3 keys with awkward characters go through a real boto3 client whose
HTTP layer is replaced by Seedbed's protocol code (``before-send``), so botocore's handlers run too.

What the wire cannot carry is normalized on both sides before comparing, and named where it is:
header timestamps have whole seconds, empty lists/maps vanish from headers, query strings and
flattened XML, an empty blob payload is no payload, XML text turns ``\\r`` into ``\\n`` when
botocore writes it, a ``statusCode`` member must be an HTTP status, and ``Content-Length`` is the
body's length, not a free value.

``SEEDBED_REST_EXAMPLES`` raises the examples per operation (3 by default) and
``SEEDBED_REST_SERVICES`` (comma-separated) walks other REST services with the same checks.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HeadersDict, prepare_request_dict
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.handlers import parse_get_bucket_location
from botocore.model import OperationModel, Shape
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings

from seedbed.errors import ServiceError, UnknownOperation
from seedbed.protocol import rest_json, rest_xml
from seedbed.protocol.http import HttpRequest, HttpResponse
from seedbed.protocol.models import service_model
from seedbed.protocol.rest_matching import MethodNotAllowed, match_rest_operation

try:
    from tests.unit.protocol.strategies import input_for_operation, output_for_operation
except ImportError:  # collected as a rootdir-less module
    from strategies import input_for_operation, output_for_operation  # type: ignore[no-redef]

SERVICES = tuple(os.environ.get("SEEDBED_REST_SERVICES", "s3,sagemaker-runtime,lambda").split(","))
ENDPOINT = "http://localhost:4566"
MODULES = {"rest-json": rest_json, "rest-xml": rest_xml}
EXAMPLES = settings(
    max_examples=int(os.environ.get("SEEDBED_REST_EXAMPLES", "3")),  # raise it to hunt for bugs
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

WIRE_TWINS: dict[tuple[str, str], str] = {
    # Same method, path, query and headers on the wire: the matcher takes the current operation.
    ("s3", "GetBucketLifecycle"): "GetBucketLifecycleConfiguration",
    ("s3", "PutBucketLifecycle"): "PutBucketLifecycleConfiguration",
    ("s3", "GetBucketNotification"): "GetBucketNotificationConfiguration",
    ("s3", "PutBucketNotification"): "PutBucketNotificationConfiguration",
    # AWS tells these apart by host (s3express-control); only max-directory-buckets shows here.
    ("s3", "ListDirectoryBuckets"): "ListBuckets",
}

PASSED: Counter[tuple[str, str]] = Counter()
TOTALS: Counter[tuple[str, str]] = Counter()


def _protocol(service: str) -> str:
    return service_model(service).metadata["protocol"]


def _all_operations() -> list[tuple[str, str]]:
    return [
        (service, name) for service in SERVICES for name in service_model(service).operation_names
    ]


OPERATIONS = _all_operations()
for _service, _ in OPERATIONS:
    TOTALS[(_protocol(_service), "input")] += 1
    TOTALS[(_protocol(_service), "output")] += 1


# --- wire helpers --------------------------------------------------------------------------------


def _split_query(raw: str) -> list[tuple[str, str]]:
    pairs = []
    for part in raw.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


def http_request_from_url(method: str, url: str, headers: Any, body: Any) -> HttpRequest:
    """What the ASGI layer would hand over for this request line, headers and body."""
    parts = urlsplit(url)
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode("utf-8")
    return HttpRequest(
        method=method,
        path=parts.path or "/",
        query=_split_query(parts.query),
        headers={
            str(k).lower(): (v.decode() if isinstance(v, bytes) else str(v))
            for k, v in headers.items()
        },
        body=body or b"",
        raw_query=parts.query,
    )


def botocore_request(operation: OperationModel, params: dict[str, Any]) -> HttpRequest:
    """The request botocore's own serializer builds for ``params`` (no client handlers)."""
    serializer = create_serializer(operation.metadata["protocol"], include_validation=False)
    request = serializer.serialize_to_request(params, operation)
    prepare_request_dict(request, ENDPOINT)
    return http_request_from_url(
        request["method"], request["url"], request["headers"], request["body"]
    )


def botocore_parse(operation: OperationModel, response: HttpResponse) -> dict[str, Any]:
    """What botocore's parser makes of a Seedbed response, as the client would run it."""
    shape = operation.output_shape
    body: Any = response.body
    if operation.has_streaming_output:
        body = StreamingBody(io.BytesIO(response.body), len(response.body))
    elif operation.has_event_stream_output:
        body = _RawStream(response.body)
    wire = {
        "status_code": response.status,
        "headers": HeadersDict(response.headers),
        "body": body,
        "context": {"operation_name": operation.name},
    }
    parsed = create_parser(operation.metadata["protocol"]).parse(wire, shape)
    if operation.service_model.service_name == "s3" and operation.name == "GetBucketLocation":
        http = AWSResponse(ENDPOINT, response.status, response.headers, _RawStream(response.body))
        parse_get_bucket_location(parsed, http)
    parsed.pop("ResponseMetadata", None)
    return parsed


class _RawStream(io.BytesIO):
    """A urllib3-like raw body: botocore's event streams and AWSResponse call ``stream()``."""

    def stream(self, amt: int = 1024, decode_content: bool | None = None) -> Any:
        while chunk := self.read(amt):
            yield chunk


# --- normalization -------------------------------------------------------------------------------


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return (
            value.replace(tzinfo=timezone.utc)
            if value.tzinfo is None
            else value.astimezone(timezone.utc)
        )
    raise AssertionError(f"not a datetime: {value!r}")


def _xml_name(name: str, member: Shape) -> str:
    wire = member.serialization.get("name", name)
    if member.type_name == "list" and member.serialization.get("flattened"):
        return member.member.serialization.get("name", wire)
    return wire


def _shared_xml_names(shape: Shape) -> set[str]:
    """Members whose XML element name another member also uses (S3's deprecated
    ``TopicConfigurationDeprecated`` has ``Event`` and a flattened ``Events`` of ``<Event>``):
    the wire cannot say which was meant, so Seedbed binds both and the test compares neither."""
    names = Counter(_xml_name(name, member) for name, member in shape.members.items())
    return {name for name, member in shape.members.items() if names[_xml_name(name, member)] > 1}


def canon(value: Any, shape: Shape, where: str, protocol: str) -> Any:
    """A comparable form of ``value``; ``where`` is the member's location or ``body``."""
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        out = {}
        shared = _shared_xml_names(shape) if protocol == "rest-xml" else set()
        for name, item in value.items():
            member = shape.members[name]
            if item is None or member.serialization.get("eventstream") or name in shared:
                continue
            if (
                protocol == "rest-xml"
                and member.serialization.get("flattened")
                and member.type_name in ("list", "map")
                and not item
            ):
                continue  # no element at all: the wire cannot tell empty from absent
            out[name] = canon(item, member, where, protocol)
        return out
    if kind == "list":
        return [canon(item, shape.member, where, protocol) for item in value]
    if kind == "map":
        return {key: canon(item, shape.value, where, protocol) for key, item in value.items()}
    if kind == "timestamp":
        moment = _utc(value)
        fmt = (shape.serialization.get("timestampFormat") or "").lower()
        if where == "header" or fmt == "rfc822":
            moment = moment.replace(microsecond=0)
        return moment
    if kind == "blob":
        if isinstance(value, StreamingBody):
            return value.read()
        return value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if kind in ("float", "double"):
        return float(value)
    return value


def canon_top(
    params: dict[str, Any], shape: Shape | None, protocol: str, xml_text_crlf: bool = False
) -> dict[str, Any]:
    """Normalize a whole input/output: locations decide what survives the wire."""
    if shape is None:
        return {}
    payload = shape.serialization.get("payload")
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None or name == "ResponseMetadata":
            continue
        member = shape.members[name]
        if member.serialization.get("eventstream"):
            continue
        location = member.serialization.get("location") or "body"
        if (
            location in ("header", "headers", "querystring")
            and member.type_name in ("list", "map")
            and not value
        ):
            continue
        if protocol == "rest-xml" and member.serialization.get("flattened") and not value:
            continue
        item = canon(value, member, location, protocol)
        if name == payload and not item:
            continue  # no body is no payload; botocore reads an absent structure payload as {}
        if (
            xml_text_crlf
            and protocol == "rest-xml"
            and location == "body"
            and member.type_name != "blob"
        ):
            item = _crlf(item)
        out[name] = item
    return out


def _crlf(value: Any) -> Any:
    """botocore's ElementTree writes ``\\r`` raw; any XML reader turns it into ``\\n``."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    if isinstance(value, list):
        return [_crlf(item) for item in value]
    if isinstance(value, dict):
        return {key: _crlf(item) for key, item in value.items()}
    return value


# --- input direction -----------------------------------------------------------------------------


@pytest.mark.parametrize(("service", "operation_name"), OPERATIONS)
def test_input_roundtrip(service: str, operation_name: str) -> None:
    model = service_model(service)
    operation = model.operation_model(operation_name)
    protocol = model.metadata["protocol"]

    @EXAMPLES
    @given(params=input_for_operation(operation))
    def check(params: dict[str, Any]) -> None:
        request = botocore_request(operation, params)
        matched, path_params = match_rest_operation(model, request)
        if matched.name != operation_name:
            assert WIRE_TWINS.get((service, operation_name)) == matched.name, (
                f"{operation_name} matched as {matched.name}: {request}"
            )
        parsed = MODULES[protocol].parse_request(operation, request, path_params)
        expected = canon_top(params, operation.input_shape, protocol, xml_text_crlf=True)
        assert canon_top(parsed, operation.input_shape, protocol) == expected

    check()
    PASSED[(protocol, "input")] += 1


# --- output direction ----------------------------------------------------------------------------


def _wire_safe_output(operation: OperationModel, output: dict[str, Any]) -> dict[str, Any]:
    """Make values the wire forces consistent: the status code and the body's length."""
    shape = operation.output_shape
    output = dict(output)
    if shape is None:
        return output
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location == "statusCode":  # botocore always reports it: it is the HTTP status
            output[name] = int(operation.http.get("responseCode", 200))
        wire_name = member.serialization.get("name", "").lower()
        if (
            location == "header"
            and wire_name == "content-length"
            and operation.http.get("method") != "HEAD"
        ):
            output.pop(name, None)
        if (
            location == "header"
            and wire_name == "content-type"
            and operation.has_event_stream_output
        ):
            output[name] = "application/vnd.amazon.eventstream"  # the framing decides
    return output


@pytest.mark.parametrize(("service", "operation_name"), OPERATIONS)
def test_output_roundtrip(service: str, operation_name: str) -> None:
    model = service_model(service)
    operation = model.operation_model(operation_name)
    protocol = model.metadata["protocol"]

    @EXAMPLES
    @given(output=output_for_operation(operation))
    def check(output: dict[str, Any]) -> None:
        output = _wire_safe_output(operation, output)
        response = MODULES[protocol].serialize_response(operation, output, "req-1")
        assert response.status < 300
        parsed = botocore_parse(operation, response)
        shape = operation.output_shape
        assert canon_top(parsed, shape, protocol) == canon_top(output, shape, protocol)

    check()
    PASSED[(protocol, "output")] += 1


# --- event streams -------------------------------------------------------------------------------


EVENT_STREAMS = [
    (
        "s3",
        "SelectObjectContent",
        [
            {"Records": {"Payload": b"a,b\n1,2\n"}},
            {"Stats": {"Details": {"BytesScanned": 10, "BytesProcessed": 9, "BytesReturned": 8}}},
            {"Progress": {"Details": {"BytesScanned": 1, "BytesProcessed": 1, "BytesReturned": 0}}},
            {"Cont": {}},
            {"End": {}},
        ],
    ),
    (
        "lambda",
        "InvokeWithResponseStream",
        [
            {"PayloadChunk": {"Payload": b'{"par'}},
            {"PayloadChunk": {"Payload": b'tial": 1}'}},
            {
                "InvokeComplete": {
                    "ErrorCode": "Unhandled",
                    "ErrorDetails": "boom",
                    "LogResult": "bG9n",
                }
            },
        ],
    ),
    (
        "sagemaker-runtime",
        "InvokeEndpointWithResponseStream",
        [{"PayloadPart": {"Bytes": b"tok1"}}, {"PayloadPart": {"Bytes": b"tok2"}}],
    ),
]


@pytest.mark.parametrize(("service", "operation_name", "events"), EVENT_STREAMS)
def test_event_stream_output(
    service: str, operation_name: str, events: list[dict[str, Any]]
) -> None:
    model = service_model(service)
    operation = model.operation_model(operation_name)
    shape = operation.output_shape
    stream_member = shape.serialization["payload"]
    headers = {"ContentType": "application/json"} if "ContentType" in shape.members else {}
    response = MODULES[model.metadata["protocol"]].serialize_response(
        operation, {stream_member: events, **headers}, "req-1"
    )
    assert response.header("Content-Type") == "application/vnd.amazon.eventstream"
    parsed = botocore_parse(operation, response)
    assert list(parsed[stream_member]) == events


def test_event_stream_modeled_exception() -> None:
    model = service_model("sagemaker-runtime")
    operation = model.operation_model("InvokeEndpointWithResponseStream")
    events = [
        {"PayloadPart": {"Bytes": b"x"}},
        {"ModelStreamError": {"Message": "bad", "ErrorCode": "E1"}},
    ]
    response = rest_json.serialize_response(operation, {"Body": events}, "req-1")
    stream = iter(botocore_parse(operation, response)["Body"])
    assert next(stream) == {"PayloadPart": {"Bytes": b"x"}}
    with pytest.raises(Exception) as info:
        next(stream)
    assert "ModelStreamError" in str(info.value) and "bad" in str(info.value)


def _drain(stream: Any) -> bytes:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in stream])

    return asyncio.run(collect())


def test_streamed_payload_keeps_its_length() -> None:
    """An async-iterable Body becomes ``HttpResponse.stream``; the modeled length stays."""

    async def chunks() -> Any:
        yield b"ab"
        yield b"cd"

    operation = service_model("s3").operation_model("GetObject")
    response = rest_xml.serialize_response(
        operation, {"Body": chunks(), "ContentLength": 4, "ETag": '"e"'}, "req-1"
    )
    assert response.body == b"" and response.header("Content-Length") == "4"
    assert _drain(response.stream) == b"abcd"


def test_streamed_event_stream() -> None:
    """Lambda response streaming: events framed one by one as the provider yields them."""
    events = EVENT_STREAMS[1][2]

    async def produce() -> Any:
        for event in events:
            yield event

    operation = service_model("lambda").operation_model("InvokeWithResponseStream")
    response = rest_json.serialize_response(operation, {"EventStream": produce()}, "req-1")
    assert response.stream is not None and response.body == b""
    response.body, response.stream = _drain(response.stream), None
    assert list(botocore_parse(operation, response)["EventStream"]) == events


# --- matching ------------------------------------------------------------------------------------


def _request(
    method: str, path: str, query: str = "", headers: dict[str, str] | None = None
) -> HttpRequest:
    return HttpRequest(method, path, _split_query(query), headers or {}, b"", query)


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "expected"),
    [
        ("GET", "/", "", {}, "ListBuckets"),
        ("GET", "/", "max-directory-buckets=5", {}, "ListDirectoryBuckets"),
        ("GET", "/b", "", {}, "ListObjects"),
        ("GET", "/b/", "", {}, "ListObjects"),
        ("GET", "/b", "list-type=2&prefix=x", {}, "ListObjectsV2"),
        ("GET", "/b", "list-type=3", {}, "ListObjects"),
        ("GET", "/b/k", "uploadId=u", {}, "ListParts"),
        ("GET", "/b/k", "partNumber=1", {}, "GetObject"),
        ("PUT", "/b/k", "", {}, "PutObject"),
        ("PUT", "/b/k", "", {"x-amz-copy-source": "a/b"}, "CopyObject"),
        ("PUT", "/b/k", "partNumber=1&uploadId=u", {}, "UploadPart"),
        ("PUT", "/b/k", "partNumber=1&uploadId=u", {"x-amz-copy-source": "a/b"}, "UploadPartCopy"),
        ("DELETE", "/b/k", "uploadId=u", {}, "AbortMultipartUpload"),
        ("DELETE", "/b/k", "versionId=v", {}, "DeleteObject"),
        ("GET", "/b", "analytics", {}, "ListBucketAnalyticsConfigurations"),
        ("GET", "/b", "analytics&id=x", {}, "GetBucketAnalyticsConfiguration"),
        ("GET", "/b", "lifecycle", {}, "GetBucketLifecycleConfiguration"),
        ("PUT", "/b/k", "tagging", {}, "PutObjectTagging"),
        ("PUT", "/b", "tagging", {}, "PutBucketTagging"),
        ("POST", "/b/k", "select&select-type=2", {}, "SelectObjectContent"),
        ("POST", "/b/k", "uploads", {}, "CreateMultipartUpload"),
        ("POST", "/b/k", "uploadId=u", {}, "CompleteMultipartUpload"),
        ("HEAD", "/b/a/b/c", "", {}, "HeadObject"),
        ("POST", "/WriteGetObjectResponse", "", {}, "WriteGetObjectResponse"),
    ],
)
def test_s3_matching(
    method: str, path: str, query: str, headers: dict[str, str], expected: str
) -> None:
    operation, _ = match_rest_operation(service_model("s3"), _request(method, path, query, headers))
    assert operation.name == expected


def test_lambda_matching_and_errors() -> None:
    model = service_model("lambda")
    operation, params = match_rest_operation(model, _request("GET", "/2015-03-31/functions/"))
    assert operation.name == "ListFunctions" and params == {}
    operation, params = match_rest_operation(
        model,
        _request(
            "GET",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/aliases/live",
        ),
    )
    assert operation.name == "GetAlias"
    assert params == {"FunctionName": "arn:aws:lambda:us-east-1:1:function:f", "Name": "live"}
    operation, _ = match_rest_operation(
        model, _request("GET", "/2018-10-31/layers", "find=LayerVersion&Arn=x")
    )
    assert operation.name == "GetLayerVersionByArn"
    operation, _ = match_rest_operation(model, _request("GET", "/2018-10-31/layers"))
    assert operation.name == "ListLayers"
    with pytest.raises(UnknownOperation):
        match_rest_operation(model, _request("GET", "/2015-03-31/nothing-here"))
    with pytest.raises(MethodNotAllowed) as info:
        match_rest_operation(model, _request("PATCH", "/2015-03-31/functions/f"))
    assert info.value.status == 405
    with pytest.raises(MethodNotAllowed):
        match_rest_operation(service_model("s3"), _request("PATCH", "/bucket"))


# --- S3 keys with awkward characters -------------------------------------------------------------

AWKWARD_KEYS = [
    "a//b",
    "/leading",
    "trailing/",
    "%2F",
    "a%2Fb%20c",
    "sp ace",
    "plus+sign",
    "ünïcödé/日本語/😀",
    "q?uery#hash&amp=1",
    "semi;colon,comma:colon@at$dollar",
    "~tilde!*'()",
    "..",
    "x/../y/./z",
    "tab\tnewline\n",
]


@pytest.mark.parametrize("key", AWKWARD_KEYS)
@pytest.mark.parametrize(
    "operation_name", ["GetObject", "PutObject", "HeadObject", "DeleteObject", "PutObjectTagging"]
)
def test_s3_awkward_keys_serializer(key: str, operation_name: str) -> None:
    model = service_model("s3")
    operation = model.operation_model(operation_name)
    params: dict[str, Any] = {"Bucket": "bucket", "Key": key}
    if operation_name == "PutObjectTagging":
        params["Tagging"] = {"TagSet": [{"Key": "k", "Value": "v"}]}
    request = botocore_request(operation, params)
    matched, path_params = match_rest_operation(model, request)
    assert matched.name == operation_name
    parsed = rest_xml.parse_request(matched, request, path_params)
    assert parsed["Key"] == key and parsed["Bucket"] == "bucket"


class InProcessSeedbed:
    """A boto3 client whose requests Seedbed's protocol code answers without any socket."""

    def __init__(
        self,
        service: str,
        responder: Callable[[OperationModel, dict[str, Any]], Any],
        https: bool = False,
    ):
        self.model = service_model(service)
        self.responder = responder
        self.seen: list[tuple[str, dict[str, Any]]] = []
        scheme = "https" if https else "http"
        self.client = boto3.session.Session().client(
            service,
            endpoint_url=f"{scheme}://localhost:4566",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )
        self.client.meta.events.register("before-send", self._send)

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        module = MODULES[self.model.metadata["protocol"]]
        http = http_request_from_url(request.method, request.url, request.headers, request.body)
        if http.headers.get("x-amz-content-sha256", "").startswith("STREAMING-"):
            http.body = self._unchunk(http)  # the dispatcher's job in the server
        operation = None
        try:
            operation, path_params = match_rest_operation(self.model, http)
            params = module.parse_request(operation, http, path_params)
            self.seen.append((operation.name, params))
            result = self.responder(operation, params)
            response = module.serialize_response(operation, result, "req-42")
        except ServiceError as error:
            response = module.serialize_error(self.model, error, "req-42", operation)
        if http.method == "HEAD":
            response.body = b""
        return AWSResponse(
            request.url, response.status, response.headers, _RawStream(response.body)
        )

    @staticmethod
    def _unchunk(http: HttpRequest) -> bytes:
        """Unsigned ``aws-chunked`` framing, as botocore sends uploads over HTTPS."""
        data, pos = bytearray(), 0
        while True:
            eol = http.body.index(b"\r\n", pos)
            size = int(http.body[pos:eol].split(b";")[0], 16)
            if size == 0:
                break
            data += http.body[eol + 2 : eol + 2 + size]
            pos = eol + 2 + size + 2
        for line in http.body[eol + 2 :].decode().split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                http.headers[name.lower()] = value
        return bytes(data)


@pytest.mark.parametrize("https", [False, True], ids=["http", "https-aws-chunked"])
def test_s3_awkward_keys_through_boto3(https: bool) -> None:
    store: dict[str, bytes] = {}

    def responder(operation: OperationModel, params: dict[str, Any]) -> dict[str, Any]:
        if operation.name == "PutObject":
            store[params["Key"]] = params.get("Body", b"")
            return {"ETag": '"etag"'}
        if operation.name == "GetObject":
            return {
                "Body": store[params["Key"]],
                "ContentType": "text/plain",
                "Metadata": {"k": "v"},
            }
        return {}

    seedbed = InProcessSeedbed("s3", responder, https=https)
    for key in AWKWARD_KEYS:
        body = key.encode("utf-8") * 3
        seedbed.client.put_object(Bucket="bucket", Key=key, Body=body)
        if https:  # botocore framed the upload and sent its checksum as a trailer
            assert (
                "ChecksumCRC32" in seedbed.seen[-1][1]
                and "ContentEncoding" not in seedbed.seen[-1][1]
            )
        got = seedbed.client.get_object(Bucket="bucket", Key=key)
        assert got["Body"].read() == body
        assert got["Metadata"] == {"k": "v"}
    assert set(store) == set(AWKWARD_KEYS)


# --- errors --------------------------------------------------------------------------------------


def _raiser(error: ServiceError) -> Callable[[OperationModel, dict[str, Any]], Any]:
    def respond(operation: OperationModel, params: dict[str, Any]) -> Any:
        raise error

    return respond


def test_s3_errors_through_boto3() -> None:
    seedbed = InProcessSeedbed(
        "s3",
        _raiser(
            ServiceError(
                "The specified bucket does not exist",
                code="NoSuchBucket",
                status=404,
                fields={"BucketName": "nope"},
            )
        ),
    )
    with pytest.raises(seedbed.client.exceptions.NoSuchBucket) as info:
        seedbed.client.list_objects_v2(Bucket="nope")
    error = info.value.response
    assert error["Error"] == {
        "Code": "NoSuchBucket",
        "Message": "The specified bucket does not exist",
        "BucketName": "nope",
    }
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["ResponseMetadata"]["RequestId"] == "req-42"
    assert error["ResponseMetadata"]["HostId"]

    state = ServiceError(
        "The operation is not valid for the object's storage class",
        code="InvalidObjectState",
        status=403,
        fields={"StorageClass": "GLACIER", "AccessTier": "ARCHIVE_ACCESS"},
    )
    seedbed = InProcessSeedbed("s3", _raiser(state))
    with pytest.raises(seedbed.client.exceptions.InvalidObjectState) as info2:
        seedbed.client.get_object(Bucket="b", Key="k")
    assert info2.value.response["StorageClass"] == "GLACIER"
    assert info2.value.response["AccessTier"] == "ARCHIVE_ACCESS"
    assert info2.value.response["Error"]["Code"] == "InvalidObjectState"

    seedbed = InProcessSeedbed(
        "s3", _raiser(ServiceError("Not Found", code="NoSuchKey", status=404))
    )
    with pytest.raises(ClientError) as info3:
        seedbed.client.head_object(Bucket="b", Key="k")
    assert info3.value.response["Error"]["Code"] == "404"  # HEAD: no body, as with AWS

    seedbed = InProcessSeedbed("s3", _raiser(ServiceError("x", code="AccessDenied", status=403)))
    with pytest.raises(ClientError) as info4:
        seedbed.client.put_bucket_tagging(Bucket="b", Tagging={"TagSet": []})
    assert info4.value.response["Error"] == {"Code": "AccessDenied", "Message": "x"}


def test_s3_malformed_requests() -> None:
    model = service_model("s3")
    operation = model.operation_model("PutBucketTagging")
    request = HttpRequest("PUT", "/b", [("tagging", "")], {}, b"<Tagging><TagSet>", "tagging")
    with pytest.raises(rest_xml.MalformedXML):
        rest_xml.parse_request(operation, request, {"Bucket": "b"})
    operation = model.operation_model("GetObject")
    request = HttpRequest("GET", "/b/k", [("partNumber", "one")], {}, b"", "partNumber=one")
    with pytest.raises(rest_xml.InvalidArgument):
        rest_xml.parse_request(operation, request, {"Bucket": "b", "Key": "k"})
    operation = model.operation_model("PutObjectLegalHold")
    request = HttpRequest(
        "PUT", "/b/k", [("legal-hold", "")], {}, b'<!DOCTYPE x [<!ENTITY a "b">]><LegalHold/>', ""
    )
    with pytest.raises(rest_xml.MalformedXML):
        rest_xml.parse_request(operation, request, {"Bucket": "b", "Key": "k"})


def test_lambda_errors_through_boto3() -> None:
    missing = ServiceError(
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:f",
        code="ResourceNotFoundException",
        status=404,
    )
    seedbed = InProcessSeedbed("lambda", _raiser(missing))
    with pytest.raises(seedbed.client.exceptions.ResourceNotFoundException) as info:
        seedbed.client.get_function(FunctionName="f")
    response = info.value.response
    assert response["Error"]["Code"] == "ResourceNotFoundException"
    assert response["Error"]["Message"] == missing.message
    assert response["Message"] == missing.message and response["Type"] == "User"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["ResponseMetadata"]["RequestId"] == "req-42"

    throttled = ServiceError(
        "Rate exceeded",
        code="TooManyRequestsException",
        status=429,
        fields={"retryAfterSeconds": "3", "Reason": "CallerRateLimitExceeded"},
    )
    seedbed = InProcessSeedbed("lambda", _raiser(throttled))
    with pytest.raises(seedbed.client.exceptions.TooManyRequestsException) as info2:
        seedbed.client.list_functions()
    assert info2.value.response["retryAfterSeconds"] == "3"
    assert info2.value.response["Reason"] == "CallerRateLimitExceeded"
    assert info2.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "3"

    seedbed = InProcessSeedbed(
        "lambda", _raiser(ServiceError("odd", code="SomethingUnmodeled", status=400))
    )
    with pytest.raises(ClientError) as info3:
        seedbed.client.list_functions()
    assert info3.value.response["Error"] == {"Code": "SomethingUnmodeled", "Message": "odd"}


def test_sagemaker_runtime_errors_through_boto3() -> None:
    error = ServiceError(
        "Received client error (400) from model",
        code="ModelError",
        status=424,
        fields={"OriginalStatusCode": 400, "OriginalMessage": "bad input", "LogStreamArn": "arn:x"},
    )
    seedbed = InProcessSeedbed("sagemaker-runtime", _raiser(error))
    with pytest.raises(seedbed.client.exceptions.ModelError) as info:
        seedbed.client.invoke_endpoint(EndpointName="e", Body=b"{}", ContentType="application/json")
    response = info.value.response
    assert response["Error"]["Code"] == "ModelError"
    assert response["Error"]["Message"] == error.message
    assert response["OriginalStatusCode"] == 400 and response["OriginalMessage"] == "bad input"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424

    seedbed = InProcessSeedbed(
        "sagemaker-runtime",
        lambda operation, params: {
            "Body": params["Body"][::-1],
            "ContentType": "text/plain",
            "InvokedProductionVariant": "v1",
        },
    )
    result = seedbed.client.invoke_endpoint(
        EndpointName="my-endpoint", Body=b"abc", ContentType="text/plain"
    )
    assert result["Body"].read() == b"cba" and result["InvokedProductionVariant"] == "v1"
    assert seedbed.seen == [
        (
            "InvokeEndpoint",
            {"EndpointName": "my-endpoint", "ContentType": "text/plain", "Body": b"abc"},
        )
    ]


def test_rest_json_malformed_body() -> None:
    operation = service_model("lambda").operation_model("CreateFunction")
    request = HttpRequest("POST", "/2015-03-31/functions", [], {}, b"{not json", "")
    with pytest.raises(rest_json.SerializationException):
        rest_json.parse_request(operation, request, {})
    request = HttpRequest("POST", "/2015-03-31/functions", [], {}, b'{"FunctionName": 5}', "")
    with pytest.raises(rest_json.SerializationException):
        rest_json.parse_request(operation, request, {})


# --- summary -------------------------------------------------------------------------------------


def test_zz_pass_counts() -> None:
    """Reports operations x directions that passed (run with ``-s`` or ``-rP`` to see it)."""
    lines = [
        f"{protocol:9} {direction:6} {PASSED[(protocol, direction)]}/{total}"
        for (protocol, direction), total in sorted(TOTALS.items())
    ]
    print("\nREST round-trip pass counts:\n" + "\n".join(lines))
