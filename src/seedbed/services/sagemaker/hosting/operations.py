"""SageMaker hosting: models, endpoint configs and endpoints.

The operations are a mixin of :class:`seedbed.services.sagemaker.provider.SageMakerProvider`.
Models and endpoint configs are records; an endpoint is a record plus live fleets of model servers
(:mod:`.deploy`) that ``sagemaker-runtime`` calls. Endpoint operations are long: the API call
journals the operation on the endpoint row (status Creating/Updating) and returns; a task does the
work, and :meth:`resume_hosting` re-runs what a crash interrupted and restarts the fleets of
endpoints that were in service. Each endpoint row keeps a snapshot of its config and models, so a
deleted config or model (allowed, as on AWS) does not stop an endpoint from restarting.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from datetime import datetime
from typing import Any

from seedbed.errors import ServiceError
from seedbed.server.context import RequestContext
from seedbed.services.events.publish import emit
from seedbed.services.sagemaker import common
from seedbed.services.sagemaker import store as sm_store
from seedbed.services.sagemaker import tags as sm_tags
from seedbed.services.sagemaker.errors import SageMakerValidation
from seedbed.services.sagemaker.hosting import store
from seedbed.services.sagemaker.hosting.artifacts import ArtifactError, split_s3
from seedbed.services.sagemaker.hosting.capture import Capture
from seedbed.services.sagemaker.hosting.deploy import (
    DeployError,
    HostingManager,
    LiveEndpoint,
    Route,
    instance_count,
    model_image,
    resolved_image,
    stop_routes,
)

log = logging.getLogger(__name__)

IN_PROGRESS = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")
MODEL_FIELDS = ("PrimaryContainer", "Containers", "InferenceExecutionConfig", "ExecutionRoleArn", "VpcConfig",
                "EnableNetworkIsolation")
CONFIG_FIELDS = ("ProductionVariants", "DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig", "ExplainerConfig",
                 "ShadowProductionVariants", "ExecutionRoleArn", "VpcConfig", "EnableNetworkIsolation")
ALARM_POLL_SECONDS = 2.0


def _exists(table: Any) -> sm_tags.Exists:
    def exists(conn: Any, arn: Any) -> bool:
        return store.get(conn, table, arn.account, arn.region, arn.resource_id) is not None

    return exists


sm_tags.RESOURCE_EXISTS.update({
    "model": _exists(store.models),
    "endpoint-config": _exists(store.endpoint_configs),
    "endpoint": _exists(store.endpoints),
})


def _check_tags(tags: list[dict[str, str]] | None) -> list[dict[str, str]]:
    for tag in tags or []:
        if tag["Key"].lower().startswith("aws:"):
            raise SageMakerValidation("User-defined tag keys cannot start with 'aws:'.")
    return list(tags or [])


def _page(items: list[dict[str, Any]], params: dict[str, Any], query: dict[str, Any], key: str) -> dict[str, Any]:
    offset = common.decode_token(params.get("NextToken"), query)
    limit = common.max_results(params, 10)
    out: dict[str, Any] = {key: items[offset:offset + limit]}
    if offset + limit < len(items):
        out["NextToken"] = common.encode_token(offset + limit, query)
    return out


def _filter_sort(rows: list[Any], params: dict[str, Any], name_key: str, time_key: str,
                 default_order: str = "Descending") -> list[Any]:
    contains = (params.get("NameContains") or "").lower()
    out = []
    for row in rows:
        if contains and contains not in row["name"].lower():
            continue
        created = row["created"]
        if params.get("CreationTimeBefore") and not created < params["CreationTimeBefore"]:
            continue
        if params.get("CreationTimeAfter") and not created > params["CreationTimeAfter"]:
            continue
        modified = row.get("modified") or created
        if params.get("LastModifiedTimeBefore") and not modified < params["LastModifiedTimeBefore"]:
            continue
        if params.get("LastModifiedTimeAfter") and not modified > params["LastModifiedTimeAfter"]:
            continue
        if params.get("StatusEquals") and row.get("status") != params["StatusEquals"]:
            continue
        out.append(row)
    sort_by = params.get("SortBy") or "CreationTime"
    field = {"Name": "name", "CreationTime": "created", "Status": "status"}.get(sort_by, "created")
    descending = (params.get("SortOrder") or default_order) == "Descending"
    out.sort(key=lambda r: (r[field], r["name"]), reverse=descending)
    return out


def _row_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data["created"] = store.aware(data["created"])
    if "modified" in data:
        data["modified"] = store.aware(data["modified"])
    return data


def _epoch_ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


class HostingOperations:
    backend: Any

    # -- the live side ------------------------------------------------------------------------

    @property
    def hosting(self) -> HostingManager:
        manager = getattr(self, "_hosting_manager", None)
        if manager is None:
            manager = self._hosting_manager = HostingManager(self.backend)
        return manager

    def close_area(self) -> None:
        manager = getattr(self, "_hosting_manager", None)
        if manager is not None:
            manager.kill_all()

    # -- models -------------------------------------------------------------------------------

    async def create_model(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ModelName"]
        arn = common.arn(ctx, "model", name)
        with self.backend.db.connect() as conn:
            if store.get(conn, store.models, ctx.account_id, ctx.region, name) is not None:
                raise SageMakerValidation(f'Cannot create already existing model "{arn}".')
        containers = params.get("Containers")
        primary = params.get("PrimaryContainer")
        if primary and containers:
            raise SageMakerValidation("Specify either PrimaryContainer or Containers, not both.")
        given = containers or ([primary] if primary else [])
        if not given:
            raise SageMakerValidation("Either PrimaryContainer or Containers must be specified.")
        if len(given) > 1 or (params.get("InferenceExecutionConfig") or {}).get("Mode") == "Direct":
            raise SageMakerValidation(
                "Seedbed does not run inference pipelines or multi-container models (more than one "
                "container) yet: give one container.")
        container = given[0]
        if container.get("Mode") == "MultiModel":
            raise SageMakerValidation("Seedbed does not host multi-model endpoints (Mode MultiModel) yet.")
        tags = _check_tags(params.get("Tags"))
        role = params.get("ExecutionRoleArn")
        if role:
            self.backend.authorizer.check_pass_role(ctx, role, "sagemaker.amazonaws.com", arn)
            try:
                self.hosting.artifacts.session(role)
            except ArtifactError as exc:
                raise SageMakerValidation(str(exc)) from None
        resolved: dict[str, Any] = {}
        if container.get("ModelPackageName"):
            resolved = await self._hs_resolve_package(ctx, container["ModelPackageName"])
        elif not container.get("Image"):
            raise SageMakerValidation("A container needs an Image (or a ModelPackageName).")
        data_url = container.get("ModelDataUrl") or resolved.get("ModelDataUrl")
        if data_url:
            try:
                split_s3(data_url)
                principal = self.hosting.artifacts.session(role).principal if role else ctx.principal
                await self.hosting.artifacts.head(principal, data_url, ctx.region, ctx.account_id)
            except ArtifactError as exc:
                raise SageMakerValidation(f"Could not find model data at {data_url}. {exc}") from None
        spec = {k: params[k] for k in MODEL_FIELDS if params.get(k) is not None}
        if resolved:
            spec["Resolved"] = [resolved]
        with self.backend.db.begin() as conn:
            if store.get(conn, store.models, ctx.account_id, ctx.region, name) is not None:
                raise SageMakerValidation(f'Cannot create already existing model "{arn}".')
            store.add(conn, store.models, {"account_id": ctx.account_id, "region": ctx.region, "name": name,
                                           "arn": arn, "spec": spec, "created": store.now()})
            if tags:
                sm_store.put_tags(conn, arn, tags)
        ctx.resources.append(arn)
        return {"ModelArn": arn}

    async def _hs_resolve_package(self, ctx: RequestContext, package: str) -> dict[str, Any]:
        """The serving container of a model package (its InferenceSpecification)."""
        try:
            out = await self.backend.call(None, "sagemaker", "DescribeModelPackage",
                                          {"ModelPackageName": package}, ctx.region, ctx.account_id)
        except ServiceError as exc:
            raise SageMakerValidation(f"Could not find model package {package}: {exc.message}") from None
        containers = (out.get("InferenceSpecification") or {}).get("Containers") or []
        if not containers:
            raise SageMakerValidation(f"Model package {package} has no InferenceSpecification containers.")
        if len(containers) > 1:
            raise SageMakerValidation(
                f"Model package {package} has {len(containers)} containers: Seedbed does not run "
                "inference pipelines yet.")
        first = containers[0]
        return {k: first[k] for k in ("Image", "ModelDataUrl", "Environment", "ModelDataSource", "Framework")
                if first.get(k) is not None}

    def describe_model(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._hs_model(ctx, params["ModelName"])
        spec = dict(row.spec)
        spec.pop("Resolved", None)
        ctx.resources.append(row.arn)
        return {"ModelName": row.name, **spec, "CreationTime": store.aware(row.created), "ModelArn": row.arn}

    def _hs_model(self, ctx: RequestContext, name: str) -> Any:
        with self.backend.db.connect() as conn:
            row = store.get(conn, store.models, ctx.account_id, ctx.region, name)
        if row is None:
            raise SageMakerValidation(f'Could not find model "{common.arn(ctx, "model", name)}".')
        return row

    def list_models(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = [_row_dict(r) for r in store.listing(conn, store.models, ctx.account_id, ctx.region)]
        rows = _filter_sort(rows, params, "ModelName", "CreationTime")
        items = [{"ModelName": r["name"], "ModelArn": r["arn"], "CreationTime": r["created"]} for r in rows]
        query = {k: params.get(k) for k in ("SortBy", "SortOrder", "NameContains", "CreationTimeBefore",
                                            "CreationTimeAfter")}
        return _page(items, params, query, "Models")

    def delete_model(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._hs_model(ctx, params["ModelName"])
        with self.backend.db.begin() as conn:
            store.remove(conn, store.models, ctx.account_id, ctx.region, row.name)
            sm_store.delete_all_tags(conn, row.arn)
        ctx.resources.append(row.arn)
        return {}

    # -- endpoint configs --------------------------------------------------------------------

    def create_endpoint_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointConfigName"]
        arn = common.arn(ctx, "endpoint-config", name)
        tags = _check_tags(params.get("Tags"))
        variants = []
        seen: set[str] = set()
        with self.backend.db.connect() as conn:
            if store.get(conn, store.endpoint_configs, ctx.account_id, ctx.region, name) is not None:
                raise SageMakerValidation(f'Cannot create already existing endpoint configuration "{arn}".')
            for given in params["ProductionVariants"]:
                variant = dict(given)
                if variant["VariantName"] in seen:
                    raise SageMakerValidation(f"The variant name {variant['VariantName']} is used more than once.")
                seen.add(variant["VariantName"])
                if not variant.get("ModelName"):
                    raise SageMakerValidation(
                        f"Production variant {variant['VariantName']} needs a ModelName (inference components "
                        "are not supported by Seedbed yet).")
                if store.get(conn, store.models, ctx.account_id, ctx.region, variant["ModelName"]) is None:
                    raise SageMakerValidation(
                        f'Could not find model "{common.arn(ctx, "model", variant["ModelName"])}".')
                serverless = variant.get("ServerlessConfig")
                if not serverless and not variant.get("InstanceType"):
                    raise SageMakerValidation(
                        f"Either InstanceType or ServerlessConfig must be specified for production variant "
                        f"{variant['VariantName']}.")
                if serverless and (variant.get("InstanceType") or variant.get("InitialInstanceCount")):
                    raise SageMakerValidation("A serverless variant cannot specify InstanceType or InitialInstanceCount.")
                if not serverless and not variant.get("InitialInstanceCount"):
                    raise SageMakerValidation(
                        f"InitialInstanceCount must be specified for production variant {variant['VariantName']}.")
                variant.setdefault("InitialVariantWeight", 1.0)
                variants.append(variant)
        if params.get("ShadowProductionVariants"):
            raise SageMakerValidation("Seedbed does not run shadow variants yet.")
        capture = params.get("DataCaptureConfig")
        if capture:
            if not str(capture.get("DestinationS3Uri", "")).startswith("s3://"):
                raise SageMakerValidation("DataCaptureConfig.DestinationS3Uri must be an s3:// URI.")
            if not 0 <= int(capture.get("InitialSamplingPercentage", 0)) <= 100:
                raise SageMakerValidation("InitialSamplingPercentage must be between 0 and 100.")
        async_config = params.get("AsyncInferenceConfig")
        if async_config and not str((async_config.get("OutputConfig") or {}).get("S3OutputPath", "")).startswith("s3://"):
            raise SageMakerValidation("AsyncInferenceConfig.OutputConfig.S3OutputPath must be an s3:// URI.")
        spec = {k: params[k] for k in CONFIG_FIELDS if params.get(k) is not None}
        spec["ProductionVariants"] = variants
        with self.backend.db.begin() as conn:
            store.add(conn, store.endpoint_configs, {"account_id": ctx.account_id, "region": ctx.region,
                                                     "name": name, "arn": arn, "spec": spec, "created": store.now()})
            if tags:
                sm_store.put_tags(conn, arn, tags)
        ctx.resources.append(arn)
        return {"EndpointConfigArn": arn}

    def _hs_config(self, ctx: RequestContext, name: str) -> Any:
        with self.backend.db.connect() as conn:
            row = store.get(conn, store.endpoint_configs, ctx.account_id, ctx.region, name)
        if row is None:
            raise SageMakerValidation(
                f'Could not find endpoint configuration "{common.arn(ctx, "endpoint-config", name)}".')
        return row

    def describe_endpoint_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._hs_config(ctx, params["EndpointConfigName"])
        ctx.resources.append(row.arn)
        return {"EndpointConfigName": row.name, "EndpointConfigArn": row.arn, **row.spec,
                "CreationTime": store.aware(row.created)}

    def list_endpoint_configs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = [_row_dict(r) for r in store.listing(conn, store.endpoint_configs, ctx.account_id, ctx.region)]
        rows = _filter_sort(rows, params, "EndpointConfigName", "CreationTime")
        items = [{"EndpointConfigName": r["name"], "EndpointConfigArn": r["arn"], "CreationTime": r["created"]}
                 for r in rows]
        query = {k: params.get(k) for k in ("SortBy", "SortOrder", "NameContains", "CreationTimeBefore",
                                            "CreationTimeAfter")}
        return _page(items, params, query, "EndpointConfigs")

    def delete_endpoint_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._hs_config(ctx, params["EndpointConfigName"])
        with self.backend.db.begin() as conn:
            store.remove(conn, store.endpoint_configs, ctx.account_id, ctx.region, row.name)
            sm_store.delete_all_tags(conn, row.arn)
        ctx.resources.append(row.arn)
        return {}

    # -- endpoints ----------------------------------------------------------------------------

    def _hs_snapshot(self, ctx_account: str, region: str, config_row: Any) -> dict[str, Any]:
        """The config and its models as an endpoint deploys them (kept on the endpoint row)."""
        models: dict[str, Any] = {}
        with self.backend.db.connect() as conn:
            for variant in config_row.spec["ProductionVariants"]:
                model = store.get(conn, store.models, ctx_account, region, variant["ModelName"])
                models[variant["ModelName"]] = dict(model.spec) if model is not None else None
        return {"name": config_row.name, "spec": dict(config_row.spec), "models": models}

    def _hs_endpoint(self, ctx: RequestContext, name: str) -> Any:
        with self.backend.db.connect() as conn:
            row = store.get(conn, store.endpoints, ctx.account_id, ctx.region, name)
        if row is None:
            raise SageMakerValidation(f'Could not find endpoint "{common.arn(ctx, "endpoint", name)}".')
        return row

    async def create_endpoint(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        arn = common.arn(ctx, "endpoint", name)
        tags = _check_tags(params.get("Tags"))
        config = self._hs_config(ctx, params["EndpointConfigName"])
        snapshot = self._hs_snapshot(ctx.account_id, ctx.region, config)
        missing = [m for m, spec in snapshot["models"].items() if spec is None]
        if missing:
            raise SageMakerValidation(f'Could not find model "{common.arn(ctx, "model", missing[0])}".')
        when = store.now()
        state = {"config": snapshot, "variants": [], "last_deployment": params.get("DeploymentConfig")}
        with self.backend.db.begin() as conn:
            if store.get(conn, store.endpoints, ctx.account_id, ctx.region, name) is not None:
                raise SageMakerValidation(f'Cannot create already existing endpoint "{arn}".')
            store.add(conn, store.endpoints, {
                "account_id": ctx.account_id, "region": ctx.region, "name": name, "arn": arn,
                "config_name": config.name, "status": "Creating", "failure_reason": None, "state": state,
                "operation": {"kind": "create"}, "created": when, "modified": when,
            })
            if tags:
                sm_store.put_tags(conn, arn, tags)
        ctx.resources.append(arn)
        await self._hs_emit(ctx.account_id, ctx.region, name)
        self.hosting.run((ctx.account_id, ctx.region, name.lower()), self._hs_run_create(ctx.account_id, ctx.region, name))
        return {"EndpointArn": arn}

    def _hs_variant_summary(self, variant: dict[str, Any], weight: float, count: int, image: str,
                         when: datetime) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "VariantName": variant["VariantName"], "ModelName": variant["ModelName"],
            "Weight": weight, "Count": count, "Image": image, "ResolutionTime": when.isoformat(),
            "InstanceType": variant.get("InstanceType"),
        }
        if variant.get("ServerlessConfig"):
            summary["ServerlessConfig"] = variant["ServerlessConfig"]
        return summary

    def _hs_live_capture(self, account: str, region: str, name: str, spec: dict[str, Any], routes: list[Route]) -> Capture | None:
        capture = spec.get("DataCaptureConfig")
        if not capture or capture.get("EnableCapture") is False:
            return None
        principal = routes[0].principal if routes else None
        return Capture(self.backend, account, region, name, capture, principal)

    async def _hs_start_config(self, account: str, region: str, name: str, snapshot: dict[str, Any],
                            overrides: dict[str, dict[str, Any]] | None = None) -> tuple[list[Route], list[dict]]:
        """Start the fleets of a config snapshot; ``overrides`` (variant -> Weight/Count) keep
        the weights and counts an endpoint already had."""
        variants = []
        for variant in snapshot["spec"]["ProductionVariants"]:
            variant = dict(variant)
            kept = (overrides or {}).get(variant["VariantName"])
            if kept:
                if "Weight" in kept:
                    variant["InitialVariantWeight"] = kept["Weight"]
                if "Count" in kept and not variant.get("ServerlessConfig"):
                    variant["InitialInstanceCount"] = kept["Count"]
            variants.append(variant)
        routes = await self.hosting.start_routes(account, region, name, variants, snapshot["models"])
        when = store.now()
        summaries = []
        for variant, route in zip(variants, routes, strict=True):
            route.summary = self._hs_variant_summary(variant, route.weight, route.fleet.size, route.image, when)
            summaries.append(route.summary)
        return routes, summaries

    def _hs_update_row(self, account: str, region: str, name: str, **values: Any) -> Any:
        values.setdefault("modified", store.now())
        with self.backend.db.begin() as conn:
            row = store.get(conn, store.endpoints, account, region, name)
            if row is None:
                return None
            if "state" in values:
                values["state"] = {**row.state, **values["state"]}
            store.change(conn, store.endpoints, account, region, name, **values)
            return store.get(conn, store.endpoints, account, region, name)

    async def _hs_run_create(self, account: str, region: str, name: str) -> None:
        with self.backend.db.connect() as conn:
            row = store.get(conn, store.endpoints, account, region, name)
        if row is None:
            return
        snapshot = row.state["config"]
        try:
            routes, summaries = await self._hs_start_config(account, region, row.name, snapshot)
        except DeployError as exc:
            self._hs_update_row(account, region, name, status="Failed", failure_reason=str(exc), operation=None)
            await self._hs_emit(account, region, name)
            return
        live = LiveEndpoint(account, region, row.name, row.arn, [])
        live.set_routes(routes)
        live.capture = self._hs_live_capture(account, region, row.name, snapshot["spec"], routes)
        live.async_config = snapshot["spec"].get("AsyncInferenceConfig")
        if self._hs_update_row(account, region, name, status="InService", failure_reason=None, operation=None,
                            state={"variants": summaries}) is None:
            await stop_routes(routes)  # deleted meanwhile
            return
        self.hosting.publish(live)
        await self._hs_emit(account, region, name)

    def describe_endpoint(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._hs_endpoint(ctx, params["EndpointName"])
        ctx.resources.append(row.arn)
        return self._hs_describe(row)

    def _hs_describe(self, row: Any) -> dict[str, Any]:
        state = row.state
        out: dict[str, Any] = {"EndpointName": row.name, "EndpointArn": row.arn, "EndpointConfigName": row.config_name}
        if state.get("variants"):
            out["ProductionVariants"] = [self._hs_variant_out(v) for v in state["variants"]]
        spec = (state.get("config") or {}).get("spec") or {}
        capture = spec.get("DataCaptureConfig")
        if capture:
            enabled = capture.get("EnableCapture", True)
            out["DataCaptureConfig"] = {
                "EnableCapture": enabled, "CaptureStatus": "Started" if enabled else "Stopped",
                "CurrentSamplingPercentage": capture.get("InitialSamplingPercentage", 0),
                "DestinationS3Uri": capture["DestinationS3Uri"],
                **({"KmsKeyId": capture["KmsKeyId"]} if capture.get("KmsKeyId") else {}),
            }
        out["EndpointStatus"] = row.status
        if row.failure_reason:
            out["FailureReason"] = row.failure_reason
        out["CreationTime"] = store.aware(row.created)
        out["LastModifiedTime"] = store.aware(row.modified)
        if state.get("last_deployment"):
            out["LastDeploymentConfig"] = state["last_deployment"]
        if spec.get("AsyncInferenceConfig"):
            out["AsyncInferenceConfig"] = spec["AsyncInferenceConfig"]
        pending = state.get("pending")
        if pending:
            out["PendingDeploymentSummary"] = {
                "EndpointConfigName": pending["EndpointConfigName"],
                "ProductionVariants": [
                    {**self._hs_variant_out(v, pending=True), "VariantStatus": [
                        {"Status": pending.get("phase", "Creating"), "StartTime": datetime.fromisoformat(pending["StartTime"])}
                    ]} for v in pending.get("variants", [])
                ],
                "StartTime": datetime.fromisoformat(pending["StartTime"]),
            }
        return out

    def _hs_variant_out(self, v: dict[str, Any], pending: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"VariantName": v["VariantName"]}
        if v.get("Image"):
            out["DeployedImages"] = [{"SpecifiedImage": v["Image"], "ResolvedImage": resolved_image(v["Image"]),
                                      "ResolutionTime": datetime.fromisoformat(v["ResolutionTime"])}]
        out["CurrentWeight"] = float(v.get("Weight", 1.0))
        out["DesiredWeight"] = float(v.get("DesiredWeight", v.get("Weight", 1.0)))
        if v.get("ServerlessConfig"):
            out["CurrentServerlessConfig"] = v["ServerlessConfig"]
            out["DesiredServerlessConfig"] = v["ServerlessConfig"]
        else:
            out["CurrentInstanceCount"] = int(v.get("Count", 1))
            out["DesiredInstanceCount"] = int(v.get("DesiredCount", v.get("Count", 1)))
        if pending and v.get("InstanceType"):
            out["InstanceType"] = v["InstanceType"]
        return out

    def list_endpoints(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = [_row_dict(r) for r in store.listing(conn, store.endpoints, ctx.account_id, ctx.region)]
        rows = _filter_sort(rows, params, "EndpointName", "CreationTime")
        items = [{"EndpointName": r["name"], "EndpointArn": r["arn"], "CreationTime": r["created"],
                  "LastModifiedTime": r["modified"], "EndpointStatus": r["status"]} for r in rows]
        query = {k: params.get(k) for k in ("SortBy", "SortOrder", "NameContains", "CreationTimeBefore",
                                            "CreationTimeAfter", "LastModifiedTimeBefore",
                                            "LastModifiedTimeAfter", "StatusEquals")}
        return _page(items, params, query, "Endpoints")

    async def delete_endpoint(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._hs_endpoint(ctx, params["EndpointName"])
        ctx.resources.append(row.arn)
        with self.backend.db.begin() as conn:
            store.remove(conn, store.endpoints, ctx.account_id, ctx.region, row.name)
            sm_store.delete_all_tags(conn, row.arn)
        key = (ctx.account_id, ctx.region, row.name.lower())
        manager = self.hosting
        task = manager.tasks.pop(key, None)
        if task is not None:
            task.cancel()
        live = manager.live.pop(key, None)
        if live is not None:
            asyncio.get_running_loop().create_task(self._hs_stop_live(live))
        detail = self._hs_event_detail(row, "Deleting")
        await emit(self.backend, ctx.account_id, ctx.region, "aws.sagemaker", "SageMaker Endpoint State Change",
                   detail, [row.arn])
        return {}

    async def _hs_stop_live(self, live: LiveEndpoint) -> None:
        if live.capture is not None:
            await live.capture.close()
        await stop_routes(live.routes, drain=True)

    # -- updates ------------------------------------------------------------------------------

    async def update_endpoint(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._hs_endpoint(ctx, params["EndpointName"])
        if row.status in IN_PROGRESS:
            raise SageMakerValidation(f'Cannot update in-progress endpoint "{row.arn}".')
        if row.status != "InService":
            raise SageMakerValidation(f'Cannot update endpoint "{row.arn}" in status {row.status}.')
        config = self._hs_config(ctx, params["EndpointConfigName"])
        snapshot = self._hs_snapshot(ctx.account_id, ctx.region, config)
        missing = [m for m, spec in snapshot["models"].items() if spec is None]
        if missing:
            raise SageMakerValidation(f'Could not find model "{common.arn(ctx, "model", missing[0])}".')
        deployment = params.get("DeploymentConfig")
        self._hs_check_deployment(deployment)
        operation = {"kind": "update", "config": snapshot, "deployment": deployment,
                     "retain": bool(params.get("RetainAllVariantProperties")),
                     "exclude": [e["VariantPropertyType"] for e in params.get("ExcludeRetainedVariantProperties") or []],
                     "retain_deployment": bool(params.get("RetainDeploymentConfig"))}
        when = store.now()
        pending = {"EndpointConfigName": config.name, "StartTime": when.isoformat(), "phase": "Creating",
                   "variants": [self._hs_variant_summary(v, float(v.get("InitialVariantWeight", 1.0)), instance_count(v),
                                                      model_image(snapshot["models"].get(v["ModelName"])), when)
                                for v in snapshot["spec"]["ProductionVariants"]]}
        self._hs_update_row(ctx.account_id, ctx.region, row.name, status="Updating", failure_reason=None,
                         operation=operation, state={"pending": pending})
        ctx.resources.append(row.arn)
        await self._hs_emit(ctx.account_id, ctx.region, row.name)
        self.hosting.run((ctx.account_id, ctx.region, row.name.lower()),
                         self._hs_run_update(ctx.account_id, ctx.region, row.name))
        return {"EndpointArn": row.arn}

    @staticmethod
    def _hs_check_deployment(deployment: dict[str, Any] | None) -> None:
        if not deployment:
            return
        policy = deployment.get("BlueGreenUpdatePolicy")
        if policy is None:
            if deployment.get("RollingUpdatePolicy"):
                return  # run as blue/green all at once: the same zero-downtime guarantee
            raise SageMakerValidation("DeploymentConfig needs a BlueGreenUpdatePolicy or a RollingUpdatePolicy.")
        routing = policy.get("TrafficRoutingConfiguration") or {}
        kind = routing.get("Type")
        if kind == "CANARY" and not routing.get("CanarySize"):
            raise SageMakerValidation("CanarySize must be specified for CANARY traffic routing.")
        if kind == "LINEAR" and not routing.get("LinearStepSize"):
            raise SageMakerValidation("LinearStepSize must be specified for LINEAR traffic routing.")

    def _hs_retained(self, row: Any, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
        if not operation.get("retain"):
            return {}
        exclude = set(operation.get("exclude") or [])
        kept: dict[str, dict[str, Any]] = {}
        for v in row.state.get("variants") or []:
            entry: dict[str, Any] = {}
            if "DesiredWeight" not in exclude:
                entry["Weight"] = v.get("Weight", 1.0)
            if "DesiredInstanceCount" not in exclude:
                entry["Count"] = v.get("Count", 1)
            kept[v["VariantName"]] = entry
        return kept

    async def _hs_alarm_fired(self, account: str, region: str, alarms: list[str], seconds: float) -> str | None:
        """Wait ``seconds`` while watching the rollback alarms; the first alarm in ALARM, if any."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, seconds)
        while True:
            if alarms:
                try:
                    out = await self.backend.call(None, "cloudwatch", "DescribeAlarms", {"AlarmNames": alarms},
                                                  region, account)
                except ServiceError as exc:
                    if exc.code != "NotImplemented":
                        log.warning("could not read rollback alarms: %s: %s", exc.code, exc.message)
                    out = {}
                for alarm in (out.get("MetricAlarms") or []) + (out.get("CompositeAlarms") or []):
                    if alarm.get("StateValue") == "ALARM":
                        return str(alarm.get("AlarmName"))
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await asyncio.sleep(min(ALARM_POLL_SECONDS, remaining))

    @staticmethod
    def _hs_mix(old: list[Route], new: list[Route], fraction: float) -> list[Route]:
        """Routes sending ``fraction`` of the traffic to the new fleets, the rest to the old."""
        old_total = sum(r.weight for r in old) or 1.0
        new_total = sum(r.weight for r in new) or 1.0
        return ([dataclasses.replace(r, weight=(1 - fraction) * r.weight / old_total) for r in old]
                + [dataclasses.replace(r, weight=fraction * r.weight / new_total) for r in new])

    async def _hs_run_update(self, account: str, region: str, name: str) -> None:
        with self.backend.db.connect() as conn:
            row = store.get(conn, store.endpoints, account, region, name)
        if row is None or row.operation is None:
            return
        operation = row.operation
        live = self.hosting.lookup(account, region, name)
        if live is None:
            self._hs_update_row(account, region, name, status="Failed", operation=None, state={"pending": None},
                             failure_reason="The endpoint's model servers are not running.")
            await self._hs_emit(account, region, name)
            return
        snapshot = operation["config"]
        try:
            new_routes, summaries = await self._hs_start_config(account, region, row.name, snapshot,
                                                             self._hs_retained(row, operation))
        except DeployError as exc:
            # As on AWS: the endpoint stays in service on its old config, with the reason.
            self._hs_update_row(account, region, name, status="InService", failure_reason=str(exc), operation=None,
                             state={"pending": None})
            await self._hs_emit(account, region, name)
            return
        old_routes, old_capture = live.routes, live.capture
        deployment = operation.get("deployment") or {}
        policy = deployment.get("BlueGreenUpdatePolicy") or {}
        routing = policy.get("TrafficRoutingConfiguration") or {"Type": "ALL_AT_ONCE"}
        alarms = [a["AlarmName"] for a in (deployment.get("AutoRollbackConfiguration") or {}).get("Alarms") or []]
        self._hs_set_phase(account, region, name, "ActivatingTraffic")
        fired: str | None = None
        kind = routing.get("Type", "ALL_AT_ONCE")
        wait = float(routing.get("WaitIntervalInSeconds", 0))
        if kind in ("CANARY", "LINEAR"):
            size = routing.get("CanarySize") if kind == "CANARY" else routing.get("LinearStepSize")
            total_new = sum(r.fleet.size for r in new_routes) or 1
            step = (float(size["Value"]) / 100.0 if size["Type"] == "CAPACITY_PERCENT"
                    else float(size["Value"]) / total_new)
            step = min(max(step, 0.0), 1.0)
            fraction = step
            while fraction < 1.0 and fired is None:
                live.set_routes(self._hs_mix(old_routes, new_routes, fraction))
                fired = await self._hs_alarm_fired(account, region, alarms, wait)
                if kind == "CANARY" or step <= 0:
                    break
                fraction += step
        if fired is None:
            live.set_routes(new_routes)
            live.capture = self._hs_live_capture(account, region, row.name, snapshot["spec"], new_routes)
            live.async_config = snapshot["spec"].get("AsyncInferenceConfig")
            self._hs_set_phase(account, region, name, "Baking")
            fired = await self._hs_alarm_fired(account, region, alarms, float(policy.get("TerminationWaitInSeconds", 0)))
        if fired is not None:
            self._hs_update_row(account, region, name, status="RollingBack")
            await self._hs_emit(account, region, name)
            live.set_routes(old_routes)
            new_capture, live.capture = live.capture, old_capture
            live.async_config = (row.state.get("config") or {}).get("spec", {}).get("AsyncInferenceConfig")
            if new_capture is not None and new_capture is not old_capture:
                await new_capture.close()
            await stop_routes(new_routes, drain=True)
            self._hs_update_row(account, region, name, status="InService", operation=None, state={"pending": None},
                             failure_reason=f"Update was rolled back because alarm {fired} went into ALARM state.")
            await self._hs_emit(account, region, name)
            return
        last = deployment or None
        if not deployment and operation.get("retain_deployment"):
            last = row.state.get("last_deployment")
        self._hs_update_row(account, region, name, status="InService", failure_reason=None, operation=None,
                         config_name=snapshot["name"],
                         state={"pending": None, "config": snapshot, "variants": summaries, "last_deployment": last})
        await self._hs_emit(account, region, name)
        if old_capture is not None and old_capture is not live.capture:
            await old_capture.close()
        await stop_routes(old_routes, drain=True)

    def _hs_set_phase(self, account: str, region: str, name: str, phase: str) -> None:
        with self.backend.db.connect() as conn:
            row = store.get(conn, store.endpoints, account, region, name)
        if row is not None and row.state.get("pending"):
            self._hs_update_row(account, region, name, state={"pending": {**row.state["pending"], "phase": phase}})

    async def update_endpoint_weights_and_capacities(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._hs_endpoint(ctx, params["EndpointName"])
        if row.status != "InService":
            raise SageMakerValidation(f'Cannot update in-progress endpoint "{row.arn}".')
        known = {v["VariantName"] for v in row.state.get("variants") or []}
        unknown = [d["VariantName"] for d in params["DesiredWeightsAndCapacities"] if d["VariantName"] not in known]
        if unknown:
            raise SageMakerValidation(f"The variant(s) \"{unknown}\" is/are not present in the endpoint \"{row.arn}\".")
        desired = {d["VariantName"]: d for d in params["DesiredWeightsAndCapacities"]}
        variants = []
        for v in row.state["variants"]:
            d = desired.get(v["VariantName"])
            v = dict(v)
            if d is not None:
                if d.get("DesiredWeight") is not None:
                    v["DesiredWeight"] = float(d["DesiredWeight"])
                if d.get("DesiredInstanceCount") is not None and not v.get("ServerlessConfig"):
                    v["DesiredCount"] = int(d["DesiredInstanceCount"])
            variants.append(v)
        self._hs_update_row(ctx.account_id, ctx.region, row.name, status="Updating", failure_reason=None,
                         operation={"kind": "weights"}, state={"variants": variants})
        ctx.resources.append(row.arn)
        await self._hs_emit(ctx.account_id, ctx.region, row.name)
        self.hosting.run((ctx.account_id, ctx.region, row.name.lower()),
                         self._hs_run_weights(ctx.account_id, ctx.region, row.name))
        return {"EndpointArn": row.arn}

    async def _hs_run_weights(self, account: str, region: str, name: str) -> None:
        with self.backend.db.connect() as conn:
            row = store.get(conn, store.endpoints, account, region, name)
        live = self.hosting.lookup(account, region, name)
        if row is None or live is None:
            return
        failure = None
        variants = []
        for v in row.state["variants"]:
            v = dict(v)
            weight = float(v.pop("DesiredWeight", v.get("Weight", 1.0)))
            count = int(v.pop("DesiredCount", v.get("Count", 1)))
            for route in live.by_variant.get(v["VariantName"], []):
                try:
                    await route.fleet.scale(count)
                except Exception as exc:  # noqa: BLE001 - reported as the FailureReason
                    failure = f"Could not scale production variant {v['VariantName']}: {exc}"
                v["Count"] = route.fleet.size
            v["Weight"] = weight
            variants.append(v)
        weights = {v["VariantName"]: v["Weight"] for v in variants}
        live.set_routes([dataclasses.replace(r, weight=weights.get(r.variant, r.weight)) for r in live.routes])
        self._hs_update_row(account, region, name, status="InService", failure_reason=failure, operation=None,
                         state={"variants": variants})
        await self._hs_emit(account, region, name)

    # -- events and restarts -----------------------------------------------------------------

    def _hs_event_detail(self, row: Any, status: str | None = None) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            tags = {t["Key"]: t["Value"] for t in sm_store.get_tags(conn, row.arn)}
        detail: dict[str, Any] = {
            "EndpointName": row.name, "EndpointArn": row.arn, "EndpointConfigName": row.config_name,
            "ProductionVariants": [self._hs_variant_out(v) for v in row.state.get("variants") or []],
            # The event spells the status in upper snake case ("IN_SERVICE"), unlike the API.
            "EndpointStatus": re.sub(r"(?<!^)(?=[A-Z])", "_", status or row.status).upper(),
            "CreationTime": _epoch_ms(store.aware(row.created)),
            "LastModifiedTime": _epoch_ms(store.aware(row.modified)),
            "Tags": tags,
        }
        if row.failure_reason:
            detail["FailureReason"] = row.failure_reason
        return detail

    async def _hs_emit(self, account: str, region: str, name: str) -> None:
        with self.backend.db.connect() as conn:
            row = store.get(conn, store.endpoints, account, region, name)
        if row is None:
            return
        await emit(self.backend, account, region, "aws.sagemaker", "SageMaker Endpoint State Change",
                   self._hs_event_detail(row), [row.arn])

    async def resume_hosting(self) -> None:
        """Restart the fleets of endpoints in service and re-run the operations a crash
        interrupted. Fleets start in the background; invocations wait for them meanwhile."""
        with self.backend.db.connect() as conn:
            rows = store.all_endpoints(conn)
        for row in rows:
            key = (row.account_id, row.region, row.name.lower())
            if row.status == "Creating":
                self.hosting.run(key, self._hs_run_create(row.account_id, row.region, row.name))
            elif row.status in ("InService", "Updating", "SystemUpdating", "RollingBack"):
                self.hosting.starting[key] = asyncio.Event()
                self.hosting.run(key, self._hs_restart(row.account_id, row.region, row.name))

    async def _hs_restart(self, account: str, region: str, name: str) -> None:
        key = (account, region, name.lower())
        try:
            with self.backend.db.connect() as conn:
                row = store.get(conn, store.endpoints, account, region, name)
            if row is None:
                return
            snapshot = row.state["config"]
            kept = {v["VariantName"]: {"Weight": v.get("Weight", 1.0), "Count": v.get("Count", 1)}
                    for v in row.state.get("variants") or []}
            try:
                routes, _summaries = await self._hs_start_config(account, region, row.name, snapshot, kept)
            except DeployError as exc:
                self._hs_update_row(account, region, name, status="Failed", operation=None, state={"pending": None},
                                 failure_reason=f"The endpoint could not be restarted: {exc}")
                await self._hs_emit(account, region, name)
                return
            live = LiveEndpoint(account, region, row.name, row.arn, [])
            live.set_routes(routes)
            live.capture = self._hs_live_capture(account, region, row.name, snapshot["spec"], routes)
            live.async_config = snapshot["spec"].get("AsyncInferenceConfig")
            self.hosting.publish(live)
        finally:
            event = self.hosting.starting.pop(key, None)
            if event is not None:
                event.set()
        if row.status == "Updating" and (row.operation or {}).get("kind") == "update":
            await self._hs_run_update(account, region, name)
        elif row.status == "Updating" and (row.operation or {}).get("kind") == "weights":
            await self._hs_run_weights(account, region, name)
        elif row.status != "InService":
            self._hs_update_row(account, region, name, status="InService", operation=None, state={"pending": None})
            await self._hs_emit(account, region, name)
