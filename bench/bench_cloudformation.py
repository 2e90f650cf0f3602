"""CloudFormation: create and delete a 200-resource stack (100 SSM parameters, 100 buckets),
Seedbed against moto's CloudFormation (``moto_server``), same client, same run.

Each round times one stack from CreateStack to CREATE_COMPLETE and from DeleteStack to the stack
being gone, polling DescribeStacks every 2 ms with the same boto3 client for both servers. Target:
Seedbed at least 10x faster. The first round of each server is reported apart (it loads models and
resource schemas); the verdict uses the best warm round of each.
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import boto3
from botocore.config import Config

from bench.harness import BIN, Server, free_port, start_seedbed, wait_for

TARGET_SPEEDUP = 10.0
ROUNDS = 4


def template(tag: str, count: int = 100) -> str:
    resources: dict[str, Any] = {}
    for i in range(count):
        resources[f"Param{i}"] = {"Type": "AWS::SSM::Parameter", "Properties": {"Name": f"/bench/{tag}/p{i}", "Type": "String", "Value": f"v{i}"}}
        resources[f"Bucket{i}"] = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": f"bench-{tag}-b{i}"}}
    return json.dumps({"Resources": resources})


def start_moto() -> Server:
    port = free_port()
    proc = subprocess.Popen([str(BIN / "moto_server"), "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(f"http://127.0.0.1:{port}/")
    return Server(proc, port)


def client(port: int, key: str, secret: str) -> Any:
    return boto3.client(
        "cloudformation", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}),
    )


def one_round(cf: Any, name: str, body: str) -> tuple[float, float]:
    start = time.perf_counter()
    cf.create_stack(StackName=name, TemplateBody=body)
    while True:
        status = cf.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        if status != "CREATE_IN_PROGRESS":
            break
        time.sleep(0.002)
    created = time.perf_counter()
    if status != "CREATE_COMPLETE":
        raise RuntimeError(f"{name}: {status}")
    cf.delete_stack(StackName=name)
    while True:
        try:
            stacks = cf.describe_stacks(StackName=name)["Stacks"]
        except cf.exceptions.ClientError:
            break
        if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
            break
        time.sleep(0.002)
    return created - start, time.perf_counter() - created


def run() -> dict[str, float]:
    seedbed, creds = start_seedbed()
    moto = start_moto()
    results: dict[str, list[tuple[float, float]]] = {"seedbed": [], "moto": []}
    try:
        clients = {
            "seedbed": client(seedbed.port, creds["aws_access_key_id"], creds["aws_secret_access_key"]),
            "moto": client(moto.port, "testing", "testing"),
        }
        for r in range(ROUNDS):
            for name, cf in clients.items():  # interleaved, so machine noise hits both alike
                results[name].append(one_round(cf, f"bench{r}", template(f"r{r}")))
    finally:
        seedbed.stop()
        moto.stop()
    print("CloudFormation: create + delete a 200-resource stack (100 SSM parameters, 100 buckets)")
    best = {}
    for name, rounds in results.items():
        first = rounds[0]
        warm = min(rounds[1:], key=sum)
        best[name] = sum(warm)
        print(f"  {name:<8} first round: create {first[0] * 1000:8.1f} ms, delete {first[1] * 1000:8.1f} ms;"
              f"  best warm: create {warm[0] * 1000:8.1f} ms, delete {warm[1] * 1000:8.1f} ms, total {sum(warm) * 1000:8.1f} ms")
    speedup = best["moto"] / best["seedbed"]
    cold = sum(results["moto"][0]) / sum(results["seedbed"][0])
    verdict = "OK" if speedup >= TARGET_SPEEDUP else "UNDER TARGET"
    print(f"  speedup vs moto: {speedup:.1f}x warm, {cold:.1f}x first round (target >= {TARGET_SPEEDUP:.0f}x): {verdict}")
    return {"speedup": speedup, "speedup_first_round": cold, "seedbed_ms": best["seedbed"] * 1000, "moto_ms": best["moto"] * 1000}


if __name__ == "__main__":
    run()
