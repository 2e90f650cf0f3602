"""``seedbed templates`` and ``seedbed projects`` as a user runs them after ``eval "$(seedbed env)"``:
publish (idempotent), list/show/validate, create with parameters, describe with outputs, update,
versions, delete with retained resources."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from tests.conftest import LiveServer
from tests.integration.test_sagemaker_negative import seedbed
from tests.integration.test_sagemaker_walkthrough import (
    EXAMPLES,
    TEMPLATES,
    create_domain,
    ensure_roles,
)


def test_publish_create_update_delete(server: LiveServer, tmp_path: Path) -> None:
    ensure_roles(server, tmp_path)
    account = server.client("sts").get_caller_identity()["Account"]
    domain = create_domain(server, f"arn:aws:iam::{account}:role/service-role/AmazonSageMakerProjectsExecutionRole")
    folder = tmp_path / "tpl"
    folder.mkdir()
    shutil.copy(EXAMPLES / "small-project.yml", folder / "small-project.yml")
    bucket = f"sm-cli-{uuid.uuid4().hex[:8]}"
    env = server.env
    first = seedbed(env, "templates", "publish", str(folder), "--bucket", bucket, "--prefix", "org/templates", "--domain", domain)
    assert first.returncode == 0, first.stdout + first.stderr
    again = seedbed(env, "templates", "publish", str(folder), "--bucket", bucket, "--prefix", "org/templates", "--domain", domain)
    assert again.returncode == 0 and "unchanged" in again.stdout and "already allows Studio" in again.stdout, again.stdout
    rules = server.client("s3").get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert any("https://*.sagemaker.aws" in r["AllowedOrigins"] for r in rules)

    listed = json.loads(seedbed(env, "templates", "list", "--domain", domain, "--json").stdout)
    assert listed["TemplatesLocation"] == f"s3://{bucket}/org/templates/"
    assert [t["TemplateName"] for t in listed["Templates"]] == ["small-project"]
    shown = seedbed(env, "templates", "show", "small-project", "--domain", domain)
    assert "Deployment stage" in shown.stdout and "Environment" in shown.stdout
    assert seedbed(env, "templates", "validate", str(folder / "small-project.yml")).returncode == 0
    invalid = seedbed(env, "templates", "validate", str(TEMPLATES / "no-sagemaker-params.yml"))
    assert invalid.returncode == 1 and "SageMakerProjectId" in invalid.stdout

    name = f"cli-{uuid.uuid4().hex[:6]}"
    made = seedbed(env, "projects", "create", name, "--template", "small-project", "--domain", domain,
                   "--param", "Stage=prod", "--tag", "team=ml", "--no-input")
    assert made.returncode == 0 and "CreateCompleted" in made.stdout, made.stdout + made.stderr
    described = json.loads(seedbed(env, "projects", "describe", name).stdout)
    assert described["ProjectStatus"] == "CreateCompleted" and described["StackOutputs"]["Stage"] == "prod"
    assert name in seedbed(env, "projects", "list").stdout
    updated = seedbed(env, "projects", "update", name, "--param", "Stage=dev")
    assert updated.returncode == 0 and "UpdateCompleted" in updated.stdout, updated.stdout
    versions = seedbed(env, "projects", "versions", "--data-dir", str(server.data_dir),
                       *(["--database-url", server.database_url] if server.database_url else []))
    assert versions.returncode == 0 and "latest" in versions.stdout, versions.stdout + versions.stderr
    gone = seedbed(env, "projects", "delete", name)
    assert gone.returncode == 0 and "retained AWS::S3::Bucket" in gone.stdout, gone.stdout
