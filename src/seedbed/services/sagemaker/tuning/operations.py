"""SageMaker hyperparameter tuning jobs: ``CreateHyperParameterTuningJob`` and its Describe, List,
``ListTrainingJobsForHyperParameterTuningJob``, Stop and Delete.

A tuning job is a task that launches training jobs (its trials) through the training job API, at
most ``MaxParallelTrainingJobs`` at a time, with hyperparameters from the strategy
(:mod:`.search`), until ``MaxNumberOfTrainingJobs`` have run, the grid is exhausted, a completion
criterion is met (``TargetObjectiveMetricValue``, ``BestObjectiveNotImproving``), its
``MaxRuntimeInSeconds`` passes, or it is stopped. A trial's objective is the final value of the
objective metric that its training job read from its log.

The job is a row of ``sm_jobs`` (kind ``Tuning``) whose result journals each trial before its
training job is created, so a restarted server picks the task up where it was: trials that were
running are settled by the jobs' restart policy, and the tuning job goes on launching the rest.

``TrainingJobEarlyStoppingType: Auto`` stops trials by the median rule (see
:meth:`TuningOperations._stop_laggards`), from the objective values the jobs journal as their logs
report them. Not played locally, and refused with a message saying so: the Hyperband strategy and
``Autotune``.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from seedbed.errors import ServiceError
from seedbed.server.context import RequestContext
from seedbed.services.sagemaker import common
from seedbed.services.sagemaker import store as sm_store
from seedbed.services.sagemaker import tags as sm_tags
from seedbed.services.sagemaker.errors import ResourceInUse, ResourceNotFound, SageMakerValidation
from seedbed.services.sagemaker.jobs import images
from seedbed.services.sagemaker.jobs import store as jobs_store
from seedbed.services.sagemaker.jobs.contract import TUNING_OBJECTIVE
from seedbed.services.sagemaker.jobs.metrics import xgboost_definitions
from seedbed.services.sagemaker.tuning import search
from seedbed.state import arns, ids

log = logging.getLogger(__name__)

ARN_TYPE = "hyper-parameter-tuning-job"
DETAIL_TYPE = "SageMaker HyperParameter Tuning Job State Change"
TERMINAL = ("Completed", "Failed", "Stopped")
#: Members of a training job definition that its trials take as they are.
TRIAL_PASSED = ("AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig", "VpcConfig",
                "CheckpointConfig", "Environment", "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption",
                "EnableManagedSpotTraining", "RetryStrategy")
MAX_PARENTS = 5
#: How often early stopping looks at the running trials, and how many epochs a trial runs first.
EARLY_STOPPING_TICK = 1.0
EARLY_STOPPING_MIN_EPOCHS = 3


def _exists(conn: Any, arn: arns.Arn) -> bool:
    return jobs_store.get_job(conn, arns.sagemaker(arn.account, arn.region, ARN_TYPE, arn.resource_id)) is not None


sm_tags.RESOURCE_EXISTS[ARN_TYPE] = _exists


@dataclass
class _TuningState:
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    #: Set when StopHyperParameterTuningJob asks a running task to stop.
    stops: dict[str, asyncio.Event] = field(default_factory=dict)
    waiters: dict[str, list[asyncio.Future[None]]] = field(default_factory=dict)


def definitions_of(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The training job definitions of a tuning request (one, or the multi-algorithm list)."""
    if request.get("TrainingJobDefinition"):
        return [request["TrainingJobDefinition"]]
    return list(request.get("TrainingJobDefinitions") or [])


def objective_of(request: dict[str, Any], definition: dict[str, Any]) -> dict[str, Any]:
    config = request.get("HyperParameterTuningJobConfig") or {}
    return definition.get("TuningObjective") or config.get("HyperParameterTuningJobObjective") or {}


def ranges_of(request: dict[str, Any], definition: dict[str, Any]) -> dict[str, Any]:
    config = request.get("HyperParameterTuningJobConfig") or {}
    return definition.get("HyperParameterRanges") or config.get("ParameterRanges") or {}


def static_of(request: dict[str, Any], definition: dict[str, Any]) -> dict[str, str]:
    """The definition's static hyperparameters with the one SageMaker adds, naming the objective
    metric (trials get it; DescribeHyperParameterTuningJob shows it, and the SDK's attach reads it)."""
    return {**(definition.get("StaticHyperParameters") or {}), TUNING_OBJECTIVE: objective_of(request, definition)["MetricName"]}


def trial_resources(definition: dict[str, Any]) -> dict[str, Any] | None:
    """A trial's ResourceConfig: the definition's own, or its HyperParameterTuningResourceConfig
    (what current SDKs write), whose first InstanceConfigs entry stands in for the list."""
    if definition.get("ResourceConfig"):
        return definition["ResourceConfig"]
    tuning = definition.get("HyperParameterTuningResourceConfig")
    if not tuning:
        return None
    first = (tuning.get("InstanceConfigs") or [{}])[0]
    out = {"InstanceType": tuning.get("InstanceType") or first.get("InstanceType"),
           "InstanceCount": tuning.get("InstanceCount") or first.get("InstanceCount") or 1,
           "VolumeSizeInGB": tuning.get("VolumeSizeInGB") or first.get("VolumeSizeInGB") or 30,
           "VolumeKmsKeyId": tuning.get("VolumeKmsKeyId")}
    return {k: v for k, v in out.items() if v is not None}


def _builtin_algorithm(definition: dict[str, Any]) -> bool:
    """Whether the definition trains SageMaker's XGBoost algorithm (not a script on its image)."""
    runtime = images.resolve((definition.get("AlgorithmSpecification") or {}).get("TrainingImage") or "")
    return runtime is not None and runtime.runtime == "xgboost" and "sagemaker_program" not in (definition.get("StaticHyperParameters") or {})


def _with_builtin_metrics(definition: dict[str, Any]) -> dict[str, Any]:
    algo = dict(definition.get("AlgorithmSpecification") or {})
    if _builtin_algorithm(definition) and not algo.get("MetricDefinitions"):
        algo["MetricDefinitions"] = xgboost_definitions()
    return algo


def _defined_metrics(definition: dict[str, Any]) -> set[str] | None:
    """The metric names a trial can report, or None when the image is not known here (its trials
    will fail naming the image)."""
    algo = definition.get("AlgorithmSpecification") or {}
    if images.resolve(algo.get("TrainingImage") or "") is None:
        return None
    names = {m.get("Name") for m in algo.get("MetricDefinitions") or []}
    return names | ({m["Name"] for m in xgboost_definitions()} if _builtin_algorithm(definition) else set())


class TuningOperations:
    backend: Any

    def _tuning(self) -> _TuningState:
        state = getattr(self, "_tuning_state", None)
        if state is None:
            state = self._tuning_state = _TuningState()
        return state

    def _tuning_row(self, ctx: RequestContext, name: str) -> Any:
        arn = arns.sagemaker(ctx.account_id, ctx.region, ARN_TYPE, name)
        with self.backend.db.connect() as conn:
            row = jobs_store.get_job(conn, arn)
        if row is None or row.kind != jobs_store.TUNING:
            raise ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name}")
        ctx.resources.append(arn)
        return row

    # -- create -------------------------------------------------------------------------------------

    def _check_request(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        config = params["HyperParameterTuningJobConfig"]
        strategy = config.get("Strategy")
        if strategy == "Hyperband" or config.get("StrategyConfig"):
            raise SageMakerValidation("Seedbed does not run the Hyperband strategy (it stops trials early from their "
                                      "intermediate metrics); use Bayesian, Random or Grid.")
        if params.get("Autotune"):
            raise SageMakerValidation("Seedbed does not offer Autotune; give the strategy, ranges and limits explicitly.")
        if bool(params.get("TrainingJobDefinition")) == bool(params.get("TrainingJobDefinitions")):
            raise SageMakerValidation("Exactly one of TrainingJobDefinition or TrainingJobDefinitions must be specified.")
        limits = config.get("ResourceLimits") or {}
        if not limits.get("MaxParallelTrainingJobs"):
            raise SageMakerValidation("ResourceLimits.MaxParallelTrainingJobs must be specified.")
        if strategy != "Grid" and not limits.get("MaxNumberOfTrainingJobs"):
            raise SageMakerValidation(f"ResourceLimits.MaxNumberOfTrainingJobs must be specified for the {strategy} strategy.")
        definitions = definitions_of(params)
        names = [d.get("DefinitionName") for d in definitions]
        if len(definitions) > 1 and (None in names or len(set(names)) != len(names)):
            raise SageMakerValidation("Each of TrainingJobDefinitions needs a unique DefinitionName.")
        for definition in definitions:
            objective = objective_of(params, definition)
            if not objective.get("MetricName") or objective.get("Type") not in ("Minimize", "Maximize"):
                raise SageMakerValidation("The tuning objective needs a MetricName and a Type of Minimize or Maximize.")
            defined = _defined_metrics(definition)
            if defined is not None and objective["MetricName"] not in defined:
                raise SageMakerValidation(f"The objective metric {objective['MetricName']} is not defined in the "
                                          "MetricDefinitions of the training job definition.")
            try:
                space = search.parse_space(ranges_of(params, definition))
                if strategy == "Grid":
                    search.grid(space)
            except search.SpaceError as exc:
                raise SageMakerValidation(str(exc)) from None
            if not space:
                raise SageMakerValidation("The tuning job needs at least one hyperparameter range.")
            static = set(definition.get("StaticHyperParameters") or {})
            both = sorted(static & {p.name for p in space})
            if both:
                raise SageMakerValidation(f"Hyperparameters {', '.join(both)} are both static and tunable.")
            if not trial_resources(definition):
                raise SageMakerValidation("The training job definition needs a ResourceConfig or a HyperParameterTuningResourceConfig.")
            self.backend.authorizer.check_pass_role(ctx, definition["RoleArn"], "sagemaker.amazonaws.com")
        parents = ((params.get("WarmStartConfig") or {}).get("ParentHyperParameterTuningJobs")) or []
        if len(parents) > MAX_PARENTS:
            raise SageMakerValidation(f"A warm start takes at most {MAX_PARENTS} parent tuning jobs.")
        for parent in parents:
            row = self._tuning_row(ctx, parent["HyperParameterTuningJobName"])
            if row.status not in TERMINAL:
                raise SageMakerValidation(f"Parent tuning job {row.name} must be in a terminal state for a warm start.")

    async def create_hyper_parameter_tuning_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["HyperParameterTuningJobName"]
        arn = arns.sagemaker(ctx.account_id, ctx.region, ARN_TYPE, name)
        self._check_request(ctx, params)
        exists = ResourceInUse(f"Hyperparameter tuning job {name} already exists ({arn}).")
        with self.backend.db.connect() as conn:
            if jobs_store.get_job(conn, arn) is not None:
                raise exists
        when = sm_store.now()
        try:
            with self.backend.db.begin() as conn:
                jobs_store.insert_job(conn, {
                    "arn": arn, "account_id": ctx.account_id, "region": ctx.region, "kind": jobs_store.TUNING,
                    "name": name, "status": "InProgress", "secondary_status": None, "failure_reason": None,
                    "exit_message": None, "request": {k: v for k, v in params.items() if k != "Tags"},
                    "result": {"trials": []}, "created": when, "modified": when, "started": when, "ended": None,
                    "attempts": 1,
                })
                sm_store.delete_all_tags(conn, arn)
                if params.get("Tags"):
                    sm_store.put_tags(conn, arn, list(params["Tags"]))
        except IntegrityError:  # created by a concurrent request
            raise exists from None
        ctx.resources.append(arn)
        self._start_tuning(arn)
        await self._emit_tuning(arn)
        return {"HyperParameterTuningJobArn": arn}

    def _start_tuning(self, arn: str) -> None:
        state = self._tuning()
        state.stops.setdefault(arn, asyncio.Event())
        task = asyncio.get_running_loop().create_task(self._tune(arn))
        state.tasks[arn] = task
        task.add_done_callback(lambda _t: state.tasks.pop(arn, None))

    # -- running ------------------------------------------------------------------------------------

    def _load_tuning(self, arn: str) -> Any:
        with self.backend.db.connect() as conn:
            return jobs_store.get_job(conn, arn)

    def _update_tuning(self, arn: str, **values: Any) -> None:
        values.setdefault("modified", sm_store.now())
        with self.backend.db.begin() as conn:
            jobs_store.update_job(conn, arn, **values)

    def _trial_rows(self, row: Any) -> dict[str, Any]:
        """The training job rows of a tuning job's trials, by trial name."""
        names = [t["name"] for t in (row.result or {}).get("trials") or []]
        if not names:
            return {}
        wanted = [arns.sagemaker(row.account_id, row.region, "training-job", n) for n in names]
        table = jobs_store.jobs
        with self.backend.db.connect() as conn:
            found = {r.arn: r for r in conn.execute(select(table).where(table.c.arn.in_(wanted)))}
        return {n: found.get(a) for n, a in zip(names, wanted, strict=True)}

    async def _tune(self, arn: str) -> None:
        try:
            await self._tune_loop(arn)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("tuning job %s failed in Seedbed", arn)
            await self._end_tuning(arn, "Failed", f"InternalServerError: {type(exc).__name__}: {exc}")

    async def _tune_loop(self, arn: str) -> None:
        state = self._tuning()
        stop = state.stops.setdefault(arn, asyncio.Event())
        row = self._load_tuning(arn)
        request = row.request
        config = request["HyperParameterTuningJobConfig"]
        definitions = definitions_of(request)
        limits = config.get("ResourceLimits") or {}
        parallel = max(1, int(limits["MaxParallelTrainingJobs"]))
        samplers = [search.Sampler(config.get("Strategy", "Bayesian"), search.parse_space(ranges_of(request, d)),
                                   f"{config.get('RandomSeed', row.name)}/{i}", initial=max(3, min(parallel, 10)))
                    for i, d in enumerate(definitions)]
        grids = [len(search.grid(s.space)) for s in samplers] if config.get("Strategy") == "Grid" else None
        budget = int(limits.get("MaxNumberOfTrainingJobs") or 0) or sum(grids or [1])
        if grids is not None:
            budget = min(budget, sum(grids))
        created: datetime = sm_store.aware(row.created)  # type: ignore[assignment]
        deadline = created.timestamp() + float(limits["MaxRuntimeInSeconds"]) if limits.get("MaxRuntimeInSeconds") else None
        parent_scores = self._parent_scores(row)
        trials = list(row.result.get("trials") or [])
        jobs = self._trial_rows(row)
        for trial in trials:  # replay the journal: a resumed Grid does not repeat a combination,
            if grids is not None:  # and a trial journaled just before a crash gets its job
                samplers[trial["definition"]].suggest(0, [], [])
            if jobs.get(trial["name"]) is None and not trial.get("failed") and row.status == "InProgress":
                await self._create_trial(row, definitions[trial["definition"]], trial)
        spent: set[int] = set()  # definitions whose grid is exhausted
        early_stopping = config.get("TrainingJobEarlyStoppingType") == "Auto"
        while True:
            row = self._load_tuning(arn)
            jobs = self._trial_rows(row)
            running = [t["name"] for t in trials if not t.get("failed")
                       and (jobs.get(t["name"]) is None or jobs[t["name"]].status in jobs_store.ACTIVE)]
            stopping = row.status == "Stopping" or stop.is_set()
            timed_out = deadline is not None and sm_store.now().timestamp() >= deadline
            if early_stopping:
                await self._stop_laggards(row, trials, jobs, definitions, request)
            done_reason = self._completion_reason(row, trials, jobs)
            if stopping or timed_out or done_reason is not None:
                for name in running:
                    await self._stop_trial(row, name)
                if running:
                    await self._wait_any(row, running, None, None)
                    continue
                if stopping or timed_out:
                    await self._end_tuning(arn, "Stopped", None)
                else:
                    await self._end_tuning(arn, "Completed", None, done_reason)
                return
            while len(spent) < len(definitions) and len(running) < parallel and len(trials) < budget:
                index = len(trials)
                which = next(d for k in range(len(definitions)) if (d := (index + k) % len(definitions)) not in spent)
                scored = self._scored(trials, jobs, which, definitions, request) + parent_scores.get(which, [])
                pending = [t["tuned"] for t in trials if t["name"] in running and t["definition"] == which]
                sampler = samplers[which]
                if sampler.wants_model(scored):
                    tuned: dict[str, str] | None = await search.suggest_elsewhere(
                        ranges_of(request, definitions[which]), scored, pending, f"{row.name}/{index}")
                else:
                    tuned = sampler.suggest(index, scored, pending)
                if tuned is None:
                    spent.add(which)
                    continue
                trial = {"name": f"{row.name}-{index + 1:03d}-{ids.alnum_lower(8)}", "definition": which, "tuned": tuned}
                trials.append(trial)
                self._update_tuning(arn, result={**row.result, "trials": trials})
                await self._create_trial(row, definitions[which], trial)
                running.append(trial["name"])
            if not running:
                scored_any = any(self._objective(jobs.get(t["name"]), definitions[t["definition"]], request) is not None
                                 for t in trials)
                if scored_any:
                    await self._end_tuning(arn, "Completed", None)
                else:
                    reasons = "; ".join(f"{t['name']}: {(jobs.get(t['name']) and jobs[t['name']].failure_reason) or 'no objective metric'}"
                                        for t in trials[-3:])
                    await self._end_tuning(arn, "Failed", f"No training job reported the objective metric. {reasons}"[:1024])
                return
            await self._wait_any(row, running, stop, deadline, EARLY_STOPPING_TICK if early_stopping else None)

    async def _create_trial(self, row: Any, definition: dict[str, Any], trial: dict[str, Any]) -> None:
        request = {k: definition[k] for k in TRIAL_PASSED if definition.get(k) is not None}
        request.update({
            "TrainingJobName": trial["name"], "ResourceConfig": trial_resources(definition),
            "StoppingCondition": definition.get("StoppingCondition") or {"MaxRuntimeInSeconds": 86400},
            "HyperParameters": {**static_of(row.request, definition), **trial["tuned"]},
        })
        try:
            await self.backend.call(None, "sagemaker", "CreateTrainingJob", request, row.region, row.account_id)
        except ServiceError as exc:
            if exc.code == "ResourceInUse":  # created before a crash: follow it
                return
            # A trial that cannot start counts as a failed trial, as on AWS; its reason is kept.
            self._fail_unstarted(row, trial, f"ClientError: {exc.message}")
            return
        job_arn = arns.sagemaker(row.account_id, row.region, "training-job", trial["name"])
        with self.backend.db.begin() as conn:
            job = jobs_store.get_job(conn, job_arn)
            if job is not None:
                jobs_store.update_job(conn, job_arn, result={**job.result, "tuning_job_arn": row.arn})

    def _fail_unstarted(self, row: Any, trial: dict[str, Any], reason: str) -> None:
        current = self._load_tuning(row.arn)
        trials = [dict(t, failed=reason[:1024]) if t["name"] == trial["name"] else t for t in current.result["trials"]]
        trial["failed"] = reason[:1024]
        self._update_tuning(row.arn, result={**current.result, "trials": trials})

    async def _stop_trial(self, row: Any, name: str) -> None:
        try:
            await self.backend.call(None, "sagemaker", "StopTrainingJob", {"TrainingJobName": name}, row.region, row.account_id)
        except ServiceError as exc:
            log.debug("stopping trial %s: %s", name, exc.message)

    async def _wait_any(self, row: Any, running: list[str], stop: asyncio.Event | None, deadline: float | None,
                        tick: float | None = None) -> None:
        """Until one of the running trials ends, a stop is asked for, the deadline passes, or
        ``tick`` seconds are up (early stopping looks at the running trials that often)."""
        waits = [asyncio.ensure_future(self.wait_for_job(row.account_id, row.region, "TrainingJob", n))  # type: ignore[attr-defined]
                 for n in running if self._trial_exists(row, n)]
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        timeout = None if deadline is None else max(0.0, deadline - sm_store.now().timestamp())
        if tick is not None:
            timeout = tick if timeout is None else min(timeout, tick)
        if not waits:  # a trial journaled but not created yet: look again shortly, not at once
            await asyncio.sleep(0.5)
            return
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def _trial_exists(self, row: Any, name: str) -> bool:
        with self.backend.db.connect() as conn:
            return jobs_store.get_job(conn, arns.sagemaker(row.account_id, row.region, "training-job", name)) is not None

    async def _stop_laggards(self, row: Any, trials: list[dict[str, Any]], jobs: dict[str, Any],
                             definitions: list[dict[str, Any]], request: dict[str, Any]) -> None:
        """Early stopping (``TrainingJobEarlyStoppingType: Auto``) by the median rule SageMaker
        describes: a running trial whose objective, averaged over its epochs so far, is worse than
        the median of the earlier trials' averages over as many epochs is stopped."""
        ended = [t for t in trials if (job := jobs.get(t["name"])) is not None and job.status not in jobs_store.ACTIVE]
        for trial in trials:
            job = jobs.get(trial["name"])
            if job is None or job.status != "InProgress" or trial.get("early_stopped"):
                continue
            mine = list((job.result or {}).get("objective_history") or [])
            epochs = len(mine)
            if epochs < EARLY_STOPPING_MIN_EPOCHS:
                continue
            earlier = [sum(history[:epochs]) / epochs for t in ended if t["definition"] == trial["definition"]
                       and len(history := list((jobs[t["name"]].result or {}).get("objective_history") or [])) >= epochs]
            if not earlier:
                continue
            sign = 1 if objective_of(request, definitions[trial["definition"]]).get("Type") == "Minimize" else -1
            if sign * sum(mine) / epochs > sign * statistics.median(earlier):
                trial["early_stopped"] = True
                self._update_tuning(row.arn, result={**self._load_tuning(row.arn).result, "trials": trials})
                await self._stop_trial(row, trial["name"])

    # -- scores -------------------------------------------------------------------------------------

    @staticmethod
    def _objective(job: Any, definition: dict[str, Any], request: dict[str, Any]) -> float | None:
        """The final value of the objective metric of a trial that ran to its end (or was stopped
        early: its last value counts, as on SageMaker)."""
        if job is None or job.status not in ("Completed", "Stopped"):
            return None
        metric = objective_of(request, definition).get("MetricName")
        return next((float(m["Value"]) for m in (job.result or {}).get("metrics") or [] if m.get("MetricName") == metric), None)

    def _scored(self, trials: list[dict[str, Any]], jobs: dict[str, Any], which: int,
                definitions: list[dict[str, Any]], request: dict[str, Any]) -> list[tuple[dict[str, str], float]]:
        """(hyperparameters, loss) of definition ``which``'s scored trials; smaller loss is better."""
        goal = objective_of(request, definitions[which]).get("Type")
        out = []
        for trial in trials:
            if trial["definition"] != which:
                continue
            value = self._objective(jobs.get(trial["name"]), definitions[which], request)
            if value is not None:
                out.append((trial["tuned"], value if goal == "Minimize" else -value))
        return out

    def _parent_scores(self, row: Any) -> dict[int, list[tuple[dict[str, str], float]]]:
        """Scored trials of the warm start's parents, for the Bayesian model (by definition index)."""
        parents = ((row.request.get("WarmStartConfig") or {}).get("ParentHyperParameterTuningJobs")) or []
        out: dict[int, list[tuple[dict[str, str], float]]] = {}
        for parent in parents:
            arn = arns.sagemaker(row.account_id, row.region, ARN_TYPE, parent["HyperParameterTuningJobName"])
            prow = self._load_tuning(arn)
            if prow is None:
                continue
            jobs = self._trial_rows(prow)
            pdefs = definitions_of(prow.request)
            for which in range(len(definitions_of(row.request))):
                if which < len(pdefs):
                    out.setdefault(which, []).extend(self._scored(prow.result.get("trials") or [], jobs, which, pdefs, prow.request))
        return out

    def _completion_reason(self, row: Any, trials: list[dict[str, Any]], jobs: dict[str, Any]) -> dict[str, Any] | None:
        """TuningJobCompletionDetails once a completion criterion is met, else None."""
        config = row.request["HyperParameterTuningJobConfig"]
        criteria = config.get("TuningJobCompletionCriteria") or {}
        if not criteria:
            return None
        definitions = definitions_of(row.request)
        ended = sorted((t for t in trials if self._objective(jobs.get(t["name"]), definitions[t["definition"]], row.request) is not None),
                       key=lambda t: jobs[t["name"]].ended)
        losses = []
        for trial in ended:
            goal = objective_of(row.request, definitions[trial["definition"]]).get("Type")
            value = self._objective(jobs[trial["name"]], definitions[trial["definition"]], row.request)
            assert value is not None
            target = criteria.get("TargetObjectiveMetricValue")
            if target is not None and (value <= float(target) if goal == "Minimize" else value >= float(target)):
                return {}
            losses.append(value if goal == "Minimize" else -value)
        patience = (criteria.get("BestObjectiveNotImproving") or {}).get("MaxNumberOfTrainingJobsNotImproving")
        if patience and losses:
            best_at = losses.index(min(losses))
            since = len(losses) - 1 - best_at
            if since >= int(patience):
                return {"NumberOfTrainingJobsObjectiveNotImproving": since}
        return None

    async def _end_tuning(self, arn: str, status: str, reason: str | None, completion: dict[str, Any] | None = None) -> None:
        row = self._load_tuning(arn)
        result = dict(row.result)
        if completion is not None:
            result["completion"] = completion
        self._update_tuning(arn, status=status, ended=sm_store.now(), failure_reason=reason, result=result)
        await self._emit_tuning(arn)
        state = self._tuning()
        state.stops.pop(arn, None)
        for future in state.waiters.pop(arn, []):
            if not future.done():
                future.set_result(None)

    async def _emit_tuning(self, arn: str) -> None:
        from seedbed.services.events.publish import emit
        from seedbed.services.sagemaker.jobs.operations import _epoch_ms

        row = self._load_tuning(arn)
        try:
            await emit(self.backend, row.account_id, row.region, "aws.sagemaker", DETAIL_TYPE,
                       _epoch_ms(self._describe_tuning(row)), [arn])
        except Exception:
            log.debug("could not emit %s for %s", DETAIL_TYPE, arn, exc_info=True)

    async def resume_tuning(self) -> None:
        """Tuning jobs a crashed server left running carry on (after the jobs' own restart policy)."""
        with self.backend.db.connect() as conn:
            rows = jobs_store.active_jobs(conn, (jobs_store.TUNING,))
        for row in rows:
            if row.arn not in self._tuning().tasks:
                self._start_tuning(row.arn)

    async def wait_for_tuning_job(self, account_id: str, region: str, name: str) -> dict[str, Any]:
        """The Describe output of tuning job ``name`` once it has ended."""
        arn = arns.sagemaker(account_id, region, ARN_TYPE, name)
        state = self._tuning()
        while True:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            state.waiters.setdefault(arn, []).append(future)
            row = self._load_tuning(arn)
            if row is None or row.status in TERMINAL:
                if future in state.waiters.get(arn, []):
                    state.waiters[arn].remove(future)
                if row is None:
                    raise ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name}")
                return self._describe_tuning(row)
            if arn not in state.tasks:
                await self.resume_tuning()
            try:
                await asyncio.wait_for(asyncio.shield(future), timeout=60)
            except TimeoutError:
                continue

    # -- describe / list ----------------------------------------------------------------------------

    def _summaries(self, row: Any) -> list[dict[str, Any]]:
        """HyperParameterTrainingJobSummary of each trial, in launch order."""
        request = row.request
        definitions = definitions_of(request)
        jobs = self._trial_rows(row)
        out = []
        for trial in (row.result or {}).get("trials") or []:
            definition = definitions[trial["definition"]]
            job = jobs.get(trial["name"])
            summary: dict[str, Any] = {
                "TrainingJobName": trial["name"], "TuningJobName": row.name, "TunedHyperParameters": trial["tuned"],
                "TrainingJobArn": arns.sagemaker(row.account_id, row.region, "training-job", trial["name"]),
            }
            if definition.get("DefinitionName"):
                summary["TrainingJobDefinitionName"] = definition["DefinitionName"]
            if job is None:
                summary.update(CreationTime=row.modified, TrainingJobStatus="Failed" if trial.get("failed") else "InProgress",
                               ObjectiveStatus="Failed" if trial.get("failed") else "Pending")
                if trial.get("failed"):
                    summary["FailureReason"] = trial["failed"]
                out.append(summary)
                continue
            summary.update(CreationTime=sm_store.aware(job.created), TrainingJobStatus=job.status)
            if job.started is not None:
                summary["TrainingStartTime"] = sm_store.aware(job.started)
            if job.ended is not None:
                summary["TrainingEndTime"] = sm_store.aware(job.ended)
            if job.failure_reason:
                summary["FailureReason"] = job.failure_reason
            value = self._objective(job, definition, request)
            if value is not None:
                objective = objective_of(request, definition)
                summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
                    "Type": objective["Type"], "MetricName": objective["MetricName"], "Value": value}
                summary["ObjectiveStatus"] = "Succeeded"
            else:
                summary["ObjectiveStatus"] = "Pending" if job.status in jobs_store.ACTIVE else "Failed"
            out.append(summary)
        return out

    @staticmethod
    def _counters(summaries: list[dict[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
        statuses = [s["TrainingJobStatus"] for s in summaries]
        objective = [s["ObjectiveStatus"] for s in summaries]
        return ({"Completed": statuses.count("Completed"), "InProgress": statuses.count("InProgress") + statuses.count("Stopping"),
                 "RetryableError": 0, "NonRetryableError": statuses.count("Failed"), "Stopped": statuses.count("Stopped")},
                {"Succeeded": objective.count("Succeeded"), "Pending": objective.count("Pending"), "Failed": objective.count("Failed")})

    @staticmethod
    def _best(summaries: list[dict[str, Any]]) -> dict[str, Any] | None:
        scored = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
        if not scored:
            return None

        def loss(s: dict[str, Any]) -> float:
            metric = s["FinalHyperParameterTuningJobObjectiveMetric"]
            return metric["Value"] if metric["Type"] == "Minimize" else -metric["Value"]

        return min(scored, key=loss)

    def _describe_tuning(self, row: Any) -> dict[str, Any]:
        out = {k: v for k, v in row.request.items() if k in (
            "HyperParameterTuningJobName", "HyperParameterTuningJobConfig", "WarmStartConfig")}
        # As SageMaker answers it: the static hyperparameters with the one it adds, the
        # ResourceConfig its trials run with, a built-in algorithm's metric definitions (the SDK's
        # attach reads all three).
        shown = [{"ResourceConfig": trial_resources(d), **d, "StaticHyperParameters": static_of(row.request, d),
                  "AlgorithmSpecification": _with_builtin_metrics(d)} for d in definitions_of(row.request)]
        out["TrainingJobDefinition" if row.request.get("TrainingJobDefinition") else "TrainingJobDefinitions"] = (
            shown[0] if row.request.get("TrainingJobDefinition") else shown)
        summaries = self._summaries(row)
        training, objective = self._counters(summaries)
        out.update({
            "HyperParameterTuningJobArn": row.arn, "HyperParameterTuningJobStatus": row.status,
            "CreationTime": sm_store.aware(row.created), "LastModifiedTime": sm_store.aware(row.modified),
            "TrainingJobStatusCounters": training, "ObjectiveStatusCounters": objective,
        })
        if row.ended is not None:
            out["HyperParameterTuningEndTime"] = sm_store.aware(row.ended)
            end: datetime = sm_store.aware(row.ended)  # type: ignore[assignment]
            out["ConsumedResources"] = {"RuntimeInSeconds": max(0, round((end - sm_store.aware(row.created)).total_seconds()))}  # type: ignore[operator]
        if row.failure_reason:
            out["FailureReason"] = row.failure_reason
        best = self._best(summaries)
        if best is not None:
            out["BestTrainingJob"] = best
        parents = (row.request.get("WarmStartConfig") or {}).get("ParentHyperParameterTuningJobs") or []
        if parents:
            family = list(summaries)
            for parent in parents:
                prow = self._load_tuning(arns.sagemaker(row.account_id, row.region, ARN_TYPE, parent["HyperParameterTuningJobName"]))
                if prow is not None:
                    family += self._summaries(prow)
            overall = self._best(family)
            if overall is not None:
                out["OverallBestTrainingJob"] = overall
        completion = (row.result or {}).get("completion")
        if completion:
            out["TuningJobCompletionDetails"] = completion
        return out

    def describe_hyper_parameter_tuning_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._describe_tuning(self._tuning_row(ctx, params["HyperParameterTuningJobName"]))

    def list_hyper_parameter_tuning_jobs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        query = {k: params.get(k) for k in ("CreationTimeAfter", "CreationTimeBefore", "LastModifiedTimeAfter",
                                            "LastModifiedTimeBefore", "NameContains", "StatusEquals", "SortBy", "SortOrder")}
        offset = common.decode_token(params.get("NextToken"), query)
        limit = common.max_results(params, 100)
        with self.backend.db.connect() as conn:
            rows = jobs_store.list_jobs(
                conn, ctx.account_id, ctx.region, jobs_store.TUNING, name_contains=params.get("NameContains"),
                status=params.get("StatusEquals"), created_after=params.get("CreationTimeAfter"),
                created_before=params.get("CreationTimeBefore"), modified_after=params.get("LastModifiedTimeAfter"),
                modified_before=params.get("LastModifiedTimeBefore"), sort_by=params.get("SortBy") or "Name",
                descending=(params.get("SortOrder") or "Ascending") == "Descending", offset=offset, limit=limit,
            )
        out_rows = []
        for row in rows[:limit]:
            training, objective = self._counters(self._summaries(row))
            config = row.request["HyperParameterTuningJobConfig"]
            item = {
                "HyperParameterTuningJobName": row.name, "HyperParameterTuningJobArn": row.arn,
                "HyperParameterTuningJobStatus": row.status, "Strategy": config.get("Strategy"),
                "CreationTime": sm_store.aware(row.created), "LastModifiedTime": sm_store.aware(row.modified),
                "TrainingJobStatusCounters": training, "ObjectiveStatusCounters": objective,
                "ResourceLimits": config.get("ResourceLimits") or {},
            }
            if row.ended is not None:
                item["HyperParameterTuningEndTime"] = sm_store.aware(row.ended)
            out_rows.append(item)
        out: dict[str, Any] = {"HyperParameterTuningJobSummaries": out_rows}
        if len(rows) > limit:
            out["NextToken"] = common.encode_token(offset + limit, query)
        return out

    def list_training_jobs_for_hyper_parameter_tuning_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._tuning_row(ctx, params["HyperParameterTuningJobName"])
        query = {k: params.get(k) for k in ("HyperParameterTuningJobName", "StatusEquals", "SortBy", "SortOrder")}
        offset = common.decode_token(params.get("NextToken"), query)
        limit = common.max_results(params, 10)
        summaries = self._summaries(row)
        if params.get("StatusEquals"):
            summaries = [s for s in summaries if s["TrainingJobStatus"] == params["StatusEquals"]]
        sort_by = params.get("SortBy") or "Name"
        descending = (params.get("SortOrder") or "Ascending") == "Descending"
        if sort_by == "FinalObjectiveMetricValue":  # jobs without an objective value are not listed
            summaries = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
            summaries.sort(key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], reverse=descending)
        else:
            field_of = {"Name": "TrainingJobName", "CreationTime": "CreationTime", "Status": "TrainingJobStatus"}[sort_by]
            summaries.sort(key=lambda s: (s[field_of], s["TrainingJobName"]), reverse=descending)
        out: dict[str, Any] = {"TrainingJobSummaries": summaries[offset:offset + limit]}
        if len(summaries) > offset + limit:
            out["NextToken"] = common.encode_token(offset + limit, query)
        return out

    # -- stop / delete ------------------------------------------------------------------------------

    async def stop_hyper_parameter_tuning_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._tuning_row(ctx, params["HyperParameterTuningJobName"])
        if row.status != "InProgress":
            raise SageMakerValidation(f"The hyperparameter tuning job {row.name} is in status {row.status} and can't be stopped.")
        self._update_tuning(row.arn, status="Stopping")
        self._tuning().stops.setdefault(row.arn, asyncio.Event()).set()
        if row.arn not in self._tuning().tasks:
            self._start_tuning(row.arn)
        await self._emit_tuning(row.arn)
        return {}

    def delete_hyper_parameter_tuning_job(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._tuning_row(ctx, params["HyperParameterTuningJobName"])
        if row.status not in TERMINAL:
            raise SageMakerValidation(f"The hyperparameter tuning job {row.name} is in status {row.status}; "
                                      "only a Completed, Failed or Stopped tuning job can be deleted.")
        with self.backend.db.begin() as conn:
            conn.execute(jobs_store.jobs.delete().where(jobs_store.jobs.c.arn == row.arn))
            sm_store.delete_all_tags(conn, row.arn)
        return {}
