"""Project tags onto the resources of the project's stack.

AWS CloudFormation copies stack tags onto every resource that takes tags; Seedbed's stack engine
does not do that yet, so SageMaker does it for the project stacks, for the taggable types Seedbed
has today. Tagging runs as the stack's launch role (whoever may create the resources may tag
them); a refusal is logged, never fails the project. Once the engine propagates stack tags itself
this module only re-applies the same tags.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from seedbed.errors import ServiceError

log = logging.getLogger(__name__)

Call = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]


async def _bucket(call: Call, physical_id: str, tags: list[dict[str, str]]) -> None:
    try:
        current = (await call("s3", "GetBucketTagging", {"Bucket": physical_id})).get("TagSet") or []
    except ServiceError as exc:
        if exc.code != "NoSuchTagSet":
            raise
        current = []
    merged = {t["Key"]: t["Value"] for t in current}
    merged.update({t["Key"]: t["Value"] for t in tags})
    await call("s3", "PutBucketTagging", {"Bucket": physical_id, "Tagging": {"TagSet": [{"Key": k, "Value": v} for k, v in merged.items()]}})


async def _parameter(call: Call, physical_id: str, tags: list[dict[str, str]]) -> None:
    await call("ssm", "AddTagsToResource", {"ResourceType": "Parameter", "ResourceId": physical_id, "Tags": tags})


async def _role(call: Call, physical_id: str, tags: list[dict[str, str]]) -> None:
    await call("iam", "TagRole", {"RoleName": physical_id, "Tags": tags})


async def _managed_policy(call: Call, physical_id: str, tags: list[dict[str, str]]) -> None:
    await call("iam", "TagPolicy", {"PolicyArn": physical_id, "Tags": tags})


async def _kms_key(call: Call, physical_id: str, tags: list[dict[str, str]]) -> None:
    await call("kms", "TagResource", {"KeyId": physical_id, "Tags": [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags]})


async def _secret(call: Call, physical_id: str, tags: list[dict[str, str]]) -> None:
    await call("secretsmanager", "TagResource", {"SecretId": physical_id, "Tags": tags})


#: Resource type -> how to tag one resource of it. Later services add their types here.
TAGGERS: dict[str, Callable[[Call, str, list[dict[str, str]]], Awaitable[None]]] = {
    "AWS::S3::Bucket": _bucket,
    "AWS::SSM::Parameter": _parameter,
    "AWS::IAM::Role": _role,
    "AWS::IAM::ManagedPolicy": _managed_policy,
    "AWS::KMS::Key": _kms_key,
    "AWS::SecretsManager::Secret": _secret,
}


async def propagate(backend: Any, project: Any, stack: Any, caller: Any) -> None:
    """Tag every taggable resource of ``stack`` with the stack's tags."""
    tags = [{"Key": t["Key"], "Value": t["Value"]} for t in stack.tags or []]
    if not tags:
        return
    acting = caller
    try:
        if stack.role_arn:
            engine = backend.provider("cloudformation").engine
            acting = await engine.assume(stack.role_arn, stack.account_id, stack.name, stack.stack_id)
        out = await backend.call(acting, "cloudformation", "DescribeStackResources", {"StackName": stack.stack_id}, stack.region)
    except ServiceError as exc:
        log.info("not tagging the resources of %s: %s", stack.name, exc.message)
        return

    async def call(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return await backend.call(acting, service, operation, params, stack.region)

    for resource in out.get("StackResources") or []:
        tagger = TAGGERS.get(resource.get("ResourceType", ""))
        physical = resource.get("PhysicalResourceId")
        if tagger is None or not physical or not resource.get("ResourceStatus", "").endswith("_COMPLETE"):
            continue
        try:
            await tagger(call, physical, tags)
        except ServiceError as exc:
            log.info("could not tag %s %s: %s", resource["ResourceType"], physical, exc.message)
