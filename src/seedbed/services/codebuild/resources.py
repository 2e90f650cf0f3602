"""CloudFormation resource types of CodeBuild, through the CodeBuild provider:
``AWS::CodeBuild::Project`` (Ref is the project name, ``Fn::GetAtt Arn`` its ARN) and
``AWS::CodeBuild::ReportGroup``."""

from __future__ import annotations

from typing import Any

from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

GONE = ("ResourceNotFoundException",)
#: Template keys whose API name is not the template name with a lower-case first letter.
RENAMES = {"BuildSpec": "buildspec"}
#: Template-only properties (webhooks, visibility) that the project API does not take.
TEMPLATE_ONLY = {"Triggers", "Visibility", "ResourceAccessRole", "AutoRetryLimit"}


def camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {RENAMES.get(k, k[:1].lower() + k[1:]): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def project_params(name: str, props: dict[str, Any]) -> dict[str, Any]:
    params = camel({k: v for k, v in props.items() if k not in TEMPLATE_ONLY and k != "Name"})
    params["name"] = name
    for key in ("timeoutInMinutes", "queuedTimeoutInMinutes", "concurrentBuildLimit"):
        if key in params:
            params[key] = int(params[key])
    for var in (params.get("environment") or {}).get("environmentVariables") or []:
        var["value"] = str(var.get("value", ""))
    return params


@resource_type
class Project(ResourceType):
    type_name = "AWS::CodeBuild::Project"
    service = "codebuild"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return str(props["Name"]) if props.get("Name") else ctx.physical_name(150)

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = self.intended_id(ctx, props)
        assert name is not None
        out = await ctx.call("codebuild", "CreateProject", project_params(name, props))
        return Provisioned(name, {"Arn": out["project"]["arn"], "Id": out["project"]["arn"]})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any],
                     attributes: dict[str, Any]) -> dict[str, Any]:
        params = project_params(physical_id, new)
        params.setdefault("tags", [])
        out = await ctx.call("codebuild", "UpdateProject", params)
        return {"Arn": out["project"]["arn"], "Id": out["project"]["arn"]}

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await ctx.call_quiet("codebuild", "DeleteProject", {"name": physical_id}, GONE)


@resource_type
class ReportGroup(ResourceType):
    """``AWS::CodeBuild::ReportGroup``: Ref and ``Fn::GetAtt Arn`` are its ARN, ``Name`` its name;
    ``DeleteReports`` says whether deleting the stack deletes a group that holds reports."""

    type_name = "AWS::CodeBuild::ReportGroup"
    service = "codebuild"

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = str(props.get("Name") or ctx.physical_name(128))
        params = {"name": name, "type": props["Type"], "exportConfig": camel(props["ExportConfig"]), "tags": camel(props.get("Tags") or [])}
        out = await ctx.call("codebuild", "CreateReportGroup", params)
        arn = out["reportGroup"]["arn"]
        return Provisioned(arn, {"Arn": arn, "Name": name})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any],
                     attributes: dict[str, Any]) -> dict[str, Any]:
        await ctx.call("codebuild", "UpdateReportGroup", {"arn": physical_id, "exportConfig": camel(new["ExportConfig"]),
                                                          "tags": camel(new.get("Tags") or [])})
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        deleting = str(props.get("DeleteReports", False)).lower() == "true"
        await ctx.call_quiet("codebuild", "DeleteReportGroup", {"arn": physical_id, "deleteReports": deleting}, GONE)
