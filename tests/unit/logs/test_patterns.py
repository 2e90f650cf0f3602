"""CloudWatch Logs filter patterns, without a server."""

from __future__ import annotations

import pytest

from seedbed.services.logs.errors import InvalidParameter
from seedbed.services.logs.patterns import compile_pattern


def matches(pattern: str, *messages: str) -> list[bool]:
    match = compile_pattern(pattern)
    return [match(m) for m in messages]


def test_empty_pattern_matches_everything() -> None:
    assert matches("", "anything", " ") == [True, True]
    assert matches("   ", "x") == [True]


def test_terms_are_case_sensitive_and_all_required() -> None:
    assert matches("ERROR", "[ERROR] disk", "error: disk", "ERRORS") == [True, False, True]
    assert matches("ERROR disk", "ERROR on disk", "ERROR on net") == [True, False]


def test_quoted_phrases_and_exclusions() -> None:
    assert matches('"Failed to connect"', "Failed to connect: x", "Failed  to connect") == [True, False]
    assert matches("ERROR -Exiting", "ERROR retry", "ERROR Exiting now", "INFO") == [True, False, False]
    assert matches('-"/health check"', "GET /health check", "GET /x") == [False, True]


def test_optional_terms_match_any() -> None:
    assert matches("?ERROR ?WARN", "WARN low", "ERROR x", "INFO") == [True, True, False]


def test_regex_patterns() -> None:
    assert matches("%[0-9]{3} ms%", "took 123 ms", "took 12 ms") == [True, False]
    with pytest.raises(InvalidParameter):
        compile_pattern("%[%")


def test_json_patterns() -> None:
    events = ['{"level": "error", "code": 503, "user": {"id": "u1"}, "tags": ["a", "b"]}',
              '{"level": "info", "code": 200, "user": {"id": "u2"}, "ok": true}',
              "not json"]
    assert matches('{ $.level = "error" }', *events) == [True, False, False]
    assert matches("{ $.level = err* }", *events) == [True, False, False]
    assert matches("{ $.code >= 500 }", *events) == [True, False, False]
    assert matches("{ $.code != 200 }", *events) == [True, False, False]
    assert matches('{ $.user.id = "u2" && $.code < 300 }', *events) == [False, True, False]
    assert matches('{ ($.code = 503) || ($.level = "info") }', *events) == [True, True, False]
    assert matches('{ $.tags[1] = "b" }', *events) == [True, False, False]
    assert matches("{ $.ok IS TRUE }", *events) == [False, True, False]
    assert matches("{ $.ok NOT EXISTS }", *events) == [True, False, False]


def test_space_delimited_patterns() -> None:
    line = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 1534'
    assert matches("[ip, id, user, timestamp, request, status_code = 404, size]", line) == [True]
    assert matches("[ip, id, user, timestamp, request, status_code = 2*, size]", line) == [False]
    assert matches("[ip, ..., status_code = 4* || status_code = 5*, size > 1000]", line) == [True]
    assert matches("[ip, user]", line) == [False]


@pytest.mark.parametrize("bad", ["{ $.a = }", "{ level = 1 }", '"unterminated', "[a, (b]"])
def test_bad_patterns_are_refused(bad: str) -> None:
    with pytest.raises(InvalidParameter):
        compile_pattern(bad)
