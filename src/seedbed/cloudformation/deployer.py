"""Running stack operations: create, update, delete, rollback, cleanup; resuming after a crash.

Each operation runs as an asyncio task on the server's loop (handlers are provider calls, which
is what HTTP requests are too), so the API returns at once with the StackId. Resources whose
dependencies are done start concurrently. The stack status is the phase of the journal:

- ``CREATE_IN_PROGRESS``: create; if resumed after a crash, roll back (or ``CREATE_FAILED``);
- ``ROLLBACK_IN_PROGRESS`` / ``DELETE_IN_PROGRESS``: delete what the journal knows, forward;
- ``UPDATE_IN_PROGRESS``: update; if resumed, roll back to the previous template;
- ``UPDATE_COMPLETE_CLEANUP_IN_PROGRESS``: delete replaced and removed resources, forward;
- ``UPDATE_ROLLBACK_IN_PROGRESS`` / ``..._CLEANUP_IN_PROGRESS``: restore, then discard new ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from seedbed.cloudformation import (
    dynamic,
    graph,
    intrinsics,
    parameters,
    plan,
    schemas,
    template,
    timeouts,
    types,
)
from seedbed.cloudformation.errors import CfnValidationError, ResourceFailure
from seedbed.cloudformation.journal import Journal, Rec, new_token
from seedbed.server.context import Principal
from seedbed.services.cloudformation import store

if TYPE_CHECKING:
    from seedbed.cloudformation.engine import Engine

log = logging.getLogger(__name__)

RETAIN = ("Retain", "RetainExceptOnCreate")
REPLACING = "Requested update requires the creation of a new physical resource; hence creating one."


async def run_graph(
    deps: dict[str, set[str]], work: Callable[[str], Awaitable[bool]], stop_on_failure: bool
) -> list[str]:
    """Run ``work`` for every node once its dependencies succeeded; returns the failed nodes.

    Cancelling it cancels the work under way too (a stack timeout abandons running handlers)."""
    remaining = {n: set(d) & set(deps) for n, d in deps.items()}
    dependents = graph.reverse({n: remaining[n] for n in remaining})
    ready = sorted((n for n, d in remaining.items() if not d), reverse=True)
    running: dict[asyncio.Task[bool], str] = {}
    failed: list[str] = []
    try:
        await _run_ready(ready, running, failed, remaining, dependents, work, stop_on_failure)
    except asyncio.CancelledError:
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        raise
    return failed


async def _run_ready(
    ready: list[str], running: dict[asyncio.Task[bool], str], failed: list[str], remaining: dict[str, set[str]],
    dependents: dict[str, set[str]], work: Callable[[str], Awaitable[bool]], stop_on_failure: bool,
) -> None:
    while ready or running:
        while ready and not (failed and stop_on_failure):
            name = ready.pop()
            running[asyncio.ensure_future(work(name))] = name
        if not running:
            break
        done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            name = running.pop(task)
            ok = False
            try:
                ok = task.result()
            except Exception:  # work() reports its own failures; this is a bug
                log.exception("stack operation step %s failed", name)
            if not ok:
                failed.append(name)
                continue
            for nxt in sorted(dependents.get(name, ())):
                remaining[nxt].discard(name)
                if not remaining[nxt]:
                    ready.append(nxt)


def parameter_values(tpl: template.Template, given: dict[str, str], ssm: dict[str, str] | None) -> dict[str, Any]:
    """What ``Ref`` returns for each parameter, from the stored (already checked) values."""
    values: dict[str, Any] = {}
    for name, decl in tpl.parameters.items():
        value = (ssm or {}).get(name, given.get(name, ""))
        if parameters.is_list_type(str(decl.get("Type"))):
            values[name] = [v.strip() for v in value.split(",")] if value else []
        else:
            values[name] = value
    return values


class Operation:
    """One run of the engine over one stack, from its journaled phase to a terminal status."""

    def __init__(self, engine: Engine, row: Any, resumed: bool) -> None:
        self.engine = engine
        self.backend = engine.backend
        self.stack: dict[str, Any] = dict(row._mapping)
        self.stack_id: str = self.stack["stack_id"]
        self.account: str = self.stack["account_id"]
        self.region: str = self.stack["region"]
        self.resumed = resumed
        self.journal = Journal(self.backend.db, self.stack_id, self.stack["name"], self.stack.get("client_request_token"))
        self.records: dict[str, Rec] = self.journal.load()
        self.principal: Principal | None = None
        #: Reads dynamic references as the stack's acting principal (once each per operation).
        self.resolver = dynamic.Resolver(self._call_as_stack)

    async def _call_as_stack(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return await self.backend.call(self.principal, service, operation, params, self.region)

    async def _resolved(self, rtype: str, props: dict[str, Any]) -> dict[str, Any]:
        """What the handler gets: ``props`` with its dynamic references read."""
        if not dynamic.has_references(props):
            return props
        unsupported = dynamic.unsupported_secure(rtype, props)
        if unsupported:
            raise ResourceFailure(f"SSM Secure reference is not supported in: [{','.join(unsupported)}]")
        return await self.resolver.resolve(props)

    def _failure(self, exc: BaseException) -> str:
        """The event reason for ``exc``, with any secret a dynamic reference read taken out."""
        return self.resolver.redact(_message(exc))

    def _log_failure(self, what: str, rec: Rec, exc: BaseException) -> None:
        if isinstance(exc, ResourceFailure):
            return
        if self.resolver.secrets:  # a traceback could carry a secret: log the redacted message only
            log.error("%s %s %s failed: %s", what, rec.type, rec.logical_id, self._failure(exc))
        else:
            log.exception("%s %s %s failed", what, rec.type, rec.logical_id)

    # -- shared machinery -----------------------------------------------------------------------

    def _load(self, body: str, given: dict[str, str], ssm: dict[str, str] | None) -> tuple[template.Template, intrinsics.Scope, dict[str, dict[str, Any]], dict[str, set[str]]]:
        tpl = template.load(body)
        values = parameter_values(tpl, given, ssm)
        pseudo = parameters.pseudo(self.account, self.region, self.stack["name"], self.stack_id, self.stack.get("notification_arns") or [])
        probe = plan.scope_for(tpl, values, pseudo, set(), self._no_ref, self._no_att, self.engine.import_value_for(self.account, self.region))
        conditions = {c: probe.condition(c) for c in tpl.conditions}
        active = {n: r for n, r in tpl.resources.items() if r.get("Condition") is None or conditions[r["Condition"]]}
        scope = plan.scope_for(
            tpl, values, pseudo, set(active), self._ref, self._att, self.engine.import_value_for(self.account, self.region), conditions
        )
        deps = graph.build(active, lambda c: conditions[c])
        return tpl, scope, active, deps

    def _with_stack_tags(self, rtype: str, props: dict[str, Any]) -> dict[str, Any]:
        """Stack tags propagate to every resource whose schema takes tags, as on AWS; a tag the
        resource sets itself wins."""
        tags = {t["Key"]: t["Value"] for t in self.stack.get("tags") or []}
        schema = schemas.get(rtype, self.region) if tags else None
        form = schema.tags_form if schema else None
        if form is None:
            return props
        own = props.get("Tags")
        if form == "map":
            return {**props, "Tags": {**tags, **(own if isinstance(own, dict) else {})}}
        own_list = own if isinstance(own, list) else []
        own_keys = {t.get("Key") for t in own_list if isinstance(t, dict)}
        return {**props, "Tags": own_list + [{"Key": k, "Value": v} for k, v in tags.items() if k not in own_keys]}

    @staticmethod
    def _no_ref(name: str) -> Any:
        raise CfnValidationError(f"Template error: Conditions cannot refer to resource {name}")

    @staticmethod
    def _no_att(name: str, attribute: str) -> Any:
        raise CfnValidationError(f"Template error: Conditions cannot refer to resource {name}")

    def _ref(self, name: str) -> Any:
        rec = self.records.get(name)
        if rec is None or rec.physical_id is None or not rec.status.endswith("_COMPLETE"):
            raise ResourceFailure(f"Resource {name} is not available (status {rec.status if rec else 'none'})")
        impl = types.get(rec.type)
        return impl.ref(rec.physical_id, rec.attributes) if impl else rec.physical_id

    def _att(self, name: str, attribute: str) -> Any:
        rec = self.records.get(name)
        if rec is None or not rec.status.endswith("_COMPLETE"):
            raise ResourceFailure(f"Resource {name} is not available")
        if attribute in rec.attributes:
            return rec.attributes[attribute]
        from_props = schemas.get_path(rec.properties or {}, attribute)
        if from_props is not None:  # GetAtt may name a plain property (a subnet's CidrBlock)
            return from_props
        if rec.type.startswith("Custom::") or rec.type == "AWS::CloudFormation::CustomResource":
            raise ResourceFailure(f"CustomResource attribute error: Vendor response doesn't contain {attribute} key in object {self.stack_id}|{name}|{rec.token} in S3 bucket")
        raise ResourceFailure(f"Attribute '{attribute}' does not exist on {name} ({rec.type})")

    def _ctx(self, rec: Rec) -> types.ResourceContext:
        return types.ResourceContext(
            backend=self.backend, principal=self.principal, region=self.region, account_id=self.account,
            stack_id=self.stack_id, stack_name=self.stack["name"], logical_id=rec.logical_id, type_name=rec.type,
            request_token=rec.token, engine=self.engine,
        )

    async def _commit_stack(self, status: str, reason: str | None = None, **values: Any) -> None:
        self.stack["status"], self.stack["status_reason"] = status, reason
        await self.journal.write(
            events=[self.journal.stack_event(status, reason)],
            stack={"status": status, "status_reason": reason, "updated": store.now(), **values},
        )

    async def run(self) -> None:
        self.principal = await self.engine.principal_for(self.stack)
        status = self.stack["status"]
        if status == "CREATE_IN_PROGRESS":
            if self.resumed:
                deadline = timeouts.deadline_of(self.stack)
                if deadline is not None and self.engine.clock.now() >= deadline:
                    await self._create_failed([], timeouts.TIMED_OUT, requested=True)
                else:
                    await self._create_failed([], "The stack operation was interrupted (Seedbed restarted).")
            else:
                await self.create()
        elif status in ("ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS"):
            await self.delete(rollback=status == "ROLLBACK_IN_PROGRESS")
        elif status == "UPDATE_IN_PROGRESS":
            if self.resumed:
                await self.update_rollback("The stack operation was interrupted (Seedbed restarted).")
            else:
                await self.update()
        elif status == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS":
            await self.update_cleanup()
        elif status == "UPDATE_ROLLBACK_IN_PROGRESS":
            await self.update_rollback(None)
        elif status == "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS":
            await self.rollback_cleanup()

    # -- create ---------------------------------------------------------------------------------

    async def create(self) -> None:
        try:
            tpl, scope, active, deps = self._load(self.stack["template_body"], self.stack["parameters"], self.stack.get("ssm_resolved"))
        except Exception as exc:  # noqa: BLE001 - reported as the stack's failure
            await self._create_failed([], _message(exc))
            return
        work = run_graph(deps, lambda n: self._create_one(n, scope, active[n]), stop_on_failure=True)
        failed, cut_short = await self._within_deadline(work)
        if cut_short is not None:
            await self._create_failed([], cut_short, requested=True)
            return
        if failed:
            await self._create_failed(failed)
            return
        try:
            outputs, exported = self.engine.outputs(tpl, scope, self.account, self.region, self.stack_id)
        except Exception as exc:  # noqa: BLE001
            await self._create_failed([], _message(exc))
            return
        await self.journal.write(
            events=[self.journal.stack_event("CREATE_COMPLETE")],
            stack={"status": "CREATE_COMPLETE", "status_reason": None, "outputs": outputs, "updated": None, "pending": None},
            exports=(self.account, self.region, exported),
        )

    async def _within_deadline(self, work: Awaitable[list[str]]) -> tuple[list[str], str | None]:
        """Run the create's graph until it ends (its failed nodes, None), the stack's deadline
        passes or a parent cancels it (the handlers under way are cancelled; [], the reason)."""
        deadline = timeouts.deadline_of(self.stack)
        nested = bool(self.stack.get("parent_id"))
        if deadline is None and not nested:
            return await work, None
        task = asyncio.ensure_future(work)
        stops: list[asyncio.Future[Any]] = []
        cancelled_because: Callable[[], str | None] | None = None
        if nested:
            event, cancelled_because = self.engine.cancellation(self.stack_id)
            stops.append(asyncio.ensure_future(event.wait()))
        if deadline is not None:
            stops.append(asyncio.ensure_future(self.engine.clock.sleep_until(deadline)))
        try:
            await asyncio.wait({task, *stops}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            for stop in stops:
                stop.cancel()
        if task.done():
            return task.result(), None
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return [], (cancelled_because() if cancelled_because else None) or timeouts.TIMED_OUT

    async def _create_one(self, name: str, scope: intrinsics.Scope, resource: dict[str, Any], old: dict[str, Any] | None = None) -> bool:
        rec = Rec(
            logical_id=name, type=resource["Type"], token=new_token(),
            deletion_policy=resource.get("DeletionPolicy"), update_replace_policy=resource.get("UpdateReplacePolicy"),
            metadata=resource.get("Metadata"), old=old,
        )
        self.records[name] = rec
        return await self._provision(rec, scope, resource, "CREATE")

    async def _provision(self, rec: Rec, scope: intrinsics.Scope, resource: dict[str, Any], verb: str) -> bool:
        """Create ``rec``'s resource; ``verb`` is CREATE, or UPDATE for a replacement."""
        impl = types.get(rec.type)
        try:
            props = self._with_stack_tags(rec.type, intrinsics.evaluate(resource.get("Properties") or {}, scope))
            if impl is None:
                raise ResourceFailure(f"Seedbed cannot create {rec.type} yet")
            rec.properties = props  # as written: dynamic references stay literal in records and events
            actual = await self._resolved(rec.type, props)
            rec.physical_id = impl.intended_id(self._ctx(rec), actual)
        except Exception as exc:  # noqa: BLE001
            rec.status, rec.status_reason = f"{verb}_FAILED", self._failure(exc)
            await self.journal.write([rec], [self.journal.rec_event(rec, physical=False)])
            return False
        rec.status, rec.status_reason = f"{verb}_IN_PROGRESS", None
        first = self.journal.rec_event(rec, reason=REPLACING if verb == "UPDATE" else None, physical=False)
        await self.journal.write([rec], [first])
        ctx = self._ctx(rec)
        try:
            result = await impl.create(ctx, actual)
        except Exception as exc:  # noqa: BLE001
            self._log_failure("creating", rec, exc)
            if not ctx.changed and impl.service is not None:
                rec.physical_id = None  # nothing was made: never delete a namesake that is not ours
            rec.status, rec.status_reason = f"{verb}_FAILED", self._failure(exc)
            await self.journal.write([rec], [self.journal.rec_event(rec)])
            return False
        rec.physical_id, rec.attributes = result.physical_id, result.attributes
        initiated = self.journal.rec_event(rec, f"{verb}_IN_PROGRESS", "Resource creation Initiated")
        rec.status, rec.status_reason = f"{verb}_COMPLETE", None
        await self.journal.write([rec], [initiated, self.journal.rec_event(rec)])
        return True

    async def _create_failed(self, failed: list[str], reason: str | None = None, requested: bool | None = None) -> None:
        """The create failed: resources still in progress are cancelled, then the stack does what
        its OnFailure says (ROLLBACK, DO_NOTHING = DisableRollback, or DELETE)."""
        if reason is None:
            reason = f"The following resource(s) failed to create: [{', '.join(sorted(failed))}]. "
        if requested is None:
            requested = bool(failed)
        cancelled = [rec for rec in self.records.values() if rec.status == "CREATE_IN_PROGRESS"]
        for rec in cancelled:
            rec.status, rec.status_reason = "CREATE_FAILED", timeouts.CANCELLED
        if cancelled:
            await self.journal.write(cancelled, [self.journal.rec_event(rec) for rec in cancelled])
        mode = timeouts.on_failure_of(self.stack)
        if mode == "DO_NOTHING":
            await self._commit_stack("CREATE_FAILED", reason)
            return
        if mode == "DELETE":
            await self._commit_stack("DELETE_IN_PROGRESS", _requested(reason, "Delete") if requested else reason)
            await self.delete(rollback=False)
            return
        await self._commit_stack("ROLLBACK_IN_PROGRESS", _requested(reason, "Rollback") if requested else reason)
        await self.delete(rollback=True)

    def _deleting_failed_create(self) -> bool:
        """OnFailure=DELETE removes what a failed create made: RetainExceptOnCreate goes too."""
        return (self.stack.get("pending") or {}).get("on_failure") == "DELETE"

    # -- delete ---------------------------------------------------------------------------------

    def _delete_graph(self, names: list[str]) -> dict[str, set[str]]:
        """Reverse dependencies among ``names``, from the stack's template (best effort)."""
        try:
            tpl = template.load(self.stack["template_body"])
            present = {n: r for n, r in tpl.resources.items() if n in names}
            deps = graph.build(present)
        except Exception:  # noqa: BLE001 - an unreadable template still gets its resources deleted
            deps = {}
        full = {n: deps.get(n, set()) & set(names) for n in names}
        return graph.reverse(full)

    async def delete(self, rollback: bool) -> None:
        names = [n for n, r in self.records.items() if r.status not in ("DELETE_COMPLETE", "DELETE_SKIPPED")]
        on_create = rollback or self._deleting_failed_create()
        failed = await run_graph(self._delete_graph(names), lambda n: self._delete_one(n, on_create), stop_on_failure=False)
        if rollback:
            final = "ROLLBACK_FAILED" if failed else "ROLLBACK_COMPLETE"
            reason = f"The following resource(s) failed to delete: [{', '.join(sorted(failed))}]. " if failed else self.stack.get("status_reason")
            await self._commit_stack(final, reason)
            return
        if failed:
            await self._commit_stack("DELETE_FAILED", f"The following resource(s) failed to delete: [{', '.join(sorted(failed))}]. ")
            return
        await self.journal.write(
            events=[self.journal.stack_event("DELETE_COMPLETE")],
            stack={"status": "DELETE_COMPLETE", "status_reason": None, "deleted": store.now()},
            exports=(self.account, self.region, {}),
        )
        with self.backend.db.begin() as conn:
            store.delete_change_sets_of(conn, self.stack_id)

    async def _delete_one(self, name: str, rollback: bool) -> bool:
        rec = self.records[name]
        policy = rec.deletion_policy
        if policy == "Retain" or (policy == "RetainExceptOnCreate" and not rollback):
            rec.status, rec.status_reason = "DELETE_SKIPPED", None
            await self.journal.write([rec], [self.journal.rec_event(rec)])
            return True
        return await self._destroy(rec, rec.physical_id, rec.properties or {}, rec.attributes, final=True)

    async def _destroy(self, rec: Rec, physical_id: str | None, props: dict[str, Any], attributes: dict[str, Any], final: bool) -> bool:
        """Delete one physical resource with DELETE_* events; ``final`` updates the record too."""
        impl = types.get(rec.type)
        event_rec = Rec(rec.logical_id, rec.type, rec.token, "DELETE_IN_PROGRESS", physical_id, None, props)
        if final:
            rec.status, rec.status_reason = "DELETE_IN_PROGRESS", None
        await self.journal.write([rec] if final else [], [self.journal.rec_event(event_rec)])
        if physical_id is not None and impl is not None:
            try:
                await impl.delete(self._ctx(rec), physical_id, await self.resolver.resolve_quietly(props), attributes)
            except Exception as exc:  # noqa: BLE001
                self._log_failure("deleting", rec, exc)
                event_rec.status, event_rec.status_reason = "DELETE_FAILED", self._failure(exc)
                if final:
                    rec.status, rec.status_reason = "DELETE_FAILED", event_rec.status_reason
                await self.journal.write([rec] if final else [], [self.journal.rec_event(event_rec)])
                return False
        event_rec.status = "DELETE_COMPLETE"
        if final:
            rec.status = "DELETE_COMPLETE"
        await self.journal.write([rec] if final else [], [self.journal.rec_event(event_rec)])
        return True

    # -- update ---------------------------------------------------------------------------------

    async def update(self) -> None:
        try:
            tpl, scope, active, deps = self._load(self.stack["template_body"], self.stack["parameters"], self.stack.get("ssm_resolved"))
        except Exception as exc:  # noqa: BLE001
            await self.update_rollback(_message(exc))
            return
        failed = await run_graph(deps, lambda n: self._update_one(n, scope, active[n]), stop_on_failure=True)
        if failed:
            await self.update_rollback(f"The following resource(s) failed to update: [{', '.join(sorted(failed))}]. ")
            return
        try:
            outputs, exported = self.engine.outputs(tpl, scope, self.account, self.region, self.stack_id)
        except Exception as exc:  # noqa: BLE001
            await self.update_rollback(_message(exc))
            return
        await self.journal.write(
            events=[self.journal.stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")],
            stack={"status": "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "status_reason": None, "outputs": outputs, "updated": store.now()},
            exports=(self.account, self.region, exported),
        )
        await self.update_cleanup()

    async def _update_one(self, name: str, scope: intrinsics.Scope, resource: dict[str, Any]) -> bool:
        rec = self.records.get(name)
        rtype = resource["Type"]
        if rec is None or rec.status in ("DELETE_COMPLETE", "DELETE_SKIPPED") or rec.physical_id is None:
            if rec is not None:
                await self.journal.write(drop=[name])
            return await self._create_one(name, scope, resource, old={"action": "create"})
        rec.deletion_policy, rec.update_replace_policy = resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")
        rec.metadata = resource.get("Metadata")
        impl = types.get(rtype)
        try:
            props = self._with_stack_tags(rtype, intrinsics.evaluate(resource.get("Properties") or {}, scope))
            if impl is None:
                raise ResourceFailure(f"Seedbed cannot update {rtype} yet")
        except Exception as exc:  # noqa: BLE001
            rec.status, rec.status_reason = "UPDATE_FAILED", _message(exc)
            await self.journal.write([rec], [self.journal.rec_event(rec)])
            return False
        if rtype == rec.type and props == rec.properties:
            await self.journal.write([rec])
            return True
        schema = schemas.get(rtype, self.region)
        changed = schema.requires_replacement(rec.properties or {}, props) if schema and rtype == rec.type else ["Type"]
        if changed:
            return await self._replace(rec, rtype, props, schema, changed, scope, resource)
        rec.old = rec.snapshot("update")
        old_props = rec.properties or {}
        rec.status, rec.status_reason, rec.properties = "UPDATE_IN_PROGRESS", None, props
        await self.journal.write([rec], [self.journal.rec_event(rec)])
        try:
            new_actual = await self._resolved(rtype, props)
            old_actual = await self.resolver.resolve_quietly(old_props)
            attributes = await impl.update(self._ctx(rec), rec.physical_id, old_actual, new_actual, dict(rec.attributes))
        except Exception as exc:  # noqa: BLE001
            self._log_failure("updating", rec, exc)
            rec.status, rec.status_reason = "UPDATE_FAILED", self._failure(exc)
            await self.journal.write([rec], [self.journal.rec_event(rec)])
            return False
        new_physical = attributes.pop("__PhysicalResourceId", None)
        if new_physical and new_physical != rec.physical_id:
            rec.old["action"] = "replace"
            rec.physical_id = new_physical
        rec.attributes = attributes
        rec.status = "UPDATE_COMPLETE"
        await self.journal.write([rec], [self.journal.rec_event(rec)])
        return True

    async def _replace(
        self, rec: Rec, rtype: str, props: dict[str, Any], schema: schemas.TypeSchema | None, changed: list[str],
        scope: intrinsics.Scope, resource: dict[str, Any],
    ) -> bool:
        if schema is not None and rtype == rec.type:
            for ident in schema.primary_identifier:
                old_value, new_value = (rec.properties or {}).get(ident), props.get(ident)
                if new_value is not None and new_value == old_value and ident in schema.create_only:
                    rec.status = "UPDATE_FAILED"
                    rec.status_reason = (
                        "CloudFormation cannot update a stack when a custom-named resource requires replacing. "
                        f"Rename {new_value} and update the stack again."
                    )
                    await self.journal.write([rec], [self.journal.rec_event(rec)])
                    return False
        rec.old = rec.snapshot("replace")
        rec.old["update_replace_policy"] = rec.update_replace_policy
        rec.type, rec.token, rec.attributes = rtype, new_token(), {}
        return await self._provision(rec, scope, resource, "UPDATE")

    async def update_cleanup(self) -> None:
        _, _, active, _ = self._load(self.stack["template_body"], self.stack["parameters"], self.stack.get("ssm_resolved"))
        replaced = [r for r in self.records.values() if r.old and r.old.get("action") == "replace"]
        for rec in replaced:
            old = rec.old or {}
            if old.get("update_replace_policy") in RETAIN:
                skipped = Rec(rec.logical_id, old.get("type") or rec.type, rec.token, "DELETE_SKIPPED", old.get("physical_id"), None, old.get("properties"))
                rec.old = None
                await self.journal.write([rec], [self.journal.rec_event(skipped)])
                continue
            holder = Rec(rec.logical_id, old.get("type") or rec.type, old.get("token") or rec.token)
            await self._destroy(holder, old.get("physical_id"), old.get("properties") or {}, old.get("attributes") or {}, final=False)
            rec.old = None
            await self.journal.write([rec])
        removed = [n for n, r in self.records.items() if n not in active and r.status not in ("DELETE_COMPLETE",)]
        previous = self.stack.get("previous") or {}
        order = self._graph_from(previous.get("template_body"), removed)
        await run_graph(order, lambda n: self._remove(n), stop_on_failure=False)
        for rec in self.records.values():
            if rec.old is not None and rec.logical_id in active:
                rec.old = None
                await self.journal.write([rec])
        await self._commit_stack("UPDATE_COMPLETE", None, previous=None)

    def _graph_from(self, body: str | None, names: list[str]) -> dict[str, set[str]]:
        try:
            tpl = template.load(body) if body else None
            deps = graph.build({n: r for n, r in tpl.resources.items() if n in names}) if tpl else {}
        except Exception:  # noqa: BLE001
            deps = {}
        return graph.reverse({n: deps.get(n, set()) & set(names) for n in names})

    async def _remove(self, name: str) -> bool:
        rec = self.records[name]
        if rec.deletion_policy in RETAIN:
            rec.status = "DELETE_SKIPPED"
            await self.journal.write([], [self.journal.rec_event(rec)], drop=[name])
            return True
        ok = await self._destroy(rec, rec.physical_id, rec.properties or {}, rec.attributes, final=True)
        if ok:
            await self.journal.write(drop=[name])
        return ok

    # -- update rollback ------------------------------------------------------------------------

    async def update_rollback(self, reason: str | None) -> None:
        if self.stack["status"] != "UPDATE_ROLLBACK_IN_PROGRESS":
            await self._commit_stack("UPDATE_ROLLBACK_IN_PROGRESS", reason)
        failed = []
        for rec in list(self.records.values()):
            old = rec.old
            if not old:
                continue
            action = old.get("action")
            if action == "create":
                rec.old = {"action": "discard", "drop": True, "physical_id": rec.physical_id, "properties": rec.properties,
                           "attributes": rec.attributes, "type": rec.type, "token": rec.token}
                await self.journal.write([rec])
            elif action == "replace":
                new_state = {"action": "discard", "physical_id": rec.physical_id, "properties": rec.properties,
                             "attributes": rec.attributes, "type": rec.type, "token": rec.token}
                rec.physical_id, rec.properties = old.get("physical_id"), old.get("properties")
                rec.attributes, rec.type, rec.token = old.get("attributes") or {}, old.get("type") or rec.type, old.get("token") or rec.token
                rec.status, rec.status_reason, rec.old = "UPDATE_COMPLETE", None, new_state
                await self.journal.write([rec], [self.journal.rec_event(rec)])
            elif action == "update":
                if not await self._revert(rec, old):
                    failed.append(rec.logical_id)
        if failed:
            await self._commit_stack("UPDATE_ROLLBACK_FAILED", f"The following resource(s) failed to update: [{', '.join(sorted(failed))}]. ")
            return
        await self._commit_stack("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        await self.rollback_cleanup()

    async def _revert(self, rec: Rec, old: dict[str, Any]) -> bool:
        impl = types.get(rec.type)
        current = rec.properties or {}
        rec.status, rec.status_reason = "UPDATE_IN_PROGRESS", None
        await self.journal.write([rec], [self.journal.rec_event(rec)])
        try:
            if impl is not None and rec.physical_id is not None:
                await impl.update(
                    self._ctx(rec), rec.physical_id, await self.resolver.resolve_quietly(current),
                    await self.resolver.resolve(old.get("properties") or {}), dict(rec.attributes),
                )
        except Exception as exc:  # noqa: BLE001
            rec.status, rec.status_reason = "UPDATE_FAILED", self._failure(exc)
            await self.journal.write([rec], [self.journal.rec_event(rec)])
            return False
        rec.properties, rec.attributes = old.get("properties"), old.get("attributes") or {}
        rec.status, rec.old = "UPDATE_COMPLETE", None
        await self.journal.write([rec], [self.journal.rec_event(rec)])
        return True

    async def rollback_cleanup(self) -> None:
        discards = [r for r in self.records.values() if r.old and r.old.get("action") == "discard"]

        async def discard(name: str) -> bool:
            rec = self.records[name]
            old = rec.old or {}
            holder = Rec(rec.logical_id, old.get("type") or rec.type, old.get("token") or rec.token)
            ok = await self._destroy(holder, old.get("physical_id"), old.get("properties") or {}, old.get("attributes") or {}, final=False)
            if old.get("drop"):
                await self.journal.write(drop=[name])
                self.records.pop(name, None)
            else:
                rec.old = None
                await self.journal.write([rec])
            return ok

        previous = self.stack.get("previous") or {}
        order = self._graph_from(self.stack["template_body"], [r.logical_id for r in discards])
        await run_graph(order, discard, stop_on_failure=False)
        restore: dict[str, Any] = {"previous": None}
        if previous:
            restore.update(
                template_body=previous["template_body"], parameters=previous["parameters"],
                ssm_resolved=previous.get("ssm_resolved"), outputs=previous.get("outputs"),
                description=previous.get("description"),
            )
        exported = {o["ExportName"]: o["OutputValue"] for o in (previous.get("outputs") or []) if o.get("ExportName")}
        await self.journal.write(
            events=[self.journal.stack_event("UPDATE_ROLLBACK_COMPLETE")],
            stack={"status": "UPDATE_ROLLBACK_COMPLETE", "status_reason": None, "updated": store.now(), **restore},
            exports=(self.account, self.region, exported) if previous else None,
        )
        self.stack["status"] = "UPDATE_ROLLBACK_COMPLETE"


def _requested(reason: str, action: str) -> str:
    base = reason.rstrip()
    return f"{base if base.endswith('.') else base + '.'} {action} requested by user."


def _message(exc: BaseException) -> str:
    if isinstance(exc, ResourceFailure):
        return str(exc)
    message = getattr(exc, "message", None)
    if message:
        return str(message)
    return f"Internal failure: {type(exc).__name__}: {exc}"
