"""CloudFormation resource type of SSM: ``AWS::SSM::Parameter`` (through the SSM provider)."""

from __future__ import annotations

from typing import Any

from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

GONE = ("ParameterNotFound",)


def _params(name: str, props: dict[str, Any], overwrite: bool) -> dict[str, Any]:
    params: dict[str, Any] = {"Name": name, "Value": str(props["Value"]), "Type": props.get("Type", "String"), "Overwrite": overwrite}
    for key in ("Description", "AllowedPattern", "Tier", "DataType", "Policies"):
        if props.get(key) is not None:
            params[key] = props[key]
    if props.get("Tags") and not overwrite:
        params["Tags"] = [{"Key": k, "Value": str(v)} for k, v in props["Tags"].items()]
    return params


@resource_type
class Parameter(ResourceType):
    type_name = "AWS::SSM::Parameter"
    service = "ssm"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        if props.get("Name"):
            return str(props["Name"])
        return f"CFN-{ctx.logical_id}-{ctx.physical_name(24, tail=12).rsplit('-', 1)[-1]}"

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = self.intended_id(ctx, props)
        assert name is not None
        await ctx.call("ssm", "PutParameter", _params(name, props, overwrite=False))
        return Provisioned(name, {"Type": props.get("Type", "String"), "Value": str(props["Value"])})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        await ctx.call("ssm", "PutParameter", _params(physical_id, new, overwrite=True))
        if old.get("Tags") != new.get("Tags"):
            gone = [k for k in (old.get("Tags") or {}) if k not in (new.get("Tags") or {})]
            if gone:
                await ctx.call("ssm", "RemoveTagsFromResource", {"ResourceType": "Parameter", "ResourceId": physical_id, "TagKeys": gone})
            if new.get("Tags"):
                await ctx.call("ssm", "AddTagsToResource", {"ResourceType": "Parameter", "ResourceId": physical_id,
                                                            "Tags": [{"Key": k, "Value": str(v)} for k, v in new["Tags"].items()]})
        return {"Type": new.get("Type", "String"), "Value": str(new["Value"])}

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await ctx.call_quiet("ssm", "DeleteParameter", {"Name": physical_id}, GONE)
