"""CloudFormation resource type of the model registry: ``AWS::SageMaker::ModelPackageGroup``
(``Ref`` and the physical id are the group's ARN, as its schema's primary identifier says)."""

from __future__ import annotations

import json
from typing import Any

from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

GONE = ("ResourceNotFound", "ValidationException")


def _policy(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _attributes(described: dict[str, Any]) -> dict[str, Any]:
    created = described.get("CreationTime")
    return {
        "ModelPackageGroupArn": described["ModelPackageGroupArn"],
        "CreationTime": created.isoformat() if hasattr(created, "isoformat") else created,
        "ModelPackageGroupStatus": described.get("ModelPackageGroupStatus"),
    }


@resource_type
class ModelPackageGroup(ResourceType):
    type_name = "AWS::SageMaker::ModelPackageGroup"
    service = "sagemaker"

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = props.get("ModelPackageGroupName") or ctx.physical_name(63).replace("_", "-")
        params: dict[str, Any] = {"ModelPackageGroupName": name}
        if props.get("ModelPackageGroupDescription"):
            params["ModelPackageGroupDescription"] = props["ModelPackageGroupDescription"]
        if props.get("Tags"):
            params["Tags"] = [{"Key": t["Key"], "Value": str(t["Value"])} for t in props["Tags"]]
        out = await ctx.call("sagemaker", "CreateModelPackageGroup", params)
        if props.get("ModelPackageGroupPolicy"):
            await ctx.call("sagemaker", "PutModelPackageGroupPolicy",
                           {"ModelPackageGroupName": name, "ResourcePolicy": _policy(props["ModelPackageGroupPolicy"])})
        described = await ctx.call("sagemaker", "DescribeModelPackageGroup", {"ModelPackageGroupName": name})
        return Provisioned(out["ModelPackageGroupArn"], _attributes(described))

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        if old.get("ModelPackageGroupPolicy") != new.get("ModelPackageGroupPolicy"):
            if new.get("ModelPackageGroupPolicy"):
                await ctx.call("sagemaker", "PutModelPackageGroupPolicy",
                               {"ModelPackageGroupName": physical_id, "ResourcePolicy": _policy(new["ModelPackageGroupPolicy"])})
            else:
                await ctx.call_quiet("sagemaker", "DeleteModelPackageGroupPolicy", {"ModelPackageGroupName": physical_id}, GONE)
        if old.get("Tags") != new.get("Tags"):
            gone = [t["Key"] for t in old.get("Tags") or [] if t["Key"] not in {n["Key"] for n in new.get("Tags") or []}]
            if gone:
                await ctx.call("sagemaker", "DeleteTags", {"ResourceArn": physical_id, "TagKeys": gone})
            if new.get("Tags"):
                await ctx.call("sagemaker", "AddTags", {"ResourceArn": physical_id,
                                                        "Tags": [{"Key": t["Key"], "Value": str(t["Value"])} for t in new["Tags"]]})
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await ctx.call_quiet("sagemaker", "DeleteModelPackageGroup", {"ModelPackageGroupName": physical_id}, GONE)
