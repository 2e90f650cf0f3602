"""Delivering matched events to rule targets: one asyncio task per (event, rule, target), started
the moment PutEvents (or the scheduler) journals it, so PutEvents never waits for a target.

Targets by the service in their ARN:

- ``lambda``: ``LambdaProvider.invoke_for_service`` as ``events.amazonaws.com``, asynchronous
  (``Event``), with the rule ARN as source ARN (the function's resource policy decides);
- ``codepipeline``, ``codebuild``, ``sagemaker`` (pipelines): StartPipelineExecution / StartBuild
  as the target's ``RoleArn``, assumed by ``events.amazonaws.com``; a CodeBuild target's input, when
  it is a JSON object, carries StartBuild overrides as on AWS; a SageMaker target passes
  ``SageMakerPipelineParameters``;
- ``logs``: the event is written to the log group (one stream per event, as EventBridge does);
- ``events``: the event is put on another event bus;
- ``sqs``, ``sns`` and anything else: accepted by PutTargets, but every delivery fails with a reason
  that says Seedbed has no such service.

Failures are retried with exponential backoff until ``RetryPolicy`` gives up
(``MaximumRetryAttempts``, default 185; ``MaximumEventAgeInSeconds``, default 86400). Errors that a
retry cannot fix (missing resource, permissions: a 4xx that is not throttling) are not retried,
as on AWS. A delivery that fails for good stays in the journal as ``FAILED`` (see
:func:`seedbed.services.events.store.failed_deliveries`) and is logged; a ``DeadLetterConfig``
ARN is recorded with it, since Seedbed has no SQS queue to send it to.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from seedbed.errors import ServiceError
from seedbed.services.events import store, transform

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

log = logging.getLogger(__name__)

DEFAULT_MAX_RETRIES = 185
DEFAULT_MAX_AGE_SECONDS = 86400
#: First retry delay; each further retry doubles it, up to RETRY_CAP_SECONDS (tests shrink it).
RETRY_BASE_SECONDS = 1.0
RETRY_CAP_SECONDS = 300.0
SERVICE_PRINCIPAL = "events.amazonaws.com"
_RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException", "Throttling", "TooManyRequestsException", "ServiceUnavailable",
        "ServiceUnavailableException", "InternalFailure", "InternalError", "ServiceException",
        "ResourceConflictException", "EC2ThrottledException", "RequestLimitExceeded",
    }
)
_NO_SERVICE = {
    "sqs": "Amazon SQS",
    "sns": "Amazon SNS",
    "kinesis": "Amazon Kinesis Data Streams",
    "firehose": "Amazon Data Firehose",
    "states": "AWS Step Functions",
    "ecs": "Amazon ECS",
    "batch": "AWS Batch",
    "ssm": "AWS Systems Manager Run Command and Automation",
    "execute-api": "Amazon API Gateway",
    "redshift": "Amazon Redshift",
    "appsync": "AWS AppSync",
}


class DeliveryFailed(Exception):
    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


@dataclass
class Job:
    """One event on its way to one target of one rule."""

    delivery_id: str
    account_id: str
    region: str
    bus: str
    rule: str
    rule_arn: str
    target: dict[str, Any]
    event: dict[str, Any]
    attempts: int = 0
    #: monotonic-clock start, for MaximumEventAgeInSeconds.
    started: float = field(default_factory=time.monotonic)
    age_offset: float = 0.0

    def row(self) -> dict[str, Any]:
        now = store.now()
        return {
            "delivery_id": self.delivery_id, "account_id": self.account_id, "region": self.region,
            "bus": self.bus, "rule": self.rule, "rule_arn": self.rule_arn,
            "target_id": self.target["Id"], "target_arn": self.target["Arn"],
            "target": self.target, "event": json.dumps(self.event), "status": store.PENDING,
            "attempts": self.attempts, "error_code": None, "error_message": None,
            "dead_letter_arn": None, "created": now, "updated": now,
        }


def new_job(
    account_id: str, region: str, bus: str, rule: str, rule_arn: str, target: dict[str, Any],
    event: dict[str, Any],
) -> Job:
    return Job(str(uuid.uuid4()), account_id, region, bus, rule, rule_arn, target, event)


#: (account, region, bus, event) -> routes the event on that bus (an ``events`` target).
Router = Callable[[str, str, str, dict[str, Any]], Awaitable[None]]


class Deliverer:
    def __init__(self, backend: Backend, router: Router) -> None:
        self.backend = backend
        self.router = router
        self._tasks: set[asyncio.Task[None]] = set()
        self._sessions: dict[tuple[str, str], tuple[float, Any]] = {}

    def submit(self, job: Job) -> None:
        task = asyncio.get_running_loop().create_task(self.run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def in_flight(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the deliveries under way (tests, shutdown)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    def close(self) -> None:
        for task in list(self._tasks):
            try:
                task.cancel()
            except RuntimeError:  # its loop is gone already
                pass

    async def run(self, job: Job) -> None:
        policy = job.target.get("RetryPolicy") or {}
        max_retries = int(policy.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES))
        max_age = float(policy.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE_SECONDS))
        while True:
            job.attempts += 1
            try:
                await self.deliver(job)
            except DeliveryFailed as exc:
                code, message, retryable = exc.code, exc.message, exc.retryable
            except ServiceError as exc:
                code, message = exc.code, exc.message
                retryable = exc.status >= 500 or exc.code in _RETRYABLE_CODES
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug, or a target that broke unexpectedly: retry
                log.exception("EventBridge delivery to %s raised", job.target["Arn"])
                code, message, retryable = "InternalFailure", f"{type(exc).__name__}: {exc}", True
            else:
                self._write(store.finish_delivery, job.delivery_id)
                return
            retries_done = job.attempts - 1
            delay = min(RETRY_BASE_SECONDS * 2 ** retries_done, RETRY_CAP_SECONDS)
            delay *= random.uniform(0.8, 1.0)
            age = time.monotonic() - job.started + job.age_offset
            if not retryable or retries_done >= max_retries or age + delay > max_age:
                self._give_up(job, code, message)
                return
            self._write(store.record_attempt, job.delivery_id, job.attempts)
            await asyncio.sleep(delay)

    def _write(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            with self.backend.db.begin() as conn:
                fn(conn, *args)
        except Exception:  # the database going away must not kill the delivery loop
            log.exception("could not update the EventBridge delivery journal")

    def _give_up(self, job: Job, code: str, message: str) -> None:
        dead_letter = (job.target.get("DeadLetterConfig") or {}).get("Arn")
        self._write(
            store.fail_delivery, job.delivery_id, job.attempts, code, message, dead_letter
        )
        where = (
            f"; its dead-letter queue {dead_letter} is recorded with it (Seedbed has no Amazon "
            "SQS, so the event is kept in the failed-deliveries table instead)"
            if dead_letter else ""
        )
        log.warning(
            "EventBridge could not deliver event %s from rule %s to target %s (%s) after %d "
            "attempt(s): %s: %s%s",
            job.event.get("id"), job.rule_arn, job.target["Id"], job.target["Arn"], job.attempts,
            code, message, where,
        )

    # -- one attempt ------------------------------------------------------------------------------

    async def deliver(self, job: Job) -> None:
        arn = job.target["Arn"]
        parts = arn.split(":", 5)
        if len(parts) != 6:
            raise DeliveryFailed("InvalidTarget", f"Target ARN {arn} is not valid.")
        service, resource = parts[2], parts[5]
        payload = transform.target_input(job.target, job.event, job.rule_arn, job.rule)
        if service == "lambda":
            await self._lambda(job, arn, payload)
        elif service == "codepipeline":
            await self._as_role(job, "codepipeline", "StartPipelineExecution", {"name": resource})
        elif service == "codebuild" and resource.startswith("project/"):
            params: dict[str, Any] = {}
            if _has_input(job.target):
                try:
                    overrides = json.loads(payload)
                except ValueError:
                    overrides = None
                if isinstance(overrides, dict):
                    params.update(overrides)
            params["projectName"] = resource.split("/", 1)[1]
            await self._as_role(job, "codebuild", "StartBuild", params)
        elif service == "sagemaker" and resource.startswith("pipeline/"):
            sm = job.target.get("SageMakerPipelineParameters") or {}
            sm_params: dict[str, Any] = {
                "PipelineName": resource.split("/", 1)[1],
                "ClientRequestToken": str(uuid.uuid4()),
            }
            if sm.get("PipelineParameterList"):
                sm_params["PipelineParameters"] = sm["PipelineParameterList"]
            await self._as_role(job, "sagemaker", "StartPipelineExecution", sm_params)
        elif service == "logs" and resource.startswith("log-group:"):
            await self._logs(job, parts, resource, payload)
        elif service == "events" and resource.startswith("event-bus/"):
            bus = resource.split("/", 1)[1]
            if (parts[4], parts[3], bus) == (job.account_id, job.region, job.bus):
                raise DeliveryFailed(
                    "InvalidTarget", "A rule may not send events to the event bus it is on."
                )
            await self.router(parts[4], parts[3], bus, job.event)
        else:
            name = _NO_SERVICE.get(service, service)
            raise DeliveryFailed(
                "UnsupportedTarget",
                f"Seedbed has no {name}: it cannot deliver events to {arn}. Use a Lambda "
                "function, CodePipeline, CodeBuild, SageMaker pipeline, CloudWatch Logs or event "
                "bus target instead.",
            )

    async def _lambda(self, job: Job, arn: str, payload: str) -> None:
        provider = self.backend.provider("lambda")
        invoke = getattr(provider, "invoke_for_service", None)
        if invoke is None:
            raise DeliveryFailed(
                "ServiceUnavailable", "AWS Lambda is not available in this Seedbed build.",
            )
        await invoke(
            job.account_id, job.region, arn, payload.encode(),
            service_principal=SERVICE_PRINCIPAL, source_arn=job.rule_arn,
            source_account=job.account_id, invocation_type="Event",
        )

    async def _as_role(
        self, job: Job, service: str, operation: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        role_arn = job.target.get("RoleArn")
        if not role_arn:
            raise DeliveryFailed(
                "ValidationException", f"Target {job.target['Id']} has no RoleArn to call "
                f"{service}:{operation} with.",
            )
        session = self._session(role_arn, job)
        return await self.backend.call(session.principal, service, operation, params, job.region)

    def _session(self, role_arn: str, job: Job) -> Any:
        from seedbed.runtime.credentials import assume_for_service

        key = (role_arn, job.rule_arn)
        cached = self._sessions.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        session = assume_for_service(
            self.backend, role_arn, SERVICE_PRINCIPAL, f"events-{uuid.uuid4().hex[:16]}",
            source_account=job.account_id, source_arn=job.rule_arn,
        )
        self._sessions[key] = (time.monotonic() + 3000, session)
        return session

    async def _logs(self, job: Job, parts: list[str], resource: str, payload: str) -> None:
        from seedbed.runtime.logsink import LogStream

        group = resource.split(":", 1)[1]
        group = group.removesuffix(":*")
        stream = LogStream(self.backend, parts[4], parts[3], group, str(job.event.get("id")))
        await stream.write([payload])


def _has_input(target: dict[str, Any]) -> bool:
    return any(target.get(k) is not None for k in ("Input", "InputPath", "InputTransformer"))
