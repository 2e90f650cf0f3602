"""Buildspec version 0.2 (0.1 accepted): what a build runs.

Parsed once per build in DOWNLOAD_SOURCE; a malformed buildspec fails that phase with the
``YAML_FILE_ERROR`` context, as on CodeBuild. ``runtime-versions`` is accepted and logged (the
machine's runtimes are used), ``run-as`` and ``cache`` are recorded only; ``reports`` names the
report groups whose files the build writes (read by :mod:`.reports`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

PHASES = ("install", "pre_build", "build", "post_build")


class BuildspecError(Exception):
    """Becomes a DOWNLOAD_SOURCE failure with context ``YAML_FILE_ERROR``."""


@dataclass
class Phase:
    commands: list[str] = field(default_factory=list)
    finally_commands: list[str] = field(default_factory=list)
    on_failure: str = "ABORT"
    runtime_versions: dict[str, str] = field(default_factory=dict)


@dataclass
class ArtifactSpec:
    files: list[str] = field(default_factory=list)
    name: str | None = None
    discard_paths: bool = False
    base_directory: str | None = None
    exclude_paths: list[str] = field(default_factory=list)
    s3_prefix: str | None = None
    secondary: dict[str, ArtifactSpec] = field(default_factory=dict)


@dataclass
class ReportSpec:
    """One entry of ``reports``: a report group (name or ARN) and the files that feed it."""

    group: str
    files: list[str] = field(default_factory=list)
    base_directory: str | None = None
    discard_paths: bool = False
    file_format: str = "JUNITXML"


@dataclass
class Buildspec:
    version: str
    variables: dict[str, str] = field(default_factory=dict)
    parameter_store: dict[str, str] = field(default_factory=dict)
    secrets_manager: dict[str, str] = field(default_factory=dict)
    exported_variables: list[str] = field(default_factory=list)
    shell: str = "bash"
    phases: dict[str, Phase] = field(default_factory=dict)
    artifacts: ArtifactSpec | None = None
    reports: list[ReportSpec] = field(default_factory=list)


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _yes(value: Any) -> bool:
    return value is True or _str(value).lower() in ("yes", "true")


def _commands(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [_str(value)]
    if not isinstance(value, list):
        raise BuildspecError(f"invalid commands in {where}: expected a list of commands")
    return [_str(item) for item in value if item is not None]


def _mapping(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BuildspecError(f"invalid key {where}: expected a map")
    return {str(k): _str(v) for k, v in value.items()}


def _artifact(value: Any, where: str) -> ArtifactSpec:
    if not isinstance(value, dict):
        raise BuildspecError(f"invalid key {where}: expected a map")
    files = value.get("files")
    if isinstance(files, str):
        files = [files]
    spec = ArtifactSpec(
        files=[_str(f) for f in files or []],
        name=_str(value["name"]) if value.get("name") is not None else None,
        discard_paths=_yes(value.get("discard-paths")),
        base_directory=_str(value["base-directory"]) if value.get("base-directory") else None,
        exclude_paths=[_str(p) for p in (value.get("exclude-paths") or [])],
        s3_prefix=_str(value["s3-prefix"]) if value.get("s3-prefix") else None,
    )
    for ident, sub in (value.get("secondary-artifacts") or {}).items():
        spec.secondary[str(ident)] = _artifact(sub, f"{where}.secondary-artifacts.{ident}")
    return spec


def _reports(value: Any) -> list[ReportSpec]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise BuildspecError("invalid key reports: expected a map")
    out = []
    for group, body in value.items():
        if not isinstance(body, dict):
            raise BuildspecError(f"invalid key reports.{group}: expected a map")
        files = body.get("files")
        if isinstance(files, str):
            files = [files]
        out.append(ReportSpec(
            group=str(group), files=[_str(f) for f in files or []],
            base_directory=_str(body["base-directory"]) if body.get("base-directory") else None,
            discard_paths=_yes(body.get("discard-paths")),
            file_format=_str(body.get("file-format") or "JUNITXML").upper(),
        ))
    return out


def parse(text: str) -> Buildspec:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BuildspecError(f"Invalid buildspec: {exc}") from None
    if not isinstance(doc, dict):
        raise BuildspecError("Invalid buildspec: the buildspec must be a YAML map")
    version = _str(doc.get("version"))
    if version not in ("0.1", "0.2"):
        raise BuildspecError(f"invalid buildspec version: {doc.get('version')!r}; expected 0.1 or 0.2")
    env = doc.get("env") or {}
    if not isinstance(env, dict):
        raise BuildspecError("invalid key env: expected a map")
    exported = env.get("exported-variables") or []
    if not isinstance(exported, list):
        raise BuildspecError("invalid key env.exported-variables: expected a list")
    spec = Buildspec(
        version=version,
        variables=_mapping(env.get("variables"), "env.variables"),
        parameter_store=_mapping(env.get("parameter-store"), "env.parameter-store"),
        secrets_manager=_mapping(env.get("secrets-manager"), "env.secrets-manager"),
        exported_variables=[_str(v) for v in exported],
        shell=_str(env.get("shell") or "bash"),
        reports=_reports(doc.get("reports")),
    )
    phases = doc.get("phases") or {}
    if not isinstance(phases, dict):
        raise BuildspecError("invalid key phases: expected a map")
    for name, body in phases.items():
        if name not in PHASES:
            raise BuildspecError(f"unknown phase {name!r}: expected one of {', '.join(PHASES)}")
        body = body or {}
        if not isinstance(body, dict):
            raise BuildspecError(f"invalid phase {name}: expected a map")
        on_failure = _str(body.get("on-failure") or "ABORT").upper()
        if on_failure not in ("ABORT", "CONTINUE") and not on_failure.startswith("RETRY"):
            raise BuildspecError(f"invalid on-failure value {on_failure!r} in phase {name}")
        spec.phases[name] = Phase(
            commands=_commands(body.get("commands"), f"phases.{name}.commands"),
            finally_commands=_commands(body.get("finally"), f"phases.{name}.finally"),
            on_failure="CONTINUE" if on_failure == "CONTINUE" else "ABORT",
            runtime_versions=_mapping(body.get("runtime-versions"), f"phases.{name}.runtime-versions"),
        )
    if doc.get("artifacts") is not None:
        spec.artifacts = _artifact(doc["artifacts"], "artifacts")
    if spec.shell not in ("bash", "/bin/sh", "sh", "/bin/bash"):
        raise BuildspecError(f"env.shell {spec.shell!r} is not available in Seedbed's Linux build environment")
    return spec


def secret_reference(value: str) -> tuple[str, str | None, str | None, str | None]:
    """``secret-id:json-key:version-stage:version-id``; the secret id may be an ARN (with colons)."""
    if value.startswith("arn:"):
        parts = value.split(":")
        # arn:aws:secretsmanager:region:account:secret:name-AbCdEf[:json-key[:stage[:version]]]
        secret_id, rest = ":".join(parts[:7]), parts[7:]
    else:
        secret_id, *rest = value.split(":")
    rest = rest + [""] * (3 - len(rest))
    json_key, stage, version = (r or None for r in rest[:3])
    return secret_id, json_key, stage, version
