"""AWS::Logs::LogGroup, AWS::Logs::LogStream and AWS::CloudWatch::Alarm through the stack engine."""

from __future__ import annotations

import json

from seedbed.server.backend import Backend
from tests.unit.cloudformation.conftest import Cfn, run

TEMPLATE = {
    "Resources": {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {
            "RetentionInDays": 7, "Tags": [{"Key": "team", "Value": "ml"}]}},
        "Stream": {"Type": "AWS::Logs::LogStream", "Properties": {
            "LogGroupName": {"Ref": "Logs"}, "LogStreamName": "main"}},
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "Namespace": "Custom", "MetricName": "Errors", "Statistic": "Sum", "Period": 60,
            "EvaluationPeriods": 1, "Threshold": 5, "ComparisonOperator": "GreaterThanThreshold",
            "Dimensions": [{"Name": "LogGroup", "Value": {"Ref": "Logs"}}]}},
    },
    "Outputs": {
        "Group": {"Value": {"Ref": "Logs"}},
        "GroupArn": {"Value": {"Fn::GetAtt": ["Logs", "Arn"]}},
        "AlarmName": {"Value": {"Ref": "Alarm"}},
        "AlarmArn": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}},
    },
}


def test_log_group_stream_and_alarm_stack(backend: Backend) -> None:
    cfn = Cfn(backend)

    async def scenario() -> None:
        stack = await cfn.deploy("mon", TEMPLATE)
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        out = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        group = out["Group"]
        assert group.startswith("mon-Logs-")
        assert out["GroupArn"] == f"arn:aws:logs:us-east-1:{backend.settings.account_id}:log-group:{group}:*"
        groups = (await cfn.call("DescribeLogGroups", service="logs", logGroupNamePrefix=group))["logGroups"]
        assert groups[0]["retentionInDays"] == 7
        tags = await cfn.call("ListTagsLogGroup", service="logs", logGroupName=group)
        assert tags["tags"] == {"team": "ml"}
        streams = await cfn.call("DescribeLogStreams", service="logs", logGroupName=group)
        assert [s["logStreamName"] for s in streams["logStreams"]] == ["main"]
        alarm = (await cfn.call("DescribeAlarms", service="cloudwatch", AlarmNames=[out["AlarmName"]]))["MetricAlarms"][0]
        assert alarm["AlarmArn"] == out["AlarmArn"] and alarm["Threshold"] == 5.0 and alarm["Period"] == 60

        changed = json.loads(json.dumps(TEMPLATE))
        changed["Resources"]["Logs"]["Properties"]["RetentionInDays"] = 30
        stack = await cfn.update("mon", changed)
        assert stack["StackStatus"] == "UPDATE_COMPLETE"
        groups = (await cfn.call("DescribeLogGroups", service="logs", logGroupNamePrefix=group))["logGroups"]
        assert groups[0]["retentionInDays"] == 30

        stack = await cfn.delete("mon")
        assert stack["StackStatus"] == "DELETE_COMPLETE"
        assert (await cfn.call("DescribeLogGroups", service="logs", logGroupNamePrefix=group))["logGroups"] == []
        assert (await cfn.call("DescribeAlarms", service="cloudwatch"))["MetricAlarms"] == []

    run(scenario())
