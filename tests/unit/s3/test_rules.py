"""Ranges, conditional headers, CORS rule matching, bucket policies and naming rules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from seedbed.errors import ServiceError
from seedbed.server.context import Principal
from seedbed.services.s3 import conditions, cors, policy, validation
from seedbed.services.s3.conditions import ByteRange, Conditions


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", ByteRange(0, 10, 100)),
        ("bytes=90-", ByteRange(90, 100, 100)),
        ("bytes=-10", ByteRange(90, 100, 100)),
        ("bytes=-1000", ByteRange(0, 100, 100)),
        ("bytes=50-1000", ByteRange(50, 100, 100)),
        ("bytes=9-3", None),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        (None, None),
    ],
)
def test_ranges(header: str | None, expected: ByteRange | None) -> None:
    assert conditions.parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0", "bytes=200-300"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(ServiceError) as exc:
        conditions.parse_range(header, 100)
    assert exc.value.code == "InvalidRange" and exc.value.status == 416


def test_conditions_order() -> None:
    modified = datetime(2024, 1, 1, 12, 0, 0, 500000, tzinfo=timezone.utc)
    before, after = modified - timedelta(hours=1), modified + timedelta(hours=1)
    assert Conditions(if_match='"e"').evaluate("e", modified) is None
    assert Conditions(if_match='"x"').evaluate("e", modified) == 412
    assert Conditions(if_match="*").evaluate("e", modified) is None
    assert Conditions(if_unmodified_since=before).evaluate("e", modified) == 412
    assert Conditions(if_match='"e"', if_unmodified_since=before).evaluate("e", modified) is None
    assert Conditions(if_none_match='"e"').evaluate("e", modified) == 304
    assert Conditions(if_modified_since=after).evaluate("e", modified) == 304
    assert Conditions(if_modified_since=modified.replace(microsecond=0)).evaluate("e", modified) == 304
    assert Conditions(if_none_match='"x"', if_modified_since=after).evaluate("e", modified) is None
    assert Conditions(if_modified_since=before).evaluate("e", modified) is None


def test_conditional_writes() -> None:
    conditions.check_write(None, "*", "k", None)
    with pytest.raises(ServiceError):
        conditions.check_write(None, "*", "k", "etag")
    with pytest.raises(ServiceError) as exc:
        conditions.check_write('"a"', None, "k", None)
    assert exc.value.code == "NoSuchKey"


RULES = [
    {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://*.sagemaker.aws"], "AllowedHeaders": ["x-amz-*", "content-type"]},
    {"AllowedMethods": ["PUT"], "AllowedOrigins": ["*"]},
]


def test_cors_rule_matching() -> None:
    origin = "https://d-1.studio.us-east-1.sagemaker.aws"
    assert cors.find_rule(RULES, origin, "GET", ["X-Amz-Date", "Content-Type"]) is RULES[0]
    assert cors.find_rule(RULES, origin, "GET", ["authorization"]) is None
    assert cors.find_rule(RULES, "https://evil.example", "GET") is None
    assert cors.find_rule(RULES, "https://evil.example", "PUT") is RULES[1]
    assert cors.find_rule(RULES, "http://x.sagemaker.aws", "GET") is None
    with pytest.raises(ServiceError):
        cors.validate_configuration({"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["https://*.*.x"]}]})


def test_policy_evaluation() -> None:
    document = policy.parse(
        '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/pub/*"},'
        '{"Effect": "Deny", "Principal": {"AWS": "111111111111"}, "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},'
        '{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::b/*"}]}'
    )
    other = Principal("222222222222", "arn:aws:iam::222222222222:user/u", "AIDA", "IAMUser", "AKIA")
    denied = Principal("111111111111", "arn:aws:iam::111111111111:root", "111111111111", "Root", "AKIA")
    assert policy.evaluate(document, None, "s3:GetObject", "arn:aws:s3:::b/pub/x", False) == "Allow"
    assert policy.evaluate(document, None, "s3:GetObject", "arn:aws:s3:::b/pub/x", True) is None
    assert policy.evaluate(document, None, "s3:GetObject", "arn:aws:s3:::b/private", False) is None
    assert policy.evaluate(document, denied, "s3:GetObject", "arn:aws:s3:::b/pub/x", False) == "Deny"
    assert policy.evaluate(document, other, "s3:PutObject", "arn:aws:s3:::b/k", False) == "Allow"
    assert policy.is_public(document)
    for bad in ["[]", "{", '{"Statement": []}', '{"Statement": [{"Effect": "Maybe"}]}']:
        with pytest.raises(ServiceError):
            policy.parse(bad)


@pytest.mark.parametrize("name", ["abc", "my-bucket.example", "a1-b2", "x" * 63])
def test_valid_bucket_names(name: str) -> None:
    validation.bucket_name(name)


def test_tagging_header() -> None:
    assert validation.tagging_header("a=1&b=%20x") == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": " x"}]
    with pytest.raises(ServiceError):
        validation.tagging_header("a=1&a=2")
