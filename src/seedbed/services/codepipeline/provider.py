"""The CodePipeline API (smithy-rpc-v2-cbor / json): pipelines, executions, approvals, jobs.

Executions run in this process's event loop (:mod:`.engine`), with action providers in
:mod:`.actions`. A pipeline starts on creation (as AWS does), on ``StartPipelineExecution``, and on
:meth:`CodePipelineProvider.source_changed`, which Seedbed's git hosting calls after every push.
S3 sources are not watched for changes (start the pipeline, or use an EventBridge rule).
"""

from __future__ import annotations

import asyncio
import copy
import fnmatch
import logging
import subprocess
import uuid
from typing import Any

from seedbed.server.context import RequestContext
from seedbed.services.base import Provider
from seedbed.services.codepipeline import declaration, store
from seedbed.services.codepipeline.engine import (
    ActionResult,
    ExecutionRunner,
    Superseded,
    new_execution,
)
from seedbed.services.codepipeline.errors import (
    ActionNotFound,
    ApprovalAlreadyCompleted,
    Conflict,
    DuplicatedStopRequest,
    InvalidApprovalToken,
    InvalidArn,
    InvalidJobState,
    JobNotFound,
    NotLatestPipelineExecution,
    PipelineExecutionNotFound,
    PipelineExecutionNotStoppable,
    PipelineNameInUse,
    PipelineNotFound,
    PipelineVersionNotFound,
    ResourceNotFound,
    StageNotFound,
    StageNotRetryable,
    Validation,
)
from seedbed.services.events.publish import emit
from seedbed.state import arns

log = logging.getLogger(__name__)

WAIT_POLL = 1.0
STATE_EVENT = {"InProgress": "STARTED", "Succeeded": "SUCCEEDED", "Failed": "FAILED", "Abandoned": "ABANDONED"}


def pipeline_arn(account: str, region: str, name: str) -> str:
    return arns.build("codepipeline", name, account, region)


def _ts(value: Any) -> Any:
    return store.aware(value) if value is not None else None


def _from_epoch(value: float | None) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(value, UTC) if value is not None else None


class CodePipelineProvider(Provider):
    service = "codepipeline"

    def __init__(self, backend: Any) -> None:
        super().__init__(backend)
        self.runners: dict[str, ExecutionRunner] = {}
        self._locks: dict[tuple[str, str, str, str], asyncio.Lock] = {}
        self._waiting: dict[tuple[str, str, str, str], ExecutionRunner] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._resumed = False
        self.closing = False

    # -- plumbing -------------------------------------------------------------------------------

    def _pipeline(self, ctx: RequestContext, name: str) -> store.PipelineRow:
        with self.backend.db.connect() as conn:
            row = store.get_pipeline(conn, ctx.account_id, ctx.region, name)
        if row is None:
            raise PipelineNotFound(f"Account '{ctx.account_id}' does not have a pipeline with name '{name}'")
        ctx.resources.append(row.arn)
        return row

    def _execution(self, ctx: RequestContext, pipeline: str, execution_id: str) -> store.ExecutionRow:
        with self.backend.db.connect() as conn:
            row = store.get_execution(conn, execution_id)
        if row is None or row.pipeline_name != pipeline or row.account_id != ctx.account_id or row.region != ctx.region:
            raise PipelineExecutionNotFound(
                f"Pipeline execution '{execution_id}' not found in pipeline '{pipeline}' for account '{ctx.account_id}'")
        return row

    def _check_role(self, ctx: RequestContext, decl: dict[str, Any]) -> None:
        authorizer = self.backend.authorizer
        authorizer.check_pass_role(ctx, decl["roleArn"], "codepipeline.amazonaws.com")
        for stage in decl["stages"]:
            for action in stage["actions"]:
                if action.get("roleArn"):
                    authorizer.check_pass_role(ctx, action["roleArn"], "codepipeline.amazonaws.com")

    @staticmethod
    def _decl_out(row: store.PipelineRow) -> dict[str, Any]:
        decl = copy.deepcopy(row.declaration)
        decl["version"] = row.version
        return decl

    def _start(self, row: store.PipelineRow, trigger: dict[str, Any], variables: list[dict[str, Any]] | None = None,
               source_revisions: list[dict[str, Any]] | None = None) -> str:
        resolved = []
        given = {v["name"]: v["value"] for v in variables or []}
        for var in row.declaration.get("variables") or []:
            if var["name"] in given:
                resolved.append({"name": var["name"], "resolvedValue": given.pop(var["name"])})
            elif var.get("defaultValue") is not None:
                resolved.append({"name": var["name"], "resolvedValue": var["defaultValue"]})
            else:
                raise Validation(f"Pipeline variable {var['name']} has no value and no default value")
        if given:
            raise Validation(f"Pipeline variables are not declared by the pipeline: {', '.join(sorted(given))}")
        execution = new_execution(row.account_id, row.region, row, trigger, resolved, list(source_revisions or []))
        with self.backend.db.begin() as conn:
            store.insert_execution(conn, execution)
        self._launch(execution)
        return execution.execution_id

    def _launch(self, execution: store.ExecutionRow, **kwargs: Any) -> ExecutionRunner:
        runner = ExecutionRunner(self, execution)
        self.runners[execution.execution_id] = runner

        async def go() -> None:
            if not kwargs:
                await self.emit_execution(execution, "STARTED")
            await runner.run(**kwargs)

        runner.task = asyncio.get_running_loop().create_task(go())
        return runner

    # -- pipelines ------------------------------------------------------------------------------

    def create_pipeline(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        decl = declaration.normalize(params["pipeline"])
        self._check_role(ctx, decl)
        decl.pop("version", None)
        now = store.now()
        arn = pipeline_arn(ctx.account_id, ctx.region, decl["name"])
        row = store.PipelineRow(ctx.account_id, ctx.region, decl["name"], arn, 1, decl, now, now,
                                list(params.get("tags") or []), {})
        with self.backend.db.begin() as conn:
            if store.get_pipeline(conn, ctx.account_id, ctx.region, decl["name"]) is not None:
                raise PipelineNameInUse(f"Pipeline name {decl['name']} is already used by a pipeline in your account")
            store.insert_pipeline(conn, row)
        ctx.resources.append(arn)
        self._start(row, {"triggerType": "CreatePipeline", "triggerDetail": initiator(ctx)})
        out: dict[str, Any] = {"pipeline": self._decl_out(row)}
        if row.tags:
            out["tags"] = row.tags
        return out

    def update_pipeline(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        current = self._pipeline(ctx, params["pipeline"]["name"])
        decl = declaration.normalize(params["pipeline"])
        self._check_role(ctx, decl)
        decl.pop("version", None)
        version = current.version + 1
        with self.backend.db.begin() as conn:
            store.update_pipeline(conn, ctx.account_id, ctx.region, current.name, declaration=decl, version=version,
                                  updated=store.now())
        current.declaration, current.version = decl, version
        return {"pipeline": self._decl_out(current)}

    def get_pipeline(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._pipeline(ctx, params["name"])
        if params.get("version") is not None and params["version"] != row.version:
            raise PipelineVersionNotFound(f"Pipeline version {params['version']} not found")
        return {"pipeline": self._decl_out(row), "metadata": {
            "pipelineArn": row.arn, "created": _ts(row.created), "updated": _ts(row.updated)}}

    def delete_pipeline(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["name"]
        for runner in list(self.runners.values()):
            if (runner.row.account_id, runner.row.region, runner.row.pipeline_name) == (ctx.account_id, ctx.region, name):
                runner.doc["stopReason"] = "The pipeline was deleted"
                if runner.task is not None:
                    runner.task.cancel()
        with self.backend.db.begin() as conn:
            store.delete_pipeline(conn, ctx.account_id, ctx.region, name)
        ctx.resources.append(pipeline_arn(ctx.account_id, ctx.region, name))
        return {}

    def list_pipelines(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = store.list_pipelines(conn, ctx.account_id, ctx.region)
        start = int(params.get("nextToken") or 0) if str(params.get("nextToken") or "0").isdigit() else 0
        limit = params.get("maxResults") or 1000
        page = rows[start:start + limit]
        out: dict[str, Any] = {"pipelines": [{
            "name": r.name, "version": r.version, "pipelineType": r.declaration.get("pipelineType", "V1"),
            "executionMode": r.declaration.get("executionMode", "SUPERSEDED"),
            "created": _ts(r.created), "updated": _ts(r.updated)} for r in page]}
        if start + limit < len(rows):
            out["nextToken"] = str(start + limit)
        return out

    # -- tags -----------------------------------------------------------------------------------

    def _by_arn(self, ctx: RequestContext, arn: str) -> store.PipelineRow:
        try:
            parsed = arns.parse(arn)
        except ValueError:
            raise InvalidArn(f"The ARN {arn} is not valid") from None
        with self.backend.db.connect() as conn:
            row = store.get_pipeline(conn, parsed.account, parsed.region, parsed.resource)
        if row is None or row.account_id != ctx.account_id:
            raise ResourceNotFound(f"The resource with the ARN {arn} does not exist")
        return row

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"tags": list(self._by_arn(ctx, params["resourceArn"]).tags)}

    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._by_arn(ctx, params["resourceArn"])
        tags = {t["key"]: t["value"] for t in row.tags}
        tags.update({t["key"]: t["value"] for t in params["tags"]})
        with self.backend.db.begin() as conn:
            store.update_pipeline(conn, row.account_id, row.region, row.name,
                                  tags=[{"key": k, "value": v} for k, v in tags.items()])
        return {}

    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._by_arn(ctx, params["resourceArn"])
        gone = set(params["tagKeys"])
        with self.backend.db.begin() as conn:
            store.update_pipeline(conn, row.account_id, row.region, row.name,
                                  tags=[t for t in row.tags if t["key"] not in gone])
        return {}

    # -- transitions ----------------------------------------------------------------------------

    def disable_stage_transition(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._pipeline(ctx, params["pipelineName"])
        if params["stageName"] not in [s["name"] for s in row.declaration["stages"]]:
            raise StageNotFound(f"Stage {params['stageName']} not found")
        transitions = dict(row.transitions)
        transitions[f"{params['transitionType']}:{params['stageName']}"] = {
            "reason": params["reason"], "by": initiator(ctx), "at": store.now().timestamp()}
        with self.backend.db.begin() as conn:
            store.update_pipeline(conn, row.account_id, row.region, row.name, transitions=transitions)
        return {}

    def enable_stage_transition(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._pipeline(ctx, params["pipelineName"])
        transitions = dict(row.transitions)
        transitions.pop(f"{params['transitionType']}:{params['stageName']}", None)
        transitions[f"enabled:{params['stageName']}"] = {"by": initiator(ctx), "at": store.now().timestamp()}
        with self.backend.db.begin() as conn:
            store.update_pipeline(conn, row.account_id, row.region, row.name, transitions=transitions)
        return {}

    async def wait_transition(self, runner: ExecutionRunner, stage: str) -> None:
        while True:
            with self.backend.db.connect() as conn:
                row = store.get_pipeline(conn, runner.row.account_id, runner.row.region, runner.row.pipeline_name)
            if row is None or f"Inbound:{stage}" not in row.transitions or runner.stop_requested:
                return
            await asyncio.sleep(WAIT_POLL)

    async def enter_stage(self, runner: ExecutionRunner, stage: str) -> asyncio.Lock | None:
        mode = runner.doc.get("executionMode") or "SUPERSEDED"
        if mode == "PARALLEL":
            return None
        key = (runner.row.account_id, runner.row.region, runner.row.pipeline_name, stage)
        lock = self._locks.setdefault(key, asyncio.Lock())
        if mode == "SUPERSEDED" and lock.locked():
            older = self._waiting.get(key)
            if older is not None and older is not runner and older.task is not None:
                older.superseded = True  # type: ignore[attr-defined]
                older.task.cancel()
            self._waiting[key] = runner
        try:
            await lock.acquire()
        except asyncio.CancelledError:
            if getattr(runner, "superseded", False):
                raise Superseded() from None
            raise
        finally:
            if self._waiting.get(key) is runner:
                self._waiting.pop(key, None)
        return lock

    def leave_stage(self, runner: ExecutionRunner, stage: str, lock: asyncio.Lock | None) -> None:
        if lock is not None and lock.locked():
            lock.release()

    # -- action executions ----------------------------------------------------------------------

    async def start_action(self, runner: ExecutionRunner, stage: str, action: dict[str, Any]) -> store.ActionRow:
        now = store.now()
        artifacts = runner.doc.get("artifacts") or {}
        doc = {
            "input": {
                "actionTypeId": action["actionTypeId"], "configuration": dict(action.get("configuration") or {}),
                "roleArn": action.get("roleArn") or runner.decl["roleArn"], "region": action.get("region") or runner.row.region,
                "inputArtifacts": [{"name": a["name"], "s3location": {"bucket": artifacts.get(a["name"], {}).get("bucket", ""),
                                                                       "key": artifacts.get(a["name"], {}).get("key", "")}}
                                   for a in action.get("inputArtifacts") or []],
                **({"namespace": action["namespace"]} if action.get("namespace") else {}),
            },
            "lastStatusChange": now.timestamp(),
        }
        row = store.ActionRow(str(uuid.uuid4()), runner.row.execution_id, runner.row.account_id, runner.row.region,
                              runner.row.pipeline_name, stage, action["name"], "InProgress", now, now, None, None, doc)
        with self.backend.db.begin() as conn:
            store.insert_action(conn, row)
        await self.emit_action(runner, row, "STARTED")
        return row

    async def update_action(self, row: store.ActionRow, **fields: Any) -> None:
        columns = {}
        if "_token" in fields:
            row.token = columns["token"] = fields.pop("_token")
        if "_job_id" in fields:
            row.job_id = columns["job_id"] = fields.pop("_job_id")
        row.doc.update(fields)
        with self.backend.db.begin() as conn:
            store.save_action(conn, row.action_execution_id, doc=row.doc, **columns)

    async def finish_action(self, runner: ExecutionRunner, row: store.ActionRow, status: str, summary: str | None,
                            result: ActionResult | None = None, error: dict[str, str] | None = None) -> None:
        doc = row.doc
        if summary is not None:
            doc["summary"] = summary
        doc["lastStatusChange"] = store.now().timestamp()
        if result is not None:
            doc["output"] = {
                "outputArtifacts": [{"name": n, "s3location": {"bucket": v["bucket"], "key": v["key"]}}
                                    for n, v in result.outputs.items()],
                "executionResult": {k: v for k, v in (
                    ("externalExecutionId", result.external_id or doc.get("externalExecutionId")),
                    ("externalExecutionSummary", result.summary),
                    ("externalExecutionUrl", doc.get("externalExecutionUrl"))) if v},
                "outputVariables": dict(result.variables),
            }
            if result.external_id:
                doc["externalExecutionId"] = result.external_id
            if result.status == "Failed":
                doc["errorDetails"] = result.error or {"code": "JobFailed", "message": result.summary or "Failed"}
            if result.revision is not None:
                doc["currentRevision"] = {"revisionId": result.revision["revisionId"],
                                          "revisionChangeId": result.revision["revisionId"]}
        if error is not None:
            doc["errorDetails"] = error
        row.status = status
        with self.backend.db.begin() as conn:
            current = store.get_action(conn, row.action_execution_id)
            if current is not None and current.status != "InProgress" and status == "Abandoned":
                return
            store.save_action(conn, row.action_execution_id, status=status, doc=doc)
        await self.emit_action(runner, row, STATE_EVENT.get(status, status.upper()))

    async def wait_action(self, row: store.ActionRow) -> store.ActionRow:
        """Approvals and Lambda jobs: wait until PutApprovalResult / PutJob*Result answers."""
        event = self._events.setdefault(row.action_execution_id, asyncio.Event())
        try:
            while True:
                with self.backend.db.connect() as conn:
                    current = store.get_action(conn, row.action_execution_id)
                if current is None:
                    return row
                if current.doc.get("answer"):
                    current.status = current.doc["answer"]
                    row.doc.update(current.doc)
                    return current
                try:
                    await asyncio.wait_for(event.wait(), WAIT_POLL)
                except TimeoutError:
                    pass
                event.clear()
        finally:
            self._events.pop(row.action_execution_id, None)

    def _answer(self, row: store.ActionRow, status: str, **fields: Any) -> None:
        row.doc.update(fields, answer=status)
        with self.backend.db.begin() as conn:
            store.save_action(conn, row.action_execution_id, doc=row.doc)
        event = self._events.get(row.action_execution_id)
        if event is not None:
            event.set()

    # -- executions -----------------------------------------------------------------------------

    def start_pipeline_execution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._pipeline(ctx, params["name"])
        if params.get("variables") and row.declaration.get("pipelineType") != "V2":
            raise Validation("Pipeline variables are only supported by V2 pipelines")
        sources = {a["name"] for a in row.declaration["stages"][0]["actions"]}
        for override in params.get("sourceRevisions") or []:
            if override["actionName"] not in sources:
                raise Validation(f"Source action {override['actionName']} not found in the pipeline")
        execution_id = self._start(row, {"triggerType": "StartPipelineExecution", "triggerDetail": initiator(ctx)},
                                   params.get("variables"), params.get("sourceRevisions"))
        return {"pipelineExecutionId": execution_id}

    def _summary(self, row: store.ExecutionRow) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pipelineExecutionId": row.execution_id, "status": row.status, "startTime": _ts(row.started),
            "lastUpdateTime": _ts(row.updated), "trigger": row.doc.get("trigger") or {},
            "executionMode": row.doc.get("executionMode", "SUPERSEDED"), "executionType": "STANDARD",
            "sourceRevisions": [{"actionName": r["name"], "revisionId": r["revisionId"],
                                 "revisionSummary": r.get("revisionSummary") or ""}
                                for r in row.doc.get("artifactRevisions") or []],
        }
        if row.status_summary:
            out["statusSummary"] = row.status_summary
        if row.doc.get("stopReason") and row.status in ("Stopped", "Stopping"):
            out["stopTrigger"] = {"reason": row.doc["stopReason"]}
        return out

    def get_pipeline_execution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._pipeline(ctx, params["pipelineName"])
        row = self._execution(ctx, params["pipelineName"], params["pipelineExecutionId"])
        out: dict[str, Any] = {
            "pipelineName": row.pipeline_name, "pipelineVersion": row.pipeline_version,
            "pipelineExecutionId": row.execution_id, "status": row.status,
            "artifactRevisions": [{**{k: v for k, v in r.items() if k != "created"}, "created": _from_epoch(r.get("created"))}
                                  for r in row.doc.get("artifactRevisions") or []],
            "variables": list(row.doc.get("variables") or []), "trigger": row.doc.get("trigger") or {},
            "executionMode": row.doc.get("executionMode", "SUPERSEDED"), "executionType": "STANDARD",
        }
        if row.status_summary:
            out["statusSummary"] = row.status_summary
        return {"pipelineExecution": out}

    def list_pipeline_executions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._pipeline(ctx, params["pipelineName"])
        with self.backend.db.connect() as conn:
            rows = store.list_executions(conn, ctx.account_id, ctx.region, params["pipelineName"])
        wanted = (params.get("filter") or {}).get("succeededInStage", {}).get("stageName")
        if wanted:
            rows = [r for r in rows if (r.doc.get("stages") or {}).get(wanted, {}).get("status") == "Succeeded"]
        start = int(params["nextToken"]) if str(params.get("nextToken") or "").isdigit() else 0
        limit = params.get("maxResults") or 100
        out: dict[str, Any] = {"pipelineExecutionSummaries": [self._summary(r) for r in rows[start:start + limit]]}
        if start + limit < len(rows):
            out["nextToken"] = str(start + limit)
        return out

    def _action_state(self, row: store.ActionRow) -> dict[str, Any]:
        doc = row.doc
        latest: dict[str, Any] = {"actionExecutionId": row.action_execution_id, "status": row.status,
                                  "lastStatusChange": _from_epoch(doc.get("lastStatusChange"))}
        for key in ("summary", "externalExecutionId", "externalExecutionUrl", "errorDetails", "lastUpdatedBy"):
            if doc.get(key):
                latest[key] = doc[key]
        if row.token and row.status == "InProgress":
            latest["token"] = row.token
        return latest

    def get_pipeline_state(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        pipeline = self._pipeline(ctx, params["name"])
        with self.backend.db.connect() as conn:
            executions = store.list_executions(conn, ctx.account_id, ctx.region, pipeline.name)
            action_rows = store.list_actions(conn, ctx.account_id, ctx.region, pipeline.name)
        latest_action: dict[tuple[str, str], store.ActionRow] = {}
        for row in action_rows:  # newest first
            latest_action.setdefault((row.stage_name, row.action_name), row)
        stages = []
        for stage in pipeline.declaration["stages"]:
            entry: dict[str, Any] = {"stageName": stage["name"]}
            disabled = pipeline.transitions.get(f"Inbound:{stage['name']}")
            enabled = pipeline.transitions.get(f"enabled:{stage['name']}")
            transition: dict[str, Any] = {"enabled": disabled is None}
            if disabled:
                transition.update(disabledReason=disabled["reason"], lastChangedBy=disabled["by"],
                                  lastChangedAt=_from_epoch(disabled["at"]))
            elif enabled:
                transition.update(lastChangedBy=enabled["by"], lastChangedAt=_from_epoch(enabled["at"]))
            if stage is not pipeline.declaration["stages"][0]:
                entry["inboundTransitionState"] = transition
            for execution in executions:
                state = (execution.doc.get("stages") or {}).get(stage["name"])
                if state is not None:
                    entry["latestExecution"] = {"pipelineExecutionId": execution.execution_id, "status": state["status"],
                                                "type": "STANDARD"}
                    break
            action_states = []
            for action in stage["actions"]:
                item: dict[str, Any] = {"actionName": action["name"]}
                row = latest_action.get((stage["name"], action["name"]))
                if row is not None:
                    item["latestExecution"] = self._action_state(row)
                    if row.doc.get("currentRevision"):
                        item["currentRevision"] = row.doc["currentRevision"]
                action_states.append(item)
            entry["actionStates"] = action_states
            stages.append(entry)
        return {"pipelineName": pipeline.name, "pipelineVersion": pipeline.version, "stageStates": stages,
                "created": _ts(pipeline.created), "updated": _ts(pipeline.updated)}

    def list_action_executions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        pipeline = self._pipeline(ctx, params["pipelineName"])
        wanted = (params.get("filter") or {}).get("pipelineExecutionId")
        with self.backend.db.connect() as conn:
            rows = store.list_actions(conn, ctx.account_id, ctx.region, pipeline.name, wanted)
            versions = {}
            for row in rows:
                if row.execution_id not in versions:
                    execution = store.get_execution(conn, row.execution_id)
                    versions[row.execution_id] = execution.pipeline_version if execution else pipeline.version
        details = []
        for row in rows:
            detail: dict[str, Any] = {
                "pipelineExecutionId": row.execution_id, "actionExecutionId": row.action_execution_id,
                "pipelineVersion": versions[row.execution_id], "stageName": row.stage_name,
                "actionName": row.action_name, "startTime": _ts(row.started), "lastUpdateTime": _ts(row.updated),
                "status": row.status, "input": row.doc.get("input") or {},
            }
            if row.doc.get("output"):
                detail["output"] = row.doc["output"]
            if row.doc.get("lastUpdatedBy"):
                detail["updatedBy"] = row.doc["lastUpdatedBy"]
            details.append(detail)
        start = int(params["nextToken"]) if str(params.get("nextToken") or "").isdigit() else 0
        limit = params.get("maxResults") or 100
        out: dict[str, Any] = {"actionExecutionDetails": details[start:start + limit]}
        if start + limit < len(details):
            out["nextToken"] = str(start + limit)
        return out

    def stop_pipeline_execution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._pipeline(ctx, params["pipelineName"])
        row = self._execution(ctx, params["pipelineName"], params["pipelineExecutionId"])
        runner = self.runners.get(row.execution_id)
        if row.status == "Stopping" or (runner is not None and runner.stop_requested and not params.get("abandon")):
            if not params.get("abandon"):
                raise DuplicatedStopRequest("A stop request for this execution has already been made")
        elif row.status != "InProgress" or runner is None:
            raise PipelineExecutionNotStoppable(
                f"Pipeline execution {row.execution_id} is not in progress and cannot be stopped")
        runner.doc["stopReason"] = params.get("reason") or ""
        runner.stop_requested = True
        runner.save(status="Stopping")
        if params.get("abandon") and runner.task is not None:
            runner.task.cancel()
        asyncio.get_running_loop().create_task(self.emit_execution(row, "STOPPING"))
        # Approvals and Lambda jobs in progress: abandoning or stopping ends their wait.
        for action in list(runner.running_actions.values()):
            event = self._events.get(action.action_execution_id)
            if event is not None and not params.get("abandon"):
                self._answer(action, "Abandoned", summary="Stopped by StopPipelineExecution")
        return {"pipelineExecutionId": row.execution_id}

    def retry_stage_execution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        pipeline = self._pipeline(ctx, params["pipelineName"])
        stage = params["stageName"]
        if stage not in [s["name"] for s in pipeline.declaration["stages"]]:
            raise StageNotFound(f"Stage {stage} not found in pipeline {pipeline.name}")
        row = self._execution(ctx, pipeline.name, params["pipelineExecutionId"])
        with self.backend.db.connect() as conn:
            executions = store.list_executions(conn, ctx.account_id, ctx.region, pipeline.name)
        latest = next((e for e in executions if stage in (e.doc.get("stages") or {})), None)
        if latest is None or latest.execution_id != row.execution_id:
            raise NotLatestPipelineExecution(
                f"Execution {row.execution_id} is not the latest execution for stage {stage}")
        state = (row.doc.get("stages") or {}).get(stage, {}).get("status")
        if row.status not in ("Failed", "Stopped") or state not in ("Failed", "Stopped"):
            raise StageNotRetryable(f"Stage {stage} of execution {row.execution_id} has no failed actions to retry")
        if row.execution_id in self.runners:
            raise Conflict("The execution is still being updated; retry later")
        row.doc.pop("failure", None)
        row.doc.pop("stopReason", None)
        with self.backend.db.begin() as conn:
            store.save_execution(conn, row.execution_id, status="InProgress", status_summary=None, doc=row.doc)
        row.status = "InProgress"
        self._launch(row, start_stage=stage, retry_mode=params["retryMode"])
        asyncio.get_running_loop().create_task(self.emit_execution(row, "RESUMED"))
        return {"pipelineExecutionId": row.execution_id}

    # -- approvals and jobs ---------------------------------------------------------------------

    def put_approval_result(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        pipeline = self._pipeline(ctx, params["pipelineName"])
        action = declaration.find_action(pipeline.declaration, params["stageName"], params["actionName"])
        if params["stageName"] not in [s["name"] for s in pipeline.declaration["stages"]]:
            raise StageNotFound(f"Stage {params['stageName']} not found")
        if action is None:
            raise ActionNotFound(f"Action {params['actionName']} not found")
        with self.backend.db.connect() as conn:
            rows = [r for r in store.list_actions(conn, ctx.account_id, ctx.region, pipeline.name)
                    if r.stage_name == params["stageName"] and r.action_name == params["actionName"]]
        row = next((r for r in rows if r.token == params["token"]), None)
        if row is None:
            raise InvalidApprovalToken(f"The token {params['token']} is not valid for this approval action")
        if row.status != "InProgress" or row.doc.get("answer"):
            raise ApprovalAlreadyCompleted("The approval action has already been approved or rejected")
        status = "Succeeded" if params["result"]["status"] == "Approved" else "Failed"
        who = ctx.principal.arn if ctx.principal else ""
        now = store.now()
        fields: dict[str, Any] = {"summary": params["result"]["summary"], "lastUpdatedBy": who}
        if status == "Failed":
            fields["errorDetails"] = {"code": "JobFailed", "message": f"Rejected: {params['result']['summary']}"}
        self._answer(row, status, **fields)
        return {"approvedAt": now}

    def _job(self, ctx: RequestContext, job_id: str) -> store.ActionRow:
        with self.backend.db.connect() as conn:
            row = store.action_by_job(conn, job_id)
        if row is None or row.account_id != ctx.account_id:
            raise JobNotFound(f"Job {job_id} not found")
        if row.status != "InProgress" or row.doc.get("answer"):
            raise InvalidJobState(f"Job {job_id} is not in progress")
        return row

    def put_job_success_result(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._job(ctx, params["jobId"])
        details = params.get("executionDetails") or {}
        fields: dict[str, Any] = {"outputVariables": dict(params.get("outputVariables") or {})}
        if details.get("summary"):
            fields["summary"] = details["summary"]
        if details.get("externalExecutionId"):
            fields["externalExecutionId"] = details["externalExecutionId"]
        if params.get("continuationToken"):
            fields["summary"] = fields.get("summary") or "continuation tokens are not supported; the job is complete"
        self._answer(row, "Succeeded", **fields)
        return {}

    def put_job_failure_result(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._job(ctx, params["jobId"])
        failure = params["failureDetails"]
        fields = {"summary": failure["message"], "errorDetails": {"code": failure["type"], "message": failure["message"]}}
        if failure.get("externalExecutionId"):
            fields["externalExecutionId"] = failure["externalExecutionId"]
        self._answer(row, "Failed", **fields)
        return {}

    # -- change detection -----------------------------------------------------------------------

    async def source_changed(self, account_id: str, region: str, provider: str, repository: str, branch: str,
                             commit_id: str) -> list[str]:
        """Called by the git hosting after a push: start every pipeline whose source action
        watches ``repository``/``branch`` (PollForSourceChanges / DetectChanges, or a V2 trigger's
        branch and file-path filters). Returns the execution ids started."""
        started = []
        with self.backend.db.connect() as conn:
            pipelines = store.list_pipelines(conn, account_id, region)
        for pipeline in pipelines:
            for action in pipeline.declaration["stages"][0]["actions"]:
                type_id, cfg = action["actionTypeId"], action.get("configuration") or {}
                if type_id["provider"] != provider:
                    continue
                name = cfg.get("RepositoryName") if provider == "CodeCommit" else cfg.get("FullRepositoryId")
                if name != repository:
                    continue
                trigger = next((t for t in pipeline.declaration.get("triggers") or []
                                if (t.get("gitConfiguration") or {}).get("sourceActionName") == action["name"]), None)
                if trigger is not None:
                    if not await self._trigger_matches(pipeline, action, trigger, branch, commit_id):
                        continue
                    kind = "WebhookV2"
                else:
                    if (cfg.get("BranchName") or "main") != branch:
                        continue
                    flag = cfg.get("PollForSourceChanges") if provider == "CodeCommit" else cfg.get("DetectChanges")
                    if str(flag if flag is not None else "true").lower() == "false":
                        continue
                    kind = "PollForSourceChanges" if provider == "CodeCommit" else "Webhook"
                overrides = [{"actionName": action["name"], "revisionType": "COMMIT_ID", "revisionValue": commit_id}]
                try:
                    started.append(self._start(pipeline, {"triggerType": kind, "triggerDetail": f"{repository}:{branch}"},
                                               None, overrides))
                except Exception:  # one bad pipeline must not block the others
                    log.exception("could not start pipeline %s on a push", pipeline.name)
                break
        return started

    async def _trigger_matches(self, pipeline: store.PipelineRow, action: dict[str, Any], trigger: dict[str, Any],
                               branch: str, commit_id: str) -> bool:
        pushes = (trigger.get("gitConfiguration") or {}).get("push") or []
        if not pushes:
            return False

        def matches(value: str, spec: dict[str, Any] | None) -> bool:
            if not spec:
                return True
            includes, excludes = spec.get("includes") or [], spec.get("excludes") or []
            if any(fnmatch.fnmatchcase(value, p) for p in excludes):
                return False
            return not includes or any(fnmatch.fnmatchcase(value, p) for p in includes)

        changed: list[str] | None = None
        for push in pushes:
            if push.get("tags") and not push.get("branches"):
                continue
            if not matches(branch, push.get("branches")):
                continue
            paths = push.get("filePaths")
            if not paths:
                return True
            if changed is None:
                changed = await asyncio.to_thread(self._changed_files, pipeline, action, commit_id)
            if changed is None or any(matches(path, paths) for path in changed):
                return True
        return False

    def _changed_files(self, pipeline: store.PipelineRow, action: dict[str, Any], commit_id: str) -> list[str] | None:
        """Files changed since the commit this pipeline last built from this action (None: unknown)."""
        try:
            from seedbed.services.codepipeline.actions import _git

            git = _git()
            cfg = action["configuration"]
            kind = "codecommit" if action["actionTypeId"]["provider"] == "CodeCommit" else "connection"
            path = git.repository_path(self.backend, pipeline.account_id, pipeline.region, kind,
                                       cfg.get("RepositoryName") or cfg.get("FullRepositoryId"))
            with self.backend.db.connect() as conn:
                executions = store.list_executions(conn, pipeline.account_id, pipeline.region, pipeline.name)
            previous = next((e.doc["sourceCommits"][action["name"]] for e in executions
                             if (e.doc.get("sourceCommits") or {}).get(action["name"])), None)
            args = ["diff", "--name-only", previous, commit_id] if previous else [
                "show", "--name-only", "--format=", commit_id]
            done = subprocess.run(["git", "--git-dir", str(path), *args], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                return None
            return [line for line in done.stdout.splitlines() if line.strip()]
        except Exception:  # noqa: BLE001 - unknown: let the trigger fire
            return None

    # -- events ---------------------------------------------------------------------------------

    async def emit_execution(self, row: store.ExecutionRow, state: str) -> None:
        detail = {"pipeline": row.pipeline_name, "execution-id": row.execution_id, "state": state,
                  "version": row.pipeline_version,
                  "execution-trigger": {"trigger-type": (row.doc.get("trigger") or {}).get("triggerType"),
                                        "trigger-detail": (row.doc.get("trigger") or {}).get("triggerDetail")},
                  "pipeline-execution-attempt": 1}
        await emit(self.backend, row.account_id, row.region, "aws.codepipeline",
                   "CodePipeline Pipeline Execution State Change", detail,
                   [pipeline_arn(row.account_id, row.region, row.pipeline_name)])

    async def emit_stage(self, row: store.ExecutionRow, stage: str, state: str) -> None:
        detail = {"pipeline": row.pipeline_name, "execution-id": row.execution_id, "stage": stage, "state": state,
                  "version": row.pipeline_version, "pipeline-execution-attempt": 1}
        await emit(self.backend, row.account_id, row.region, "aws.codepipeline",
                   "CodePipeline Stage Execution State Change", detail,
                   [pipeline_arn(row.account_id, row.region, row.pipeline_name)])

    async def emit_action(self, runner: ExecutionRunner, row: store.ActionRow, state: str) -> None:
        type_id = (row.doc.get("input") or {}).get("actionTypeId") or {}
        detail = {"pipeline": row.pipeline_name, "execution-id": row.execution_id, "stage": row.stage_name,
                  "action": row.action_name, "state": state, "region": row.region,
                  "type": {"owner": type_id.get("owner"), "provider": type_id.get("provider"),
                           "category": type_id.get("category"), "version": type_id.get("version")},
                  "version": runner.row.pipeline_version, "pipeline-execution-attempt": 1}
        await emit(self.backend, row.account_id, row.region, "aws.codepipeline",
                   "CodePipeline Action Execution State Change", detail,
                   [pipeline_arn(row.account_id, row.region, row.pipeline_name)])

    # -- crash recovery -------------------------------------------------------------------------

    async def resume(self) -> int:
        """Executions a crash interrupted: continue them (approvals and Lambda jobs keep waiting;
        actions whose work was lost fail, so the execution ends Failed)."""
        if self._resumed:
            return 0
        self._resumed = True
        try:
            with self.backend.db.connect() as conn:
                rows = [r for r in store.running_executions(conn) if r.execution_id not in self.runners]
            for row in rows:
                if row.status == "Stopping":
                    row.doc["stopReason"] = row.doc.get("stopReason") or "Stopped while the server restarted"
                runner = self._launch(row, resume=True)
                runner.stop_requested = row.status == "Stopping"
            return len(rows)
        except Exception:  # start-up must not fail on one bad execution
            log.exception("resuming CodePipeline executions failed")
            return 0

    def close(self) -> None:
        self.closing = True
        for runner in list(self.runners.values()):
            if runner.task is not None:
                runner.task.cancel()


def initiator(ctx: RequestContext) -> str:
    return ctx.principal.arn if ctx.principal is not None else "seedbed"
