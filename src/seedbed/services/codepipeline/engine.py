"""Running a pipeline execution: stages in order, actions of a stage by run order (those with the
same run order together), artifacts handed on through the artifact bucket.

The execution row is the journal: stage statuses, artifact locations and namespace variables are
saved as they change, action executions have rows of their own. After a crash
:meth:`ExecutionRunner.run` with ``resume=True`` skips what succeeded, keeps waiting for approvals
and Lambda job results, and fails actions whose work was lost (a build, a stack operation).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from seedbed.services.codepipeline import store
from seedbed.services.codepipeline.declaration import substitute

if TYPE_CHECKING:
    from seedbed.services.codepipeline.provider import CodePipelineProvider

log = logging.getLogger(__name__)

RESUMABLE_WAITS = {("Approval", "Manual"), ("Invoke", "Lambda")}
LOST_WORK = "The Seedbed server restarted while this action ran; its work was lost."


@dataclass
class ActionResult:
    status: str  # Succeeded | Failed
    summary: str | None = None
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # artifact name -> bucket/key/revision
    variables: dict[str, str] = field(default_factory=dict)
    external_id: str | None = None
    external_url: str | None = None
    error: dict[str, str] | None = None
    revision: dict[str, Any] | None = None  # source actions: revisionId, summary, created, url


class Superseded(Exception):
    pass


class ExecutionRunner:
    def __init__(self, provider: CodePipelineProvider, row: store.ExecutionRow) -> None:
        self.provider = provider
        self.backend = provider.backend
        self.row = row
        self.doc = row.doc
        self.decl = self.doc["declaration"]
        self.stop_requested = False
        self.abandon = False
        self.task: asyncio.Task[None] | None = None
        self.current_stage: str | None = None
        self.running_actions: dict[str, store.ActionRow] = {}

    # -- journal --------------------------------------------------------------------------------

    def save(self, **values: Any) -> None:
        with self.backend.db.begin() as conn:
            store.save_execution(conn, self.row.execution_id, doc=self.doc, **values)
        for key, value in values.items():
            setattr(self.row, key, value)

    async def set_status(self, status: str, summary: str | None = None, event: str | None = None) -> None:
        self.save(status=status, status_summary=summary)
        if event:
            await self.provider.emit_execution(self.row, event)

    async def set_stage(self, stage: str, status: str, event: str | None) -> None:
        self.doc["stages"][stage] = {"status": status, "updated": store.now().timestamp()}
        self.save()
        if event:
            await self.provider.emit_stage(self.row, stage, event)

    def lookup(self) -> dict[str, dict[str, str]]:
        out = {ns: dict(values) for ns, values in (self.doc.get("namespaces") or {}).items()}
        out["variables"] = {v["name"]: v["resolvedValue"] for v in self.doc.get("variables") or []}
        out["codepipeline"] = {"PipelineExecutionId": self.row.execution_id}
        return out

    # -- the run --------------------------------------------------------------------------------

    async def run(self, start_stage: str | None = None, retry_mode: str | None = None, resume: bool = False) -> None:
        try:
            await self._run(start_stage, retry_mode, resume)
        except asyncio.CancelledError:
            if self.provider.closing:
                return  # a shutdown: the journal stays InProgress and resume() continues it
            await self._cancelled()
        except Superseded:
            await self._finish_stage_abandoned("Cancelled")
            await self.set_status("Superseded", "Superseded by a newer execution", "SUPERSEDED")
        except Exception as exc:  # a bug must still end the execution
            log.exception("pipeline execution %s failed unexpectedly", self.row.execution_id)
            await self.set_status("Failed", f"Seedbed failed running the execution: {exc}", "FAILED")
        finally:
            self.provider.runners.pop(self.row.execution_id, None)

    async def _cancelled(self) -> None:
        for action in list(self.running_actions.values()):
            await self.provider.finish_action(self, action, "Abandoned", "Abandoned by StopPipelineExecution")
        await self._finish_stage_abandoned("Stopped")
        await self.set_status("Stopped", self.doc.get("stopReason"), "STOPPED")

    async def _finish_stage_abandoned(self, status: str) -> None:
        if self.current_stage and self.doc["stages"].get(self.current_stage, {}).get("status") == "InProgress":
            await self.set_stage(self.current_stage, status, "STOPPED" if status == "Stopped" else "CANCELED")

    async def _run(self, start_stage: str | None, retry_mode: str | None, resume: bool) -> None:
        stages = self.decl["stages"]
        names = [s["name"] for s in stages]
        first = names.index(start_stage) if start_stage else 0
        for stage in stages[first:]:
            name = stage["name"]
            state = self.doc["stages"].get(name, {}).get("status")
            if resume and state == "Succeeded":
                continue
            if self.stop_requested:
                await self.set_status("Stopped", self.doc.get("stopReason"), "STOPPED")
                return
            await self.provider.wait_transition(self, name)
            lock = await self.provider.enter_stage(self, name)
            try:
                self.current_stage = name
                keep = resume or (retry_mode == "FAILED_ACTIONS" and name == start_stage)
                await self.set_stage(name, "InProgress", "RESUMED" if (resume or retry_mode) and state else "STARTED")
                ok = await self._stage(stage, keep)
            finally:
                self.provider.leave_stage(self, name, lock)
            if not ok:
                if self.stop_requested:
                    await self.set_stage(name, "Stopped", "STOPPED")
                    await self.set_status("Stopped", self.doc.get("stopReason"), "STOPPED")
                    return
                await self.set_stage(name, "Failed", "FAILED")
                await self.set_status("Failed", self.doc.get("failure") or f"Stage {name} failed", "FAILED")
                return
            await self.set_stage(name, "Succeeded", "SUCCEEDED")
            resume = False
            retry_mode = None
        self.current_stage = None
        await self.set_status("Succeeded", None, "SUCCEEDED")

    async def _stage(self, stage: dict[str, Any], keep_succeeded: bool) -> bool:
        from seedbed.services.codepipeline import actions as providers

        previous: dict[str, store.ActionRow] = {}
        if keep_succeeded:
            with self.backend.db.connect() as conn:
                rows = store.list_actions(conn, self.row.account_id, self.row.region, self.row.pipeline_name,
                                          self.row.execution_id)
            for row in rows:  # newest first
                if row.stage_name == stage["name"] and row.action_name not in previous:
                    previous[row.action_name] = row
        orders = sorted({a.get("runOrder") or 1 for a in stage["actions"]})
        for order in orders:
            group = [a for a in stage["actions"] if (a.get("runOrder") or 1) == order]
            jobs = []
            for action in group:
                before = previous.get(action["name"])
                if before is not None and before.status == "Succeeded":
                    continue
                jobs.append(self._action(stage["name"], action, before, providers))
            results = await asyncio.gather(*jobs)
            if not all(results):
                return False
            if self.stop_requested:
                return False
        return True

    async def _action(self, stage: str, action: dict[str, Any], before: store.ActionRow | None, providers: Any) -> bool:
        type_id = action["actionTypeId"]
        waits = (type_id["category"], type_id["provider"]) in RESUMABLE_WAITS
        if before is not None and before.status == "InProgress" and not waits:
            await self.provider.finish_action(self, before, "Failed", LOST_WORK,
                                              error={"code": "JobFailed", "message": LOST_WORK})
            self.doc["failure"] = LOST_WORK
            return False
        if before is not None and before.status == "InProgress":
            row = before
        else:
            row = await self.provider.start_action(self, stage, action)
        # Stays listed while it runs: a cancel (StopPipelineExecution with abandon) marks it Abandoned.
        self.running_actions[row.action_execution_id] = row
        try:
            configuration = substitute(action.get("configuration") or {}, self.lookup())
        except KeyError as exc:
            result = ActionResult("Failed", f"Unable to resolve the variable {exc.args[0]}")
        else:
            resolved = {**action, "configuration": configuration}
            if row.doc.get("input") is not None:
                row.doc["input"]["resolvedConfiguration"] = configuration
            try:
                result = await providers.run(self, stage, resolved, row)
            except providers.ActionFailure as exc:
                result = ActionResult("Failed", exc.message, error={"code": "JobFailed", "message": exc.message})
            except Exception as exc:  # a provider bug fails the action, not the server
                log.exception("action %s failed unexpectedly", action["name"])
                result = ActionResult("Failed", f"Seedbed failed running the action: {exc}")
        self.running_actions.pop(row.action_execution_id, None)
        if result.status == "Succeeded":
            for name, location in result.outputs.items():
                self.doc.setdefault("artifacts", {})[name] = location
            if action.get("namespace"):
                self.doc.setdefault("namespaces", {})[action["namespace"]] = dict(result.variables)
            if result.revision is not None:
                revisions = [r for r in self.doc.get("artifactRevisions") or [] if r["name"] != result.revision["name"]]
                self.doc["artifactRevisions"] = [*revisions, result.revision]
            self.save()
        else:
            self.doc["failure"] = result.summary or f"Action {action['name']} failed"
        await self.provider.finish_action(self, row, result.status, result.summary, result)
        return result.status == "Succeeded"


def new_execution(account: str, region: str, pipeline: store.PipelineRow, trigger: dict[str, Any],
                  variables: list[dict[str, str]], source_revisions: list[dict[str, Any]]) -> store.ExecutionRow:
    decl = copy.deepcopy(pipeline.declaration)
    now = store.now()
    doc = {
        "declaration": decl, "trigger": trigger, "variables": variables, "sourceRevisions": source_revisions,
        "executionMode": decl.get("executionMode") or "SUPERSEDED", "stages": {}, "artifacts": {},
        "namespaces": {}, "artifactRevisions": [], "executionType": "STANDARD",
    }
    return store.ExecutionRow(str(uuid.uuid4()), account, region, pipeline.name, pipeline.version, "InProgress",
                              None, now, now, doc)
