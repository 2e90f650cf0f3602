"""The web UI's pure helpers: parameter forms, form values, tags, badges, metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedbed.services.sagemaker import catalog
from seedbed.studio import forms

SMALL = (Path(__file__).resolve().parents[3] / "templates" / "examples" / "small-project.yml").read_text()


def test_fields_follow_the_interface_groups_and_constraints() -> None:
    described = catalog.describe_template(SMALL)
    sets = forms.fields(described["Parameters"], described["ParameterGroups"])
    assert [s["label"] for s in sets] == ["Environment"]
    stage, days = sets[0]["fields"]
    assert stage["label"] == "Deployment stage" and stage["input"] == "select"
    assert stage["options"] == ["dev", "staging", "prod"] and stage["value"] == "dev" and not stage["required"]
    assert days["input"] == "number" and (days["min"], days["max"], days["value"]) == (1, 365, "30")
    assert "1..365" in days["hint"] and "default 30" in days["hint"]
    names = [f["name"] for s in sets for f in s["fields"]]
    assert "SageMakerProjectName" not in names and "SageMakerProjectId" not in names


def test_fields_without_groups_and_with_given_values() -> None:
    params = [
        {"Name": "Secret", "Type": "String", "NoEcho": True},
        {"Name": "Count", "Type": "Number", "Default": "2"},
        {"Name": "Grouped", "Type": "String", "Default": ""},
    ]
    sets = forms.fields(params, [{"Label": "G", "Parameters": ["Grouped", "Missing"]}], {"Count": "5"})
    assert [s["label"] for s in sets] == ["G", "Other parameters"]
    secret, count = sets[1]["fields"]
    assert secret["input"] == "password" and secret["required"] and secret["value"] == ""
    assert count["value"] == "5"
    assert forms.fields(params[:1], [])[0]["label"] == "Parameters"


def test_parameter_values_leave_empty_defaults_to_cloudformation() -> None:
    params = catalog.describe_template(SMALL)["Parameters"]
    form = {"param.Stage": "prod", "param.RetentionDays": "", "param.SageMakerProjectName": "x", "other": "1"}
    assert forms.parameter_values(form, params) == [{"Key": "Stage", "Value": "prod"}]
    assert forms.parameter_values(form, params, keep_empty=True) == [
        {"Key": "Stage", "Value": "prod"}, {"Key": "RetentionDays", "Value": ""}]


def test_tags() -> None:
    assert forms.parse_tags("team=ml\n owner = ana \n\n") == [{"Key": "team", "Value": "ml"}, {"Key": "owner", "Value": "ana"}]
    assert forms.parse_tags("a=1,b=") == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": ""}]
    with pytest.raises(ValueError, match="not key=value"):
        forms.parse_tags("lonely")


@pytest.mark.parametrize(("status", "css"), [
    ("CreateCompleted", "good"), ("CREATE_COMPLETE", "good"), ("InService", "good"), ("Approved", "good"),
    ("CreateFailed", "bad"), ("UPDATE_ROLLBACK_COMPLETE", "bad"), ("Rejected", "bad"), ("Failed", "bad"),
    ("CreateInProgress", "busy"), ("Pending", "busy"), ("Executing", "busy"), ("Creating", "busy"),
    ("PendingManualApproval", "idle"), (None, "idle"), ("Whatever", "idle"),
])
def test_badges(status: str | None, css: str) -> None:
    assert forms.badge(status) == css


def test_in_progress() -> None:
    assert forms.in_progress("InService", "Updating") and not forms.in_progress("InService", "Failed")


def test_template_names_fit_the_api_pattern() -> None:
    assert forms.template_name("small-project") == "small-project"
    assert forms.template_name("my_template.v2") == "my-template-v2"
    assert forms.template_name("x" * 40) == "x" * 32
    assert forms.template_name("___") == "template"


def test_flatten_metrics() -> None:
    report = {"regression_metrics": {"mse": {"value": 4.5, "standard_deviation": 0.1}, "ok": True,
                                     "curve": [{"x": 1}, {"x": 2}]}, "name": "abalone"}
    assert forms.flatten_metrics(report) == [
        ("regression_metrics.mse", 4.5), ("regression_metrics.mse.standard_deviation", 0.1),
        ("regression_metrics.curve[0].x", 1), ("regression_metrics.curve[1].x", 2)]
    assert len(forms.flatten_metrics({str(i): i for i in range(100)})) == 24


@pytest.mark.parametrize(("key", "value", "repo"), [
    ("CloneUrlHttp", "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/x", True),
    ("Repo", "http://localhost:4599/git-http/abc/x.git", True),
    ("ModelBuildRepository", "codecommit::us-east-1://x", True),
    ("ArtifactsBucketName", "sagemaker-project-p-123", False),
    ("Dashboard", "https://example.com/dash", False),
    ("Stage", 3, False),
])
def test_clone_urls(key: str, value: object, repo: bool) -> None:
    assert forms.looks_like_clone_url(key, value) is repo
