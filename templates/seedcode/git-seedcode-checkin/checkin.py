"""Check a seed code bundle into a project's git repository (the "seed code check-in" CodeBuild
project of SageMaker project templates).

Inputs, as the templates' check-in Lambdas send them (both generations):
  the seed code         the secondary source "source" (CODEBUILD_SRC_DIR_source), or the S3 zip
                        SEEDCODE_BUCKET_NAME / SEEDCODE_BUCKET_KEY
  the repository        GIT_REPOSITORY_URL (https://codestar-connections.<region>.amazonaws.com/
                        git-http/<account>/<region>/<connection>/<owner>/<repo>.git), or
                        GIT_REPOSITORY_CONNECTION_ARN and GIT_REPOSITORY_FULL_NAME (owner/repo)
  GIT_REPOSITORY_BRANCH the branch to create
On Seedbed the connection's git endpoint is the server itself (AWS_ENDPOINT_URL), and git
authenticates with the build role's temporary credentials.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import boto3


def seed_code(work: Path) -> None:
    source = os.environ.get("CODEBUILD_SRC_DIR_source")
    if source:
        shutil.copytree(source, work, dirs_exist_ok=True)
        return
    body = boto3.client("s3").get_object(Bucket=os.environ["SEEDCODE_BUCKET_NAME"], Key=os.environ["SEEDCODE_BUCKET_KEY"])["Body"]
    zipfile.ZipFile(io.BytesIO(body.read())).extractall(work)


def repository_url() -> str:
    url = os.environ.get("GIT_REPOSITORY_URL")
    if not url:
        _, _, service, region, account, resource = os.environ["GIT_REPOSITORY_CONNECTION_ARN"].split(":", 5)
        host = "codeconnections" if service == "codeconnections" else "codestar-connections"
        url = (f"https://{host}.{region}.amazonaws.com/git-http/{account}/{region}/{resource.split('/', 1)[1]}/"
               f"{os.environ['GIT_REPOSITORY_FULL_NAME']}.git")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and "/git-http/" in url:
        url = f"{endpoint.rstrip('/')}/git-http/{url.split('/git-http/', 1)[1]}"
    return url


def git(work: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=work, check=True)


def main() -> None:
    branch = os.environ.get("GIT_REPOSITORY_BRANCH", "main")
    work = Path(tempfile.mkdtemp())
    seed_code(work)
    shutil.rmtree(work / ".git", ignore_errors=True)
    helper = ('!f() { echo "username=${AWS_ACCESS_KEY_ID}${AWS_SESSION_TOKEN:+%$AWS_SESSION_TOKEN}"; '
              'echo "password=$AWS_SECRET_ACCESS_KEY"; }; f')
    git(work, "init", "-q", "-b", branch)
    git(work, "config", "user.name", "SageMaker Projects")
    git(work, "config", "user.email", "projects@sagemaker.local")
    git(work, "config", "credential.helper", helper)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "Initial seed code")
    git(work, "push", "-q", repository_url(), f"HEAD:refs/heads/{branch}")
    print(f"Seed code checked in to {repository_url()} ({branch})")


if __name__ == "__main__":
    main()
