"""The event pattern language, example by example from the EventBridge user guide ("Content
filtering in Amazon EventBridge event patterns", "Arrays in event patterns", "Matching null
values and empty strings") and Event Ruler's README, each with the match the guide states."""

from __future__ import annotations

import json
from typing import Any

import pytest

from seedbed.services.events import patterns
from seedbed.services.events.errors import InvalidEventPattern

EC2 = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}

RULER = {
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000",
        "state": "running",
    },
}


def match(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return patterns.matches(json.dumps(pattern), event)


def with_detail(**detail: Any) -> dict[str, Any]:
    return {**EC2, "detail": detail}


def test_the_guides_first_example() -> None:
    pattern = {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
        "detail": {"state": ["terminated"]},
    }
    assert match(pattern, EC2)
    assert not match(pattern, with_detail(state="running"))
    assert not match({"source": ["aws.ec2"], "detail": {"missing": ["x"]}}, EC2)


def test_arrays_are_or_and_event_arrays_intersect() -> None:
    assert match({"source": ["aws.ec2", "aws.fargate"]}, EC2)
    pattern = {
        "resources": [
            "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
            "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
            "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f",
        ]
    }
    event = {
        **EC2,
        "resources": [
            ("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-"
             "b893-d5978ed4a025:autoScalingGroupName/ASGTerminate"),
            "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
        ],
    }
    assert match(pattern, event)
    assert not match(pattern, {**EC2, "resources": ["arn:aws:ec2:us-east-1:1:instance/other"]})


def test_prefix_matching() -> None:
    pattern = {"time": [{"prefix": "2017-10-02"}]}
    assert match(pattern, {**EC2, "time": "2017-10-02T18:43:48Z"})
    assert not match(pattern, EC2)
    assert match({"detail": {"state": [{"prefix": ""}]}}, EC2)


def test_prefix_matching_ignoring_case() -> None:
    pattern = {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}}
    for value in ("EventBridge", "EVENTBRIDGE", "eventbus"):
        assert match(pattern, with_detail(service=value))
    assert not match(pattern, with_detail(service="Events"))


def test_suffix_matching() -> None:
    pattern = {"detail": {"FileName": [{"suffix": ".png"}]}}
    assert match(pattern, with_detail(FileName="image.png"))
    assert not match(pattern, with_detail(FileName="image.PNG"))
    ignore = {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}
    assert match(ignore, with_detail(FileName="image.PNG"))
    assert not match(ignore, with_detail(FileName="image.jpg"))


def test_anything_but_with_strings_and_numbers() -> None:
    assert match({"detail": {"state": [{"anything-but": "initializing"}]}}, EC2)
    assert not match({"detail": {"state": [{"anything-but": "terminated"}]}}, EC2)
    limit = {"detail": {"x-limit": [{"anything-but": 123}]}}
    assert match(limit, with_detail(**{"x-limit": 124}))
    assert not match(limit, with_detail(**{"x-limit": 123}))
    assert not match(limit, with_detail(other=1)), "anything-but needs the field"


def test_anything_but_lists() -> None:
    states = {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}
    assert match(states, with_detail(state="running"))
    assert not match(states, with_detail(state="stopped"))
    numbers = {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}
    assert match(numbers, with_detail(**{"x-limit": 301.8}))
    assert not match(numbers, with_detail(**{"x-limit": 200}))
    assert not match(numbers, with_detail(**{"x-limit": 3.0e2}))


def test_anything_but_prefix_suffix_ignore_case_and_wildcard() -> None:
    prefix = {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}
    assert match(prefix, with_detail(state="running"))
    assert not match(prefix, with_detail(state="initializing"))
    suffix = {"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}}
    assert match(suffix, with_detail(FileName="a.png"))
    assert not match(suffix, with_detail(FileName="a.txt"))
    ignore = {"detail": {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}}
    assert not match(ignore, with_detail(state="INITIALIZING"))
    assert match(ignore, with_detail(state="running"))
    ignore_list = {"detail": {"state": [{"anything-but": {"equals-ignore-case": [
        "Stopped", "OverLoaded"]}}]}}
    assert not match(ignore_list, with_detail(state="STOPPED"))
    assert match(ignore_list, with_detail(state="running"))
    region = {"detail": {"Region": [{"anything-but": {"prefix": "us-"}}]}}
    assert match(region, with_detail(Region="eu-west-1"))
    assert not match(region, with_detail(Region="us-east-1"))
    path = {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}}
    assert match(path, with_detail(FilePath="/usr/bin/python"))
    assert not match(path, with_detail(FilePath="/usr/lib/python"))
    paths = {"detail": {"FilePath": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]}}
    assert not match(paths, with_detail(FilePath="/usr/bin/python"))
    assert match(paths, with_detail(FilePath="/home/me/notes"))


def test_numeric_matching() -> None:
    pattern = {
        "detail": {
            "c-count": [{"numeric": [">", 0, "<=", 5]}],
            "d-count": [{"numeric": ["<", 10]}],
            "x-limit": [{"numeric": ["=", 3.018e2]}],
        }
    }
    assert match(pattern, RULER)
    assert not match(pattern, {**RULER, "detail": {**RULER["detail"], "c-count": 0}})
    assert not match(pattern, {**RULER, "detail": {**RULER["detail"], "c-count": 6}})
    assert not match(pattern, {**RULER, "detail": {**RULER["detail"], "d-count": 10}})
    assert not match(pattern, {**RULER, "detail": {**RULER["detail"], "x-limit": "301.8"}})
    price = {"detail": {"Price": [{"numeric": [">", 10, "<=", 20]}]}}
    assert match(price, with_detail(Price=20)) and not match(price, with_detail(Price=10))
    assert match({"detail": {"Price": [100]}}, with_detail(Price=100.0))


def test_ip_address_matching() -> None:
    pattern = {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}}
    assert match(pattern, with_detail(sourceIPAddress="10.0.0.255"))
    assert not match(pattern, with_detail(sourceIPAddress="10.0.1.1"))
    six = {"detail": {"sourceIPAddress": [{"cidr": "2001:db8::/64"}]}}
    assert match(six, with_detail(sourceIPAddress="2001:db8::1"))
    assert not match(six, with_detail(sourceIPAddress="2001:db9::1"))


def test_exists_matching() -> None:
    exists = {"detail": {"state": [{"exists": True}]}}
    pending = {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "123456789012",
        "time": "2015-11-11T21:29:54Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
        "detail": {"instance-id": "i-abcd1111", "state": "pending"},
    }
    assert match(exists, pending)
    no_state = {"detail-type": ["EC2 Instance State-change Notification"],
                "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
                "detail": {"c-count": {"c1": 100}}}
    assert not match(exists, no_state)
    absent = {"detail": {"c-count": [{"exists": False}]}}
    assert match(absent, {"detail": {"state": ["initializing", "running"]}})
    # c-count is not a leaf here, so it "does not exist" for exists matching.
    assert match(absent, no_state)
    assert not match(absent, RULER)
    assert match({"detail": {"nothing": {"deeper": [{"exists": False}]}}}, EC2)


def test_equals_ignore_case() -> None:
    pattern = {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]}
    assert match(pattern, EC2)
    assert match({"detail": {"Name": [{"equals-ignore-case": "alice"}]}}, with_detail(Name="Alice"))
    assert not match({"detail": {"Name": [{"equals-ignore-case": "alice"}]}}, with_detail(Name="Bob"))


def test_wildcard_matching() -> None:
    bus = {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}
    assert match(bus, {**EC2, "EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/b"})
    assert not match(bus, {**EC2, "EventBusArn": "arn:aws:events:us-west-2:1:event-bus/b"})
    png = {"detail": {"FileName": [{"wildcard": "dir/*.png"}]}}
    assert match(png, with_detail(FileName="dir/a.png"))
    assert match(png, with_detail(FileName="dir/sub/a.png"))
    assert not match(png, with_detail(FileName="other/a.png"))
    star = {"detail": {"x": [{"wildcard": "a\\*b"}]}}
    assert match(star, with_detail(x="a*b")) and not match(star, with_detail(x="axb"))
    assert match({"source": [{"wildcard": "Simple*Service"}]}, {"source": "SimpleService"})


def test_null_and_empty_values() -> None:
    event = with_detail(responseElements=None, eventVersion="", LastName="")
    assert match({"detail": {"responseElements": [None]}}, event)
    assert match({"detail": {"eventVersion": [""]}}, event)
    assert not match({"detail": {"eventVersion": [None]}}, event)
    assert match({"detail": {"responseElements": [{"exists": True}]}}, event)
    assert match({"detail": {"flag": [True]}}, with_detail(flag=True))
    assert not match({"detail": {"flag": [True]}}, with_detail(flag="true"))


def test_or_matching() -> None:
    pattern = {
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"namespace": ["AWS/EC2", "AWS/ES"]},
        ],
    }
    assert match(pattern, {"source": "aws.cloudwatch", "namespace": "AWS/EC2"})
    assert match(pattern, {"source": "aws.cloudwatch", "metricName": "ReadLatency"})
    assert not match(pattern, {"source": "aws.cloudwatch", "metricName": "Other"})
    assert not match(pattern, {"source": "aws.ec2", "namespace": "AWS/EC2"})
    nested = {
        "detail": {
            "$or": [
                {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                {"d-count": [{"numeric": ["<", 10]}]},
                {"x-limit": [{"numeric": ["=", 3.018e2]}]},
            ]
        }
    }
    assert match(nested, with_detail(**{"d-count": 3}))
    assert not match(nested, with_detail(**{"d-count": 30}))
    inner_and = {
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization"]},
            {"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"],
             "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]},
        ],
    }
    ok = {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/ES",
          "spaceId": 1000}
    assert match(inner_and, ok)
    assert not match(inner_and, {**ok, "spaceId": 1})


def test_arrays_of_objects_match_consistently() -> None:
    event = {"employees": [{"firstName": "John", "lastName": "Doe"},
                           {"firstName": "Anna", "lastName": "Smith"},
                           {"firstName": "Peter", "lastName": "Jones"}]}
    assert match({"employees": {"firstName": ["Anna"]}}, event)
    assert not match({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}, event)
    assert match({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}, event)
    nested = {"employees": [[{"firstName": "John"}, {"firstName": "Anna"}], [{"firstName": "Peter"}]]}
    assert match({"employees": {"firstName": ["Peter"]}}, nested)


def test_complex_example_with_multiple_matching() -> None:
    pattern = {
        "time": [{"prefix": "2017-10-02"}],
        "detail": {
            "state": [{"anything-but": "initializing"}],
            "c-count": [{"numeric": [">", 0, "<=", 5]}],
            "d-count": [{"numeric": ["<", 10]}],
            "x-limit": [{"anything-but": [100, 200, 300]}],
            "source-ip": [{"cidr": "10.0.0.0/8"}],
        },
    }
    assert match(pattern, RULER)
    assert not match(pattern, {**RULER, "detail": {**RULER["detail"], "state": "initializing"}})


def test_a_repeated_key_uses_its_last_value() -> None:
    text = '{"detail": {"location": [{"prefix": "us-"}], "location": [{"anything-but": "us-east"}]}}'
    assert patterns.matches(text, with_detail(location="eu-west"))
    assert not patterns.matches(text, with_detail(location="us-east"))


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ('["source"]', "Filter is not an object"),
        ('{"source": "aws.ec2"}', '"source" must be an object or an array'),
        ('{"source": []}', "Empty arrays are not allowed"),
        ('{"detail": {}}', "Empty objects are not allowed"),
        ('{"source": [{"prefx": "a"}]}', "Unrecognized match type prefx"),
        ('{"source": [{"prefix": 1}]}', "prefix match pattern must be a string"),
        ('{"n": [{"numeric": [">", "a"]}]}', "Value of > must be numeric"),
        ('{"n": [{"numeric": ["<", 1, ">", 5]}]}', "Too many elements in numeric expression"),
        ('{"n": [{"numeric": [">", 5, "<", 1]}]}', "Bottom must be less than top"),
        ('{"n": [{"numeric": [">", 6e9]}]}', "Value must be between -5.0E9 and 5.0E9, inclusive"),
        ('{"n": [{"numeric": "x"}]}', "Value of numeric must be an array."),
        ('{"n": [{"exists": "yes"}]}', "exists match pattern must be either true or false."),
        ('{"n": [{"anything-but": [1, "a"]}]}', "mixed type is not supported"),
        ('{"n": [{"anything-but": {"contains": "a"}}]}', "Unsupported anything-but pattern"),
        ('{"n": [{"wildcard": "a**b"}]}', "Consecutive wildcard characters at pos 2"),
        ('{"n": [{"cidr": "10.0.0.0/99"}]}', "Nonstandard IP address"),
        ('{"n": [{"prefix": "a", "suffix": "b"}]}', "Only one key allowed in match expression"),
        ('{"n": [[1]]}', "Match value must be String, number, true, false, or null"),
        ("{not json", "Unrecognized JSON"),
    ],
)
def test_invalid_patterns_are_refused_as_eventbridge_does(pattern: str, reason: str) -> None:
    with pytest.raises(InvalidEventPattern) as exc:
        patterns.check(pattern)
    assert exc.value.code == "InvalidEventPatternException"
    assert exc.value.message.startswith("Event pattern is not valid. Reason: ")
    assert reason in exc.value.message
