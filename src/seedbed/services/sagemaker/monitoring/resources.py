"""CloudFormation resource types of model monitoring: ``AWS::SageMaker::DataQualityJobDefinition``,
``AWS::SageMaker::ModelQualityJobDefinition``, ``AWS::SageMaker::ModelBiasJobDefinition``,
``AWS::SageMaker::ModelExplainabilityJobDefinition`` and ``AWS::SageMaker::MonitoringSchedule``.

As their schemas say, ``Ref`` and the physical id are the ARN (``JobDefinitionArn``,
``MonitoringScheduleArn``); ``GetAtt`` gives ``JobDefinitionArn`` and ``CreationTime`` of a job
definition, and ``MonitoringScheduleArn``, ``CreationTime`` and ``LastModifiedTime`` of a
schedule. Every job definition property is create-only (a change replaces it); a schedule's
``MonitoringScheduleConfig``, ``EndpointName`` and ``Tags`` update in place. A schedule that ends
``Failed`` (its endpoint missing, say) fails the resource with the schedule's FailureReason.

Template values given as strings where the API wants numbers or booleans (parameters) are
converted by the API's shapes before the call.
"""

from __future__ import annotations

from typing import Any

from seedbed.cloudformation.errors import ResourceFailure
from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

GONE = ("ResourceNotFound", "ValidationException")


def _shape(operation: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker").operation_model(operation).input_shape


def conform(value: Any, shape: Any) -> Any:
    """``value`` with strings turned into the numbers and booleans ``shape`` wants, and members
    the shape does not know dropped (CloudFormation-only properties)."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: conform(v, shape.members[k]) for k, v in value.items() if k in shape.members}
    if kind == "list" and isinstance(value, list):
        return [conform(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {str(k): conform(v, shape.value) for k, v in value.items()}
    if isinstance(value, str):
        if kind in ("integer", "long"):
            return int(value)
        if kind in ("double", "float"):
            return float(value)
        if kind == "boolean":
            return value.lower() == "true"
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _tags(props: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": t["Key"], "Value": str(t["Value"])} for t in props.get("Tags") or []]


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def _retag(ctx: ResourceContext, arn: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    before = {t["Key"]: str(t["Value"]) for t in old.get("Tags") or []}
    after = {t["Key"]: str(t["Value"]) for t in new.get("Tags") or []}
    gone = [k for k in before if k not in after]
    if gone:
        await ctx.call("sagemaker", "DeleteTags", {"ResourceArn": arn, "TagKeys": gone})
    if after and after != before:
        await ctx.call("sagemaker", "AddTags", {"ResourceArn": arn, "Tags": [{"Key": k, "Value": v} for k, v in after.items()]})


class _JobDefinition(ResourceType):
    service = "sagemaker"
    prefix: str = ""

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        operation = f"Create{self.prefix}JobDefinition"
        name = props.get("JobDefinitionName") or ctx.physical_name(63).replace("_", "-")
        params = conform({k: v for k, v in props.items() if k not in ("Tags", "EndpointName", "JobDefinitionName")},
                         _shape(operation))
        params["JobDefinitionName"] = name
        if props.get("Tags"):
            params["Tags"] = _tags(props)
        arn = (await ctx.call("sagemaker", operation, params))["JobDefinitionArn"]
        described = await ctx.call("sagemaker", f"Describe{self.prefix}JobDefinition", {"JobDefinitionName": name})
        return Provisioned(arn, {"JobDefinitionArn": arn, "JobDefinitionName": name,
                                 "CreationTime": _iso(described.get("CreationTime"))})

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        name = attributes.get("JobDefinitionName") or physical_id.rsplit("/", 1)[-1]
        await ctx.call_quiet("sagemaker", f"Delete{self.prefix}JobDefinition", {"JobDefinitionName": name}, GONE)


@resource_type
class DataQualityJobDefinition(_JobDefinition):
    type_name = "AWS::SageMaker::DataQualityJobDefinition"
    prefix = "DataQuality"


@resource_type
class ModelQualityJobDefinition(_JobDefinition):
    type_name = "AWS::SageMaker::ModelQualityJobDefinition"
    prefix = "ModelQuality"


@resource_type
class ModelBiasJobDefinition(_JobDefinition):
    type_name = "AWS::SageMaker::ModelBiasJobDefinition"
    prefix = "ModelBias"


@resource_type
class ModelExplainabilityJobDefinition(_JobDefinition):
    type_name = "AWS::SageMaker::ModelExplainabilityJobDefinition"
    prefix = "ModelExplainability"


@resource_type
class MonitoringSchedule(ResourceType):
    type_name = "AWS::SageMaker::MonitoringSchedule"
    service = "sagemaker"

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = props["MonitoringScheduleName"]
        params: dict[str, Any] = {
            "MonitoringScheduleName": name,
            "MonitoringScheduleConfig": conform(props["MonitoringScheduleConfig"], _shape("CreateMonitoringSchedule").members["MonitoringScheduleConfig"]),
        }
        if props.get("Tags"):
            params["Tags"] = _tags(props)
        arn = (await ctx.call("sagemaker", "CreateMonitoringSchedule", params))["MonitoringScheduleArn"]
        return Provisioned(arn, await self._attributes(ctx, name))

    async def _attributes(self, ctx: ResourceContext, name: str) -> dict[str, Any]:
        """The attributes once the schedule settled; a Failed schedule fails the resource (as the
        resource handler does, which waits for Scheduled)."""
        described = await ctx.call("sagemaker", "DescribeMonitoringSchedule", {"MonitoringScheduleName": name})
        if described["MonitoringScheduleStatus"] == "Failed":
            raise ResourceFailure(f"Monitoring schedule {name} failed: {described.get('FailureReason', '')}")
        return {"MonitoringScheduleArn": described["MonitoringScheduleArn"], "MonitoringScheduleName": name,
                "CreationTime": _iso(described["CreationTime"]), "LastModifiedTime": _iso(described["LastModifiedTime"])}

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any],
                     attributes: dict[str, Any]) -> dict[str, Any]:
        name = attributes.get("MonitoringScheduleName") or new["MonitoringScheduleName"]
        if old.get("MonitoringScheduleConfig") != new.get("MonitoringScheduleConfig"):
            config = conform(new["MonitoringScheduleConfig"], _shape("UpdateMonitoringSchedule").members["MonitoringScheduleConfig"])
            await ctx.call("sagemaker", "UpdateMonitoringSchedule", {"MonitoringScheduleName": name, "MonitoringScheduleConfig": config})
        await _retag(ctx, physical_id, old, new)
        return await self._attributes(ctx, name)

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        name = attributes.get("MonitoringScheduleName") or props.get("MonitoringScheduleName")
        if name:
            await ctx.call_quiet("sagemaker", "DeleteMonitoringSchedule", {"MonitoringScheduleName": name}, ("ResourceNotFound",))
