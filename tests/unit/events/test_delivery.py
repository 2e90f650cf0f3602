"""Rules, PutEvents and deliveries in-process: a Backend without HTTP and a fake Lambda provider
that records what EventBridge hands it (the real one is tested in tests/integration)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seedbed.config import Settings
from seedbed.errors import ServiceError
from seedbed.server.backend import Backend
from seedbed.server.context import Principal
from seedbed.services.events import delivery, publish, scheduler, store
from seedbed.services.events.provider import EventsProvider
from tests.conftest import isolated_database_url

FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:handler"


class FakeLambda:
    """Stands in for LambdaProvider.invoke_for_service."""

    def __init__(self, failures: list[ServiceError] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.started: list[float] = []
        self.failures = list(failures or [])

    async def invoke_for_service(self, account_id: str, region: str, function_arn: str,
                                 payload: bytes, **kwargs: Any) -> dict[str, Any]:
        self.started.append(time.perf_counter())
        self.calls.append({"account": account_id, "region": region, "arn": function_arn,
                           "payload": json.loads(payload), **kwargs})
        if self.failures:
            raise self.failures.pop(0)
        return {"StatusCode": 202}

    def close(self) -> None:
        pass


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    instance = Backend(Settings(data_dir=tmp_path / "data", database_url=isolated_database_url()))
    yield instance
    instance.close()


@pytest.fixture
def admin(backend: Backend) -> Principal:
    cred = backend.credentials.resolve(backend.admin_key.access_key_id)
    assert cred is not None
    return cred.principal


def fake_lambda(backend: Backend, fake: FakeLambda) -> FakeLambda:
    backend._providers["lambda"] = fake  # type: ignore[assignment]
    return fake


def events(backend: Backend) -> EventsProvider:
    provider = backend.provider("events")
    assert isinstance(provider, EventsProvider)
    return provider


async def call(backend: Backend, admin: Principal, operation: str, **params: Any) -> dict[str, Any]:
    return await backend.call(admin, "events", operation, params)


async def rule_to_lambda(backend: Backend, admin: Principal, name: str = "r", **target: Any) -> str:
    out = await call(backend, admin, "PutRule", Name=name,
                     EventPattern=json.dumps({"source": ["my.app"]}))
    put = await call(backend, admin, "PutTargets", Rule=name,
                     Targets=[{"Id": "fn", "Arn": FUNCTION, **target}])
    assert put["FailedEntryCount"] == 0
    return out["RuleArn"]


def entry(**detail: Any) -> dict[str, Any]:
    return {"Source": "my.app", "DetailType": "Thing Happened", "Detail": json.dumps(detail)}


def test_a_matching_event_invokes_the_function_once_with_the_event(backend: Backend,
                                                                     admin: Principal) -> None:
    fake = fake_lambda(backend, FakeLambda())

    async def scenario() -> None:
        rule_arn = await rule_to_lambda(backend, admin)
        out = await call(backend, admin, "PutEvents", Entries=[
            entry(n=1), {**entry(n=2), "Source": "other.app"}])
        assert out["FailedEntryCount"] == 0 and len(out["Entries"]) == 2
        await events(backend).deliverer.drain()
        assert len(fake.calls) == 1
        call_ = fake.calls[0]
        assert call_["arn"] == FUNCTION and call_["invocation_type"] == "Event"
        assert call_["service_principal"] == "events.amazonaws.com"
        assert call_["source_arn"] == rule_arn and call_["source_account"] == "000000000000"
        event = call_["payload"]
        assert list(event) == ["version", "id", "detail-type", "source", "account", "time",
                               "region", "resources", "detail"]
        assert event["id"] == out["Entries"][0]["EventId"] and event["version"] == "0"
        assert event["detail"] == {"n": 1} and event["detail-type"] == "Thing Happened"
        with backend.db.connect() as conn:
            assert store.pending_deliveries(conn) == []

    asyncio.run(scenario())


def test_disabled_rules_and_input_transformers(backend: Backend, admin: Principal) -> None:
    fake = fake_lambda(backend, FakeLambda())

    async def scenario() -> None:
        await rule_to_lambda(backend, admin, InputTransformer={
            "InputPathsMap": {"n": "$.detail.n"},
            "InputTemplate": '{"number": <n>, "rule": "<aws.events.rule-name>"}'})
        await call(backend, admin, "DisableRule", Name="r")
        await call(backend, admin, "PutEvents", Entries=[entry(n=1)])
        await events(backend).deliverer.drain()
        assert fake.calls == []
        await call(backend, admin, "EnableRule", Name="r")
        await call(backend, admin, "PutEvents", Entries=[entry(n=7)])
        await events(backend).deliverer.drain()
        assert [c["payload"] for c in fake.calls] == [{"number": 7, "rule": "r"}]

    asyncio.run(scenario())


def test_retries_follow_the_retry_policy(backend: Backend, admin: Principal,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "RETRY_BASE_SECONDS", 0.01)
    throttled = ServiceError("slow down", code="TooManyRequestsException", status=429)
    fake = fake_lambda(backend, FakeLambda([throttled, throttled]))

    async def scenario() -> None:
        await rule_to_lambda(backend, admin, RetryPolicy={"MaximumRetryAttempts": 3})
        await call(backend, admin, "PutEvents", Entries=[entry(n=1)])
        await events(backend).deliverer.drain()
        assert len(fake.calls) == 3
        assert events(backend).failed_deliveries() == []

    asyncio.run(scenario())


def test_exhausted_retries_are_recorded_with_the_dead_letter_queue(
    backend: Backend, admin: Principal, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(delivery, "RETRY_BASE_SECONDS", 0.01)
    throttled = ServiceError("slow down", code="TooManyRequestsException", status=429)
    fake = fake_lambda(backend, FakeLambda([throttled] * 5))
    dlq = "arn:aws:sqs:us-east-1:000000000000:dlq"

    async def scenario() -> None:
        await rule_to_lambda(backend, admin, RetryPolicy={"MaximumRetryAttempts": 1},
                             DeadLetterConfig={"Arn": dlq})
        out = await call(backend, admin, "PutEvents", Entries=[entry(n=1)])
        await events(backend).deliverer.drain()
        assert len(fake.calls) == 2
        [failed] = events(backend).failed_deliveries("000000000000")
        assert failed.attempts == 2 and failed.error_code == "TooManyRequestsException"
        assert failed.dead_letter_arn == dlq and failed.target_arn == FUNCTION
        assert json.loads(failed.event)["id"] == out["Entries"][0]["EventId"]

    asyncio.run(scenario())
    assert any("Seedbed has no Amazon SQS" in r.getMessage() for r in caplog.records)


def test_permission_errors_are_not_retried(backend: Backend, admin: Principal) -> None:
    denied = ServiceError("no policy", code="AccessDeniedException", status=403)
    fake = fake_lambda(backend, FakeLambda([denied]))

    async def scenario() -> None:
        await rule_to_lambda(backend, admin)
        await call(backend, admin, "PutEvents", Entries=[entry()])
        await events(backend).deliverer.drain()
        assert len(fake.calls) == 1
        [failed] = events(backend).failed_deliveries()
        assert failed.error_code == "AccessDeniedException" and failed.attempts == 1

    asyncio.run(scenario())


def test_sqs_targets_are_accepted_but_deliveries_fail_clearly(backend: Backend,
                                                              admin: Principal) -> None:
    async def scenario() -> None:
        await call(backend, admin, "PutRule", Name="q", EventPattern='{"source": ["my.app"]}')
        await call(backend, admin, "PutTargets", Rule="q", Targets=[
            {"Id": "q", "Arn": "arn:aws:sqs:us-east-1:000000000000:queue"}])
        await call(backend, admin, "PutEvents", Entries=[entry()])
        await events(backend).deliverer.drain()
        [failed] = events(backend).failed_deliveries()
        assert "Seedbed has no Amazon SQS" in (failed.error_message or "")

    asyncio.run(scenario())


def test_without_a_lambda_provider_the_delivery_fails_and_is_recorded(
    backend: Backend, admin: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend._providers["lambda"] = None
    monkeypatch.setattr(delivery, "RETRY_BASE_SECONDS", 0.01)

    async def scenario() -> None:
        await rule_to_lambda(backend, admin, RetryPolicy={"MaximumRetryAttempts": 0})
        await call(backend, admin, "PutEvents", Entries=[entry()])
        await events(backend).deliverer.drain()
        [failed] = events(backend).failed_deliveries()
        assert "Lambda is not available" in (failed.error_message or "")

    asyncio.run(scenario())


def test_aws_sources_only_from_seedbed_itself(backend: Backend, admin: Principal) -> None:
    fake = fake_lambda(backend, FakeLambda())

    async def scenario() -> None:
        await call(backend, admin, "PutRule", Name="sm", EventPattern=json.dumps(
            {"source": ["aws.sagemaker"], "detail": {"ModelApprovalStatus": [
                {"anything-but": "PendingManualApproval"}]}}))
        await call(backend, admin, "PutTargets", Rule="sm", Targets=[{"Id": "f", "Arn": FUNCTION}])
        out = await call(backend, admin, "PutEvents", Entries=[{
            **entry(ModelApprovalStatus="Approved"), "Source": "aws.sagemaker"}])
        assert out["FailedEntryCount"] == 1
        assert out["Entries"][0]["ErrorCode"] == "NotAuthorizedForSourceException"
        await publish.emit(backend, "000000000000", "us-east-1", "aws.sagemaker",
                           "SageMaker Model Package State Change",
                           {"ModelApprovalStatus": "Approved"}, ["arn:aws:sagemaker:x"])
        await publish.emit(backend, "000000000000", "us-east-1", "aws.sagemaker",
                           "SageMaker Model Package State Change",
                           {"ModelApprovalStatus": "PendingManualApproval"})
        await events(backend).deliverer.drain()
        assert [c["payload"]["resources"] for c in fake.calls] == [["arn:aws:sagemaker:x"]]

    asyncio.run(scenario())


def test_scheduled_rules_fire_scheduled_events_to_their_own_targets(
    backend: Backend, admin: Principal
) -> None:
    fake = fake_lambda(backend, FakeLambda())

    async def scenario() -> None:
        out = await call(backend, admin, "PutRule", Name="tick", ScheduleExpression="rate(1 minute)")
        await call(backend, admin, "PutTargets", Rule="tick", Targets=[{"Id": "f", "Arn": FUNCTION}])
        await rule_to_lambda(backend, admin, name="other")
        sched = events(backend).scheduler
        with backend.db.connect() as conn:
            rule = store.get_rule(conn, "000000000000", "us-east-1", "default", "tick")
        assert rule is not None
        from datetime import timedelta

        sched._tick(rule.modified + timedelta(seconds=30))
        assert fake.calls == []
        wait = sched._tick(rule.modified + timedelta(seconds=61))
        assert 0 < wait <= 60
        await events(backend).deliverer.drain()
        [call_] = fake.calls
        event = call_["payload"]
        assert event["source"] == "aws.events" and event["detail-type"] == "Scheduled Event"
        assert event["resources"] == [out["RuleArn"]] and event["detail"] == {}
        assert event["time"].endswith("Z")

    asyncio.run(scenario())
    assert scheduler.MAX_SLEEP_SECONDS == 60.0


def test_delivery_starts_within_50_ms_of_put_events(backend: Backend, admin: Principal) -> None:
    fake = fake_lambda(backend, FakeLambda())

    async def scenario() -> list[float]:
        await rule_to_lambda(backend, admin)
        await call(backend, admin, "PutEvents", Entries=[entry()])  # warm
        await events(backend).deliverer.drain()
        lags = []
        for _ in range(20):
            start = time.perf_counter()
            await call(backend, admin, "PutEvents", Entries=[entry()])
            await events(backend).deliverer.drain()
            lags.append(fake.started[-1] - start)
        return sorted(lags)

    lags = asyncio.run(scenario())
    assert lags[len(lags) // 2] < 0.050


def test_interrupted_deliveries_resume_on_a_new_provider(backend: Backend,
                                                         admin: Principal) -> None:
    fake = fake_lambda(backend, FakeLambda())

    async def scenario() -> None:
        rule_arn = await rule_to_lambda(backend, admin)
        job = delivery.new_job("000000000000", "us-east-1", "default", "r", rule_arn,
                               {"Id": "fn", "Arn": FUNCTION}, {"id": "e-1", "detail": {}})
        with backend.db.begin() as conn:
            store.journal(conn, [job.row()])  # as if the server died before delivering it
        fresh = EventsProvider(backend)
        await fresh.deliverer.drain()
        assert [c["payload"]["id"] for c in fake.calls] == ["e-1"]
        fresh.close()

    asyncio.run(scenario())


class FakeService:
    """A provider for one service whose calls are recorded (CodePipeline, CodeBuild, SageMaker)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []

    def operation(self, name: str) -> Any:
        def record(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
            self.calls.append((name, ctx.principal, params))
            return {}

        return record

    def close(self) -> None:
        pass


TRUST_EVENTS = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def test_pipeline_build_and_sagemaker_targets_run_as_the_target_role(
    backend: Backend, admin: Principal
) -> None:
    fakes = {name: FakeService(name) for name in ("codepipeline", "codebuild", "sagemaker")}
    for name, fake in fakes.items():
        backend._providers[name] = fake  # type: ignore[assignment]

    async def scenario() -> None:
        role = (await backend.call(admin, "iam", "CreateRole", {
            "RoleName": "EventsRole", "AssumeRolePolicyDocument": TRUST_EVENTS}))["Role"]["Arn"]
        await backend.call(admin, "iam", "PutRolePolicy", {
            "RoleName": "EventsRole", "PolicyName": "start", "PolicyDocument": json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
                    "codepipeline:StartPipelineExecution", "codebuild:StartBuild",
                    "sagemaker:StartPipelineExecution"]}]})})
        await call(backend, admin, "PutRule", Name="deploy", EventPattern='{"source": ["my.app"]}')
        region, account = "us-east-1", "000000000000"
        out = await call(backend, admin, "PutTargets", Rule="deploy", Targets=[
            {"Id": "cp", "Arn": f"arn:aws:codepipeline:{region}:{account}:deploy-pipe",
             "RoleArn": role},
            {"Id": "cb", "Arn": f"arn:aws:codebuild:{region}:{account}:project/build",
             "RoleArn": role, "InputTransformer": {
                 "InputPathsMap": {"v": "$.detail.version"},
                 "InputTemplate": '{"environmentVariablesOverride": [{"name": "V", "value": "<v>"}]}'}},
            {"Id": "sm", "Arn": f"arn:aws:sagemaker:{region}:{account}:pipeline/train",
             "RoleArn": role, "SageMakerPipelineParameters": {"PipelineParameterList": [
                 {"Name": "Epochs", "Value": "3"}]}},
            {"Id": "norole", "Arn": f"arn:aws:codebuild:{region}:{account}:project/x"},
        ])
        assert [e["TargetId"] for e in out["FailedEntries"]] == ["norole"]
        await call(backend, admin, "PutEvents", Entries=[entry(version="1.2")])
        await events(backend).deliverer.drain()
        assert events(backend).failed_deliveries() == []
        (op, principal, params), = fakes["codepipeline"].calls
        assert op == "StartPipelineExecution" and params == {"name": "deploy-pipe"}
        assert principal.role_arn == role
        (op, _, params), = fakes["codebuild"].calls
        assert op == "StartBuild" and params == {
            "projectName": "build", "environmentVariablesOverride": [{"name": "V", "value": "1.2"}]}
        (op, _, params), = fakes["sagemaker"].calls
        assert op == "StartPipelineExecution" and params["PipelineName"] == "train"
        assert params["PipelineParameters"] == [{"Name": "Epochs", "Value": "3"}]

    asyncio.run(scenario())


def test_a_role_events_may_not_assume_fails_the_delivery(backend: Backend, admin: Principal) -> None:
    fake = FakeService("codepipeline")
    backend._providers["codepipeline"] = fake  # type: ignore[assignment]

    async def scenario() -> None:
        trust_lambda = TRUST_EVENTS.replace("events.amazonaws.com", "lambda.amazonaws.com")
        role = (await backend.call(admin, "iam", "CreateRole", {
            "RoleName": "NotForEvents", "AssumeRolePolicyDocument": trust_lambda}))["Role"]["Arn"]
        await call(backend, admin, "PutRule", Name="p", EventPattern='{"source": ["my.app"]}')
        await call(backend, admin, "PutTargets", Rule="p", Targets=[
            {"Id": "cp", "Arn": "arn:aws:codepipeline:us-east-1:000000000000:pipe", "RoleArn": role}])
        await call(backend, admin, "PutEvents", Entries=[entry()])
        await events(backend).deliverer.drain()
        [failed] = events(backend).failed_deliveries()
        assert failed.attempts == 1 and fake.calls == []
        assert failed.error_code == "AccessDenied"

    asyncio.run(scenario())


def test_the_entry_time_and_resources_go_into_the_envelope(backend: Backend,
                                                           admin: Principal) -> None:
    from datetime import UTC, datetime

    fake = fake_lambda(backend, FakeLambda())

    async def scenario() -> None:
        await rule_to_lambda(backend, admin)
        await call(backend, admin, "PutEvents", Entries=[{
            **entry(), "Time": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "Resources": ["r1"]}])
        await events(backend).deliverer.drain()
        [call_] = fake.calls
        assert call_["payload"]["time"] == "2024-01-02T03:04:05Z"
        assert call_["payload"]["resources"] == ["r1"]
        assert call_["payload"]["account"] == "000000000000"
        assert call_["payload"]["region"] == "us-east-1"

    asyncio.run(scenario())
