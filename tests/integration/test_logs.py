"""CloudWatch Logs against the live server: boto3, the unchanged AWS CLI v1 (get-log-events paging
with the tokens the CLI hands back), and ``seedbed logs tail`` (with and without --follow)."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

from tests.conftest import BIN, LiveServer
from tests.integration.test_s3_cli import aws, shell_env
from tests.integration.test_sagemaker_negative import seedbed


def _group(server: LiveServer, events: int) -> tuple[str, int]:
    logs = server.client("logs")
    group = f"/seedbed/test/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group, tags={"suite": "logs"})
    logs.create_log_stream(logGroupName=group, logStreamName="algo-1")
    logs.create_log_stream(logGroupName=group, logStreamName="algo-2")
    base = int(time.time() * 1000) - 60_000
    logs.put_log_events(logGroupName=group, logStreamName="algo-1", logEvents=[
        {"timestamp": base + i, "message": f"{'ERROR' if i % 5 == 0 else 'INFO'} line {i}"} for i in range(events)])
    logs.put_log_events(logGroupName=group, logStreamName="algo-2", logEvents=[
        {"timestamp": base + 1, "message": '{"level": "warn", "code": 7}'}])
    return group, base


def test_boto3_paging_filtering_and_errors(server: LiveServer) -> None:
    logs = server.client("logs")
    group, base = _group(server, 25)
    seen, token, calls = [], None, 0
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = logs.get_log_events(logGroupName=group, logStreamName="algo-1", startFromHead=True, limit=10, **kwargs)
        calls += 1
        seen += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert seen == [f"{'ERROR' if i % 5 == 0 else 'INFO'} line {i}" for i in range(25)] and calls == 4
    newest = logs.get_log_events(logGroupName=group, logStreamName="algo-1", limit=3)
    assert [e["message"] for e in newest["events"]] == ["INFO line 22", "INFO line 23", "INFO line 24"]
    older = logs.get_log_events(logGroupName=group, logStreamName="algo-1", limit=3, nextToken=newest["nextBackwardToken"])
    assert [e["message"] for e in older["events"]] == ["INFO line 19", "ERROR line 20", "INFO line 21"]

    errors = logs.filter_log_events(logGroupName=group, filterPattern="ERROR")["events"]
    assert [e["message"] for e in errors] == [f"ERROR line {i}" for i in range(0, 25, 5)]
    as_json = logs.filter_log_events(logGroupName=group, filterPattern='{ $.level = "warn" }')["events"]
    assert [(e["logStreamName"], e["message"]) for e in as_json] == [("algo-2", '{"level": "warn", "code": 7}')]
    paginator = logs.get_paginator("filter_log_events")
    pages = list(paginator.paginate(logGroupName=group, PaginationConfig={"PageSize": 7}))
    assert sum(len(p["events"]) for p in pages) == 26 and len(pages) == 4

    streams = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["algo-1", "algo-2"]
    assert streams[0]["firstEventTimestamp"] == base and streams[0]["lastEventTimestamp"] == base + 24
    described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert logs.list_tags_for_resource(resourceArn=described["logGroupArn"])["tags"] == {"suite": "logs"}

    try:
        logs.get_log_events(logGroupName=group, logStreamName="nope")
    except logs.exceptions.ResourceNotFoundException as exc:
        assert "log stream" in str(exc)
    else:
        raise AssertionError("expected ResourceNotFoundException")
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    else:
        raise AssertionError("expected ResourceAlreadyExistsException")
    out = logs.put_log_events(logGroupName=group, logStreamName="algo-1", sequenceToken="49039859213" + "0" * 45,
                              logEvents=[{"timestamp": base - 20 * 86_400_000, "message": "ancient"},
                                         {"timestamp": base + 100, "message": "accepted"}])
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0}


def test_aws_cli_get_log_events_follows_tokens(server: LiveServer, tmp_path: Path) -> None:
    env = shell_env(server)
    group, _ = _group(server, 12)
    messages, token = [], None
    for _ in range(10):
        extra = f" --next-token {token}" if token else " --start-from-head"
        page = json.loads(aws(env, f"logs get-log-events --log-group-name {group} --log-stream-name algo-1 "
                                   f"--limit 6 --output json{extra}", tmp_path))
        messages += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert len(messages) == 12 and messages[0] == "ERROR line 0" and messages[-1] == "INFO line 11"
    filtered = json.loads(aws(env, f"logs filter-log-events --log-group-name {group} "
                                   "--filter-pattern ERROR --output json", tmp_path))
    assert [e["message"] for e in filtered["events"]] == ["ERROR line 0", "ERROR line 5", "ERROR line 10"]
    aws(env, f"logs delete-log-group --log-group-name {group}", tmp_path)
    assert server.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []


def test_seedbed_logs_tail(server: LiveServer) -> None:
    group, _ = _group(server, 6)
    done = seedbed(server.env, "logs", "tail", group, "--since", "1h")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 7
    stamp, stream, message = lines[0].split(" ", 2)
    assert stream == "algo-1" and message == "ERROR line 0" and stamp.endswith("+00:00")
    assert any(line.endswith('algo-2 {"level": "warn", "code": 7}') for line in lines)
    only = seedbed(server.env, "logs", "tail", group, "--since", "1h", "--filter-pattern", "ERROR", "--format", "short")
    assert [line.split(" ", 1)[1] for line in only.stdout.splitlines()] == ["ERROR line 0", "ERROR line 5"]
    missing = seedbed(server.env, "logs", "tail", "/no/such/group")
    assert missing.returncode == 1 and "ResourceNotFoundException" in missing.stderr

    follower = subprocess.Popen([str(BIN / "seedbed"), "logs", "tail", group, "--follow", "--since", "1h",
                                 "--poll-interval", "0.3"], env=server.env, stdout=subprocess.PIPE, text=True)
    try:
        assert follower.stdout is not None
        first = [follower.stdout.readline() for _ in range(7)]
        assert first[0].rstrip().endswith("ERROR line 0")
        server.client("logs").put_log_events(logGroupName=group, logStreamName="algo-2", logEvents=[
            {"timestamp": int(time.time() * 1000), "message": "arrived later"}])
        assert follower.stdout.readline().rstrip().endswith("algo-2 arrived later")
    finally:
        follower.terminate()
        follower.wait(timeout=10)
