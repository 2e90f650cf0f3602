"""Pipeline declarations: defaults, structure rules, variable references."""

from __future__ import annotations

import pytest

from seedbed.services.codepipeline import declaration
from seedbed.services.codepipeline.errors import InvalidStructure, Validation


def decl(**extra):  # type: ignore[no-untyped-def]
    source = {"name": "S", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
              "outputArtifacts": [{"name": "Out"}]}
    build = {"name": "B", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
             "inputArtifacts": [{"name": "Out"}]}
    return {"name": "p", "roleArn": "arn:aws:iam::000000000000:role/r",
            "artifactStore": {"type": "S3", "location": "b"},
            "stages": [{"name": "Source", "actions": [source]}, {"name": "Build", "actions": [build]}], **extra}


def test_defaults_and_rules() -> None:
    out = declaration.normalize(decl())
    assert out["pipelineType"] == "V1" and out["executionMode"] == "SUPERSEDED"
    assert out["stages"][1]["actions"][0]["runOrder"] == 1
    bad = decl()
    bad["stages"] = bad["stages"][:1]
    with pytest.raises(InvalidStructure):
        declaration.normalize(bad)
    bad = decl()
    bad["stages"][1]["actions"][0]["inputArtifacts"] = [{"name": "Missing"}]
    with pytest.raises(InvalidStructure):
        declaration.normalize(bad)
    bad = decl()
    bad["stages"].reverse()
    with pytest.raises(InvalidStructure):
        declaration.normalize(bad)
    with pytest.raises(Validation):
        declaration.normalize(decl(executionMode="QUEUED"))
    assert declaration.normalize(decl(pipelineType="V2", executionMode="QUEUED"))["executionMode"] == "QUEUED"


def test_substitute() -> None:
    lookup = {"SourceVariables": {"CommitId": "abc"}, "variables": {"Env": "prod"}}
    assert declaration.substitute({"A": "#{SourceVariables.CommitId}-#{variables.Env}", "B": ["x"]}, lookup) == {
        "A": "abc-prod", "B": ["x"]}
    with pytest.raises(KeyError):
        declaration.substitute("#{Nope.X}", lookup)
