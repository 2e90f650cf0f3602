"""The web UI's routing and templates without a server: every page renders the shapes the APIs
return, errors show as AWS codes, and static files stay inside their folder."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from seedbed.protocol.http import HttpRequest
from seedbed.server.context import Principal
from seedbed.studio import auth, views, web

ROOT = Principal(account_id="000000000000", arn="arn:aws:iam::000000000000:root", user_id="000000000000",
                 type="Root", access_key_id="AKIAROOT")
SESSION = auth.Session("sid", "d-abc", "alice", "us-east-1", ROOT, time.time() + 100)
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class FakePage(web.Page):
    def __init__(self) -> None:
        super().__init__(None, HttpRequest("GET", "/"), SESSION, b"k" * 32)


def html(template: str, **values: object) -> str:
    response = FakePage().render(template, **values)
    assert response.status == 200
    assert ("Content-Security-Policy", response.header("content-security-policy")) in response.headers
    return response.body.decode()


def test_routes() -> None:
    assert web.match("GET", "")[0] is views.projects  # type: ignore[index]
    assert web.match("GET", "projects/my-proj")[0] is views.project  # type: ignore[index]
    handler, args = web.match("GET", "models/a%2Fb")  # type: ignore[misc]
    assert handler is views.model_group and args == {"name": "a/b"}
    assert web.match("HEAD", "endpoints")[0] is views.endpoints  # type: ignore[index]
    assert web.match("DELETE", "projects") is False
    assert web.match("GET", "nope/nope/nope") is None
    assert web.match("POST", "projects/new")[0] is views.create_project  # type: ignore[index]


def test_same_origin() -> None:
    def req(headers: dict[str, str]) -> HttpRequest:
        return HttpRequest("POST", "/", headers={"host": "localhost:4599", **headers})
    assert web.same_origin(req({}))
    assert web.same_origin(req({"origin": "http://localhost:4599"}))
    assert not web.same_origin(req({"origin": "https://evil.example"}))
    assert not web.same_origin(req({"origin": "null"}))


def test_static_files_stay_in_their_folder() -> None:
    assert web.static("studio.js").status == 200
    assert web.static("../web.py").status == 404
    assert web.static("missing.css").status == 404


def test_endpoint_page_shows_variants() -> None:
    page = html("endpoint.html", endpoint={
        "EndpointName": "prod", "EndpointArn": "arn:aws:sagemaker:us-east-1:000000000000:endpoint/prod",
        "EndpointConfigName": "cfg", "EndpointStatus": "Updating", "CreationTime": NOW, "LastModifiedTime": NOW,
        "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentWeight": 1.0, "DesiredWeight": 0.5,
                                "CurrentInstanceCount": 1, "DesiredInstanceCount": 2,
                                "DeployedImages": [{"SpecifiedImage": "xgboost:1.7-1"}]}],
    }, busy=True)
    assert "AllTraffic" in page and "1.0 → 0.5" in page and "1 → 2" in page and "xgboost:1.7-1" in page
    assert 'badge busy">Updating' in page and "data-in-progress" in page and "2024-05-01 12:00:00 UTC" in page


def test_error_boxes_say_code_and_message_and_escape_them() -> None:
    page = html("projects.html", projects=[], error=web.ApiError("AccessDeniedException", "<b>no</b>", "sagemaker", "ListProjects"))
    assert "AccessDeniedException" in page and "&lt;b&gt;no&lt;/b&gt;" in page and "sagemaker:ListProjects" in page
    page = html("pipelines.html", pipelines=[], error=web.ApiError("NotImplemented", "Seedbed does not implement it yet.", "sagemaker", "ListPipelines"),
                project_name="")
    assert "Not available yet" in page and "Listing pipelines" in page


def test_project_page_links_clone_urls_and_offers_changes() -> None:
    page = html("project.html", project={
        "ProjectName": "p1", "ProjectId": "p-abc", "ProjectArn": "arn", "ProjectStatus": "CreateFailed", "CreationTime": NOW,
    }, provider={"TemplateName": "t", "TemplateURL": "https://b.s3.amazonaws.com/t.yml", "Parameters": [{"Key": "Stage", "Value": "dev"}],
                 "StackDetail": {"Name": "SP-p1", "Id": "id", "StatusMessage": "ROLLBACK_COMPLETE: Bucket exists"}},
        stack=None, stack_error=None, events=[], events_error=None, tags=[], tags_error=None,
        outputs=[{"OutputKey": "CloneUrl", "OutputValue": "http://localhost/git-http/x.git"}],
        repos=[{"OutputKey": "CloneUrl", "OutputValue": "http://localhost/git-http/x.git"}], busy=False, can_change=False)
    assert "git clone http://localhost/git-http/x.git" in page and "Bucket exists" in page
    assert "/delete" not in page  # nothing to change while the project failed to create


def test_model_group_page_offers_the_other_decision() -> None:
    page = html("model_group.html", group={"ModelPackageGroupName": "g"}, error=None, packages=[{
        "ModelPackageVersion": 3, "ModelPackageArn": "arn:pkg/g/3", "ModelApprovalStatus": "Approved",
        "ModelPackageStatus": "Completed", "CreationTime": NOW, "describe_error": None,
        "reports": [{"name": "ModelQuality.Statistics", "uri": "s3://b/e.json", "pairs": [("mse", 1.5)], "error": None}],
        "CustomerMetadataProperties": {"owner": "ml"}}])
    assert 'value="Rejected"' in page and 'value="Approved"' not in page
    assert "owner=ml" in page and "1.5" in page and 'name="csrf_token"' in page


def test_login_page_without_domain() -> None:
    response = web.render("login.html", 401, domain_id=None, reason=None, session=None, base="/")
    assert response.status == 401 and b"d-xxxxxxxxxxxx" in response.body


def test_a_domain_without_its_slash_is_redirected() -> None:
    import asyncio

    response = asyncio.run(web.handle(None, HttpRequest("GET", "/_seedbed/studio/d-abc")))
    assert response.status == 303 and response.header("location") == "/_seedbed/studio/d-abc/projects"
    response = asyncio.run(web.handle(None, HttpRequest("GET", "/_seedbed/studio/static/studio.css")))
    assert response.status == 200
