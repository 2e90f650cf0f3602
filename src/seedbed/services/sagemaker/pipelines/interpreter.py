"""The pipeline interpreter: runs one execution's steps, journaling every state change.

Steps whose dependencies have succeeded start concurrently (up to ``MaxParallelExecutionSteps``);
a failed step stops new steps from starting and the execution fails once running steps end.
Every step's state is a row (:mod:`.store`), written before anything it starts: the job name is
recorded before the job is created, so a runner started after a crash re-attaches to the job
(or creates it under the same name if the crash came first) instead of losing it.

Jobs go through a :class:`Jobs` object (the SageMaker job API, called as the pipeline's role),
which tests replace with a fake runner.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from seedbed.errors import ServiceError
from seedbed.services.events import publish
from seedbed.services.sagemaker.pipelines import definition as defn
from seedbed.services.sagemaker.pipelines import store
from seedbed.state import arns, ids

log = logging.getLogger(__name__)

SOURCE = "aws.sagemaker"
EXECUTION_EVENT = "SageMaker Model Building Pipeline Execution Status Change"
STEP_EVENT = "SageMaker Model Building Pipeline Execution Step Status Change"
TERMINAL = ("Succeeded", "Failed", "Stopped")
JOB_TERMINAL = ("Completed", "Failed", "Stopped")
TUNING_KIND = "HyperParameterTuningJob"
DEFAULT_PARALLELISM = 50
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"


def now() -> datetime:
    return datetime.now(UTC)


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def job_name(execution_id: str, step: str, kind: str = "") -> str:
    """``pipelines-<execution id>-<step>-<random>``, within the 63 characters job names allow;
    ``<execution id>-<step>-<random>`` in the 32 of a tuning job's name."""
    short = kind == TUNING_KIND
    cleaned = "".join(c if c.isalnum() else "-" for c in step).strip("-")[:10 if short else 29].strip("-") or "step"
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    if short:
        return f"{execution_id}-{cleaned}-{ids.alnum_lower(6)}"[:32]
    return f"pipelines-{execution_id}-{cleaned}-{ids.alnum_lower(10)}"


class StepFailure(Exception):
    """A step failed; ``reason_type`` is what retry policies match (``Step.SERVICE_FAULT``,
    ``SageMaker.JOB_INTERNAL_ERROR``, ...) or None when no policy applies."""

    def __init__(self, message: str, reason_type: str | None = None, metadata: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason_type = reason_type
        self.metadata = metadata


class Jobs(Protocol):
    async def create(self, principal: Any, kind: str, request: dict[str, Any], region: str, account: str) -> None: ...
    async def wait(self, kind: str, name: str, region: str, account: str) -> dict[str, Any]: ...
    async def describe(self, kind: str, name: str, region: str, account: str) -> dict[str, Any] | None: ...
    async def stop(self, kind: str, name: str, region: str, account: str) -> None: ...


class SageMakerJobs:
    """Jobs through the SageMaker job API: created as the pipeline's role, followed by SageMaker
    itself (the job area's ``wait_for_job`` where it exists, else by polling Describe)."""

    def __init__(self, backend: Any, provider: Any) -> None:
        self.backend = backend
        self.provider = provider

    async def create(self, principal: Any, kind: str, request: dict[str, Any], region: str, account: str) -> None:
        await self.backend.call(principal, "sagemaker", f"Create{kind}", request, region, account)

    async def describe(self, kind: str, name: str, region: str, account: str) -> dict[str, Any] | None:
        try:
            return await self.backend.call(None, "sagemaker", f"Describe{kind}", {f"{kind}Name": name}, region, account)
        except ServiceError as exc:
            if exc.code in ("ResourceNotFound", "ValidationException"):
                return None
            raise

    async def wait(self, kind: str, name: str, region: str, account: str) -> dict[str, Any]:
        if kind == TUNING_KIND:
            waiter = getattr(self.provider, "wait_for_tuning_job", None)
            if waiter is not None:
                await waiter(account, region, name)
        else:
            waiter = getattr(self.provider, "wait_for_job", None)
            if waiter is not None:
                await waiter(account, region, kind, name)
        delay = 0.05
        while True:
            described = await self.describe(kind, name, region, account)
            if described is None:
                raise StepFailure(f"{kind} {name} disappeared.", "Step.SERVICE_FAULT")
            if described.get(f"{kind}Status") in JOB_TERMINAL:
                return described
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def stop(self, kind: str, name: str, region: str, account: str) -> None:
        try:
            await self.backend.call(None, "sagemaker", f"Stop{kind}", {f"{kind}Name": name}, region, account)
        except ServiceError as exc:
            log.info("stopping %s %s: %s", kind, name, exc.message)


def _failure_type(reason: str) -> str | None:
    if reason.startswith("CapacityError"):
        return "SageMaker.CAPACITY_ERROR"
    if reason.startswith("InternalServerError"):
        return "SageMaker.JOB_INTERNAL_ERROR"
    return None


def _service_failure(exc: ServiceError) -> StepFailure:
    if exc.code in ("ThrottlingException", "Throttling"):
        kind = "Step.THROTTLING"
    elif exc.code == "ResourceLimitExceeded":
        kind = "SageMaker.RESOURCE_LIMIT"
    elif exc.status >= 500:
        kind = "Step.SERVICE_FAULT"
    else:
        kind = None
    return StepFailure(f"{exc.code}: {exc.message}", kind)


class ExecutionRunner:
    """Runs (or carries on) one pipeline execution to its end."""

    def __init__(
        self, backend: Any, jobs: Jobs, execution_arn: str, *,
        callbacks: dict[str, asyncio.Future[Any]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.backend = backend
        self.jobs = jobs
        self.arn = execution_arn
        self.callbacks = callbacks if callbacks is not None else {}
        self.sleep = sleep
        self.stopping = False
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.principal: Any = None

    # -- journal --------------------------------------------------------------------------------

    def _load(self) -> None:
        with self.backend.db.connect() as conn:
            self.row = store.get_execution(conn, self.arn)
            rows = store.get_steps(conn, self.arn)
            pipeline = store.get_pipeline(conn, self.row.pipeline_arn)
        self.pipeline_name = pipeline.name if pipeline is not None else self.row.pipeline_arn.rsplit("/", 1)[-1]
        self.journal: dict[str, Any] = {r.name: r for r in rows}
        self.definition = defn.parse(self.row.definition)
        given = [p for p in self.row.parameters or [] if p.get("Given")]
        self.parameters = defn.parameter_values(self.definition, [{"Name": p["Name"], "Value": p["Value"]} for p in given])
        self.seq = max([r.seq for r in rows] or [0])

    def _write_step(self, name: str, **values: Any) -> None:
        with self.backend.db.begin() as conn:
            store.upsert_step(conn, self.arn, name, values)
            self.journal[name] = store.get_step(conn, self.arn, name)

    def _set_status(self, status: str, reason: str | None = None) -> str:
        with self.backend.db.begin() as conn:
            current = store.get_execution(conn, self.arn)
            previous = current.status
            values: dict[str, Any] = {"status": status, "modified": now()}
            if reason is not None:
                values["failure_reason"] = reason[:1300]
            store.update_execution(conn, self.arn, **values)
            self.row = store.get_execution(conn, self.arn)
        return previous

    async def _emit(self, detail_type: str, detail: dict[str, Any]) -> None:
        await publish.emit(self.backend, self.row.account_id, self.row.region, SOURCE, detail_type,
                           jsonable(detail), [self.row.pipeline_arn, self.arn])

    async def _emit_execution(self, previous: str | None, current: str) -> None:
        detail = {
            "pipelineArn": self.row.pipeline_arn, "pipelineExecutionArn": self.arn,
            "executionStartTime": self.row.created, "currentPipelineExecutionStatus": current,
            "previousPipelineExecutionStatus": previous,
            "pipelineExecutionDisplayName": self.row.display_name or self.row.execution_id,
        }
        if self.row.description:
            detail["pipelineExecutionDescription"] = self.row.description
        if current in TERMINAL:
            detail["executionEndTime"] = now()
        await self._emit(EXECUTION_EVENT, detail)

    async def _emit_step(self, step: defn.Step, previous: str | None, current: str) -> None:
        row = self.journal.get(step.name)
        detail: dict[str, Any] = {
            "pipelineArn": self.row.pipeline_arn, "pipelineExecutionArn": self.arn, "stepName": step.name,
            "stepType": step.type, "currentStepStatus": current, "previousStepStatus": previous,
            "stepStartTime": row.started if row is not None else None, "metadata": (row.metadata if row is not None else None) or {},
        }
        if row is not None and row.ended is not None:
            detail["stepEndTime"] = row.ended
        if row is not None and row.failure_reason:
            detail["failureReason"] = row.failure_reason
        if row is not None and row.cache_hit:
            detail["cacheHitResult"] = row.cache_hit
        await self._emit(STEP_EVENT, detail)

    # -- the scope expressions read -------------------------------------------------------------

    def _execution_variable(self, name: str) -> Any:
        values = {
            "PipelineExecutionId": self.row.execution_id, "PipelineExecutionArn": self.arn,
            "PipelineName": self.pipeline_name, "PipelineArn": self.row.pipeline_arn,
            "StartDateTime": _aware(self.row.created).isoformat(), "CurrentDateTime": now().isoformat(),
        }
        if name not in values:
            raise defn.DefinitionError(f"Execution.{name} is not an execution variable.")
        return values[name]

    def _step_properties(self, name: str) -> dict[str, Any]:
        row = self.journal.get(name)
        if row is None or row.status != "Succeeded":
            raise defn.DefinitionError(f"Step {name} has not succeeded, so its properties cannot be read.")
        return row.properties or {}

    async def _s3_json(self, uri: str) -> Any:
        if not uri.startswith("s3://"):
            raise defn.DefinitionError(f"{uri} is not an s3:// URI.")
        bucket, _, key = uri[5:].partition("/")
        try:
            out = await self.backend.call(self.principal, "s3", "GetObject", {"Bucket": bucket, "Key": key},
                                          self.row.region, self.row.account_id)
        except ServiceError as exc:
            raise defn.DefinitionError(f"Cannot read {uri}: {exc.code}: {exc.message}") from None
        body = out.get("Body")
        data = body.read() if hasattr(body, "read") else body
        if asyncio.iscoroutine(data):
            data = await data
        try:
            return json.loads(data)
        except (TypeError, ValueError):
            raise defn.DefinitionError(f"{uri} is not a JSON document.") from None

    async def _property_file(self, step_name: str, file_name: str) -> Any:
        step = self.definition.steps.get(step_name)
        files = {f.get("PropertyFileName"): f for f in (step.raw.get("PropertyFiles") or [])} if step else {}
        spec = files.get(file_name)
        if spec is None:
            raise defn.DefinitionError(f"Step {step_name} has no property file {file_name}.")
        outputs = ((self._step_properties(step_name).get("ProcessingOutputConfig") or {}).get("Outputs")) or []
        match = [o for o in outputs if o.get("OutputName") == spec.get("OutputName")]
        if not match:
            raise defn.DefinitionError(f"Step {step_name} has no output {spec.get('OutputName')} for property file {file_name}.")
        uri = match[0]["S3Output"]["S3Uri"].rstrip("/") + "/" + spec["FilePath"].lstrip("/")
        return await self._s3_json(uri)

    @property
    def scope(self) -> defn.Scope:
        return defn.Scope(self.parameters, self._execution_variable, self._step_properties, self._property_file, self._s3_json)

    # -- running --------------------------------------------------------------------------------

    async def run(self) -> None:
        self._load()
        if self.row.status not in ("Executing", "Stopping"):
            return
        try:
            from seedbed.runtime.credentials import assume_for_service

            session = assume_for_service(self.backend, self.row.role_arn, SAGEMAKER_PRINCIPAL,
                                         f"SageMaker-{self.row.execution_id}", source_account=self.row.account_id,
                                         source_arn=self.row.pipeline_arn)
            self.principal = session.principal
        except ServiceError as exc:
            await self._finish("Failed", f"SageMaker could not assume the pipeline role {self.row.role_arn}: {exc.message}")
            return
        if self.row.status == "Stopping":
            self.stopping = True
        selective = self.row.selective or None
        if selective and not self.journal:
            self._carry_over(selective)
        limit = int(((self.row.parallelism or {}).get("MaxParallelExecutionSteps")) or DEFAULT_PARALLELISM)
        failed: list[str] = []
        while True:
            for step in self._ready(selective):
                if len(self.tasks) >= limit or self.stopping or failed:
                    break
                self.tasks[step.name] = asyncio.get_running_loop().create_task(self._run_step(step))
            if not self.tasks:
                break
            done, _ = await asyncio.wait(list(self.tasks.values()), return_when=asyncio.FIRST_COMPLETED)
            for name, task in list(self.tasks.items()):
                if task in done:
                    self.tasks.pop(name)
                    if not task.cancelled() and task.exception() is not None:
                        log.error("step %s of %s crashed", name, self.arn, exc_info=task.exception())
                        self._write_step(name, status="Failed", ended=now(), failure_reason="Internal error running the step.")
                    if self.journal[name].status == "Failed":
                        failed.append(name)
        if self.stopping:
            await self._finish("Stopped", None)
        elif failed:
            reasons = [f"{n}: {self.journal[n].failure_reason}" for n in failed]
            await self._finish("Failed", "Step failure: " + "; ".join(reasons))
        else:
            await self._finish("Succeeded", None)

    async def _finish(self, status: str, reason: str | None) -> None:
        previous = self._set_status(status, reason)
        await self._emit_execution(previous, status)

    def stop(self) -> None:
        self.stopping = True
        for task in self.tasks.values():
            task.cancel()

    def _state(self, name: str) -> str | None:
        row = self.journal.get(name)
        return row.status if row is not None else None

    def _skipped(self, step: defn.Step, selective: dict[str, Any] | None) -> bool:
        """Whether the step will never run: its condition branch was not taken, or it needs a step
        that will never run."""
        if step.branch is not None:
            condition, wanted = step.branch
            row = self.journal.get(condition)
            if row is not None and row.status == "Succeeded":
                outcome = ((row.metadata or {}).get("Condition") or {}).get("Outcome")
                if (outcome == "True") != wanted:
                    return True
        if selective and step.name not in _selected(selective) and step.name not in self.journal:
            return True
        return any(self._skipped(self.definition.steps[d], selective) for d in step.depends)

    def _ready(self, selective: dict[str, Any] | None) -> list[defn.Step]:
        ready = []
        for step in self.definition.steps.values():
            if step.name in self.tasks:
                continue
            state = self._state(step.name)
            if state in TERMINAL:
                continue
            if state == "Executing":  # left running by a crashed process: carry it on
                ready.append(step)
                continue
            if self._skipped(step, selective):
                continue
            if all(self._state(d) == "Succeeded" for d in step.depends):
                ready.append(step)
        return ready

    def _carry_over(self, selective: dict[str, Any]) -> None:
        """Selective execution: the steps not selected keep what they produced in the source."""
        source = selective["SourcePipelineExecutionArn"]
        chosen = _selected(selective)
        with self.backend.db.connect() as conn:
            rows = {r.name: r for r in store.get_steps(conn, source)}
        for name, row in rows.items():
            if name in chosen or row.status != "Succeeded" or name not in self.definition.steps:
                continue
            self.seq += 1
            self._write_step(
                name, pipeline_arn=self.row.pipeline_arn, step_type=row.step_type, display_name=row.display_name,
                description=row.description, status="Succeeded", attempts=0, metadata=row.metadata,
                properties=row.properties, selective_result={"SourcePipelineExecutionArn": source}, seq=self.seq,
                started=row.started, ended=row.ended,
            )

    async def _run_step(self, step: defn.Step) -> None:
        existing = self.journal.get(step.name)
        resuming = existing is not None and existing.status == "Executing"
        attempt = existing.attempts if resuming else 0
        while True:
            if not resuming:
                attempt += 1
                self.seq += 1
                self._write_step(
                    step.name, pipeline_arn=self.row.pipeline_arn, step_type=step.type, display_name=step.display_name,
                    description=step.description, status="Executing", attempts=attempt, failure_reason=None,
                    metadata={}, properties=None, job=None, cache_key=None, cache_hit=None, callback_token=None,
                    selective_result=None, seq=self.seq if attempt == 1 else self.journal[step.name].seq,
                    started=now() if attempt == 1 else self.journal[step.name].started, ended=None,
                )
                if attempt == 1:
                    await self._emit_step(step, None, "Executing")
            try:
                await self._perform(step, resuming)
            except asyncio.CancelledError:
                await asyncio.shield(self._stop_step(step))
                raise
            except StepFailure as failure:
                delay = self._retry_delay(step, failure, attempt)
                if delay is not None and not self.stopping:
                    await self.sleep(delay)
                    resuming = False
                    continue
                metadata = dict(self.journal[step.name].metadata or {})
                metadata.update(failure.metadata or {})
                self._write_step(step.name, status="Failed", failure_reason=failure.message[:1024], ended=now(), metadata=metadata)
                await self._emit_step(step, "Executing", "Failed")
                return
            except defn.DefinitionError as exc:
                self._write_step(step.name, status="Failed", failure_reason=str(exc)[:1024], ended=now())
                await self._emit_step(step, "Executing", "Failed")
                return
            await self._emit_step(step, "Executing", "Succeeded")
            return

    def _retry_delay(self, step: defn.Step, failure: StepFailure, attempt: int) -> float | None:
        if failure.reason_type is None:
            return None
        for policy in step.retry_policies:
            kinds = list(policy.get("ExceptionType") or []) + list(policy.get("FailureReasonType") or [])
            if failure.reason_type not in kinds:
                continue
            max_attempts = int(policy.get("MaxAttempts") or 5)
            if attempt >= max_attempts:
                return None
            interval = float(policy.get("IntervalSeconds") or 1)
            backoff = float(policy.get("BackoffRate") or 2.0)
            return interval * backoff ** (attempt - 1)
        return None

    async def _stop_step(self, step: defn.Step) -> None:
        row = self.journal.get(step.name)
        job = (row.job or {}) if row is not None else {}
        if job.get("kind") in ("ProcessingJob", "TrainingJob", "TransformJob", TUNING_KIND):
            await self.jobs.stop(job["kind"], job["name"], self.row.region, self.row.account_id)
        self._write_step(step.name, status="Stopped", ended=now())
        await self._emit_step(step, "Executing", "Stopped")

    def _succeed(self, step: defn.Step, metadata: dict[str, Any], properties: dict[str, Any], **extra: Any) -> None:
        self._write_step(step.name, status="Succeeded", ended=now(), metadata=jsonable(metadata),
                         properties=jsonable(properties), **extra)

    # -- step types -----------------------------------------------------------------------------

    async def _perform(self, step: defn.Step, resuming: bool) -> None:
        if step.type in defn.NOT_BUILT:
            raise StepFailure(defn.NOT_BUILT[step.type])
        if step.type in defn.JOB_TYPES:
            await self._job_step(step, resuming)
        elif step.type == "Tuning":
            await self._tuning_step(step, resuming)
        elif step.type in defn.CHECK_TYPES:
            from seedbed.services.sagemaker.pipelines import check_steps

            await check_steps.run(self, step, resuming)
        elif step.type == "Condition":
            outcome = True
            for condition in step.arguments.get("Conditions") or []:
                if not await defn.evaluate(condition, self.scope):
                    outcome = False
                    break
            self._succeed(step, {"Condition": {"Outcome": "True" if outcome else "False"}}, {"Outcome": outcome})
        elif step.type == "Fail":
            message = defn.to_text(await defn.resolve(step.arguments.get("ErrorMessage", ""), self.scope))
            raise StepFailure(message, metadata={"Fail": {"ErrorMessage": message}})
        elif step.type in ("Model", "CreateModel"):
            await self._model_step(step)
        elif step.type == "RegisterModel":
            await self._register_step(step)
        elif step.type == "Lambda":
            await self._lambda_step(step)
        elif step.type == "Callback":
            await self._callback_step(step, resuming)
        else:  # pragma: no cover - parse() refuses unknown types
            raise StepFailure(f"Step type {step.type} is not supported.")

    def _cache_key(self, step: defn.Step, arguments: dict[str, Any], extra: dict[str, Any] | None = None) -> str:
        attributes = defn.CACHE_ATTRIBUTES.get(step.type, tuple(sorted(arguments)))
        basis = {"type": step.type, **{k: arguments.get(k) for k in attributes}, **({"step": extra} if extra else {})}
        return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()

    def _cache_hit(self, step: defn.Step, key: str) -> bool:
        expiry = step.cache_expiry
        since = now() - expiry if expiry is not None else datetime(1970, 1, 1, tzinfo=UTC)
        with self.backend.db.connect() as conn:
            earlier = store.cached_step(conn, self.row.pipeline_arn, key, since)
        if earlier is None or earlier.execution_arn == self.arn:
            return False
        self._succeed(step, earlier.metadata or {}, earlier.properties or {}, cache_key=key,
                      cache_hit={"SourcePipelineExecutionArn": earlier.execution_arn})
        return True

    async def _job_step(self, step: defn.Step, resuming: bool) -> None:
        kind = defn.JOB_TYPES[step.type]
        described = await self.run_job(step, kind, resuming)
        if described is not None:
            self._succeed(step, self.job_metadata(kind, described), described)

    async def run_job(self, step: defn.Step, kind: str, resuming: bool,
                      prepare: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]] | None = None,
                      cache_extra: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Run the job the step's Arguments describe (``prepare`` may add to the request) and wait
        for it: its description once Completed, or None when a cached earlier run was taken (the
        step has then succeeded already). ``cache_extra`` is what else, beyond the Arguments,
        decides the step's outcome (a check step's flags and baselines) and so its cache key.
        A job that did not complete fails the step."""
        row = self.journal[step.name]
        job = row.job or {}
        if resuming and job.get("name"):
            described = await self.jobs.describe(kind, job["name"], self.row.region, self.row.account_id)
            if described is not None:
                return await self._finish_job(kind, job["name"], described)
        arguments = await defn.resolve(step.arguments, self.scope)
        if not isinstance(arguments, dict):
            raise StepFailure(f"The Arguments of step {step.name} must be an object.")
        key = self._cache_key(step, arguments, cache_extra) if step.cache_enabled else None
        if key is not None and self._cache_hit(step, key):
            return None
        if prepare is not None:
            arguments = await prepare(arguments)
        name = job.get("name") if resuming and job.get("name") else job_name(self.row.execution_id, step.name, kind)
        arguments[f"{kind}Name"] = name
        self._write_step(step.name, job={"kind": kind, "name": name}, cache_key=key)
        try:
            await self.jobs.create(self.principal, kind, arguments, self.row.region, self.row.account_id)
        except ServiceError as exc:
            raise _service_failure(exc) from None
        # Shown once the job exists, so a caller who reads the ARN can describe (or stop) it.
        metadata = {_metadata_key(kind): {"Arn": arns.sagemaker(self.row.account_id, self.row.region, _arn_type(kind), name)}}
        self._write_step(step.name, metadata=metadata)
        described = await self.jobs.wait(kind, name, self.row.region, self.row.account_id)
        return await self._finish_job(kind, name, described)

    def succeed(self, step: defn.Step, metadata: dict[str, Any], properties: dict[str, Any]) -> None:
        """Mark ``step`` Succeeded with its metadata and properties (for step modules)."""
        self._succeed(step, metadata, properties)

    async def s3_json(self, uri: str) -> Any:
        """The JSON document at an s3:// URI, read as the pipeline's role (for step modules)."""
        return await self._s3_json(uri)

    def job_metadata(self, kind: str, described: dict[str, Any]) -> dict[str, Any]:
        name = described.get(f"{kind}Name") or ""
        return {_metadata_key(kind): {"Arn": described.get(f"{kind}Arn") or arns.sagemaker(self.row.account_id, self.row.region, _arn_type(kind), name)}}

    async def _finish_job(self, kind: str, name: str, described: dict[str, Any]) -> dict[str, Any]:
        if described.get(f"{kind}Status") not in JOB_TERMINAL:
            described = await self.jobs.wait(kind, name, self.row.region, self.row.account_id)
        status = described.get(f"{kind}Status")
        if status != "Completed":
            metadata = self.job_metadata(kind, described)
            reason = described.get("FailureReason") or f"{kind} {name} ended {status}."
            raise StepFailure(f"{kind} {name} {status.lower() if status else 'failed'}: {reason}" if status else reason,
                              _failure_type(reason), metadata)
        return described

    async def _tuning_step(self, step: defn.Step, resuming: bool) -> None:
        """A hyperparameter tuning job through CreateHyperParameterTuningJob. The step's
        properties are what DescribeHyperParameterTuningJob answers plus the trials as
        ListTrainingJobsForHyperParameterTuningJob lists them, best first, as
        ``TuningStep.get_top_model_s3_uri`` expects."""
        described = await self.run_job(step, TUNING_KIND, resuming)
        if described is None:
            return
        objective = (described.get("BestTrainingJob") or {}).get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        request = {"HyperParameterTuningJobName": described["HyperParameterTuningJobName"], "MaxResults": 100,
                   "SortBy": "FinalObjectiveMetricValue",
                   "SortOrder": "Descending" if objective.get("Type") == "Maximize" else "Ascending"}
        summaries: list[dict[str, Any]] = []
        while True:
            page = await self.backend.call(None, "sagemaker", "ListTrainingJobsForHyperParameterTuningJob", request,
                                           self.row.region, self.row.account_id)
            summaries += page["TrainingJobSummaries"]
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
        self._succeed(step, self.job_metadata(TUNING_KIND, described), {**described, "TrainingJobSummaries": summaries})

    async def _model_step(self, step: defn.Step) -> None:
        arguments = await defn.resolve(step.arguments, self.scope)
        name = self.journal[step.name].job and self.journal[step.name].job.get("name") or job_name(self.row.execution_id, step.name)
        self._write_step(step.name, job={"kind": "Model", "name": name})
        request = dict(arguments, ModelName=name)
        try:
            out = await self.backend.call(self.principal, "sagemaker", "CreateModel", request, self.row.region, self.row.account_id)
        except ServiceError as exc:
            if "already exist" not in exc.message.lower():
                raise _service_failure(exc) from None
            out = {"ModelArn": arns.sagemaker(self.row.account_id, self.row.region, "model", name)}
        properties = dict(request, ModelArn=out["ModelArn"])
        self._succeed(step, {"Model": {"Arn": out["ModelArn"]}}, properties)

    async def _register_step(self, step: defn.Step) -> None:
        arguments = dict(await defn.resolve(step.arguments, self.scope))
        if arguments.get("ModelPackageGroupName"):
            arguments.pop("ModelPackageName", None)
        arguments.pop("CertifyForMarketplace", None)
        group = arguments.get("ModelPackageGroupName")
        lineage = dict(arguments.get("MetadataProperties") or {})
        lineage.setdefault("GeneratedBy", self.arn)
        project = self._project_id()
        if project:
            lineage.setdefault("ProjectId", project)
        arguments["MetadataProperties"] = lineage
        # The same token on a re-run after a crash gives the same package back.
        arguments["ClientToken"] = hashlib.sha256(f"{self.arn}/{step.name}/{self.journal[step.name].attempts}".encode()).hexdigest()[:36]
        if group:
            await self._ensure_group(group)
        try:
            out = await self.backend.call(self.principal, "sagemaker", "CreateModelPackage", arguments, self.row.region, self.row.account_id)
            described = await self.backend.call(None, "sagemaker", "DescribeModelPackage", {"ModelPackageName": out["ModelPackageArn"]},
                                                self.row.region, self.row.account_id)
        except ServiceError as exc:
            raise _service_failure(exc) from None
        self._succeed(step, {"RegisterModel": {"Arn": out["ModelPackageArn"]}}, described)

    def _project_id(self) -> str | None:
        from seedbed.services.sagemaker import store as sm_store

        with self.backend.db.connect() as conn:
            tags = {t["Key"]: t["Value"] for t in sm_store.get_tags(conn, self.row.pipeline_arn)}
        return tags.get("sagemaker:project-id")

    async def _ensure_group(self, group: str) -> None:
        """As on AWS, registering into a group that does not exist yet creates it."""
        name = group.rsplit("/", 1)[-1]
        try:
            await self.backend.call(None, "sagemaker", "DescribeModelPackageGroup", {"ModelPackageGroupName": name},
                                    self.row.region, self.row.account_id)
            return
        except ServiceError:
            pass
        try:
            await self.backend.call(self.principal, "sagemaker", "CreateModelPackageGroup", {"ModelPackageGroupName": name},
                                    self.row.region, self.row.account_id)
        except ServiceError as exc:
            if "already exists" not in exc.message:
                raise _service_failure(exc) from None

    async def _lambda_step(self, step: defn.Step) -> None:
        function = defn.to_text(await defn.resolve(step.raw.get("FunctionArn"), self.scope))
        payload = await defn.resolve(step.arguments, self.scope)
        outputs = step.raw.get("OutputParameters") or []
        metadata: dict[str, Any] = {"Lambda": {"Arn": function}}
        self._write_step(step.name, metadata=metadata)
        timeout = _seconds(step.raw.get("Timeout"), 120)
        try:
            out = await asyncio.wait_for(self.backend.call(
                self.principal, "lambda", "Invoke", {"FunctionName": function, "Payload": json.dumps(jsonable(payload)).encode()},
                self.row.region, self.row.account_id), timeout)
        except TimeoutError:
            raise StepFailure(f"Lambda function {function} did not answer within {timeout:g} seconds.", metadata=metadata) from None
        except ServiceError as exc:
            failure = _service_failure(exc)
            failure.metadata = metadata
            raise failure from None
        body = out.get("Payload")
        data = body.read() if hasattr(body, "read") else body
        if out.get("FunctionError"):
            raise StepFailure(f"Lambda function {function} failed: {defn.to_text(data)[:900]}", metadata=metadata)
        try:
            result = json.loads(data) if data else {}
        except (TypeError, ValueError):
            raise StepFailure(f"Lambda function {function} returned something that is not JSON.", metadata=metadata) from None
        values = self._outputs(step, outputs, result if isinstance(result, dict) else {})
        metadata["Lambda"]["OutputParameters"] = [{"Name": k, "Value": defn.to_text(v)} for k, v in values.items()]
        self._succeed(step, metadata, {"OutputParameters": values})

    def _outputs(self, step: defn.Step, outputs: list[dict[str, Any]], result: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for spec in outputs:
            name = spec.get("OutputName")
            if name not in result:
                raise StepFailure(f"Step {step.name}: the output parameter {name} is missing from the result.")
            kind = spec.get("OutputType", "String")
            try:
                values[name] = defn.convert(defn.to_text(result[name]), kind, name) if kind != "String" else result[name]
            except defn.DefinitionError as exc:
                raise StepFailure(str(exc)) from None
        return values

    async def _callback_step(self, step: defn.Step, resuming: bool) -> None:
        row = self.journal[step.name]
        token = row.callback_token if resuming and row.callback_token else secrets.token_hex(5)
        queue = defn.to_text(await defn.resolve(step.raw.get("SqsQueueUrl"), self.scope))
        outputs = step.raw.get("OutputParameters") or []
        metadata = {"Callback": {"CallbackToken": token, "SqsQueueUrl": queue}}
        future = self.callbacks.get(token)
        if future is None or future.done():
            future = asyncio.get_running_loop().create_future()
            self.callbacks[token] = future
        self._write_step(step.name, callback_token=token, metadata=metadata, job={"kind": "Callback", "name": token})
        if not (resuming and row.callback_token):
            arguments = await defn.resolve(step.arguments, self.scope)
            message = json.dumps({"token": token, "arguments": jsonable(arguments), "status": "Executing"})
            try:
                await self.backend.call(self.principal, "sqs", "SendMessage", {"QueueUrl": queue, "MessageBody": message},
                                        self.row.region, self.row.account_id)
            except ServiceError as exc:
                # Without SQS the token is still in ListPipelineExecutionSteps' metadata, so a
                # caller can answer with SendPipelineExecutionStepSuccess/Failure all the same.
                log.warning("callback step %s: could not send to %s (%s: %s); the token is in the step metadata",
                            step.name, queue, exc.code, exc.message)
        try:
            result = await future
        finally:
            self.callbacks.pop(token, None)
        if result.get("status") == "Failure":
            raise StepFailure(result.get("reason") or "The callback reported a failure.", metadata=metadata)
        given = {p["Name"]: p["Value"] for p in result.get("outputs") or []}
        values = self._outputs(step, outputs, given) if outputs else given
        metadata["Callback"]["OutputParameters"] = [{"Name": k, "Value": defn.to_text(v)} for k, v in values.items()]
        self._succeed(step, metadata, {"OutputParameters": values})


def _metadata_key(kind: str) -> str:
    """The step metadata member that names a job of ``kind`` (``TuningJob`` for a tuning job)."""
    return "TuningJob" if kind == TUNING_KIND else kind


def _arn_type(kind: str) -> str:
    return {"ProcessingJob": "processing-job", "TrainingJob": "training-job", "TransformJob": "transform-job",
            TUNING_KIND: "hyper-parameter-tuning-job"}[kind]


def _selected(selective: dict[str, Any]) -> set[str]:
    return {s["StepName"] for s in selective.get("SelectedSteps") or []}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _seconds(text: Any, default: float) -> float:
    if not text:
        return default
    try:
        return defn.parse_duration(str(text)).total_seconds() or default
    except defn.DefinitionError:
        try:
            return float(text)
        except ValueError:
            return default


