"""Resource policy and resource key sources for services whose providers do not (yet) offer them.

KMS: the functions :mod:`seedbed.services.kms.policy` provides for IAM, registered here.

S3: a bucket's policy and owner, its tags (``aws:ResourceTag/...`` on the bucket ARN) and an
object's tags (``s3:ExistingObjectTag/...`` on an object ARN), read through S3's own store
functions. Every S3 request needs its bucket's policy, so policies are cached for
``TTL_SECONDS``; a request that changes a bucket's policy, tags or existence drops the entry
first and keeps it from being cached again for a TTL (the write commits meanwhile). Other
replicas see a change within the TTL. When S3's provider grows ``resource_policy`` /
``resource_condition_keys`` methods (see :mod:`seedbed.iam.resources`), these registrations can go.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from seedbed.iam.resources import (
    ResourcePolicy,
    register_context_source,
    register_policy_source,
    register_request_resolver,
    register_write_hook,
)

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import RequestContext


def _bucket_and_key(resource_arn: str) -> tuple[str, str | None]:
    path = resource_arn.split(":", 5)[5]
    bucket, sep, key = path.partition("/")
    return bucket, (key if sep else None)


TTL_SECONDS = 1.0
#: S3 operations after which a bucket's cached policy, owner or tags may be wrong.
S3_WRITES = frozenset(
    {"CreateBucket", "DeleteBucket", "PutBucketPolicy", "DeleteBucketPolicy", "PutBucketTagging", "DeleteBucketTagging"}
)
_cache: dict[tuple[int, str, str], tuple[float, Any]] = {}
_dirty: dict[str, float] = {}


def _cached(backend: Backend, kind: str, bucket: str, load: Any) -> Any:
    key = (id(backend), kind, bucket)
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = load()
    if _dirty.get(bucket, 0.0) <= now:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[key] = (now + TTL_SECONDS, value)
    return value


def s3_write_hook(operation: str, params: Mapping[str, Any]) -> None:
    if operation in S3_WRITES:
        bucket = str(params.get("Bucket") or "")
        for key in [k for k in _cache if k[2] == bucket]:
            _cache.pop(key, None)
        _dirty[bucket] = time.monotonic() + TTL_SECONDS
        if len(_dirty) > 10_000:
            now = time.monotonic()
            for name in [n for n, until in _dirty.items() if until <= now]:
                _dirty.pop(name, None)


def s3_bucket_policy(backend: Backend, ctx: RequestContext, resource_arn: str) -> ResourcePolicy | None:
    from seedbed.services.s3 import store

    bucket, _ = _bucket_and_key(resource_arn)
    if not bucket or "*" in bucket:
        return None

    def load() -> ResourcePolicy | None:
        with backend.db.connect() as conn:
            row = store.get_bucket(conn, bucket)
            if row is None:
                return None
            config = store.get_config(conn, bucket, "policy")
        text = config.get("text") if isinstance(config, dict) else None
        return ResourcePolicy(row.account_id, text)

    return _cached(backend, "policy", bucket, load)  # type: ignore[no-any-return]


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

        def load() -> list[dict[str, str]]:
            with backend.db.connect() as conn:
                config = store.get_config(conn, bucket, "tagging")
            return (config or {}).get("TagSet") or []

        tags = _cached(backend, "tags", bucket, load)
    else:
        return None
    wanted = key.split("/", 1)[1]
    for tag in tags:
        if str(tag.get("Key", "")).lower() == wanted:
            return (str(tag.get("Value", "")),)
    return None


register_policy_source("s3", s3_bucket_policy)
register_context_source("s3", s3_condition_keys)
register_write_hook("s3", s3_write_hook)


def _kms_policy(backend: Backend, ctx: RequestContext, resource_arn: str) -> ResourcePolicy | None:
    from seedbed.services.kms import policy

    return policy.resource_policy_source(backend, ctx, resource_arn)  # type: ignore[no-any-return]


def _kms_keys(backend: Backend, ctx: RequestContext, resource_arn: str, key: str) -> tuple[str, ...] | None:
    from seedbed.services.kms import policy

    return policy.condition_key_source(backend, ctx, resource_arn, key)


# KMS: key policies (a gate, as on AWS) and kms:ViaService / kms:CallerAccount / key attributes,
# from the functions KMS provides for this (seedbed.services.kms.policy).
def _kms_request(operation: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """Decrypt and ReEncrypt act on the key their ciphertext blob names (so its key policy, e.g.
    an AWS managed key's, applies), whether or not the request repeats it in ``KeyId``."""
    member = {"Decrypt": "KeyId", "ReEncrypt": "SourceKeyId"}.get(operation)
    blob = params.get("CiphertextBlob")
    if member is None or params.get(member) or not isinstance(blob, (bytes, bytearray)):
        return params
    from seedbed.services.kms import crypto

    try:
        return {**params, member: crypto.read_header(bytes(blob)).key_id}
    except crypto.CiphertextError:
        return params


register_policy_source("kms", _kms_policy)
register_context_source("kms", _kms_keys)
register_request_resolver("kms", _kms_request)
