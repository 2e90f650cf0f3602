"""CloudFormation resource types of S3: ``AWS::S3::Bucket`` and ``AWS::S3::BucketPolicy``.

They call the S3 provider through ``Backend.call`` (as the stack's principal), so a bucket made by
a stack is the same as one made by ``aws s3 mb``. The CloudFormation property shapes differ from
the API's in a few names (``CorsRules``, ``MaxAge``, ``ServerSideEncryptionConfiguration``); the
translations live here.
"""

from __future__ import annotations

import json
from typing import Any

from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

NOT_FOUND = ("NoSuchBucket",)


def _tags(props: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in props.get("Tags") or []]


def _cors(config: dict[str, Any]) -> dict[str, Any]:
    rules = []
    for rule in config.get("CorsRules") or []:
        out: dict[str, Any] = {"AllowedMethods": rule["AllowedMethods"], "AllowedOrigins": rule["AllowedOrigins"]}
        if "AllowedHeaders" in rule:
            out["AllowedHeaders"] = rule["AllowedHeaders"]
        if "ExposedHeaders" in rule:
            out["ExposeHeaders"] = rule["ExposedHeaders"]
        if "Id" in rule:
            out["ID"] = rule["Id"]
        if "MaxAge" in rule:
            out["MaxAgeSeconds"] = int(rule["MaxAge"])
        rules.append(out)
    return {"CORSRules": rules}


def _encryption(config: dict[str, Any]) -> dict[str, Any]:
    rules = []
    for rule in config.get("ServerSideEncryptionConfiguration") or []:
        out: dict[str, Any] = {}
        default = rule.get("ServerSideEncryptionByDefault")
        if default:
            out["ApplyServerSideEncryptionByDefault"] = {
                k: v for k, v in (("SSEAlgorithm", default.get("SSEAlgorithm")), ("KMSMasterKeyID", default.get("KMSMasterKeyID"))) if v
            }
        if "BucketKeyEnabled" in rule:
            out["BucketKeyEnabled"] = bool(rule["BucketKeyEnabled"]) if not isinstance(rule["BucketKeyEnabled"], str) else rule["BucketKeyEnabled"] == "true"
        rules.append(out)
    return {"Rules": rules}


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _public_access(config: dict[str, Any]) -> dict[str, Any]:
    return {k: _bool(v) for k, v in config.items()}


def _attributes(name: str, region: str) -> dict[str, Any]:
    return {
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
        "DualStackDomainName": f"{name}.s3.dualstack.{region}.amazonaws.com",
        "WebsiteURL": f"http://{name}.s3-website-{region}.amazonaws.com",
    }


#: CloudFormation property -> (put operation, delete operation, API member, translate)
CONFIGS: dict[str, tuple[str, str | None, str, Any]] = {
    "VersioningConfiguration": ("PutBucketVersioning", None, "VersioningConfiguration", lambda c: {"Status": c["Status"]}),
    "BucketEncryption": ("PutBucketEncryption", "DeleteBucketEncryption", "ServerSideEncryptionConfiguration", _encryption),
    "CorsConfiguration": ("PutBucketCors", "DeleteBucketCors", "CORSConfiguration", _cors),
    "PublicAccessBlockConfiguration": ("PutPublicAccessBlock", "DeletePublicAccessBlock", "PublicAccessBlockConfiguration", _public_access),
}


@resource_type
class Bucket(ResourceType):
    type_name = "AWS::S3::Bucket"
    service = "s3"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return props.get("BucketName") or ctx.physical_name(63, lower=True)

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        name = self.intended_id(ctx, props)
        assert name is not None
        params: dict[str, Any] = {"Bucket": name}
        if ctx.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
        if props.get("ObjectLockEnabled"):
            params["ObjectLockEnabledForBucket"] = _bool(props["ObjectLockEnabled"])
        await ctx.call("s3", "CreateBucket", params)
        await self._configure(ctx, name, {}, props)
        return Provisioned(name, _attributes(name, ctx.region))

    async def _configure(self, ctx: ResourceContext, name: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        if old.get("Tags") != new.get("Tags"):
            if new.get("Tags"):
                await ctx.call("s3", "PutBucketTagging", {"Bucket": name, "Tagging": {"TagSet": _tags(new)}})
            else:
                await ctx.call("s3", "DeleteBucketTagging", {"Bucket": name})
        for prop, (put, remove, member, translate) in CONFIGS.items():
            if old.get(prop) == new.get(prop):
                continue
            if new.get(prop) is not None:
                await ctx.call("s3", put, {"Bucket": name, member: translate(new[prop])})
            elif remove is not None:
                await ctx.call("s3", remove, {"Bucket": name})
            elif prop == "VersioningConfiguration":
                await ctx.call("s3", put, {"Bucket": name, member: {"Status": "Suspended"}})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        await self._configure(ctx, physical_id, old, new)
        return _attributes(physical_id, ctx.region)

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await ctx.call_quiet("s3", "DeleteBucket", {"Bucket": physical_id}, NOT_FOUND)


@resource_type
class BucketPolicy(ResourceType):
    type_name = "AWS::S3::BucketPolicy"
    service = "s3"

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        return str(props["Bucket"])

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        await self._put(ctx, props)
        return Provisioned(str(props["Bucket"]), {})

    @staticmethod
    async def _put(ctx: ResourceContext, props: dict[str, Any]) -> None:
        document = props["PolicyDocument"]
        text = document if isinstance(document, str) else json.dumps(document, separators=(",", ":"))
        await ctx.call("s3", "PutBucketPolicy", {"Bucket": str(props["Bucket"]), "Policy": text})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        await self._put(ctx, new)
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        await ctx.call_quiet("s3", "DeleteBucketPolicy", {"Bucket": physical_id}, NOT_FOUND + ("NoSuchBucketPolicy",))
