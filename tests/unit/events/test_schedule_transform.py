"""Schedule expressions and target input transformation, without a server."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from seedbed.services.events import schedule, transform
from seedbed.services.events.errors import Validation


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(12 hours)", "rate(1 day)",
        "rate(7 days)", "cron(0 10 * * ? *)", "cron(15 12 * * ? *)", "cron(0 18 ? * MON-FRI *)",
        "cron(0 8 1 * ? *)", "cron(0/15 * * * ? *)", "cron(0/10 * ? * MON-FRI *)",
        "cron(0/5 8-17 ? * MON-FRI *)", "cron(0 9 ? * 2#1 *)", "cron(0 0 L * ? *)",
        "cron(0 0 15W * ? *)", "cron(0 0 LW * ? *)", "cron(0 0 ? * 6L *)",
        "cron(30 2 ? JAN,JUL SUN 2030-2035)",
    ],
)
def test_valid_expressions(expression: str) -> None:
    schedule.parse(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)", "rate(1 minutes)", "rate(5 minute)", "rate(2 weeks)", "rate(-1 days)",
        "rate(5)", "cron(0 10 * * * *)", "cron(0 10 ? * ? *)", "cron(0 10 * * ?)",
        "cron(60 10 * * ? *)", "cron(0 24 * * ? *)", "cron(0 0 32 * ? *)", "cron(0 0 ? 13 * *)",
        "cron(0 0 ? * 8 *)", "cron(0 0 ? * 2#6 *)", "cron(0 0 * * ? 1969)", "every day",
        "cron(5-1 * * * ? *)", "cron(*/0 * * * ? *)",
    ],
)
def test_invalid_expressions(expression: str) -> None:
    with pytest.raises(Validation) as exc:
        schedule.parse(expression)
    assert exc.value.message == "Parameter ScheduleExpression is not valid."


def test_rate_counts_from_the_rule() -> None:
    rate = schedule.parse("rate(5 minutes)")
    anchor = utc(2024, 1, 1, 12, 0, 30)
    assert rate.next_after(anchor, utc(2024, 1, 1, 12, 1)) == utc(2024, 1, 1, 12, 5, 30)
    assert rate.next_after(anchor, utc(2024, 1, 1, 12, 5, 30)) == utc(2024, 1, 1, 12, 10, 30)


def test_cron_next_times() -> None:
    anchor = utc(2024, 1, 1)

    def nxt(expression: str, now: datetime) -> datetime | None:
        return schedule.parse(expression).next_after(anchor, now)

    assert nxt("cron(0 10 * * ? *)", utc(2024, 3, 5, 9, 59)) == utc(2024, 3, 5, 10, 0)
    assert nxt("cron(0 10 * * ? *)", utc(2024, 3, 5, 10, 0)) == utc(2024, 3, 6, 10, 0)
    assert nxt("cron(0/15 * * * ? *)", utc(2024, 3, 5, 9, 1)) == utc(2024, 3, 5, 9, 15)
    # 2024-03-09 is a Saturday: the next weekday 18:00 is Monday the 11th.
    assert nxt("cron(0 18 ? * MON-FRI *)", utc(2024, 3, 8, 19)) == utc(2024, 3, 11, 18, 0)
    assert nxt("cron(0 0 L * ? *)", utc(2024, 2, 3)) == utc(2024, 2, 29)
    # First Monday (2#1) of April 2024 is the 1st; of May the 6th.
    assert nxt("cron(0 9 ? * 2#1 *)", utc(2024, 4, 2)) == utc(2024, 5, 6, 9)
    # The last Friday (6L) of March 2024 is the 29th.
    assert nxt("cron(0 0 ? * 6L *)", utc(2024, 3, 1)) == utc(2024, 3, 29)
    # 2024-06-15 is a Saturday: 15W fires on Friday the 14th.
    assert nxt("cron(0 0 15W * ? *)", utc(2024, 6, 1)) == utc(2024, 6, 14)
    assert nxt("cron(0 0 1 1 ? 2030)", utc(2024, 1, 1)) == utc(2030, 1, 1)
    assert nxt("cron(0 0 1 1 ? 2020)", utc(2024, 1, 1)) is None


EVENT = {
    "version": "0", "id": "e1", "detail-type": "Deploy", "source": "my.app",
    "account": "123456789012", "time": "2024-01-01T00:00:00Z", "region": "us-east-1",
    "resources": ["arn:aws:x"],
    "detail": {"instance-id": "i-1", "state": "running", "n": 3, "tags": ["a", "b"],
               "quote": 'say "hi"'},
}


def test_input_path_subset() -> None:
    assert transform.select(EVENT, "$") == EVENT
    assert transform.select(EVENT, "$.detail.state") == "running"
    assert transform.select(EVENT, "$['detail-type']") == "Deploy"
    assert transform.select(EVENT, "$.detail.tags[1]") == "b"
    assert transform.select(EVENT, "$.detail.nothing") is None
    for bad in ("detail", "$..x", "$.a[*]"):
        with pytest.raises(transform.PathError):
            transform.parse_path(bad)


def test_input_transformer_fills_strings_and_json() -> None:
    paths = {"instance": "$.detail.instance-id", "state": "$.detail.state", "n": "$.detail.n",
             "tags": "$.detail.tags", "quote": "$.detail.quote", "missing": "$.detail.zzz"}
    template = ('{"text": "<instance> is <state>", "state": <state>, "n": <n>, "tags": <tags>, '
                '"q": "<quote>", "m": <missing>, "rule": "<aws.events.rule-name>", '
                '"arn": "<aws.events.rule-arn>", "event": <aws.events.event>, '
                '"at": "<aws.events.event.ingestion-time>"}')
    out = json.loads(transform.render(template, paths, EVENT, "arn:aws:events:r", "r"))
    assert out == {
        "text": "i-1 is running", "state": "running", "n": 3, "tags": ["a", "b"],
        "q": 'say "hi"', "m": None, "rule": "r", "arn": "arn:aws:events:r", "event": EVENT,
        "at": "2024-01-01T00:00:00Z",
    }
    plain = transform.render('"<instance> is in state <state>"', paths, EVENT, "a", "r")
    assert json.loads(plain) == "i-1 is in state running"
    # A <tag> that names no variable stays as it is.
    assert transform.render("<b>x</b>", {}, EVENT, "a", "r") == "<b>x</b>"


def test_target_input_kinds() -> None:
    base = {"Id": "t", "Arn": "arn:aws:lambda:us-east-1:1:function:f"}
    assert json.loads(transform.target_input(base, EVENT, "a", "r")) == EVENT
    assert transform.target_input({**base, "Input": '{"k": 1}'}, EVENT, "a", "r") == '{"k": 1}'
    assert json.loads(transform.target_input({**base, "InputPath": "$.detail"}, EVENT, "a", "r")) \
        == EVENT["detail"]
    assert transform.check_transformer({"aws.x": "$.a"}, "x") is not None
    assert transform.check_transformer({"ok": "nope"}, "x") is not None
    assert transform.check_transformer({"ok": "$.a"}, "<ok>") is None
