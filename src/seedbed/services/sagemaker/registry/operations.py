"""SageMaker: the model registry: model package groups and model packages.

A versioned model package belongs to a group and gets the group's next version (1, 2, ...), with
the ARN ``model-package/<group>/<version>``; an unversioned one has a ``ModelPackageName`` of its
own. Creating a package and every approval change emit "SageMaker Model Package State Change" on
the account's default event bus, the event MLOps templates hang their deployment on.

The operations are a mixin of :class:`seedbed.services.sagemaker.provider.SageMakerProvider`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from seedbed.server.context import RequestContext
from seedbed.services.events import publish
from seedbed.services.sagemaker import common, tags
from seedbed.services.sagemaker import store as sm_store
from seedbed.services.sagemaker.errors import Conflict, ResourceNotFound, SageMakerValidation
from seedbed.services.sagemaker.registry import store
from seedbed.state import arns

EVENT_SOURCE = "aws.sagemaker"
STATE_CHANGE = "SageMaker Model Package State Change"
DEFAULT_APPROVAL = "PendingManualApproval"
#: CreateModelPackage members kept as given and returned by DescribeModelPackage.
_KEPT = (
    "InferenceSpecification", "ValidationSpecification", "SourceAlgorithmSpecification", "CertifyForMarketplace",
    "MetadataProperties", "ModelMetrics", "Domain", "Task", "SamplePayloadUrl", "CustomerMetadataProperties",
    "DriftCheckBaselines", "AdditionalInferenceSpecifications", "SkipModelValidation", "SourceUri", "SecurityConfig",
    "ModelCard", "ModelLifeCycle", "ManagedStorageType",
)
_STATUS_DETAILS = {"ValidationStatuses": [], "ImageScanStatuses": []}


def _group_exists(conn: Connection, arn: arns.Arn) -> bool:
    return store.find_group(conn, arn.account, arn.region, arn.resource_id) is not None


def _package_exists(conn: Connection, arn: arns.Arn) -> bool:
    return store.get_package(conn, str(arn)) is not None


tags.RESOURCE_EXISTS.setdefault("model-package-group", _group_exists)
tags.RESOURCE_EXISTS.setdefault("model-package", _package_exists)


def _name_of(value: str) -> str:
    """A name given as a name or as an ARN (``...:model-package-group/<name>``)."""
    if value.startswith("arn:"):
        return value.rsplit("/", 1)[-1]
    return value


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = sm_store.aware(value)
    assert value is not None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _event_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, dict):
        return {k: _event_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_event_json(v) for v in value]
    return value


def _check_model_card(card: dict[str, Any] | None) -> None:
    if not card:
        return
    content = card.get("ModelCardContent")
    if content is not None:
        try:
            parsed = json.loads(content)
        except ValueError:
            raise SageMakerValidation("ModelCardContent must be a JSON document.") from None
        if not isinstance(parsed, dict):
            raise SageMakerValidation("ModelCardContent must be a JSON object.")
        # Only these sections belong to a model package's card (the rest live on the package).
        allowed = {"model_overview", "intended_uses", "business_details", "evaluation_details", "additional_information"}
        extra = sorted(set(parsed) - allowed)
        if extra:
            raise SageMakerValidation(
                f"ModelCardContent for a model package may contain only {sorted(allowed)}; got {extra}."
            )


class ModelRegistryOperations:
    backend: Any

    async def resume_registry(self) -> None:
        """Nothing long-running: every registry operation completes in its request."""

    # -- helpers --------------------------------------------------------------------------------

    def _mpg(self, ctx: RequestContext, conn: Connection, name: str) -> Any:
        row = store.find_group(conn, ctx.account_id, ctx.region, _name_of(name))
        if row is None:
            raise ResourceNotFound(f"ModelPackageGroup {_name_of(name)} does not exist.")
        ctx.resources.append(row.arn)
        return row

    def _package(self, ctx: RequestContext, conn: Connection, name: str) -> Any:
        if name.startswith("arn:"):
            # SageMaker lower-cases names in ARNs; accept an ARN written in any case.
            head, sep, tail = name.partition(":model-package/")
            row = store.get_package(conn, head + sep + tail.lower()) if sep else None
        else:
            row = store.find_unversioned(conn, ctx.account_id, ctx.region, name)
        if row is None or row.account_id != ctx.account_id or row.region != ctx.region:
            raise SageMakerValidation(f"Model Package {name} does not exist.")
        ctx.resources.append(row.arn)
        return row

    @staticmethod
    def _describe_package(row: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ModelPackageName": row.name, "ModelPackageArn": row.arn, "CreationTime": sm_store.aware(row.created),
            "ModelPackageStatus": row.status, "ModelPackageStatusDetails": dict(_STATUS_DETAILS),
            "CreatedBy": row.created_by or {},
        }
        if row.version is not None:
            out["ModelPackageGroupName"] = row.name
            out["ModelPackageVersion"] = row.version
        body = dict(row.body or {})
        out["ModelPackageRegistrationType"] = body.pop("ModelPackageRegistrationType", "Registered")
        if row.description:
            out["ModelPackageDescription"] = row.description
        if row.approval:
            out["ModelApprovalStatus"] = row.approval
        if row.approval_description:
            out["ApprovalDescription"] = row.approval_description
        if row.modified is not None:
            out["LastModifiedTime"] = sm_store.aware(row.modified)
        if row.modified_by:
            out["LastModifiedBy"] = row.modified_by
        out.update(body)
        if out.get("CertifyForMarketplace") is None:
            out["CertifyForMarketplace"] = False
        return out

    async def _emit_state_change(self, row: Any) -> None:
        detail = _event_json(self._describe_package(row))
        await publish.emit(self.backend, row.account_id, row.region, EVENT_SOURCE, STATE_CHANGE, detail, [row.arn])

    # -- groups ---------------------------------------------------------------------------------

    def create_model_package_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ModelPackageGroupName"]
        arn = common.arn(ctx, "model-package-group", name)
        try:
            with self.backend.db.begin() as conn:
                if store.find_group(conn, ctx.account_id, ctx.region, name) is not None:
                    raise SageMakerValidation(f"Model Package Group already exists: {arn}")
                store.insert_group(conn, {
                    "arn": arn, "account_id": ctx.account_id, "region": ctx.region, "name": name, "lname": name.lower(),
                    "description": params.get("ModelPackageGroupDescription"), "status": "Completed",
                    "created_by": {"IamIdentity": common.iam_identity(ctx.principal)}, "policy": None,
                    "next_version": 1, "created": sm_store.now(),
                })
                sm_store.delete_all_tags(conn, arn)
                if params.get("Tags"):
                    sm_store.put_tags(conn, arn, list(params["Tags"]))
        except IntegrityError:
            raise SageMakerValidation(f"Model Package Group already exists: {arn}") from None
        ctx.resources.append(arn)
        return {"ModelPackageGroupArn": arn}

    def describe_model_package_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            row = self._mpg(ctx, conn, params["ModelPackageGroupName"])
        return self._group_out(row, full=True)

    @staticmethod
    def _group_out(row: Any, full: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ModelPackageGroupName": row.name, "ModelPackageGroupArn": row.arn,
            "CreationTime": sm_store.aware(row.created), "ModelPackageGroupStatus": row.status,
        }
        if row.description:
            out["ModelPackageGroupDescription"] = row.description
        if full:
            out["CreatedBy"] = row.created_by or {}
        return out

    def list_model_package_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("CrossAccountFilterOption") == "CrossAccount":
            return {"ModelPackageGroupSummaryList": []}  # no other account shares groups with this one
        query = {k: params.get(k) for k in ("CreationTimeAfter", "CreationTimeBefore", "NameContains", "SortBy", "SortOrder")}
        offset = common.decode_token(params.get("NextToken"), query)
        limit = common.max_results(params, 100)
        with self.backend.db.connect() as conn:
            rows = store.list_groups(
                conn, ctx.account_id, ctx.region, name_contains=params.get("NameContains"),
                after=params.get("CreationTimeAfter"), before=params.get("CreationTimeBefore"),
                sort_by=params.get("SortBy") or "CreationTime",
                descending=(params.get("SortOrder") or "Ascending") == "Descending", offset=offset, limit=limit,
            )
        out: dict[str, Any] = {"ModelPackageGroupSummaryList": [self._group_out(r) for r in rows[:limit]]}
        if len(rows) > limit:
            out["NextToken"] = common.encode_token(offset + limit, query)
        return out

    def delete_model_package_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            row = self._mpg(ctx, conn, params["ModelPackageGroupName"])
            if store.count_in_group(conn, ctx.account_id, ctx.region, row.lname):
                raise Conflict(
                    f"Model Package Group {row.name} contains model packages; delete them before deleting the group."
                )
            store.delete_group(conn, row.arn)
            sm_store.delete_all_tags(conn, row.arn)
        return {}

    def put_model_package_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        policy = params["ResourcePolicy"]
        try:
            doc = json.loads(policy)
        except ValueError:
            raise SageMakerValidation("ResourcePolicy is not a valid JSON policy document.") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("Statement"), (list, dict)):
            raise SageMakerValidation("ResourcePolicy must be a policy document with a Statement.")
        with self.backend.db.begin() as conn:
            row = self._mpg(ctx, conn, params["ModelPackageGroupName"])
            store.update_group(conn, row.arn, policy=policy)
        return {"ModelPackageGroupArn": row.arn}

    def get_model_package_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            row = self._mpg(ctx, conn, params["ModelPackageGroupName"])
        if not row.policy:
            raise ResourceNotFound(f"Cannot find resource policy for model package group {row.name}.")
        return {"ResourcePolicy": row.policy}

    def delete_model_package_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            row = self._mpg(ctx, conn, params["ModelPackageGroupName"])
            if not row.policy:
                raise ResourceNotFound(f"Cannot find resource policy for model package group {row.name}.")
            store.update_group(conn, row.arn, policy=None)
        return {}

    # -- packages -------------------------------------------------------------------------------

    async def create_model_package(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group_name = params.get("ModelPackageGroupName")
        own_name = params.get("ModelPackageName")
        if group_name and own_name:
            raise SageMakerValidation("Specify either ModelPackageName (unversioned) or ModelPackageGroupName (versioned), not both.")
        if not group_name and not own_name:
            raise SageMakerValidation("Either ModelPackageName or ModelPackageGroupName must be specified.")
        if own_name and params.get("ModelApprovalStatus"):
            raise SageMakerValidation("ModelApprovalStatus can only be set for versioned model packages.")
        unspecified = not params.get("InferenceSpecification") and not params.get("SourceAlgorithmSpecification")
        if unspecified and (own_name or params.get("ModelPackageRegistrationType") != "Logged"):
            raise SageMakerValidation("InferenceSpecification or SourceAlgorithmSpecification must be specified.")
        _check_model_card(params.get("ModelCard"))
        token = params.get("ClientToken")
        body = {k: params[k] for k in _KEPT if k in params}
        body = {k: v for k, v in body.items() if v not in ({}, None)}
        if params.get("ModelMetrics"):
            body["ModelMetrics"] = {k: v for k, v in params["ModelMetrics"].items() if v}
        body["ModelPackageRegistrationType"] = params.get("ModelPackageRegistrationType") or "Registered"
        when = sm_store.now()
        created_by = {"IamIdentity": common.iam_identity(ctx.principal)}
        try:
            with self.backend.db.begin() as conn:
                if token:
                    earlier = store.find_by_token(conn, ctx.account_id, ctx.region, token)
                    if earlier is not None:
                        ctx.resources.append(earlier.arn)
                        return {"ModelPackageArn": earlier.arn}
                if group_name:
                    group = self._mpg(ctx, conn, group_name)
                    version = store.take_version(conn, group.arn)
                    arn = common.arn(ctx, "model-package", f"{group.name}/{version}")
                    values = {"name": group.name, "lname": group.lname, "group_lname": group.lname, "version": version,
                              "unversioned_name": None, "approval": params.get("ModelApprovalStatus") or DEFAULT_APPROVAL}
                else:
                    assert own_name is not None
                    if store.find_unversioned(conn, ctx.account_id, ctx.region, own_name) is not None:
                        raise Conflict(f"Model Package {own_name} already exists.")
                    arn = common.arn(ctx, "model-package", own_name)
                    values = {"name": own_name, "lname": own_name.lower(), "group_lname": None, "version": None,
                              "unversioned_name": own_name.lower(), "approval": None}
                store.insert_package(conn, {
                    "arn": arn, "account_id": ctx.account_id, "region": ctx.region, "status": "Completed",
                    "description": params.get("ModelPackageDescription"), "approval_description": None, "body": body,
                    "client_token": token, "created_by": created_by, "modified_by": None, "created": when,
                    "modified": when, **values,
                })
                sm_store.delete_all_tags(conn, arn)
                if params.get("Tags"):
                    sm_store.put_tags(conn, arn, list(params["Tags"]))
                row = store.get_package(conn, arn)
        except IntegrityError:
            raise Conflict(f"Model Package {own_name or group_name} already exists.") from None
        ctx.resources.append(arn)
        await self._emit_state_change(row)
        return {"ModelPackageArn": arn}

    def describe_model_package(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            row = self._package(ctx, conn, params["ModelPackageName"])
        return self._describe_package(row)

    def list_model_packages(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        query = {k: params.get(k) for k in (
            "CreationTimeAfter", "CreationTimeBefore", "NameContains", "ModelApprovalStatus", "ModelPackageGroupName",
            "ModelPackageType", "SortBy", "SortOrder",
        )}
        offset = common.decode_token(params.get("NextToken"), query)
        limit = common.max_results(params, 100)
        group = params.get("ModelPackageGroupName")
        # Documented default: unversioned packages; a group filter means its versions.
        kind = params.get("ModelPackageType") or ("Versioned" if group else "Unversioned")
        with self.backend.db.connect() as conn:
            group_lname = None
            if group:
                group_lname = self._mpg(ctx, conn, group).lname
            rows = store.list_packages(
                conn, ctx.account_id, ctx.region, kind=kind, group_lname=group_lname,
                approval=params.get("ModelApprovalStatus"), name_contains=params.get("NameContains"),
                after=params.get("CreationTimeAfter"), before=params.get("CreationTimeBefore"),
                sort_by=params.get("SortBy") or "CreationTime",
                descending=(params.get("SortOrder") or "Ascending") == "Descending", offset=offset, limit=limit,
            )
        summaries = []
        for row in rows[:limit]:
            full = self._describe_package(row)
            keys = ("ModelPackageName", "ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn",
                    "ModelPackageDescription", "CreationTime", "ModelPackageStatus", "ModelApprovalStatus",
                    "ModelLifeCycle", "ModelPackageRegistrationType")
            summaries.append({k: full[k] for k in keys if k in full})
        out: dict[str, Any] = {"ModelPackageSummaryList": summaries}
        if len(rows) > limit:
            out["NextToken"] = common.encode_token(offset + limit, query)
        return out

    async def update_model_package(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _check_model_card(params.get("ModelCard"))
        with self.backend.db.begin() as conn:
            row = self._package(ctx, conn, params["ModelPackageArn"])
            body = dict(row.body or {})
            values: dict[str, Any] = {}
            approval = params.get("ModelApprovalStatus")
            if approval is not None:
                if row.version is None:
                    raise SageMakerValidation("ModelApprovalStatus can only be updated for versioned model packages.")
                values["approval"] = approval
            if "ApprovalDescription" in params:
                values["approval_description"] = params["ApprovalDescription"]
            metadata = dict(body.get("CustomerMetadataProperties") or {})
            for key in params.get("CustomerMetadataPropertiesToRemove") or []:
                metadata.pop(key, None)
            metadata.update(params.get("CustomerMetadataProperties") or {})
            if metadata or "CustomerMetadataProperties" in body:
                body["CustomerMetadataProperties"] = metadata
                if not metadata:
                    body.pop("CustomerMetadataProperties")
            extra = params.get("AdditionalInferenceSpecificationsToAdd") or []
            if extra:
                existing = list(body.get("AdditionalInferenceSpecifications") or [])
                names = {s.get("Name") for s in existing}
                for spec in extra:
                    if spec.get("Name") in names:
                        raise SageMakerValidation(f"AdditionalInferenceSpecification {spec.get('Name')} already exists.")
                body["AdditionalInferenceSpecifications"] = existing + list(extra)
            for key in ("InferenceSpecification", "SourceUri", "ModelLifeCycle", "ModelPackageRegistrationType"):
                if params.get(key) is not None:
                    body[key] = params[key]
            if params.get("ModelCard") is not None:
                card = dict(body.get("ModelCard") or {})
                card.update(params["ModelCard"])
                body["ModelCard"] = card
            values.update(body=body, modified=sm_store.now(), modified_by={"IamIdentity": common.iam_identity(ctx.principal)})
            store.update_package(conn, row.arn, **values)
            new = store.get_package(conn, row.arn)
        if approval is not None and approval != row.approval:
            await self._emit_state_change(new)
        return {"ModelPackageArn": row.arn}

    def delete_model_package(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            row = self._package(ctx, conn, params["ModelPackageName"])
            store.delete_package(conn, row.arn)
            sm_store.delete_all_tags(conn, row.arn)
        return {}

    def batch_describe_model_package(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        summaries: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        keys = ("ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn", "ModelPackageDescription",
                "CreationTime", "InferenceSpecification", "ModelPackageStatus", "ModelApprovalStatus",
                "ModelPackageRegistrationType")
        with self.backend.db.connect() as conn:
            for arn in params["ModelPackageArnList"]:
                row = store.get_package(conn, arn)
                if row is None or row.account_id != ctx.account_id or row.region != ctx.region:
                    errors[arn] = {"ErrorCode": "ValidationException", "ErrorResponse": f"Model Package {arn} does not exist."}
                    continue
                full = self._describe_package(row)
                summary = {k: full[k] for k in keys if k in full}
                summary.setdefault("ModelPackageGroupName", row.name)
                summary.setdefault("InferenceSpecification", {"Containers": [], "SupportedContentTypes": [], "SupportedResponseMIMETypes": []})
                summaries[arn] = summary
        out: dict[str, Any] = {"ModelPackageSummaries": summaries}
        if errors:
            out["BatchDescribeModelPackageErrorMap"] = errors
        return out
