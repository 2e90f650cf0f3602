"""SageMaker Model Monitor: data quality, model quality, model bias and model explainability job
definitions, monitoring schedules and their executions, run locally.

A schedule names a job definition (``MonitoringJobDefinitionName`` + ``MonitoringType``) or
carries one inline (``MonitoringJobDefinition``). At each scheduled time (:mod:`.schedule`:
hourly-grained cron expressions, or ``NOW`` for one execution right away) the scheduler records an
execution and runs it as a real processing job, as the service does:

1. it assumes the definition's role (trusting ``sagemaker.amazonaws.com``) and, as that role,
   finds the endpoint's data-capture objects of the analysis window
   (``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/``; none: the execution fails with
   "Job inputs had no data", as on AWS);
2. it creates the processing job (``model-monitoring-<yyyymmddhhmm>-<hash>``) with the analyzer
   image, the staged capture hours, the baseline constraints and statistics, the output
   ``<S3Uri>/<endpoint>/<schedule>/yyyy/mm/dd/hh`` and the container contract's environment
   (``dataset_format``, ``dataset_source``, ``output_path``, ``baseline_constraints``,
   ``baseline_statistics``, ``start_time``, ``end_time``, ``publish_cloudwatch_metrics``,
   ``sagemaker_endpoint_name``, ``sagemaker_monitoring_schedule_name``, ``analysis_type``, ...);
   the ``sagemaker-model-monitor-analyzer`` image runs :mod:`seedbed.runtime.monitoring`;
   ModelBias and ModelExplainability jobs run on the definition's Clarify image
   (``sagemaker-clarify-processing``, :mod:`seedbed.runtime.clarify`) with the analysis config
   (``ConfigUri``) at ``/opt/ml/processing/input/config``, the baseline's ``analysis.json`` as
   ``baseline_constraints``, ``analysis_type`` ``MODEL_BIAS`` / ``MODEL_EXPLAINABILITY`` and the
   endpoint input's attributes; bias also gets the ground truth, merged with the captures by
   event id inside the job (:mod:`seedbed.runtime.clarify.monitor`);
3. it waits for the job and ends the execution ``Completed``, ``CompletedWithViolations`` (the
   job's ``constraint_violations.json`` lists violations), ``Failed`` (with the job's
   FailureReason) or ``Stopped``, and publishes the CloudWatch metrics (:mod:`.metrics`).

The processing job is created by Seedbed acting as SageMaker (the role needs no
``sagemaker:CreateProcessingJob`` or ``iam:PassRole``); the job itself, and the S3 reads before
it, run as the role.

Executions are journaled in ``sm_monitoring_executions``; after a restart
:meth:`MonitoringOperations.resume_monitoring` follows the ones in flight (their processing jobs
settle as the jobs area decides) and restarts the scheduler. BatchTransformInput definitions are
accepted but their executions fail saying batch transform monitoring is not available locally.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from seedbed.errors import ServiceError
from seedbed.server.context import RequestContext
from seedbed.services.sagemaker import common
from seedbed.services.sagemaker import store as sm_store
from seedbed.services.sagemaker import tags as sm_tags
from seedbed.services.sagemaker.errors import ResourceInUse, ResourceNotFound, SageMakerValidation
from seedbed.services.sagemaker.monitoring import metrics, store
from seedbed.services.sagemaker.monitoring import schedule as sched
from seedbed.state import arns

log = logging.getLogger(__name__)

CAPTURE_FORMAT = '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}'
BASELINE_CONSTRAINTS = "/opt/ml/processing/baseline/constraints"
BASELINE_STATISTICS = "/opt/ml/processing/baseline/stats"
GROUND_TRUTH = "/opt/ml/processing/groundtruth"
ANALYSIS_CONFIG = "/opt/ml/processing/input/config"
MAX_HOUR_INPUTS = 6
POLL_SECONDS = 60.0
TERMINAL = ("Completed", "CompletedWithViolations", "Failed", "Stopped")
NO_DATA = "Job inputs had no data"


@dataclass(frozen=True)
class DefinitionKind:
    name: str  # DataQuality
    arn_type: str  # data-quality-job-definition

    def field(self, suffix: str) -> str:
        return f"{self.name}{suffix}"


KINDS = {
    "DataQuality": DefinitionKind("DataQuality", "data-quality-job-definition"),
    "ModelQuality": DefinitionKind("ModelQuality", "model-quality-job-definition"),
    "ModelBias": DefinitionKind("ModelBias", "model-bias-job-definition"),
    "ModelExplainability": DefinitionKind("ModelExplainability", "model-explainability-job-definition"),
}
#: Kinds whose executions run on the Clarify image, with their ``analysis_type``.
CLARIFY = {"ModelBias": "MODEL_BIAS", "ModelExplainability": "MODEL_EXPLAINABILITY"}
#: Kinds that merge ground truth with the captures.
WITH_GROUND_TRUTH = ("ModelQuality", "ModelBias")


def _definition_exists(kind: DefinitionKind):  # type: ignore[no-untyped-def]
    def exists(conn: Any, arn: arns.Arn) -> bool:
        return any(d["arn"] == str(arn) or d["name"].lower() == arn.resource_id
                   for d in store.list_definitions(conn, arn.account, arn.region, kind.name))

    return exists


def _schedule_exists(conn: Any, arn: arns.Arn) -> bool:
    return any(s["name"].lower() == arn.resource_id for s in store.list_schedules(conn, arn.account, arn.region))


for _kind in KINDS.values():
    sm_tags.RESOURCE_EXISTS[_kind.arn_type] = _definition_exists(_kind)
sm_tags.RESOURCE_EXISTS["monitoring-schedule"] = _schedule_exists


def _unified(kind: str, request: dict[str, Any]) -> dict[str, Any]:
    """A job definition (of any kind, or inline) as one shape: the MonitoringJobDefinition's."""
    if kind == "Inline":
        return dict(request)
    k = KINDS[kind]
    app = dict(request[k.field("AppSpecification")])
    job_input = request[k.field("JobInput")]
    inputs = {key: value for key, value in job_input.items() if key in ("EndpointInput", "BatchTransformInput")}
    baseline = request.get(k.field("BaselineConfig"))
    return {
        "BaselineConfig": baseline, "MonitoringInputs": [inputs], "MonitoringOutputConfig": request[k.field("JobOutputConfig")],
        "MonitoringResources": request["JobResources"], "MonitoringAppSpecification": app,
        "StoppingCondition": request.get("StoppingCondition"), "Environment": app.get("Environment") or {},
        "RoleArn": request["RoleArn"], "GroundTruthS3Input": job_input.get("GroundTruthS3Input"),
        "ProblemType": app.get("ProblemType"),
    }


def _endpoint_of(definition: dict[str, Any]) -> str | None:
    inputs = definition.get("MonitoringInputs") or [{}]
    return ((inputs[0] or {}).get("EndpointInput") or {}).get("EndpointName")


def _check_input(job_input: dict[str, Any]) -> None:
    if bool(job_input.get("EndpointInput")) == bool(job_input.get("BatchTransformInput")):
        raise SageMakerValidation("Specify exactly one of EndpointInput and BatchTransformInput.")
    for item in (job_input.get("EndpointInput"), job_input.get("BatchTransformInput")):
        if item and not str(item.get("LocalPath", "")).startswith("/opt/ml/"):
            raise SageMakerValidation(f"LocalPath {item.get('LocalPath')} must be under /opt/ml/.")


def _check_outputs(config: dict[str, Any]) -> None:
    outputs = config.get("MonitoringOutputs") or []
    if len(outputs) != 1:
        raise SageMakerValidation("MonitoringOutputs must have exactly one output.")
    s3 = outputs[0]["S3Output"]
    if not s3["S3Uri"].startswith("s3://"):
        raise SageMakerValidation(f"S3Uri {s3['S3Uri']} must be an s3:// URI.")
    if not s3["LocalPath"].startswith("/opt/ml/"):
        raise SageMakerValidation(f"LocalPath {s3['LocalPath']} must be under /opt/ml/.")


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(uri)
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def _page(items: list[dict[str, Any]], params: dict[str, Any], query: dict[str, Any], key: str) -> dict[str, Any]:
    offset = common.decode_token(params.get("NextToken"), query)
    limit = common.max_results(params, 10)
    out: dict[str, Any] = {key: items[offset:offset + limit]}
    if offset + limit < len(items):
        out["NextToken"] = common.encode_token(offset + limit, query)
    return out


def _query(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in ("NextToken", "MaxResults")}


def _after(value: datetime, bound: Any) -> bool:
    return bound is None or value > bound


def _before(value: datetime, bound: Any) -> bool:
    return bound is None or value < bound


async def _read_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if hasattr(body, "__aiter__"):
        return b"".join([chunk async for chunk in body])
    data = body.read() if hasattr(body, "read") else body
    if asyncio.iscoroutine(data):
        data = await data
    return bytes(data)


@dataclass
class _MonitoringState:
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    loop: asyncio.Task[None] | None = None
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)


class MonitoringOperations:
    backend: Any

    # -- plumbing ---------------------------------------------------------------------------------

    def _mon(self) -> _MonitoringState:
        state = getattr(self, "_monitoring_state", None)
        if state is None:
            state = self._monitoring_state = _MonitoringState()
        if state.loop is None or state.loop.done():
            try:
                state.loop = asyncio.get_running_loop().create_task(self._mon_scheduler())
            except RuntimeError:
                state.loop = None
        return state

    def _mon_wake(self) -> None:
        self._mon().wake.set()

    async def resume_monitoring(self) -> None:
        """Restart the scheduler and follow the executions a stopped server left in flight."""
        state = self._mon()
        with self.backend.db.connect() as conn:
            rows = store.active_executions(conn)
        for row in rows:
            if row["id"] not in state.tasks:
                self._mon_start(row["id"])

    def close_area(self) -> None:
        state = getattr(self, "_monitoring_state", None)
        if state is None:
            return
        if state.loop is not None:
            state.loop.cancel()
        for task in state.tasks.values():
            task.cancel()

    async def _mon_scheduler(self) -> None:
        state = self._monitoring_state
        while True:
            try:
                state.wake.clear()
                now = store.now()
                with self.backend.db.connect() as conn:
                    due = store.due_schedules(conn, now)
                for row in due:
                    self._mon_fire(row, now)
                with self.backend.db.connect() as conn:
                    upcoming = store.next_due(conn)
                timeout = POLL_SECONDS if upcoming is None else max(0.05, min(POLL_SECONDS, (upcoming - store.now()).total_seconds()))
            except asyncio.CancelledError:
                raise
            except Exception:  # keep scheduling whatever one schedule did
                log.exception("monitoring scheduler pass failed")
                timeout = POLL_SECONDS
            try:
                await asyncio.wait_for(state.wake.wait(), timeout=timeout)
            except TimeoutError:
                pass

    def _mon_fire(self, row: dict[str, Any], now: datetime) -> None:
        """Record the execution of ``row``'s due time and move the schedule on."""
        parsed = sched.parse((row["config"] or {}).get("ScheduleConfig"))
        scheduled = row["next_run"]
        following = parsed.next_after(max(scheduled, now))
        execution = uuid.uuid4().hex
        try:
            with self.backend.db.begin() as conn:
                current = store.get_schedule(conn, row["account_id"], row["region"], row["name"])
                if current is None or current["status"] != "Scheduled" or current["next_run"] != scheduled:
                    return
                store.change_schedule(conn, row["account_id"], row["region"], row["name"], next_run=following)
                store.add_execution(
                    conn, id=execution, account_id=row["account_id"], region=row["region"], schedule_name=row["name"],
                    scheduled=scheduled, status="Pending", processing_job_arn=None, failure_reason=None,
                    endpoint_name=row["endpoint_name"], definition_name=row["definition_name"],
                    monitoring_type=row["monitoring_type"], created=now, modified=now,
                )
        except IntegrityError:  # another replica fired this time
            return
        self._mon_start(execution)

    def _mon_start(self, execution: str) -> None:
        state = self._mon()
        task = asyncio.get_running_loop().create_task(self._mon_execute(execution))
        state.tasks[execution] = task
        task.add_done_callback(lambda _t: state.tasks.pop(execution, None))

    def _mon_update(self, execution: str, **values: Any) -> None:
        values.setdefault("modified", store.now())
        with self.backend.db.begin() as conn:
            store.change_execution(conn, execution, **values)

    # -- one execution ------------------------------------------------------------------------------

    def _mon_definition(self, schedule_row: dict[str, Any]) -> dict[str, Any] | None:
        config = schedule_row["config"]
        if config.get("MonitoringJobDefinition"):
            return _unified("Inline", config["MonitoringJobDefinition"])
        with self.backend.db.connect() as conn:
            row = store.get_definition(conn, schedule_row["account_id"], schedule_row["region"],
                                       schedule_row["monitoring_type"], schedule_row["definition_name"])
        return _unified(schedule_row["monitoring_type"], row["request"]) if row else None

    async def _mon_execute(self, execution: str) -> None:
        try:
            await self._mon_run(execution)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("monitoring execution %s failed in Seedbed", execution)
            self._mon_update(execution, status="Failed", failure_reason=f"InternalServerError: {type(exc).__name__}: {exc}"[:1024])

    async def _mon_run(self, execution: str) -> None:
        with self.backend.db.connect() as conn:
            row = store.get_execution(conn, execution)
            schedule_row = store.get_schedule(conn, row["account_id"], row["region"], row["schedule_name"]) if row else None
        if row is None or row["status"] in TERMINAL:
            return
        if schedule_row is None:
            self._mon_update(execution, status="Failed", failure_reason="The monitoring schedule was deleted.")
            return
        account, region = row["account_id"], row["region"]
        job_name = self._mon_job_name(schedule_row, row)
        if row["processing_job_arn"] is None:
            failure = await self._mon_create_job(execution, schedule_row, row, job_name)
            if failure is not None:
                self._mon_update(execution, status="Failed", failure_reason=failure[:1024])
                return
        described = await self.wait_for_job(account, region, "ProcessingJob", job_name)  # type: ignore[attr-defined]
        job_status = described["ProcessingJobStatus"]
        definition = self._mon_definition(schedule_row) or {}
        if job_status == "Failed":
            self._mon_update(execution, status="Failed", failure_reason=(described.get("FailureReason") or "The processing job failed.")[:1024])
            return
        if job_status == "Stopped":
            self._mon_update(execution, status="Stopped")
            return
        output = described["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
        principal = self._mon_principal(definition, account, region, schedule_row)
        violations = await self._mon_json(principal, f"{output}/constraint_violations.json", region, account)
        found = bool((violations or {}).get("violations"))
        self._mon_update(execution, status="CompletedWithViolations" if found else "Completed")
        try:
            await self._mon_publish(principal, definition, schedule_row, row, described, output)
        except Exception:  # metrics are best effort; the execution's outcome stands
            log.warning("monitoring execution %s: could not publish metrics", execution, exc_info=True)

    def _mon_job_name(self, schedule_row: dict[str, Any], row: dict[str, Any]) -> str:
        digest = hashlib.sha256(f"{schedule_row['arn']}|{row['id']}".encode()).hexdigest()[:24]
        return f"model-monitoring-{row['scheduled']:%Y%m%d%H%M}-{digest}"

    def _mon_principal(self, definition: dict[str, Any], account: str, region: str, schedule_row: dict[str, Any]) -> Any:
        from seedbed.runtime.credentials import assume_for_service

        session = assume_for_service(self.backend, definition["RoleArn"], "sagemaker.amazonaws.com",
                                     "SageMaker-ModelMonitor", source_account=account, source_arn=schedule_row["arn"])
        return session.principal

    async def _mon_json(self, principal: Any, uri: str, region: str, account: str) -> dict[str, Any] | None:
        bucket, key = _split(uri)
        try:
            out = await self.backend.call(principal, "s3", "GetObject", {"Bucket": bucket, "Key": key}, region, account)
        except ServiceError:
            return None
        try:
            return json.loads(await _read_body(out.get("Body")))
        except ValueError:
            return None

    async def _mon_prefixes(self, principal: Any, base: str, start: datetime, end: datetime, region: str,
                            account: str, variants: bool) -> list[str]:
        """The hour folders under ``base`` (``<base>/<variant>/yyyy/mm/dd/hh/``, or
        ``<base>/yyyy/mm/dd/hh/`` without variants) of ``[start, end)`` that hold objects."""
        bucket, prefix = _split(base.rstrip("/") + "/")

        async def listing(p: str, delimiter: bool = False) -> dict[str, Any]:
            params: dict[str, Any] = {"Bucket": bucket, "Prefix": p, "MaxKeys": 1000 if delimiter else 1}
            if delimiter:
                params["Delimiter"] = "/"
            return await self.backend.call(principal, "s3", "ListObjectsV2", params, region, account)

        roots = [prefix]
        if variants:
            top = await listing(prefix, delimiter=True)
            roots = [c["Prefix"] for c in top.get("CommonPrefixes") or []]
        hours = []
        hour = start.replace(minute=0, second=0, microsecond=0)
        while hour < end:
            hours.append(hour)
            hour += timedelta(hours=1)
        found = []
        for root in roots:
            for h in hours:
                p = f"{root}{h:%Y/%m/%d/%H}/"
                if (await listing(p)).get("KeyCount", 0):
                    found.append(f"s3://{bucket}/{p}")
        return found

    async def _mon_create_job(self, execution: str, schedule_row: dict[str, Any], row: dict[str, Any], job_name: str) -> str | None:
        """Create the execution's processing job; returns a failure reason instead when it cannot."""
        account, region = row["account_id"], row["region"]
        definition = self._mon_definition(schedule_row)
        if definition is None:
            return f"The monitoring job definition {schedule_row['definition_name']} no longer exists."
        inputs_spec = (definition.get("MonitoringInputs") or [{}])[0]
        if inputs_spec.get("BatchTransformInput"):
            return ("ClientError: Monitoring batch transform data (BatchTransformInput) is not available in Seedbed; "
                    "monitor an endpoint's captured data (EndpointInput).")
        endpoint_input = inputs_spec["EndpointInput"]
        endpoint = endpoint_input["EndpointName"]
        try:
            principal = self._mon_principal(definition, account, region, schedule_row)
        except ServiceError as exc:
            return (f"ClientError: Could not assume role {definition['RoleArn']}: {exc.message}. Ensure that the role "
                    "exists and allows principal 'sagemaker.amazonaws.com' to assume it.")
        try:
            described = await self.backend.call(None, "sagemaker", "DescribeEndpoint", {"EndpointName": endpoint}, region, account)
        except ServiceError:
            return f"ClientError: Endpoint {endpoint} does not exist."
        capture = described.get("DataCaptureConfig") or {}
        if not capture.get("DestinationS3Uri") or capture.get("EnableCapture") is False:
            return f"ClientError: Data capture is not enabled for endpoint {endpoint}."
        parsed = sched.parse((schedule_row["config"] or {}).get("ScheduleConfig"))
        start, end = parsed.window(row["scheduled"])
        kind = schedule_row["monitoring_type"]
        if kind in WITH_GROUND_TRUTH:
            if endpoint_input.get("StartTimeOffset"):
                start = row["scheduled"] + sched.offset(endpoint_input["StartTimeOffset"], "StartTimeOffset")
            if endpoint_input.get("EndTimeOffset"):
                end = row["scheduled"] + sched.offset(endpoint_input["EndTimeOffset"], "EndTimeOffset")
        base = f"{capture['DestinationS3Uri'].rstrip('/')}/{endpoint}"
        try:
            hours = await self._mon_prefixes(principal, base, start, end, region, account, variants=True)
        except ServiceError as exc:
            return f"ClientError: Could not list the captured data under {base}: {exc.code}: {exc.message}"
        if not hours:
            return NO_DATA
        local = endpoint_input["LocalPath"].rstrip("/")
        inputs: list[dict[str, Any]] = []

        def s3_input(name: str, uri: str, path: str, kind_: str = "S3Prefix") -> dict[str, Any]:
            return {"InputName": name, "S3Input": {"S3Uri": uri, "LocalPath": path, "S3DataType": kind_, "S3InputMode": "File",
                                                   "S3DataDistributionType": endpoint_input.get("S3DataDistributionType") or "FullyReplicated"}}

        budget = MAX_HOUR_INPUTS // 2 if kind in WITH_GROUND_TRUTH else MAX_HOUR_INPUTS
        if len(hours) <= budget:
            for i, uri in enumerate(hours):
                inputs.append(s3_input(f"endpoint_input_{i + 1}", uri, f"{local}/{endpoint}/{uri[len(base) + 1:].rstrip('/')}"))
        else:  # many hours: stage the endpoint's captures, the analyzer keeps the window
            inputs.append(s3_input("endpoint_input_1", base + "/", f"{local}/{endpoint}"))
        app = definition["MonitoringAppSpecification"]
        env: dict[str, str] = {
            "dataset_format": CAPTURE_FORMAT, "dataset_source": local,
            "output_path": definition["MonitoringOutputConfig"]["MonitoringOutputs"][0]["S3Output"]["LocalPath"],
            "publish_cloudwatch_metrics": "Enabled", "sagemaker_endpoint_name": endpoint,
            "sagemaker_monitoring_schedule_name": schedule_row["name"],
            "start_time": f"{start:%Y-%m-%dT%H:%M:%SZ}", "end_time": f"{end:%Y-%m-%dT%H:%M:%SZ}",
            "metric_time": f"{row['scheduled']:%Y-%m-%dT%H:%M:%SZ}",
        }
        baseline = definition.get("BaselineConfig") or {}
        constraints_uri = (baseline.get("ConstraintsResource") or {}).get("S3Uri")
        statistics_uri = (baseline.get("StatisticsResource") or {}).get("S3Uri")
        if baseline.get("BaseliningJobName") and not (constraints_uri and statistics_uri):
            try:
                job = await self.backend.call(None, "sagemaker", "DescribeProcessingJob",
                                              {"ProcessingJobName": baseline["BaseliningJobName"]}, region, account)
                out = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].rstrip("/")
            except (ServiceError, KeyError, IndexError):
                return f"ClientError: Could not find the outputs of baselining job {baseline['BaseliningJobName']}."
            constraints_uri = constraints_uri or f"{out}/{'analysis.json' if kind in CLARIFY else 'constraints.json'}"
            statistics_uri = statistics_uri or (f"{out}/statistics.json" if kind == "DataQuality" else None)
        if constraints_uri:
            inputs.append(s3_input("constraints", constraints_uri, BASELINE_CONSTRAINTS, "S3Prefix"))
            env["baseline_constraints"] = f"{BASELINE_CONSTRAINTS}/{constraints_uri.rstrip('/').rsplit('/', 1)[-1]}"
        if statistics_uri:
            inputs.append(s3_input("baseline", statistics_uri, BASELINE_STATISTICS, "S3Prefix"))
            env["baseline_statistics"] = f"{BASELINE_STATISTICS}/{statistics_uri.rstrip('/').rsplit('/', 1)[-1]}"
        for source, what, path, variable in (
            (app.get("RecordPreprocessorSourceUri"), "pre_processor_script", "/opt/ml/processing/code/preprocessing", "record_preprocessor_script"),
            (app.get("PostAnalyticsProcessorSourceUri"), "post_processor_script", "/opt/ml/processing/code/postprocessing",
             "post_analytics_processor_script"),
        ):
            if source:
                inputs.append(s3_input(what, source, path))
                env[variable] = f"{path}/{source.rstrip('/').rsplit('/', 1)[-1]}"
        if kind == "ModelQuality":
            env.update({"analysis_type": "MODEL_QUALITY", "problem_type": definition.get("ProblemType") or "Regression"})
        if kind in CLARIFY:
            env["analysis_type"] = CLARIFY[kind]
            inputs.append(s3_input("analysis_config", app["ConfigUri"], ANALYSIS_CONFIG))
        if kind != "DataQuality":
            for key, variable in (("InferenceAttribute", "inference_attribute"), ("ProbabilityAttribute", "probability_attribute"),
                                  ("ProbabilityThresholdAttribute", "probability_threshold_attribute"),
                                  ("FeaturesAttribute", "features_attribute")):
                if endpoint_input.get(key) is not None:
                    env[variable] = str(endpoint_input[key])
        if kind in WITH_GROUND_TRUTH:
            env["ground_truth_source"] = GROUND_TRUTH
            truth = (definition.get("GroundTruthS3Input") or {}).get("S3Uri")
            if not truth:
                return f"ClientError: A {kind} job needs GroundTruthS3Input."
            try:
                truth_hours = await self._mon_prefixes(principal, truth, start, max(end, row["scheduled"]), region, account,
                                                       variants=False)
            except ServiceError as exc:
                return f"ClientError: Could not list the ground truth under {truth}: {exc.code}: {exc.message}"
            if not truth_hours:
                return f"{NO_DATA}: no ground truth under {truth} for the analysis window."
            if len(truth_hours) > MAX_HOUR_INPUTS // 2:  # many hours: stage it all, the merge keeps what matches
                truth_hours = [truth.rstrip("/") + "/"]
            for i, uri in enumerate(truth_hours):
                folder = uri[len(truth.rstrip("/")) + 1:].rstrip("/")
                inputs.append(s3_input(f"groundtruth_input_{i + 1}", uri, f"{GROUND_TRUTH}/{folder}".rstrip("/")))
        env.update({k: str(v) for k, v in (definition.get("Environment") or {}).items()})
        output = definition["MonitoringOutputConfig"]["MonitoringOutputs"][0]["S3Output"]
        output_config: dict[str, Any] = {"Outputs": [{"OutputName": "monitoring_output", "S3Output": {
            "S3Uri": f"{output['S3Uri'].rstrip('/')}/{endpoint}/{schedule_row['name']}/{row['scheduled']:%Y/%m/%d/%H}",
            "LocalPath": output["LocalPath"], "S3UploadMode": output.get("S3UploadMode") or "EndOfJob"}}]}
        if definition["MonitoringOutputConfig"].get("KmsKeyId"):
            output_config["KmsKeyId"] = definition["MonitoringOutputConfig"]["KmsKeyId"]
        app_spec: dict[str, Any] = {"ImageUri": app["ImageUri"]}
        for key in ("ContainerEntrypoint", "ContainerArguments"):
            if app.get(key):
                app_spec[key] = app[key]
        request: dict[str, Any] = {
            "ProcessingJobName": job_name, "ProcessingInputs": inputs, "ProcessingOutputConfig": output_config,
            "ProcessingResources": definition["MonitoringResources"], "AppSpecification": app_spec,
            "Environment": env, "RoleArn": definition["RoleArn"],
        }
        if definition.get("StoppingCondition"):
            request["StoppingCondition"] = definition["StoppingCondition"]
        try:
            created = await self.backend.call(None, "sagemaker", "CreateProcessingJob", request, region, account)
            arn = created["ProcessingJobArn"]
        except ServiceError as exc:
            if exc.code != "ResourceInUse":  # ResourceInUse: created before a restart; follow it
                return f"ClientError: Could not start the monitoring job: {exc.code}: {exc.message}"
            arn = arns.sagemaker(account, region, "processing-job", job_name)
        self._mon_update(execution, status="InProgress", processing_job_arn=arn)
        return None

    async def _mon_publish(self, principal: Any, definition: dict[str, Any], schedule_row: dict[str, Any], row: dict[str, Any],
                           job: dict[str, Any], output: str) -> None:
        env = job.get("Environment") or {}
        if str(env.get("publish_cloudwatch_metrics", "Enabled")).lower() == "disabled":
            return
        account, region = row["account_id"], row["region"]
        constraints = None
        if env.get("baseline_constraints"):
            uri = next((i["S3Input"]["S3Uri"] for i in job.get("ProcessingInputs") or [] if i["InputName"] == "constraints"), None)
            constraints = await self._mon_json(principal, uri, region, account) if uri else None
        if str(((constraints or {}).get("monitoring_config") or {}).get("emit_metrics", "Enabled")).lower() == "disabled":
            return
        kind = schedule_row["monitoring_type"]
        current = await self._mon_json(principal, f"{output}/{'analysis.json' if kind in CLARIFY else 'statistics.json'}",
                                       region, account)
        if current is None:
            return
        endpoint, name, when = row["endpoint_name"] or "", schedule_row["name"], row["scheduled"]
        if kind == "ModelBias":
            namespace, data = metrics.BIAS_NAMESPACE, metrics.bias(current, endpoint, name, when)
        elif kind == "ModelExplainability":
            namespace, data = metrics.EXPLAINABILITY_NAMESPACE, metrics.explainability(current, endpoint, name, when)
        elif kind == "ModelQuality":
            namespace, data = metrics.MODEL_NAMESPACE, metrics.model_quality(current, endpoint, name, when)
        else:
            baseline = None
            uri = next((i["S3Input"]["S3Uri"] for i in job.get("ProcessingInputs") or [] if i["InputName"] == "baseline"), None)
            if uri:
                baseline = await self._mon_json(principal, uri, region, account)
            namespace, data = metrics.DATA_NAMESPACE, metrics.data_quality(current, baseline, endpoint, name, when)
        for batch in metrics.batches(data):
            try:
                await self.backend.call(None, "cloudwatch", "PutMetricData", {"Namespace": namespace, "MetricData": batch}, region, account)
            except ServiceError as exc:
                if exc.code == "NotImplemented":
                    return
                raise

    # -- job definitions ----------------------------------------------------------------------------

    def _mon_create_definition(self, ctx: RequestContext, kind: DefinitionKind, params: dict[str, Any]) -> dict[str, Any]:
        name = params["JobDefinitionName"]
        arn = common.arn(ctx, kind.arn_type, name)
        job_input = params[kind.field("JobInput")]
        _check_input(job_input)
        _check_outputs(params[kind.field("JobOutputConfig")])
        if kind.name in WITH_GROUND_TRUTH and not (job_input.get("GroundTruthS3Input") or {}).get("S3Uri"):
            raise SageMakerValidation(f"{kind.name}JobInput.GroundTruthS3Input.S3Uri is required.")
        if kind.name in CLARIFY and not str(params[kind.field("AppSpecification")].get("ConfigUri", "")).startswith("s3://"):
            raise SageMakerValidation(f"{kind.name}AppSpecification.ConfigUri must be the s3:// URI of the analysis configuration.")
        self.backend.authorizer.check_pass_role(ctx, params["RoleArn"], "sagemaker.amazonaws.com", arn)
        tags = list(params.get("Tags") or [])
        if len(tags) > sm_tags.MAX_TAGS:
            raise SageMakerValidation(f"A resource can have at most {sm_tags.MAX_TAGS} tags.")
        request = {k: v for k, v in params.items() if k != "Tags"}
        endpoint = (job_input.get("EndpointInput") or {}).get("EndpointName")
        try:
            with self.backend.db.begin() as conn:
                if store.get_definition(conn, ctx.account_id, ctx.region, kind.name, name) is not None:
                    raise IntegrityError("duplicate", None, Exception())
                store.add_definition(conn, account_id=ctx.account_id, region=ctx.region, kind=kind.name, name=name, arn=arn,
                                     endpoint_name=endpoint, request=request, created=store.now())
                sm_store.delete_all_tags(conn, arn)
                if tags:
                    sm_store.put_tags(conn, arn, tags)
        except IntegrityError:
            raise ResourceInUse(f"Job definition with name {name} already exists ({arn}).") from None
        ctx.resources.append(arn)
        return {"JobDefinitionArn": arn}

    def _mon_get_definition(self, ctx: RequestContext, kind: DefinitionKind, name: str) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            row = store.get_definition(conn, ctx.account_id, ctx.region, kind.name, name)
        if row is None:
            raise ResourceNotFound(f"Could not find job definition {name}.")
        ctx.resources.append(row["arn"])
        return row

    def _mon_describe_definition(self, ctx: RequestContext, kind: DefinitionKind, params: dict[str, Any]) -> dict[str, Any]:
        row = self._mon_get_definition(ctx, kind, params["JobDefinitionName"])
        return {"JobDefinitionArn": row["arn"], "JobDefinitionName": row["name"], "CreationTime": row["created"], **row["request"]}

    def _mon_list_definitions(self, ctx: RequestContext, kind: DefinitionKind, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = store.list_definitions(conn, ctx.account_id, ctx.region, kind.name)
        needle = (params.get("NameContains") or "").lower()
        rows = [r for r in rows if needle in r["name"].lower()
                and (not params.get("EndpointName") or r["endpoint_name"] == params["EndpointName"])
                and _after(r["created"], params.get("CreationTimeAfter")) and _before(r["created"], params.get("CreationTimeBefore"))]
        if (params.get("SortBy") or "CreationTime") == "Name":
            rows.sort(key=lambda r: r["name"])
        else:
            rows.sort(key=lambda r: r["created"])
        if (params.get("SortOrder") or "Descending") == "Descending":
            rows.reverse()
        items = [{"MonitoringJobDefinitionName": r["name"], "MonitoringJobDefinitionArn": r["arn"], "CreationTime": r["created"],
                  "EndpointName": r["endpoint_name"] or ""} for r in rows]
        return _page(items, params, {**_query(params), "kind": kind.name}, "JobDefinitionSummaries")

    def _mon_delete_definition(self, ctx: RequestContext, kind: DefinitionKind, params: dict[str, Any]) -> dict[str, Any]:
        row = self._mon_get_definition(ctx, kind, params["JobDefinitionName"])
        with self.backend.db.begin() as conn:
            users = [s for s in store.schedules_using(conn, ctx.account_id, ctx.region, row["name"])
                     if (store.get_schedule(conn, ctx.account_id, ctx.region, s) or {}).get("monitoring_type") == kind.name]
            if users:
                raise SageMakerValidation(f"Job definition {row['name']} is used by monitoring schedule {users[0]}; delete the schedule first.")
            store.remove_definition(conn, ctx.account_id, ctx.region, kind.name, row["name"])
            sm_store.delete_all_tags(conn, row["arn"])
        return {}

    def create_data_quality_job_definition(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_create_definition(ctx, KINDS["DataQuality"], params)

    def describe_data_quality_job_definition(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_describe_definition(ctx, KINDS["DataQuality"], params)

    def list_data_quality_job_definitions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_list_definitions(ctx, KINDS["DataQuality"], params)

    def delete_data_quality_job_definition(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_delete_definition(ctx, KINDS["DataQuality"], params)

    def create_model_quality_job_definition(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_create_definition(ctx, KINDS["ModelQuality"], params)

    def describe_model_quality_job_definition(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_describe_definition(ctx, KINDS["ModelQuality"], params)

    def list_model_quality_job_definitions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_list_definitions(ctx, KINDS["ModelQuality"], params)

    def delete_model_quality_job_definition(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_delete_definition(ctx, KINDS["ModelQuality"], params)

    def create_model_bias_job_definition(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_create_definition(ctx, KINDS["ModelBias"], params)

    def describe_model_bias_job_definition(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_describe_definition(ctx, KINDS["ModelBias"], params)

    def list_model_bias_job_definitions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_list_definitions(ctx, KINDS["ModelBias"], params)

    def delete_model_bias_job_definition(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_delete_definition(ctx, KINDS["ModelBias"], params)

    def create_model_explainability_job_definition(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_create_definition(ctx, KINDS["ModelExplainability"], params)

    def describe_model_explainability_job_definition(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_describe_definition(ctx, KINDS["ModelExplainability"], params)

    def list_model_explainability_job_definitions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_list_definitions(ctx, KINDS["ModelExplainability"], params)

    def delete_model_explainability_job_definition(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._mon_delete_definition(ctx, KINDS["ModelExplainability"], params)

    # -- schedules ----------------------------------------------------------------------------------

    async def _mon_check_config(self, ctx: RequestContext, config: dict[str, Any], arn: str) -> tuple[str, str | None, str | None, str | None]:
        """(monitoring type, definition name, endpoint, failure reason) of a schedule config."""
        sched.parse(config.get("ScheduleConfig"))
        name, inline = config.get("MonitoringJobDefinitionName"), config.get("MonitoringJobDefinition")
        if bool(name) == bool(inline):
            raise SageMakerValidation("Specify exactly one of MonitoringJobDefinition and MonitoringJobDefinitionName.")
        kind = config.get("MonitoringType") or ("DataQuality" if inline else None)
        if kind is None:
            raise SageMakerValidation("MonitoringType is required with MonitoringJobDefinitionName.")
        if kind not in KINDS:
            raise SageMakerValidation(f"MonitoringType {kind} is not one of {', '.join(KINDS)}.")
        if inline:
            if kind != "DataQuality":
                raise SageMakerValidation("An inline MonitoringJobDefinition is for DataQuality monitoring; "
                                          "other types name a job definition.")
            if len(inline.get("MonitoringInputs") or []) != 1:
                raise SageMakerValidation("MonitoringInputs must have exactly one input.")
            _check_input(inline["MonitoringInputs"][0])
            _check_outputs(inline["MonitoringOutputConfig"])
            self.backend.authorizer.check_pass_role(ctx, inline["RoleArn"], "sagemaker.amazonaws.com", arn)
            definition = _unified("Inline", inline)
        else:
            with self.backend.db.connect() as conn:
                row = store.get_definition(conn, ctx.account_id, ctx.region, kind, name)
            if row is None:
                raise SageMakerValidation(f"Could not find {kind} job definition {name}.")
            definition = _unified(kind, row["request"])
        endpoint = _endpoint_of(definition)
        failure = None
        if endpoint:
            try:
                described = await self.backend.call(None, "sagemaker", "DescribeEndpoint", {"EndpointName": endpoint},
                                                    ctx.region, ctx.account_id)
            except ServiceError as exc:
                described = None if exc.code != "NotImplemented" else {"DataCaptureConfig": {"DestinationS3Uri": "?"}}
            if described is None:
                failure = f"Endpoint {endpoint} does not exist."
            elif not (described.get("DataCaptureConfig") or {}).get("DestinationS3Uri"):
                failure = f"Data capture is not enabled for endpoint {endpoint}. Enable DataCaptureConfig on its endpoint config."
        return kind, name, endpoint, failure

    async def create_monitoring_schedule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["MonitoringScheduleName"]
        arn = common.arn(ctx, "monitoring-schedule", name)
        config = params["MonitoringScheduleConfig"]
        with self.backend.db.connect() as conn:
            if store.get_schedule(conn, ctx.account_id, ctx.region, name) is not None:
                raise ResourceInUse(f"Monitoring schedule {name} already exists ({arn}).")
        kind, definition, endpoint, failure = await self._mon_check_config(ctx, config, arn)
        tags = list(params.get("Tags") or [])
        if len(tags) > sm_tags.MAX_TAGS:
            raise SageMakerValidation(f"A resource can have at most {sm_tags.MAX_TAGS} tags.")
        now = store.now()
        parsed = sched.parse(config.get("ScheduleConfig"))
        try:
            with self.backend.db.begin() as conn:
                store.add_schedule(
                    conn, account_id=ctx.account_id, region=ctx.region, name=name, arn=arn,
                    status="Failed" if failure else "Scheduled", failure_reason=failure, monitoring_type=kind,
                    definition_name=definition, endpoint_name=endpoint, config=config,
                    next_run=None if failure else (now if parsed.one_time else parsed.next_after(now)),
                    created=now, modified=now,
                )
                sm_store.delete_all_tags(conn, arn)
                if tags:
                    sm_store.put_tags(conn, arn, tags)
        except IntegrityError:
            raise ResourceInUse(f"Monitoring schedule {name} already exists ({arn}).") from None
        ctx.resources.append(arn)
        self._mon_wake()
        return {"MonitoringScheduleArn": arn}

    def _mon_schedule(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            row = store.get_schedule(conn, ctx.account_id, ctx.region, name)
        if row is None:
            raise ResourceNotFound(f"Monitoring Schedule {name} does not exist.")
        ctx.resources.append(row["arn"])
        return row

    @staticmethod
    def _mon_execution_summary(row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "MonitoringScheduleName": row["schedule_name"], "ScheduledTime": row["scheduled"], "CreationTime": row["created"],
            "LastModifiedTime": row["modified"], "MonitoringExecutionStatus": row["status"], "MonitoringType": row["monitoring_type"],
        }
        for key, column in (("ProcessingJobArn", "processing_job_arn"), ("EndpointName", "endpoint_name"),
                            ("FailureReason", "failure_reason"), ("MonitoringJobDefinitionName", "definition_name")):
            if row.get(column):
                out[key] = row[column]
        return out

    def describe_monitoring_schedule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._mon_schedule(ctx, params["MonitoringScheduleName"])
        out: dict[str, Any] = {
            "MonitoringScheduleArn": row["arn"], "MonitoringScheduleName": row["name"], "MonitoringScheduleStatus": row["status"],
            "MonitoringType": row["monitoring_type"], "CreationTime": row["created"], "LastModifiedTime": row["modified"],
            "MonitoringScheduleConfig": row["config"],
        }
        if row["failure_reason"]:
            out["FailureReason"] = row["failure_reason"]
        if row["endpoint_name"]:
            out["EndpointName"] = row["endpoint_name"]
        with self.backend.db.connect() as conn:
            last = store.last_execution(conn, ctx.account_id, ctx.region, row["name"])
        if last is not None:
            out["LastMonitoringExecutionSummary"] = self._mon_execution_summary(last)
        return out

    def list_monitoring_schedules(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = store.list_schedules(conn, ctx.account_id, ctx.region)
        needle = (params.get("NameContains") or "").lower()
        rows = [
            r for r in rows
            if needle in r["name"].lower()
            and (not params.get("EndpointName") or r["endpoint_name"] == params["EndpointName"])
            and (not params.get("StatusEquals") or r["status"] == params["StatusEquals"])
            and (not params.get("MonitoringJobDefinitionName") or r["definition_name"] == params["MonitoringJobDefinitionName"])
            and (not params.get("MonitoringTypeEquals") or r["monitoring_type"] == params["MonitoringTypeEquals"])
            and _after(r["created"], params.get("CreationTimeAfter")) and _before(r["created"], params.get("CreationTimeBefore"))
            and _after(r["modified"], params.get("LastModifiedTimeAfter")) and _before(r["modified"], params.get("LastModifiedTimeBefore"))
        ]
        sort = params.get("SortBy") or "CreationTime"
        rows.sort(key=lambda r: (r["name"],) if sort == "Name" else (r["status"], r["created"]) if sort == "Status" else (r["created"],))
        if (params.get("SortOrder") or "Descending") == "Descending":
            rows.reverse()
        items = []
        for r in rows:
            item: dict[str, Any] = {"MonitoringScheduleName": r["name"], "MonitoringScheduleArn": r["arn"], "CreationTime": r["created"],
                                    "LastModifiedTime": r["modified"], "MonitoringScheduleStatus": r["status"],
                                    "MonitoringType": r["monitoring_type"]}
            if r["endpoint_name"]:
                item["EndpointName"] = r["endpoint_name"]
            if r["definition_name"]:
                item["MonitoringJobDefinitionName"] = r["definition_name"]
            items.append(item)
        return _page(items, params, _query(params), "MonitoringScheduleSummaries")

    async def update_monitoring_schedule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._mon_schedule(ctx, params["MonitoringScheduleName"])
        config = params["MonitoringScheduleConfig"]
        kind, definition, endpoint, failure = await self._mon_check_config(ctx, config, row["arn"])
        parsed = sched.parse(config.get("ScheduleConfig"))
        now = store.now()
        status = "Failed" if failure else ("Stopped" if row["status"] == "Stopped" else "Scheduled")
        next_run = None if status != "Scheduled" else (now if parsed.one_time else parsed.next_after(now))
        with self.backend.db.begin() as conn:
            store.change_schedule(conn, ctx.account_id, ctx.region, row["name"], config=config, monitoring_type=kind,
                                  definition_name=definition, endpoint_name=endpoint, status=status, failure_reason=failure,
                                  next_run=next_run, modified=now)
        self._mon_wake()
        return {"MonitoringScheduleArn": row["arn"]}

    def delete_monitoring_schedule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._mon_schedule(ctx, params["MonitoringScheduleName"])
        with self.backend.db.begin() as conn:
            store.remove_schedule(conn, ctx.account_id, ctx.region, row["name"])
            sm_store.delete_all_tags(conn, row["arn"])
        return {}

    def start_monitoring_schedule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._mon_schedule(ctx, params["MonitoringScheduleName"])
        if row["status"] == "Failed":
            raise SageMakerValidation(f"Monitoring schedule {row['name']} is Failed: {row['failure_reason']} Update it first.")
        if row["status"] != "Scheduled":
            parsed = sched.parse((row["config"] or {}).get("ScheduleConfig"))
            now = store.now()
            with self.backend.db.begin() as conn:
                store.change_schedule(conn, ctx.account_id, ctx.region, row["name"], status="Scheduled", modified=now,
                                      next_run=None if parsed.one_time else parsed.next_after(now))
            self._mon_wake()
        return {}

    def stop_monitoring_schedule(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._mon_schedule(ctx, params["MonitoringScheduleName"])
        if row["status"] != "Stopped":
            with self.backend.db.begin() as conn:
                store.change_schedule(conn, ctx.account_id, ctx.region, row["name"], status="Stopped", next_run=None,
                                      modified=store.now())
        return {}

    def list_monitoring_executions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = store.list_executions(conn, ctx.account_id, ctx.region, params.get("MonitoringScheduleName"))
        rows = [
            r for r in rows
            if (not params.get("EndpointName") or r["endpoint_name"] == params["EndpointName"])
            and (not params.get("StatusEquals") or r["status"] == params["StatusEquals"])
            and (not params.get("MonitoringJobDefinitionName") or r["definition_name"] == params["MonitoringJobDefinitionName"])
            and (not params.get("MonitoringTypeEquals") or r["monitoring_type"] == params["MonitoringTypeEquals"])
            and _after(r["scheduled"], params.get("ScheduledTimeAfter")) and _before(r["scheduled"], params.get("ScheduledTimeBefore"))
            and _after(r["created"], params.get("CreationTimeAfter")) and _before(r["created"], params.get("CreationTimeBefore"))
            and _after(r["modified"], params.get("LastModifiedTimeAfter")) and _before(r["modified"], params.get("LastModifiedTimeBefore"))
        ]
        sort = params.get("SortBy") or "ScheduledTime"
        column = {"CreationTime": "created", "ScheduledTime": "scheduled", "Status": "status"}[sort]
        rows.sort(key=lambda r: (r[column], r["created"]))
        if (params.get("SortOrder") or "Descending") == "Descending":
            rows.reverse()
        return _page([self._mon_execution_summary(r) for r in rows], params, _query(params), "MonitoringExecutionSummaries")

    def list_monitoring_alerts(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._mon_schedule(ctx, params["MonitoringScheduleName"])
        return {"MonitoringAlertSummaries": []}  # Seedbed defines no model dashboard alerts

    def list_monitoring_alert_history(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("MonitoringScheduleName"):
            self._mon_schedule(ctx, params["MonitoringScheduleName"])
        return {"MonitoringAlertHistory": []}
