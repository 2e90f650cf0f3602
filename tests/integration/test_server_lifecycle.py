"""Start, serve, stop: a SIGTERM or SIGINT ends the server cleanly and nothing recorded is lost."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import BIN, isolated_database_url, start_server


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_and_flushes_the_trail(tmp_path: Path, sig: signal.Signals) -> None:
    database_url = isolated_database_url()
    live = start_server(tmp_path / "data", database_url)
    try:
        for _ in range(5):
            live.client("sts").get_caller_identity()
    finally:
        live.process.send_signal(sig)
        code = live.process.wait(timeout=20)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells why.
    assert code in (0, -sig)
    cmd = [str(BIN / "seedbed"), "audit", "--data-dir", str(live.data_dir), "--json", "--limit", "50"]
    if database_url:
        cmd += ["--database-url", database_url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    names = [json.loads(line)["eventName"] for line in out.splitlines()]
    assert names.count("GetCallerIdentity") == 5


def test_restart_keeps_identity_and_state(tmp_path: Path) -> None:
    database_url = isolated_database_url()
    first = start_server(tmp_path / "data", database_url)
    try:
        first.client("iam").create_user(UserName="kept")
    finally:
        first.process.terminate()
        first.process.wait(timeout=20)
    second = start_server(tmp_path / "data", database_url)
    try:
        assert (second.access_key, second.secret_key) == (first.access_key, first.secret_key)
        assert second.client("iam").get_user(UserName="kept")["User"]["UserName"] == "kept"
        health = httpx.get(second.endpoint + "/_seedbed/health").json()
        assert health["status"] == "ok"
    finally:
        second.process.terminate()
        second.process.wait(timeout=20)


def test_seedbed_env_points_the_cli_and_the_sdk_at_the_server(tmp_path: Path) -> None:
    """`eval "$(seedbed env)"` is all a shell needs: the AWS CLI reaches the server as the admin,
    and the SageMaker SDK reads defaults that keep its telemetry from calling AWS and name its
    default bucket (which it then creates through Seedbed)."""
    live = start_server(tmp_path / "data", isolated_database_url())
    try:
        probe = ("import sagemaker; from sagemaker.config import load_sagemaker_config; "
                 "print(sagemaker.Session().default_bucket()); "
                 "print(load_sagemaker_config()['SageMaker']['PythonSDK']['Modules']['TelemetryOptOut'])")
        script = (f'eval "$({BIN}/seedbed env --data-dir {tmp_path / "data"})" && '
                  f"{BIN}/aws sts get-caller-identity --query Account --output text && {BIN}/python -c \"{probe}\"")
        env = {k: v for k, v in live.env.items() if not k.startswith("AWS_")}
        out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.split()
        # The SDK's default bucket, whose name it would read from STS at a fixed AWS address.
        assert lines[0] == "000000000000" and lines[-2] == "sagemaker-us-east-1-000000000000" and lines[-1] == "True"
        assert live.client("s3").head_bucket(Bucket="sagemaker-us-east-1-000000000000")
    finally:
        live.process.terminate()
        live.process.wait(timeout=20)
