"""CloudFormation resource types of IAM: Role, Policy (inline), ManagedPolicy, User.

Every change goes through the IAM provider (``Backend.call``), so stacks obey the same rules and
permissions as API callers. Documents given as objects are sent as JSON text.
"""

from __future__ import annotations

import json
from typing import Any

from seedbed.cloudformation.errors import ResourceFailure
from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type
from seedbed.state import arns

GONE = ("NoSuchEntity",)


def _doc(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _tags(props: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in props.get("Tags") or []]


def _policies(props: dict[str, Any]) -> dict[str, str]:
    return {p["PolicyName"]: _doc(p["PolicyDocument"]) for p in props.get("Policies") or []}


async def _sync_attachments(ctx: ResourceContext, kind: str, name: str, old: list[str], new: list[str]) -> None:
    """Attach/detach managed policies so the principal has exactly ``new``."""
    key = {"Role": "RoleName", "User": "UserName", "Group": "GroupName"}[kind]
    for arn in new:
        if arn not in old:
            await ctx.call("iam", f"Attach{kind}Policy", {key: name, "PolicyArn": arn})
    for arn in old:
        if arn not in new:
            await ctx.call_quiet("iam", f"Detach{kind}Policy", {key: name, "PolicyArn": arn}, GONE)


async def _sync_inline(ctx: ResourceContext, kind: str, name: str, old: dict[str, str], new: dict[str, str]) -> None:
    key = {"Role": "RoleName", "User": "UserName", "Group": "GroupName"}[kind]
    for policy, document in new.items():
        if old.get(policy) != document:
            await ctx.call("iam", f"Put{kind}Policy", {key: name, "PolicyName": policy, "PolicyDocument": document})
    for policy in old:
        if policy not in new:
            await ctx.call_quiet("iam", f"Delete{kind}Policy", {key: name, "PolicyName": policy}, GONE)


@resource_type
class Role(ResourceType):
    type_name = "AWS::IAM::Role"
    service = "iam"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return props.get("RoleName") or ctx.physical_name(64)

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = self.intended_id(ctx, props)
        assert name is not None
        params: dict[str, Any] = {"RoleName": name, "AssumeRolePolicyDocument": _doc(props["AssumeRolePolicyDocument"])}
        for key in ("Path", "Description", "MaxSessionDuration", "PermissionsBoundary"):
            if props.get(key) is not None:
                params[key] = int(props[key]) if key == "MaxSessionDuration" else props[key]
        if props.get("Tags"):
            params["Tags"] = _tags(props)
        out = await ctx.call("iam", "CreateRole", params)
        await _sync_inline(ctx, "Role", name, {}, _policies(props))
        await _sync_attachments(ctx, "Role", name, [], list(props.get("ManagedPolicyArns") or []))
        return Provisioned(name, {"Arn": out["Role"]["Arn"], "RoleId": out["Role"]["RoleId"]})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        if old.get("AssumeRolePolicyDocument") != new.get("AssumeRolePolicyDocument"):
            await ctx.call("iam", "UpdateAssumeRolePolicy", {"RoleName": physical_id, "PolicyDocument": _doc(new["AssumeRolePolicyDocument"])})
        if old.get("Description") != new.get("Description") or old.get("MaxSessionDuration") != new.get("MaxSessionDuration"):
            params: dict[str, Any] = {"RoleName": physical_id, "Description": new.get("Description") or ""}
            if new.get("MaxSessionDuration") is not None:
                params["MaxSessionDuration"] = int(new["MaxSessionDuration"])
            await ctx.call("iam", "UpdateRole", params)
        if old.get("PermissionsBoundary") != new.get("PermissionsBoundary"):
            if new.get("PermissionsBoundary"):
                await ctx.call("iam", "PutRolePermissionsBoundary", {"RoleName": physical_id, "PermissionsBoundary": new["PermissionsBoundary"]})
            else:
                await ctx.call_quiet("iam", "DeleteRolePermissionsBoundary", {"RoleName": physical_id}, GONE)
        if old.get("Tags") != new.get("Tags"):
            gone = [t["Key"] for t in _tags(old) if t["Key"] not in {n["Key"] for n in _tags(new)}]
            if gone:
                await ctx.call("iam", "UntagRole", {"RoleName": physical_id, "TagKeys": gone})
            if new.get("Tags"):
                await ctx.call("iam", "TagRole", {"RoleName": physical_id, "Tags": _tags(new)})
        await _sync_inline(ctx, "Role", physical_id, _policies(old), _policies(new))
        await _sync_attachments(ctx, "Role", physical_id, list(old.get("ManagedPolicyArns") or []), list(new.get("ManagedPolicyArns") or []))
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await _detach_everything(ctx, "Role", physical_id)
        await ctx.call_quiet("iam", "DeleteRole", {"RoleName": physical_id}, GONE)


async def _detach_everything(ctx: ResourceContext, kind: str, name: str) -> None:
    """IAM refuses to delete a principal with policies: remove them all first (as CFN does)."""
    key = {"Role": "RoleName", "User": "UserName", "Group": "GroupName"}[kind]
    attached = await ctx.call_quiet("iam", f"ListAttached{kind}Policies", {key: name}, GONE + ("NotImplemented",))
    for policy in (attached or {}).get("AttachedPolicies", []):
        await ctx.call_quiet("iam", f"Detach{kind}Policy", {key: name, "PolicyArn": policy["PolicyArn"]}, GONE)
    inline = await ctx.call_quiet("iam", f"List{kind}Policies", {key: name}, GONE + ("NotImplemented",))
    for policy in (inline or {}).get("PolicyNames", []):
        await ctx.call_quiet("iam", f"Delete{kind}Policy", {key: name, "PolicyName": policy}, GONE)


@resource_type
class User(ResourceType):
    type_name = "AWS::IAM::User"
    service = "iam"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return props.get("UserName") or ctx.physical_name(64)

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = self.intended_id(ctx, props)
        assert name is not None
        params: dict[str, Any] = {"UserName": name}
        for key in ("Path", "PermissionsBoundary"):
            if props.get(key):
                params[key] = props[key]
        if props.get("Tags"):
            params["Tags"] = _tags(props)
        out = await ctx.call("iam", "CreateUser", params)
        await _sync_inline(ctx, "User", name, {}, _policies(props))
        await _sync_attachments(ctx, "User", name, [], list(props.get("ManagedPolicyArns") or []))
        for group in props.get("Groups") or []:
            await ctx.call("iam", "AddUserToGroup", {"UserName": name, "GroupName": group})
        return Provisioned(name, {"Arn": out["User"]["Arn"]})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        await _sync_inline(ctx, "User", physical_id, _policies(old), _policies(new))
        await _sync_attachments(ctx, "User", physical_id, list(old.get("ManagedPolicyArns") or []), list(new.get("ManagedPolicyArns") or []))
        for group in new.get("Groups") or []:
            if group not in (old.get("Groups") or []):
                await ctx.call("iam", "AddUserToGroup", {"UserName": physical_id, "GroupName": group})
        for group in old.get("Groups") or []:
            if group not in (new.get("Groups") or []):
                await ctx.call_quiet("iam", "RemoveUserFromGroup", {"UserName": physical_id, "GroupName": group}, GONE)
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await _detach_everything(ctx, "User", physical_id)
        for group in props.get("Groups") or []:
            await ctx.call_quiet("iam", "RemoveUserFromGroup", {"UserName": physical_id, "GroupName": group}, GONE)
        await ctx.call_quiet("iam", "DeleteUser", {"UserName": physical_id}, GONE)


@resource_type
class ManagedPolicy(ResourceType):
    type_name = "AWS::IAM::ManagedPolicy"
    service = "iam"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        name = props.get("ManagedPolicyName") or ctx.physical_name(128)
        return arns.iam(ctx.account_id, "policy", name, props.get("Path") or "/")

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        arn = self.intended_id(ctx, props)
        assert arn is not None
        params: dict[str, Any] = {"PolicyName": arn.rsplit("/", 1)[-1], "PolicyDocument": _doc(props["PolicyDocument"])}
        for key in ("Path", "Description"):
            if props.get(key):
                params[key] = props[key]
        out = await ctx.call("iam", "CreatePolicy", params)
        policy = out["Policy"]
        await self._attach(ctx, policy["Arn"], {}, props)
        return Provisioned(policy["Arn"], _policy_attrs(policy))

    @staticmethod
    async def _attach(ctx: ResourceContext, arn: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        for prop, kind in (("Roles", "Role"), ("Users", "User"), ("Groups", "Group")):
            key = {"Role": "RoleName", "User": "UserName", "Group": "GroupName"}[kind]
            before, after = list(old.get(prop) or []), list(new.get(prop) or [])
            for name in after:
                if name not in before:
                    await ctx.call("iam", f"Attach{kind}Policy", {key: name, "PolicyArn": arn})
            for name in before:
                if name not in after:
                    await ctx.call_quiet("iam", f"Detach{kind}Policy", {key: name, "PolicyArn": arn}, GONE)

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        if old.get("PolicyDocument") != new.get("PolicyDocument"):
            versions = await ctx.call("iam", "ListPolicyVersions", {"PolicyArn": physical_id})
            stale = [v for v in versions.get("Versions", []) if not v.get("IsDefaultVersion")]
            if len(versions.get("Versions", [])) >= 5 and stale:
                oldest = min(stale, key=lambda v: v.get("CreateDate") or 0)
                await ctx.call("iam", "DeletePolicyVersion", {"PolicyArn": physical_id, "VersionId": oldest["VersionId"]})
            out = await ctx.call("iam", "CreatePolicyVersion", {"PolicyArn": physical_id, "PolicyDocument": _doc(new["PolicyDocument"]), "SetAsDefault": True})
            attributes = {**attributes, "DefaultVersionId": out["PolicyVersion"]["VersionId"]}
        await self._attach(ctx, physical_id, old, new)
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await self._attach(ctx, physical_id, props, {})
        versions = await ctx.call_quiet("iam", "ListPolicyVersions", {"PolicyArn": physical_id}, GONE)
        if versions is None:
            return
        for version in versions.get("Versions", []):
            if not version.get("IsDefaultVersion"):
                await ctx.call_quiet("iam", "DeletePolicyVersion", {"PolicyArn": physical_id, "VersionId": version["VersionId"]}, GONE)
        await ctx.call_quiet("iam", "DeletePolicy", {"PolicyArn": physical_id}, GONE)


def _policy_attrs(policy: dict[str, Any]) -> dict[str, Any]:
    return {
        "PolicyArn": policy["Arn"], "PolicyId": policy.get("PolicyId"), "DefaultVersionId": policy.get("DefaultVersionId", "v1"),
        "AttachmentCount": policy.get("AttachmentCount", 0), "IsAttachable": policy.get("IsAttachable", True),
        "PermissionsBoundaryUsageCount": policy.get("PermissionsBoundaryUsageCount", 0),
        "CreateDate": str(policy.get("CreateDate", "")), "UpdateDate": str(policy.get("UpdateDate", "")),
    }


@resource_type
class InlinePolicy(ResourceType):
    """``AWS::IAM::Policy``: one inline policy put on each listed role, user and group."""

    type_name = "AWS::IAM::Policy"
    service = "iam"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return ctx.physical_name(128)

    @staticmethod
    async def _put(ctx: ResourceContext, props: dict[str, Any], skip: dict[str, Any] | None = None) -> None:
        document = _doc(props["PolicyDocument"])
        for prop, kind in (("Roles", "Role"), ("Users", "User"), ("Groups", "Group")):
            key = {"Role": "RoleName", "User": "UserName", "Group": "GroupName"}[kind]
            for name in props.get(prop) or []:
                await ctx.call("iam", f"Put{kind}Policy", {key: name, "PolicyName": props["PolicyName"], "PolicyDocument": document})

    @staticmethod
    async def _remove(ctx: ResourceContext, props: dict[str, Any], keep: dict[str, Any] | None = None) -> None:
        keep = keep or {}
        for prop, kind in (("Roles", "Role"), ("Users", "User"), ("Groups", "Group")):
            key = {"Role": "RoleName", "User": "UserName", "Group": "GroupName"}[kind]
            for name in props.get(prop) or []:
                if name in (keep.get(prop) or []) and keep.get("PolicyName") == props.get("PolicyName"):
                    continue
                await ctx.call_quiet("iam", f"Delete{kind}Policy", {key: name, "PolicyName": props["PolicyName"]}, GONE)

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        if not (props.get("Roles") or props.get("Users") or props.get("Groups")):
            raise ResourceFailure("At least one of [Groups,Roles,Users] must be non-empty.")
        await self._put(ctx, props)
        pid = self.intended_id(ctx, props)
        assert pid is not None
        return Provisioned(pid, {"Id": pid})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        await self._put(ctx, new)
        await self._remove(ctx, old, keep=new)
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await self._remove(ctx, props)
