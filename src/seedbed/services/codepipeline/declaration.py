"""A pipeline declaration as CodePipeline stores it: defaults filled in and the structure checked
(stages, a source-only first stage, artifacts produced before they are consumed)."""

from __future__ import annotations

import copy
import re
from typing import Any

from seedbed.services.codepipeline.errors import (
    InvalidActionDeclaration,
    InvalidStructure,
    Validation,
)

SOURCE_PROVIDERS = ("CodeCommit", "CodeStarSourceConnection", "S3", "GitHub", "ECR", "Bitbucket")
VARIABLE = re.compile(r"#\{([A-Za-z0-9@\-_.]+)\.([A-Za-z0-9@\-_.]+)\}")


def normalize(decl: dict[str, Any]) -> dict[str, Any]:
    decl = copy.deepcopy(decl)
    if not decl.get("artifactStore") and not decl.get("artifactStores"):
        raise InvalidStructure("Pipeline must have either artifactStore or artifactStores")
    stages = decl.get("stages") or []
    if len(stages) < 2:
        raise InvalidStructure("Pipeline has only 1 stage(s). There should be a minimum of 2 stages in a pipeline")
    seen_stages: set[str] = set()
    produced: set[str] = set()
    namespaces: set[str] = set()
    for index, stage in enumerate(stages):
        if stage["name"] in seen_stages:
            raise InvalidStructure(f"Stage names must be unique; {stage['name']} appears more than once")
        seen_stages.add(stage["name"])
        if not stage.get("actions"):
            raise InvalidStructure(f"Stage {stage['name']} should have at least one action")
        names: set[str] = set()
        stage_outputs: set[str] = set()
        for action in sorted(stage["actions"], key=lambda a: a.get("runOrder") or 1):
            if action["name"] in names:
                raise InvalidActionDeclaration(f"Action names must be unique within a stage: {action['name']}")
            names.add(action["name"])
            action.setdefault("runOrder", 1)
            action.setdefault("configuration", {})
            action.setdefault("inputArtifacts", [])
            action.setdefault("outputArtifacts", [])
            category = action["actionTypeId"]["category"]
            if (category == "Source") != (index == 0):
                raise InvalidStructure(
                    "Pipeline's first stage must contain only source actions, and source actions must be in the "
                    f"first stage (stage {stage['name']}, action {action['name']})")
            for art in action["inputArtifacts"]:
                if art["name"] not in produced and art["name"] not in stage_outputs:
                    raise InvalidStructure(
                        f"Input Artifact {art['name']} of action {action['name']} is not the output of an earlier action")
            for art in action["outputArtifacts"]:
                if art["name"] in produced or art["name"] in stage_outputs:
                    raise InvalidStructure(f"Output artifact name {art['name']} is used by more than one action")
                stage_outputs.add(art["name"])
            if action.get("namespace"):
                if action["namespace"] in namespaces:
                    raise InvalidStructure(f"Namespace {action['namespace']} is used by more than one action")
                namespaces.add(action["namespace"])
        produced |= stage_outputs
    decl.setdefault("pipelineType", "V1")
    if decl["pipelineType"] == "V1":
        if decl.get("executionMode") not in (None, "SUPERSEDED"):
            raise Validation("Execution mode can only be SUPERSEDED for V1 pipelines")
        if decl.get("variables") or decl.get("triggers"):
            raise Validation("Pipeline variables and triggers are only supported by V2 pipelines")
    decl.setdefault("executionMode", "SUPERSEDED")
    return decl


def find_action(decl: dict[str, Any], stage_name: str, action_name: str) -> dict[str, Any] | None:
    for stage in decl["stages"]:
        if stage["name"] == stage_name:
            return next((a for a in stage["actions"] if a["name"] == action_name), None)
    return None


def substitute(value: Any, lookup: dict[str, dict[str, str]]) -> Any:
    """``#{Namespace.Variable}`` references in configuration values; KeyError names a missing one."""
    if isinstance(value, str):
        def one(match: re.Match[str]) -> str:
            ns, name = match.group(1), match.group(2)
            if ns not in lookup or name not in lookup[ns]:
                raise KeyError(f"#{{{ns}.{name}}}")
            return str(lookup[ns][name])

        return VARIABLE.sub(one, value)
    if isinstance(value, dict):
        return {k: substitute(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, lookup) for v in value]
    return value
