"""AddTags, ListTags and DeleteTags on every SageMaker ARN.

Each resource module says how to find its resources through :data:`RESOURCE_EXISTS` (resource type
in the ARN -> check), so later modules (pipelines, jobs, model registry, hosting) make their ARNs
taggable by adding one entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from seedbed.server.context import RequestContext
from seedbed.services.sagemaker import store
from seedbed.services.sagemaker.errors import ResourceNotFound, SageMakerValidation
from seedbed.state import arns

MAX_TAGS = 50

Exists = Callable[[Connection, arns.Arn], bool]


def _domain(conn: Connection, arn: arns.Arn) -> bool:
    return store.get_domain(conn, arn.account, arn.region, arn.resource_id) is not None


def _user_profile(conn: Connection, arn: arns.Arn) -> bool:
    domain_id, _, name = arn.resource_id.partition("/")
    row = store.get_user_profile(conn, domain_id, name)
    return row is not None and row.account_id == arn.account and row.region == arn.region


def _project(conn: Connection, arn: arns.Arn) -> bool:
    return store.find_project(conn, arn.account, arn.region, arn.resource_id) is not None


#: ARN resource type -> whether the resource exists.
RESOURCE_EXISTS: dict[str, Exists] = {"domain": _domain, "user-profile": _user_profile, "project": _project}


def _check(ctx: RequestContext, conn: Connection, arn_text: str) -> None:
    try:
        arn = arns.parse(arn_text)
    except ValueError:
        raise SageMakerValidation(f"{arn_text} is not a valid ARN.") from None
    if arn.service != "sagemaker" or arn.account != ctx.account_id or arn.region != ctx.region:
        raise SageMakerValidation(f"Resource {arn_text} is not a SageMaker resource of this account and region.")
    exists = RESOURCE_EXISTS.get(arn.resource_type)
    if exists is None or not exists(conn, arn):
        raise ResourceNotFound(f"Resource {arn_text} not found.")
    ctx.resources.append(arn_text)


class TagOperations:
    backend: Any

    def add_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn, new = params["ResourceArn"], list(params["Tags"])
        for tag in new:
            if tag["Key"].lower().startswith("aws:"):
                raise SageMakerValidation("User-defined tag keys cannot start with 'aws:'.")
        with self.backend.db.begin() as conn:
            _check(ctx, conn, arn)
            keys = {t["Key"] for t in store.get_tags(conn, arn)} | {t["Key"] for t in new}
            if len(keys) > MAX_TAGS:
                raise SageMakerValidation(f"A resource can have at most {MAX_TAGS} tags.")
            store.put_tags(conn, arn, new)
        return {"Tags": new}

    def list_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        from seedbed.services.sagemaker import common

        arn = params["ResourceArn"]
        with self.backend.db.connect() as conn:
            _check(ctx, conn, arn)
            all_tags = store.get_tags(conn, arn)
        offset = common.decode_token(params.get("NextToken"), {"arn": arn})
        limit = common.max_results(params, 50, top=10000)
        out: dict[str, Any] = {"Tags": all_tags[offset : offset + limit]}
        if offset + limit < len(all_tags):
            out["NextToken"] = common.encode_token(offset + limit, {"arn": arn})
        return out

    def delete_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            _check(ctx, conn, params["ResourceArn"])
            store.delete_tags(conn, params["ResourceArn"], list(params["TagKeys"]))
        return {}
