"""SSM Parameter Store as boto3 and the AWS CLI meet it: types, versions, selectors and labels,
path queries, filters, SecureString encryption through KMS, tiers, tags, and the name rules."""

from __future__ import annotations

import base64
import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.conftest import BIN, LiveServer

ACCOUNT = "000000000000"


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.fixture
def ssm(server: LiveServer):  # type: ignore[no-untyped-def]
    return server.client("ssm")


@pytest.fixture
def root() -> str:
    """A hierarchy of its own for each test."""
    return f"/t{uuid.uuid4().hex[:10]}"


def test_put_and_get_string_parameters(ssm, root: str, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    out = ssm.put_parameter(
        Name=f"{root}/app/url", Value="http://x", Type="String", Description="the url"
    )
    assert out == {"Version": 1, "Tier": "Standard", "ResponseMetadata": out["ResponseMetadata"]}
    param = ssm.get_parameter(Name=f"{root}/app/url")["Parameter"]
    assert param["Value"] == "http://x" and param["Type"] == "String" and param["Version"] == 1
    assert param["ARN"] == f"arn:aws:ssm:{server.region}:{ACCOUNT}:parameter{root}/app/url"
    assert param["DataType"] == "text"
    by_arn = ssm.get_parameter(Name=param["ARN"])["Parameter"]
    assert by_arn["Value"] == "http://x"
    ssm.put_parameter(Name=f"{root}-list", Value="a,b,c", Type="StringList")
    assert ssm.get_parameter(Name=f"{root}-list")["Parameter"]["Type"] == "StringList"
    plain = f"plain{uuid.uuid4().hex[:8]}"
    ssm.put_parameter(Name=plain, Value="top", Type="String")
    assert ssm.get_parameter(Name=plain)["Parameter"]["ARN"].endswith(f":parameter/{plain}")


def test_missing_parameters(ssm, root: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        ssm.get_parameter(Name=f"{root}/nothing")
    assert error_code(exc) == "ParameterNotFound"
    with pytest.raises(ClientError) as exc:
        ssm.delete_parameter(Name=f"{root}/nothing")
    assert error_code(exc) == "ParameterNotFound"


def test_overwrite_makes_versions(ssm, root: str) -> None:  # type: ignore[no-untyped-def]
    name = f"{root}/v"
    ssm.put_parameter(Name=name, Value="one", Type="String", Description="first")
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=name, Value="two", Type="String")
    assert error_code(exc) == "ParameterAlreadyExists"
    assert ssm.put_parameter(Name=name, Value="two", Overwrite=True)["Version"] == 2
    assert (
        ssm.put_parameter(Name=name, Value="three", Type="String", Overwrite=True)["Version"] == 3
    )
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "three"
    first = ssm.get_parameter(Name=f"{name}:1")["Parameter"]
    assert first["Value"] == "one" and first["Version"] == 1 and first["Selector"] == ":1"
    with pytest.raises(ClientError) as exc:
        ssm.get_parameter(Name=f"{name}:9")
    assert error_code(exc) == "ParameterVersionNotFound"
    history = ssm.get_parameter_history(Name=name)["Parameters"]
    assert [h["Value"] for h in history] == ["one", "two", "three"]
    assert all(h["Description"] == "first" for h in history)
    pages = ssm.get_paginator("get_parameter_history").paginate(
        Name=name, PaginationConfig={"PageSize": 2}
    )
    assert [h["Version"] for page in pages for h in page["Parameters"]] == [1, 2, 3]
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=name, Value="x", Overwrite=True, Tags=[{"Key": "a", "Value": "b"}])
    assert error_code(exc) == "ValidationException"


def test_labels_and_label_selectors(ssm, root: str) -> None:  # type: ignore[no-untyped-def]
    name = f"{root}/model"
    for value in ("v1", "v2", "v3"):
        ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    out = ssm.label_parameter_version(
        Name=name, ParameterVersion=1, Labels=["prod", "stable", "1bad", "awsx"]
    )
    assert out["ParameterVersion"] == 1 and sorted(out["InvalidLabels"]) == ["1bad", "awsx"]
    assert ssm.get_parameter(Name=f"{name}:prod")["Parameter"]["Value"] == "v1"
    assert ssm.get_parameter(Name=f"{name}:prod")["Parameter"]["Selector"] == ":prod"
    ssm.label_parameter_version(Name=name, Labels=["prod"])  # moves to the newest version
    assert ssm.get_parameter(Name=f"{name}:prod")["Parameter"]["Value"] == "v3"
    history = {
        h["Version"]: h["Labels"] for h in ssm.get_parameter_history(Name=name)["Parameters"]
    }
    assert history == {1: ["stable"], 2: [], 3: ["prod"]}
    removed = ssm.unlabel_parameter_version(
        Name=name, ParameterVersion=1, Labels=["stable", "nope"]
    )
    assert removed["RemovedLabels"] == ["stable"] and removed["InvalidLabels"] == ["nope"]
    with pytest.raises(ClientError) as exc:
        ssm.get_parameter(Name=f"{name}:stable")
    assert error_code(exc) in ("ParameterVersionNotFound", "ParameterNotFound")
    with pytest.raises(ClientError) as exc:
        ssm.label_parameter_version(Name=name, Labels=[f"l{i}" for i in range(10)])
    assert error_code(exc) == "ParameterVersionLabelLimitExceeded"
    with pytest.raises(ClientError) as exc:
        ssm.label_parameter_version(Name=name, ParameterVersion=7, Labels=["x"])
    assert error_code(exc) == "ParameterVersionNotFound"


def test_get_parameters_reports_invalid_names(ssm, root: str) -> None:  # type: ignore[no-untyped-def]
    ssm.put_parameter(Name=f"{root}/a", Value="A", Type="String")
    ssm.put_parameter(Name=f"{root}/b", Value="B", Type="String")
    out = ssm.get_parameters(Names=[f"{root}/a", f"{root}/b:1", f"{root}/missing", f"{root}/a:5"])
    assert {p["Name"]: p["Value"] for p in out["Parameters"]} == {
        f"{root}/a": "A",
        f"{root}/b": "B",
    }
    assert sorted(out["InvalidParameters"]) == sorted([f"{root}/missing", f"{root}/a:5"])


def test_get_parameters_by_path(ssm, root: str) -> None:  # type: ignore[no-untyped-def]
    for name in ("db/host", "db/port", "db/replica/host", "api/url", "flag"):
        ssm.put_parameter(Name=f"{root}/{name}", Value=name, Type="String")
    ssm.put_parameter(Name=f"{root}/db/password", Value="pw", Type="SecureString")
    one_level = ssm.get_parameters_by_path(Path=f"{root}/db")["Parameters"]
    assert sorted(p["Name"] for p in one_level) == [
        f"{root}/db/host",
        f"{root}/db/password",
        f"{root}/db/port",
    ]
    deep = ssm.get_paginator("get_parameters_by_path").paginate(
        Path=f"{root}/", Recursive=True, PaginationConfig={"PageSize": 2}
    )
    names = [p["Name"] for page in deep for p in page["Parameters"]]
    assert len(names) == 6 and names == sorted(names)
    secure = ssm.get_parameters_by_path(
        Path=root,
        Recursive=True,
        WithDecryption=True,
        ParameterFilters=[{"Key": "Type", "Option": "Equals", "Values": ["SecureString"]}],
    )["Parameters"]
    assert [(p["Name"], p["Value"]) for p in secure] == [(f"{root}/db/password", "pw")]
    hidden = ssm.get_parameters_by_path(Path=f"{root}/db")["Parameters"]
    assert next(p for p in hidden if p["Type"] == "SecureString")["Value"] != "pw"
    with pytest.raises(ClientError) as exc:
        ssm.get_parameters_by_path(Path=root, ParameterFilters=[{"Key": "Name", "Values": ["x"]}])
    assert error_code(exc) == "InvalidFilterKey"
    with pytest.raises(ClientError) as exc:
        ssm.get_parameters_by_path(Path="no-slash")
    assert error_code(exc) == "ValidationException"
    ssm.label_parameter_version(Name=f"{root}/db/host", Labels=["blue"])
    ssm.put_parameter(Name=f"{root}/db/host", Value="newer", Overwrite=True)
    blue = ssm.get_parameters_by_path(
        Path=f"{root}/db",
        ParameterFilters=[{"Key": "Label", "Option": "Equals", "Values": ["blue"]}],
    )["Parameters"]
    assert [(p["Name"], p["Value"], p["Version"]) for p in blue] == [
        (f"{root}/db/host", "db/host", 1)
    ]


def test_secure_strings(ssm, root: str, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    name = f"{root}/secret"
    ssm.put_parameter(Name=name, Value="s3cr3t", Type="SecureString")
    clear = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert clear["Value"] == "s3cr3t" and clear["Type"] == "SecureString"
    hidden = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    assert hidden != "s3cr3t" and base64.b64decode(hidden)
    # The default key is the AWS managed alias/aws/ssm, made on first use.
    kms = server.client("kms")
    assert kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]["KeyManager"] == "AWS"
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])[
        "Parameters"
    ][0]
    assert meta["KeyId"] == "alias/aws/ssm"
    history = ssm.get_parameter_history(Name=name, WithDecryption=True)["Parameters"]
    assert history[0]["Value"] == "s3cr3t"


def test_secure_strings_with_a_customer_key(ssm, root: str, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    name = f"{root}/custom"
    ssm.put_parameter(Name=name, Value="mine", Type="SecureString", KeyId=key["KeyId"])
    param = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert param["Value"] == "mine"
    # Without decryption the value is a KMS ciphertext that kms:Decrypt opens with the context.
    hidden = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    opened = kms.decrypt(
        CiphertextBlob=base64.b64decode(hidden), EncryptionContext={"PARAMETER_ARN": param["ARN"]}
    )
    assert opened["Plaintext"] == b"mine" and opened["KeyId"] == key["Arn"]
    big = "x" * 6000  # advanced tier: sealed with a data key
    ssm.put_parameter(
        Name=f"{root}/big", Value=big, Type="SecureString", KeyId=key["Arn"], Tier="Advanced"
    )
    assert ssm.get_parameter(Name=f"{root}/big", WithDecryption=True)["Parameter"]["Value"] == big
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(ClientError) as exc:
        ssm.get_parameter(Name=name, WithDecryption=True)
    assert error_code(exc) == "InvalidKeyId"
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] != "mine"  # no decryption: still fine
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(
            Name=f"{root}/nokey", Value="v", Type="SecureString", KeyId="alias/missing-key"
        )
    assert error_code(exc) == "InvalidKeyId"
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=f"{root}/plainkey", Value="v", Type="String", KeyId=key["KeyId"])
    assert error_code(exc) == "ValidationException"


def test_tiers_and_sizes(ssm, root: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=f"{root}/big", Value="x" * 5000, Type="String")
    assert error_code(exc) == "ValidationException"
    out = ssm.put_parameter(
        Name=f"{root}/big", Value="x" * 5000, Type="String", Tier="Intelligent-Tiering"
    )
    assert out["Tier"] == "Advanced"
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=f"{root}/big", Value="small", Overwrite=True, Tier="Standard")
    assert error_code(exc) == "ValidationException"
    assert (
        ssm.put_parameter(Name=f"{root}/big", Value="small", Overwrite=True)["Tier"] == "Advanced"
    )
    policy = json.dumps(
        [
            {
                "Type": "Expiration",
                "Version": "1.0",
                "Attributes": {"Timestamp": "2099-01-01T00:00:00Z"},
            }
        ]
    )
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(
            Name=f"{root}/p", Value="v", Type="String", Policies=policy, Tier="Standard"
        )
    assert error_code(exc) == "ValidationException"
    ssm.put_parameter(Name=f"{root}/p", Value="v", Type="String", Policies=policy, Tier="Advanced")
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [f"{root}/p"]}])[
        "Parameters"
    ][0]
    assert meta["Policies"][0]["PolicyType"] == "Expiration"


def test_allowed_pattern_and_data_type(ssm, root: str) -> None:  # type: ignore[no-untyped-def]
    ssm.put_parameter(Name=f"{root}/port", Value="8080", Type="String", AllowedPattern=r"^\d+$")
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=f"{root}/port", Value="http", Type="String", Overwrite=True)
    assert error_code(exc) == "ParameterPatternMismatchException"
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=f"{root}/bad", Value="x", Type="String", AllowedPattern="(")
    assert error_code(exc) == "InvalidAllowedPatternException"
    ssm.put_parameter(
        Name=f"{root}/ami", Value="ami-0123456789abcdef0", Type="String", DataType="aws:ec2:image"
    )
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=f"{root}/dt", Value="x", Type="String", DataType="aws:nope")
    assert error_code(exc) == "ValidationException"


def test_names_are_validated(ssm, root: str) -> None:  # type: ignore[no-untyped-def]
    for bad in (
        "a/b",
        "/aws/mine",
        "awsThing",
        "SSM-thing",
        f"{root}/sp ace",
        f"{root}//x",
        f"{root}/",
    ):
        with pytest.raises(ClientError) as exc:
            ssm.put_parameter(Name=bad, Value="v", Type="String")
        assert error_code(exc) == "ValidationException", bad
    deep = root + "".join(f"/l{i}" for i in range(15))
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=deep, Value="v", Type="String")
    assert error_code(exc) == "HierarchyLevelLimitExceededException"
    ok = root + "".join(f"/l{i}" for i in range(14))
    ssm.put_parameter(Name=ok, Value="v", Type="String")
    with pytest.raises(ClientError) as exc:
        ssm.put_parameter(Name=f"{root}/notype", Value="v")
    assert error_code(exc) == "ValidationException"


def test_describe_parameters_filters_and_pages(ssm, root: str) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        ssm.put_parameter(
            Name=f"{root}/d/p{i}",
            Value=str(i),
            Type="SecureString" if i == 4 else "String",
            Tags=[{"Key": "parity", "Value": "even" if i % 2 == 0 else "odd"}],
        )
    ssm.put_parameter(Name=f"{root}/d/deeper/q", Value="q", Type="String")
    one_level = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Path", "Values": [f"{root}/d"]}]
    )["Parameters"]
    assert sorted(p["Name"] for p in one_level) == [f"{root}/d/p{i}" for i in range(5)]
    recursive = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [f"{root}/d"]}]
    )["Parameters"]
    assert len(recursive) == 6
    even = ssm.describe_parameters(
        ParameterFilters=[
            {"Key": "Path", "Values": [f"{root}/d"]},
            {"Key": "tag:parity", "Values": ["even"]},
        ]
    )["Parameters"]
    assert sorted(p["Name"] for p in even) == [f"{root}/d/p0", f"{root}/d/p2", f"{root}/d/p4"]
    secure = ssm.describe_parameters(
        ParameterFilters=[
            {"Key": "Name", "Option": "BeginsWith", "Values": [f"{root}/d/"]},
            {"Key": "Type", "Values": ["SecureString"]},
        ]
    )["Parameters"]
    assert [p["Name"] for p in secure] == [f"{root}/d/p4"] and secure[0]["KeyId"] == "alias/aws/ssm"
    legacy = ssm.describe_parameters(Filters=[{"Key": "Name", "Values": [f"{root}/d/p"]}])[
        "Parameters"
    ]
    assert len(legacy) == 5
    pages = ssm.get_paginator("describe_parameters").paginate(
        ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [root]}],
        PaginationConfig={"PageSize": 4},
    )
    assert len([p for page in pages for p in page["Parameters"]]) == 6
    with pytest.raises(ClientError) as exc:
        ssm.describe_parameters(
            ParameterFilters=[{"Key": "Path", "Option": "Sideways", "Values": [root]}]
        )
    assert error_code(exc) == "InvalidFilterOption"
    with pytest.raises(ClientError) as exc:
        ssm.describe_parameters(NextToken="garbage")
    assert error_code(exc) == "InvalidNextToken"


def test_delete_parameters(ssm, root: str) -> None:  # type: ignore[no-untyped-def]
    ssm.put_parameter(Name=f"{root}/x", Value="1", Type="String")
    ssm.put_parameter(Name=f"{root}/y", Value="1", Type="String")
    ssm.delete_parameter(Name=f"{root}/x")
    out = ssm.delete_parameters(Names=[f"{root}/y", f"{root}/z"])
    assert out["DeletedParameters"] == [f"{root}/y"] and out["InvalidParameters"] == [f"{root}/z"]
    ssm.put_parameter(Name=f"{root}/x", Value="again", Type="String")
    assert ssm.get_parameter(Name=f"{root}/x")["Parameter"]["Version"] == 1


def test_tags(ssm, root: str) -> None:  # type: ignore[no-untyped-def]
    name = f"{root}/tagged"
    ssm.put_parameter(Name=name, Value="v", Type="String", Tags=[{"Key": "team", "Value": "ml"}])
    ssm.add_tags_to_resource(
        ResourceType="Parameter", ResourceId=name, Tags=[{"Key": "env", "Value": "dev"}]
    )
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    assert tags == [{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "dev"}]
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=name, TagKeys=["team"])
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"] == [
        {"Key": "env", "Value": "dev"}
    ]
    with pytest.raises(ClientError) as exc:
        ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=f"{root}/none")
    assert error_code(exc) == "InvalidResourceId"
    with pytest.raises(ClientError) as exc:
        ssm.list_tags_for_resource(ResourceType="Document", ResourceId=name)
    assert error_code(exc) == "InvalidResourceType"


def test_aws_cli_put_and_get_parameter(server: LiveServer, root: str) -> None:
    env = dict(server.env)
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"

    def aws(*args: str) -> dict:
        done = subprocess.run(
            ["aws", *args, "--output", "json"], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    name = f"{root}/cli/token"
    assert (
        aws(
            "ssm", "put-parameter", "--name", name, "--value", "cli-value", "--type", "SecureString"
        )["Version"]
        == 1
    )
    got = aws("ssm", "get-parameter", "--name", name, "--with-decryption")["Parameter"]
    assert got["Value"] == "cli-value" and got["Type"] == "SecureString"
    listed = aws("ssm", "get-parameters-by-path", "--path", f"{root}/cli", "--with-decryption")[
        "Parameters"
    ]
    assert [p["Value"] for p in listed] == ["cli-value"]


def test_parameter_values_never_reach_the_audit_trail(ssm, root: str, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    ssm.put_parameter(Name=f"{root}/hidden", Value=secret, Type="SecureString")
    events = server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutParameter"}]
    )["Events"]
    assert events
    assert all(secret not in event["CloudTrailEvent"] for event in events)
    assert any(
        json.loads(e["CloudTrailEvent"])["requestParameters"]["Name"] == f"{root}/hidden" for e in events
    )
