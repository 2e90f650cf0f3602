"""Seedbed's GitHub-style template end to end: a project whose code lives behind a connection,
a push that runs the build workflow (the SageMaker pipeline), an approval whose EventBridge rule
makes the project's Lambda dispatch the deploy workflow through the GitHub REST API, staging,
a reviewer's approval of the production environment, and a prediction."""

from __future__ import annotations

import io
import json
import subprocess
import time
import zipfile
from pathlib import Path

import boto3
import httpx

from seedbed.cli.bootstrap import run_bootstrap
from seedbed.cli.flow import Flow
from seedbed.cli.templates import Clients
from tests.conftest import start_server, stop_server

OWNER, REPO = "acme", "abalone-models"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=120,
                   env={"GIT_AUTHOR_NAME": "ds", "GIT_AUTHOR_EMAIL": "ds@example.com", "GIT_COMMITTER_NAME": "ds",
                        "GIT_COMMITTER_EMAIL": "ds@example.com", "PATH": "/usr/bin:/bin", "HOME": str(cwd)})


def test_push_build_approve_dispatch_deploy(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        session = boto3.Session(aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key)
        admin = Clients(server.endpoint, server.region, session)
        setup = run_bootstrap(admin, server.data_dir)
        api = f"{server.endpoint}/_seedbed/github/api/v3"
        basic = (server.access_key, server.secret_key)
        connection = admin.client("codestar-connections").create_connection(
            ProviderType="GitHub", ConnectionName="github")["ConnectionArn"]
        token = httpx.post(f"{api}/_seedbed/tokens", json={"owner": OWNER}, auth=basic).json()["token"]
        admin.client("secretsmanager").create_secret(Name="github-token", SecretString=token)

        creds = json.loads((server.data_dir / "data-scientist.json").read_text())
        scientist = Clients(server.endpoint, server.region, boto3.Session(
            aws_access_key_id=creds["aws_access_key_id"], aws_secret_access_key=creds["aws_secret_access_key"]))
        flow = Flow(scientist, setup.roles["Launch"], setup.domain_id, lambda text: None)
        sm = scientist.client("sagemaker")
        template = next(t for t in flow.pick_template_list() if t["TemplateName"] == "github-workflows")
        sm.create_project(ProjectName="abalone-gh", TemplateProviders=[{"CfnTemplateProvider": {
            "TemplateName": "github-workflows", "TemplateURL": template["TemplateURL"], "RoleARN": setup.roles["Launch"],
            "Parameters": [
                {"Key": "GitHubRepositoryOwnerName", "Value": OWNER}, {"Key": "CodeRepositoryName", "Value": REPO},
                {"Key": "CodestarConnectionUniqueId", "Value": connection.rsplit("/", 1)[-1]},
                {"Key": "GitHubTokenSecretName", "Value": "github-token"},
            ]}}])
        project = flow.wait_project("abalone-gh")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in project.get("Outputs") or []} if "Outputs" in project else {}
        bucket = outputs.get("ArtifactBucketName") or f"sagemaker-project-github-{project['ProjectId']}-{server.region}"

        # The repository's secrets, then the seed code pushed to the repository behind the connection.
        secrets = {
            "AWS_ACCESS_KEY_ID": server.access_key, "AWS_SECRET_ACCESS_KEY": server.secret_key, "AWS_REGION": server.region,
            "SAGEMAKER_PROJECT_NAME": "abalone-gh", "SAGEMAKER_PROJECT_ID": project["ProjectId"],
            "SAGEMAKER_PIPELINE_ROLE_ARN": setup.roles["Execution"], "ARTIFACT_BUCKET": bucket,
        }
        work = tmp_path / "repo"
        work.mkdir()
        seed = admin.client("s3").get_object(Bucket=setup.seed_bucket, Key="toolchain/seedbed-github-workflows-v1.0.zip")
        zipfile.ZipFile(io.BytesIO(seed["Body"].read())).extractall(work)
        remote = server.endpoint.replace("http://", f"http://{server.access_key}:{server.secret_key.replace('/', '%2F').replace('+', '%2B')}@")
        url = f"{remote}/_seedbed/git/{connection.rsplit('/', 1)[-1]}/{OWNER}/{REPO}.git"
        _git(work, "init", "-q", "-b", "main")
        _git(work, "add", "README.md")  # the first push creates the repository (as on a new GitHub repo)
        _git(work, "commit", "-q", "-m", "README")
        _git(work, "push", "-q", url, "main")
        for name, value in secrets.items():
            httpx.put(f"{api}/repos/{OWNER}/{REPO}/actions/secrets/{name}", json={"value": value}, auth=basic).raise_for_status()
        _git(work, "add", "-A")
        _git(work, "commit", "-q", "-m", "seed code")
        _git(work, "push", "-q", url, "main")  # runs the build workflow

        flow.result.project_name, flow.result.project_id = "abalone-gh", project["ProjectId"]
        flow.wait_model_build()
        flow.show_model()
        flow.approve_model()
        flow._endpoint("staging")

        deadline = time.monotonic() + 300
        run_id = None
        while run_id is None and time.monotonic() < deadline:
            runs = httpx.get(f"{api}/repos/{OWNER}/{REPO}/actions/runs", auth=basic).json()["workflow_runs"]
            waiting = [r for r in runs if r["path"].endswith("deploy.yml") and r["status"] == "waiting"]
            run_id = waiting[0]["id"] if waiting else None
            time.sleep(0.5)
        assert run_id is not None, "the deploy workflow never waited for the production approval"
        httpx.post(f"{api}/repos/{OWNER}/{REPO}/actions/runs/{run_id}/pending_deployments",
                   json={"state": "approved"}, auth=basic).raise_for_status()
        flow._endpoint("prod")
        flow.predict(rows=3)
        assert all(1 <= predicted <= 30 for _, predicted in flow.result.predictions)

        # The approval invoked the project's Lambda exactly once, which dispatched exactly one run.
        runs = httpx.get(f"{api}/repos/{OWNER}/{REPO}/actions/runs", auth=basic).json()["workflow_runs"]
        assert len([r for r in runs if r["path"].endswith("deploy.yml")]) == 1
        group = f"/aws/lambda/sagemaker-{project['ProjectId']}-deploy-trigger"
        messages = [e["message"] for e in admin.client("logs").filter_log_events(logGroupName=group)["events"]]
        assert sum(m.startswith("START RequestId") for m in messages) == 1
        assert any("dispatched deploy.yml" in m for m in messages)
    finally:
        stop_server(server)
