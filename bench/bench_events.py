"""EventBridge: PutEvents to the start of the Lambda function a rule targets (median of 30), beside
a same-run baseline, a bare PutEvents that no rule matches. Target: under 50 ms.

The function writes ``time.time()`` at handler start into a file named in the event (Seedbed runs
functions as local processes, so the bench reads the clock its own process shares); the latency is
that time minus the time just before ``put_events`` was called. Events are sent one at a time,
each after the previous one started, so no event waits in a queue behind another.
"""

from __future__ import annotations

import io
import json
import statistics
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bench.harness import start_seedbed

ROUNDS = 30
TARGET_MS = 50.0
HANDLER = """
import time

def handler(event, context):
    started = time.time()
    with open(event["detail"]["path"], "w") as out:
        out.write(repr(started))
"""


def _client(service: str, port: int, creds: dict[str, str]) -> Any:
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name=creds["region"],
                        aws_access_key_id=creds["aws_access_key_id"], aws_secret_access_key=creds["aws_secret_access_key"],
                        config=Config(retries={"max_attempts": 1}))


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


def _setup(port: int, creds: dict[str, str]) -> Any:
    iam, lam, events = (_client(s, port, creds) for s in ("iam", "lambda", "events"))
    role = iam.create_role(RoleName="bench-fn", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))
    function = lam.create_function(FunctionName="bench-fn", Runtime="python3.12", Role=role["Role"]["Arn"],
                                   Handler="index.handler", Code={"ZipFile": _zip(HANDLER)})["FunctionArn"]
    rule_arn = events.put_rule(Name="bench", EventPattern=json.dumps({"source": ["bench.app"]}))["RuleArn"]
    lam.add_permission(FunctionName="bench-fn", StatementId="events", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=rule_arn)
    events.put_targets(Rule="bench", Targets=[{"Id": "fn", "Arn": function}])
    return events


def _wait_file(path: Path, timeout: float = 60.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = path.read_text()
            if text:
                return float(text)
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.0005)
    raise RuntimeError(f"the function did not start within {timeout} s")


def run() -> dict[str, float]:
    server, creds = start_seedbed()
    scratch = Path(tempfile.mkdtemp(prefix="seedbed-bench-events-"))
    try:
        events = _setup(server.port, creds)

        def put(source: str, path: Path) -> float:
            entry = {"Source": source, "DetailType": "Bench", "Detail": json.dumps({"path": str(path)})}
            start = time.time()
            out = events.put_events(Entries=[entry])
            assert out["FailedEntryCount"] == 0, out
            return start

        put("bench.app", scratch / "warm")
        _wait_file(scratch / "warm", timeout=120)
        bare: list[float] = []
        for i in range(ROUNDS):
            start = time.perf_counter()
            put("bench.unmatched", scratch / f"none-{i}")
            bare.append(time.perf_counter() - start)
        latencies: list[float] = []
        for i in range(ROUNDS):
            path = scratch / f"e-{i}"
            sent = put("bench.app", path)
            latencies.append(_wait_file(path) - sent)
    finally:
        server.stop()
    bare_ms = statistics.median(bare) * 1000
    start_ms = statistics.median(latencies) * 1000
    print(f"EventBridge: PutEvents -> Lambda handler start (rule with one Lambda target), {ROUNDS} events")
    print(f"  baseline: bare PutEvents (no rule matches), median {bare_ms:.2f} ms")
    print(f"  PutEvents -> handler start: median {start_ms:.2f} ms, p90 {sorted(latencies)[int(ROUNDS * 0.9) - 1] * 1000:.2f} ms, "
          f"max {max(latencies) * 1000:.2f} ms; ratio to baseline {start_ms / bare_ms:.1f}x "
          f"(target < {TARGET_MS:.0f} ms): {'OK' if start_ms < TARGET_MS else 'OVER TARGET'}")
    return {"put_events_median_ms": bare_ms, "delivery_start_median_ms": start_ms, "ratio": start_ms / bare_ms}


if __name__ == "__main__":
    run()
