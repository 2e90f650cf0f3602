"""Round trips between botocore's client code and Seedbed's RPC protocol code.

For every operation of the services below:

- input: hypothesis builds parameters, botocore's own serializer turns them into a request, and
  Seedbed's parser must give the parameters back (and name the operation);
- output: hypothesis builds a result, Seedbed serializes it, botocore's parser must read it back;
- errors: a few modeled errors per service must reach botocore with code, message, status and
  modeled fields intact.

Set ``SEEDBED_RPC_EXAMPLES`` to run more examples per operation than the default 3.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import botocore.awsrequest
import botocore.parsers
import botocore.serialize
import cbor2
import pytest
from botocore.model import OperationModel, ServiceModel, Shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seedbed.errors import ServiceError, UnknownOperation, ValidationError
from seedbed.protocol import cbor_protocol, json_protocol, query_protocol
from seedbed.protocol.http import HttpRequest, HttpResponse
from seedbed.protocol.models import protocol_of, service_model

try:
    from .strategies import any_text, input_for_operation, output_for_operation, value_for_shape
except ImportError:  # collected as a rootdir module rather than a package
    from strategies import any_text, input_for_operation, output_for_operation, value_for_shape

SERVICES = [
    "sagemaker",
    "cloudformation",
    "iam",
    "sts",
    "events",
    "codebuild",
    "codepipeline",
    "kms",
    "secretsmanager",
    "ssm",
    "logs",
    "servicecatalog",
    "cloudtrail",
]
# Not in Seedbed's scope, but their models exercise traits the services above never use:
# flattened lists and list-member locationNames (sdb, rds), map key/value locationNames (sns),
# awsQueryCompatible errors (sqs, cloudwatch).
QUIRK_SERVICES = ["sdb", "sns", "sqs", "cloudwatch"]
QUIRK_OPS_PER_SERVICE = 12

MODULES = {"json": json_protocol, "query": query_protocol, "smithy-rpc-v2-cbor": cbor_protocol}
EXAMPLES = int(os.environ.get("SEEDBED_RPC_EXAMPLES", "3"))
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=EXAMPLES <= 3,
    suppress_health_check=list(HealthCheck),
)
PASSED: Counter[tuple[str, str]] = Counter()
MISSING = object()


def _protocol(model: ServiceModel) -> str:
    """The protocol botocore picks: the first of ``protocols`` it supports (as Seedbed does)."""
    return protocol_of(model)


def _cases() -> list[Any]:
    cases = []
    for name in SERVICES + QUIRK_SERVICES:
        model = service_model(name)
        ops = sorted(model.operation_names)
        if name in QUIRK_SERVICES:
            ops = ops[:QUIRK_OPS_PER_SERVICE]
        cases += [pytest.param(name, op, id=f"{name}.{op}") for op in ops]
    return cases


CASES = _cases()


# --------------------------------------------------------------------------- helpers


def to_http_request(serialized: dict[str, Any]) -> HttpRequest:
    """What an HTTP server would see for botocore's serialized request dict."""
    botocore.awsrequest.prepare_request_dict(serialized, "https://seedbed.local")
    prepared = botocore.awsrequest.create_request_object(serialized).prepare()
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return HttpRequest(
        method=prepared.method,
        path=url.path or "/",
        query=parse_qsl(url.query, keep_blank_values=True),
        headers={k.lower(): v for k, v in prepared.headers.items()},
        body=body,
        raw_query=url.query,
    )


def botocore_parse(protocol: str, response: HttpResponse, shape: Shape | None) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in response.headers}
    parser = botocore.parsers.create_parser(protocol)
    return parser.parse(
        {"status_code": response.status, "headers": headers, "body": response.body}, shape
    )


def has_event_stream(shape: Shape | None) -> bool:
    return shape is not None and any(
        m.serialization.get("eventstream") for m in shape.members.values()
    )


def query_wire(shape: Shape, value: Any, top: bool = True) -> Any:
    """What the query *request* encoding can carry of ``value``.

    botocore writes nothing for an empty map or a structure with no members set, so those
    vanish (and so does a list left with no items because of that); an empty list is written as
    ``Name=`` and survives. A map entry keeps its key even when its value wrote nothing, and the
    parser then yields that value type's empty form.
    """
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, item in value.items():
            normalized = query_wire(shape.members[name], item, top=False)
            if normalized is not MISSING:
                out[name] = normalized
        return out if (out or top) else MISSING
    if kind == "list":
        if not value:
            return []
        items = [query_wire(shape.member, item, top=False) for item in value]
        items = [item for item in items if item is not MISSING]
        return items or MISSING
    if kind == "map":
        if not value:
            return MISSING
        empty = {"list": [], "map": {}, "structure": {}}.get(shape.value.type_name)
        out = {}
        for key, item in value.items():
            normalized = query_wire(shape.value, item, top=False)
            out[key] = empty if normalized is MISSING else normalized
        return out
    return value


def xml_output_wire(shape: Shape, value: Any) -> Any:
    """What an XML *response* can carry: empty flattened lists and maps write no element at all."""
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, item in value.items():
            member = shape.members[name]
            if (
                member.type_name in ("list", "map")
                and member.serialization.get("flattened")
                and not item
            ):
                continue
            out[name] = xml_output_wire(member, item)
        return out
    if kind == "list":
        return [xml_output_wire(shape.member, item) for item in value]
    if kind == "map":
        return {k: xml_output_wire(shape.value, v) for k, v in value.items()}
    return value


def same(expected: Any, actual: Any) -> bool:
    """Deep equality where NaN equals NaN (floats are otherwise compared exactly)."""
    if isinstance(expected, float) and isinstance(actual, float):
        return expected == actual or (math.isnan(expected) and math.isnan(actual))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            same(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            same(a, b) for a, b in zip(expected, actual, strict=True)
        )
    return type(expected) is type(actual) and expected == actual


def _operation(service: str, op: str) -> tuple[ServiceModel, OperationModel, str]:
    model = service_model(service)
    return model, model.operation_model(op), _protocol(model)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(("service", "op"), CASES)
def test_input_roundtrip(service: str, op: str) -> None:
    model, operation, protocol = _operation(service, op)
    if has_event_stream(operation.input_shape):
        pytest.skip("event-stream input is not an RPC body")
    module = MODULES[protocol]
    serializer = botocore.serialize.create_serializer(protocol, include_validation=False)

    @HYPOTHESIS
    @given(input_for_operation(operation))
    def check(params: dict[str, Any]) -> None:
        request = to_http_request(serializer.serialize_to_request(params, operation))
        assert module.operation_name_for(model, request) == op
        parsed = module.parse_request(operation, request)
        expected = params
        if protocol == "query" and operation.input_shape is not None:
            expected = query_wire(operation.input_shape, params)
        assert same(expected, parsed), f"sent {expected!r}\nparsed {parsed!r}"

    check()
    PASSED[(protocol, "input")] += 1


@pytest.mark.parametrize(("service", "op"), CASES)
def test_output_roundtrip(service: str, op: str) -> None:
    model, operation, protocol = _operation(service, op)
    if has_event_stream(operation.output_shape):
        pytest.skip("event-stream output is not implemented by the RPC serializers")
    module = MODULES[protocol]

    @HYPOTHESIS
    @given(output_for_operation(operation))
    def check(output: dict[str, Any]) -> None:
        response = module.serialize_response(operation, output, "req-1")
        assert response.status == 200
        parsed = botocore_parse(protocol, response, operation.output_shape)
        metadata = parsed.pop("ResponseMetadata", {})
        # botocore's RPCv2 parser only reads the request id when the operation has an output.
        if protocol != "smithy-rpc-v2-cbor" or operation.output_shape is not None:
            assert metadata.get("RequestId") == "req-1"
        expected = output
        if protocol == "query" and operation.output_shape is not None:
            expected = xml_output_wire(operation.output_shape, output)
        assert same(expected, parsed), f"sent {expected!r}\nparsed {parsed!r}"

    check()
    PASSED[(protocol, "output")] += 1


def _error_cases() -> list[Any]:
    cases = []
    for name in SERVICES + QUIRK_SERVICES:
        model = service_model(name)
        shapes = sorted(model.error_shapes, key=lambda s: s.name)[:3]
        cases += [pytest.param(name, s.name, id=f"{name}.{s.name}") for s in shapes]
    return cases


@pytest.mark.parametrize(("service", "shape_name"), _error_cases())
def test_modeled_error(service: str, shape_name: str) -> None:
    model = service_model(service)
    protocol = _protocol(model)
    module = MODULES[protocol]
    shape = model.shape_for(shape_name)
    operation = model.operation_model(sorted(model.operation_names)[0])
    status = int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
    fields_shape = value_for_shape(shape).map(
        lambda fields: {
            k: v for k, v in fields.items() if k.lower() not in ("message", "code", "type")
        }
    )

    @HYPOTHESIS
    @given(fields_shape, any_text(max_size=20))
    def check(fields: dict[str, Any], message: str) -> None:
        error = ServiceError(message, code=shape.name, fields=fields)
        response = module.serialize_error(model, error, "req-err")
        assert response.status == status
        parsed = botocore_parse(protocol, response, operation.output_shape)
        assert parsed["Error"]["Code"] == shape.error_code
        # XML cannot tell an empty <Message></Message> from a missing text: botocore reads None.
        assert (parsed["Error"]["Message"] or "") == message
        assert parsed["ResponseMetadata"]["RequestId"] == "req-err"
        modeled = botocore_parse(protocol, response, shape)
        modeled = {k: v for k, v in modeled.items() if k.lower() not in ("message", "code", "type")}
        expected = xml_output_wire(shape, fields) if protocol == "query" else fields
        assert same(expected, modeled), f"sent {expected!r}\nparsed {modeled!r}"

    check()
    PASSED[(protocol, "error")] += 1


# --------------------------------------------------------------------------- targeted checks


@pytest.mark.parametrize("protocol_service", ["sts", "kms", "codebuild"])
def test_unmodeled_error_and_fault(protocol_service: str) -> None:
    model = service_model(protocol_service)
    protocol = _protocol(model)
    error = ServiceError(
        'boom <&> "quoted"\r\n', code="InternalFailure", status=500, sender_fault=False
    )
    response = MODULES[protocol].serialize_error(model, error, "rid")
    parsed = botocore_parse(protocol, response, None)
    assert response.status == 500
    assert parsed["Error"]["Code"] == "InternalFailure"
    assert parsed["Error"]["Message"] == error.message
    if protocol == "query":
        assert parsed["Error"]["Type"] == "Receiver"
    if protocol == "smithy-rpc-v2-cbor":
        assert response.header("smithy-protocol") == "rpc-v2-cbor"


@pytest.mark.parametrize("service", ["sqs", "cloudwatch"])
def test_query_compatible_error_code(service: str) -> None:
    """awsQueryCompatible services report the legacy query code through x-amzn-query-error."""
    model = service_model(service)
    protocol = _protocol(model)
    shapes = sorted(model.error_shapes, key=lambda s: (s.error_code == s.name, s.name))
    shape = shapes[0]  # one whose legacy code differs from its name, where the model has one
    response = MODULES[protocol].serialize_error(model, ServiceError("gone", code=shape.name), "r")
    assert response.header("x-amzn-query-error") == f"{shape.error_code};Sender"
    parsed = botocore_parse(protocol, response, None)
    assert parsed["Error"]["Code"] == shape.error_code
    assert parsed["Error"]["Type"] == "Sender"


def test_json_error_uses_x_amzn_error_type_and_content_type() -> None:
    model = service_model("kms")
    response = json_protocol.serialize_error(
        model, ServiceError("no", code="NotFoundException"), "r"
    )
    assert response.header("x-amzn-ErrorType") == "NotFoundException"
    assert response.header("Content-Type") == "application/x-amz-json-1.1"
    assert response.status == 400


def test_query_response_shape() -> None:
    operation = service_model("sts").operation_model("GetCallerIdentity")
    response = query_protocol.serialize_response(operation, {"Account": "123", "Arn": "a&b"}, "rid")
    assert response.body.startswith(
        b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        b"<GetCallerIdentityResult>"
    )
    assert b"<Arn>a&amp;b</Arn>" in response.body
    assert b"<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>" in response.body


def _request(body: bytes, **headers: str) -> HttpRequest:
    return HttpRequest(
        "POST", "/", headers={k.lower().replace("_", "-"): v for k, v in headers.items()}, body=body
    )


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[1]",
        b'{"KeyId": 5}',
        b'{"Limit": "x"}',
        b'{"Limit": 1.5}',
        b"\xff\xfe",
        b'{"GrantTokens": {}}',
    ],
)
def test_json_malformed_input_is_a_client_error(body: bytes) -> None:
    operation = service_model("kms").operation_model(
        "ListKeys" if b"Limit" in body else "DescribeKey"
    )
    with pytest.raises(json_protocol.SerializationException):
        json_protocol.parse_request(operation, _request(body))


def test_json_bad_blob_and_timestamp() -> None:
    kms = service_model("kms").operation_model("Decrypt")
    with pytest.raises(json_protocol.SerializationException):
        json_protocol.parse_request(kms, _request(b'{"CiphertextBlob": "***"}'))
    logs = service_model("logs").operation_model("PutLogEvents")
    assert json_protocol.parse_request(logs, _request(b"")) == {}
    with pytest.raises(json_protocol.SerializationException):
        json_protocol.parse_request(
            service_model("secretsmanager").operation_model("ListSecretVersionIds"),
            _request(b'{"SecretId": "s", "MaxResults": true}'),
        )


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (b"Action=ListUsers&MaxItems=abc", ValidationError),
        (b"Action=ListUsers&MaxItems=%ff", query_protocol.MalformedQueryString),
        (
            b"Action=UploadServerCertificate&CertificateBody=x&PrivateKey=y&ServerCertificateName=n"
            b"&Tags.member.1.Key=k&Tags.member.1.Value=v",
            None,
        ),
    ],
)
def test_query_malformed_input(form: bytes, error: type[ServiceError] | None) -> None:
    model = service_model("iam")
    request = _request(form, content_type="application/x-www-form-urlencoded")

    def parse() -> dict[str, Any]:
        op = model.operation_model(query_protocol.operation_name_for(model, request) or "")
        return query_protocol.parse_request(op, request)

    if error is None:
        assert parse()["Tags"] == [{"Key": "k", "Value": "v"}]
    else:
        with pytest.raises(error):
            parse()


def test_query_get_and_unknown_action() -> None:
    model = service_model("sts")
    request = HttpRequest(
        "GET", "/", query=[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")]
    )
    assert query_protocol.operation_name_for(model, request) == "GetCallerIdentity"
    assert query_protocol.operation_name_for(model, HttpRequest("GET", "/")) is None
    with pytest.raises(UnknownOperation):
        query_protocol.operation_name_for(
            model, HttpRequest("GET", "/", query=[("Action", "Nope")])
        )


def test_target_and_path_matching() -> None:
    kms = service_model("kms")
    assert (
        json_protocol.operation_name_for(kms, _request(b"", x_amz_target="TrentService.ListKeys"))
        == "ListKeys"
    )
    assert json_protocol.operation_name_for(kms, _request(b"")) is None
    with pytest.raises(UnknownOperation):
        json_protocol.operation_name_for(kms, _request(b"", x_amz_target="TrentService.Nope"))
    with pytest.raises(UnknownOperation):
        json_protocol.operation_name_for(kms, _request(b"", x_amz_target="Other.ListKeys"))
    cb = service_model("codebuild")
    path = HttpRequest("POST", "/service/CodeBuild_20161006/operation/ListProjects")
    assert cbor_protocol.operation_name_for(cb, path) == "ListProjects"
    with pytest.raises(UnknownOperation):
        cbor_protocol.operation_name_for(
            cb, HttpRequest("POST", "/service/CodeBuild_20161006/operation/Nope")
        )


def test_cbor_service_accepts_and_answers_json_clients() -> None:
    model = service_model("codebuild")
    operation = model.operation_model("BatchGetProjects")
    request = _request(
        b'{"names": ["a"]}',
        x_amz_target="CodeBuild_20161006.BatchGetProjects",
        content_type="application/x-amz-json-1.1",
    )
    assert cbor_protocol.operation_name_for(model, request) == "BatchGetProjects"
    assert cbor_protocol.parse_request(operation, request) == {"names": ["a"]}
    response = cbor_protocol.serialize_response(
        operation, {"projectsNotFound": ["a"]}, "r", request=request
    )
    assert botocore_parse("json", response, operation.output_shape)["projectsNotFound"] == ["a"]


@pytest.mark.parametrize(
    "body",
    [
        b"\xff",
        b"\xa1",
        b"\x81\x01",
        cbor2.dumps({"names": "x"}),
        cbor2.dumps({"names": [1]}),
        cbor2.dumps({"names": cbor2.CBORTag(258, ["a", "b"])}),
    ],
)
def test_cbor_malformed_input_is_a_client_error(body: bytes) -> None:
    operation = service_model("codebuild").operation_model("BatchGetProjects")
    request = HttpRequest(
        "POST",
        "/service/CodeBuild_20161006/operation/BatchGetProjects",
        headers={"smithy-protocol": "rpc-v2-cbor"},
        body=body,
    )
    with pytest.raises(ServiceError):
        cbor_protocol.parse_request(operation, request)


@settings(max_examples=60, deadline=None, database=None, derandomize=True)
@given(st.binary(max_size=64), st.sampled_from(["json", "query", "smithy-rpc-v2-cbor"]))
def test_garbage_bodies_never_escape_as_bare_exceptions(body: bytes, protocol: str) -> None:
    service, op = {
        "json": ("ssm", "PutParameter"),
        "query": ("iam", "CreateUser"),
        "smithy-rpc-v2-cbor": ("codebuild", "CreateProject"),
    }[protocol]
    operation = service_model(service).operation_model(op)
    headers = {"content-type": "application/x-www-form-urlencoded"} if protocol == "query" else {}
    try:
        MODULES[protocol].parse_request(
            operation, HttpRequest("POST", "/", headers=headers, body=body)
        )
    except ServiceError:
        pass


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
MUTATION_CASES = [
    ("ssm", "PutParameter"),
    ("sagemaker", "CreateTrainingJob"),
    ("iam", "CreatePolicyVersion"),
    ("cloudformation", "CreateStack"),
    ("codebuild", "CreateProject"),
    ("servicecatalog", "ProvisionProduct"),
]


def _mutate(document: Any, data: st.DataObject) -> Any:
    """Replace one randomly chosen node of a decoded body with an arbitrary JSON value."""
    if isinstance(document, dict) and document and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(document, key=str)))
        return {**document, key: _mutate(document[key], data)}
    if isinstance(document, list) and document and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(document) - 1))
        return [*document[:i], _mutate(document[i], data), *document[i + 1 :]]
    return data.draw(JSON_VALUES)


@pytest.mark.parametrize(("service", "op"), MUTATION_CASES)
def test_mutated_requests_fail_cleanly(service: str, op: str) -> None:
    """A valid request with one node replaced parses or raises a ServiceError, nothing else."""
    model, operation, protocol = _operation(service, op)
    serializer = botocore.serialize.create_serializer(protocol, include_validation=False)

    @settings(
        max_examples=int(os.environ.get("SEEDBED_MUTATIONS", "40")),
        deadline=None,
        database=None,
        derandomize="SEEDBED_MUTATIONS" not in os.environ,
    )
    @given(input_for_operation(operation), st.data())
    def check(params: dict[str, Any], data: st.DataObject) -> None:
        request = to_http_request(serializer.serialize_to_request(params, operation))
        if protocol == "json":
            request.body = json.dumps(_mutate(json.loads(request.body), data)).encode()
        elif protocol == "smithy-rpc-v2-cbor":
            request.body = cbor2.dumps(_mutate(cbor2.loads(request.body), data))
        else:
            form = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
            key = data.draw(st.sampled_from(sorted(form)))
            form[key] = data.draw(st.text(max_size=6))
            request.body = urlencode(form).encode()
        try:
            MODULES[protocol].parse_request(operation, request)
        except ServiceError:
            pass

    check()


def test_zz_summary() -> None:
    """Print per-protocol pass counts (operations x direction) for the record."""
    lines = [
        f"{protocol:>20} {direction:<6} {count}"
        for (protocol, direction), count in sorted(PASSED.items())
    ]
    print("\nRPC round-trip passes:\n" + "\n".join(lines))
