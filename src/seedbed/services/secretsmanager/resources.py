"""CloudFormation resource type of Secrets Manager: ``AWS::SecretsManager::Secret``.

``GenerateSecretString`` is honoured as CloudFormation does: a password from GetRandomPassword,
placed under ``GenerateStringKey`` of ``SecretStringTemplate`` when both are given.
"""

from __future__ import annotations

import json
from typing import Any

from seedbed.cloudformation.errors import ResourceFailure
from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

GONE = ("ResourceNotFoundException",)
PASSWORD_OPTIONS = (
    "PasswordLength", "ExcludeCharacters", "ExcludeNumbers", "ExcludePunctuation", "ExcludeUppercase",
    "ExcludeLowercase", "IncludeSpace", "RequireEachIncludedType",
)


async def _secret_string(ctx: ResourceContext, props: dict[str, Any]) -> str | None:
    if props.get("SecretString") is not None:
        return str(props["SecretString"])
    generate = props.get("GenerateSecretString")
    if generate is None:
        return None
    params = {k: generate[k] for k in PASSWORD_OPTIONS if k in generate}
    out = await ctx.call("secretsmanager", "GetRandomPassword", params)
    password = out["RandomPassword"]
    template, key = generate.get("SecretStringTemplate"), generate.get("GenerateStringKey")
    if template is None and key is None:
        return password
    if template is None or key is None:
        raise ResourceFailure("SecretStringTemplate and GenerateStringKey must be given together")
    try:
        document = json.loads(template)
    except ValueError:
        raise ResourceFailure("SecretStringTemplate must be a JSON object") from None
    document[key] = password
    return json.dumps(document)


@resource_type
class Secret(ResourceType):
    type_name = "AWS::SecretsManager::Secret"
    service = "secretsmanager"

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = props.get("Name") or ctx.physical_name(256)
        params: dict[str, Any] = {"Name": name}
        for key in ("Description", "KmsKeyId"):
            if props.get(key) is not None:
                params[key] = props[key]
        value = await _secret_string(ctx, props)
        if value is not None:
            params["SecretString"] = value
        if props.get("Tags"):
            params["Tags"] = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in props["Tags"]]
        out = await ctx.call("secretsmanager", "CreateSecret", params)
        return Provisioned(out["ARN"], {"Id": out["ARN"]})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"SecretId": physical_id}
        if old.get("Description") != new.get("Description"):
            params["Description"] = new.get("Description") or ""
        if old.get("KmsKeyId") != new.get("KmsKeyId") and new.get("KmsKeyId"):
            params["KmsKeyId"] = new["KmsKeyId"]
        if old.get("SecretString") != new.get("SecretString") or old.get("GenerateSecretString") != new.get("GenerateSecretString"):
            value = await _secret_string(ctx, new)
            if value is not None:
                params["SecretString"] = value
        if len(params) > 1:
            await ctx.call("secretsmanager", "UpdateSecret", params)
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await ctx.call_quiet("secretsmanager", "DeleteSecret", {"SecretId": physical_id, "ForceDeleteWithoutRecovery": True}, GONE)
