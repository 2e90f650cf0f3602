"""Crash safety: ``kill -9`` the server at random points of a 30-resource stack create.

After each restart every stack must reach a terminal status (the engine rolls interrupted creates
back), and every bucket or SSM parameter that exists must belong to a stack resource that its
stack still knows; deleting the stacks then leaves nothing behind. ``SEEDBED_CFN_CRASH_TRIALS``
sets the number of trials (default 10; the issue's full run is 30).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from pathlib import Path

import httpx
from botocore.config import Config

from tests.conftest import BIN, LiveServer, free_port, isolated_database_url, start_server

TRIALS = int(os.environ.get("SEEDBED_CFN_CRASH_TRIALS", "10"))
TERMINAL_LIVE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "CREATE_FAILED")


def template(trial: int) -> str:
    resources: dict[str, dict] = {}
    for i in range(12):
        resources[f"Bucket{i}"] = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": f"crash-{trial}-b{i}"}}
    for i in range(12):
        resources[f"Param{i}"] = {"Type": "AWS::SSM::Parameter", "Properties": {
            "Name": f"/crash/{trial}/p{i}", "Type": "String", "Value": {"Ref": f"Bucket{i}"}}}
    for i in range(6):
        resources[f"Vpc{i}"] = {"Type": "AWS::EC2::VPC", "DependsOn": f"Param{i * 2}", "Properties": {"CidrBlock": f"10.{i}.0.0/16"}}
    return json.dumps({"Resources": resources})


def restart(server: LiveServer) -> LiveServer:
    port = int(server.endpoint.rsplit(":", 1)[1])
    cmd = [str(BIN / "seedbed"), "up", "--port", str(port), "--data-dir", str(server.data_dir)]
    if server.database_url:
        cmd += ["--database-url", server.database_url]
    log = open(server.data_dir.parent / f"server-{port}.log", "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{server.endpoint}/_seedbed/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    server.process = proc
    return server


def wait_terminal(cf, timeout: float = 60) -> list[dict]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        stacks = cf.list_stacks()["StackSummaries"]
        busy = [s for s in stacks if s["StackStatus"].endswith("_IN_PROGRESS") and s["StackStatus"] != "REVIEW_IN_PROGRESS"]
        if not busy:
            return stacks
        assert time.monotonic() < deadline, f"stacks stuck: {[(s['StackName'], s['StackStatus']) for s in busy]}"
        time.sleep(0.05)


def existing(server: LiveServer) -> set[str]:
    s3, ssm = server.client("s3"), server.client("ssm")
    found = {b["Name"] for b in s3.list_buckets().get("Buckets", []) if b["Name"].startswith("crash-")}
    paginator = ssm.get_paginator("describe_parameters")
    for page in paginator.paginate(ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": ["/crash/"]}]):
        found |= {p["Name"] for p in page["Parameters"]}
    return found


def known(cf) -> set[str]:  # type: ignore[no-untyped-def]
    """Physical ids of resources that live stacks hold (not deleted)."""
    ids: set[str] = set()
    for stack in cf.list_stacks()["StackSummaries"]:
        if stack["StackStatus"] == "DELETE_COMPLETE":
            continue
        for res in cf.describe_stack_resources(StackName=stack["StackId"])["StackResources"]:
            if res["ResourceStatus"] not in ("DELETE_COMPLETE", "DELETE_SKIPPED") and res.get("PhysicalResourceId"):
                ids.add(res["PhysicalResourceId"])
    return ids



def test_kill_during_create_never_orphans(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", isolated_database_url(), port=free_port())
    rng = random.Random(int(os.environ.get("SEEDBED_CFN_CRASH_SEED", "5")))
    try:
        cf = server.client("cloudformation")
        duration = 0.0
        for warm in range(2):  # the second run is the one to time (the first loads the schemas)
            started = time.monotonic()
            cf.create_stack(StackName=f"calibrate{warm}", TemplateBody=template(900 + warm))
            wait_terminal(cf)
            duration = time.monotonic() - started
            assert cf.describe_stacks(StackName=f"calibrate{warm}")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
            cf.delete_stack(StackName=f"calibrate{warm}")
            wait_terminal(cf)
        outcomes: list[str] = []
        for trial in range(TRIALS):
            cf = server.client("cloudformation", config=Config(retries={"max_attempts": 1}, read_timeout=5))
            delay = rng.uniform(0, duration)
            try:
                cf.create_stack(StackName=f"crash-{trial}", TemplateBody=template(trial))
            except Exception:  # noqa: BLE001 - the kill may land during the request itself
                pass
            time.sleep(delay)
            server.process.kill()
            server.process.wait()
            server = restart(server)
            cf = server.client("cloudformation")
            stacks = wait_terminal(cf)
            for stack in stacks:
                assert not stack["StackStatus"].endswith("_IN_PROGRESS"), stack
            mine = [s for s in stacks if s["StackName"] == f"crash-{trial}"]
            outcomes.append(mine[0]["StackStatus"] if mine else "NOT_CREATED")
            orphans = existing(server) - known(cf)
            assert not orphans, f"trial {trial}: resources no stack knows: {sorted(orphans)}"
            if mine and mine[0]["StackStatus"] != "DELETE_COMPLETE":
                cf.delete_stack(StackName=mine[0]["StackId"])
                wait_terminal(cf)
                assert cf.describe_stacks(StackName=mine[0]["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
            assert existing(server) == set(), f"trial {trial}: left behind after delete"
        print(f"create takes {duration * 1000:.0f} ms; crash outcomes over {TRIALS} trials: {sorted((o, outcomes.count(o)) for o in set(outcomes))}")
    finally:
        server.process.kill()
        server.process.wait()
