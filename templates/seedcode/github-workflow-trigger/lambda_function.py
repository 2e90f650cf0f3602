"""Dispatch the repository's deploy workflow when a model package of the project is approved.

Invoked by the project's EventBridge rule with the "SageMaker Model Package State Change" event.
Reads the GitHub token from Secrets Manager and calls GitHub's REST API
(`POST /repos/{owner}/{repo}/actions/workflows/{file}/dispatches`) at `GITHUB_API_URL`
(https://api.github.com unless the environment says otherwise; Seedbed points it at its local
GitHub REST subset). Standard library and boto3 only, so the function needs no layer.
"""

from __future__ import annotations

import json
import os
import urllib.request

import boto3


def github_token() -> str:
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["GitHubTokenSecretName"])
    value = secret["SecretString"]
    try:  # either the token itself, or {"token": "..."}
        return json.loads(value)["token"]
    except (ValueError, KeyError, TypeError):
        return value


def lambda_handler(event, context):  # noqa: ANN001, ANN201 - the Lambda handler signature
    detail = event.get("detail") or {}
    owner, repo = os.environ["GitHubRepositoryOwnerName"], os.environ["DeployRepoName"]
    workflow = os.environ.get("GitHubWorkflowNameForDeployment", "deploy.yml")
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    body = json.dumps({"ref": "main", "inputs": {"model_package_arn": detail.get("ModelPackageArn", "")}}).encode()
    request = urllib.request.Request(
        f"{api}/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches", data=body, method="POST",
        headers={"Authorization": f"Bearer {github_token()}", "Accept": "application/vnd.github+json",
                 "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        status = response.status
    print(f"dispatched {workflow} on {owner}/{repo} for {detail.get('ModelPackageArn')}: HTTP {status}")
    return {"statusCode": status}
