"""SageMaker: SageMaker Pipelines: definitions, executions and the step interpreter.

A pipeline keeps every version of its definition; an execution keeps the definition and
parameters it started with, and is run by an :class:`~.interpreter.ExecutionRunner` task in this
process. Executions left running by a crashed process are carried on at start-up
(:meth:`PipelineOperations.resume_pipelines`).

The operations are a mixin of :class:`seedbed.services.sagemaker.provider.SageMakerProvider`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from seedbed.errors import ServiceError
from seedbed.server.context import RequestContext
from seedbed.services.events import publish
from seedbed.services.sagemaker import common, tags
from seedbed.services.sagemaker import store as sm_store
from seedbed.services.sagemaker.errors import Conflict, ResourceNotFound, SageMakerValidation
from seedbed.services.sagemaker.pipelines import definition as defn
from seedbed.services.sagemaker.pipelines import store
from seedbed.services.sagemaker.pipelines.interpreter import (
    EXECUTION_EVENT,
    SOURCE,
    TERMINAL,
    ExecutionRunner,
    Jobs,
    SageMakerJobs,
    jsonable,
)
from seedbed.state import arns, ids

log = logging.getLogger(__name__)

SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"


def _pipeline_exists(conn: Connection, arn: arns.Arn) -> bool:
    if "/execution/" in arn.resource_id:
        return store.get_execution(conn, str(arn)) is not None
    return store.get_pipeline(conn, str(arn)) is not None


tags.RESOURCE_EXISTS.setdefault("pipeline", _pipeline_exists)


def _execution_arn(pipeline_arn: str, execution_id: str) -> str:
    return f"{pipeline_arn}/execution/{execution_id}"


class PipelineOperations:
    backend: Any

    # -- runners --------------------------------------------------------------------------------

    @property
    def _runners(self) -> dict[str, ExecutionRunner]:
        runners = self.__dict__.get("_pipeline_runners")
        if runners is None:
            runners = self.__dict__["_pipeline_runners"] = {}
            self.__dict__["_pipeline_tasks"] = {}
            self.__dict__["_pipeline_callbacks"] = {}
        return runners

    @property
    def _callbacks(self) -> dict[str, asyncio.Future[Any]]:
        self._runners  # noqa: B018 - creates the maps
        return self.__dict__["_pipeline_callbacks"]

    def pipeline_jobs(self) -> Jobs:
        """How executions run jobs (tests replace this with a fake runner)."""
        return self.__dict__.get("_pipeline_jobs") or SageMakerJobs(self.backend, self)

    def _launch(self, execution_arn: str) -> None:
        if execution_arn in self._runners:
            return
        runner = ExecutionRunner(self.backend, self.pipeline_jobs(), execution_arn, callbacks=self._callbacks)
        self._runners[execution_arn] = runner

        async def drive() -> None:
            try:
                await runner.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pipeline execution %s crashed", execution_arn)
                with self.backend.db.begin() as conn:
                    store.update_execution(conn, execution_arn, status="Failed", failure_reason="Internal error in the pipeline interpreter.",
                                           modified=sm_store.now())
            finally:
                self._runners.pop(execution_arn, None)
                self.__dict__["_pipeline_tasks"].pop(execution_arn, None)

        self.__dict__["_pipeline_tasks"][execution_arn] = asyncio.get_running_loop().create_task(drive())

    async def wait_for_execution(self, execution_arn: str, timeout: float | None = None) -> None:
        """Until the execution's runner in this process ends (tests and benchmarks)."""
        task = self.__dict__.get("_pipeline_tasks", {}).get(execution_arn)
        if task is not None:
            await asyncio.wait_for(asyncio.shield(task), timeout)

    async def resume_pipelines(self) -> None:
        """Carry on every execution a previous process left Executing or Stopping."""
        try:
            with self.backend.db.connect() as conn:
                rows = store.running_executions(conn)
            for row in rows:
                self._launch(row.arn)
        except Exception:
            log.exception("resuming SageMaker pipeline executions failed")

    def close_area(self) -> None:
        for task in list(self.__dict__.get("_pipeline_tasks", {}).values()):
            task.cancel()

    # -- helpers --------------------------------------------------------------------------------

    def _pipeline(self, ctx: RequestContext, conn: Connection, name: str) -> Any:
        if name.startswith("arn:"):
            head, sep, tail = name.partition(":pipeline/")
            row = store.get_pipeline(conn, head + sep + tail.lower()) if sep else None
        else:
            row = store.find_pipeline(conn, ctx.account_id, ctx.region, name)
        if row is None or row.account_id != ctx.account_id or row.region != ctx.region:
            raise ResourceNotFound(f"Pipeline '{common.arn(ctx, 'pipeline', _name_of(name))}' does not exist.")
        ctx.resources.append(row.arn)
        return row

    def _execution(self, ctx: RequestContext, conn: Connection, arn: str) -> Any:
        row = store.get_execution(conn, arn)
        if row is None:
            head, sep, tail = arn.partition(":pipeline/")
            row = store.get_execution(conn, head + sep + tail.lower()) if sep else None
        if row is None or row.account_id != ctx.account_id or row.region != ctx.region:
            raise ResourceNotFound(f"Pipeline execution '{arn}' does not exist.")
        ctx.resources.append(row.arn)
        return row

    async def _definition(self, ctx: RequestContext, params: dict[str, Any]) -> str | None:
        text = params.get("PipelineDefinition")
        location = params.get("PipelineDefinitionS3Location")
        if text and location:
            raise SageMakerValidation("Specify either PipelineDefinition or PipelineDefinitionS3Location, not both.")
        if location:
            request = {"Bucket": location["Bucket"], "Key": location["ObjectKey"]}
            if location.get("VersionId"):
                request["VersionId"] = location["VersionId"]
            try:
                out = await self.backend.call(ctx.principal, "s3", "GetObject", request, ctx.region, ctx.account_id)
            except ServiceError as exc:
                raise SageMakerValidation(
                    f"Unable to read the pipeline definition from s3://{location['Bucket']}/{location['ObjectKey']}: {exc.code}: {exc.message}"
                ) from None
            body = out.get("Body")
            data = body.read() if hasattr(body, "read") else body
            text = data.decode() if isinstance(data, bytes) else str(data)
        if text is None:
            return None
        try:
            defn.parse(text)
        except defn.DefinitionError as exc:
            raise SageMakerValidation(f"Invalid pipeline definition: {exc}") from None
        return text

    # -- pipelines ------------------------------------------------------------------------------

    async def create_pipeline(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["PipelineName"]
        text = await self._definition(ctx, params)
        if text is None:
            raise SageMakerValidation("Either PipelineDefinition or PipelineDefinitionS3Location is required.")
        role = params["RoleArn"]
        self.backend.authorizer.check_pass_role(ctx, role, SAGEMAKER_SERVICE)
        arn = common.arn(ctx, "pipeline", name)
        token = params.get("ClientRequestToken")
        when = sm_store.now()
        try:
            with self.backend.db.begin() as conn:
                existing = store.find_pipeline(conn, ctx.account_id, ctx.region, name)
                if existing is not None:
                    if token and existing.client_token == token:
                        return {"PipelineArn": existing.arn}
                    raise ResourceLimitOrConflict(f"Pipeline names must be unique within an AWS account and region. Pipeline with name ({name}) already exists.")
                store.insert_pipeline(conn, {
                    "arn": arn, "account_id": ctx.account_id, "region": ctx.region, "name": name, "lname": name.lower(),
                    "display_name": params.get("PipelineDisplayName") or name, "description": params.get("PipelineDescription"),
                    "role_arn": role, "status": "Active", "parallelism": params.get("ParallelismConfiguration"), "version": 1,
                    "client_token": token, "created_by": {"IamIdentity": common.iam_identity(ctx.principal)}, "modified_by": None,
                    "created": when, "modified": when, "last_run": None,
                }, text)
                sm_store.delete_all_tags(conn, arn)
                if params.get("Tags"):
                    sm_store.put_tags(conn, arn, list(params["Tags"]))
        except IntegrityError:
            raise ResourceLimitOrConflict(f"Pipeline with name ({name}) already exists.") from None
        ctx.resources.append(arn)
        return {"PipelineArn": arn}

    async def update_pipeline(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        text = await self._definition(ctx, params)
        if params.get("RoleArn"):
            self.backend.authorizer.check_pass_role(ctx, params["RoleArn"], SAGEMAKER_SERVICE)
        with self.backend.db.begin() as conn:
            row = self._pipeline(ctx, conn, params["PipelineName"])
            values: dict[str, Any] = {"modified": sm_store.now(), "modified_by": {"IamIdentity": common.iam_identity(ctx.principal)}}
            for key, column in (("PipelineDisplayName", "display_name"), ("PipelineDescription", "description"),
                                ("RoleArn", "role_arn"), ("ParallelismConfiguration", "parallelism")):
                if key in params:
                    values[column] = params[key]
            version = row.version
            if text is not None:
                version = row.version + 1
                store.add_version(conn, row.arn, version, text, values["modified"])
                values["version"] = version
            store.update_pipeline(conn, row.arn, **values)
        return {"PipelineArn": row.arn, "PipelineVersionId": version}

    def describe_pipeline(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            row = self._pipeline(ctx, conn, params["PipelineName"])
            version = int(params.get("PipelineVersionId") or row.version)
            text = store.get_definition(conn, row.arn, version)
        if text is None:
            raise ResourceNotFound(f"Pipeline version {version} of {row.arn} does not exist.")
        out: dict[str, Any] = {
            "PipelineArn": row.arn, "PipelineName": row.name, "PipelineDisplayName": row.display_name or row.name,
            "PipelineDefinition": text, "RoleArn": row.role_arn, "PipelineStatus": row.status,
            "CreationTime": sm_store.aware(row.created), "LastModifiedTime": sm_store.aware(row.modified),
            "CreatedBy": row.created_by or {},
        }
        if row.description:
            out["PipelineDescription"] = row.description
        if row.last_run is not None:
            out["LastRunTime"] = sm_store.aware(row.last_run)
        if row.modified_by:
            out["LastModifiedBy"] = row.modified_by
        if row.parallelism:
            out["ParallelismConfiguration"] = row.parallelism
        return out

    def list_pipelines(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        query = {k: params.get(k) for k in ("PipelineNamePrefix", "CreatedAfter", "CreatedBefore", "SortBy", "SortOrder")}
        offset = common.decode_token(params.get("NextToken"), query)
        limit = common.max_results(params, 50)
        with self.backend.db.connect() as conn:
            rows = store.list_pipelines(
                conn, ctx.account_id, ctx.region, prefix=params.get("PipelineNamePrefix"), after=params.get("CreatedAfter"),
                before=params.get("CreatedBefore"), sort_by=params.get("SortBy") or "CreationTime",
                descending=(params.get("SortOrder") or "Descending") == "Descending", offset=offset, limit=limit,
            )
        summaries = []
        for row in rows[:limit]:
            item = {"PipelineArn": row.arn, "PipelineName": row.name, "PipelineDisplayName": row.display_name or row.name,
                    "RoleArn": row.role_arn, "CreationTime": sm_store.aware(row.created), "LastModifiedTime": sm_store.aware(row.modified)}
            if row.description:
                item["PipelineDescription"] = row.description
            if row.last_run is not None:
                item["LastExecutionTime"] = sm_store.aware(row.last_run)
            summaries.append(item)
        out: dict[str, Any] = {"PipelineSummaries": summaries}
        if len(rows) > limit:
            out["NextToken"] = common.encode_token(offset + limit, query)
        return out

    def delete_pipeline(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            row = self._pipeline(ctx, conn, params["PipelineName"])
        for arn, runner in list(self._runners.items()):
            if arn.startswith(row.arn + "/execution/"):
                runner.stop()
        with self.backend.db.begin() as conn:
            for execution in store.list_executions(conn, row.arn, after=None, before=None, descending=False, offset=0, limit=100000):
                sm_store.delete_all_tags(conn, execution.arn)
            store.delete_executions(conn, row.arn)
            store.delete_pipeline(conn, row.arn)
            sm_store.delete_all_tags(conn, row.arn)
        return {"PipelineArn": row.arn}

    # -- executions -----------------------------------------------------------------------------

    async def start_pipeline_execution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        token = params.get("ClientRequestToken")
        with self.backend.db.connect() as conn:
            pipeline = self._pipeline(ctx, conn, params["PipelineName"])
            if token:
                earlier = store.find_execution_by_token(conn, pipeline.arn, token)
                if earlier is not None:
                    return {"PipelineExecutionArn": earlier.arn}
            version = int(params.get("PipelineVersionId") or pipeline.version)
            text = store.get_definition(conn, pipeline.arn, version)
        if text is None:
            raise ResourceNotFound(f"Pipeline version {version} of {pipeline.arn} does not exist.")
        role = params.get("RoleArn") or pipeline.role_arn
        if params.get("RoleArn"):
            self.backend.authorizer.check_pass_role(ctx, role, SAGEMAKER_SERVICE)
        definition = defn.parse(text)
        given = list(params.get("PipelineParameters") or [])
        try:
            values = defn.parameter_values(definition, given)
        except defn.DefinitionError as exc:
            raise SageMakerValidation(str(exc)) from None
        selective = params.get("SelectiveExecutionConfig")
        if selective:
            self._check_selective(ctx, pipeline, definition, selective)
        supplied = {p["Name"] for p in given}
        parameters = [{"Name": p["Name"], "Value": next((g["Value"] for g in given if g["Name"] == p["Name"]), defn.to_text(values[p["Name"]])),
                       "Given": p["Name"] in supplied} for p in definition.parameters]
        execution_id = ids.alnum_lower(12)
        arn = _execution_arn(pipeline.arn, execution_id)
        when = sm_store.now()
        with self.backend.db.begin() as conn:
            store.insert_execution(conn, {
                "arn": arn, "execution_id": execution_id, "pipeline_arn": pipeline.arn, "account_id": ctx.account_id,
                "region": ctx.region, "status": "Executing", "display_name": params.get("PipelineExecutionDisplayName") or f"execution-{int(when.timestamp() * 1000)}",
                "description": params.get("PipelineExecutionDescription"), "failure_reason": None, "parameters": parameters,
                "definition": text, "version": version, "role_arn": role,
                "parallelism": params.get("ParallelismConfiguration") or pipeline.parallelism, "selective": selective,
                "client_token": token, "created_by": {"IamIdentity": common.iam_identity(ctx.principal)}, "modified_by": None,
                "created": when, "modified": when,
            })
            store.update_pipeline(conn, pipeline.arn, last_run=when)
        ctx.resources.append(arn)
        self._launch(arn)
        detail = {"pipelineArn": pipeline.arn, "pipelineExecutionArn": arn, "executionStartTime": when,
                  "currentPipelineExecutionStatus": "Executing", "previousPipelineExecutionStatus": None,
                  "pipelineExecutionDisplayName": params.get("PipelineExecutionDisplayName") or execution_id}
        await publish.emit(self.backend, ctx.account_id, ctx.region, SOURCE, EXECUTION_EVENT, jsonable(detail), [pipeline.arn, arn])
        return {"PipelineExecutionArn": arn}

    def _check_selective(self, ctx: RequestContext, pipeline: Any, definition: defn.Definition, selective: dict[str, Any]) -> None:
        source = selective.get("SourcePipelineExecutionArn")
        if not source:
            raise SageMakerValidation("SelectiveExecutionConfig needs SourcePipelineExecutionArn.")
        with self.backend.db.connect() as conn:
            row = self._execution(ctx, conn, source)
        if row.pipeline_arn != pipeline.arn:
            raise SageMakerValidation(f"Source execution {source} belongs to another pipeline.")
        if row.status not in TERMINAL:
            raise SageMakerValidation(f"Source execution {source} is {row.status}; it must have finished.")
        for item in selective.get("SelectedSteps") or []:
            if item["StepName"] not in definition.steps:
                raise SageMakerValidation(f"Selected step {item['StepName']} is not in the pipeline definition.")

    def _execution_out(self, row: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "PipelineArn": row.pipeline_arn, "PipelineExecutionArn": row.arn,
            "PipelineExecutionDisplayName": row.display_name, "PipelineExecutionStatus": row.status,
            "CreationTime": sm_store.aware(row.created), "LastModifiedTime": sm_store.aware(row.modified),
            "CreatedBy": row.created_by or {}, "PipelineVersionId": row.version,
        }
        if row.description:
            out["PipelineExecutionDescription"] = row.description
        if row.failure_reason:
            out["FailureReason"] = row.failure_reason
        if row.modified_by:
            out["LastModifiedBy"] = row.modified_by
        if row.parallelism:
            out["ParallelismConfiguration"] = row.parallelism
        if row.selective:
            out["SelectiveExecutionConfig"] = row.selective
        experiment = json.loads(row.definition).get("PipelineExperimentConfig")
        if isinstance(experiment, dict):
            resolved = {}
            for key in ("ExperimentName", "TrialName"):
                value = experiment.get(key)
                if isinstance(value, dict) and value.get("Get") == "Execution.PipelineName":
                    with self.backend.db.connect() as conn:
                        pipeline = store.get_pipeline(conn, row.pipeline_arn)
                    value = pipeline.name if pipeline is not None else row.pipeline_arn.rsplit("/", 1)[-1]
                elif isinstance(value, dict) and value.get("Get") == "Execution.PipelineExecutionId":
                    value = row.execution_id
                if isinstance(value, str):
                    resolved[key] = value
            out["PipelineExperimentConfig"] = resolved
        return out

    def describe_pipeline_execution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            row = self._execution(ctx, conn, params["PipelineExecutionArn"])
        return self._execution_out(row)

    def list_pipeline_executions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        query = {k: params.get(k) for k in ("PipelineName", "CreatedAfter", "CreatedBefore", "SortBy", "SortOrder")}
        offset = common.decode_token(params.get("NextToken"), query)
        limit = common.max_results(params, 50)
        with self.backend.db.connect() as conn:
            pipeline = self._pipeline(ctx, conn, params["PipelineName"])
            rows = store.list_executions(conn, pipeline.arn, after=params.get("CreatedAfter"), before=params.get("CreatedBefore"),
                                         descending=(params.get("SortOrder") or "Descending") == "Descending", offset=offset, limit=limit)
        summaries = []
        for row in rows[:limit]:
            item = {"PipelineExecutionArn": row.arn, "StartTime": sm_store.aware(row.created), "PipelineExecutionStatus": row.status,
                    "PipelineExecutionDisplayName": row.display_name}
            if row.description:
                item["PipelineExecutionDescription"] = row.description
            if row.failure_reason:
                item["PipelineExecutionFailureReason"] = row.failure_reason
            summaries.append(item)
        out: dict[str, Any] = {"PipelineExecutionSummaries": summaries}
        if len(rows) > limit:
            out["NextToken"] = common.encode_token(offset + limit, query)
        return out

    def list_pipeline_execution_steps(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["PipelineExecutionArn"]
        query = {"arn": arn, "order": params.get("SortOrder")}
        offset = common.decode_token(params.get("NextToken"), query)
        limit = common.max_results(params, 50)
        with self.backend.db.connect() as conn:
            row = self._execution(ctx, conn, arn)
            rows = store.get_steps(conn, row.arn)
        if (params.get("SortOrder") or "Descending") == "Descending":
            rows = list(reversed(rows))
        steps = []
        for step in rows[offset : offset + limit]:
            item: dict[str, Any] = {"StepName": step.name, "StepStatus": step.status, "AttemptCount": step.attempts,
                                    "Metadata": step.metadata or {}}
            if step.display_name:
                item["StepDisplayName"] = step.display_name
            if step.description:
                item["StepDescription"] = step.description
            if step.started is not None:
                item["StartTime"] = sm_store.aware(step.started)
            if step.ended is not None:
                item["EndTime"] = sm_store.aware(step.ended)
            if step.failure_reason:
                item["FailureReason"] = step.failure_reason
            if step.cache_hit:
                item["CacheHitResult"] = step.cache_hit
            if step.selective_result:
                item["SelectiveExecutionResult"] = step.selective_result
            steps.append(item)
        out: dict[str, Any] = {"PipelineExecutionSteps": steps}
        if offset + limit < len(rows):
            out["NextToken"] = common.encode_token(offset + limit, query)
        return out

    def describe_pipeline_definition_for_execution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            row = self._execution(ctx, conn, params["PipelineExecutionArn"])
        return {"PipelineDefinition": row.definition, "CreationTime": sm_store.aware(row.created)}

    def list_pipeline_parameters_for_execution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["PipelineExecutionArn"]
        with self.backend.db.connect() as conn:
            row = self._execution(ctx, conn, arn)
        values = [{"Name": p["Name"], "Value": p["Value"]} for p in row.parameters or []]
        offset = common.decode_token(params.get("NextToken"), {"arn": arn})
        limit = common.max_results(params, 50)
        out: dict[str, Any] = {"PipelineParameters": values[offset : offset + limit]}
        if offset + limit < len(values):
            out["NextToken"] = common.encode_token(offset + limit, {"arn": arn})
        return out

    def update_pipeline_execution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            row = self._execution(ctx, conn, params["PipelineExecutionArn"])
            values: dict[str, Any] = {"modified": sm_store.now(), "modified_by": {"IamIdentity": common.iam_identity(ctx.principal)}}
            for key, column in (("PipelineExecutionDescription", "description"), ("PipelineExecutionDisplayName", "display_name"),
                                ("ParallelismConfiguration", "parallelism")):
                if key in params:
                    values[column] = params[key]
            store.update_execution(conn, row.arn, **values)
        return {"PipelineExecutionArn": row.arn}

    async def stop_pipeline_execution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            row = self._execution(ctx, conn, params["PipelineExecutionArn"])
            if row.status in ("Stopping", "Stopped"):
                return {"PipelineExecutionArn": row.arn}
            if row.status != "Executing":
                raise Conflict(f"Pipeline execution {row.arn} is {row.status} and cannot be stopped.")
            store.update_execution(conn, row.arn, status="Stopping", modified=sm_store.now(),
                                   modified_by={"IamIdentity": common.iam_identity(ctx.principal)})
        runner = self._runners.get(row.arn)
        if runner is not None:
            runner.stop()
        else:
            self._launch(row.arn)  # e.g. after a restart: the runner finds Stopping and stops
        return {"PipelineExecutionArn": row.arn}

    async def retry_pipeline_execution(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Run the failed (and stopped) steps again, keeping what succeeded."""
        with self.backend.db.begin() as conn:
            row = self._execution(ctx, conn, params["PipelineExecutionArn"])
            if row.status not in ("Failed", "Stopped"):
                raise Conflict(f"Pipeline execution {row.arn} is {row.status}; only failed or stopped executions can be retried.")
            for step in store.get_steps(conn, row.arn):
                if step.status in ("Failed", "Stopped"):
                    store.delete_step(conn, row.arn, step.name)
            values: dict[str, Any] = {"status": "Executing", "failure_reason": None, "modified": sm_store.now(),
                                      "modified_by": {"IamIdentity": common.iam_identity(ctx.principal)}}
            if params.get("ParallelismConfiguration"):
                values["parallelism"] = params["ParallelismConfiguration"]
            store.update_execution(conn, row.arn, **values)
        self._launch(row.arn)
        return {"PipelineExecutionArn": row.arn}

    # -- callback steps -------------------------------------------------------------------------

    def _callback(self, ctx: RequestContext, token: str, result: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            step = store.find_step_by_token(conn, token)
            execution = store.get_execution(conn, step.execution_arn) if step is not None else None
        if step is None or execution is None or execution.account_id != ctx.account_id:
            raise ResourceNotFound(f"Callback token {token} does not belong to a running callback step.")
        if step.status != "Executing":
            raise Conflict(f"The callback step {step.name} is {step.status}; it no longer takes a result.")
        future = self._callbacks.get(token)
        if future is None or future.done():
            raise Conflict(f"The callback step {step.name} is not waiting in this server process; try again shortly.")
        future.set_result(result)
        ctx.resources.append(execution.arn)
        return {"PipelineExecutionArn": execution.arn}

    def send_pipeline_execution_step_success(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._callback(ctx, params["CallbackToken"], {"status": "Success", "outputs": params.get("OutputParameters") or []})

    def send_pipeline_execution_step_failure(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._callback(ctx, params["CallbackToken"], {"status": "Failure", "reason": params.get("FailureReason")})


class ResourceLimitOrConflict(SageMakerValidation):
    """A pipeline of that name exists (SageMaker answers ValidationException)."""


def _name_of(value: str) -> str:
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value
