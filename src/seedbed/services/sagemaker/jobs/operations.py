"""SageMaker: processing, training and transform jobs run locally under the container contract.

``Create{Processing,Training,Transform}Job`` check the request (unique name, ``iam:PassRole`` of
the role to ``sagemaker.amazonaws.com``, the role's trust policy), record the job ``InProgress``
and start a task that builds the runner spec (:mod:`.contract`), waits for a free slot (at most
``--jobs-max-concurrent`` jobs run at once), and runs it on the jobs backend (local subprocesses,
or Ray with ``--jobs-backend ray``; :mod:`seedbed.runtime.jobs`). The job's code gets the role's
temporary credentials and ``AWS_ENDPOINT_URL``, so boto3 inside it reaches Seedbed as that role.

While it runs, output lines go to CloudWatch Logs (``/aws/sagemaker/<Kind>s``, stream
``<job>/algo-<n>-<epoch>``), training metrics are read from them, and phases become
``SecondaryStatusTransitions``. The outcome (``Completed``, ``Failed`` with a FailureReason from the
``/opt/ml/output/failure`` file or the exit code and log tail, ``Stopped``) is recorded, a
"SageMaker ... Job State Change" event is emitted, and :meth:`JobOperations.wait_for_job` callers
wake up.

Jobs are journaled in ``sm_jobs``: after a crash, :meth:`JobOperations.resume_jobs` marks the jobs
that were running Failed ("the server restarted"), or runs them again with
``--jobs-on-restart rerun``. A job's folder (``<data dir>/sagemaker-jobs/...``) is removed when it
completes and kept when it fails, for inspection.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from seedbed.errors import ServiceError
from seedbed.server.context import RequestContext
from seedbed.services.sagemaker import common
from seedbed.services.sagemaker import store as sm_store
from seedbed.services.sagemaker import tags as sm_tags
from seedbed.services.sagemaker.errors import ResourceInUse, ResourceNotFound, SageMakerValidation
from seedbed.services.sagemaker.jobs import contract, images, store
from seedbed.services.sagemaker.jobs.metrics import NAMESPACE as METRICS_NAMESPACE
from seedbed.services.sagemaker.jobs.metrics import MetricReader, xgboost_definitions
from seedbed.state import arns

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kind:
    name: str  # ProcessingJob
    arn_type: str  # processing-job
    prefix: str  # Processing (the field prefix: ProcessingJobName, ProcessingStartTime)
    log_group: str
    detail_type: str


KINDS = {
    "ProcessingJob": Kind("ProcessingJob", "processing-job", "Processing", "/aws/sagemaker/ProcessingJobs",
                          "SageMaker Processing Job State Change"),
    "TrainingJob": Kind("TrainingJob", "training-job", "Training", "/aws/sagemaker/TrainingJobs",
                        "SageMaker Training Job State Change"),
    "TransformJob": Kind("TransformJob", "transform-job", "Transform", "/aws/sagemaker/TransformJobs",
                         "SageMaker Transform Job State Change"),
}
STATUS_MESSAGES = {
    "Starting": "Launching requested ML instances", "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model", "Completed": "Training job completed",
    "Failed": "Training job failed", "Stopping": "Stopping the training job", "Stopped": "Training job stopped",
    "MaxRuntimeExceeded": "Job stopped because it exceeded the maximum allowed runtime.",
}
RESTART_REASON = (
    "InternalServerError: The Seedbed server restarted while this job was running, so the job was marked "
    "Failed. Start it again, or run the server with --jobs-on-restart rerun."
)
FLUSH_SECONDS = 0.5
OBJECTIVE_HISTORY = 2000


def _exists(kind: Kind):  # type: ignore[no-untyped-def]
    def exists(conn: Any, arn: arns.Arn) -> bool:
        return store.get_job(conn, arns.sagemaker(arn.account, arn.region, kind.arn_type, arn.resource_id)) is not None

    return exists


for _kind in KINDS.values():  # the jobs' ARNs take AddTags/ListTags/DeleteTags
    sm_tags.RESOURCE_EXISTS[_kind.arn_type] = _exists(_kind)


def _dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return sm_store.aware(value)
    return datetime.fromisoformat(str(value))


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _epoch_ms(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {k: _epoch_ms(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_epoch_ms(v) for v in value]
    return value


class _LogSink:
    """Lines of one job to CloudWatch Logs (one stream per instance) and its metric reader."""

    def __init__(self, ops: JobOperations, row: Any, kind: Kind, metrics: MetricReader | None) -> None:
        self.ops, self.row, self.kind, self.metrics = ops, row, kind, metrics
        #: A tuning trial's objective metric, whose every value is journaled for early stopping.
        self.objective = (row.request.get("HyperParameters") or {}).get(contract.TUNING_OBJECTIVE) if metrics else None
        self.epoch = int(time.time())
        self.pending: dict[int, list[str]] = {}
        self.streams: dict[int, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.enabled = True
        self._flusher: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def line(self, host: int, text: str) -> None:
        self.pending.setdefault(host, []).append(text)
        if self.metrics is not None:
            self.metrics.feed(text, store.now())
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    def event(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if event.get("event") == "phase":
            self.ops._phase(self.row.arn, self.kind, event["phase"], datetime.fromtimestamp(event["time"], UTC))

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        self._flusher = None
        await self.flush()

    async def flush(self) -> None:
        batches, self.pending = self.pending, {}
        if self.metrics is not None:
            points = self.metrics.drain()
            values = [value for name, value, _ in points if name == self.objective]
            if values:
                self.ops._journal_objective(self.row.arn, values)
            await self._publish(points)
        if not self.enabled:
            return
        from seedbed.runtime.logsink import LogStream

        for host, lines in sorted(batches.items()):
            stream = self.streams.get(host)
            if stream is None:
                stream = self.streams[host] = LogStream(
                    self.ops.backend, self.row.account_id, self.row.region, self.kind.log_group,
                    f"{self.row.name}/algo-{host + 1}-{self.epoch}",
                )
            try:
                await stream.write(lines)
            except ServiceError as exc:
                if exc.code == "NotImplemented":  # CloudWatch Logs not there yet: keep running
                    self.enabled = False
                    return
                log.warning("job %s: could not write logs: %s", self.row.name, exc.message)

    async def _publish(self, points: list[tuple[str, float, datetime]]) -> None:
        """Metric values to CloudWatch, as SageMaker itself: the last value of each metric in each
        second (a fast loop logs far more), at most 1,000 per PutMetricData."""
        dimensions = [{"Name": "TrainingJobName", "Value": self.row.name}]
        latest = {(name, int(when.timestamp())): (name, value, when) for name, value, when in points}
        data = [{"MetricName": name, "Dimensions": dimensions, "Timestamp": when, "Value": value}
                for name, value, when in latest.values()]
        for start in range(0, len(data), 1000):
            try:
                await self.ops.backend.call(None, "cloudwatch", "PutMetricData", {
                    "Namespace": METRICS_NAMESPACE, "MetricData": data[start:start + 1000]}, self.row.region, self.row.account_id)
            except ServiceError as exc:
                log.warning("job %s: could not publish metrics: %s", self.row.name, exc.message)
                return

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        await self.flush()


@dataclass
class _JobsState:
    backend: Any
    slots: asyncio.Semaphore
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    waiters: dict[str, list[asyncio.Future[None]]] = field(default_factory=dict)
    #: Role credentials issued at create, used by the job's first run.
    sessions: dict[str, dict[str, str]] = field(default_factory=dict)


class JobOperations:
    backend: Any

    # -- plumbing ---------------------------------------------------------------------------------

    def _jobs(self) -> _JobsState:
        state = getattr(self, "_jobs_state", None)
        if state is None:
            from seedbed.runtime.jobs.backends import make_backend

            settings = self.backend.settings
            name = getattr(settings, "jobs_backend", None) or os.environ.get("SEEDBED_JOBS_BACKEND") or "local"
            address = getattr(settings, "ray_address", None) or os.environ.get("SEEDBED_RAY_ADDRESS")
            limit = int(getattr(settings, "jobs_max_concurrent", 0) or os.environ.get("SEEDBED_JOBS_MAX_CONCURRENT") or 0)
            limit = limit or max(2, os.cpu_count() or 2)
            state = _JobsState(make_backend(name, address), asyncio.Semaphore(limit))
            self._jobs_state = state
        return state

    def close_area(self) -> None:
        state = getattr(self, "_jobs_state", None)
        if state is not None:
            for task in state.tasks.values():
                task.cancel()
            state.backend.close()

    def _job_arn(self, account: str, region: str, kind: Kind, name: str) -> str:
        return arns.sagemaker(account, region, kind.arn_type, name)

    def _row(self, ctx: RequestContext, kind: Kind, name: str) -> Any:
        arn = self._job_arn(ctx.account_id, ctx.region, kind, name)
        with self.backend.db.connect() as conn:
            row = store.get_job(conn, arn)
        if row is None:
            raise ResourceNotFound(f"Requested resource not found: {kind.prefix} job {name} does not exist.")
        ctx.resources.append(arn)
        return row

    def _session_env(self, row: Any, role: str) -> dict[str, str]:
        from seedbed.runtime.credentials import assume_for_service

        request = row.request
        runtime = (request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds") or 3600
        session = assume_for_service(
            self.backend, role, "sagemaker.amazonaws.com", f"SageMaker-{row.name}"[:64],
            duration=max(900, min(43200, int(runtime) + 900)), source_account=row.account_id, source_arn=row.arn,
        )
        return session.environment(self.backend, row.region)

    # -- create -------------------------------------------------------------------------------------

    async def _create(self, ctx: RequestContext, kind: Kind, params: dict[str, Any], role: str | None) -> str:
        name = params[f"{kind.name}Name"]
        arn = self._job_arn(ctx.account_id, ctx.region, kind, name)
        with self.backend.db.connect() as conn:
            existing = store.get_job(conn, arn)
        if existing is not None:
            raise ResourceInUse(
                f"Job name must be unique within an AWS account and region, and a job with this name already exists ({arn})"
            )
        if role:
            self.backend.authorizer.check_pass_role(ctx, role, "sagemaker.amazonaws.com")
            from seedbed.runtime.credentials import assume_for_service

            try:
                max_runtime = (params.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds") or 3600
                session = assume_for_service(
                    self.backend, role, "sagemaker.amazonaws.com", f"SageMaker-{name}"[:64],
                    duration=max(900, min(43200, int(max_runtime) + 900)), source_account=ctx.account_id, source_arn=arn,
                )
            except ServiceError:
                raise SageMakerValidation(
                    f"Could not assume role {role}. Please ensure that the role exists and allows principal "
                    "'sagemaker.amazonaws.com' to assume the role."
                ) from None
            self._jobs().sessions[arn] = session.environment(self.backend, ctx.region)
        request = {k: v for k, v in params.items() if k != "Tags"}
        when = store.now()
        try:
            with self.backend.db.begin() as conn:
                store.insert_job(conn, {
                    "arn": arn, "account_id": ctx.account_id, "region": ctx.region, "kind": kind.name, "name": name,
                    "status": "InProgress", "secondary_status": "Starting", "failure_reason": None, "exit_message": None,
                    "request": request, "result": {"transitions": [{"Status": "Starting", "StartTime": _iso(when),
                                                                     "StatusMessage": STATUS_MESSAGES["Starting"]}]},
                    "created": when, "modified": when, "started": None, "ended": None, "attempts": 1,
                })
                sm_store.delete_all_tags(conn, arn)
                if params.get("Tags"):
                    sm_store.put_tags(conn, arn, list(params["Tags"]))
        except IntegrityError:
            raise ResourceInUse(
                f"Job name must be unique within an AWS account and region, and a job with this name already exists ({arn})"
            ) from None
        ctx.resources.append(arn)
        self._start(arn)
        return arn

    def _start(self, arn: str) -> None:
        state = self._jobs()
        task = asyncio.get_running_loop().create_task(self._run(arn))
        state.tasks[arn] = task
        task.add_done_callback(lambda _t: state.tasks.pop(arn, None))

    async def create_processing_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = await self._create(ctx, KINDS["ProcessingJob"], params, params["RoleArn"])
        return {"ProcessingJobArn": arn}

    async def create_training_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        algo = params["AlgorithmSpecification"]
        if not algo.get("TrainingImage") and not algo.get("AlgorithmName"):
            raise SageMakerValidation("Either TrainingImage or AlgorithmName must be specified in AlgorithmSpecification.")
        mode = algo.get("TrainingInputMode", "File")
        if mode not in ("File", "Pipe", "FastFile"):
            raise SageMakerValidation(f"TrainingInputMode {mode} is not valid.")
        arn = await self._create(ctx, KINDS["TrainingJob"], params, params["RoleArn"])
        return {"TrainingJobArn": arn}

    async def create_transform_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        container = await self._model_container(ctx, params["ModelName"])
        arn = await self._create(ctx, KINDS["TransformJob"], {**params}, None)
        with self.backend.db.begin() as conn:
            row = store.get_job(conn, arn)
            store.update_job(conn, arn, result={**row.result, "container": container})
        return {"TransformJobArn": arn}

    async def _model_container(self, ctx: RequestContext, model_name: str) -> dict[str, Any]:
        """The model's (first) container, with the role the model runs under."""
        try:
            model = await self.backend.call(None, "sagemaker", "DescribeModel", {"ModelName": model_name}, ctx.region, ctx.account_id)
        except ServiceError as exc:
            if exc.code == "NotImplemented":
                raise SageMakerValidation("A transform job needs its model from CreateModel, which this Seedbed does not implement yet.") from None
            raise SageMakerValidation(f"Could not find model \"{arns.sagemaker(ctx.account_id, ctx.region, 'model', model_name)}\".") from None
        container = dict(model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0])
        package = container.get("ModelPackageName")
        if package and not container.get("Image"):
            try:
                described = await self.backend.call(None, "sagemaker", "DescribeModelPackage", {"ModelPackageName": package}, ctx.region, ctx.account_id)
            except ServiceError as exc:
                raise SageMakerValidation(f"Could not read model package {package}: {exc.message}") from None
            first = ((described.get("InferenceSpecification") or {}).get("Containers") or [{}])[0]
            container = {**first, **{k: v for k, v in container.items() if k == "Environment"}}
        container["RoleArn"] = model.get("ExecutionRoleArn")
        return {k: v for k, v in container.items() if k in ("Image", "ModelDataUrl", "ModelDataSource", "Environment", "RoleArn")}

    # -- running ------------------------------------------------------------------------------------

    def _load(self, arn: str) -> Any:
        with self.backend.db.connect() as conn:
            return store.get_job(conn, arn)

    def _update(self, arn: str, **values: Any) -> None:
        values.setdefault("modified", store.now())
        with self.backend.db.begin() as conn:
            store.update_job(conn, arn, **values)

    def _journal_objective(self, arn: str, values: list[float]) -> None:
        """A tuning trial's objective values as its log reports them (the tuning job's early
        stopping compares trials epoch by epoch); the first OBJECTIVE_HISTORY are kept."""
        row = self._load(arn)
        if row is None or row.status not in store.ACTIVE:
            return
        history = list(row.result.get("objective_history") or [])
        if len(history) >= OBJECTIVE_HISTORY:
            return
        self._update(arn, result={**row.result, "objective_history": (history + values)[:OBJECTIVE_HISTORY]})

    def _phase(self, arn: str, kind: Kind, phase: str, when: datetime) -> None:
        """A runner phase: the secondary status (training) and the start time."""
        if kind.name != "TrainingJob" and phase != "Downloading":
            return  # only training jobs show phases (SecondaryStatus); the others note the start
        row = self._load(arn)
        if row is None or row.status not in store.ACTIVE:
            return
        result = dict(row.result)
        values: dict[str, Any] = {}
        if phase == "Downloading" and row.started is None:
            values["started"] = when
        if kind.name == "TrainingJob" and row.status == "InProgress":
            result["transitions"] = _transition(result.get("transitions") or [], phase, when)
            values["secondary_status"] = phase
        self._update(arn, result=result, **values)

    def _build_spec(self, row: Any, env: dict[str, str]) -> dict[str, Any]:
        request = row.request
        if row.kind == "ProcessingJob":
            image = request["AppSpecification"]["ImageUri"]
        elif row.kind == "TrainingJob":
            image = request["AlgorithmSpecification"].get("TrainingImage") or ""
        else:
            image = (row.result.get("container") or {}).get("Image") or ""
        runtime = images.resolve(image)
        if runtime is None:
            raise contract.ContractError(images.no_runtime_reason(image))
        if row.kind == "ProcessingJob":
            spec = contract.processing(request, runtime, env, row.arn)
        elif row.kind == "TrainingJob":
            spec = contract.training(request, runtime, env, row.arn)
            spec["metric_definitions"] = list(request["AlgorithmSpecification"].get("MetricDefinitions") or [])
            if runtime.runtime == "xgboost" and not (request.get("HyperParameters") or {}).get("sagemaker_program"):
                spec["metric_definitions"] = xgboost_definitions() + spec["metric_definitions"]
        else:
            spec = contract.transform(request, row.result["container"], runtime, env)
        work = Path(self.backend.settings.data_dir) / "sagemaker-jobs" / row.account_id / row.region / row.kind / f"{row.name.lower()}-{row.attempts}"
        shutil.rmtree(work, ignore_errors=True)
        spec["work_dir"] = str(work)
        return spec

    async def _run(self, arn: str) -> None:
        state = self._jobs()
        row = self._load(arn)
        kind = KINDS[row.kind]
        sink: _LogSink | None = None
        try:
            async with state.slots:
                row = self._load(arn)
                if row.status != "InProgress":
                    await self._finish(arn, kind, {"stopped": True}, None)
                    return
                try:
                    role = row.request.get("RoleArn") or (row.result.get("container") or {}).get("RoleArn")
                    env = state.sessions.pop(arn, None) or (self._session_env(row, role) if role else {})
                except ServiceError as exc:
                    await self._finish(arn, kind, {"error": f"ClientError: Could not assume the job's role: {exc.message}"}, None)
                    return
                try:
                    spec = self._build_spec(row, env)
                except contract.ContractError as exc:
                    text = str(exc)
                    await self._finish(arn, kind, {"error": text if text.startswith("ClientError") else f"ClientError: {text}"}, None)
                    return
                metrics = MetricReader(spec.pop("metric_definitions", [])) if row.kind == "TrainingJob" else None
                sink = _LogSink(self, row, kind, metrics)
                result = await state.backend.run(arn, spec, sink)
                await sink.close()
                await self._finish(arn, kind, result, metrics, spec)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("job %s failed in Seedbed", arn)
            if sink is not None:
                await sink.close()
            await self._finish(arn, kind, {"error": f"InternalServerError: {type(exc).__name__}: {exc}"}, None)

    async def _finish(self, arn: str, kind: Kind, result: dict[str, Any], metrics: MetricReader | None,
                      spec: dict[str, Any] | None = None) -> None:
        row = self._load(arn)
        when = store.now()
        stop_requested = row.status == "Stopping"
        codes = result.get("exit_codes") or []
        failure_reason = exit_message = None
        secondary = None
        if (result.get("stopped") or stop_requested) and not result.get("timed_out"):
            status = "Stopped"  # also when the stop cut staging or the upload short
        elif result.get("error"):
            status = "Failed"
            failure_reason = result["error"]
        elif result.get("timed_out"):
            status = "Stopped" if kind.name == "TrainingJob" else "Failed"
            secondary = "MaxRuntimeExceeded"
            if status == "Failed":
                failure_reason = "ClientError: The job exceeded its MaxRuntimeInSeconds and was stopped."
        elif any(c != 0 for c in codes):
            status = "Failed"
            code = next(c for c in codes if c != 0)
            if result.get("failure"):
                failure_reason = f"AlgorithmError: {result['failure']}"
                exit_message = result["failure"]
            else:
                tail = "\n".join(result.get("tail") or [])[-700:]
                what = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                failure_reason = f"AlgorithmError: The job's process ended with {what}. Last log lines:\n{tail}"
        else:
            status = "Completed"
        details = dict(row.result)
        values: dict[str, Any] = {"status": status, "ended": when, "failure_reason": (failure_reason or None) and failure_reason[:1024],
                                  "exit_message": exit_message}
        if row.started is None and status != "Failed":
            values["started"] = when
        if kind.name == "TrainingJob":
            final = secondary or status
            details["transitions"] = _transition(details.get("transitions") or [], final, when,
                                                 failure_reason if status == "Failed" else None)
            values["secondary_status"] = final
            if metrics is not None:
                details["metrics"] = metrics.final()
            if spec is not None and ("model" in (result.get("uploaded") or {}) or status == "Stopped"):
                details["model_uri"] = spec.get("model_uri")
            started = _dt(row.started) or when
            seconds = max(1, round((when - started).total_seconds()))
            details["training_seconds"] = seconds
        values["result"] = details
        self._update(arn, **values)
        if spec is not None and status == "Completed" and not os.environ.get("SEEDBED_KEEP_JOB_DIRS"):
            await asyncio.to_thread(shutil.rmtree, spec["work_dir"], True)
        await self._emit(arn, kind)
        for future in self._jobs().waiters.pop(arn, []):
            if not future.done():
                future.set_result(None)

    async def _emit(self, arn: str, kind: Kind) -> None:
        from seedbed.services.events.publish import emit

        row = self._load(arn)
        detail = _epoch_ms(self._describe(row, kind))
        try:
            await emit(self.backend, row.account_id, row.region, "aws.sagemaker", kind.detail_type, detail, [arn])
        except Exception:
            log.debug("could not emit %s for %s", kind.detail_type, arn, exc_info=True)

    async def resume_jobs(self) -> None:
        """Jobs a crashed or stopped server left running: marked Failed, or run again by policy."""
        policy = getattr(self.backend.settings, "jobs_on_restart", None) or os.environ.get("SEEDBED_JOBS_ON_RESTART") or "fail"
        with self.backend.db.connect() as conn:
            rows = store.active_jobs(conn)  # training jobs of tuning jobs too; the tuning rows resume apart
        state = self._jobs()
        for row in rows:
            if row.arn in state.tasks:
                continue
            kind = KINDS[row.kind]
            if policy == "rerun" and row.status == "InProgress":
                self._update(row.arn, attempts=row.attempts + 1, started=None)
                self._start(row.arn)
                continue
            await self._finish(row.arn, kind, {"error": RESTART_REASON}, None)

    # -- describe / list / stop ---------------------------------------------------------------------

    def _describe(self, row: Any, kind: Kind) -> dict[str, Any]:
        out = dict(row.request)
        details = row.result or {}
        p = kind.prefix
        out.update({
            f"{kind.name}Arn": row.arn, f"{kind.name}Status": row.status,
            "CreationTime": _dt(row.created), "LastModifiedTime": _dt(row.modified),
        })
        if row.failure_reason:
            out["FailureReason"] = row.failure_reason
        if row.started is not None:
            out[f"{p}StartTime"] = _dt(row.started)
        if row.ended is not None:
            out[f"{p}EndTime"] = _dt(row.ended)
        if kind.name == "ProcessingJob" and row.exit_message:
            out["ExitMessage"] = row.exit_message
        if kind.name == "TrainingJob":
            # Defaults SageMaker fills in, which the SDK's Estimator.attach reads.
            out["OutputDataConfig"] = {"KmsKeyId": "", **(out.get("OutputDataConfig") or {})}
            out["InputDataConfig"] = [{"CompressionType": "None", "RecordWrapperType": "None", **channel}
                                      for channel in out.get("InputDataConfig") or []]
            out["SecondaryStatus"] = row.secondary_status or "Starting"
            out["ModelArtifacts"] = {"S3ModelArtifacts": details.get("model_uri") or ""} if details.get("model_uri") else {"S3ModelArtifacts": ""}
            if not details.get("model_uri"):
                out.pop("ModelArtifacts")
            out["SecondaryStatusTransitions"] = [
                {k: (_dt(v) if k.endswith("Time") else v) for k, v in t.items()} for t in details.get("transitions") or []
            ]
            if details.get("metrics"):
                out["FinalMetricDataList"] = [{**m, "Timestamp": _dt(m["Timestamp"])} for m in details["metrics"]]
            if row.status in store.TERMINAL and "training_seconds" in details:
                out["TrainingTimeInSeconds"] = details["training_seconds"]
                out["BillableTimeInSeconds"] = details["training_seconds"]
            if row.request.get("AlgorithmSpecification", {}).get("TrainingImage"):
                runtime = images.resolve(row.request["AlgorithmSpecification"]["TrainingImage"])
                if runtime and runtime.runtime == "xgboost" and not (row.request.get("HyperParameters") or {}).get("sagemaker_program"):
                    algo = dict(out["AlgorithmSpecification"])
                    algo.setdefault("MetricDefinitions", xgboost_definitions())
                    out["AlgorithmSpecification"] = algo
            if details.get("tuning_job_arn"):
                out["TuningJobArn"] = details["tuning_job_arn"]
            out.setdefault("EnableNetworkIsolation", False)
            out.setdefault("EnableInterContainerTrafficEncryption", False)
            out.setdefault("EnableManagedSpotTraining", False)
        return out

    def describe_processing_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        kind = KINDS["ProcessingJob"]
        return self._describe(self._row(ctx, kind, params["ProcessingJobName"]), kind)

    def describe_training_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        kind = KINDS["TrainingJob"]
        return self._describe(self._row(ctx, kind, params["TrainingJobName"]), kind)

    def describe_transform_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        kind = KINDS["TransformJob"]
        return self._describe(self._row(ctx, kind, params["TransformJobName"]), kind)

    def _list(self, ctx: RequestContext, kind: Kind, params: dict[str, Any]) -> dict[str, Any]:
        query = {k: params.get(k) for k in ("CreationTimeAfter", "CreationTimeBefore", "LastModifiedTimeAfter",
                                            "LastModifiedTimeBefore", "NameContains", "StatusEquals", "SortBy", "SortOrder")}
        query["kind"] = kind.name
        offset = common.decode_token(params.get("NextToken"), query)
        limit = common.max_results(params, 10)
        sort_by = params.get("SortBy") or "CreationTime"
        if sort_by not in ("Name", "CreationTime", "Status"):
            raise SageMakerValidation(f"SortBy {sort_by} is not supported for {kind.name}s.")
        with self.backend.db.connect() as conn:
            rows = store.list_jobs(
                conn, ctx.account_id, ctx.region, kind.name, name_contains=params.get("NameContains"),
                status=params.get("StatusEquals"), created_after=params.get("CreationTimeAfter"),
                created_before=params.get("CreationTimeBefore"), modified_after=params.get("LastModifiedTimeAfter"),
                modified_before=params.get("LastModifiedTimeBefore"), sort_by=sort_by,
                descending=(params.get("SortOrder") or "Descending") == "Descending", offset=offset, limit=limit,
            )
        summaries = []
        for row in rows[:limit]:
            item: dict[str, Any] = {
                f"{kind.name}Name": row.name, f"{kind.name}Arn": row.arn, "CreationTime": _dt(row.created),
                "LastModifiedTime": _dt(row.modified), f"{kind.name}Status": row.status,
            }
            if row.ended is not None:
                item[f"{kind.prefix}EndTime"] = _dt(row.ended)
            if kind.name != "TrainingJob" and row.failure_reason:
                item["FailureReason"] = row.failure_reason
            if kind.name == "ProcessingJob" and row.exit_message:
                item["ExitMessage"] = row.exit_message
            if kind.name == "TrainingJob":
                item["SecondaryStatus"] = row.secondary_status or "Starting"
            summaries.append(item)
        out: dict[str, Any] = {f"{kind.name}Summaries": summaries}
        if len(rows) > limit:
            out["NextToken"] = common.encode_token(offset + limit, query)
        return out

    def list_processing_jobs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list(ctx, KINDS["ProcessingJob"], params)

    def list_training_jobs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list(ctx, KINDS["TrainingJob"], params)

    def list_transform_jobs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list(ctx, KINDS["TransformJob"], params)

    def _stop(self, ctx: RequestContext, kind: Kind, name: str) -> dict[str, Any]:
        row = self._row(ctx, kind, name)
        if row.status != "InProgress":
            raise SageMakerValidation(
                f"The request was rejected because the {kind.prefix.lower()} job is in status {row.status}."
            )
        values: dict[str, Any] = {"status": "Stopping"}
        if kind.name == "TrainingJob":
            details = dict(row.result)
            details["transitions"] = _transition(details.get("transitions") or [], "Stopping", store.now())
            values.update(secondary_status="Stopping", result=details)
        self._update(row.arn, **values)
        if not self._jobs().backend.stop(row.arn):
            # Not running yet (waiting for a slot, or its runner starting): stop it once it is.
            asyncio.get_running_loop().create_task(self._stop_when_started(row.arn))
        return {}

    async def _stop_when_started(self, arn: str) -> None:
        """Stop a job whose runner had not started when the stop came. A job still waiting for a
        slot sees its status and ends Stopped without running; one whose runner was starting is
        stopped as soon as the backend knows it."""
        state = self._jobs()
        while arn in state.tasks and not state.backend.stop(arn):
            await asyncio.sleep(0.05)

    def stop_processing_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._stop(ctx, KINDS["ProcessingJob"], params["ProcessingJobName"])

    def stop_training_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._stop(ctx, KINDS["TrainingJob"], params["TrainingJobName"])

    def stop_transform_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._stop(ctx, KINDS["TransformJob"], params["TransformJobName"])

    # -- for the pipeline interpreter ---------------------------------------------------------------

    async def wait_for_job(self, account_id: str, region: str, kind: str, name: str) -> dict[str, Any]:
        """The Describe output of job ``name`` once it has ended (Completed, Failed or Stopped).
        Wakes when the job's task finishes; raises ResourceNotFound for an unknown job."""
        spec = KINDS[kind]
        arn = self._job_arn(account_id, region, spec, name)
        state = self._jobs()
        while True:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            state.waiters.setdefault(arn, []).append(future)
            row = self._load(arn)
            if row is None:
                state.waiters[arn].remove(future)
                raise ResourceNotFound(f"Requested resource not found: {spec.prefix} job {name} does not exist.")
            if row.status in store.TERMINAL:
                waiters = state.waiters.get(arn) or []
                if future in waiters:
                    waiters.remove(future)
                return self._describe(row, spec)
            if arn not in state.tasks:  # left by a crash and not resumed yet: settle it now
                await self.resume_jobs()
            try:
                await asyncio.wait_for(asyncio.shield(future), timeout=60)
            except TimeoutError:
                continue


def _transition(transitions: list[dict[str, Any]], status: str, when: datetime, message: str | None = None) -> list[dict[str, Any]]:
    out = [dict(t) for t in transitions]
    if out and out[-1]["Status"] == status:
        return out
    for item in out:
        item.setdefault("EndTime", _iso(when))
    entry = {"Status": status, "StartTime": _iso(when), "StatusMessage": message or STATUS_MESSAGES.get(status, status)}
    if status in ("Completed", "Failed", "Stopped", "MaxRuntimeExceeded"):
        entry["EndTime"] = _iso(when)
    out.append(entry)
    return out
