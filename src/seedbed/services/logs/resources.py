"""CloudFormation resource types of CloudWatch Logs: ``AWS::Logs::LogGroup`` (Ref: the name,
GetAtt Arn: ``arn:aws:logs:...:log-group:NAME:*``) and ``AWS::Logs::LogStream`` (Ref: the stream
name), through the Logs provider."""

from __future__ import annotations

from typing import Any

from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

GONE = ("ResourceNotFoundException",)


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _tags(props: dict[str, Any]) -> dict[str, str]:
    return {str(t["Key"]): str(t["Value"]) for t in props.get("Tags") or []}


def _arn(ctx: ResourceContext, name: str) -> str:
    return f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{name}"


@resource_type
class LogGroup(ResourceType):
    type_name = "AWS::Logs::LogGroup"
    service = "logs"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return str(props["LogGroupName"]) if props.get("LogGroupName") else ctx.physical_name(512)

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = self.intended_id(ctx, props)
        assert name is not None
        params: dict[str, Any] = {"logGroupName": name}
        if props.get("KmsKeyId"):
            params["kmsKeyId"] = str(props["KmsKeyId"])
        if props.get("LogGroupClass"):
            params["logGroupClass"] = str(props["LogGroupClass"])
        if props.get("DeletionProtectionEnabled") is not None:
            params["deletionProtectionEnabled"] = _bool(props["DeletionProtectionEnabled"])
        if props.get("Tags"):
            params["tags"] = _tags(props)
        await ctx.call("logs", "CreateLogGroup", params)
        if props.get("RetentionInDays") is not None:
            await ctx.call("logs", "PutRetentionPolicy", {
                "logGroupName": name, "retentionInDays": int(props["RetentionInDays"])})
        return Provisioned(name, {"Arn": _arn(ctx, name) + ":*"})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any],
                     new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        if old.get("RetentionInDays") != new.get("RetentionInDays"):
            if new.get("RetentionInDays") is not None:
                await ctx.call("logs", "PutRetentionPolicy", {
                    "logGroupName": physical_id, "retentionInDays": int(new["RetentionInDays"])})
            else:
                await ctx.call("logs", "DeleteRetentionPolicy", {"logGroupName": physical_id})
        if old.get("DeletionProtectionEnabled") != new.get("DeletionProtectionEnabled"):
            await ctx.call("logs", "PutLogGroupDeletionProtection", {
                "logGroupIdentifier": physical_id,
                "deletionProtectionEnabled": _bool(new.get("DeletionProtectionEnabled", False))})
        old_tags, new_tags = _tags(old), _tags(new)
        if old_tags != new_tags:
            gone = [k for k in old_tags if k not in new_tags]
            if gone:
                await ctx.call("logs", "UntagResource", {"resourceArn": _arn(ctx, physical_id),
                                                         "tagKeys": gone})
            if new_tags:
                await ctx.call("logs", "TagResource", {"resourceArn": _arn(ctx, physical_id),
                                                       "tags": new_tags})
        return {"Arn": _arn(ctx, physical_id) + ":*"}

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any],
                     attributes: dict[str, Any]) -> None:
        await ctx.call_quiet("logs", "DeleteLogGroup", {"logGroupName": physical_id}, GONE)


@resource_type
class LogStream(ResourceType):
    type_name = "AWS::Logs::LogStream"
    service = "logs"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return str(props["LogStreamName"]) if props.get("LogStreamName") else ctx.physical_name(512)

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = self.intended_id(ctx, props)
        assert name is not None
        await ctx.call("logs", "CreateLogStream", {"logGroupName": str(props["LogGroupName"]),
                                                   "logStreamName": name})
        return Provisioned(name, {})

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any],
                     attributes: dict[str, Any]) -> None:
        await ctx.call_quiet("logs", "DeleteLogStream", {"logGroupName": str(props["LogGroupName"]),
                                                         "logStreamName": physical_id}, GONE)
