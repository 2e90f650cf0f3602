"""CreateStack's TimeoutInMinutes and OnFailure: deadlines measured on a clock the test moves,
cancelled resources, rollback / DO_NOTHING / DELETE, nested stacks, and a restart past the deadline."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from seedbed.cloudformation import timeouts
from seedbed.errors import ServiceError
from seedbed.server.backend import Backend
from seedbed.services.cloudformation import store
from tests.unit.cloudformation.conftest import Cfn, run
from tests.unit.cloudformation.test_custom import TOKEN, FakeFunction

TIMED_OUT_ROLLBACK = "Stack creation time exceeded the specified timeout. Rollback requested by user."


class MovableClock(timeouts.Clock):
    """Real time plus an offset the test advances; sleepers notice within a few milliseconds."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return super().now() + self.offset

    def advance(self, minutes: float) -> None:
        self.offset += timedelta(minutes=minutes)

    async def sleep_until(self, when: datetime) -> None:
        while self.now() < when:
            await asyncio.sleep(0.01)


def slow_template(fast_name: str, **fast: Any) -> dict[str, Any]:
    """A parameter that is made at once, then a custom resource whose function never answers."""
    return {
        "Resources": {
            "Fast": {"Type": "AWS::SSM::Parameter", **fast, "Properties": {"Name": fast_name, "Type": "String", "Value": "v"}},
            "Slow": {"Type": "Custom::Slow", "DependsOn": "Fast", "Properties": {"ServiceToken": TOKEN}},
        },
    }


async def until(check: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def slow_started(cfn: Cfn, fake: FakeFunction) -> None:
    async def started() -> bool:
        return bool(fake.requests)

    await until(started)


async def events(cfn: Cfn, stack: str) -> list[tuple[str, str, str]]:
    out = await cfn.call("DescribeStackEvents", StackName=stack)
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", "")) for e in reversed(out["StackEvents"])]


async def parameter_exists(cfn: Cfn, name: str) -> bool:
    try:
        await cfn.call("GetParameter", service="ssm", Name=name)
    except ServiceError as exc:
        assert exc.code == "ParameterNotFound"
        return False
    return True


def test_timeout_cancels_what_runs_and_rolls_back(cfn: Cfn) -> None:
    async def scenario() -> None:
        clock = MovableClock()
        cfn.engine.clock = clock
        fake = FakeFunction(cfn, answer=False)
        cfn.engine.invoker = fake
        await cfn.call("CreateStack", StackName="slow", TemplateBody=json.dumps(slow_template("/t/fast")), TimeoutInMinutes=5)
        await slow_started(cfn, fake)
        clock.advance(4)  # not yet
        await asyncio.sleep(0.1)
        stack = (await cfn.call("DescribeStacks", StackName="slow"))["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_IN_PROGRESS" and stack["TimeoutInMinutes"] == 5
        clock.advance(2)
        stack = await cfn.wait("slow")
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        assert stack["StackStatusReason"] == TIMED_OUT_ROLLBACK
        seen = await events(cfn, "slow")
        assert ("Slow", "CREATE_FAILED", "Resource creation cancelled") in seen
        assert ("slow", "ROLLBACK_IN_PROGRESS", TIMED_OUT_ROLLBACK) in seen
        assert ("Fast", "DELETE_COMPLETE", "") in seen
        assert not await parameter_exists(cfn, "/t/fast")
        assert [r["RequestType"] for r in fake.requests] == ["Create"]  # nothing was made: no Delete sent

    run(scenario())


def test_timeout_with_do_nothing_keeps_what_was_made(cfn: Cfn) -> None:
    async def scenario() -> None:
        clock = MovableClock()
        cfn.engine.clock = clock
        fake = FakeFunction(cfn, answer=False)
        cfn.engine.invoker = fake
        await cfn.call("CreateStack", StackName="keep", TemplateBody=json.dumps(slow_template("/t/keep")),
                       TimeoutInMinutes=1, OnFailure="DO_NOTHING")
        await slow_started(cfn, fake)
        clock.advance(1.5)
        stack = await cfn.wait("keep")
        assert stack["StackStatus"] == "CREATE_FAILED" and stack["DisableRollback"] is True
        assert stack["StackStatusReason"] == "Stack creation time exceeded the specified timeout."
        resources = await cfn.resources("keep")
        assert resources["Fast"]["ResourceStatus"] == "CREATE_COMPLETE"
        assert resources["Slow"]["ResourceStatus"] == "CREATE_FAILED"
        assert resources["Slow"]["ResourceStatusReason"] == "Resource creation cancelled"
        assert await parameter_exists(cfn, "/t/keep")

    run(scenario())


def test_on_failure_delete_ends_delete_complete(cfn: Cfn) -> None:
    async def scenario() -> None:
        tpl = {
            "Resources": {
                "Made": {"Type": "AWS::SSM::Parameter", "DeletionPolicy": "RetainExceptOnCreate",
                         "Properties": {"Name": "/t/made", "Type": "String", "Value": "v"}},
                "Bad": {"Type": "AWS::SSM::Parameter", "DependsOn": "Made",
                        "Properties": {"Name": "/aws/reserved", "Type": "String", "Value": "v"}},
            },
        }
        out = await cfn.call("CreateStack", StackName="gone", TemplateBody=json.dumps(tpl), OnFailure="DELETE")
        stack = await cfn.wait(out["StackId"])
        assert stack["StackStatus"] == "DELETE_COMPLETE" and stack["DisableRollback"] is False
        seen = await events(cfn, out["StackId"])
        statuses = [(logical, status) for logical, status, _ in seen]
        assert statuses.index(("Bad", "CREATE_FAILED")) < statuses.index(("gone", "DELETE_IN_PROGRESS"))
        assert ("gone", "DELETE_IN_PROGRESS", "The following resource(s) failed to create: [Bad]. Delete requested by user.") in seen
        assert ("Made", "DELETE_COMPLETE") in statuses and statuses[-1] == ("gone", "DELETE_COMPLETE")
        assert ("gone", "ROLLBACK_IN_PROGRESS") not in statuses
        assert not await parameter_exists(cfn, "/t/made")  # RetainExceptOnCreate: a failed create keeps nothing
        with pytest.raises(ServiceError, match="does not exist"):
            await cfn.call("DescribeStacks", StackName="gone")

    run(scenario())


def test_on_failure_delete_after_a_timeout(cfn: Cfn) -> None:
    async def scenario() -> None:
        clock = MovableClock()
        cfn.engine.clock = clock
        fake = FakeFunction(cfn, answer=False)
        cfn.engine.invoker = fake
        out = await cfn.call("CreateStack", StackName="slowgone", TemplateBody=json.dumps(slow_template("/t/slowgone")),
                             TimeoutInMinutes=2, OnFailure="DELETE")
        await slow_started(cfn, fake)
        clock.advance(3)
        stack = await cfn.wait(out["StackId"])
        assert stack["StackStatus"] == "DELETE_COMPLETE"
        seen = await events(cfn, out["StackId"])
        assert ("slowgone", "DELETE_IN_PROGRESS", "Stack creation time exceeded the specified timeout. Delete requested by user.") in seen

    run(scenario())


def test_refusals(cfn: Cfn) -> None:
    async def scenario() -> None:
        body = json.dumps(slow_template("/t/refused"))
        with pytest.raises(ServiceError, match="Either DisableRollback or OnFailure can be specified, not both.") as caught:
            await cfn.call("CreateStack", StackName="both", TemplateBody=body, OnFailure="DELETE", DisableRollback=False)
        assert caught.value.code == "ValidationError"
        with pytest.raises(ServiceError, match="greater than or equal to 1"):
            await cfn.call("CreateStack", StackName="zero", TemplateBody=body, TimeoutInMinutes=0)
        listed = (await cfn.call("ListStacks"))["StackSummaries"]
        assert not [s for s in listed if s["StackName"] in ("both", "zero")]

    run(scenario())


async def _nested_slow_child(cfn: Cfn, bucket: str, **child: str) -> tuple[MovableClock, FakeFunction, dict]:
    """A movable clock, a custom resource that never answers, and a parent template whose nested
    stack (with ``child`` properties) holds that resource."""
    clock = MovableClock()
    cfn.engine.clock = clock
    fake = FakeFunction(cfn, answer=False)
    cfn.engine.invoker = fake
    await cfn.call("CreateBucket", service="s3", Bucket=bucket)
    template = {"Resources": {"Slow": {"Type": "Custom::Slow", "Properties": {"ServiceToken": TOKEN}}}}
    await cfn.call("PutObject", service="s3", Bucket=bucket, Key="child.json", Body=json.dumps(template).encode())
    parent = {"Resources": {"Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {
        "TemplateURL": f"https://{bucket}.s3.amazonaws.com/child.json", **child}}}}
    return clock, fake, parent


def test_nested_stack_timeout_property_fails_the_parent(cfn: Cfn) -> None:
    async def scenario() -> None:
        clock, fake, parent = await _nested_slow_child(cfn, "nested-templates", TimeoutInMinutes="2")
        await cfn.call("CreateStack", StackName="parent", TemplateBody=json.dumps(parent))
        await slow_started(cfn, fake)
        child_id = (await cfn.resources("parent"))["Child"]["PhysicalResourceId"]
        child_stack = (await cfn.call("DescribeStacks", StackName=child_id))["Stacks"][0]
        assert child_stack["TimeoutInMinutes"] == 2
        clock.advance(3)
        stack = await cfn.wait("parent")
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        reason = (await cfn.resources("parent"))["Child"]
        seen = await events(cfn, "parent")
        failed = [r for logical, status, r in seen if logical == "Child" and status == "CREATE_FAILED"]
        assert failed and "Stack creation time exceeded the specified timeout" in failed[0]
        assert reason["ResourceStatus"] == "DELETE_COMPLETE"
        child_stack = (await cfn.call("DescribeStacks", StackName=child_id))["Stacks"][0]
        assert child_stack["StackStatus"] == "DELETE_COMPLETE"

    run(scenario())


def test_parent_timeout_cancels_the_nested_create(cfn: Cfn) -> None:
    async def scenario() -> None:
        clock, fake, parent = await _nested_slow_child(cfn, "nested-templates-2")
        await cfn.call("CreateStack", StackName="parent2", TemplateBody=json.dumps(parent), TimeoutInMinutes=10)
        await slow_started(cfn, fake)
        child_id = (await cfn.resources("parent2"))["Child"]["PhysicalResourceId"]
        clock.advance(11)
        stack = await cfn.wait("parent2")
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE" and stack["StackStatusReason"] == TIMED_OUT_ROLLBACK
        child_events = await events(cfn, child_id)
        assert ("Slow", "CREATE_FAILED", "Resource creation cancelled") in child_events
        assert (await cfn.call("DescribeStacks", StackName=child_id))["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"

    run(scenario())


def test_a_restart_past_the_deadline_reports_the_timeout(backend: Backend) -> None:
    """The deadline is journaled with the stack: a second process that resumes the create after
    the deadline passed fails it for the timeout, not for the interruption."""
    settings = backend.settings

    async def first() -> str:
        cfn = Cfn(backend)
        fake = FakeFunction(cfn, answer=False)
        cfn.engine.invoker = fake
        out = await cfn.call("CreateStack", StackName="restart", TemplateBody=json.dumps(slow_template("/t/restart")),
                             TimeoutInMinutes=1)
        await slow_started(cfn, fake)
        with backend.db.connect() as conn:
            row = store.get_stack(conn, out["StackId"])
        assert row.pending["deadline"]
        backend.provider("cloudformation").close()  # the process dies mid-create
        await asyncio.sleep(0.05)
        return str(out["StackId"])

    stack_id = run(first())
    with backend.db.connect() as conn:
        assert store.get_stack(conn, stack_id).status == "CREATE_IN_PROGRESS"

    async def second() -> dict[str, Any]:
        again = Backend(settings)
        try:
            cfn = Cfn(again)
            clock = MovableClock()
            clock.advance(2)
            cfn.engine.clock = clock
            await again.provider("cloudformation").resume()  # type: ignore[union-attr]
            return await cfn.wait(stack_id)
        finally:
            again.close()

    stack = run(second())
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert stack["StackStatusReason"] == TIMED_OUT_ROLLBACK
