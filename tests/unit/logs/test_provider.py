"""CloudWatch Logs operations in process: validation, paging tokens, retention, filtering."""

from __future__ import annotations

import asyncio
import time

import pytest

from seedbed.errors import ServiceError
from seedbed.runtime.logsink import LogStream
from tests.unit.logs.conftest import Api

DAY = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


def make_stream(logs: Api, group: str = "/app/g", stream: str = "s1") -> None:
    try:
        logs("CreateLogGroup", logGroupName=group)
    except ServiceError as exc:
        assert exc.code == "ResourceAlreadyExistsException"
    logs("CreateLogStream", logGroupName=group, logStreamName=stream)


def test_groups_create_describe_retention_tags_delete(logs: Api) -> None:
    logs("CreateLogGroup", logGroupName="/a/one", kmsKeyId="alias/x", tags={"team": "ml"})
    logs("CreateLogGroup", logGroupName="/a/Two")
    logs("CreateLogGroup", logGroupName="/b/three")
    with pytest.raises(ServiceError) as exc:
        logs("CreateLogGroup", logGroupName="/a/one")
    assert exc.value.code == "ResourceAlreadyExistsException"
    with pytest.raises(ServiceError) as exc:
        logs("PutRetentionPolicy", logGroupName="/a/one", retentionInDays=8)
    assert exc.value.code == "InvalidParameterException"
    logs("PutRetentionPolicy", logGroupName="/a/one", retentionInDays=7)
    groups = logs("DescribeLogGroups", logGroupNamePrefix="/a/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/a/Two", "/a/one"]
    one = groups[1]
    assert one["retentionInDays"] == 7 and one["kmsKeyId"] == "alias/x"
    assert one["arn"].endswith(":log-group:/a/one:*") and one["logGroupArn"].endswith(":log-group:/a/one")
    assert [g["logGroupName"] for g in logs("DescribeLogGroups", logGroupNamePattern="two")["logGroups"]] == ["/a/Two"]
    page = logs("DescribeLogGroups", limit=2)
    assert len(page["logGroups"]) == 2 and page["nextToken"]
    rest = logs("DescribeLogGroups", limit=2, nextToken=page["nextToken"])
    assert [g["logGroupName"] for g in rest["logGroups"]] == ["/b/three"] and "nextToken" not in rest
    arn = one["logGroupArn"]
    logs("TagResource", resourceArn=arn, tags={"env": "dev"})
    assert logs("ListTagsForResource", resourceArn=arn)["tags"] == {"team": "ml", "env": "dev"}
    logs("UntagResource", resourceArn=arn, tagKeys=["team"])
    assert logs("ListTagsLogGroup", logGroupName="/a/one")["tags"] == {"env": "dev"}
    logs("DeleteRetentionPolicy", logGroupName="/a/one")
    assert "retentionInDays" not in logs("DescribeLogGroups", logGroupNamePrefix="/a/one")["logGroups"][0]
    logs("DeleteLogGroup", logGroupName="/a/one")
    with pytest.raises(ServiceError) as exc:
        logs("DeleteLogGroup", logGroupName="/a/one")
    assert exc.value.code == "ResourceNotFoundException"


def test_put_log_events_validation_and_rejections(logs: Api) -> None:
    make_stream(logs)
    now = now_ms()
    out = logs("PutLogEvents", logGroupName="/app/g", logStreamName="s1", sequenceToken="ignored", logEvents=[
        {"timestamp": now - 15 * DAY, "message": "too old"},
        {"timestamp": now, "message": "fine"},
        {"timestamp": now + 3 * 3_600_000, "message": "too new"},
    ])
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0, "tooNewLogEventStartIndex": 2}
    assert out["nextSequenceToken"]
    events = logs("GetLogEvents", logGroupName="/app/g", logStreamName="s1", startFromHead=True)["events"]
    assert [e["message"] for e in events] == ["fine"]
    with pytest.raises(ServiceError, match="chronological"):
        logs("PutLogEvents", logGroupName="/app/g", logStreamName="s1",
             logEvents=[{"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}])
    with pytest.raises(ServiceError, match="24 hours"):
        logs("PutLogEvents", logGroupName="/app/g", logStreamName="s1",
             logEvents=[{"timestamp": now - 2 * DAY, "message": "a"}, {"timestamp": now, "message": "b"}])
    with pytest.raises(ServiceError, match="Upload too large"):
        logs("PutLogEvents", logGroupName="/app/g", logStreamName="s1",
             logEvents=[{"timestamp": now, "message": "x" * 200_000}] * 6)
    with pytest.raises(ServiceError) as exc:
        logs("PutLogEvents", logGroupName="/app/g", logStreamName="nope", logEvents=[{"timestamp": now, "message": "a"}])
    assert exc.value.code == "ResourceNotFoundException" and "log stream" in exc.value.message


def test_get_log_events_tokens_page_both_ways(logs: Api) -> None:
    make_stream(logs)
    base = now_ms() - 60_000
    logs("PutLogEvents", logGroupName="/app/g", logStreamName="s1",
         logEvents=[{"timestamp": base + i, "message": f"m{i}"} for i in range(10)])
    get = lambda **kw: logs("GetLogEvents", logGroupName="/app/g", logStreamName="s1", **kw)
    first = get(startFromHead=True, limit=4)
    assert [e["message"] for e in first["events"]] == ["m0", "m1", "m2", "m3"]
    assert first["nextForwardToken"].startswith("f/") and first["nextBackwardToken"].startswith("b/")
    second = get(nextToken=first["nextForwardToken"], limit=4, startFromHead=True)
    assert [e["message"] for e in second["events"]] == ["m4", "m5", "m6", "m7"]
    third = get(nextToken=second["nextForwardToken"], limit=4, startFromHead=True)
    assert [e["message"] for e in third["events"]] == ["m8", "m9"]
    end = get(nextToken=third["nextForwardToken"], startFromHead=True)
    assert end["events"] == [] and end["nextForwardToken"] == third["nextForwardToken"]
    # Following: new events appear behind the same token.
    logs("PutLogEvents", logGroupName="/app/g", logStreamName="s1", logEvents=[{"timestamp": base + 20, "message": "late"}])
    more = get(nextToken=end["nextForwardToken"], startFromHead=True)
    assert [e["message"] for e in more["events"]] == ["late"]
    # Default (startFromHead false): the newest events, then backwards.
    tail = get(limit=3)
    assert [e["message"] for e in tail["events"]] == ["m8", "m9", "late"]
    back = get(nextToken=tail["nextBackwardToken"], limit=3)
    assert [e["message"] for e in back["events"]] == ["m5", "m6", "m7"]
    start = get(nextToken=get(nextToken=back["nextBackwardToken"], limit=10)["nextBackwardToken"])
    assert start["events"] == []
    # Time range: startTime inclusive, endTime exclusive.
    ranged = get(startTime=base + 2, endTime=base + 5, startFromHead=True)
    assert [e["message"] for e in ranged["events"]] == ["m2", "m3", "m4"]
    with pytest.raises(ServiceError) as exc:
        get(nextToken="f/garbage")
    assert exc.value.code == "InvalidParameterException"


def test_describe_log_streams_order_and_paging(logs: Api) -> None:
    for name in ("b", "a", "c"):
        make_stream(logs, stream=name)
    now = now_ms()
    for offset, name in ((3, "a"), (1, "b"), (2, "c")):
        logs("PutLogEvents", logGroupName="/app/g", logStreamName=name,
             logEvents=[{"timestamp": now - 1000 + offset, "message": "x"}])
    by_name = logs("DescribeLogStreams", logGroupName="/app/g")["logStreams"]
    assert [s["logStreamName"] for s in by_name] == ["a", "b", "c"]
    assert by_name[0]["lastEventTimestamp"] == now - 997 and by_name[0]["storedBytes"] == 0
    by_time = logs("DescribeLogStreams", logGroupName="/app/g", orderBy="LastEventTime", descending=True, limit=2)
    assert [s["logStreamName"] for s in by_time["logStreams"]] == ["a", "c"]
    rest = logs("DescribeLogStreams", logGroupName="/app/g", orderBy="LastEventTime", descending=True,
                nextToken=by_time["nextToken"])
    assert [s["logStreamName"] for s in rest["logStreams"]] == ["b"]
    assert [s["logStreamName"] for s in logs("DescribeLogStreams", logGroupName="/app/g", logStreamNamePrefix="c")["logStreams"]] == ["c"]
    with pytest.raises(ServiceError):
        logs("DescribeLogStreams", logGroupName="/app/g", orderBy="LastEventTime", logStreamNamePrefix="c")


def test_filter_log_events_across_streams_with_paging(logs: Api) -> None:
    make_stream(logs, stream="job/1")
    make_stream(logs, stream="job/2")
    make_stream(logs, stream="other")
    base = now_ms() - 10_000
    for i in range(6):
        name = ("job/1", "job/2", "other")[i % 3]
        logs("PutLogEvents", logGroupName="/app/g", logStreamName=name,
             logEvents=[{"timestamp": base + i, "message": f"{'ERROR' if i % 2 else 'INFO'} {i}"}])
    out = logs("FilterLogEvents", logGroupName="/app/g", filterPattern="ERROR")
    assert [(e["logStreamName"], e["message"]) for e in out["events"]] == [
        ("job/2", "ERROR 1"), ("job/1", "ERROR 3"), ("other", "ERROR 5")]
    assert all(len(e["eventId"]) == 56 for e in out["events"])
    prefixed = logs("FilterLogEvents", logGroupName="/app/g", logStreamNamePrefix="job/")
    assert [e["message"] for e in prefixed["events"]] == ["INFO 0", "ERROR 1", "ERROR 3", "INFO 4"]
    named = logs("FilterLogEvents", logGroupName="/app/g", logStreamNames=["other"], filterPattern="-ERROR")
    assert [e["message"] for e in named["events"]] == ["INFO 2"]
    page = logs("FilterLogEvents", logGroupName="/app/g", limit=4)
    assert len(page["events"]) == 4 and page["nextToken"]
    rest = logs("FilterLogEvents", logGroupName="/app/g", limit=4, nextToken=page["nextToken"])
    assert [e["message"] for e in rest["events"]] == ["INFO 4", "ERROR 5"] and "nextToken" not in rest


def test_retention_hides_and_sweeps_old_events(logs: Api) -> None:
    make_stream(logs)
    now = now_ms()
    for ts, message in ((now - 3 * DAY, "three days"), (now, "today")):
        logs("PutLogEvents", logGroupName="/app/g", logStreamName="s1",
             logEvents=[{"timestamp": ts, "message": message}])
    logs("PutRetentionPolicy", logGroupName="/app/g", retentionInDays=1)
    events = logs("GetLogEvents", logGroupName="/app/g", logStreamName="s1", startFromHead=True)["events"]
    assert [e["message"] for e in events] == ["today"]
    assert [e["message"] for e in logs("FilterLogEvents", logGroupName="/app/g")["events"]] == ["today"]
    assert logs.provider.sweep_retention() == 1
    logs("DeleteRetentionPolicy", logGroupName="/app/g")
    events = logs("GetLogEvents", logGroupName="/app/g", logStreamName="s1", startFromHead=True)["events"]
    assert [e["message"] for e in events] == ["today"]  # the old event is gone for good
    out = logs("PutLogEvents", logGroupName="/app/g", logStreamName="s1",
               logEvents=[{"timestamp": now - 3 * DAY, "message": "old"}])
    assert "rejectedLogEventsInfo" not in out
    logs("PutRetentionPolicy", logGroupName="/app/g", retentionInDays=1)
    out = logs("PutLogEvents", logGroupName="/app/g", logStreamName="s1",
               logEvents=[{"timestamp": now - 3 * DAY, "message": "old"}])
    assert out["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 0}


def test_log_sink_splits_large_writes(logs: Api) -> None:
    sink = LogStream(logs.backend, logs.backend.settings.account_id, logs.backend.settings.region,
                     "/aws/sagemaker/TrainingJobs", "job/algo-1")
    lines = [f"{i:06d} " + "x" * 300 + "\n" for i in range(12_000)]  # ~3.9 MB, over 10,000 lines
    asyncio.run(sink.write(lines))
    asyncio.run(sink.write(["done"]))
    out = logs("GetLogEvents", logGroupName="/aws/sagemaker/TrainingJobs", logStreamName="job/algo-1", limit=2)
    assert [e["message"][:6] for e in out["events"]] == ["011999", "done"]
    streams = logs("DescribeLogStreams", logGroupName="/aws/sagemaker/TrainingJobs")["logStreams"]
    assert streams[0]["logStreamName"] == "job/algo-1"
    group = logs("DescribeLogGroups", logGroupNamePrefix="/aws/sagemaker")["logGroups"][0]
    assert group["storedBytes"] > 3_000_000
