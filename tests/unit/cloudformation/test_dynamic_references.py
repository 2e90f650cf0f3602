"""Dynamic references: parsing, ssm / ssm-secure / secretsmanager values read at create and update
time, where ssm-secure is allowed, failures with AWS's messages, and secrets kept out of events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from seedbed.cloudformation import dynamic, types
from seedbed.cloudformation.errors import CfnValidationError, ResourceFailure
from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType
from seedbed.errors import ServiceError
from tests.unit.cloudformation.conftest import Cfn, run

SECRET_JSON = {"user": "admin", "password": "hunter2-long-pass"}


def test_parse_every_form() -> None:
    ref = dynamic.parse("{{resolve:ssm:/app/host}}")
    assert (ref.service, ref.name, ref.version, ref.secret) == ("ssm", "/app/host", None, False)
    ref = dynamic.parse("{{resolve:ssm-secure:db.pw:3}}")
    assert (ref.service, ref.name, ref.version, ref.secret) == ("ssm-secure", "db.pw", "3", True)
    ref = dynamic.parse("{{resolve:secretsmanager:app/creds}}")
    assert (ref.name, ref.json_key, ref.stage, ref.version_id) == ("app/creds", None, None, None)
    ref = dynamic.parse("{{resolve:secretsmanager:app/creds:SecretString:password:AWSPREVIOUS}}")
    assert (ref.name, ref.json_key, ref.stage, ref.version_id) == ("app/creds", "password", "AWSPREVIOUS", None)
    arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/creds-AbCdEf"
    ref = dynamic.parse(f"{{{{resolve:secretsmanager:{arn}:SecretString:user::v-123}}}}")
    assert (ref.name, ref.json_key, ref.stage, ref.version_id) == (arn, "user", None, "v-123")
    ref = dynamic.parse(f"{{{{resolve:secretsmanager:{arn}}}}}")
    assert ref.name == arn and ref.json_key is None
    for bad in ("{{resolve:ssm:/app/host:}}", "{{resolve:ssm:a:b:c}}", "{{resolve:ssm-secure:bad name}}"):
        with pytest.raises(CfnValidationError, match=r"Incorrect format is used in the following SSM reference: \["):
            dynamic.parse(bad)
    with pytest.raises(CfnValidationError, match="Secrets Manager reference"):
        dynamic.parse("{{resolve:secretsmanager:x:SecretBinary}}")
    with pytest.raises(CfnValidationError, match="Unsupported dynamic reference"):
        dynamic.parse("{{resolve:s3:bucket}}")


def test_secure_locations_are_named_as_aws_names_them() -> None:
    ok = {"LoginProfile": {"Password": "{{resolve:ssm-secure:pw}}"}}
    assert dynamic.unsupported_secure("AWS::IAM::User", ok) == []
    nested = {"RdsDbInstances": [{"DbPassword": "{{resolve:ssm-secure:pw:1}}"}]}
    assert dynamic.unsupported_secure("AWS::OpsWorks::Stack", nested) == []
    bad = {"Environment": {"Variables": {"API_KEY": "x{{resolve:ssm-secure:key}}"}}, "Layers": ["{{resolve:ssm-secure:l}}"]}
    assert dynamic.unsupported_secure("AWS::Lambda::Function", bad) == [
        "AWS::Lambda::Function/Properties/Environment/Variables/API_KEY", "AWS::Lambda::Function/Properties/Layers",
    ]
    assert dynamic.unsupported_secure("AWS::SSM::Parameter", {"Value": "{{resolve:ssm:plain}}"}) == []


class Recorder(ResourceType):
    """Stands in for AWS::IAM::User (a type AWS allows ssm-secure in): keeps what it was given."""

    type_name = "AWS::IAM::User"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.created: list[dict[str, Any]] = []
        self.updated: list[tuple[dict[str, Any], dict[str, Any]]] = []

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        self.created.append(props)
        if self.fail:
            raise ResourceFailure(f"The password {props['LoginProfile']['Password']} does not meet the policy")
        return Provisioned(f"user-{len(self.created)}", {"Arn": "arn:aws:iam::000000000000:user/u"})

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        self.updated.append((old, new))
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        return None


async def seed(cfn: Cfn) -> str:
    await cfn.call("PutParameter", service="ssm", Name="/app/host", Value="db-v1.internal", Type="String")
    await cfn.call("PutParameter", service="ssm", Name="/app/host", Value="db-v2.internal", Type="String", Overwrite=True)
    await cfn.call("PutParameter", service="ssm", Name="/app/pw", Value="s3cr3t-pass-word", Type="SecureString")
    out = await cfn.call("CreateSecret", service="secretsmanager", Name="app/creds", SecretString=json.dumps(SECRET_JSON))
    return str(out["ARN"])


async def value(cfn: Cfn, name: str) -> str:
    return str((await cfn.call("GetParameter", service="ssm", Name=name))["Parameter"]["Value"])


def test_values_are_read_at_create_and_update_and_never_shown(cfn: Cfn) -> None:
    async def scenario() -> None:
        arn = await seed(cfn)

        def tpl(suffix: str) -> dict[str, Any]:
            return {
                "Parameters": {"Version": {"Type": "String", "Default": "1"}},
                "Resources": {
                    "Latest": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/out/latest", "Type": "String",
                               "Value": "{{resolve:ssm:/app/host}}" + suffix}},
                    "Pinned": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/out/pinned", "Type": "String",
                               "Value": {"Fn::Sub": "host=${AWS::Region}/{{resolve:ssm:/app/host:${Version}}}"}}},
                    "Whole": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/out/whole", "Type": "String",
                              "Value": "{{resolve:secretsmanager:app/creds}}"}},
                    "Key": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/out/key", "Type": "String",
                            "Value": {"Fn::Join": ["", ["{{resolve:secretsmanager:", arn, ":SecretString:password:AWSCURRENT}}"]]}}},
                },
            }

        stack = await cfn.deploy("refs", tpl(""))
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert await value(cfn, "/out/latest") == "db-v2.internal"
        assert await value(cfn, "/out/pinned") == "host=us-east-1/db-v1.internal"
        assert json.loads(await value(cfn, "/out/whole")) == SECRET_JSON
        assert await value(cfn, "/out/key") == "hunter2-long-pass"
        body = (await cfn.call("GetTemplate", StackName="refs"))["TemplateBody"]
        assert "{{resolve:ssm:/app/host}}" in body and "hunter2" not in body
        shown = json.dumps(await cfn.call("DescribeStackEvents", StackName="refs"), default=str)
        assert "hunter2" not in shown and "{{resolve:secretsmanager:app/creds}}" in shown
        detail = await cfn.call("DescribeStackResource", StackName="refs", LogicalResourceId="Key")
        assert "hunter2" not in json.dumps(detail, default=str)

        stack = await cfn.update("refs", tpl("-x"), {"Version": "2"})
        assert stack["StackStatus"] == "UPDATE_COMPLETE"
        assert await value(cfn, "/out/latest") == "db-v2.internal-x"
        assert await value(cfn, "/out/pinned") == "host=us-east-1/db-v2.internal"

    run(scenario())


def test_ssm_secure_where_aws_allows_it(cfn: Cfn) -> None:
    async def scenario() -> None:
        await seed(cfn)
        fake = Recorder()
        undo = types.register_for_tests(fake)
        try:
            tpl = {"Resources": {"U": {"Type": "AWS::IAM::User", "Properties": {
                "LoginProfile": {"Password": "{{resolve:ssm-secure:/app/pw}}"}, "Path": "/{{resolve:ssm:/app/host:1}}/"}}}}
            stack = await cfn.deploy("secure", tpl, Capabilities=["CAPABILITY_IAM"])
            assert stack["StackStatus"] == "CREATE_COMPLETE"
            assert fake.created[0]["LoginProfile"]["Password"] == "s3cr3t-pass-word"
            assert fake.created[0]["Path"] == "/db-v1.internal/"
            shown = json.dumps(await cfn.call("DescribeStackEvents", StackName="secure"), default=str)
            assert "s3cr3t" not in shown and "{{resolve:ssm-secure:/app/pw}}" in shown
            # a handler that echoes the secret in its failure: the event carries **** instead
            fake.fail = True
            stack = await cfn.deploy("secure-fail", tpl, Capabilities=["CAPABILITY_IAM"])
            assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
            shown = json.dumps(await cfn.call("DescribeStackEvents", StackName="secure-fail"), default=str)
            assert "s3cr3t" not in shown and "The password **** does not meet the policy" in shown
        finally:
            undo()

    run(scenario())


def test_ssm_secure_elsewhere_is_refused_before_anything_is_made(cfn: Cfn) -> None:
    async def scenario() -> None:
        await seed(cfn)
        tpl = {"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Name": "/out/p", "Type": "String", "Value": {"Fn::Sub": "{{resolve:ssm-secure:/app/pw}}"}}}}}
        with pytest.raises(ServiceError) as caught:
            await cfn.call("CreateStack", StackName="nosecure", TemplateBody=json.dumps(tpl))
        assert caught.value.code == "ValidationError"
        assert caught.value.message == "SSM Secure reference is not supported in: [AWS::SSM::Parameter/Properties/Value]"
        bad = {"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Name": "/out/p", "Type": "String", "Value": "{{resolve:ssm:/app/host:latest}}"}}}}
        with pytest.raises(ServiceError, match=r"Incorrect format is used in the following SSM reference: \[\{\{resolve:ssm:/app/host:latest\}\}\]"):
            await cfn.call("CreateStack", StackName="badformat", TemplateBody=json.dumps(bad))

    run(scenario())


@pytest.mark.parametrize(("reference", "reason"), [
    ("{{resolve:ssm:/no/such}}", "Unable to fetch parameters [/no/such] from parameter store for this account."),
    ("{{resolve:ssm:/app/host:9}}", "Unable to fetch parameters [/app/host:9] from parameter store for this account."),
    ("{{resolve:secretsmanager:app/creds:SecretString:nokey}}", "Could not find a value associated with JSONKey in SecretString"),
    ("{{resolve:secretsmanager:no/such/secret}}", "Secrets Manager can't find the specified secret."),
    ("{{resolve:ssm:/app/pw}}", "is a SecureString"),
])
def test_failures_fail_the_resource(cfn: Cfn, reference: str, reason: str) -> None:
    async def scenario() -> None:
        await seed(cfn)
        tpl = {"Resources": {
            "Ok": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/out/ok", "Type": "String", "Value": "v"}},
            "P": {"Type": "AWS::SSM::Parameter", "DependsOn": "Ok", "Properties": {"Name": "/out/p", "Type": "String", "Value": reference}},
        }}
        stack = await cfn.deploy("fails", tpl)
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        events = (await cfn.call("DescribeStackEvents", StackName="fails"))["StackEvents"]
        failed = [e for e in events if e["LogicalResourceId"] == "P" and e["ResourceStatus"] == "CREATE_FAILED"]
        assert failed and reason in failed[0]["ResourceStatusReason"]
        assert "hunter2" not in json.dumps(events, default=str)

    run(scenario())
