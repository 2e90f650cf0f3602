"""EventBridge as boto3 meets it: buses and their policies, rules, targets, tags, the pattern
language through TestEventPattern, PutEvents validation, and events delivered to a target
(CloudWatch Logs, and a Lambda function invoked exactly once)."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveServer

ACCOUNT = "000000000000"


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.fixture
def events(server: LiveServer):  # type: ignore[no-untyped-def]
    return server.client("events")


@pytest.fixture
def name() -> str:
    return f"r{uuid.uuid4().hex[:10]}"


def test_default_bus_and_custom_buses(events, name: str, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    default = events.describe_event_bus()
    assert default["Name"] == "default"
    assert default["Arn"] == f"arn:aws:events:{server.region}:{ACCOUNT}:event-bus/default"
    out = events.create_event_bus(Name=name, Description="orders", Tags=[{"Key": "t", "Value": "1"}])
    assert out["EventBusArn"].endswith(f":event-bus/{name}")
    with pytest.raises(ClientError) as exc:
        events.create_event_bus(Name=name)
    assert error_code(exc) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as exc:
        events.create_event_bus(Name="default")
    assert error_code(exc) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as exc:
        events.create_event_bus(Name="a/b")
    assert error_code(exc) == "ValidationException"
    described = events.describe_event_bus(Name=out["EventBusArn"])
    assert described["Name"] == name and described["Description"] == "orders"
    listed = events.list_event_buses(NamePrefix=name)["EventBuses"]
    assert [b["Name"] for b in listed] == [name]
    assert events.list_tags_for_resource(ResourceARN=out["EventBusArn"])["Tags"] == [
        {"Key": "t", "Value": "1"}]

    events.put_permission(EventBusName=name, Action="events:PutEvents", Principal="111122223333",
                          StatementId="partner")
    policy = json.loads(events.describe_event_bus(Name=name)["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    with pytest.raises(ClientError) as exc:
        events.remove_permission(EventBusName=name, StatementId="nobody")
    assert error_code(exc) == "ResourceNotFoundException"
    events.remove_permission(EventBusName=name, StatementId="partner")
    assert "Policy" not in events.describe_event_bus(Name=name)

    events.put_rule(Name=name, EventBusName=name, EventPattern='{"source": ["x"]}')
    with pytest.raises(ClientError) as exc:
        events.delete_event_bus(Name=name)
    assert error_code(exc) == "ValidationException"
    events.delete_rule(Name=name, EventBusName=name)
    events.delete_event_bus(Name=name)
    with pytest.raises(ClientError) as exc:
        events.describe_event_bus(Name=name)
    assert error_code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        events.delete_event_bus(Name="default")
    assert error_code(exc) == "ValidationException"


def test_rules_lifecycle(events, name: str, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    pattern = json.dumps({"source": ["my.app"], "detail": {"n": [{"numeric": [">", 1]}]}})
    arn = events.put_rule(Name=name, EventPattern=pattern, Description="d",
                          Tags=[{"Key": "team", "Value": "ml"}])["RuleArn"]
    assert arn == f"arn:aws:events:{server.region}:{ACCOUNT}:rule/{name}"
    rule = events.describe_rule(Name=name)
    assert rule["State"] == "ENABLED" and rule["EventPattern"] == pattern
    assert rule["EventBusName"] == "default" and rule["CreatedBy"] == ACCOUNT
    events.disable_rule(Name=name)
    assert events.describe_rule(Name=name)["State"] == "DISABLED"
    events.enable_rule(Name=name)
    for i in range(3):
        events.put_rule(Name=f"{name}-{i}", ScheduleExpression="rate(5 minutes)", State="DISABLED")
    page = events.list_rules(NamePrefix=name, Limit=2)
    assert [r["Name"] for r in page["Rules"]] == [name, f"{name}-0"]
    rest = events.list_rules(NamePrefix=name, NextToken=page["NextToken"])
    assert [r["Name"] for r in rest["Rules"]] == [f"{name}-1", f"{name}-2"]
    assert rest["Rules"][0]["ScheduleExpression"] == "rate(5 minutes)"

    function = f"arn:aws:lambda:{server.region}:{ACCOUNT}:function:{name}"
    out = events.put_targets(Rule=name, Targets=[
        {"Id": "ok", "Arn": function, "InputPath": "$.detail"},
        {"Id": "bad", "Arn": function, "Input": "{not json"},
        {"Id": "both", "Arn": function, "Input": "{}", "InputPath": "$.detail"},
    ])
    assert out["FailedEntryCount"] == 2
    assert {e["TargetId"] for e in out["FailedEntries"]} == {"bad", "both"}
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=name)["Targets"]] == ["ok"]
    assert events.list_rule_names_by_target(TargetArn=function)["RuleNames"] == [name]
    with pytest.raises(ClientError) as exc:
        events.delete_rule(Name=name)
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        events.put_targets(Rule=name, Targets=[{"Id": f"t{i}", "Arn": function} for i in range(5)])
    assert error_code(exc) == "LimitExceededException"
    with pytest.raises(ClientError) as exc:
        events.put_targets(Rule=name, Targets=[{"Id": "x", "Arn": "not-an-arn"}])
    assert error_code(exc) == "ValidationException"

    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}])
    events.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    events.remove_targets(Rule=name, Ids=["ok"])
    events.delete_rule(Name=name)
    with pytest.raises(ClientError) as exc:
        events.describe_rule(Name=name)
    assert error_code(exc) == "ResourceNotFoundException"
    assert exc.value.response["Error"]["Message"] == f"Rule {name} does not exist on EventBus default."
    with pytest.raises(ClientError) as exc:
        events.list_tags_for_resource(ResourceARN=arn)
    assert error_code(exc) == "ResourceNotFoundException"


def test_rule_validation(events, name: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name=name)
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name=name, EventPattern='{"source": "my.app"}')
    assert error_code(exc) == "InvalidEventPatternException"
    assert "must be an object or an array" in exc.value.response["Error"]["Message"]
    for bad in ("rate(1 minutes)", "cron(0 10 * * * *)", "every hour"):
        with pytest.raises(ClientError) as exc:
            events.put_rule(Name=name, ScheduleExpression=bad)
        assert exc.value.response["Error"]["Message"] == "Parameter ScheduleExpression is not valid."
    events.create_event_bus(Name=name)
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name=name, EventBusName=name, ScheduleExpression="rate(1 hour)")
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name=name, EventBusName="nobus", EventPattern='{"a": [1]}')
    assert error_code(exc) == "ResourceNotFoundException"
    events.delete_event_bus(Name=name)


def test_test_event_pattern(events) -> None:  # type: ignore[no-untyped-def]
    event = json.dumps({
        "id": "1", "account": ACCOUNT, "source": "aws.sagemaker", "time": "2024-01-01T00:00:00Z",
        "region": "us-east-1", "resources": [], "detail-type": "SageMaker Model Package State Change",
        "detail": {"ModelApprovalStatus": "Approved", "ModelPackageGroupName": "proj-p-abc"},
    })
    pattern = {"source": ["aws.sagemaker"], "detail": {
        "ModelApprovalStatus": [{"anything-but": "PendingManualApproval"}],
        "ModelPackageGroupName": [{"prefix": "proj-"}]}}
    assert events.test_event_pattern(EventPattern=json.dumps(pattern), Event=event)["Result"]
    pattern["detail"]["ModelApprovalStatus"] = [{"anything-but": ["Approved", "Rejected"]}]
    assert not events.test_event_pattern(EventPattern=json.dumps(pattern), Event=event)["Result"]
    with pytest.raises(ClientError) as exc:
        events.test_event_pattern(EventPattern='{"a": [{"numeric": [">", "x"]}]}', Event=event)
    assert error_code(exc) == "InvalidEventPatternException"
    with pytest.raises(ClientError) as exc:
        events.test_event_pattern(EventPattern='{"a": [1]}', Event='{"source": "x"}')
    assert error_code(exc) == "ValidationException"


def test_put_events_entries_are_checked_one_by_one(events) -> None:  # type: ignore[no-untyped-def]
    out = events.put_events(Entries=[
        {"Source": "my.app", "DetailType": "ok", "Detail": '{"a": 1}'},
        {"Source": "aws.sagemaker", "DetailType": "x", "Detail": "{}"},
        {"Source": "my.app", "DetailType": "x", "Detail": "[1, 2]"},
        {"Source": "my.app", "DetailType": "x"},
        {"Source": "my.app", "DetailType": "x", "Detail": "{}", "EventBusName": "no-such-bus"},
    ])
    assert out["FailedEntryCount"] == 4
    first, *rest = out["Entries"]
    assert uuid.UUID(first["EventId"])
    assert [e["ErrorCode"] for e in rest] == [
        "NotAuthorizedForSourceException", "MalformedDetail", "InvalidArgument",
        "ResourceNotFoundException"]
    with pytest.raises(ClientError) as exc:
        events.put_events(Entries=[{"Source": "s", "DetailType": "d",
                                    "Detail": json.dumps({"x": "y" * 300_000})}])
    assert error_code(exc) == "ValidationException"


def wait_for(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_events_reach_a_cloudwatch_logs_target(events, name: str, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    logs = server.client("logs")
    group = f"/aws/events/{name}"
    events.create_event_bus(Name=name)
    events.put_rule(Name=name, EventBusName=name,
                    EventPattern=json.dumps({"detail": {"kind": [{"wildcard": "order-*"}]}}))
    events.put_targets(Rule=name, EventBusName=name, Targets=[
        {"Id": "logs", "Arn": f"arn:aws:logs:{server.region}:{ACCOUNT}:log-group:{group}",
         "InputTransformer": {"InputPathsMap": {"kind": "$.detail.kind"},
                              "InputTemplate": '{"kind": <kind>, "rule": "<aws.events.rule-name>"}'}}])
    out = events.put_events(Entries=[
        {"Source": "shop", "DetailType": "Order", "Detail": '{"kind": "order-created"}',
         "EventBusName": name},
        {"Source": "shop", "DetailType": "Order", "Detail": '{"kind": "refund"}',
         "EventBusName": name},
    ])
    assert out["FailedEntryCount"] == 0

    def messages() -> list[str]:
        try:
            found = logs.filter_log_events(logGroupName=group)["events"]
        except ClientError:
            return []
        return [e["message"] for e in found]

    seen = wait_for(messages)
    assert [json.loads(m) for m in seen] == [{"kind": "order-created", "rule": name}]


HANDLER = """
import json

def handler(event, context):
    print("EVENT " + json.dumps(event))
    return {"ok": True}
"""


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


def test_a_rule_invokes_a_lambda_function_once_with_the_event(events, name: str,  # type: ignore[no-untyped-def]
                                                             server: LiveServer) -> None:
    iam, lam, logs = server.client("iam"), server.client("lambda"), server.client("logs")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))
    function = lam.create_function(FunctionName=name, Runtime="python3.12",
                                   Role=role["Role"]["Arn"], Handler="index.handler",
                                   Code={"ZipFile": _zip(HANDLER)})["FunctionArn"]
    rule_arn = events.put_rule(Name=name, EventPattern=json.dumps(
        {"source": ["seedbed.test"], "detail-type": ["Deploy"]}))["RuleArn"]
    lam.add_permission(FunctionName=name, StatementId="events", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=rule_arn)
    events.put_targets(Rule=name, Targets=[{"Id": "fn", "Arn": function}])
    out = events.put_events(Entries=[
        {"Source": "seedbed.test", "DetailType": "Deploy", "Detail": '{"stage": "prod"}',
         "Resources": ["arn:aws:x:y"]},
        {"Source": "seedbed.test", "DetailType": "Other", "Detail": "{}"},
    ])
    event_id = out["Entries"][0]["EventId"]

    def invocations() -> list[dict[str, Any]]:
        try:
            found = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except ClientError:
            return []
        return [json.loads(e["message"].split("EVENT ", 1)[1]) for e in found
                if "EVENT " in e["message"]]

    seen = wait_for(invocations, timeout=60)
    time.sleep(1.0)  # a second invocation, were there one, would show by now
    seen = invocations()
    assert len(seen) == 1, seen
    event = seen[0]
    assert event["id"] == event_id and event["version"] == "0"
    assert event["source"] == "seedbed.test" and event["detail-type"] == "Deploy"
    assert event["account"] == ACCOUNT and event["region"] == server.region
    assert event["resources"] == ["arn:aws:x:y"] and event["detail"] == {"stage": "prod"}
