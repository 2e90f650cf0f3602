"""Warm Lambda Invoke latency through boto3, beside a boto3 round trip that runs no code.

One Seedbed, one role, one function (``return event``) warmed up first; boto3 clients (retries
off) call ``lambda:Invoke`` (RequestResponse) and, as the baseline measured in the same run,
``sts:GetCallerIdentity``, interleaved in rounds so that machine noise hits both alike. The
difference is what running a handler in a warm worker adds (pipes to the worker, the function
lookup, the resource policy check, the log lines for CloudWatch). Target (issue 8): warm Invoke
median under 5 ms.
"""

from __future__ import annotations

import io
import json
import statistics
import time
import zipfile

import boto3
from botocore.config import Config

from bench.harness import Stats, start_seedbed

TARGET_MS = 5.0
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def _stats(times: list[float]) -> Stats:
    times = sorted(times)
    return Stats(median_ms=statistics.median(times) * 1000, p90_ms=times[int(len(times) * 0.9)] * 1000,
                 per_second=len(times) / sum(times))


def _time(call, count: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def run(count: int = 500) -> dict[str, Stats | float]:
    seedbed, creds = start_seedbed()
    try:
        kwargs = {"endpoint_url": f"http://127.0.0.1:{seedbed.port}", "region_name": creds["region"],
                  "aws_access_key_id": creds["aws_access_key_id"], "aws_secret_access_key": creds["aws_secret_access_key"],
                  "config": Config(retries={"max_attempts": 1})}
        iam, lam, sts = (boto3.client(s, **kwargs) for s in ("iam", "lambda", "sts"))
        role = iam.create_role(RoleName="bench-fn", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            archive.writestr("index.py", "def handler(event, context):\n    return event\n")
        lam.create_function(FunctionName="bench", Runtime="python3.12", Role=role, Handler="index.handler",
                            Code={"ZipFile": buf.getvalue()})
        payload = b'{"x": 1}'

        def invoke() -> None:
            out = lam.invoke(FunctionName="bench", Payload=payload)
            if out["Payload"].read() != payload:
                raise RuntimeError("unexpected answer")

        _time(invoke, 50)
        _time(sts.get_caller_identity, 50)
        invokes: list[float] = []
        baseline: list[float] = []
        for _ in range(5):
            baseline += _time(sts.get_caller_identity, count // 5)
            invokes += _time(invoke, count // 5)
        rss = seedbed.rss_mb()
    finally:
        seedbed.stop()
    warm, floor = _stats(invokes), _stats(baseline)
    ratio = warm.median_ms / floor.median_ms
    print("Lambda: warm Invoke (RequestResponse) vs GetCallerIdentity, both through boto3")
    print("  " + floor.row("baseline sts:GetCallerIdentity"))
    print("  " + warm.row("lambda:Invoke (warm worker)"))
    verdict = "OK" if warm.median_ms <= TARGET_MS else "OVER TARGET"
    print(f"  ratio {ratio:.2f}x the baseline; warm median {warm.median_ms:.2f} ms (target < {TARGET_MS} ms): {verdict}")
    print(f"  server resident memory after the run: {rss:.0f} MB (workers are separate processes)")
    return {"baseline": floor, "invoke": warm, "ratio": ratio}


if __name__ == "__main__":
    run()
