"""CloudFormation resource types of hosting: ``AWS::SageMaker::Model``, ``AWS::SageMaker::EndpointConfig``
and ``AWS::SageMaker::Endpoint``.

As their schemas say, the physical id (and ``Ref``) is the resource's ARN; ``Fn::GetAtt`` also gives
the name (``ModelName``, ``EndpointConfigName``, ``EndpointName``), which is what deploy templates
pass from one to the next. Creating an endpoint waits until it is InService (a Failed endpoint fails
the resource with its FailureReason); changing its EndpointConfigName runs ``UpdateEndpoint`` and
waits again.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from seedbed.cloudformation.errors import ResourceFailure
from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

GONE = ("ValidationException", "ResourceNotFound")
WAIT_SECONDS = 1800
POLL_SECONDS = 0.5


def _name(ctx: ResourceContext, given: Any) -> str:
    if given:
        return str(given)
    return ctx.physical_name(63).replace("_", "-")


def _tags(props: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in props.get("Tags") or []]


def _container(container: dict[str, Any]) -> dict[str, Any]:
    out = dict(container)
    if isinstance(out.get("Environment"), dict):
        out["Environment"] = {str(k): str(v) for k, v in out["Environment"].items()}
    return out


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


async def _retag(ctx: ResourceContext, arn: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    if old.get("Tags") == new.get("Tags"):
        return
    keep = {t["Key"] for t in new.get("Tags") or []}
    gone = [t["Key"] for t in old.get("Tags") or [] if t["Key"] not in keep]
    if gone:
        await ctx.call("sagemaker", "DeleteTags", {"ResourceArn": arn, "TagKeys": gone})
    if new.get("Tags"):
        await ctx.call("sagemaker", "AddTags", {"ResourceArn": arn, "Tags": _tags(new)})


@resource_type
class Model(ResourceType):
    type_name = "AWS::SageMaker::Model"
    service = "sagemaker"
    updatable: ClassVar[set[str] | None] = {"Tags"}

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = _name(ctx, props.get("ModelName"))
        params: dict[str, Any] = {"ModelName": name}
        if props.get("PrimaryContainer"):
            params["PrimaryContainer"] = _container(props["PrimaryContainer"])
        if props.get("Containers"):
            params["Containers"] = [_container(c) for c in props["Containers"]]
        for key in ("ExecutionRoleArn", "VpcConfig", "InferenceExecutionConfig"):
            if props.get(key):
                params[key] = props[key]
        if props.get("EnableNetworkIsolation") is not None:
            params["EnableNetworkIsolation"] = _bool(props["EnableNetworkIsolation"])
        if props.get("Tags"):
            params["Tags"] = _tags(props)
        out = await ctx.call("sagemaker", "CreateModel", params)
        return Provisioned(out["ModelArn"], {"ModelName": name, "ModelArn": out["ModelArn"]})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any],
                     attributes: dict[str, Any]) -> dict[str, Any]:
        await _retag(ctx, physical_id, old, new)
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any],
                     attributes: dict[str, Any]) -> None:
        name = attributes.get("ModelName") or props.get("ModelName") or physical_id.rsplit("/", 1)[-1]
        await ctx.call_quiet("sagemaker", "DeleteModel", {"ModelName": name}, GONE)


def _variant(v: dict[str, Any]) -> dict[str, Any]:
    out = dict(v)
    if out.get("InitialInstanceCount") is not None:
        out["InitialInstanceCount"] = int(out["InitialInstanceCount"])
    if out.get("InitialVariantWeight") is not None:
        out["InitialVariantWeight"] = float(out["InitialVariantWeight"])
    serverless = out.get("ServerlessConfig")
    if serverless:
        out["ServerlessConfig"] = {k: int(val) for k, val in serverless.items()}
    return out


@resource_type
class EndpointConfig(ResourceType):
    type_name = "AWS::SageMaker::EndpointConfig"
    service = "sagemaker"
    updatable: ClassVar[set[str] | None] = {"Tags"}

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = _name(ctx, props.get("EndpointConfigName"))
        params: dict[str, Any] = {"EndpointConfigName": name,
                                  "ProductionVariants": [_variant(v) for v in props["ProductionVariants"]]}
        capture = props.get("DataCaptureConfig")
        if capture:
            capture = dict(capture)
            capture["InitialSamplingPercentage"] = int(capture.get("InitialSamplingPercentage", 0))
            if "EnableCapture" in capture:
                capture["EnableCapture"] = _bool(capture["EnableCapture"])
            params["DataCaptureConfig"] = capture
        for key in ("KmsKeyId", "AsyncInferenceConfig", "ExplainerConfig", "ShadowProductionVariants",
                    "ExecutionRoleArn", "VpcConfig"):
            if props.get(key):
                params[key] = props[key]
        if props.get("EnableNetworkIsolation") is not None:
            params["EnableNetworkIsolation"] = _bool(props["EnableNetworkIsolation"])
        if props.get("Tags"):
            params["Tags"] = _tags(props)
        out = await ctx.call("sagemaker", "CreateEndpointConfig", params)
        return Provisioned(out["EndpointConfigArn"], {"EndpointConfigName": name,
                                                      "EndpointConfigArn": out["EndpointConfigArn"]})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any],
                     attributes: dict[str, Any]) -> dict[str, Any]:
        await _retag(ctx, physical_id, old, new)
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any],
                     attributes: dict[str, Any]) -> None:
        name = attributes.get("EndpointConfigName") or props.get("EndpointConfigName") or physical_id.rsplit("/", 1)[-1]
        await ctx.call_quiet("sagemaker", "DeleteEndpointConfig", {"EndpointConfigName": name}, GONE)


async def _wait_in_service(ctx: ResourceContext, name: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while True:
        out = await ctx.call("sagemaker", "DescribeEndpoint", {"EndpointName": name})
        status = out["EndpointStatus"]
        if status == "InService":
            if out.get("FailureReason"):  # an update that did not go through
                raise ResourceFailure(f"Endpoint {name} update failed: {out['FailureReason']}")
            return out
        if status in ("Failed", "OutOfService", "UpdateRollbackFailed"):
            raise ResourceFailure(f"Endpoint {name} is {status}: {out.get('FailureReason', 'no reason given')}")
        if loop.time() > deadline:
            raise ResourceFailure(f"Endpoint {name} did not reach InService in {WAIT_SECONDS} s (status {status}).")
        await asyncio.sleep(POLL_SECONDS)


@resource_type
class Endpoint(ResourceType):
    type_name = "AWS::SageMaker::Endpoint"
    service = "sagemaker"

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = _name(ctx, props.get("EndpointName"))
        params: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": str(props["EndpointConfigName"])}
        if props.get("DeploymentConfig"):
            params["DeploymentConfig"] = props["DeploymentConfig"]
        if props.get("Tags"):
            params["Tags"] = _tags(props)
        out = await ctx.call("sagemaker", "CreateEndpoint", params)
        await _wait_in_service(ctx, name)
        return Provisioned(out["EndpointArn"], {"EndpointName": name, "EndpointArn": out["EndpointArn"]})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any],
                     attributes: dict[str, Any]) -> dict[str, Any]:
        name = attributes.get("EndpointName") or physical_id.rsplit("/", 1)[-1]
        changed = any(old.get(k) != new.get(k) for k in ("EndpointConfigName", "DeploymentConfig",
                                                          "RetainAllVariantProperties",
                                                          "ExcludeRetainedVariantProperties"))
        if changed:
            params: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": str(new["EndpointConfigName"])}
            for key in ("DeploymentConfig", "ExcludeRetainedVariantProperties"):
                if new.get(key):
                    params[key] = new[key]
            for key in ("RetainAllVariantProperties", "RetainDeploymentConfig"):
                if new.get(key) is not None:
                    params[key] = _bool(new[key])
            await ctx.call("sagemaker", "UpdateEndpoint", params)
            await _wait_in_service(ctx, name)
        await _retag(ctx, physical_id, old, new)
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any],
                     attributes: dict[str, Any]) -> None:
        name = attributes.get("EndpointName") or props.get("EndpointName") or physical_id.rsplit("/", 1)[-1]
        await ctx.call_quiet("sagemaker", "DeleteEndpoint", {"EndpointName": name}, GONE)
