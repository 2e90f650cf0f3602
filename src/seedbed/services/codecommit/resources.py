"""CloudFormation resource type of CodeCommit: ``AWS::CodeCommit::Repository`` (through the
CodeCommit provider). ``Code.S3`` is read with the stack's principal (``s3:GetObject``) and
committed as the repository's first commit on ``Code.BranchName`` (default ``main``)."""

from __future__ import annotations

import zipfile
from typing import Any

from seedbed.cloudformation.errors import ResourceFailure
from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

GONE = ("RepositoryDoesNotExistException",)


def _tags(props: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: str(t["Value"]) for t in props.get("Tags") or []}


def _attributes(meta: dict[str, Any]) -> dict[str, Any]:
    return {"Arn": meta["Arn"], "CloneUrlHttp": meta["cloneUrlHttp"], "CloneUrlSsh": meta["cloneUrlSsh"],
            "Name": meta["repositoryName"], "RepositoryId": meta["repositoryId"]}


@resource_type
class Repository(ResourceType):
    type_name = "AWS::CodeCommit::Repository"
    service = "codecommit"

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        params: dict[str, Any] = {"repositoryName": props["RepositoryName"]}
        if props.get("RepositoryDescription"):
            params["repositoryDescription"] = props["RepositoryDescription"]
        if props.get("KmsKeyId"):
            params["kmsKeyId"] = props["KmsKeyId"]
        if props.get("Tags"):
            params["tags"] = _tags(props)
        meta = (await ctx.call("codecommit", "CreateRepository", params))["repositoryMetadata"]
        if props.get("Triggers"):
            await ctx.call("codecommit", "PutRepositoryTriggers", {"repositoryName": meta["repositoryName"],
                                                                    "triggers": _triggers(props["Triggers"])})
        if props.get("Code"):
            await _seed(ctx, meta["repositoryName"], props["Code"])
        return Provisioned(meta["repositoryId"], _attributes(meta))

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any],
                     attributes: dict[str, Any]) -> dict[str, Any]:
        name = attributes["Name"]
        if new["RepositoryName"] != name:
            await ctx.call("codecommit", "UpdateRepositoryName", {"oldName": name, "newName": new["RepositoryName"]})
            name = new["RepositoryName"]
        if old.get("RepositoryDescription") != new.get("RepositoryDescription"):
            await ctx.call("codecommit", "UpdateRepositoryDescription",
                           {"repositoryName": name, "repositoryDescription": new.get("RepositoryDescription") or ""})
        if old.get("Triggers") != new.get("Triggers"):
            await ctx.call("codecommit", "PutRepositoryTriggers",
                           {"repositoryName": name, "triggers": _triggers(new.get("Triggers") or [])})
        meta = (await ctx.call("codecommit", "GetRepository", {"repositoryName": name}))["repositoryMetadata"]
        if _tags(old) != _tags(new):
            gone = [k for k in _tags(old) if k not in _tags(new)]
            if gone:
                await ctx.call("codecommit", "UntagResource", {"resourceArn": meta["Arn"], "tagKeys": gone})
            if new.get("Tags"):
                await ctx.call("codecommit", "TagResource", {"resourceArn": meta["Arn"], "tags": _tags(new)})
        return _attributes(meta)

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        name = attributes.get("Name") or props.get("RepositoryName")
        if name:
            await ctx.call_quiet("codecommit", "DeleteRepository", {"repositoryName": name}, GONE)


def _triggers(triggers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for t in triggers:
        item = {"name": t["Name"], "destinationArn": t["DestinationArn"], "events": list(t["Events"]),
                "branches": list(t.get("Branches") or [])}
        if t.get("CustomData"):
            item["customData"] = t["CustomData"]
        out.append(item)
    return out


async def _seed(ctx: ResourceContext, name: str, code: dict[str, Any]) -> None:
    from seedbed.cloudformation.engine import read_body

    s3 = code["S3"]
    params = {"Bucket": s3["Bucket"], "Key": s3["Key"]}
    if s3.get("ObjectVersion"):
        params["VersionId"] = s3["ObjectVersion"]
    data = await read_body((await ctx.call("s3", "GetObject", params)).get("Body"))
    from seedbed.gitserver.repos import zip_changes

    try:
        files = zip_changes(data)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:  # not a zip: the create fails, as on AWS: the repository create fails, as on AWS
        raise ResourceFailure(f"Could not read the initial code s3://{s3['Bucket']}/{s3['Key']}: {exc}") from None
    if not files:
        return
    await ctx.call("codecommit", "CreateCommit", {
        "repositoryName": name, "branchName": code.get("BranchName") or "main",
        "commitMessage": "Initial commit by AWS CodeCommit", "authorName": "AWS CodeCommit",
        "putFiles": [{"filePath": f.path, "fileContent": f.content,
                      "fileMode": "EXECUTABLE" if f.mode == "100755" else "NORMAL"} for f in files],
    })
