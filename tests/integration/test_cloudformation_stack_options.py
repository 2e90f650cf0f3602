"""CreateStack's TimeoutInMinutes and OnFailure, and dynamic references, through boto3 and the AWS
CLI against a live server. (The deadline itself firing is tested in process with a clock the test
moves: tests/unit/cloudformation/test_stack_options.py; AWS's minimum timeout is a minute.)"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import BIN, LiveServer

FAILING = {
    "Resources": {
        "Made": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "v"}},
        "Bad": {"Type": "AWS::SSM::Parameter", "DependsOn": "Made", "Properties": {"Name": "/aws/reserved", "Type": "String", "Value": "v"}},
    },
}


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def wait_done(cf: Any, stack_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stack = cf.describe_stacks(StackName=stack_id)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        assert time.monotonic() < deadline, stack["StackStatus"]
        time.sleep(0.2)


def events(cf: Any, stack_id: str) -> list[tuple[str, str, str]]:
    out = cf.describe_stack_events(StackName=stack_id)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", "")) for e in reversed(out)]


def test_timeout_is_shown_and_checked(server: LiveServer) -> None:
    cf = server.client("cloudformation")
    name = unique("timeout-")
    body = json.dumps({"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "v"}}}})
    cf.create_stack(StackName=name, TemplateBody=body, TimeoutInMinutes=5)
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["TimeoutInMinutes"] == 5 and stack["StackStatus"] == "CREATE_COMPLETE"
    unchecked = server.client("cloudformation", config=Config(retries={"max_attempts": 1}, parameter_validation=False))
    with pytest.raises(ClientError) as caught:  # boto3 checks the minimum itself; the server must too
        unchecked.create_stack(StackName=unique("zero-"), TemplateBody=body, TimeoutInMinutes=0)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "greater than or equal to 1" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        cf.create_stack(StackName=unique("both-"), TemplateBody=body, OnFailure="DELETE", DisableRollback=True)
    assert caught.value.response["Error"] == {
        "Code": "ValidationError", "Message": "Either DisableRollback or OnFailure can be specified, not both.", "Type": "Sender",
    }
    cf.delete_stack(StackName=name)


def test_on_failure_delete_and_do_nothing(server: LiveServer) -> None:
    cf = server.client("cloudformation")
    name = unique("ondelete-")
    stack_id = cf.create_stack(StackName=name, TemplateBody=json.dumps(FAILING), OnFailure="DELETE")["StackId"]
    cf.get_waiter("stack_delete_complete").wait(StackName=stack_id, WaiterConfig={"Delay": 1})
    stack = cf.describe_stacks(StackName=stack_id)["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_COMPLETE"
    seen = events(cf, stack_id)
    assert (name, "DELETE_IN_PROGRESS", "The following resource(s) failed to create: [Bad]. Delete requested by user.") in seen
    statuses = [(logical, status) for logical, status, _ in seen]
    assert ("Made", "DELETE_COMPLETE") in statuses and statuses[-1] == (name, "DELETE_COMPLETE")
    assert (name, "ROLLBACK_IN_PROGRESS") not in statuses
    with pytest.raises(ClientError, match="does not exist"):
        cf.describe_stacks(StackName=name)

    kept = unique("onnothing-")
    stack_id = cf.create_stack(StackName=kept, TemplateBody=json.dumps(FAILING), OnFailure="DO_NOTHING")["StackId"]
    stack = wait_done(cf, stack_id)
    assert stack["StackStatus"] == "CREATE_FAILED" and stack["DisableRollback"] is True
    made = cf.describe_stack_resource(StackName=kept, LogicalResourceId="Made")["StackResourceDetail"]
    assert made["ResourceStatus"] == "CREATE_COMPLETE"
    cf.delete_stack(StackName=kept)


def test_aws_cli_on_failure_delete(server: LiveServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    template = tmp_path / "failing.json"
    template.write_text(json.dumps(FAILING))
    name = unique("cli-ondelete-")
    env = dict(server.env, PATH=f"{BIN}:/usr/bin:/bin")
    out = subprocess.run(
        [str(BIN / "aws"), "cloudformation", "create-stack", "--stack-name", name, "--template-body", f"file://{template}",
         "--on-failure", "DELETE", "--timeout-in-minutes", "10"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    stack_id = json.loads(out.stdout)["StackId"]
    cf = server.client("cloudformation")
    stack = wait_done(cf, stack_id)
    assert stack["StackStatus"] == "DELETE_COMPLETE" and stack["TimeoutInMinutes"] == 10


def _seed(server: LiveServer, prefix: str) -> str:
    ssm = server.client("ssm")
    ssm.put_parameter(Name=f"{prefix}/host", Value="db-1.internal", Type="String")
    ssm.put_parameter(Name=f"{prefix}/host", Value="db-2.internal", Type="String", Overwrite=True)
    ssm.put_parameter(Name=f"{prefix}/pw", Value="very-secret-pw", Type="SecureString")
    secret = server.client("secretsmanager").create_secret(
        Name=f"{prefix[1:]}/creds", SecretString=json.dumps({"user": "admin", "password": "hunter2-hunter2"}),
    )
    return str(secret["ARN"])


def test_dynamic_references_from_ssm_and_secrets_manager(server: LiveServer) -> None:
    prefix = f"/{unique('dyn')}"
    arn = _seed(server, prefix)
    cf, ssm = server.client("cloudformation"), server.client("ssm")
    name = unique("dynref-")
    template = f"""
Resources:
  Latest:
    Type: AWS::SSM::Parameter
    Properties: {{Name: {prefix}/out/latest, Type: String, Value: '{{{{resolve:ssm:{prefix}/host}}}}'}}
  Pinned:
    Type: AWS::SSM::Parameter
    Properties:
      Name: {prefix}/out/pinned
      Type: String
      Value: !Sub 'jdbc://{{{{resolve:ssm:{prefix}/host:1}}}}/${{AWS::StackName}}'
  Password:
    Type: AWS::SSM::Parameter
    Properties: {{Name: {prefix}/out/password, Type: String, Value: '{{{{resolve:secretsmanager:{arn}:SecretString:password}}}}'}}
  User:
    Type: AWS::SSM::Parameter
    Properties: {{Name: {prefix}/out/user, Type: String, Value: '{{{{resolve:secretsmanager:{prefix[1:]}/creds:SecretString:user:AWSCURRENT}}}}'}}
"""
    cf.create_stack(StackName=name, TemplateBody=template)
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1})

    def read(key: str) -> str:
        return str(ssm.get_parameter(Name=f"{prefix}/out/{key}")["Parameter"]["Value"])

    assert read("latest") == "db-2.internal"
    assert read("pinned") == f"jdbc://db-1.internal/{name}"
    assert read("password") == "hunter2-hunter2" and read("user") == "admin"
    assert cf.get_template(StackName=name)["TemplateBody"] == template
    shown = json.dumps(cf.describe_stack_events(StackName=name), default=str)
    shown += json.dumps(cf.describe_stack_resource(StackName=name, LogicalResourceId="Password"), default=str)
    assert "hunter2" not in shown and f"{{{{resolve:secretsmanager:{arn}:SecretString:password}}}}" in shown

    secure = template.replace(f"resolve:ssm:{prefix}/host}}", f"resolve:ssm-secure:{prefix}/pw}}")
    with pytest.raises(ClientError) as caught:
        cf.create_stack(StackName=unique("secure-"), TemplateBody=secure)
    assert caught.value.response["Error"]["Message"] == "SSM Secure reference is not supported in: [AWS::SSM::Parameter/Properties/Value]"
    cf.delete_stack(StackName=name)


def test_references_are_read_as_the_stack_role(server: LiveServer) -> None:
    """IAM applies: the stack's role may write parameters under out/ but read neither the source
    parameter nor the secret, so both resources fail with the access-denied message."""
    prefix = f"/{unique('iamdyn')}"
    _seed(server, prefix)
    iam = server.client("iam")
    role = unique("cfn-dyn-")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:*",
              "Resource": f"arn:aws:ssm:{server.region}:000000000000:parameter{prefix}/out/*"}]}
    iam.put_role_policy(RoleName=role, PolicyName="out-only", PolicyDocument=json.dumps(policy))
    body = json.dumps({"Resources": {
        "FromSsm": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": f"{prefix}/out/a", "Type": "String", "Value": f"{{{{resolve:ssm:{prefix}/host}}}}"}},
        "FromSecret": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": f"{prefix}/out/b", "Type": "String",
                       "Value": f"{{{{resolve:secretsmanager:{prefix[1:]}/creds:SecretString:password}}}}"}},
        "Plain": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": f"{prefix}/out/c", "Type": "String", "Value": "ok"}},
    }})
    cf = server.client("cloudformation")
    name = unique("denied-")
    stack_id = cf.create_stack(StackName=name, TemplateBody=body, RoleARN=role_arn)["StackId"]
    stack = wait_done(cf, stack_id)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = {logical: reason for logical, status, reason in events(cf, stack_id) if status == "CREATE_FAILED"}
    assert "not authorized to perform: ssm:GetParameters" in reasons["FromSsm"]
    assert "not authorized to perform: secretsmanager:GetSecretValue" in reasons["FromSecret"]
    assert "hunter2" not in json.dumps(reasons)
