"""The pure parts of the catalog and project bookkeeping."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from seedbed.cli.projects import parameter_form
from seedbed.services.sagemaker import catalog, common
from seedbed.services.sagemaker.errors import SageMakerValidation
from seedbed.services.sagemaker.projects import outcome

TEMPLATES = Path(__file__).parent / "templates"
EXAMPLES = Path(__file__).resolve().parents[3] / "templates" / "examples"


def test_location_tag_forms() -> None:
    assert catalog.parse_location("s3://b/templates", "d-1") == ("b", "templates/")
    assert catalog.parse_location("s3://b/", "d-1") == ("b", "")
    for bad in (None, "https://b/x", "b/templates", "s3:///x"):
        with pytest.raises(catalog.LocationError):
            catalog.parse_location(bad, "d-1")


def test_describe_template_reads_interface_metadata() -> None:
    info = catalog.describe_template((EXAMPLES / "small-project.yml").read_text())
    params = {p["Name"]: p for p in info["Parameters"]}
    assert params["SageMakerProjectId"]["SuppliedBySageMaker"] and params["SageMakerProjectId"]["NoEcho"]
    assert params["Stage"]["Label"] == "Deployment stage" and params["Stage"]["Group"] == "Environment"
    assert params["RetentionDays"]["Constraints"] == {"MinValue": 1, "MaxValue": 365}
    assert info["ResourceTypes"] == ["AWS::S3::Bucket", "AWS::SSM::Parameter"]
    assert catalog.describe_template((TEMPLATES / "no-sagemaker-params.yml").read_text())["MissingSageMakerParameters"] == list(catalog.SUPPLIED)


def test_entry_lists_broken_templates_with_their_error() -> None:
    item = catalog.entry("b", "t/broken.yaml", "us-east-1", "Resources: [", "v1", None, '"e"')
    assert item["TemplateName"] == "broken" and "YAML" in item["Error"]
    assert item["TemplateURL"] == "https://b.s3.us-east-1.amazonaws.com/t/broken.yaml"
    assert catalog.template_url("b", "k y.yml", "eu-west-1", "v 1").endswith("/k%20y.yml?versionId=v%201")


def test_visibility_tag() -> None:
    assert catalog.visible([{"Key": "sagemaker:studio-visibility", "Value": "TRUE"}])
    assert not catalog.visible([{"Key": "sagemaker:studio-visibility", "Value": "false"}])
    assert not catalog.visible([])


@pytest.mark.parametrize(("phase", "stack", "status"), [
    ("CreateInProgress", "CREATE_COMPLETE", "CreateCompleted"),
    ("CreateInProgress", "ROLLBACK_COMPLETE", "CreateFailed"),
    ("UpdateInProgress", "UPDATE_COMPLETE", "UpdateCompleted"),
    ("UpdateInProgress", "UPDATE_ROLLBACK_COMPLETE", "UpdateFailed"),
    ("DeleteInProgress", "DELETE_COMPLETE", "DeleteCompleted"),
    ("DeleteInProgress", None, "DeleteCompleted"),
    ("DeleteInProgress", "DELETE_FAILED", "DeleteFailed"),
])
def test_project_status_follows_the_stack(phase: str, stack: str | None, status: str) -> None:
    assert outcome(phase, stack) == status


def test_ids_and_page_tokens() -> None:
    pid, did = common.project_id(), common.domain_id()
    assert pid.startswith("p-") and len(pid) == 14 and pid[2:].isalnum() and pid[2:] == pid[2:].lower()
    assert did.startswith("d-") and len(did) == 14
    token = common.encode_token(20, {"SortBy": "Name"})
    assert common.decode_token(token, {"SortBy": "Name"}) == 20
    with pytest.raises(SageMakerValidation):
        common.decode_token(token, {"SortBy": "CreationTime"})
    with pytest.raises(SageMakerValidation):
        common.decode_token("garbage!", {})


def test_parameter_form_without_a_terminal() -> None:
    params = catalog.describe_template((EXAMPLES / "small-project.yml").read_text())["Parameters"]
    assert parameter_form(params, {"Stage": "prod"}, interactive=False) == {"Stage": "prod"}
    with pytest.raises(typer.BadParameter):
        parameter_form([{"Name": "X", "Type": "String", "SuppliedBySageMaker": False}], {}, interactive=False)
