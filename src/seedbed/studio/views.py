"""The pages of the web UI (see :mod:`seedbed.studio` for the tour). Each handler gets a
:class:`~seedbed.studio.web.Page` and returns a response; AWS errors become the page's error box."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from seedbed.errors import ServiceError
from seedbed.protocol.http import HttpRequest, HttpResponse
from seedbed.server.context import RequestContext
from seedbed.services.sagemaker import catalog
from seedbed.state import ids
from seedbed.studio import auth, forms
from seedbed.studio.web import (
    PREFIX,
    ApiError,
    Failed,
    Page,
    cookie_header,
    json_response,
    redirect,
    render,
    route,
)

PROJECT = r"(?P<name>[A-Za-z0-9-]{1,32})"
NAME = r"(?P<name>[^/]{1,256})"
IN_PROGRESS = ("Pending", "CreateInProgress", "UpdateInProgress", "DeleteInProgress")
#: How many items a list page reads (pages through NextToken up to this).
LIST_LIMIT = 200
MAX_METRICS_BYTES = 256 * 1024


# -- login / logout --------------------------------------------------------------------------


async def login(backend: Any, request: HttpRequest, domain_id: str, key: bytes) -> HttpResponse:
    """``auth?token=...``: the presigned domain URL. Used once; opens a session cookie."""
    from seedbed.services.sagemaker.domains import redeem_presigned

    refused = "This login URL is invalid, has expired or has already been used. Ask for a new one."
    grant = redeem_presigned(backend, domain_id, request.query_dict().get("token"))
    if grant is None:
        return render("login.html", 403, domain_id=domain_id, reason=refused)
    try:
        session = auth.new_session(grant)
    except (KeyError, TypeError, ValueError):
        return render("login.html", 403, domain_id=domain_id, reason=refused)
    if session.seconds_left <= 0:
        return render("login.html", 403, domain_id=domain_id, reason="The credentials this URL was made with have expired.")
    secure = str(backend.settings.endpoint_url).startswith("https://")
    cookie = cookie_header(domain_id, auth.session_cookie(key, session), session.seconds_left, secure)
    return redirect(f"{PREFIX}{domain_id}/projects", [("Set-Cookie", cookie)])


@route("POST", r"logout")
async def logout(page: Page) -> HttpResponse:
    secure = str(page.backend.settings.endpoint_url).startswith("https://")
    return redirect(page.url("projects"), [("Set-Cookie", cookie_header(page.domain_id, "", 0, secure))])


# -- helpers -----------------------------------------------------------------------------------


async def _pages(page: Page, service: str, operation: str, params: dict[str, Any], key: str,
                 token: str = "NextToken", out_token: str | None = None) -> list[dict[str, Any]]:
    """All items of a paginated list call, up to :data:`LIST_LIMIT`."""
    items: list[dict[str, Any]] = []
    params = dict(params)
    while True:
        got = await page.call(service, operation, params)
        items.extend(got.get(key) or [])
        nxt = got.get(out_token or token)
        if not nxt or len(items) >= LIST_LIMIT:
            return items[:LIST_LIMIT]
        params[token] = nxt


async def _catalog(page: Page) -> tuple[dict[str, Any] | None, ApiError | None]:
    try:
        return await catalog.server_catalog(page.backend, page.session.principal, page.session.region, page.domain_id), None
    except Exception as exc:  # noqa: BLE001
        return None, ApiError.of(exc, "s3", "catalog")


async def _tagged(page: Page, arns: list[str], key: str, value: str) -> set[str]:
    """The ARNs (of SageMaker resources) whose tag ``key`` is ``value``."""
    found = set()
    for arn in arns:
        tags, _ = await page.attempt("sagemaker", "ListTags", {"ResourceArn": arn})
        if any(t.get("Key") == key and t.get("Value") == value for t in (tags or {}).get("Tags") or []):
            found.add(arn)
    return found


async def _passable_roles(page: Page) -> tuple[list[str], ApiError | None]:
    """Roles the user may list and pass to CloudFormation (the launch role of a project)."""
    try:
        roles = await _pages(page, "iam", "ListRoles", {"MaxItems": 100}, "Roles", token="Marker", out_token="Marker")
    except Failed as failed:
        return [], failed.error
    ctx = RequestContext(request_id=ids.request_id(), service="sagemaker", operation="CreateProject",
                         region=page.session.region, account_id=page.session.principal.account_id,
                         principal=page.session.principal, source_ip="seedbed.studio", user_agent="seedbed-studio")
    allowed = []
    for role in roles:
        try:
            page.backend.authorizer.check_pass_role(ctx, role["Arn"], "cloudformation.amazonaws.com")
        except ServiceError:
            continue
        allowed.append(role["Arn"])
    return allowed, None


def _default_role(roles: list[str]) -> str:
    for arn in roles:
        if arn.endswith("/AmazonSageMakerProjectsLaunchRole") or "LaunchRole" in arn:
            return arn
    return ""


# -- projects ----------------------------------------------------------------------------------


@route("GET", r"(projects)?")
async def projects(page: Page) -> HttpResponse:
    items, error = [], None
    try:
        items = await _pages(page, "sagemaker", "ListProjects", {"MaxResults": 100, "SortBy": "CreationTime", "SortOrder": "Descending"}, "ProjectSummaryList")
    except Failed as failed:
        error = failed.error
    busy = any(p.get("ProjectStatus") in IN_PROGRESS for p in items)
    return page.render("projects.html", status=403 if error and error.code.startswith("AccessDenied") else 200,
                       projects=items, error=error, busy=busy, nav="projects")


@route("GET", r"templates")
async def templates(page: Page) -> HttpResponse:
    found, error = await _catalog(page)
    return page.render("templates.html", catalog=found, error=error, nav="templates",
                       endpoint=page.backend.settings.endpoint_url)


@route("GET", r"catalog\.json")
async def catalog_json(page: Page) -> HttpResponse:
    found, error = await _catalog(page)
    if error is not None:
        return json_response(403 if error.code.startswith("AccessDenied") else 400, {"Code": error.code, "Message": error.message})
    return json_response(200, found)


def _template_form(entry: dict[str, Any], values: dict[str, str]) -> list[dict[str, Any]]:
    return forms.fields(entry.get("Parameters") or [], entry.get("ParameterGroups") or [], values)


@route("GET", r"projects/new")
async def new_project(page: Page) -> HttpResponse:
    found, error = await _catalog(page)
    wanted = page.query.get("template")
    entry = next((t for t in (found or {}).get("Templates") or [] if t["Key"] == wanted), None) if wanted else None
    if entry is None:
        missing = ApiError("ValidationException", f"No visible template {wanted!r} in this domain's catalog.") if wanted and found else None
        return page.render("pick_template.html", catalog=found, error=error or missing, nav="projects")
    roles, roles_error = await _passable_roles(page)
    return page.render("new_project.html", entry=entry, fieldsets=_template_form(entry, {}), roles=roles,
                       roles_error=roles_error, values={"role": _default_role(roles)}, error=None, nav="projects")


@route("POST", r"projects/new")
async def create_project(page: Page) -> HttpResponse:
    form = page.form
    found, error = await _catalog(page)
    entry = next((t for t in (found or {}).get("Templates") or [] if t["Key"] == form.get("template")), None)
    if entry is None:
        raise Failed(error or ApiError("ValidationException", f"No visible template {form.get('template')!r} in this domain's catalog."))
    values = {k[len(forms.PARAM):]: v for k, v in form.items() if k.startswith(forms.PARAM)}
    provider: dict[str, Any] = {
        "TemplateName": forms.template_name(entry["TemplateName"]), "TemplateURL": entry["TemplateURL"],
        "Parameters": forms.parameter_values(form, entry.get("Parameters") or []),
    }
    if form.get("role", "").strip():
        provider["RoleARN"] = form["role"].strip()
    params: dict[str, Any] = {"ProjectName": form.get("name", "").strip(), "TemplateProviders": [{"CfnTemplateProvider": provider}]}
    if form.get("description", "").strip():
        params["ProjectDescription"] = form["description"].strip()
    failure: ApiError | None = None
    try:
        tags = forms.parse_tags(form.get("tags", ""))
    except ValueError as exc:
        failure = ApiError("ValidationException", str(exc))
    else:
        if tags:
            params["Tags"] = tags
        _, failure = await page.attempt("sagemaker", "CreateProject", params)
    if failure is None:
        return page.redirect(f"projects/{quote(params['ProjectName'])}")
    roles, roles_error = await _passable_roles(page)
    return page.render("new_project.html", status=403 if failure.code.startswith("AccessDenied") else 400,
                       entry=entry, fieldsets=_template_form(entry, values), roles=roles, roles_error=roles_error,
                       values=form, error=failure, nav="projects")


def _provider(project: dict[str, Any]) -> dict[str, Any]:
    details = project.get("TemplateProviderDetails") or [{}]
    return details[0].get("CfnTemplateProviderDetail") or {}


@route("GET", rf"projects/{PROJECT}")
async def project(page: Page, name: str) -> HttpResponse:
    described = await page.call("sagemaker", "DescribeProject", {"ProjectName": name})
    provider = _provider(described)
    stack_ref = (provider.get("StackDetail") or {}).get("Id") or (provider.get("StackDetail") or {}).get("Name")
    stack = events = None
    stack_error = events_error = None
    if stack_ref:
        got, stack_error = await page.attempt("cloudformation", "DescribeStacks", {"StackName": stack_ref})
        stack = ((got or {}).get("Stacks") or [None])[0]
        got, events_error = await page.attempt("cloudformation", "DescribeStackEvents", {"StackName": stack_ref})
        events = ((got or {}).get("StackEvents") or [])[:60]
    tags, tags_error = await page.attempt("sagemaker", "ListTags", {"ResourceArn": described["ProjectArn"]})
    outputs = (stack or {}).get("Outputs") or []
    repos = [o for o in outputs if forms.looks_like_clone_url(o.get("OutputKey", ""), o.get("OutputValue"))]
    status = described.get("ProjectStatus")
    return page.render(
        "project.html", project=described, provider=provider, stack=stack, stack_error=stack_error,
        events=events, events_error=events_error, tags=(tags or {}).get("Tags") or [], tags_error=tags_error,
        outputs=outputs, repos=repos, busy=status in IN_PROGRESS, can_change=status in ("CreateCompleted", "UpdateCompleted", "UpdateFailed"),
        nav="projects",
    )


async def _update_form(page: Page, name: str) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], ApiError | None]:
    """The project, its template provider, and the parameters of its deployed template (from
    GetTemplate; the parameters it was given when the template cannot be read)."""
    described = await page.call("sagemaker", "DescribeProject", {"ProjectName": name})
    provider = _provider(described)
    declared: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    stack_ref = (provider.get("StackDetail") or {}).get("Id")
    got, error = (await page.attempt("cloudformation", "GetTemplate", {"StackName": stack_ref})) if stack_ref else (None, None)
    if got and got.get("TemplateBody") is not None:
        body = got["TemplateBody"]
        try:
            summary = catalog.describe_template(body if isinstance(body, str) else json.dumps(body))
            declared, groups = summary["Parameters"], summary["ParameterGroups"]
        except Exception:  # noqa: BLE001 - fall back to the parameters the project was given
            declared = []
    if not declared:
        given = [p["Key"] for p in provider.get("Parameters") or []]
        declared = [{"Name": k, "Type": "String"} for k in given if k not in catalog.SUPPLIED]
    return described, provider, declared, groups, error


@route("GET", rf"projects/{PROJECT}/update")
async def update_form(page: Page, name: str) -> HttpResponse:
    described, provider, declared, groups, error = await _update_form(page, name)
    current = {p["Key"]: p.get("Value", "") for p in provider.get("Parameters") or []}
    return page.render("update_project.html", project=described, provider=provider,
                       fieldsets=forms.fields(declared, groups, current), error=None, notice=error, nav="projects")


@route("POST", rf"projects/{PROJECT}/update")
async def update_project(page: Page, name: str) -> HttpResponse:
    described, provider, declared, groups, notice = await _update_form(page, name)
    form = page.form
    params: dict[str, Any] = {"ProjectName": name, "TemplateProvidersToUpdate": [{"CfnTemplateProvider": {
        "TemplateName": provider.get("TemplateName") or "template", "TemplateURL": provider.get("TemplateURL"),
        "Parameters": forms.parameter_values(form, declared, keep_empty=True),
    }}]}
    if form.get("description", "") != (described.get("ProjectDescription") or ""):
        params["ProjectDescription"] = form.get("description", "")
    _, failure = await page.attempt("sagemaker", "UpdateProject", params)
    if failure is None:
        return page.redirect(f"projects/{quote(name)}")
    values = {k[len(forms.PARAM):]: v for k, v in form.items() if k.startswith(forms.PARAM)}
    return page.render("update_project.html", status=403 if failure.code.startswith("AccessDenied") else 400,
                       project=described, provider=provider, fieldsets=forms.fields(declared, groups, values),
                       error=failure, notice=notice, nav="projects")


@route("GET", rf"projects/{PROJECT}/delete")
async def delete_confirm(page: Page, name: str) -> HttpResponse:
    described = await page.call("sagemaker", "DescribeProject", {"ProjectName": name})
    return page.render("delete_project.html", project=described, error=None, nav="projects")


@route("POST", rf"projects/{PROJECT}/delete")
async def delete_project(page: Page, name: str) -> HttpResponse:
    _, failure = await page.attempt("sagemaker", "DeleteProject", {"ProjectName": name})
    if failure is None:
        return page.redirect(f"projects/{quote(name)}")
    described, _ = await page.attempt("sagemaker", "DescribeProject", {"ProjectName": name})
    return page.render("delete_project.html", status=403 if failure.code.startswith("AccessDenied") else 400,
                       project=described or {"ProjectName": name}, error=failure, nav="projects")


# -- pipelines ---------------------------------------------------------------------------------


@route("GET", r"pipelines")
async def pipelines(page: Page) -> HttpResponse:
    project_name = page.query.get("project") or ""
    items: list[dict[str, Any]] = []
    error = None
    try:
        items = await _pages(page, "sagemaker", "ListPipelines", {"MaxResults": 100, "SortBy": "CreationTime", "SortOrder": "Descending"}, "PipelineSummaries")
    except Failed as failed:
        error = failed.error
    if project_name and items:
        keep = await _tagged(page, [p["PipelineArn"] for p in items], "sagemaker:project-name", project_name)
        items = [p for p in items if p["PipelineArn"] in keep]
    return page.render("pipelines.html", pipelines=items, error=error, project_name=project_name, nav="pipelines")


@route("GET", rf"pipelines/{NAME}")
async def pipeline(page: Page, name: str) -> HttpResponse:
    described = await page.call("sagemaker", "DescribePipeline", {"PipelineName": name})
    executions, error = await page.attempt("sagemaker", "ListPipelineExecutions", {
        "PipelineName": name, "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 50})
    runs = (executions or {}).get("PipelineExecutionSummaries") or []
    busy = any(r.get("PipelineExecutionStatus") in ("Executing", "Stopping") for r in runs)
    return page.render("pipeline.html", pipeline=described, executions=runs, error=error, busy=busy, nav="pipelines")


@route("GET", rf"pipelines/{NAME}/execution")
async def execution(page: Page, name: str) -> HttpResponse:
    arn = page.query.get("arn") or ""
    described = await page.call("sagemaker", "DescribePipelineExecution", {"PipelineExecutionArn": arn})
    steps, error = await page.attempt("sagemaker", "ListPipelineExecutionSteps", {"PipelineExecutionArn": arn, "SortOrder": "Ascending"})
    rows = []
    for step in (steps or {}).get("PipelineExecutionSteps") or []:
        links = []
        for kind, meta in (step.get("Metadata") or {}).items():
            if isinstance(meta, dict):
                detail = meta.get("Arn") or meta.get("Outcome") or meta.get("ModelPackageArn") or ""
                links.append((kind, detail if isinstance(detail, str) else json.dumps(detail)))
        rows.append(dict(step, links=links))
    busy = described.get("PipelineExecutionStatus") in ("Executing", "Stopping")
    return page.render("execution.html", pipeline_name=name, execution=described, steps=rows, error=error, busy=busy, nav="pipelines")


# -- model registry ----------------------------------------------------------------------------


@route("GET", r"models")
async def model_groups(page: Page) -> HttpResponse:
    project_name = page.query.get("project") or ""
    items: list[dict[str, Any]] = []
    error = None
    try:
        items = await _pages(page, "sagemaker", "ListModelPackageGroups", {"MaxResults": 100, "SortBy": "CreationTime", "SortOrder": "Descending"}, "ModelPackageGroupSummaryList")
    except Failed as failed:
        error = failed.error
    if project_name and items:
        keep = await _tagged(page, [g["ModelPackageGroupArn"] for g in items], "sagemaker:project-name", project_name)
        items = [g for g in items if g["ModelPackageGroupArn"] in keep or g["ModelPackageGroupName"].startswith(f"{project_name}-")]
    return page.render("models.html", groups=items, error=error, project_name=project_name, nav="models")


async def _metrics(page: Page, package: dict[str, Any]) -> list[dict[str, Any]]:
    """Each metrics report of a package (S3 JSON files named in ModelMetrics), read as the user."""
    out = []
    for area, kinds in (package.get("ModelMetrics") or {}).items():
        for kind, source in (kinds or {}).items():
            uri = (source or {}).get("S3Uri") if isinstance(source, dict) else None
            if not uri or not uri.startswith("s3://"):
                continue
            bucket, _, key = uri[5:].partition("/")
            report: dict[str, Any] = {"name": f"{area}.{kind}", "uri": uri, "pairs": [], "error": None}
            got, error = await page.attempt("s3", "GetObject", {"Bucket": bucket, "Key": key, "Range": f"bytes=0-{MAX_METRICS_BYTES - 1}"})
            if error is not None:
                report["error"] = error
            else:
                from seedbed.cloudformation.engine import read_body

                try:
                    report["pairs"] = forms.flatten_metrics(json.loads(await read_body((got or {}).get("Body"))))
                except (ValueError, UnicodeDecodeError):
                    report["error"] = ApiError("InvalidJson", "The report is not JSON (or is larger than 256 KiB).")
            out.append(report)
    return out


@route("GET", rf"models/{NAME}")
async def model_group(page: Page, name: str) -> HttpResponse:
    group = await page.call("sagemaker", "DescribeModelPackageGroup", {"ModelPackageGroupName": name})
    listed, error = await page.attempt("sagemaker", "ListModelPackages", {
        "ModelPackageGroupName": name, "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 25})
    packages = []
    for summary in (listed or {}).get("ModelPackageSummaryList") or []:
        described, describe_error = await page.attempt("sagemaker", "DescribeModelPackage", {"ModelPackageName": summary["ModelPackageArn"]})
        package = dict(summary, **(described or {}))
        package["describe_error"] = describe_error
        package["reports"] = await _metrics(page, described or {})
        packages.append(package)
    return page.render("model_group.html", group=group, packages=packages, error=error, nav="models")


@route("POST", rf"models/{NAME}/approval")
async def approve(page: Page, name: str) -> HttpResponse:
    decision = page.form.get("decision")
    if decision not in ("Approved", "Rejected", "PendingManualApproval"):
        raise Failed(ApiError("ValidationException", f"Unknown approval status {decision!r}."))
    params: dict[str, Any] = {"ModelPackageArn": page.form.get("arn", ""), "ModelApprovalStatus": decision}
    if page.form.get("description", "").strip():
        params["ApprovalDescription"] = page.form["description"].strip()
    await page.call("sagemaker", "UpdateModelPackage", params)
    return page.redirect(f"models/{quote(name, safe='')}")


# -- endpoints ---------------------------------------------------------------------------------


@route("GET", r"endpoints")
async def endpoints(page: Page) -> HttpResponse:
    items: list[dict[str, Any]] = []
    error = None
    try:
        items = await _pages(page, "sagemaker", "ListEndpoints", {"MaxResults": 100, "SortBy": "CreationTime", "SortOrder": "Descending"}, "Endpoints")
    except Failed as failed:
        error = failed.error
    busy = any(forms.in_progress(e.get("EndpointStatus")) for e in items)
    return page.render("endpoints.html", endpoints=items, error=error, busy=busy, nav="endpoints")


@route("GET", rf"endpoints/{NAME}")
async def endpoint(page: Page, name: str) -> HttpResponse:
    described = await page.call("sagemaker", "DescribeEndpoint", {"EndpointName": name})
    return page.render("endpoint.html", endpoint=described, busy=forms.in_progress(described.get("EndpointStatus")), nav="endpoints")
