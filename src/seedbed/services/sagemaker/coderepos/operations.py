"""SageMaker: code repositories (CreateCodeRepository and its family).

A code repository is a named pointer (URL, branch, secret) that notebook instances and Studio
spaces clone from; SageMaker project templates create one for each repository they use. The URL
may be anything git understands; those pointing at Seedbed's git server (``/v1/repos/...``,
``/git-http/...``) are clonable with the caller's AWS credentials.

The operations are a mixin of :class:`seedbed.services.sagemaker.provider.SageMakerProvider`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from seedbed.server.context import RequestContext
from seedbed.services.sagemaker import common
from seedbed.services.sagemaker import store as sm_store
from seedbed.services.sagemaker import tags as sm_tags
from seedbed.services.sagemaker.coderepos import store
from seedbed.services.sagemaker.errors import SageMakerValidation
from seedbed.state import arns


def _exists(conn: Any, arn: arns.Arn) -> bool:
    return store.get(conn, arn.account, arn.region, arn.resource_id) is not None


sm_tags.RESOURCE_EXISTS["code-repository"] = _exists  # ListTags/AddTags/DeleteTags on its ARN


def _valid_url(url: str) -> bool:
    return url.startswith(("https://", "http://", "git@", "ssh://", "codecommit::"))


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "CodeRepositoryName": row["name"], "CodeRepositoryArn": row["arn"],
        "CreationTime": row["created"], "LastModifiedTime": row["modified"], "GitConfig": row["git_config"],
    }


class CodeRepositoryOperations:
    backend: Any

    async def resume_coderepos(self) -> None:
        """Pick up what a crash interrupted (called once at start-up): nothing runs long here."""

    def _code_repository(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            row = store.get(conn, ctx.account_id, ctx.region, name)
        if row is None:
            raise SageMakerValidation(f"Cannot find CodeRepository with name {name}.")
        ctx.resources.append(row["arn"])
        return row

    def create_code_repository(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["CodeRepositoryName"]
        config = dict(params["GitConfig"])
        if not _valid_url(config["RepositoryUrl"]):
            raise SageMakerValidation(f"RepositoryUrl {config['RepositoryUrl']} is not a git URL.")
        arn = common.arn(ctx, "code-repository", name.lower())
        tags = list(params.get("Tags") or [])
        if len(tags) > sm_tags.MAX_TAGS:
            raise SageMakerValidation(f"A resource can have at most {sm_tags.MAX_TAGS} tags.")
        created = store.now()
        try:
            with self.backend.db.begin() as conn:
                store.add(conn, account_id=ctx.account_id, region=ctx.region, name=name, arn=arn,
                          git_config=config, created=created, modified=created)
                if tags:
                    sm_store.put_tags(conn, arn, tags)
        except IntegrityError:
            raise SageMakerValidation(f"Cannot create a duplicate CodeRepository with name {name}.") from None
        ctx.resources.append(arn)
        return {"CodeRepositoryArn": arn}

    def describe_code_repository(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return _summary(self._code_repository(ctx, params["CodeRepositoryName"]))

    def list_code_repositories(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = store.list_all(conn, ctx.account_id, ctx.region)
        if params.get("NameContains"):
            rows = [r for r in rows if params["NameContains"].lower() in r["name"].lower()]
        for key, column, after in (("CreationTimeAfter", "created", True), ("CreationTimeBefore", "created", False),
                                   ("LastModifiedTimeAfter", "modified", True), ("LastModifiedTimeBefore", "modified", False)):
            if params.get(key) is not None:
                rows = [r for r in rows if (r[column] > params[key]) == after]
        sort = {"Name": "name", "CreationTime": "created", "LastModifiedTime": "modified"}[params.get("SortBy") or "Name"]
        rows.sort(key=lambda r: r[sort], reverse=(params.get("SortOrder") or "Ascending") == "Descending")
        query = {k: params.get(k) for k in ("NameContains", "SortBy", "SortOrder")}
        offset = common.decode_token(params.get("NextToken"), query)
        limit = common.max_results(params, 10)
        page = rows[offset:offset + limit]
        out: dict[str, Any] = {"CodeRepositorySummaryList": [_summary(r) for r in page]}
        if offset + limit < len(rows):
            out["NextToken"] = common.encode_token(offset + limit, query)
        return out

    def update_code_repository(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._code_repository(ctx, params["CodeRepositoryName"])
        config = dict(row["git_config"])
        if params.get("GitConfig") and params["GitConfig"].get("SecretArn"):
            config["SecretArn"] = params["GitConfig"]["SecretArn"]
        with self.backend.db.begin() as conn:
            store.change(conn, ctx.account_id, ctx.region, row["name"], git_config=config, modified=store.now())
        return {"CodeRepositoryArn": row["arn"]}

    def delete_code_repository(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._code_repository(ctx, params["CodeRepositoryName"])
        with self.backend.db.begin() as conn:
            store.remove(conn, ctx.account_id, ctx.region, row["name"])
            sm_store.delete_tags(conn, row["arn"], [t["Key"] for t in sm_store.get_tags(conn, row["arn"])])
        return {}
