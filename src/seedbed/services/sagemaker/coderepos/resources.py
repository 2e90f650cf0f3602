"""CloudFormation resource type ``AWS::SageMaker::CodeRepository`` (through the SageMaker
provider). Ref gives the ARN, the schema's primary identifier."""

from __future__ import annotations

from typing import Any

from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

GONE = ("ValidationException", "ResourceNotFound")


@resource_type
class CodeRepository(ResourceType):
    type_name = "AWS::SageMaker::CodeRepository"
    service = "sagemaker"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return None

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = props.get("CodeRepositoryName") or ctx.physical_name(63).replace("_", "-")
        config = {k: props["GitConfig"][k] for k in ("RepositoryUrl", "Branch", "SecretArn") if props["GitConfig"].get(k)}
        params: dict[str, Any] = {"CodeRepositoryName": name, "GitConfig": config}
        if props.get("Tags"):
            params["Tags"] = [{"Key": t["Key"], "Value": str(t["Value"])} for t in props["Tags"]]
        arn = (await ctx.call("sagemaker", "CreateCodeRepository", params))["CodeRepositoryArn"]
        return Provisioned(arn, {"CodeRepositoryArn": arn, "CodeRepositoryName": name})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any],
                     attributes: dict[str, Any]) -> dict[str, Any]:
        name = attributes["CodeRepositoryName"]
        secret = (new.get("GitConfig") or {}).get("SecretArn")
        if secret and secret != (old.get("GitConfig") or {}).get("SecretArn"):
            await ctx.call("sagemaker", "UpdateCodeRepository", {"CodeRepositoryName": name, "GitConfig": {"SecretArn": secret}})
        before = {t["Key"]: t["Value"] for t in old.get("Tags") or []}
        after = {t["Key"]: str(t["Value"]) for t in new.get("Tags") or []}
        gone = [k for k in before if k not in after]
        if gone:
            await ctx.call("sagemaker", "DeleteTags", {"ResourceArn": physical_id, "TagKeys": gone})
        if after and after != before:
            await ctx.call("sagemaker", "AddTags", {"ResourceArn": physical_id,
                                                    "Tags": [{"Key": k, "Value": v} for k, v in after.items()]})
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        name = attributes.get("CodeRepositoryName") or props.get("CodeRepositoryName")
        if name:
            await ctx.call_quiet("sagemaker", "DeleteCodeRepository", {"CodeRepositoryName": name}, GONE)
