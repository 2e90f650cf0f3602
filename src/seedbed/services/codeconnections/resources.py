"""CloudFormation resource types of CodeConnections: ``AWS::CodeStarConnections::Connection`` and
``AWS::CodeConnections::Connection`` (``AVAILABLE`` at once: Seedbed's git server is the provider)."""

from __future__ import annotations

from typing import Any

from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

GONE = ("ResourceNotFoundException",)


class _Connection(ResourceType):
    service = "codestar-connections"

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        params: dict[str, Any] = {"ConnectionName": props["ConnectionName"]}
        for key in ("ProviderType", "HostArn"):
            if props.get(key):
                params[key] = props[key]
        if props.get("Tags"):
            params["Tags"] = [{"Key": t["Key"], "Value": str(t["Value"])} for t in props["Tags"]]
        arn = (await ctx.call(self.service, "CreateConnection", params))["ConnectionArn"]
        got = (await ctx.call(self.service, "GetConnection", {"ConnectionArn": arn}))["Connection"]
        return Provisioned(arn, {"ConnectionArn": arn, "ConnectionStatus": got["ConnectionStatus"],
                                 "OwnerAccountId": got["OwnerAccountId"]})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any],
                     attributes: dict[str, Any]) -> dict[str, Any]:
        before = {t["Key"]: t["Value"] for t in old.get("Tags") or []}
        after = {t["Key"]: str(t["Value"]) for t in new.get("Tags") or []}
        gone = [k for k in before if k not in after]
        if gone:
            await ctx.call(self.service, "UntagResource", {"ResourceArn": physical_id, "TagKeys": gone})
        if after and after != before:
            await ctx.call(self.service, "TagResource", {"ResourceArn": physical_id,
                                                         "Tags": [{"Key": k, "Value": v} for k, v in after.items()]})
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await ctx.call_quiet(self.service, "DeleteConnection", {"ConnectionArn": physical_id}, GONE)


@resource_type
class CodeStarConnection(_Connection):
    type_name = "AWS::CodeStarConnections::Connection"
    service = "codestar-connections"


@resource_type
class CodeConnection(_Connection):
    type_name = "AWS::CodeConnections::Connection"
    service = "codeconnections"
