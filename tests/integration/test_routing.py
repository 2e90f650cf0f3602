"""Every routed service is reached by an unmodified boto3 client and answers for the right
operation: unimplemented ones say so by name, with status 501, never a 500 or a wrong service."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from seedbed.protocol.models import service_model
from seedbed.services.registry import KNOWN_SERVICES, PROVIDERS
from tests.conftest import LiveServer

SAMPLE_CALLS: dict[str, tuple[str, dict]] = {
    "sagemaker-runtime": ("InvokeEndpoint", {"EndpointName": "e", "Body": b"1", "ContentType": "text/csv"}),
}


def sample_call(service: str) -> tuple[str, dict] | None:
    """An operation of the service that needs no input (a List*/Describe* call), if any."""
    if service in SAMPLE_CALLS:
        return SAMPLE_CALLS[service]
    model = service_model(service)
    for name in sorted(model.operation_names):
        op = model.operation_model(name)
        if name.startswith(("List", "Describe", "Get")) and (
            op.input_shape is None or not op.input_shape.required_members
        ):
            return name, {}
    return None


@pytest.mark.parametrize("service", [s for s in KNOWN_SERVICES if s not in PROVIDERS])
def test_unimplemented_services_route_to_themselves(server: LiveServer, service: str) -> None:
    call = sample_call(service)
    assert call is not None
    operation, params = call
    client = server.client(service)
    from botocore import xform_name

    try:
        getattr(client, xform_name(operation))(**params)
    except ClientError as exc:
        error = exc.response["Error"]
        if error["Code"] == "NotImplemented":
            assert f"{service}:{operation}" in error["Message"]
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 501
        else:  # the service is implemented now: any modeled answer but a server fault is fine
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] < 500, error


def test_unknown_json_target_is_a_client_error(server: LiveServer) -> None:
    import httpx

    response = httpx.post(
        server.endpoint + "/",
        headers={"X-Amz-Target": "SageMaker.NoSuchOperation", "Content-Type": "application/x-amz-json-1.1"},
        content=b"{}",
    )
    assert 400 <= response.status_code < 500
