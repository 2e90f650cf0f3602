"""CloudFormation resource type of SageMaker Pipelines: ``AWS::SageMaker::Pipeline`` (``Ref`` is
the pipeline name). ``PipelineDefinition`` is ``PipelineDefinitionBody`` (JSON text) or
``PipelineDefinitionS3Location`` (Bucket, Key, Version)."""

from __future__ import annotations

import json
from typing import Any

from seedbed.cloudformation.errors import ResourceFailure
from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type
from seedbed.state import ids

GONE = ("ResourceNotFound",)


def _definition(props: dict[str, Any]) -> dict[str, Any]:
    spec = props.get("PipelineDefinition") or {}
    if "PipelineDefinitionBody" in spec:
        body = spec["PipelineDefinitionBody"]
        return {"PipelineDefinition": body if isinstance(body, str) else json.dumps(body)}
    location = spec.get("PipelineDefinitionS3Location")
    if location:
        out = {"Bucket": location["Bucket"], "ObjectKey": location["Key"]}
        if location.get("Version"):
            out["VersionId"] = location["Version"]
        return {"PipelineDefinitionS3Location": out}
    raise ResourceFailure("PipelineDefinition needs PipelineDefinitionBody or PipelineDefinitionS3Location.")


def _common(props: dict[str, Any]) -> dict[str, Any]:
    params = {"RoleArn": props["RoleArn"], **_definition(props)}
    for key in ("PipelineDisplayName", "PipelineDescription", "ParallelismConfiguration"):
        if props.get(key) is not None:
            params[key] = props[key]
    return params


@resource_type
class Pipeline(ResourceType):
    type_name = "AWS::SageMaker::Pipeline"
    service = "sagemaker"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return str(props.get("PipelineName") or ctx.physical_name(64).replace("_", "-"))

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = self.intended_id(ctx, props)
        assert name is not None
        params = dict(_common(props), PipelineName=name, ClientRequestToken=(ctx.request_token + "0" * 32)[:128])
        if props.get("Tags"):
            params["Tags"] = [{"Key": t["Key"], "Value": str(t["Value"])} for t in props["Tags"]]
        out = await ctx.call("sagemaker", "CreatePipeline", params)
        return Provisioned(name, {"PipelineArn": out["PipelineArn"]})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        await ctx.call("sagemaker", "UpdatePipeline", dict(_common(new), PipelineName=physical_id))
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await ctx.call_quiet("sagemaker", "DeletePipeline", {"PipelineName": physical_id, "ClientRequestToken": ids.hex_id(32)}, GONE)
