"""Repository workflows as a GitHub user meets them: a push runs `.github/workflows` with needs,
outputs, secrets and expressions; an environment waits for `seedbed workflows approve`; an
unsupported action fails its step by name; `workflow_dispatch` through the GitHub REST subset."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import httpx

from tests.conftest import BIN, LiveServer
from tests.integration.test_git import commit_file, git, git_env

WORKFLOW = """
name: build
on:
  push:
    branches: [main]
    paths: ['src/**', '.github/**']
  workflow_dispatch:
    inputs:
      greeting: {default: hello}
env:
  STAGE: test
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      version: ${{ steps.v.outputs.version }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: {python-version: '3.12'}
      - id: v
        run: |
          test -f src/app.py
          python -c "import boto3; print('boto3 ok')"
          echo "version=1.${{ github.run_number }}" >> "$GITHUB_OUTPUT"
      - name: secret
        run: test "$TOKEN" = "s3cr3t" && echo "stage=$STAGE"
        env: {TOKEN: '${{ secrets.MY_TOKEN }}'}
      - uses: aws-actions/configure-aws-credentials@v4
        id: creds
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: us-east-1
      - run: aws sts get-caller-identity --query Account --output text
  deploy:
    needs: build
    environment: {name: production}
    runs-on: ubuntu-latest
    steps:
      - run: echo "deploying ${{ needs.build.outputs.version }} ${{ inputs.greeting }}"
      - if: failure()
        run: echo never
  broken:
    runs-on: ubuntu-latest
    if: github.event_name == 'push'
    steps:
      - uses: some-org/not-here@v1
      - if: always()
        run: echo "cleanup ran"
"""


def seedbed(server: LiveServer, *args: str, stdin: str | None = None) -> str:
    return subprocess.run([str(BIN / "seedbed"), *args], env=server.env, input=stdin, capture_output=True,
                          text=True, check=True, timeout=60).stdout


def wait_status(server: LiveServer, repo: str, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = httpx.get(f"{server.endpoint}/_seedbed/github/api/v3/repos/{repo}/actions/runs",
                         auth=(server.access_key, server.secret_key)).json()["workflow_runs"]
        if runs and runs[0]["status"] == status:
            return runs[0]
        time.sleep(0.3)
    raise AssertionError(f"no run reached {status}: {runs}")


def test_push_runs_the_workflow_with_needs_outputs_secrets_and_approval(server: LiveServer, tmp_path: Path) -> None:
    arn = server.client("codestar-connections").create_connection(ProviderType="GitHub", ConnectionName="wf")["ConnectionArn"]
    repo = f"acme/wf-{uuid.uuid4().hex[:6]}"
    url = f"{server.endpoint}/git-http/000000000000/{server.region}/{arn.rsplit('/', 1)[1]}/{repo}.git"
    env = git_env(server, tmp_path)
    work = tmp_path / "w"
    work.mkdir()
    git(work, "init", "-q", env=env)
    commit_file(work, "README.md", "x", env)
    git(work, "push", "-q", url, "HEAD:main", env=env)  # creates the repository: no workflow yet
    for name, value in (("MY_TOKEN", "s3cr3t"), ("AWS_ACCESS_KEY_ID", server.access_key),
                        ("AWS_SECRET_ACCESS_KEY", server.secret_key)):
        seedbed(server, "workflows", "secret", "set", repo, name, stdin=value)
    assert seedbed(server, "workflows", "secret", "list", repo).split() == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MY_TOKEN"]

    commit_file(work, ".github/workflows/build.yml", WORKFLOW, env)
    commit_file(work, "src/app.py", "print(1)\n", env)
    git(work, "push", "-q", url, "HEAD:main", env=env)

    run = wait_status(server, repo, "waiting")
    jobs = run["jobs"]
    assert jobs["build"]["conclusion"] == "success", seedbed(server, "workflows", "logs", run["id"])
    assert jobs["build"]["outputs"] == {"version": f"1.{run['run_number']}"}
    assert jobs["broken"]["conclusion"] == "failure"
    assert [s["conclusion"] for s in jobs["broken"]["steps"]] == ["failure", "success"]
    assert jobs["deploy"]["status"] == "waiting" and jobs["deploy"]["environment"] == "production"
    logs = seedbed(server, "workflows", "logs", run["id"])
    assert "Unsupported action: some-org/not-here@v1" in logs and "cleanup ran" in logs
    assert "stage=test" in logs and "boto3 ok" in logs and "000000000000" in logs
    assert "s3cr3t" not in json.dumps(run)

    assert "approved: deploy" in seedbed(server, "workflows", "approve", run["id"])
    done = wait_status(server, repo, "completed")
    assert done["conclusion"] == "failure"  # the broken job failed the run
    assert done["jobs"]["deploy"]["conclusion"] == "success"
    assert f"deploying 1.{run['run_number']}" in seedbed(server, "workflows", "logs", run["id"])
    runs = seedbed(server, "workflows", "runs", repo)
    assert run["id"] in runs and "push" in runs
    events = server.client("logs").get_log_events(logGroupName=f"/seedbed/workflows/{repo}",
                                                  logStreamName=f"{run['id']}/build")["events"]
    assert any("boto3 ok" in e["message"] for e in events)


def test_workflow_dispatch_through_the_github_api(server: LiveServer, tmp_path: Path) -> None:
    arn = server.client("codeconnections").create_connection(ProviderType="GitHub", ConnectionName="d")["ConnectionArn"]
    repo = f"octo/deploy-{uuid.uuid4().hex[:6]}"
    url = f"{server.endpoint}/git-http/000000000000/{server.region}/{arn.rsplit('/', 1)[1]}/{repo}.git"
    env = git_env(server, tmp_path)
    work = tmp_path / "d"
    work.mkdir()
    git(work, "init", "-q", env=env)
    commit_file(work, ".github/workflows/deploy.yml",
                "name: Deploy\non: workflow_dispatch\njobs:\n  go:\n    runs-on: x\n    steps:\n"
                "      - run: echo \"dispatched on ${{ github.ref_name }} by ${{ github.actor }}\"\n", env)
    git(work, "push", "-q", url, "HEAD:main", env=env)
    token = seedbed(server, "workflows", "token", "octo").strip()
    api = f"{server.endpoint}/_seedbed/github/api/v3"
    headers = {"Authorization": f"token {token}"}
    assert httpx.get(f"{api}/user", headers=headers).json()["login"] == "octo"
    got = httpx.get(f"{api}/repos/{repo}", headers=headers).json()
    assert got["full_name"] == repo and got["default_branch"] == "main"
    wf = httpx.get(f"{api}/repos/{repo}/actions/workflows/deploy.yml", headers=headers).json()
    assert wf["path"] == ".github/workflows/deploy.yml"
    assert httpx.post(wf["url"] + "/dispatches", headers=headers, json={"ref": "main"}).status_code == 204
    assert httpx.get(f"{api}/repos/{repo}", headers={"Authorization": "token sbg_bad"}).status_code == 401
    assert httpx.get(f"{api}/repos/other/x", headers=headers).status_code == 404
    done = wait_status(server, repo, "completed")
    assert done["conclusion"] == "success" and done["event"] == "workflow_dispatch"
    assert "dispatched on main by octo" in seedbed(server, "workflows", "logs", done["id"])
