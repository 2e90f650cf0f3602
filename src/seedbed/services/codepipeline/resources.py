"""CloudFormation resource types of CodePipeline: ``AWS::CodePipeline::Pipeline`` (through the
CodePipeline provider; Ref is the name, ``Fn::GetAtt Version`` its version) and
``AWS::CodePipeline::Webhook`` (recorded only: Seedbed's git hosting starts pipelines on push
itself, so a webhook has nothing to do; ``Fn::GetAtt Url`` answers a local URL)."""

from __future__ import annotations

from typing import Any

from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type
from seedbed.services.codebuild.resources import camel

GONE = ("PipelineNotFoundException",)


def _config_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value)
    return str(value)


def declaration(name: str, props: dict[str, Any]) -> dict[str, Any]:
    decl: dict[str, Any] = {"name": name, "roleArn": props["RoleArn"], "stages": []}
    if props.get("ArtifactStore"):
        decl["artifactStore"] = camel(props["ArtifactStore"])
    if props.get("ArtifactStores"):
        decl["artifactStores"] = {s["Region"]: camel(s["ArtifactStore"]) for s in props["ArtifactStores"]}
    for stage in props.get("Stages") or []:
        actions = []
        for action in stage.get("Actions") or []:
            item = camel({k: v for k, v in action.items() if k != "Configuration"})
            item["configuration"] = {k: _config_value(v) for k, v in (action.get("Configuration") or {}).items()}
            if "runOrder" in item:
                item["runOrder"] = int(item["runOrder"])
            actions.append(item)
        entry: dict[str, Any] = {"name": stage["Name"], "actions": actions}
        if stage.get("Blockers"):
            entry["blockers"] = camel(stage["Blockers"])
        decl["stages"].append(entry)
    for key in ("PipelineType", "ExecutionMode"):
        if props.get(key):
            decl[key[:1].lower() + key[1:]] = props[key]
    if props.get("Variables"):
        decl["variables"] = camel(props["Variables"])
    if props.get("Triggers"):
        decl["triggers"] = camel(props["Triggers"])
    return decl


@resource_type
class Pipeline(ResourceType):
    type_name = "AWS::CodePipeline::Pipeline"
    service = "codepipeline"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return str(props["Name"]) if props.get("Name") else ctx.physical_name(100)

    async def _transitions(self, ctx: ResourceContext, name: str, props: dict[str, Any]) -> None:
        for item in props.get("DisableInboundStageTransitions") or []:
            await ctx.call("codepipeline", "DisableStageTransition", {
                "pipelineName": name, "stageName": item["StageName"], "transitionType": "Inbound",
                "reason": item["Reason"]})

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = self.intended_id(ctx, props)
        assert name is not None
        params: dict[str, Any] = {"pipeline": declaration(name, props)}
        if props.get("Tags"):
            params["tags"] = [{"key": t["Key"], "value": str(t["Value"])} for t in props["Tags"]]
        out = await ctx.call("codepipeline", "CreatePipeline", params)
        await self._transitions(ctx, name, props)
        arn = f"arn:aws:codepipeline:{ctx.region}:{ctx.account_id}:{name}"
        return Provisioned(name, {"Version": str(out["pipeline"].get("version", 1)), "Arn": arn})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any],
                     attributes: dict[str, Any]) -> dict[str, Any]:
        out = await ctx.call("codepipeline", "UpdatePipeline", {"pipeline": declaration(physical_id, new)})
        for item in old.get("DisableInboundStageTransitions") or []:
            await ctx.call_quiet("codepipeline", "EnableStageTransition", {
                "pipelineName": physical_id, "stageName": item["StageName"], "transitionType": "Inbound"},
                ("StageNotFoundException",))
        await self._transitions(ctx, physical_id, new)
        if str(new.get("RestartExecutionOnUpdate", "false")).lower() == "true":
            await ctx.call("codepipeline", "StartPipelineExecution", {"name": physical_id})
        return {**attributes, "Version": str(out["pipeline"].get("version", 1))}

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await ctx.call_quiet("codepipeline", "DeletePipeline", {"name": physical_id}, GONE)


@resource_type
class Webhook(ResourceType):
    type_name = "AWS::CodePipeline::Webhook"
    service = "codepipeline"

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = str(props.get("Name") or ctx.physical_name(100))
        url = f"{ctx.backend.settings.endpoint_url}/_seedbed/codepipeline/webhooks/{ctx.region}/{name}"
        return Provisioned(name, {"Url": url, "Id": name})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any],
                     attributes: dict[str, Any]) -> dict[str, Any]:
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        return None
