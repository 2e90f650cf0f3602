"""botocore-model-driven request parsers and response serializers.

Protocols: ``json``, ``rest-json``, ``rest-xml``, ``query`` and ``smithy-rpc-v2-cbor``.

Public interface (used by the server and by tests):

- ``match_operation(service_model, request) -> (OperationModel, path_params)`` picks the operation
  a request addresses (by ``X-Amz-Target``, query ``Action``, the RPCv2 path, or the REST
  ``requestUri`` and method), raising :class:`seedbed.errors.UnknownOperation`.
- ``parse_request(operation_model, request, path_params) -> dict`` gives the operation's input as
  the plain dict boto3 callers pass.
- ``validate_input(operation_model, params)`` enforces what botocore's client does not: required
  members, lengths, ranges, enums and patterns, raising the service's validation error.
- ``serialize_response(operation_model, output, request_id) -> HttpResponse``.
- ``serialize_error(service_model, operation_model | None, error, request_id) -> HttpResponse``.
"""
