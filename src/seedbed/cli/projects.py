"""``seedbed projects``: create, list, describe, update and delete SageMaker projects from a
domain's S3 templates, with a parameter form on the terminal. A boto3 client of the running server.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from seedbed.cli.templates import (
    Clients,
    client_catalog,
    connect,
    error_text,
    find_template,
    pick_domain,
)

projects_app = typer.Typer(help="Create and manage SageMaker projects from S3 templates.", no_args_is_help=True)
console = Console()

DataDir = Annotated[Optional[Path], typer.Option("--data-dir", help="Data dir for credentials when the shell has none.")]
TERMINAL = {"CreateCompleted", "CreateFailed", "UpdateCompleted", "UpdateFailed", "DeleteFailed", "DeleteCompleted"}


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for value in values or []:
        if "=" not in value:
            raise typer.BadParameter(f"{what} must look like KEY=VALUE, not {value!r}")
        key, _, val = value.partition("=")
        out[key] = val
    return out


def parameter_form(parameters: list[dict[str, Any]], given: dict[str, str], interactive: bool) -> dict[str, str]:
    """Ask for each parameter the user fills in (by group, with label, description and
    constraints); SageMakerProjectName/Id are supplied by SageMaker and never asked."""
    values = dict(given)
    group = None
    for p in parameters:
        if p["SuppliedBySageMaker"] or p["Name"] in values:
            continue
        if not interactive:
            if "Default" not in p:
                raise typer.BadParameter(f"parameter {p['Name']} has no default: pass --param {p['Name']}=VALUE")
            continue
        if p.get("Group") != group:
            group = p.get("Group")
            if group:
                console.print(f"[bold]{group}[/]")
        constraints = p.get("Constraints") or {}
        hint = ", ".join(f"{k}={v}" for k, v in constraints.items() if k != "ConstraintDescription")
        label = p.get("Label") or p["Name"]
        if p.get("Description"):
            console.print(f"  [dim]{p['Description']}[/]" + (f" [dim]({hint})[/]" if hint else ""))
        default = p.get("Default")
        answer = typer.prompt(f"  {label}", default=default if default is not None else ..., hide_input=bool(p.get("NoEcho")),
                              show_default=default is not None)
        allowed = constraints.get("AllowedValues")
        while allowed and answer not in allowed:
            console.print(f"  [red]must be one of {', '.join(allowed)}[/]")
            answer = typer.prompt(f"  {label}", default=default if default is not None else ...)
        if default is None or answer != default:
            values[p["Name"]] = answer
    return values


def _wait(clients: Clients, name: str, timeout: float = 600) -> dict[str, Any] | None:
    sm = clients.client("sagemaker")
    deadline = time.monotonic() + timeout
    with console.status(f"waiting for {name}") as status:
        while time.monotonic() < deadline:
            try:
                project = sm.describe_project(ProjectName=name)
            except Exception as exc:
                if "does not exist" in error_text(exc):
                    return None
                raise
            status.update(f"{name}: {project['ProjectStatus']}")
            if project["ProjectStatus"] in TERMINAL:
                return project
            time.sleep(0.2)
    return sm.describe_project(ProjectName=name)


def _show_status(project: dict[str, Any] | None) -> None:
    if project is None:
        return
    detail = (project.get("TemplateProviderDetails") or [{}])[0].get("CfnTemplateProviderDetail", {})
    ok = not project["ProjectStatus"].endswith("Failed")
    console.print(f"{project['ProjectName']} ({project['ProjectId']}): [{'green' if ok else 'red'}]{project['ProjectStatus']}[/]")
    message = detail.get("StackDetail", {}).get("StatusMessage")
    if not ok and message:
        console.print(f"  {message}")


def _default_role(clients: Clients) -> str | None:
    try:
        return clients.client("iam").get_role(RoleName="AmazonSageMakerProjectsLaunchRole")["Role"]["Arn"]
    except Exception:  # noqa: BLE001 - no default role: the stack runs as the caller
        return None


@projects_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Project name (1-32 letters, digits, hyphens).")],
    template: Annotated[str, typer.Option("--template", help="Template name or key from the catalog, or an https:// template URL.")],
    domain: Annotated[Optional[str], typer.Option(help="Domain whose catalog to use.")] = None,
    param: Annotated[Optional[list[str]], typer.Option("--param", help="KEY=VALUE, repeatable; others are asked for.")] = None,
    tag: Annotated[Optional[list[str]], typer.Option("--tag", help="KEY=VALUE, repeatable.")] = None,
    role: Annotated[Optional[str], typer.Option(help="Launch role ARN (default: AmazonSageMakerProjectsLaunchRole when it exists).")] = None,
    description: Annotated[Optional[str], typer.Option(help="Project description.")] = None,
    interactive: Annotated[bool, typer.Option("--input/--no-input", help="Ask for parameters without a value.")] = True,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the stack is done.")] = True,
    data_dir: DataDir = None,
) -> None:
    """Create a project from a template, asking for its parameters on the terminal."""
    clients = connect(data_dir)
    sm = clients.client("sagemaker")
    try:
        if template.startswith("https://"):
            url, template_name, parameters = template, template.rsplit("/", 1)[-1].split(".")[0][:32], []
        else:
            item = find_template(client_catalog(clients, pick_domain(clients, domain))["Templates"], template)
            if item.get("Error"):
                raise typer.BadParameter(f"{item['Key']} is not a valid template: {item['Error']}")
            url, template_name, parameters = item["TemplateURL"], item["TemplateName"][:32], item["Parameters"]
        values = parameter_form(parameters, _pairs(param, "--param"), interactive)
        provider: dict[str, Any] = {"TemplateName": template_name, "TemplateURL": url,
                                    "Parameters": [{"Key": k, "Value": v} for k, v in values.items()]}
        launch = role or _default_role(clients)
        if launch:
            provider["RoleARN"] = launch
        request: dict[str, Any] = {"ProjectName": name, "TemplateProviders": [{"CfnTemplateProvider": provider}]}
        if description:
            request["ProjectDescription"] = description
        if tag:
            request["Tags"] = [{"Key": k, "Value": v} for k, v in _pairs(tag, "--tag").items()]
        out = sm.create_project(**request)
    except typer.BadParameter:
        raise
    except Exception as exc:  # noqa: BLE001
        console.print(f"[red]{error_text(exc)}[/] (run `seedbed doctor` for the cause)")
        raise typer.Exit(1) from None
    console.print(f"created {out['ProjectArn']}")
    if wait:
        project = _wait(clients, name)
        _show_status(project)
        if project is not None and project["ProjectStatus"].endswith("Failed"):
            raise typer.Exit(1)


@projects_app.command("list")
def list_projects(
    name_contains: Annotated[Optional[str], typer.Option("--name-contains")] = None,
    sort_by: Annotated[str, typer.Option(help="Name or CreationTime.")] = "CreationTime",
    ascending: Annotated[bool, typer.Option("--ascending")] = False,
    data_dir: DataDir = None,
) -> None:
    """Every project, newest first."""
    sm = connect(data_dir).client("sagemaker")
    params: dict[str, Any] = {"SortBy": sort_by, "SortOrder": "Ascending" if ascending else "Descending"}
    if name_contains:
        params["NameContains"] = name_contains
    table = Table("name", "id", "status", "created", "description")
    for page in sm.get_paginator("list_projects").paginate(**params):
        for p in page["ProjectSummaryList"]:
            table.add_row(p["ProjectName"], p["ProjectId"], p["ProjectStatus"], str(p["CreationTime"])[:19], p.get("ProjectDescription", ""))
    console.print(table)


@projects_app.command("describe")
def describe(name: Annotated[str, typer.Argument()], data_dir: DataDir = None) -> None:
    """A project with its template, parameters, stack status and the stack's outputs."""
    clients = connect(data_dir)
    try:
        project = clients.client("sagemaker").describe_project(ProjectName=name)
    except Exception as exc:  # noqa: BLE001
        console.print(f"[red]{error_text(exc)}[/]")
        raise typer.Exit(1) from None
    out = json.loads(json.dumps(project, default=str))
    out.pop("ResponseMetadata", None)
    stack = (project.get("TemplateProviderDetails") or [{}])[0].get("CfnTemplateProviderDetail", {}).get("StackDetail", {})
    if stack.get("Id"):
        try:
            described = clients.client("cloudformation").describe_stacks(StackName=stack["Id"])["Stacks"][0]
            out["StackOutputs"] = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs") or []}
        except Exception as exc:  # noqa: BLE001
            out["StackOutputs"] = f"unavailable: {error_text(exc)}"
    typer.echo(json.dumps(out, indent=2))


@projects_app.command("update")
def update(
    name: Annotated[str, typer.Argument()],
    param: Annotated[Optional[list[str]], typer.Option("--param", help="KEY=VALUE, repeatable.")] = None,
    template_url: Annotated[Optional[str], typer.Option(help="A new template URL (default: the current one, which picks up a new version).")] = None,
    description: Annotated[Optional[str], typer.Option()] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait")] = True,
    data_dir: DataDir = None,
) -> None:
    """New parameter values, a new template URL or the template's newest version."""
    clients = connect(data_dir)
    sm = clients.client("sagemaker")
    try:
        current = sm.describe_project(ProjectName=name)
        detail = current["TemplateProviderDetails"][0]["CfnTemplateProviderDetail"]
        request: dict[str, Any] = {"ProjectName": name, "TemplateProvidersToUpdate": [{"CfnTemplateProvider": {
            "TemplateName": detail["TemplateName"], "TemplateURL": template_url or detail["TemplateURL"].split("?versionId=")[0],
            "Parameters": [{"Key": k, "Value": v} for k, v in _pairs(param, "--param").items()],
        }}]}
        if description is not None:
            request["ProjectDescription"] = description
        sm.update_project(**request)
    except Exception as exc:  # noqa: BLE001
        console.print(f"[red]{error_text(exc)}[/]")
        raise typer.Exit(1) from None
    if wait:
        project = _wait(clients, name)
        _show_status(project)
        if project is not None and project["ProjectStatus"].endswith("Failed"):
            raise typer.Exit(1)


@projects_app.command("delete")
def delete(
    name: Annotated[str, typer.Argument()],
    wait: Annotated[bool, typer.Option("--wait/--no-wait")] = True,
    data_dir: DataDir = None,
) -> None:
    """Delete the project's stack; lists the resources the stack retains."""
    clients = connect(data_dir)
    sm = clients.client("sagemaker")
    try:
        project = sm.describe_project(ProjectName=name)
        stack_id = (project.get("TemplateProviderDetails") or [{}])[0].get("CfnTemplateProviderDetail", {}).get("StackDetail", {}).get("Id")
        sm.delete_project(ProjectName=name)
    except Exception as exc:  # noqa: BLE001
        console.print(f"[red]{error_text(exc)}[/]")
        raise typer.Exit(1) from None
    if not wait:
        console.print(f"deleting {name}")
        return
    left = _wait(clients, name)
    if left is not None:
        _show_status(left)
        raise typer.Exit(1)
    console.print(f"deleted {name}")
    if stack_id:
        resources = clients.client("cloudformation").describe_stack_resources(StackName=stack_id)["StackResources"]
        for r in resources:
            if r["ResourceStatus"] == "DELETE_SKIPPED":
                console.print(f"  retained {r['ResourceType']} {r.get('PhysicalResourceId', '')}")


@projects_app.command("versions")
def versions(
    data_dir: DataDir = None,
    database_url: Annotated[Optional[str], typer.Option("--database-url")] = None,
    outdated: Annotated[bool, typer.Option("--outdated", help="Only projects whose template has a newer version.")] = False,
) -> None:
    """Which template version each project runs, and whether S3 holds a newer one (an admin view
    read from the data dir's database, like `seedbed audit`)."""
    from seedbed.cli.main import _settings
    from seedbed.services.sagemaker import store
    from seedbed.state.db import Database

    settings = _settings(data_dir, database_url=database_url)
    db = Database(settings.resolved_database_url)
    db.migrate()
    with db.connect() as conn:
        rows = list(conn.execute(store.projects.select().where(store.projects.c.deleted.is_(False)).order_by(store.projects.c.created)))
    db.dispose()
    s3 = connect(data_dir).client("s3")
    table = Table("project", "template", "version", "last modified", "current")
    for row in rows:
        v = row.template_version or {}
        try:
            head = s3.head_object(Bucket=v["Bucket"], Key=v["Key"])
            current = head.get("ETag") == v.get("ETag") and (head.get("VersionId") or None) == (v.get("VersionId") or None)
            state = "[green]latest[/]" if current else f"[yellow]newer: {head.get('VersionId') or head.get('LastModified')}[/]"
        except Exception as exc:  # noqa: BLE001
            current, state = False, f"[red]{error_text(exc)}[/]"
        if outdated and current:
            continue
        table.add_row(row.name, f"s3://{v.get('Bucket')}/{v.get('Key')}", str(v.get("VersionId") or "-"), str(v.get("LastModified") or ""), state)
    console.print(table)
