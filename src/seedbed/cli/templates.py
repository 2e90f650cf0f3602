"""``seedbed templates``: publish project templates to S3 and read a domain's catalog.

The CLI is a client: it talks to the running server with boto3 and the ``seedbed env``
credentials (or whatever ``AWS_*`` variables the shell has), so it sees exactly what a user with
those credentials sees, IAM refusals included.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from seedbed.services.sagemaker import catalog

templates_app = typer.Typer(help="Publish SageMaker project templates to S3 and list a domain's catalog.", no_args_is_help=True)
console = Console()

#: The CORS rule the AWS walkthrough documents, plus Seedbed's own web UI origin.
STUDIO_ORIGIN = "https://*.sagemaker.aws"
CORS_RULE = {
    "AllowedHeaders": ["*"],
    "AllowedMethods": ["POST", "PUT", "GET", "HEAD", "DELETE"],
    "AllowedOrigins": [STUDIO_ORIGIN],
    "ExposeHeaders": ["ETag", "x-amz-delete-marker", "x-amz-id-2", "x-amz-request-id",
                      "x-amz-server-side-encryption", "x-amz-version-id"],
}

Domain = Annotated[Optional[str], typer.Option("--domain", help="Domain id (d-...); default: the only domain.")]


@dataclass
class Clients:
    """boto3 clients for the running server."""

    endpoint: str
    region: str
    session: Any

    def client(self, service: str) -> Any:
        from botocore.config import Config

        return self.session.client(service, endpoint_url=self.endpoint, region_name=self.region,
                                   config=Config(retries={"max_attempts": 2}))


def connect(data_dir: Path | None = None) -> Clients:
    """The shell's ``AWS_*`` settings when it has them (``eval "$(seedbed env)"``), else the data
    dir's admin key and last server address."""
    import boto3

    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and os.environ.get("AWS_ACCESS_KEY_ID"):
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        return Clients(endpoint, region, boto3.Session())
    from seedbed.config import DEFAULT_PORT, default_data_dir

    root = data_dir or default_data_dir()
    creds_file, server_file = root / "credentials.json", root / "server.json"
    if not creds_file.exists():
        raise typer.BadParameter(f"no Seedbed credentials in {root}: run `seedbed up` (and `eval \"$(seedbed env)\"`) first")
    creds = json.loads(creds_file.read_text())
    endpoint = endpoint or (json.loads(server_file.read_text())["endpoint_url"] if server_file.exists() else f"http://localhost:{DEFAULT_PORT}")
    session = boto3.Session(aws_access_key_id=creds["aws_access_key_id"], aws_secret_access_key=creds["aws_secret_access_key"])
    return Clients(endpoint, creds["region"], session)


def error_text(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if response and "Error" in response:
        return f"{response['Error'].get('Code')}: {response['Error'].get('Message')}"
    return str(exc)


def pick_domain(clients: Clients, domain: str | None) -> str:
    if domain:
        return domain
    domains = clients.client("sagemaker").list_domains().get("Domains") or []
    if len(domains) != 1:
        raise typer.BadParameter(f"{len(domains)} domains exist; name one with --domain", param_hint="--domain")
    return domains[0]["DomainId"]


def domain_location(clients: Clients, domain_id: str) -> str | None:
    sm = clients.client("sagemaker")
    arn = sm.describe_domain(DomainId=domain_id)["DomainArn"]
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn).get("Tags") or []}
    return tags.get(catalog.LOCATION_TAG)


def client_catalog(clients: Clients, domain_id: str) -> dict[str, Any]:
    """The catalog as these credentials see it (the same rules as the server's endpoint)."""
    location = domain_location(clients, domain_id)
    bucket, prefix = catalog.parse_location(location, domain_id)
    s3 = clients.client("s3")
    templates = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents") or []:
            key = obj["Key"]
            if key.endswith("/"):
                continue
            if not catalog.visible(s3.get_object_tagging(Bucket=bucket, Key=key).get("TagSet") or []):
                continue
            got = s3.get_object(Bucket=bucket, Key=key)
            body = got["Body"].read().decode("utf-8", errors="replace")
            templates.append(catalog.entry(bucket, key, clients.region, body, got.get("VersionId"),
                                           got.get("LastModified"), got.get("ETag")))
    return {"DomainId": domain_id, "TemplatesLocation": location, "Bucket": bucket, "Prefix": prefix, "Templates": templates}


def find_template(entries: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    for item in entries:
        if wanted in (item["Key"], item["TemplateName"], item["S3Uri"], item["Key"].rsplit("/", 1)[-1]):
            return item
    raise typer.BadParameter(f"no visible template {wanted!r} in the catalog")


# -- publish ------------------------------------------------------------------------------------


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise typer.BadParameter(f"{path} is neither a file nor a folder")
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in catalog.TEMPLATE_SUFFIXES)


def _ensure_bucket(s3: Any, bucket: str, region: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    params: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**params)
    return True


def cors_allows_studio(rules: list[dict[str, Any]], origin: str = STUDIO_ORIGIN) -> bool:
    """Whether some rule lets the Studio origin GET (``*`` and ``https://*.sagemaker.aws`` count)."""
    for rule in rules:
        origins = rule.get("AllowedOrigins") or []
        if "GET" in (rule.get("AllowedMethods") or []) and any(o in ("*", origin) for o in origins):
            return True
    return False


def _ensure_cors(s3: Any, bucket: str, endpoint: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        rules = s3.get_bucket_cors(Bucket=bucket).get("CORSRules") or []
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchCORSConfiguration":
            raise
        rules = []
    local = endpoint.rstrip("/")
    if cors_allows_studio(rules) and cors_allows_studio(rules, local):
        return False
    rule = dict(CORS_RULE, AllowedOrigins=[STUDIO_ORIGIN, local])
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [r for r in rules if r != rule] + [rule]})
    return True


def _upload(s3: Any, bucket: str, key: str, data: bytes) -> bool:
    """Upload unless the object already holds these bytes; returns whether it uploaded."""
    from botocore.exceptions import ClientError

    try:
        head = s3.head_object(Bucket=bucket, Key=key)
        if head.get("ETag", "").strip('"') == hashlib.md5(data).hexdigest():
            return False
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/x-yaml")
    return True


def _tag_visible(s3: Any, bucket: str, key: str) -> bool:
    tags = s3.get_object_tagging(Bucket=bucket, Key=key).get("TagSet") or []
    if catalog.visible(tags):
        return False
    kept = [t for t in tags if t["Key"] != catalog.VISIBILITY_TAG]
    s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": kept + [{"Key": catalog.VISIBILITY_TAG, "Value": "true"}]})
    return True


@templates_app.command("publish")
def publish(
    path: Annotated[Path, typer.Argument(help="A template file, or a folder of them (.yml .yaml .json .template).")],
    bucket: Annotated[str, typer.Option(help="Bucket to publish to (created if missing).")],
    prefix: Annotated[str, typer.Option(help="Folder in the bucket.")] = "templates/",
    domain: Annotated[Optional[str], typer.Option(help="Domain to point at the templates (tags sagemaker:projectS3TemplatesLocation).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Data dir for credentials when the shell has none.")] = None,
) -> None:
    """Upload, tag for Studio visibility, set CORS and tag the domain, in one idempotent step."""
    from rich.progress import Progress

    clients = connect(data_dir)
    s3 = clients.client("s3")
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
    files = _files(path)
    if not files:
        raise typer.BadParameter(f"no template files in {path}")
    base = path if path.is_dir() else path.parent
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("publishing", total=len(files) + 3)
            made = _ensure_bucket(s3, bucket, clients.region)
            progress.advance(task)
            cors = _ensure_cors(s3, bucket, clients.endpoint)
            progress.advance(task)
            results = []
            for file in files:
                key = prefix + file.relative_to(base).as_posix()
                progress.update(task, description=f"uploading {key}")
                data = file.read_bytes()
                problems = ""
                try:
                    info = catalog.describe_template(data.decode("utf-8"))
                    if info["MissingSageMakerParameters"]:
                        problems = f"missing parameters {', '.join(info['MissingSageMakerParameters'])}"
                except Exception as exc:  # noqa: BLE001 - reported, still published
                    problems = f"not a valid template: {getattr(exc, 'message', exc)}"
                uploaded = _upload(s3, bucket, key, data)
                tagged = _tag_visible(s3, bucket, key)
                results.append((key, uploaded, tagged, problems))
                progress.advance(task)
            location = f"s3://{bucket}/{prefix}"
            domain_changed = False
            if domain:
                sm = clients.client("sagemaker")
                arn = sm.describe_domain(DomainId=domain)["DomainArn"]
                current = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn).get("Tags") or []}
                if current.get(catalog.LOCATION_TAG) != location:
                    sm.add_tags(ResourceArn=arn, Tags=[{"Key": catalog.LOCATION_TAG, "Value": location}])
                    domain_changed = True
            progress.advance(task)
    except Exception as exc:  # noqa: BLE001 - a client error, said plainly
        console.print(f"[red]publish failed:[/] {error_text(exc)}")
        raise typer.Exit(1) from None
    table = Table("template", "uploaded", "visibility tag", "notes")
    for key, uploaded, tagged, problems in results:
        table.add_row(key, "yes" if uploaded else "unchanged", "set" if tagged else "already", f"[yellow]{problems}[/]" if problems else "")
    console.print(table)
    console.print(f"bucket {bucket}: {'created' if made else 'exists'}; CORS {'set' if cors else 'already allows Studio'}")
    if domain:
        console.print(f"domain {domain}: {catalog.LOCATION_TAG}={location} ({'tagged' if domain_changed else 'already'})")


@templates_app.command("list")
def list_templates(
    domain: Domain = None,
    as_json: Annotated[bool, typer.Option("--json", help="The catalog as JSON.")] = False,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir")] = None,
) -> None:
    """The templates a domain's users see, read with your credentials."""
    clients = connect(data_dir)
    try:
        result = client_catalog(clients, pick_domain(clients, domain))
    except (catalog.LocationError, typer.BadParameter) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    except Exception as exc:  # noqa: BLE001
        console.print(f"[red]{error_text(exc)}[/] (run `seedbed doctor` for the cause)")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    table = Table("name", "key", "description", "parameters", "version", "last modified")
    for item in result["Templates"]:
        params = [p["Name"] for p in item.get("Parameters", []) if not p["SuppliedBySageMaker"]]
        table.add_row(item["TemplateName"], item["Key"], item.get("Description") or item.get("Error", ""),
                      ", ".join(params), str(item.get("VersionId") or "-"), str(item.get("LastModified") or ""))
    console.print(f"{result['TemplatesLocation']}")
    console.print(table)


@templates_app.command("show")
def show(
    template: Annotated[str, typer.Argument(help="Template name, key or s3:// URI.")],
    domain: Domain = None,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir")] = None,
) -> None:
    """One template: description, URL, version and its parameter form."""
    clients = connect(data_dir)
    item = find_template(client_catalog(clients, pick_domain(clients, domain))["Templates"], template)
    console.print(f"[bold]{item['TemplateName']}[/]  {item.get('Description', '')}")
    console.print(f"URL {item['TemplateURL']}\nversion {item.get('VersionId') or '-'}  modified {item.get('LastModified')}")
    if item.get("Error"):
        console.print(f"[red]{item['Error']}[/]")
        return
    table = Table("group", "parameter", "label", "type", "default", "constraints")
    for p in item["Parameters"]:
        table.add_row(p.get("Group", ""), p["Name"] + (" (SageMaker)" if p["SuppliedBySageMaker"] else ""), p.get("Label", ""),
                      p["Type"], str(p.get("Default", "")), json.dumps(p.get("Constraints", {})) if p.get("Constraints") else "")
    console.print(table)


@templates_app.command("validate")
def validate(
    path: Annotated[Path, typer.Argument(help="Template file.")],
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir")] = None,
) -> None:
    """Check a template as CreateProject will: CloudFormation validity, the two SageMaker
    parameters, and resource types Seedbed can create."""
    from seedbed.cli.doctor import template_findings

    clients = connect(data_dir)
    findings = template_findings(clients, path.read_text())
    for level, text in findings:
        console.print(f"[{'red' if level == 'error' else 'yellow'}]{level}[/] {text}")
    if any(level == "error" for level, _ in findings):
        raise typer.Exit(1)
    console.print(f"[green]ok[/] {path}")
