"""The unchanged AWS CLI after ``eval "$(seedbed env)"``, on both blob backends: the ``aws s3``
commands (mb, cp of small and 100 MB files, sync, ls, rm, rb) and the ``aws s3api`` calls a
template catalog uses (CORS, object tagging, versioning, version listings)."""

from __future__ import annotations

import filecmp
import json
import os
import shlex
import subprocess
import uuid
from pathlib import Path

from tests.conftest import BIN, LiveServer
from tests.integration.test_s3_support import blob_backend, remote_server, s3_server  # noqa: F401

MIB = 1024 * 1024


def shell_env(server: LiveServer) -> dict[str, str]:
    """The environment of a shell that has run ``eval "$(seedbed env)"`` (evaluated once)."""
    port = server.endpoint.rsplit(":", 1)[1]
    script = f'eval "$({BIN}/seedbed env --data-dir {shlex.quote(str(server.data_dir))} --port {port})" && env -0'
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    evaluated = dict(item.split("=", 1) for item in out.split("\0") if "=" in item)
    assert evaluated["AWS_ENDPOINT_URL"] == server.endpoint
    return evaluated


def aws(env: dict[str, str], command: str, cwd: Path) -> str:
    """Run the unchanged AWS CLI, ``aws <command>``, in that shell environment."""
    done = subprocess.run(["bash", "-c", f"aws {command}"], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"aws {command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_aws_cli_workflow(s3_server: LiveServer, tmp_path: Path) -> None:
    env = shell_env(s3_server)
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    aws(env, f"s3 mb s3://{bucket}", tmp_path)

    small = tmp_path / "template.yaml"
    small.write_text("Resources: {}\n")
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        for _ in range(100):
            fh.write(os.urandom(MIB))
    aws(env, f"s3 cp {small} s3://{bucket}/templates/template.yaml", tmp_path)
    aws(env, f"s3 cp {big} s3://{bucket}/data/big.bin", tmp_path)
    head = json.loads(aws(env, f"s3api head-object --bucket {bucket} --key data/big.bin", tmp_path))
    assert head["ContentLength"] == 100 * MIB
    assert head["ETag"].endswith('-13"')  # 8 MiB parts: the CLI used a multipart upload
    back = tmp_path / "big.back"
    aws(env, f"s3 cp s3://{bucket}/data/big.bin {back}", tmp_path)
    assert filecmp.cmp(big, back, shallow=False)
    big.unlink()
    back.unlink()

    site = tmp_path / "seed"
    (site / "nested").mkdir(parents=True)
    for i in range(5):
        (site / f"file{i}.txt").write_text(f"content {i}\n")
    (site / "nested" / "deep.txt").write_text("deep\n")
    aws(env, f"s3 sync {site} s3://{bucket}/seed/", tmp_path)
    (site / "file0.txt").write_text("changed, and longer than before\n")
    synced = aws(env, f"s3 sync {site} s3://{bucket}/seed/", tmp_path)
    assert "file0.txt" in synced and "file1.txt" not in synced  # only what changed

    listing = aws(env, f"s3 ls --recursive s3://{bucket}/", tmp_path)
    keys = sorted(line.split()[-1] for line in listing.splitlines())
    assert keys == sorted(
        ["templates/template.yaml", "data/big.bin", "seed/nested/deep.txt"] + [f"seed/file{i}.txt" for i in range(5)]
    )

    cors = tmp_path / "cors.json"
    cors.write_text(json.dumps({"CORSRules": [{"AllowedHeaders": ["*"], "AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["https://*.sagemaker.aws"]}]}))
    aws(env, f"s3api put-bucket-cors --bucket {bucket} --cors-configuration file://{cors}", tmp_path)
    assert json.loads(aws(env, f"s3api get-bucket-cors --bucket {bucket}", tmp_path))["CORSRules"][0]["AllowedMethods"] == ["GET", "PUT"]

    aws(
        env,
        f"s3api put-object-tagging --bucket {bucket} --key templates/template.yaml "
        "--tagging 'TagSet=[{Key=sagemaker:studio-visibility,Value=true}]'",
        tmp_path,
    )
    tags = json.loads(aws(env, f"s3api get-object-tagging --bucket {bucket} --key templates/template.yaml", tmp_path))
    assert tags["TagSet"] == [{"Key": "sagemaker:studio-visibility", "Value": "true"}]

    aws(env, f"s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled", tmp_path)
    aws(env, f"s3 cp {small} s3://{bucket}/templates/template.yaml", tmp_path)
    versions = json.loads(aws(env, f"s3api list-object-versions --bucket {bucket} --prefix templates/", tmp_path))
    assert len(versions["Versions"]) == 2 and sum(v["IsLatest"] for v in versions["Versions"]) == 1

    aws(env, f"s3 rm --recursive s3://{bucket}/", tmp_path)
    assert aws(env, f"s3 ls --recursive s3://{bucket}/", tmp_path).strip() == ""
    versions = json.loads(aws(env, f"s3api list-object-versions --bucket {bucket}", tmp_path))
    assert versions.get("DeleteMarkers")  # versioned: rm left delete markers
    every = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])]
    (tmp_path / "delete.json").write_text(json.dumps({"Objects": every, "Quiet": True}))
    aws(env, f"s3api delete-objects --bucket {bucket} --delete file://{tmp_path / 'delete.json'}", tmp_path)
    aws(env, f"s3 rb s3://{bucket}", tmp_path)
    assert bucket not in aws(env, "s3 ls", tmp_path)
