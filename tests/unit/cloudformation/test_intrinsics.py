"""Templates, parameters, conditions and every intrinsic function, without a server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from seedbed.cloudformation import graph, parameters, plan, template
from seedbed.cloudformation.errors import CfnValidationError, TemplateError
from seedbed.cloudformation.intrinsics import NO_VALUE, UNRESOLVED, evaluate

YAML = """
AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::LanguageExtensions
Parameters:
  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Subnets: {Type: CommaDelimitedList, Default: "a,b,c"}
  Count: {Type: Number, Default: 2, MinValue: 1, MaxValue: 5}
  Name: {Type: String, Default: abc, AllowedPattern: '[a-z]+', MinLength: 2, MaxLength: 8, NoEcho: true}
  Vpc: {Type: 'AWS::EC2::VPC::Id', Default: vpc-123}
  Ids: {Type: 'List<AWS::EC2::Subnet::Id>', Default: 'subnet-1,subnet-2'}
Mappings:
  Sizes: {dev: {Type: small}, prod: {Type: large}}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsDev, !Equals [!Ref Count, 2]]
  Either: !Or [!Condition IsProd, !Condition Both]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !If [IsProd, !Ref AWS::NoValue, !Sub 'b-${Env}-${AWS::Region}']
"""


def scope_for(tpl: template.Template, values: dict[str, Any], refs: dict[str, Any] | None = None) -> Any:
    pseudo = parameters.pseudo("123456789012", "eu-west-1", "st", "arn:aws:cloudformation:eu-west-1:123456789012:stack/st/x", [])
    refs = refs or {}
    return plan.scope_for(
        tpl, values, pseudo, set(tpl.resources), lambda n: refs.get(n, f"phys-{n}"),
        lambda n, a: {"Arn": f"arn:{n}", "Outputs.X": "out"}.get(a, UNRESOLVED), lambda name: f"imported-{name}",
    )


def values_of(tpl: template.Template, given: dict[str, str] | None = None) -> dict[str, Any]:
    merged = parameters.merge(tpl.parameters, [{"ParameterKey": k, "ParameterValue": v} for k, v in (given or {}).items()])
    return asyncio.run(parameters.resolve(tpl.parameters, merged, None)).values


def test_yaml_short_forms_and_conditions() -> None:
    tpl = template.load(YAML)
    assert tpl.doc["AWSTemplateFormatVersion"] == "2010-09-09"
    assert tpl.resources["Bucket"]["Properties"]["BucketName"]["Fn::If"][0] == "IsProd"
    values = values_of(tpl)
    assert values["Subnets"] == ["a", "b", "c"] and values["Ids"] == ["subnet-1", "subnet-2"]
    scope = scope_for(tpl, values)
    assert [scope.condition(c) for c in ("IsProd", "IsDev", "Both", "Either")] == [False, True, True, True]
    props = evaluate(tpl.resources["Bucket"]["Properties"], scope)
    assert props == {"BucketName": "b-dev-eu-west-1"}
    prod = scope_for(tpl, values_of(tpl, {"Env": "prod"}))
    assert evaluate(tpl.resources["Bucket"]["Properties"], prod) == {}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ({"Ref": "AWS::AccountId"}, "123456789012"),
        ({"Ref": "AWS::StackName"}, "st"),
        ({"Ref": "AWS::Partition"}, "aws"),
        ({"Ref": "AWS::URLSuffix"}, "amazonaws.com"),
        ({"Ref": "Bucket"}, "phys-Bucket"),
        ({"Fn::GetAtt": ["Bucket", "Arn"]}, "arn:Bucket"),
        ({"Fn::GetAtt": "Bucket.Arn"}, "arn:Bucket"),
        ({"Fn::Sub": "${AWS::Region}-${Bucket}-${Bucket.Arn}-${!Literal}"}, "eu-west-1-phys-Bucket-arn:Bucket-${Literal}"),
        ({"Fn::Sub": ["${A}-${Env}", {"A": {"Ref": "AWS::Region"}}]}, "eu-west-1-dev"),
        ({"Fn::Join": [":", ["a", {"Ref": "Env"}, 3]]}, "a:dev:3"),
        ({"Fn::Join": [",", {"Ref": "Subnets"}]}, "a,b,c"),
        ({"Fn::Select": ["1", {"Ref": "Subnets"}]}, "b"),
        ({"Fn::Split": ["/", "a/b/c"]}, ["a", "b", "c"]),
        ({"Fn::If": ["IsProd", "yes", "no"]}, "no"),
        ({"Fn::Equals": ["a", "a"]}, True),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Type"]}, "small"),
        ({"Fn::FindInMap": ["Sizes", "test", "Type", {"DefaultValue": "tiny"}]}, "tiny"),
        ({"Fn::GetAZs": ""}, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
        ({"Fn::GetAZs": {"Ref": "AWS::Region"}}, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
        ({"Fn::ImportValue": {"Fn::Sub": "${Env}-vpc"}}, "imported-dev-vpc"),
        ({"Fn::Base64": "hello"}, "aGVsbG8="),
        ({"Fn::Cidr": ["10.0.0.0/16", 3, 8]}, ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]),
        ({"Fn::Cidr": ["2001:db8::/56", 2, 64]}, ["2001:db8::/64", "2001:db8:0:1::/64"]),
        ({"Fn::Length": {"Ref": "Subnets"}}, 3),
        ({"Fn::ToJsonString": {"a": [1, {"Ref": "Env"}]}}, '{"a":[1,"dev"]}'),
        ({"Fn::GetAtt": ["Bucket", "Outputs.X"]}, "out"),
        ({"k": {"Ref": "AWS::NoValue"}, "l": ["x", {"Ref": "AWS::NoValue"}]}, {"l": ["x"]}),
    ],
)
def test_intrinsic(expr: Any, expected: Any) -> None:
    tpl = template.load(YAML)
    assert evaluate(expr, scope_for(tpl, values_of(tpl))) == expected


def test_unresolved_values_flow_through_functions() -> None:
    tpl = template.load(YAML)
    scope = scope_for(tpl, values_of(tpl))
    assert evaluate({"Fn::Join": ["-", ["a", {"Fn::GetAtt": ["Bucket", "Unknown"]}]]}, scope) is UNRESOLVED
    assert evaluate({"Fn::Sub": "${Bucket.Unknown}"}, scope) is UNRESOLVED
    assert evaluate({"Ref": "AWS::NoValue"}, scope) is NO_VALUE


def test_language_extension_functions_need_the_transform() -> None:
    tpl = template.load("Resources:\n  B: {Type: 'AWS::S3::Bucket'}\n")
    with pytest.raises(TemplateError, match="LanguageExtensions"):
        evaluate({"Fn::Length": [1, 2]}, scope_for(tpl, {}))


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"Env": "test"}, "AllowedValues"),
        ({"Count": "x"}, "must be a number"),
        ({"Count": "9"}, "not greater than 5"),
        ({"Count": "0"}, "not less than 1"),
        ({"Name": "ABC"}, "must match pattern"),
        ({"Name": "a"}, "at least 2"),
        ({"Name": "abcdefghij"}, "at most 8"),
    ],
)
def test_parameter_constraints(given: dict[str, str], message: str) -> None:
    tpl = template.load(YAML)
    with pytest.raises(CfnValidationError, match=message):
        values_of(tpl, given)


def test_parameter_errors_and_noecho() -> None:
    tpl = template.load("Parameters:\n  A: {Type: String}\n  B: {Type: String, NoEcho: true, Default: s}\nResources:\n  X: {Type: 'AWS::S3::Bucket'}\n")
    with pytest.raises(CfnValidationError, match=r"Parameters: \[A\] must have values"):
        parameters.merge(tpl.parameters, [])
    with pytest.raises(CfnValidationError, match=r"Parameters: \[C\] do not exist"):
        parameters.merge(tpl.parameters, [{"ParameterKey": "A", "ParameterValue": "1"}, {"ParameterKey": "C", "ParameterValue": "1"}])
    given = parameters.merge(tpl.parameters, [{"ParameterKey": "A", "ParameterValue": "1"}])
    shown = parameters.describe(tpl.parameters, given, {})
    assert shown == [{"ParameterKey": "A", "ParameterValue": "1"}, {"ParameterKey": "B", "ParameterValue": "****"}]
    summary = parameters.summary(tpl.parameters, for_summary=True)
    assert summary[1] == {"ParameterKey": "B", "DefaultValue": "s", "ParameterType": "String", "NoEcho": True, "ParameterConstraints": {}}


def test_ssm_parameter_types_are_looked_up() -> None:
    tpl = template.load("Parameters:\n  Ami: {Type: 'AWS::SSM::Parameter::Value<String>', Default: /config/ami}\nResources:\n  X: {Type: 'AWS::S3::Bucket'}\n")

    async def lookup(name: str) -> str:
        return {"/config/ami": "ami-123"}[name]

    resolved = asyncio.run(parameters.resolve(tpl.parameters, {"Ami": "/config/ami"}, lookup))
    assert resolved.values == {"Ami": "ami-123"} and resolved.resolved_ssm == {"Ami": "ami-123"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Resources: {}", "At least one Resources member"),
        ("Resources:\n  A: {Type: 'AWS::S3::Bucket'}\n  A: {Type: 'AWS::S3::Bucket'}\n", "Duplicate key"),
        ("Resources:\n  A: {Type: 'AWS::S3::Bucket', Bogus: 1}\n", "Unrecognized resource attribute"),
        ("Foo: 1\nResources:\n  A: {Type: 'AWS::S3::Bucket'}\n", r"Invalid template property or properties \[Foo\]"),
        ("{not json", "JSON not well-formed"),
        ("Resources: [\n", "YAML not well-formed"),
        ("Resources:\n  A-B: {Type: 'AWS::S3::Bucket'}\n", "non alphanumeric"),
    ],
)
def test_template_errors(body: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        template.load(body)


def test_graph_orders_and_finds_cycles() -> None:
    resources = {
        "A": {"Type": "T"},
        "B": {"Type": "T", "Properties": {"X": {"Ref": "A"}}},
        "C": {"Type": "T", "Properties": {"X": {"Fn::Sub": "${B.Arn}-${A}"}}, "DependsOn": "A"},
        "D": {"Type": "T", "Properties": {"X": {"Fn::If": ["Cond", {"Ref": "C"}, "none"]}}},
    }
    deps = graph.build(resources, lambda c: False)
    assert deps == {"A": set(), "B": {"A"}, "C": {"A", "B"}, "D": set()}
    assert graph.build(resources, lambda c: True)["D"] == {"C"}
    order = graph.order(deps)
    assert order.index("A") < order.index("B") < order.index("C")
    resources["A"]["DependsOn"] = "C"
    with pytest.raises(TemplateError, match=r"Circular dependency between resources: \[A, B, C\]"):
        graph.build(resources)
