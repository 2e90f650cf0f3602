"""Resource policy and resource key sources for services whose providers do not (yet) offer them.

S3: a bucket's policy and owner, its tags (``aws:ResourceTag/...`` on the bucket ARN) and an
object's tags (``s3:ExistingObjectTag/...`` on an object ARN), read through S3's own store
functions. When S3's provider grows ``resource_policy`` / ``resource_condition_keys`` methods
(see :mod:`seedbed.iam.resources`), these registrations can go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seedbed.iam.resources import ResourcePolicy, register_context_source, register_policy_source

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import RequestContext


def _bucket_and_key(resource_arn: str) -> tuple[str, str | None]:
    path = resource_arn.split(":", 5)[5]
    bucket, sep, key = path.partition("/")
    return bucket, (key if sep else None)


def s3_bucket_policy(backend: Backend, ctx: RequestContext, resource_arn: str) -> ResourcePolicy | None:
    from seedbed.services.s3 import store

    bucket, _ = _bucket_and_key(resource_arn)
    if not bucket or "*" in bucket:
        return None
    with backend.db.connect() as conn:
        row = store.get_bucket(conn, bucket)
        if row is None:
            return None
        config = store.get_config(conn, bucket, "policy")
    text = config.get("text") if isinstance(config, dict) else None
    return ResourcePolicy(row.account_id, text)


def s3_condition_keys(backend: Backend, ctx: RequestContext, resource_arn: str, key: str) -> tuple[str, ...] | None:
    from seedbed.services.s3 import store

    bucket, object_key = _bucket_and_key(resource_arn)
    if not bucket:
        return None
    if key.startswith("s3:existingobjecttag/") and object_key:
        with backend.db.connect() as conn:
            row = store.latest(conn, bucket, object_key)
        tags = (row.tags or []) if row is not None else []
    elif key.startswith("aws:resourcetag/") and object_key is None:
        with backend.db.connect() as conn:
            config = store.get_config(conn, bucket, "tagging")
        tags = (config or {}).get("TagSet") or []
    else:
        return None
    wanted = key.split("/", 1)[1]
    for tag in tags:
        if str(tag.get("Key", "")).lower() == wanted:
            return (str(tag.get("Value", "")),)
    return None


register_policy_source("s3", s3_bucket_policy)
register_context_source("s3", s3_condition_keys)
