"""Custom resources: the request document, a presigned S3 ``ResponseURL``, and the wait.

As on AWS: the engine sends ``{"RequestType": "Create"|"Update"|"Delete", "ResponseURL", "StackId",
"RequestId", "ResourceType", "LogicalResourceId", "PhysicalResourceId", "ResourceProperties",
"OldResourceProperties"}`` to the ServiceToken (a Lambda function, or an SNS topic), then polls the
response object that the function PUTs to the presigned URL, until it answers or the timeout
(``ServiceTimeout``, default one hour) passes. Responses land in a bucket of the admin account
that Seedbed creates on first use (``seedbed-cfn-responses-<account>-<region>``).

Invoking is one replaceable call (:data:`Invoker`): the default sends an asynchronous ``Invoke``
to the Lambda service as the stack's principal; unit tests install a fake that plays the function.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from seedbed.cloudformation.errors import ResourceFailure
from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type
from seedbed.errors import ServiceError
from seedbed.state import arns, ids

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import Principal

#: AWS waits an hour for a custom resource unless ServiceTimeout says otherwise.
DEFAULT_TIMEOUT = 3600.0
URL_LIFETIME = 7200

Invoker = Callable[[ResourceContext, str, dict[str, Any]], Awaitable[None]]


async def invoke_service_token(ctx: ResourceContext, token: str, request: dict[str, Any]) -> None:
    """Send the request to a Lambda function (asynchronous invoke), as CloudFormation does."""
    try:
        parsed = arns.parse(token)
    except ValueError:
        raise ResourceFailure(f"Invalid service token: {token}") from None
    service = {"lambda": "lambda", "sns": "sns"}.get(parsed.service)
    if service is None:
        raise ResourceFailure(f"Invalid service token: {token} is neither a Lambda function nor an SNS topic ARN")
    if service == "sns":
        params: dict[str, Any] = {"TopicArn": token, "Message": json.dumps(request)}
        operation = "Publish"
    else:
        params = {"FunctionName": token, "InvocationType": "Event", "Payload": json.dumps(request).encode()}
        operation = "Invoke"
    try:
        await ctx.backend.call(ctx.principal, service, operation, params, ctx.region)
    except ServiceError as exc:
        if exc.code in ("NotImplemented", "UnknownOperationException"):
            name = "Lambda" if service == "lambda" else "SNS"
            raise ResourceFailure(
                f"Custom resource {ctx.logical_id} cannot run: its ServiceToken {token} is a {name} "
                f"{'function' if service == 'lambda' else 'topic'}, and this Seedbed has no {name} service yet "
                f"({service}:{operation} is not implemented)."
            ) from None
        raise ResourceFailure(f"Failed to invoke the custom resource {token}: {exc.code}: {exc.message}") from None


class ResponseChannel:
    """Where custom resources answer: a bucket, presigned PUT URLs, and polling for objects."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._ready: set[str] = set()
        self._lock = threading.Lock()
        self._client: Any = None
        self.poll_interval = 0.05
        self.max_poll_interval = 1.0

    def admin(self) -> Principal:
        cred = self.backend.credentials.resolve(self.backend.admin_key.access_key_id)
        assert cred is not None
        return cred.principal

    def bucket(self, region: str) -> str:
        return f"seedbed-cfn-responses-{self.backend.admin_key.account_id}-{region}"[:63]

    async def ensure_bucket(self, region: str) -> str:
        name = self.bucket(region)
        if name in self._ready:
            return name
        params: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            await self.backend.call(self.admin(), "s3", "CreateBucket", params, region)
        except ServiceError as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise ResourceFailure(f"Cannot prepare the custom resource response bucket: {exc.message}") from None
        self._ready.add(name)
        return name

    def presign(self, bucket: str, key: str, region: str) -> str:
        with self._lock:
            if self._client is None:
                import botocore.session
                from botocore.config import Config

                session = botocore.session.get_session()
                self._client = session.create_client(
                    "s3", region_name=region, endpoint_url=self.backend.settings.endpoint_url,
                    aws_access_key_id=self.backend.admin_key.access_key_id,
                    aws_secret_access_key=self.backend.admin_key.secret_access_key,
                    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
                )
        return self._client.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=URL_LIFETIME
        )

    async def wait(self, bucket: str, key: str, region: str, timeout: float) -> bytes | None:
        """The response body, or None once ``timeout`` seconds pass without one."""
        from seedbed.cloudformation.engine import read_body

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = self.poll_interval
        admin = self.admin()
        while True:
            try:
                out = await self.backend.call(admin, "s3", "GetObject", {"Bucket": bucket, "Key": key}, region)
            except ServiceError as exc:
                if exc.code != "NoSuchKey":
                    raise ResourceFailure(f"Cannot read the custom resource response: {exc.message}") from None
            else:
                body = await read_body(out.get("Body"))
                try:
                    await self.backend.call(admin, "s3", "DeleteObject", {"Bucket": bucket, "Key": key}, region)
                except ServiceError:
                    pass
                return body
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 1.5, self.max_poll_interval)


def stringify(value: Any) -> Any:
    """CloudFormation hands custom resources every scalar property as a string."""
    if isinstance(value, dict):
        return {k: stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stringify(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


async def run_request(
    ctx: ResourceContext,
    request_type: str,
    props: dict[str, Any],
    physical_id: str | None = None,
    old_props: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Send one request and wait for its response; returns the parsed response document."""
    engine = ctx.engine
    channel: ResponseChannel = engine.responses
    token = props.get("ServiceToken")
    if not isinstance(token, str) or not token:
        raise ResourceFailure("ServiceToken is required for custom resources")
    request_id = ids.request_id()
    bucket = await channel.ensure_bucket(ctx.region)
    key = f"{arns.parse(ctx.stack_id).resource_id.replace('/', '|')}|{ctx.logical_id}|{request_id}"
    request: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": token,
        "ResponseURL": channel.presign(bucket, key, ctx.region),
        "StackId": ctx.stack_id,
        "RequestId": request_id,
        "LogicalResourceId": ctx.logical_id,
        "ResourceType": ctx.type_name,
        "ResourceProperties": stringify(props),
    }
    if physical_id is not None:
        request["PhysicalResourceId"] = physical_id
    if old_props is not None:
        request["OldResourceProperties"] = stringify(old_props)
    timeout = engine.custom_timeout
    if timeout is None:
        try:
            timeout = float(props.get("ServiceTimeout") or DEFAULT_TIMEOUT)
        except (TypeError, ValueError):
            timeout = DEFAULT_TIMEOUT
    await engine.invoker(ctx, token, request)
    body = await channel.wait(bucket, key, ctx.region, timeout)
    if body is None:
        raise ResourceFailure(
            "CloudFormation did not receive a response from your Custom Resource. Please check your logs "
            f"for requestId [{request_id}]. If you are using the Python cfn-response module, you may need "
            "to update your Lambda function code so that CloudFormation can attach the updated version."
        )
    try:
        response = json.loads(body)
        if not isinstance(response, dict):
            raise ValueError
    except ValueError:
        raise ResourceFailure(f"Invalid response object: the response for requestId [{request_id}] is not JSON") from None
    status = response.get("Status")
    if status not in ("SUCCESS", "FAILED"):
        raise ResourceFailure("Invalid response object: Status must be SUCCESS or FAILED")
    if response.get("RequestId") not in (None, request_id) or response.get("StackId") not in (None, ctx.stack_id):
        raise ResourceFailure("Invalid response object: RequestId or StackId does not match the request")
    if status == "FAILED":
        reason = response.get("Reason") or "See the details in CloudWatch Log Stream"
        raise ResourceFailure(f"Received response status [FAILED] from custom resource. Message returned: {reason}")
    data = response.get("Data") or {}
    if not isinstance(data, dict):
        raise ResourceFailure("Invalid response object: Data must be an object")
    response["Data"] = data
    return response


@resource_type
class CustomResource(ResourceType):
    """``AWS::CloudFormation::CustomResource`` and every ``Custom::*`` type."""

    type_name = "AWS::CloudFormation::CustomResource"

    def any_attribute(self) -> bool:
        return True

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        response = await run_request(ctx, "Create", props)
        physical = response.get("PhysicalResourceId")
        if not physical:
            raise ResourceFailure("Invalid PhysicalResourceId: the custom resource response must carry one")
        return Provisioned(str(physical), dict(response["Data"]))

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        response = await run_request(ctx, "Update", new, physical_id, old)
        out = dict(response["Data"])
        physical = response.get("PhysicalResourceId")
        if physical and physical != physical_id:
            out["__PhysicalResourceId"] = str(physical)
        return out

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await run_request(ctx, "Delete", props, physical_id)
