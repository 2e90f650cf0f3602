"""CloudFormation resource types of Lambda: ``AWS::Lambda::Function``, ``AWS::Lambda::Permission``,
``AWS::Lambda::Version`` and ``AWS::Lambda::Alias`` (through the Lambda provider).

Inline code (``Code.ZipFile``) is packaged as CloudFormation does for Python runtimes: the text
becomes ``index.py`` (so ``Handler: index.handler``), beside the ``cfnresponse`` module. A create
waits until the function is Active, as CloudFormation does.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path
from typing import Any

from seedbed.cloudformation.errors import ResourceFailure
from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type
from seedbed.services.awslambda import names

GONE = ("ResourceNotFoundException",)
CFNRESPONSE = Path(__file__).resolve().parents[2] / "runtime" / "lambda_" / "cfnresponse.py"
ACTIVE_WAIT_SECONDS = 900.0


def inline_package(text: str) -> bytes:
    """The deployment package CloudFormation makes of inline Python code."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in (("index.py", text), ("cfnresponse.py", CFNRESPONSE.read_text())):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, body)
    return buf.getvalue()


def _code(props: dict[str, Any]) -> dict[str, Any]:
    code = dict(props.get("Code") or {})
    if code.get("ZipFile") is not None:
        return {"ZipFile": inline_package(str(code["ZipFile"]))}
    out = {k: code[k] for k in ("S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri") if code.get(k)}
    if not out:
        raise ResourceFailure("Properties validation failed: Code must have ZipFile, S3Bucket and S3Key, or ImageUri")
    return out


_CONFIG = ("Role", "Handler", "Runtime", "Description", "Timeout", "MemorySize", "Environment", "Layers",
           "TracingConfig", "EphemeralStorage", "LoggingConfig", "DeadLetterConfig", "KMSKeyArn", "VpcConfig")


def _config(props: dict[str, Any]) -> dict[str, Any]:
    out = {k: props[k] for k in _CONFIG if props.get(k) is not None}
    for key in ("Timeout", "MemorySize"):
        if key in out:
            out[key] = int(out[key])
    if "EphemeralStorage" in out:
        out["EphemeralStorage"] = {"Size": int(out["EphemeralStorage"].get("Size", 512))}
    return out


def _tags(props: dict[str, Any]) -> dict[str, str]:
    return {str(t["Key"]): str(t["Value"]) for t in props.get("Tags") or []}


async def _wait_active(ctx: ResourceContext, name: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ACTIVE_WAIT_SECONDS
    while True:
        config = await ctx.call("lambda", "GetFunctionConfiguration", {"FunctionName": name})
        if config.get("State") == "Failed" or config.get("LastUpdateStatus") == "Failed":
            raise ResourceFailure(
                f"Resource handler returned message: \"{config.get('StateReason') or config.get('LastUpdateStatusReason')}\""
            )
        if config.get("State") == "Active" and config.get("LastUpdateStatus") != "InProgress":
            return config
        if loop.time() > deadline:
            raise ResourceFailure(f"Function {name} did not become Active in {ACTIVE_WAIT_SECONDS:.0f} seconds")
        await asyncio.sleep(0.5)


@resource_type
class Function(ResourceType):
    type_name = "AWS::Lambda::Function"
    service = "lambda"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return str(props["FunctionName"]) if props.get("FunctionName") else ctx.physical_name(64)

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = self.intended_id(ctx, props)
        assert name is not None
        params: dict[str, Any] = {"FunctionName": name, "Code": _code(props), **_config(props)}
        if props.get("Architectures"):
            params["Architectures"] = props["Architectures"]
        if props.get("PackageType"):
            params["PackageType"] = props["PackageType"]
        tags = _tags(props)
        if tags:
            params["Tags"] = tags
        out = await ctx.call("lambda", "CreateFunction", params)
        await _wait_active(ctx, name)
        return Provisioned(name, {"Arn": out["FunctionArn"]})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        if old.get("Code") != new.get("Code"):
            await ctx.call("lambda", "UpdateFunctionCode", {"FunctionName": physical_id, **_code(new)})
            await _wait_active(ctx, physical_id)
        config = _config(new)
        if config != _config(old):
            for key in _CONFIG:  # members that were removed go back to their defaults
                if key in _config(old) and key not in config:
                    config[key] = {"Environment": {"Variables": {}}, "Layers": [], "Description": "",
                                   "Timeout": 3, "MemorySize": 128}.get(key)
            config = {k: v for k, v in config.items() if v is not None}
            await ctx.call("lambda", "UpdateFunctionConfiguration", {"FunctionName": physical_id, **config})
            await _wait_active(ctx, physical_id)
        old_tags, new_tags = _tags(old), _tags(new)
        arn = attributes.get("Arn") or names.function_arn(ctx.account_id, ctx.region, physical_id)
        gone = [k for k in old_tags if k not in new_tags]
        if gone:
            await ctx.call("lambda", "UntagResource", {"Resource": arn, "TagKeys": gone})
        if new_tags and new_tags != old_tags:
            await ctx.call("lambda", "TagResource", {"Resource": arn, "Tags": new_tags})
        return {"Arn": arn}

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await ctx.call_quiet("lambda", "DeleteFunction", {"FunctionName": physical_id}, GONE)


@resource_type
class Permission(ResourceType):
    type_name = "AWS::Lambda::Permission"
    service = "lambda"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return f"{props['FunctionName']}|{ctx.physical_name(100)}"

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        physical = self.intended_id(ctx, props)
        assert physical is not None
        function, sid = physical.rsplit("|", 1)
        params: dict[str, Any] = {"FunctionName": function, "StatementId": sid, "Action": props["Action"],
                                  "Principal": props["Principal"]}
        for key in ("SourceArn", "SourceAccount", "EventSourceToken", "FunctionUrlAuthType", "PrincipalOrgID"):
            if props.get(key):
                params[key] = props[key]
        await ctx.call("lambda", "AddPermission", params)
        return Provisioned(physical, {"Id": sid})

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        function, sid = physical_id.rsplit("|", 1)
        await ctx.call_quiet("lambda", "RemovePermission", {"FunctionName": function, "StatementId": sid}, GONE)


@resource_type
class Version(ResourceType):
    type_name = "AWS::Lambda::Version"
    service = "lambda"

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        params: dict[str, Any] = {"FunctionName": props["FunctionName"]}
        for key in ("Description", "CodeSha256"):
            if props.get(key):
                params[key] = props[key]
        await _wait_active(ctx, str(props["FunctionName"]))
        out = await ctx.call("lambda", "PublishVersion", params)
        return Provisioned(out["FunctionArn"], {"Version": out["Version"], "FunctionArn": out["FunctionArn"]})

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        function, _, version = physical_id.rpartition(":")
        out = await ctx.call_quiet("lambda", "ListAliases", {"FunctionName": function, "FunctionVersion": version}, GONE)
        if out and out.get("Aliases"):
            return  # still in use by an alias outside this stack: AWS keeps the version too
        await ctx.call_quiet("lambda", "DeleteFunction", {"FunctionName": function, "Qualifier": version}, GONE)


@resource_type
class Alias(ResourceType):
    type_name = "AWS::Lambda::Alias"
    service = "lambda"

    @staticmethod
    def _params(props: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"FunctionName": props["FunctionName"], "Name": props["Name"],
                                  "FunctionVersion": str(props["FunctionVersion"])}
        if props.get("Description") is not None:
            params["Description"] = props["Description"]
        if props.get("RoutingConfig"):
            weights = props["RoutingConfig"].get("AdditionalVersionWeights") or []
            params["RoutingConfig"] = {"AdditionalVersionWeights": {
                str(w["FunctionVersion"]): float(w["FunctionWeight"]) for w in weights}}
        return params

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        out = await ctx.call("lambda", "CreateAlias", self._params(props))
        return Provisioned(out["AliasArn"], {"AliasArn": out["AliasArn"]})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        params = self._params(new)
        params.setdefault("RoutingConfig", {"AdditionalVersionWeights": {}})
        await ctx.call("lambda", "UpdateAlias", params)
        return {"AliasArn": physical_id}

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        function, _, alias = physical_id.rpartition(":")
        await ctx.call_quiet("lambda", "DeleteAlias", {"FunctionName": function, "Name": alias}, GONE)
