"""Starting stack operations: what CreateStack, UpdateStack, DeleteStack and ExecuteChangeSet do
before they return, shared by the API and nested stacks.

Everything that can be refused is refused here, synchronously and before anything is created
(template, parameters, types Seedbed cannot create, schemas, capabilities); then the stack row and
its first event are committed in one transaction and the operation starts in the background.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from seedbed.cloudformation import plan, template, timeouts
from seedbed.cloudformation.engine import Engine, principal_to_json
from seedbed.cloudformation.errors import AlreadyExists, CfnValidationError
from seedbed.cloudformation.journal import Journal
from seedbed.server.context import Principal
from seedbed.services.cloudformation import store
from seedbed.state import arns

if TYPE_CHECKING:
    pass

UPDATABLE = {
    "CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE",
}


@dataclass
class StackRequest:
    """The inputs of CreateStack / UpdateStack that matter to the engine."""

    name: str
    account: str
    region: str
    caller: Principal | None
    body: str
    parameters: list[dict[str, Any]] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)
    role_arn: str | None = None
    disable_rollback: bool = False
    termination_protection: bool = False
    notification_arns: list[str] = field(default_factory=list)
    timeout_minutes: int | None = None
    #: CreateStack's OnFailure (ROLLBACK, DO_NOTHING, DELETE); None: ROLLBACK unless disable_rollback.
    on_failure: str | None = None
    client_token: str | None = None
    parent_id: str | None = None
    root_id: str | None = None
    check_creatable: bool = True


def stack_arn(account: str, region: str, name: str) -> str:
    return arns.build("cloudformation", f"stack/{name}/{uuid.uuid4()}", account, region)


async def body_from(engine: Engine, principal: Principal | None, region: str, params: dict[str, Any], required: bool = True) -> str | None:
    """TemplateBody or TemplateURL (exactly one)."""
    body, url = params.get("TemplateBody"), params.get("TemplateURL")
    if body is not None and url is not None:
        raise CfnValidationError("Specify exactly one of TemplateBody or TemplateUrl.")
    if body is not None:
        if len(body.encode()) > template.MAX_BODY:
            raise CfnValidationError("1 validation error detected: Value at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to 51200")
        return body
    if url is not None:
        return await engine.fetch_template(principal, url, region)
    if required:
        raise CfnValidationError("Either Template URL or Template Body must be specified.")
    return None


async def check(engine: Engine, req: StackRequest, stack_id: str, previous: dict[str, str] | None = None) -> plan.Plan:
    tpl = template.load(req.body)
    acting = await engine.assume(req.role_arn, req.account, req.name, stack_id) if req.role_arn else req.caller
    return await plan.prepare(
        tpl, req.parameters, account=req.account, region=req.region, stack_name=req.name, stack_id=stack_id,
        notification_arns=req.notification_arns, capabilities=req.capabilities,
        ssm_lookup=await engine.ssm_lookup(acting, req.region), previous=previous,
        check_creatable=req.check_creatable,
    )


def check_name(name: str) -> None:
    import re

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,127}", name):
        raise CfnValidationError(
            f"1 validation error detected: Value '{name}' at 'stackName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
        )


async def create_stack(engine: Engine, req: StackRequest, initial_status: str = "CREATE_IN_PROGRESS", stack_id: str | None = None) -> str:
    check_name(req.name)
    req.timeout_minutes = timeouts.minutes(req.timeout_minutes)
    if req.on_failure is not None and req.on_failure not in timeouts.ON_FAILURE:
        raise CfnValidationError(
            f"1 validation error detected: Value '{req.on_failure}' at 'onFailure' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(timeouts.ON_FAILURE)}]"
        )
    with engine.backend.db.connect() as conn:
        if store.find_stack(conn, req.account, req.region, req.name) is not None:
            raise AlreadyExists(f"Stack [{req.name}] already exists")
    stack_id = stack_id or stack_arn(req.account, req.region, req.name)
    checked = await check(engine, req, stack_id) if initial_status == "CREATE_IN_PROGRESS" else None
    values = _row(req, stack_id, initial_status, checked)
    if initial_status == "CREATE_IN_PROGRESS":  # the deadline counts from now, journaled with the stack
        values["pending"] = timeouts.pending(engine.clock, req.timeout_minutes, req.on_failure)
    journal = Journal(engine.backend.db, stack_id, req.name, req.client_token)
    reason = "User Initiated"
    with engine.backend.db.begin() as conn:
        if store.find_stack(conn, req.account, req.region, req.name) is not None:
            raise AlreadyExists(f"Stack [{req.name}] already exists")
        store.insert_stack(conn, values)
        store.add_events(conn, [journal.stack_event(initial_status, reason)])
    if initial_status == "CREATE_IN_PROGRESS":
        engine.start(stack_id)
    return stack_id


def _row(req: StackRequest, stack_id: str, status: str, checked: plan.Plan | None) -> dict[str, Any]:
    return {
        "stack_id": stack_id,
        "account_id": req.account,
        "region": req.region,
        "name": req.name,
        "status": status,
        "status_reason": None,
        "template_body": req.body,
        "parameters": checked.given if checked else {},
        "ssm_resolved": checked.ssm_resolved if checked else {},
        "description": checked.tpl.description if checked else None,
        "capabilities": req.capabilities,
        "tags": req.tags,
        "outputs": [],
        "notification_arns": req.notification_arns,
        "role_arn": req.role_arn,
        "disable_rollback": req.disable_rollback,
        "termination_protection": req.termination_protection,
        "timeout_minutes": req.timeout_minutes,
        "parent_id": req.parent_id,
        "root_id": req.root_id,
        "caller": principal_to_json(req.caller),
        "previous": None,
        "pending": None,
        "change_set_id": None,
        "client_request_token": req.client_token,
        "imports": checked.imports if checked else [],
        "lease_owner": None,
        "lease_until": None,
        "created": store.now(),
        "updated": None,
        "deleted": None,
    }


async def update_stack(engine: Engine, row: Any, req: StackRequest, allow_no_change: bool = False) -> str:
    """Start an update of ``row`` to ``req``; refuses like AWS when nothing changes."""
    if row.status not in UPDATABLE:
        raise CfnValidationError(f"Stack:{row.stack_id} is in {row.status} state and can not be updated.")
    checked = await check(engine, req, row.stack_id, previous=row.parameters)
    same = (
        req.body == row.template_body and checked.given == (row.parameters or {})
        and (req.tags == (row.tags or []) or not req.tags) and (req.role_arn or None) == (row.role_arn or None)
    )
    if same and not allow_no_change:
        raise CfnValidationError("No updates are to be performed.")
    previous = {
        "template_body": row.template_body, "parameters": row.parameters, "ssm_resolved": row.ssm_resolved,
        "outputs": row.outputs, "description": row.description,
    }
    journal = Journal(engine.backend.db, row.stack_id, row.name, req.client_token)
    with engine.backend.db.begin() as conn:
        current = store.get_stack(conn, row.stack_id)
        if current is None or current.status not in UPDATABLE:
            raise CfnValidationError(f"Stack:{row.stack_id} is in {current.status if current else 'DELETE_COMPLETE'} state and can not be updated.")
        store.update_stack(
            conn, row.stack_id, status="UPDATE_IN_PROGRESS", status_reason="User Initiated", template_body=req.body,
            parameters=checked.given, ssm_resolved=checked.ssm_resolved, description=checked.tpl.description,
            capabilities=req.capabilities, tags=req.tags or row.tags, role_arn=req.role_arn,
            notification_arns=req.notification_arns or row.notification_arns, previous=previous,
            imports=checked.imports, caller=principal_to_json(req.caller), client_request_token=req.client_token,
            disable_rollback=req.disable_rollback, updated=store.now(),
        )
        store.add_events(conn, [journal.stack_event("UPDATE_IN_PROGRESS", "User Initiated")])
    engine.start(row.stack_id)
    return row.stack_id


def start_delete(engine: Engine, row: Any, caller: Principal | None, role_arn: str | None, client_token: str | None, retain: list[str] | None = None) -> None:
    """DeleteStack: refused while termination protection is on or exports are imported."""
    if row.status == "DELETE_COMPLETE" or row.status == "DELETE_IN_PROGRESS":
        return
    if row.termination_protection:
        raise CfnValidationError(f"Stack [{row.name}] cannot be deleted while TerminationProtection is enabled")
    if row.status.endswith("_IN_PROGRESS") and row.status != "REVIEW_IN_PROGRESS":
        raise CfnValidationError(f"Stack [{row.name}] cannot be deleted while in status {row.status}")
    with engine.backend.db.begin() as conn:
        names = [e.name for e in store.list_exports(conn, row.account_id, row.region) if e.stack_id == row.stack_id]
        used = [(n, s) for n, s in store.importers(conn, row.account_id, row.region, names) if s != row.name]
        if used:
            name, importer = used[0]
            raise CfnValidationError(f"Export {name} cannot be deleted as it is in use by {importer}")
        values: dict[str, Any] = {"status": "DELETE_IN_PROGRESS", "status_reason": "User Initiated"}
        if caller is not None:
            values["caller"] = principal_to_json(caller)
        if role_arn:
            values["role_arn"] = role_arn
        if retain:
            for rec in store.get_resources(conn, row.stack_id):
                if rec.logical_id in retain:
                    store.upsert_resource(conn, row.stack_id, rec.logical_id, {"deletion_policy": "Retain"})
        if row.status == "REVIEW_IN_PROGRESS":
            values = {"status": "DELETE_COMPLETE", "status_reason": None, "deleted": store.now()}
        store.update_stack(conn, row.stack_id, **values)
        journal = Journal(engine.backend.db, row.stack_id, row.name, client_token)
        store.add_events(conn, [journal.stack_event(values["status"], values.get("status_reason"))])
    if values["status"] == "DELETE_IN_PROGRESS":
        engine.start(row.stack_id)
