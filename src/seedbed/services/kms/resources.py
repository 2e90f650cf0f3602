"""CloudFormation resource types of KMS: ``AWS::KMS::Key`` and ``AWS::KMS::Alias``.

A key's id is chosen by KMS, so a crash between CreateKey and the journal's record could lose
track of it; the key is tagged with the stack and logical id so an operator can find it.
"""

from __future__ import annotations

import json
from typing import Any

from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

GONE = ("NotFoundException",)


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    return value if isinstance(value, bool) else str(value).lower() == "true"


@resource_type
class Key(ResourceType):
    type_name = "AWS::KMS::Key"
    service = "kms"

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        params: dict[str, Any] = {}
        if props.get("KeyPolicy") is not None:
            policy = props["KeyPolicy"]
            params["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
        for key in ("Description", "KeyUsage", "KeySpec", "MultiRegion", "Origin"):
            if props.get(key) is not None:
                params[key] = props[key]
        tags = [{"TagKey": str(t["Key"]), "TagValue": str(t["Value"])} for t in props.get("Tags") or []]
        tags += [{"TagKey": "aws:cloudformation:stack-id", "TagValue": ctx.stack_id},
                 {"TagKey": "aws:cloudformation:logical-id", "TagValue": ctx.logical_id}]
        params["Tags"] = tags
        out = await ctx.call("kms", "CreateKey", params)
        meta = out["KeyMetadata"]
        key_id = meta["KeyId"]
        if _bool(props.get("EnableKeyRotation"), False):
            await ctx.call("kms", "EnableKeyRotation", {"KeyId": key_id})
        if not _bool(props.get("Enabled"), True):
            await ctx.call("kms", "DisableKey", {"KeyId": key_id})
        return Provisioned(key_id, {"KeyId": key_id, "Arn": meta["Arn"]})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        if old.get("Description") != new.get("Description"):
            await ctx.call("kms", "UpdateKeyDescription", {"KeyId": physical_id, "Description": new.get("Description") or ""})
        if old.get("KeyPolicy") != new.get("KeyPolicy") and new.get("KeyPolicy") is not None:
            policy = new["KeyPolicy"]
            await ctx.call("kms", "PutKeyPolicy", {"KeyId": physical_id, "PolicyName": "default",
                                                   "Policy": policy if isinstance(policy, str) else json.dumps(policy)})
        if _bool(old.get("EnableKeyRotation"), False) != _bool(new.get("EnableKeyRotation"), False):
            op = "EnableKeyRotation" if _bool(new.get("EnableKeyRotation"), False) else "DisableKeyRotation"
            await ctx.call("kms", op, {"KeyId": physical_id})
        if _bool(old.get("Enabled"), True) != _bool(new.get("Enabled"), True):
            await ctx.call("kms", "EnableKey" if _bool(new.get("Enabled"), True) else "DisableKey", {"KeyId": physical_id})
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        days = int(props.get("PendingWindowInDays") or 30)
        await ctx.call_quiet("kms", "ScheduleKeyDeletion", {"KeyId": physical_id, "PendingWindowInDays": days},
                             GONE + ("KMSInvalidStateException",))


@resource_type
class Alias(ResourceType):
    type_name = "AWS::KMS::Alias"
    service = "kms"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return str(props["AliasName"])

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        await ctx.call("kms", "CreateAlias", {"AliasName": props["AliasName"], "TargetKeyId": props["TargetKeyId"]})
        return Provisioned(str(props["AliasName"]), {})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        await ctx.call("kms", "UpdateAlias", {"AliasName": physical_id, "TargetKeyId": new["TargetKeyId"]})
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await ctx.call_quiet("kms", "DeleteAlias", {"AliasName": physical_id}, GONE)
