"""A project's description as CodeBuild stores and returns it: defaults filled in, the source and
artifacts checked against each other, the service role given as an ARN."""

from __future__ import annotations

import copy
from typing import Any

from seedbed.services.codebuild.errors import InvalidInput
from seedbed.state import arns

GIT_TYPES = ("CODECOMMIT", "GITHUB", "GITHUB_ENTERPRISE", "BITBUCKET", "GITLAB", "GITLAB_SELF_MANAGED")
RESERVED_PREFIX = "CODEBUILD_"


def project_arn(account: str, region: str, name: str) -> str:
    return arns.build("codebuild", f"project/{name}", account, region)


def build_arn(account: str, region: str, build_id: str) -> str:
    return arns.build("codebuild", f"build/{build_id}", account, region)


def role_arn(account: str, role: str) -> str:
    """CodeBuild accepts a role name or ARN and returns the ARN."""
    if role.startswith("arn:"):
        return role
    return f"arn:aws:iam::{account}:role/{role.lstrip('/')}"


def check_source(source: dict[str, Any], where: str = "source") -> dict[str, Any]:
    source = copy.deepcopy(source)
    kind = source["type"]
    if kind in ("S3", *GIT_TYPES) and not source.get("location"):
        raise InvalidInput(f"Project {where} location is required for source type {kind}")
    if kind == "NO_SOURCE" and not source.get("buildspec") and where == "source":
        raise InvalidInput("Invalid source: buildspec is required for NO_SOURCE source type")
    if kind == "S3" and "/" not in str(source["location"]).strip("/"):
        raise InvalidInput(f"Invalid {where} location: {source['location']}; expected bucket/key")
    source.setdefault("insecureSsl", False)
    if kind in GIT_TYPES:
        source.setdefault("gitCloneDepth", 1)
    return source


def check_artifacts(artifacts: dict[str, Any]) -> dict[str, Any]:
    artifacts = copy.deepcopy(artifacts)
    kind = artifacts["type"]
    if kind == "S3":
        if not artifacts.get("location"):
            raise InvalidInput("Artifacts location is required for artifacts type S3")
        artifacts.setdefault("namespaceType", "NONE")
        artifacts.setdefault("packaging", "NONE")
        artifacts.setdefault("name", artifacts.get("name") or "")
        artifacts.setdefault("encryptionDisabled", False)
    elif kind == "CODEPIPELINE":
        artifacts.setdefault("packaging", "NONE")
        artifacts.setdefault("encryptionDisabled", False)
    return artifacts


def check_environment(env: dict[str, Any]) -> dict[str, Any]:
    env = copy.deepcopy(env)
    variables = []
    for var in env.get("environmentVariables") or []:
        if var["name"].startswith(RESERVED_PREFIX):
            raise InvalidInput(f"Invalid environment variable name: {var['name']}; names starting with "
                               f"{RESERVED_PREFIX} are reserved")
        variables.append({"name": var["name"], "value": var["value"], "type": var.get("type") or "PLAINTEXT"})
    env["environmentVariables"] = variables
    env.setdefault("privilegedMode", False)
    env.setdefault("imagePullCredentialsType", "CODEBUILD")
    return env


def normalize(account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
    """The stored project description (without ``created``/``lastModified``)."""
    source = check_source(params["source"])
    artifacts = check_artifacts(params["artifacts"])
    if (source["type"] == "CODEPIPELINE") != (artifacts["type"] == "CODEPIPELINE"):
        raise InvalidInput("Both source and artifacts must be set to CodePipeline")
    ids = set()
    for extra in params.get("secondarySources") or []:
        if not extra.get("sourceIdentifier"):
            raise InvalidInput("Invalid secondary source: sourceIdentifier is required")
        ids.add(extra["sourceIdentifier"])
    for extra in params.get("secondaryArtifacts") or []:
        if not extra.get("artifactIdentifier"):
            raise InvalidInput("Invalid secondary artifact: artifactIdentifier is required")
    logs = copy.deepcopy(params.get("logsConfig") or {})
    logs.setdefault("cloudWatchLogs", {"status": "ENABLED"})
    logs.setdefault("s3Logs", {"status": "DISABLED", "encryptionDisabled": False})
    doc: dict[str, Any] = {
        "name": params["name"],
        "arn": project_arn(account, region, params["name"]),
        "source": source,
        "secondarySources": [check_source(s, "secondary source") for s in params.get("secondarySources") or []],
        "secondarySourceVersions": list(params.get("secondarySourceVersions") or []),
        "artifacts": artifacts,
        "secondaryArtifacts": [check_artifacts(a) for a in params.get("secondaryArtifacts") or []],
        "cache": params.get("cache") or {"type": "NO_CACHE"},
        "environment": check_environment(params["environment"]),
        "serviceRole": role_arn(account, params["serviceRole"]),
        "timeoutInMinutes": params.get("timeoutInMinutes") or 60,
        "queuedTimeoutInMinutes": params.get("queuedTimeoutInMinutes") or 480,
        "encryptionKey": params.get("encryptionKey") or f"arn:aws:kms:{region}:{account}:alias/aws/s3",
        "tags": list(params.get("tags") or []),
        "badge": {"badgeEnabled": bool(params.get("badgeEnabled"))},
        "logsConfig": logs,
        "projectVisibility": "PRIVATE",
    }
    for key in ("description", "sourceVersion", "vpcConfig", "fileSystemLocations", "buildBatchConfig",
                "concurrentBuildLimit", "autoRetryLimit"):
        if params.get(key) is not None:
            doc[key] = copy.deepcopy(params[key])
    return doc


def merge_update(current: dict[str, Any], params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    """UpdateProject: what the request names replaces what the project had."""
    merged = {k: v for k, v in current.items() if k not in ("arn", "badge", "projectVisibility")}
    merged["badgeEnabled"] = current.get("badge", {}).get("badgeEnabled", False)
    for key, value in params.items():
        if value is not None:
            merged[key] = value
    return normalize(account, region, merged)
