"""CloudFormation resource type of CloudWatch: ``AWS::CloudWatch::Alarm`` (Ref: the alarm name,
GetAtt Arn), through the CloudWatch provider's PutMetricAlarm."""

from __future__ import annotations

from typing import Any

from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

GONE = ("ResourceNotFound",)
INTS = ("Period", "EvaluationPeriods", "DatapointsToAlarm")
PASS = ("AlarmDescription", "OKActions", "AlarmActions", "InsufficientDataActions", "MetricName",
        "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Unit",
        "ComparisonOperator", "TreatMissingData", "EvaluateLowSampleCountPercentile",
        "ThresholdMetricId", "Tags")


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _metrics(queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for q in queries:
        item = dict(q)
        if "ReturnData" in item:
            item["ReturnData"] = _bool(item["ReturnData"])
        if "Period" in item:
            item["Period"] = int(item["Period"])
        if item.get("MetricStat"):
            item["MetricStat"] = {**item["MetricStat"], "Period": int(item["MetricStat"]["Period"])}
        out.append(item)
    return out


def _params(name: str, props: dict[str, Any], new: bool) -> dict[str, Any]:
    params: dict[str, Any] = {"AlarmName": name}
    for key in PASS:
        if props.get(key) is not None and (key != "Tags" or new):
            params[key] = props[key]
    for key in INTS:
        if props.get(key) is not None:
            params[key] = int(props[key])
    if props.get("Threshold") is not None:
        params["Threshold"] = float(props["Threshold"])
    if props.get("ActionsEnabled") is not None:
        params["ActionsEnabled"] = _bool(props["ActionsEnabled"])
    if props.get("Metrics"):
        params["Metrics"] = _metrics(props["Metrics"])
    return params


@resource_type
class Alarm(ResourceType):
    type_name = "AWS::CloudWatch::Alarm"
    service = "cloudwatch"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return str(props["AlarmName"]) if props.get("AlarmName") else ctx.physical_name(255)

    def _arn(self, ctx: ResourceContext, name: str) -> str:
        return f"arn:aws:cloudwatch:{ctx.region}:{ctx.account_id}:alarm:{name}"

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = self.intended_id(ctx, props)
        assert name is not None
        await ctx.call("cloudwatch", "PutMetricAlarm", _params(name, props, new=True))
        return Provisioned(name, {"Arn": self._arn(ctx, name)})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any],
                     new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        await ctx.call("cloudwatch", "PutMetricAlarm", _params(physical_id, new, new=False))
        old_tags = {t["Key"]: t["Value"] for t in old.get("Tags") or []}
        new_tags = {t["Key"]: t["Value"] for t in new.get("Tags") or []}
        if old_tags != new_tags:
            arn = self._arn(ctx, physical_id)
            gone = [k for k in old_tags if k not in new_tags]
            if gone:
                await ctx.call("cloudwatch", "UntagResource", {"ResourceARN": arn, "TagKeys": gone})
            if new_tags:
                await ctx.call("cloudwatch", "TagResource", {"ResourceARN": arn, "Tags": [
                    {"Key": str(k), "Value": str(v)} for k, v in new_tags.items()]})
        return {"Arn": self._arn(ctx, physical_id)}

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any],
                     attributes: dict[str, Any]) -> None:
        await ctx.call_quiet("cloudwatch", "DeleteAlarms", {"AlarmNames": [physical_id]}, GONE)
