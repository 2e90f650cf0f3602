"""CloudFormation resource types of EventBridge, through the events provider:
``AWS::Events::Rule`` (targets inline) and ``AWS::Events::EventBus``.

A rule's ``Ref`` is its name (``bus-name|rule-name`` for a rule on a custom bus), as
CloudFormation returns it; ``Fn::GetAtt Rule.Arn`` its ARN. A bus's ``Ref`` is its name;
``Arn``, ``Name`` and ``Policy`` are attributes.
"""

from __future__ import annotations

import json
from typing import Any

from seedbed.cloudformation.errors import ResourceFailure
from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

GONE = ("ResourceNotFoundException",)


def _split(physical_id: str) -> tuple[str | None, str]:
    bus, sep, name = physical_id.rpartition("|")
    return (bus if sep else None), name


def _bus_name(value: Any) -> str | None:
    if not value:
        return None
    text = str(value)
    return text.rsplit("/", 1)[-1] if text.startswith("arn:") else text


def _rule_params(name: str, props: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"Name": name}
    pattern = props.get("EventPattern")
    if pattern is not None:
        params["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
    for key in ("ScheduleExpression", "State", "Description", "RoleArn"):
        if props.get(key) is not None:
            params[key] = props[key]
    if props.get("EventBusName"):
        params["EventBusName"] = str(props["EventBusName"])
    if props.get("Tags"):
        params["Tags"] = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in props["Tags"]]
    return params


def _targets(props: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for target in props.get("Targets") or []:
        spec = {k: v for k, v in target.items() if v is not None}
        if "Input" in spec and not isinstance(spec["Input"], str):
            spec["Input"] = json.dumps(spec["Input"])
        out.append(spec)
    return out


def _bus_param(props: dict[str, Any]) -> dict[str, Any]:
    return {"EventBusName": str(props["EventBusName"])} if props.get("EventBusName") else {}


@resource_type
class Rule(ResourceType):
    type_name = "AWS::Events::Rule"
    service = "events"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        name = str(props["Name"]) if props.get("Name") else ctx.physical_name(64)
        bus = _bus_name(props.get("EventBusName"))
        return f"{bus}|{name}" if bus and bus != "default" else name

    async def _put_targets(self, ctx: ResourceContext, name: str, props: dict[str, Any]) -> None:
        targets = _targets(props)
        if not targets:
            return
        out = await ctx.call("events", "PutTargets",
                             {"Rule": name, "Targets": targets, **_bus_param(props)})
        if out.get("FailedEntryCount"):
            first = out["FailedEntries"][0]
            raise ResourceFailure(
                f"{first.get('ErrorMessage')} (Service: events, Error Code: "
                f"{first.get('ErrorCode')}, Operation: PutTargets, Target: {first.get('TargetId')})"
            )

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        physical_id = self.intended_id(ctx, props)
        assert physical_id is not None
        _, name = _split(physical_id)
        out = await ctx.call("events", "PutRule", _rule_params(name, props))
        await self._put_targets(ctx, name, props)
        return Provisioned(physical_id, {"Arn": out["RuleArn"]})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any],
                     new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        _, name = _split(physical_id)
        out = await ctx.call("events", "PutRule", _rule_params(name, new))
        wanted = {t["Id"] for t in _targets(new)}
        gone = [t["Id"] for t in _targets(old) if t["Id"] not in wanted]
        if gone:
            await ctx.call("events", "RemoveTargets",
                           {"Rule": name, "Ids": gone, **_bus_param(new)})
        await self._put_targets(ctx, name, new)
        return {"Arn": out["RuleArn"]}

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any],
                     attributes: dict[str, Any]) -> None:
        bus, name = _split(physical_id)
        where = {"EventBusName": bus} if bus else {}
        listed = await ctx.call_quiet("events", "ListTargetsByRule", {"Rule": name, **where}, GONE)
        if listed is None:
            return
        ids = [t["Id"] for t in listed.get("Targets", [])]
        if ids:
            await ctx.call_quiet("events", "RemoveTargets", {"Rule": name, "Ids": ids, **where},
                                 GONE)
        await ctx.call_quiet("events", "DeleteRule", {"Name": name, **where}, GONE)


@resource_type
class EventBus(ResourceType):
    type_name = "AWS::Events::EventBus"
    service = "events"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return str(props["Name"])

    async def _policy(self, ctx: ResourceContext, name: str, policy: Any) -> str | None:
        if not policy:
            return None
        text = policy if isinstance(policy, str) else json.dumps(policy)
        await ctx.call("events", "PutPermission", {"EventBusName": name, "Policy": text})
        return text

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = str(props["Name"])
        params: dict[str, Any] = {"Name": name}
        for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig",
                    "EventSourceName"):
            if props.get(key) is not None:
                params[key] = props[key]
        if props.get("Tags"):
            params["Tags"] = [{"Key": str(t["Key"]), "Value": str(t["Value"])}
                              for t in props["Tags"]]
        out = await ctx.call("events", "CreateEventBus", params)
        attributes: dict[str, Any] = {"Arn": out["EventBusArn"], "Name": name}
        policy = await self._policy(ctx, name, props.get("Policy"))
        if policy:
            attributes["Policy"] = policy
        return Provisioned(name, attributes)

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any],
                     new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"Name": physical_id}
        for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig"):
            if new.get(key) is not None:
                params[key] = new[key]
        await ctx.call("events", "UpdateEventBus", params)
        out = dict(attributes)
        if new.get("Policy") != old.get("Policy"):
            if new.get("Policy"):
                out["Policy"] = await self._policy(ctx, physical_id, new["Policy"])
            else:
                await ctx.call("events", "RemovePermission",
                               {"EventBusName": physical_id, "RemoveAllPermissions": True})
                out.pop("Policy", None)
        return out

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any],
                     attributes: dict[str, Any]) -> None:
        await ctx.call_quiet("events", "DeleteEventBus", {"Name": physical_id}, GONE)
