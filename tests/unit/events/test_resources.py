"""AWS::Events::Rule and AWS::Events::EventBus through the CloudFormation engine, in-process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from seedbed.config import Settings
from seedbed.server.backend import Backend
from tests.conftest import isolated_database_url
from tests.unit.cloudformation.conftest import Cfn


@pytest.fixture
def cfn(tmp_path: Path) -> Iterator[Cfn]:
    backend = Backend(Settings(data_dir=tmp_path / "data", database_url=isolated_database_url()))
    yield Cfn(backend)
    backend.close()


TEMPLATE = {
    "Resources": {
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {
            "Name": "orders",
            "Policy": {"Version": "2012-10-17", "Statement": [{
                "Sid": "all", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": "events:PutEvents", "Resource": "*"}]}}},
        "OnBus": {"Type": "AWS::Events::Rule", "Properties": {
            "EventBusName": {"Ref": "Bus"},
            "EventPattern": {"source": ["shop"]},
            "Targets": [{"Id": "log", "Arn": "arn:aws:logs:us-east-1:000000000000:log-group:x"}]}},
        "Approved": {"Type": "AWS::Events::Rule", "Properties": {
            "Name": "model-approved",
            "Description": "deploy on approval",
            "State": "ENABLED",
            "EventPattern": {"source": ["aws.sagemaker"], "detail": {
                "ModelApprovalStatus": [{"anything-but": "PendingManualApproval"}]}},
            "Targets": [{"Id": "fn", "Arn": "arn:aws:lambda:us-east-1:000000000000:function:f",
                         "Input": "{\"k\": \"v\"}"}]}},
    },
    "Outputs": {
        "RuleRef": {"Value": {"Ref": "Approved"}},
        "RuleArn": {"Value": {"Fn::GetAtt": ["Approved", "Arn"]}},
        "BusRule": {"Value": {"Ref": "OnBus"}},
        "BusArn": {"Value": {"Fn::GetAtt": ["Bus", "Arn"]}},
    },
}


def test_rules_and_buses_from_a_stack(cfn: Cfn) -> None:
    async def scenario() -> None:
        stack = await cfn.deploy("ev", TEMPLATE)
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        assert outputs["RuleRef"] == "model-approved"
        assert outputs["RuleArn"] == "arn:aws:events:us-east-1:000000000000:rule/model-approved"
        assert outputs["BusRule"].startswith("orders|ev-OnBus-")
        assert outputs["BusArn"] == "arn:aws:events:us-east-1:000000000000:event-bus/orders"
        rule = await cfn.call("DescribeRule", service="events", Name="model-approved")
        assert json.loads(rule["EventPattern"])["source"] == ["aws.sagemaker"]
        targets = await cfn.call("ListTargetsByRule", service="events", Rule="model-approved")
        assert targets["Targets"] == [{"Id": "fn", "Arn": "arn:aws:lambda:us-east-1:000000000000:"
                                       "function:f", "Input": '{"k": "v"}'}]
        bus = await cfn.call("DescribeEventBus", service="events", Name="orders")
        assert json.loads(bus["Policy"])["Statement"][0]["Sid"] == "all"
        deleted = await cfn.delete("ev")
        assert deleted["StackStatus"] == "DELETE_COMPLETE"
        listed = await cfn.call("ListEventBuses", service="events")
        assert [b["Name"] for b in listed["EventBuses"]] == ["default"]
        assert (await cfn.call("ListRules", service="events"))["Rules"] == []

    asyncio.run(scenario())
