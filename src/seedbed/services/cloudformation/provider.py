"""The CloudFormation API (query protocol): stacks, events, resources, templates, change sets,
exports. The engine (:mod:`seedbed.cloudformation`) does the work; operations that start work
return at once with the StackId, as AWS does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

from seedbed.cloudformation import changesets, parameters, plan, schemas, submit, template, timeouts
from seedbed.cloudformation.engine import Engine, principal_to_json
from seedbed.cloudformation.errors import (
    AlreadyExists,
    CfnValidationError,
    ChangeSetNotFound,
    InvalidChangeSetStatus,
)
from seedbed.cloudformation.journal import Journal
from seedbed.server.context import RequestContext
from seedbed.services.base import Provider
from seedbed.services.cloudformation import store
from seedbed.state import arns

log = logging.getLogger(__name__)

GRACE_SECONDS = 1.0


def _request(ctx: RequestContext, params: dict[str, Any], body: str, name: str) -> submit.StackRequest:
    return submit.StackRequest(
        name=name, account=ctx.account_id, region=ctx.region, caller=ctx.principal, body=body,
        parameters=list(params.get("Parameters") or []), capabilities=list(params.get("Capabilities") or []),
        tags=list(params.get("Tags") or []), role_arn=params.get("RoleARN"),
        disable_rollback=bool(params.get("DisableRollback")) or params.get("OnFailure") == "DO_NOTHING",
        termination_protection=bool(params.get("EnableTerminationProtection")),
        notification_arns=list(params.get("NotificationARNs") or []),
        timeout_minutes=params.get("TimeoutInMinutes"), client_token=params.get("ClientRequestToken"),
        on_failure=params.get("OnFailure"),
    )


def _warm_schemas() -> None:
    from seedbed.cloudformation import types

    try:
        for name in types.implemented_types():
            schemas.get(name)
    except Exception:  # noqa: BLE001 - only a warm-up
        log.debug("schema warm-up failed", exc_info=True)


def _not_found(name: str) -> CfnValidationError:
    return CfnValidationError(f"Stack with id {name} does not exist")


class CloudFormationProvider(Provider):
    service = "cloudformation"

    def __init__(self, backend: Any) -> None:
        super().__init__(backend)
        self.engine = Engine(backend)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:  # loaded by a request: pick up what a crashed process left
            loop.create_task(self.resume())
        # Loading cfn-lint's schemas takes about a second: do it off the loop, ahead of need.
        threading.Thread(target=_warm_schemas, name="cfn-schemas", daemon=True).start()

    async def resume(self) -> int:
        """Resume or roll back every stack operation left in progress (call once at start-up)."""
        try:
            return await self.engine.resume()
        except Exception:  # noqa: BLE001 - start-up must not fail on one bad stack
            log.exception("resuming CloudFormation operations failed")
            return 0

    def close(self) -> None:
        for task in list(self.engine.tasks.values()):
            task.cancel()

    # -- helpers --------------------------------------------------------------------------------

    def _pass_role(self, ctx: RequestContext, role_arn: str | None) -> None:
        """Naming a stack role needs ``iam:PassRole`` to cloudformation.amazonaws.com."""
        authorizer = getattr(self.backend, "authorizer", None)
        if role_arn and authorizer is not None:
            authorizer.check_pass_role(ctx, role_arn, "cloudformation.amazonaws.com")

    def _stack(self, ctx: RequestContext, name: str, include_deleted: bool = False) -> Any:
        with self.backend.db.connect() as conn:
            row = store.find_stack(conn, ctx.account_id, ctx.region, name, include_deleted)
        if row is None:
            raise _not_found(name)
        ctx.resources.append(row.stack_id)
        return row

    # -- stacks ---------------------------------------------------------------------------------

    async def create_stack(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if "OnFailure" in params and "DisableRollback" in params:
            raise CfnValidationError(timeouts.BOTH_GIVEN)
        body = await submit.body_from(self.engine, ctx.principal, ctx.region, params)
        assert body is not None
        self._pass_role(ctx, params.get("RoleARN"))
        stack_id = await submit.create_stack(self.engine, _request(ctx, params, body, params["StackName"]))
        ctx.resources.append(stack_id)
        return {"StackId": stack_id}

    async def update_stack(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._stack(ctx, params["StackName"])
        if params.get("UsePreviousTemplate"):
            body: str | None = row.template_body
        else:
            body = await submit.body_from(self.engine, ctx.principal, ctx.region, params)
        assert body is not None
        req = _request(ctx, params, body, row.name)
        self._pass_role(ctx, params.get("RoleARN"))
        req.role_arn = params.get("RoleARN") or row.role_arn
        req.tags = req.tags or list(row.tags or [])
        req.disable_rollback = bool(params["DisableRollback"]) if "DisableRollback" in params else row.disable_rollback
        await submit.update_stack(self.engine, row, req)
        return {"StackId": row.stack_id}

    async def delete_stack(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            row = store.find_stack(conn, ctx.account_id, ctx.region, params["StackName"])
        if row is None:
            return {}  # deleting a stack that does not exist succeeds, as on AWS
        ctx.resources.append(row.stack_id)
        submit.start_delete(
            self.engine, row, ctx.principal, params.get("RoleARN"), params.get("ClientRequestToken"),
            list(params.get("RetainResources") or []),
        )
        return {}

    def update_termination_protection(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._stack(ctx, params["StackName"])
        with self.backend.db.begin() as conn:
            store.update_stack(conn, row.stack_id, termination_protection=bool(params["EnableTerminationProtection"]))
        return {"StackId": row.stack_id}

    def describe_stacks(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("StackName")
        if name:
            rows = [self._stack(ctx, name, include_deleted=name.startswith("arn:"))]
        else:
            with self.backend.db.connect() as conn:
                rows = [r for r in store.list_stacks(conn, ctx.account_id, ctx.region) if r.status != "DELETE_COMPLETE"]
        return {"Stacks": [self._describe(r) for r in rows]}

    def _describe(self, row: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "StackId": row.stack_id,
            "StackName": row.name,
            "CreationTime": store.aware(row.created),
            "StackStatus": row.status,
            "DisableRollback": bool(row.disable_rollback),
            "NotificationARNs": list(row.notification_arns or []),
            "Capabilities": list(row.capabilities or []),
            "Outputs": list(row.outputs or []),
            "Tags": list(row.tags or []),
            "EnableTerminationProtection": bool(row.termination_protection),
            "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
        }
        try:
            declared = template.load(row.template_body).parameters
        except Exception:  # noqa: BLE001
            declared = {}
        out["Parameters"] = parameters.describe(declared, row.parameters or {}, row.ssm_resolved or {})
        for key, value in (
            ("Description", row.description), ("StackStatusReason", row.status_reason), ("RoleARN", row.role_arn),
            ("TimeoutInMinutes", row.timeout_minutes), ("ParentId", row.parent_id), ("RootId", row.root_id),
            ("ChangeSetId", row.change_set_id), ("LastUpdatedTime", store.aware(row.updated)),
            ("DeletionTime", store.aware(row.deleted)),
        ):
            if value is not None:
                out[key] = value
        return out

    def list_stacks(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        wanted = set(params.get("StackStatusFilter") or [])
        with self.backend.db.connect() as conn:
            rows = store.list_stacks(conn, ctx.account_id, ctx.region)
        out = []
        for row in rows:
            if wanted and row.status not in wanted:
                continue
            item: dict[str, Any] = {
                "StackId": row.stack_id, "StackName": row.name, "CreationTime": store.aware(row.created),
                "StackStatus": row.status, "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
            }
            for key, value in (
                ("TemplateDescription", row.description), ("StackStatusReason", row.status_reason),
                ("LastUpdatedTime", store.aware(row.updated)), ("DeletionTime", store.aware(row.deleted)),
                ("ParentId", row.parent_id), ("RootId", row.root_id),
            ):
                if value is not None:
                    item[key] = value
            out.append(item)
        return {"StackSummaries": out}

    def describe_stack_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._stack(ctx, params["StackName"], include_deleted=True)
        with self.backend.db.connect() as conn:
            events = store.list_events(conn, row.stack_id)
        out = []
        for ev in events:
            item: dict[str, Any] = {
                "StackId": ev.stack_id, "EventId": ev.event_id, "StackName": ev.stack_name,
                "LogicalResourceId": ev.logical_id, "PhysicalResourceId": ev.physical_id or "",
                "ResourceType": ev.type, "Timestamp": store.aware(ev.timestamp), "ResourceStatus": ev.status,
            }
            if ev.reason:
                item["ResourceStatusReason"] = ev.reason
            if ev.properties:
                item["ResourceProperties"] = ev.properties
            if ev.client_request_token:
                item["ClientRequestToken"] = ev.client_request_token
            out.append(item)
        return {"StackEvents": out}

    def _resources(self, ctx: RequestContext, params: dict[str, Any]) -> tuple[Any, list[Any]]:
        name = params.get("StackName")
        physical = params.get("PhysicalResourceId")
        if name is None and physical is None:
            raise CfnValidationError("Either StackName or PhysicalResourceId must be specified.")
        if name is None:
            with self.backend.db.connect() as conn:
                rec = store.find_physical(conn, ctx.account_id, ctx.region, physical)
                stack = store.get_stack(conn, rec.stack_id) if rec is not None else None
            if stack is None:
                raise CfnValidationError(f"Stack for {physical} does not exist")
        else:
            stack = self._stack(ctx, name, include_deleted=name.startswith("arn:"))
        with self.backend.db.connect() as conn:
            recs = store.get_resources(conn, stack.stack_id)
        return stack, sorted(recs, key=lambda r: r.logical_id)

    @staticmethod
    def _resource(stack: Any, rec: Any, detail: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "StackName": stack.name, "StackId": stack.stack_id, "LogicalResourceId": rec.logical_id,
            "ResourceType": rec.type, "ResourceStatus": rec.status,
            "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
        }
        if rec.physical_id:
            out["PhysicalResourceId"] = rec.physical_id
        if rec.status_reason:
            out["ResourceStatusReason"] = rec.status_reason
        if detail:
            out["LastUpdatedTimestamp"] = store.aware(rec.updated)
            if rec.metadata is not None:
                out["Metadata"] = json.dumps(rec.metadata)
        else:
            out["Timestamp"] = store.aware(rec.updated)
        return out

    def describe_stack_resources(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        stack, recs = self._resources(ctx, params)
        logical = params.get("LogicalResourceId")
        physical = params.get("PhysicalResourceId")
        if physical and not params.get("StackName") and not logical:
            recs = [r for r in recs if r.physical_id == physical]
        if logical:
            recs = [r for r in recs if r.logical_id == logical]
        return {"StackResources": [self._resource(stack, r) for r in recs]}

    def describe_stack_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        stack, recs = self._resources(ctx, params)
        for rec in recs:
            if rec.logical_id == params["LogicalResourceId"]:
                return {"StackResourceDetail": self._resource(stack, rec, detail=True)}
        raise CfnValidationError(f"Resource {params['LogicalResourceId']} does not exist for stack {stack.name}")

    def list_stack_resources(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        stack, recs = self._resources(ctx, params)
        out = []
        for rec in recs:
            if rec.status == "DELETE_COMPLETE" and stack.status != "DELETE_COMPLETE":
                continue
            item = self._resource(stack, rec, detail=True)
            for key in ("StackName", "StackId", "Metadata"):
                item.pop(key, None)
            out.append(item)
        return {"StackResourceSummaries": out}

    # -- templates ------------------------------------------------------------------------------

    def get_template(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("ChangeSetName"):
            row = self._change_set(ctx, params["ChangeSetName"], params.get("StackName"))
            return {"TemplateBody": row.template_body, "StagesAvailable": ["Original", "Processed"]}
        if not params.get("StackName"):
            raise CfnValidationError("Either StackName or ChangeSetName must be specified.")
        row = self._stack(ctx, params["StackName"], include_deleted=params["StackName"].startswith("arn:"))
        return {"TemplateBody": row.template_body, "StagesAvailable": ["Original", "Processed"]}

    async def validate_template(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        body = await submit.body_from(self.engine, ctx.principal, ctx.region, params)
        assert body is not None
        tpl = template.load(body)
        plan.static_checks(tpl, ctx.region)
        caps, reason = plan.required_capabilities(tpl)
        out: dict[str, Any] = {
            "Parameters": parameters.summary(tpl.parameters, for_summary=False),
            "Capabilities": caps,
            "DeclaredTransforms": tpl.transforms,
        }
        if tpl.description is not None:
            out["Description"] = tpl.description
        if reason:
            out["CapabilitiesReason"] = reason
        return out

    async def get_template_summary(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("StackName"):
            body: str | None = self._stack(ctx, params["StackName"]).template_body
        else:
            body = await submit.body_from(self.engine, ctx.principal, ctx.region, params)
        assert body is not None
        tpl = template.load(body)
        plan.static_checks(tpl, ctx.region)
        caps, reason = plan.required_capabilities(tpl)
        by_type: dict[str, list[str]] = {}
        for name, resource in tpl.resources.items():
            by_type.setdefault(resource["Type"], []).append(name)
        identifiers = []
        for rtype, names in by_type.items():
            schema = schemas.get(rtype, ctx.region)
            if schema is not None and schema.primary_identifier and not rtype.startswith("Custom::"):
                identifiers.append({"ResourceType": rtype, "LogicalResourceIds": names, "ResourceIdentifiers": schema.primary_identifier})
        out: dict[str, Any] = {
            "Parameters": parameters.summary(tpl.parameters, for_summary=True),
            "Capabilities": caps,
            "ResourceTypes": sorted(by_type),
            "Version": str(tpl.doc.get("AWSTemplateFormatVersion", "2010-09-09")),
            "DeclaredTransforms": tpl.transforms,
            "ResourceIdentifierSummaries": identifiers,
            "Warnings": {"UnrecognizedResourceTypes": []},
        }
        if tpl.description is not None:
            out["Description"] = tpl.description
        if reason:
            out["CapabilitiesReason"] = reason
        meta = template.metadata_json(tpl)
        if meta is not None:
            out["Metadata"] = meta
        return out

    # -- change sets ----------------------------------------------------------------------------

    def _change_set(self, ctx: RequestContext, name: str, stack_name: str | None) -> Any:
        with self.backend.db.connect() as conn:
            if name.startswith("arn:"):
                row = store.get_change_set(conn, name)
            else:
                if not stack_name:
                    raise CfnValidationError("StackName must be specified if ChangeSetName is not specified as an ARN.")
                stack = store.find_stack(conn, ctx.account_id, ctx.region, stack_name, include_deleted=stack_name.startswith("arn:"))
                row = store.find_change_set(conn, stack.stack_id, name) if stack is not None else None
        if row is None or row.account_id != ctx.account_id:
            raise ChangeSetNotFound(f"ChangeSet [{name}] does not exist")
        return row

    async def create_change_set(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        kind = params.get("ChangeSetType") or "UPDATE"
        if kind == "IMPORT":
            raise CfnValidationError("Seedbed does not support IMPORT change sets yet")
        name, stack_name = params["ChangeSetName"], params["StackName"]
        with self.backend.db.connect() as conn:
            stack = store.find_stack(conn, ctx.account_id, ctx.region, stack_name)
        if kind == "CREATE" and stack is not None and stack.status != "REVIEW_IN_PROGRESS":
            raise AlreadyExists(f"Stack [{stack_name}] already exists and cannot be created again with the changeSet [{name}].")
        if kind == "UPDATE" and (stack is None or stack.status == "REVIEW_IN_PROGRESS"):
            raise CfnValidationError(f"Stack [{stack_name}] does not exist")
        if params.get("UsePreviousTemplate"):
            if stack is None:
                raise CfnValidationError(f"Stack [{stack_name}] does not exist")
            body: str | None = stack.template_body
        else:
            body = await submit.body_from(self.engine, ctx.principal, ctx.region, params)
        assert body is not None
        req = _request(ctx, params, body, stack_name)
        self._pass_role(ctx, params.get("RoleARN"))
        if stack is not None:
            req.role_arn = req.role_arn or stack.role_arn
        stack_id = stack.stack_id if stack is not None else submit.stack_arn(ctx.account_id, ctx.region, stack_name)
        checked = await submit.check(self.engine, req, stack_id, previous=stack.parameters if stack is not None and kind == "UPDATE" else None)
        records = Journal(self.backend.db, stack_id, stack_name).load() if stack is not None and kind == "UPDATE" else {}
        changes = changesets.compute(checked, records, ctx.region)
        status, reason, execution = "CREATE_COMPLETE", None, "AVAILABLE"
        if kind == "UPDATE" and not changes and checked.given == (stack.parameters or {}) and body == stack.template_body:
            status, reason, execution = "FAILED", changesets.NO_CHANGES, "UNAVAILABLE"
        change_set_id = arns.build("cloudformation", f"changeSet/{name}/{submit.uuid.uuid4()}", ctx.account_id, ctx.region)
        if stack is None:
            submit.check_name(stack_name)
            await submit.create_stack(self.engine, req, initial_status="REVIEW_IN_PROGRESS", stack_id=stack_id)
        with self.backend.db.begin() as conn:
            if store.find_change_set(conn, stack_id, name) is not None:
                raise AlreadyExists(f"ChangeSet {name} already exists")
            store.insert_change_set(conn, {
                "change_set_id": change_set_id, "name": name, "stack_id": stack_id, "stack_name": stack_name,
                "account_id": ctx.account_id, "region": ctx.region, "change_set_type": kind, "status": status,
                "status_reason": reason, "execution_status": execution, "template_body": body,
                "parameters": checked.given, "capabilities": req.capabilities, "tags": req.tags,
                "notification_arns": req.notification_arns, "role_arn": req.role_arn, "changes": changes,
                "description": params.get("Description"), "caller": principal_to_json(ctx.principal), "created": store.now(),
            })
        ctx.resources.append(stack_id)
        return {"Id": change_set_id, "StackId": stack_id}

    def describe_change_set(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._change_set(ctx, params["ChangeSetName"], params.get("StackName"))
        try:
            declared = template.load(row.template_body).parameters
        except Exception:  # noqa: BLE001
            declared = {}
        out: dict[str, Any] = {
            "ChangeSetName": row.name, "ChangeSetId": row.change_set_id, "StackId": row.stack_id,
            "StackName": row.stack_name, "CreationTime": store.aware(row.created),
            "ExecutionStatus": row.execution_status, "Status": row.status,
            "Parameters": parameters.describe(declared, row.parameters or {}, {}),
            "NotificationARNs": list(row.notification_arns or []), "Capabilities": list(row.capabilities or []),
            "Tags": list(row.tags or []), "Changes": list(row.changes or []), "IncludeNestedStacks": False,
        }
        if row.status_reason:
            out["StatusReason"] = row.status_reason
        if row.description:
            out["Description"] = row.description
        return out

    def list_change_sets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        stack = self._stack(ctx, params["StackName"])
        with self.backend.db.connect() as conn:
            rows = store.list_change_sets(conn, stack.stack_id)
        return {"Summaries": [{
            "StackId": r.stack_id, "StackName": r.stack_name, "ChangeSetId": r.change_set_id, "ChangeSetName": r.name,
            "ExecutionStatus": r.execution_status, "Status": r.status, "CreationTime": store.aware(r.created),
            **({"StatusReason": r.status_reason} if r.status_reason else {}),
            **({"Description": r.description} if r.description else {}),
        } for r in rows]}

    def delete_change_set(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._change_set(ctx, params["ChangeSetName"], params.get("StackName"))
        if row.execution_status == "EXECUTE_IN_PROGRESS":
            raise InvalidChangeSetStatus(f"Cannot delete ChangeSet in status {row.execution_status}")
        with self.backend.db.begin() as conn:
            store.delete_change_set(conn, row.change_set_id)
            stack = store.get_stack(conn, row.stack_id)
            if stack is not None and stack.status == "REVIEW_IN_PROGRESS" and not store.list_change_sets(conn, row.stack_id):
                store.update_stack(conn, row.stack_id, status="DELETE_COMPLETE", deleted=store.now())
        return {}

    async def execute_change_set(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._change_set(ctx, params["ChangeSetName"], params.get("StackName"))
        if row.execution_status != "AVAILABLE":
            raise InvalidChangeSetStatus(
                f"ChangeSet [{row.change_set_id}] cannot be executed in its current execution status of [{row.execution_status}]"
            )
        with self.backend.db.connect() as conn:
            stack = store.get_stack(conn, row.stack_id)
        if stack is None:
            raise _not_found(row.stack_name)
        req = submit.StackRequest(
            name=stack.name, account=stack.account_id, region=stack.region, caller=ctx.principal,
            body=row.template_body,
            parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (row.parameters or {}).items()],
            capabilities=list(row.capabilities or []), tags=list(row.tags or []), role_arn=row.role_arn,
            notification_arns=list(row.notification_arns or []),
            disable_rollback=bool(params.get("DisableRollback")) if "DisableRollback" in params else bool(stack.disable_rollback),
            client_token=params.get("ClientRequestToken"),
        )
        if row.change_set_type == "CREATE":
            checked = await submit.check(self.engine, req, stack.stack_id)
            journal = Journal(self.backend.db, stack.stack_id, stack.name, req.client_token)
            with self.backend.db.begin() as conn:
                current = store.get_stack(conn, stack.stack_id)
                if current is None or current.status != "REVIEW_IN_PROGRESS":
                    raise InvalidChangeSetStatus(f"ChangeSet [{row.change_set_id}] cannot be executed: the stack is not in REVIEW_IN_PROGRESS")
                store.update_stack(
                    conn, stack.stack_id, status="CREATE_IN_PROGRESS", status_reason="User Initiated",
                    template_body=req.body, parameters=checked.given, ssm_resolved=checked.ssm_resolved,
                    description=checked.tpl.description, capabilities=req.capabilities, tags=req.tags,
                    role_arn=req.role_arn, notification_arns=req.notification_arns, imports=checked.imports,
                    caller=principal_to_json(ctx.principal), change_set_id=row.change_set_id,
                    disable_rollback=req.disable_rollback,
                )
                store.add_events(conn, [journal.stack_event("CREATE_IN_PROGRESS", "User Initiated")])
                self._executed(conn, row)
            self.engine.start(stack.stack_id)
        else:
            await submit.update_stack(self.engine, stack, req, allow_no_change=True)
            with self.backend.db.begin() as conn:
                store.update_stack(conn, stack.stack_id, change_set_id=row.change_set_id)
                self._executed(conn, row)
        await self._grace(stack.stack_id)
        return {}

    async def _grace(self, stack_id: str) -> None:
        """Give a quick operation a moment to finish before answering. ``aws cloudformation
        deploy`` polls its first DescribeStacks at once and then sleeps 30 s: a small stack that is
        done within the grace saves the user that wait. Long operations still run in the
        background and the call returns after at most :data:`GRACE_SECONDS`."""
        task = self.engine.tasks.get(stack_id)
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=GRACE_SECONDS)

    @staticmethod
    def _executed(conn: Any, row: Any) -> None:
        """AWS drops a stack's other change sets once one is executed."""
        for other in store.list_change_sets(conn, row.stack_id):
            if other.change_set_id != row.change_set_id:
                store.delete_change_set(conn, other.change_set_id)
        store.update_change_set(conn, row.change_set_id, execution_status="EXECUTE_COMPLETE")

    # -- exports --------------------------------------------------------------------------------

    def list_exports(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = store.list_exports(conn, ctx.account_id, ctx.region)
        return {"Exports": [{"ExportingStackId": r.stack_id, "Name": r.name, "Value": r.value} for r in rows]}

    def list_imports(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ExportName"]
        with self.backend.db.connect() as conn:
            if store.get_export(conn, ctx.account_id, ctx.region, name) is None:
                raise CfnValidationError(f"Export '{name}' does not exist.")
            users = store.importers(conn, ctx.account_id, ctx.region, [name])
        return {"Imports": sorted({stack for _, stack in users})}
