"""Lambda in CloudFormation: an inline (``ZipFile``) Python function that answers custom resource
requests with ``cfnresponse``, as the SageMaker project templates' functions do: a success whose
Data ``Fn::GetAtt`` reads, a failure whose reason shows in the stack events, and a function that
never answers (the stack fails at ``ServiceTimeout``). Also versions, aliases and permissions."""

from __future__ import annotations

import json
import time
import uuid

from tests.conftest import LiveServer

FUNCTION_CODE = """
import cfnresponse

def handler(event, context):
    props = event["ResourceProperties"]
    mode = props.get("Mode")
    if event["RequestType"] == "Delete" or mode == "ok":
        cfnresponse.send(event, context, cfnresponse.SUCCESS, {"Greeting": "hello " + props.get("Name", "")},
                         "greeting-" + props.get("Name", "x"))
    elif mode == "fail":
        cfnresponse.send(event, context, cfnresponse.FAILED, {}, reason="it broke on purpose")
    # any other mode: never answer
"""

FUNCTION_STACK = {
    "Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "index.handler", "Timeout": 30,
            "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Code": {"ZipFile": FUNCTION_CODE}}},
        "V1": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
        "Live": {"Type": "AWS::Lambda::Alias", "Properties": {
            "FunctionName": {"Ref": "Fn"}, "Name": "live", "FunctionVersion": {"Fn::GetAtt": ["V1", "Version"]}}},
        "FromEvents": {"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]}, "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com"}},
    },
    "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Fn", "Arn"]}}, "Name": {"Value": {"Ref": "Fn"}},
                "Alias": {"Value": {"Ref": "Live"}}},
}


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def wait(cf, name: str) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stack = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack  # type: ignore[no-any-return]
        time.sleep(0.3)
    raise AssertionError(f"stack {name} still in progress")


def custom_stack(token: str, mode: str, timeout: int | None = None) -> str:
    props: dict = {"ServiceToken": token, "Mode": mode, "Name": "world"}
    if timeout is not None:
        props["ServiceTimeout"] = timeout
    return json.dumps({
        "Resources": {"Greeting": {"Type": "Custom::Greeting", "Properties": props}},
        "Outputs": {"Said": {"Value": {"Fn::GetAtt": ["Greeting", "Greeting"]}},
                    "Id": {"Value": {"Ref": "Greeting"}}},
    })


def test_inline_function_answers_custom_resources(server: LiveServer) -> None:
    cf, lam = server.client("cloudformation"), server.client("lambda")
    base = unique("fn-stack-")
    base_id = cf.create_stack(StackName=base, TemplateBody=json.dumps(FUNCTION_STACK), Capabilities=["CAPABILITY_IAM"])["StackId"]
    stack = wait(cf, base_id)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    arn, name = outputs["Arn"], outputs["Name"]
    assert arn.endswith(f":function:{name}") and name.startswith(f"{base}-Fn-")
    assert outputs["Alias"] == f"{arn}:live"
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"
    policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])
    assert policy["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}

    ok, failing, silent = unique("cr-ok-"), unique("cr-fail-"), unique("cr-silent-")
    ok_id = cf.create_stack(StackName=ok, TemplateBody=custom_stack(arn, "ok"))["StackId"]
    cf.create_stack(StackName=failing, TemplateBody=custom_stack(arn, "fail"))
    cf.create_stack(StackName=silent, TemplateBody=custom_stack(arn, "silent", timeout=2))

    stack = wait(cf, ok)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs == {"Said": "hello world", "Id": "greeting-world"}

    stack = wait(cf, failing)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason") or "" for e in cf.describe_stack_events(StackName=failing)["StackEvents"]
               if e["LogicalResourceId"] == "Greeting" and e["ResourceStatus"] == "CREATE_FAILED"]
    assert reasons and "it broke on purpose" in reasons[0]

    stack = wait(cf, silent)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason") or "" for e in cf.describe_stack_events(StackName=silent)["StackEvents"]
               if e["LogicalResourceId"] == "Greeting" and e["ResourceStatus"] == "CREATE_FAILED"]
    assert reasons and "did not receive a response from your Custom Resource" in reasons[0]

    cf.delete_stack(StackName=ok)
    assert wait(cf, ok_id)["StackStatus"] == "DELETE_COMPLETE"
    cf.delete_stack(StackName=base)
    assert wait(cf, base_id)["StackStatus"] == "DELETE_COMPLETE"
    assert name not in {f["FunctionName"] for f in lam.list_functions()["Functions"]}
