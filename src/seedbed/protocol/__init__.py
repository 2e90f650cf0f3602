"""botocore-model-driven request parsers and response serializers.

Protocols: ``json``, ``rest-json``, ``rest-xml``, ``query`` and ``smithy-rpc-v2-cbor``.

Public interface (used by the server and by tests):

Every function takes the request's wire ``protocol`` (from :func:`wire_protocol`).

- ``match_operation(service_model, request, protocol) -> (OperationModel, path_params)`` picks the operation
  a request addresses (by ``X-Amz-Target``, query ``Action``, the RPCv2 path, or the REST
  ``requestUri`` and method), raising :class:`seedbed.errors.UnknownOperation`.
- ``parse_request(operation_model, request, path_params, protocol) -> dict`` gives the operation's input as
  the plain dict boto3 callers pass.
- ``validate_input(operation_model, params)`` enforces what botocore's client does not: required
  members, lengths, ranges, enums and patterns, raising the service's validation error.
- ``serialize_response(operation_model, output, request_id, protocol) -> HttpResponse``.
- ``serialize_error(service_model, error, request_id, protocol) -> HttpResponse``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module
from types import ModuleType
from typing import Any

from botocore.model import OperationModel, ServiceModel

from seedbed.errors import ServiceError, UnknownOperation
from seedbed.protocol.http import HttpRequest, HttpResponse
from seedbed.protocol.models import protocol_of

REST_PROTOCOLS = frozenset({"rest-json", "rest-xml"})

_MODULES = {
    "json": "seedbed.protocol.json_protocol",
    "query": "seedbed.protocol.query_protocol",
    "smithy-rpc-v2-cbor": "seedbed.protocol.cbor_protocol",
    "rest-json": "seedbed.protocol.rest_json",
    "rest-xml": "seedbed.protocol.rest_xml",
}


@lru_cache(maxsize=None)
def _module(protocol: str) -> ModuleType:
    return import_module(_MODULES[protocol])


def wire_protocol(model: ServiceModel, request: HttpRequest) -> str:
    """The protocol this request speaks.

    Usually the model's first protocol; a service that lists both CBOR and JSON (CodeBuild,
    CodePipeline, Service Catalog) answers older clients that send JSON with JSON.
    """
    protocol = protocol_of(model)
    if protocol == "smithy-rpc-v2-cbor" and "x-amz-target" in request.headers:
        return "json"
    return protocol


def try_match_rest(model: ServiceModel, request: HttpRequest) -> bool:
    """Whether a REST service has an operation at this method and path (used by the router)."""
    from seedbed.protocol.rest_matching import match_rest_operation

    try:
        match_rest_operation(model, request)
    except ServiceError:
        return False
    return True


def match_operation(
    model: ServiceModel, request: HttpRequest, protocol: str
) -> tuple[OperationModel, dict[str, str]]:
    """The operation a request addresses, and the REST path labels (empty for RPC protocols)."""
    if protocol in REST_PROTOCOLS:
        from seedbed.protocol.rest_matching import match_rest_operation

        return match_rest_operation(model, request)
    name = _module(protocol).operation_name_for(model, request)
    if not name or name not in model.operation_names:
        raise UnknownOperation(
            f"Operation {name or '(none)'} is not an operation of {model.service_name}."
        )
    return model.operation_model(name), {}


def parse_request(
    operation: OperationModel, request: HttpRequest, path_params: dict[str, str], protocol: str
) -> dict[str, Any]:
    module = _module(protocol)
    if protocol in REST_PROTOCOLS:
        return module.parse_request(operation, request, path_params)
    return module.parse_request(operation, request)


def serialize_response(
    operation: OperationModel, output: dict[str, Any], request_id: str, protocol: str
) -> HttpResponse:
    return _module(protocol).serialize_response(operation, output, request_id)


def serialize_error(
    model: ServiceModel, error: ServiceError, request_id: str, protocol: str
) -> HttpResponse:
    return _module(protocol).serialize_error(model, error, request_id)


def validate_input(operation: OperationModel, params: dict[str, Any]) -> None:
    from seedbed.protocol.validate import validate_input as _validate

    _validate(operation, params)
