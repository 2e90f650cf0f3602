"""``seedbed``: start the server, print client settings, read the audit trail."""

from __future__ import annotations

import json
import logging
import os
import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from seedbed import __version__
from seedbed.config import DEFAULT_PORT, DEFAULT_REGION, Settings, default_data_dir

app = typer.Typer(
    help="Seedbed: SageMaker AI Projects with S3-based templates, and the AWS services they use, "
    "on your machine.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

DataDir = Annotated[
    Optional[Path],
    typer.Option("--data-dir", help="Where state lives (default: $SEEDBED_DATA_DIR or ~/.seedbed)."),
]
DatabaseUrl = Annotated[
    Optional[str],
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL of the state database (default: SQLite in the data dir; "
        "postgresql://... for scale-out). Also $SEEDBED_DATABASE_URL.",
    ),
]
SERVER_FILE = "server.json"


def _settings(data_dir: Path | None, **kwargs) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(data_dir=data_dir or default_data_dir(), **{k: v for k, v in kwargs.items() if v is not None})


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Address to bind. Keep 127.0.0.1 unless you mean it.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for every service.")] = DEFAULT_PORT,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    region: Annotated[str, typer.Option(help="Region for requests that name none.")] = DEFAULT_REGION,
    iam_mode: Annotated[str, typer.Option(help="IAM enforcement: enforce, audit or off.")] = "enforce",
    log_level: Annotated[str, typer.Option(help="Server log level.")] = "info",
    s3_backend_url: Annotated[
        Optional[str],
        typer.Option(
            help="Keep S3 object bytes in this S3-compatible service instead of the data dir "
            "(credentials from $SEEDBED_S3_BACKEND_ACCESS_KEY_ID / _SECRET_ACCESS_KEY). "
            "Also $SEEDBED_S3_BACKEND_URL."
        ),
    ] = None,
    s3_backend_bucket: Annotated[
        Optional[str], typer.Option(help="Bucket for object bytes in --s3-backend-url (default: seedbed-blobs).")
    ] = None,
    jobs_backend: Annotated[
        Optional[str], typer.Option(help="Where SageMaker jobs run: local (subprocesses) or ray. Also $SEEDBED_JOBS_BACKEND.")
    ] = None,
    ray_address: Annotated[
        Optional[str], typer.Option(help="Ray cluster for --jobs-backend ray (default: a local Ray). Also $SEEDBED_RAY_ADDRESS.")
    ] = None,
    jobs_max_concurrent: Annotated[
        Optional[int], typer.Option(help="Most SageMaker jobs running at once (default: the CPU count).")
    ] = None,
    jobs_on_restart: Annotated[
        Optional[str], typer.Option(help="Jobs a restart finds running: fail (default) or rerun.")
    ] = None,
) -> None:
    """Serve every AWS API Seedbed implements on one port (Ctrl-C or SIGTERM stops it cleanly)."""
    import uvicorn

    from seedbed.server.app import SeedbedApp
    from seedbed.server.backend import Backend

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings(
        data_dir, host=host, port=port, database_url=database_url, region=region, iam_mode=iam_mode,
        s3_backend_url=s3_backend_url, s3_backend_bucket=s3_backend_bucket,
        jobs_backend=jobs_backend, ray_address=ray_address, jobs_max_concurrent=jobs_max_concurrent,
        jobs_on_restart=jobs_on_restart,
    )
    backend = Backend(settings)
    (settings.data_dir / SERVER_FILE).write_text(
        json.dumps({"endpoint_url": settings.endpoint_url, "host": host, "port": port, "pid": os.getpid()})
    )
    console.print(
        f"[bold green]Seedbed {__version__}[/] serving on [bold]{settings.endpoint_url}[/] "
        f"(data: {settings.data_dir}). Run [bold]eval \"$(seedbed env)\"[/] in a client shell."
    )
    uvicorn.run(
        SeedbedApp(backend),
        host=host,
        port=port,
        log_level="warning" if log_level.lower() == "info" else log_level.lower(),
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )


@app.command()
def stop(data_dir: DataDir = None) -> None:
    """Stop the server started with this data dir (SIGTERM, then wait for it to flush and exit)."""
    import signal
    import time

    settings = _settings(data_dir)
    server_file = settings.data_dir / SERVER_FILE
    pid = json.loads(server_file.read_text()).get("pid") if server_file.exists() else None
    if not pid:
        console.print(f"no server recorded in {server_file}")
        raise typer.Exit(1)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        console.print(f"server {pid} is not running")
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            console.print(f"stopped server {pid}")
            return
        time.sleep(0.1)
    console.print(f"[yellow]server {pid} did not stop within 20 s[/]")
    raise typer.Exit(1)


@app.command()
def env(
    data_dir: DataDir = None,
    port: Annotated[Optional[int], typer.Option(help="Port of the server (default: as last started).")] = None,
    as_user: Annotated[
        Optional[str],
        typer.Option("--as", help="Print another user's keys: `data-scientist` (made by `seedbed bootstrap`)."),
    ] = None,
) -> None:
    """Print `export` lines that point the AWS CLI, boto3 and the SageMaker SDK at Seedbed.

    They also hand the SageMaker SDK admin defaults that opt out of its usage telemetry, which
    would go to an AWS host outside AWS_ENDPOINT_URL (and log a traceback on every pipeline call
    where there is no internet), and that name the default bucket, whose name the SDK would read
    from STS at a fixed AWS address; the user's own SDK config still applies on top.
    """
    from seedbed.runtime.credentials import sdk_defaults
    from seedbed.server.backend import init_data_dir

    settings = _settings(data_dir)
    key = init_data_dir(settings)
    access_key_id, secret_access_key = key.access_key_id, key.secret_access_key
    if as_user is not None:
        key_file = settings.data_dir / f"{as_user}.json"
        if not key_file.exists():
            console.print(f"no keys for {as_user} in {settings.data_dir}: run `seedbed bootstrap` first")
            raise typer.Exit(1)
        user = json.loads(key_file.read_text())
        access_key_id, secret_access_key = user["aws_access_key_id"], user["aws_secret_access_key"]
    endpoint = f"http://localhost:{port or DEFAULT_PORT}"
    server_file = settings.data_dir / SERVER_FILE
    if port is None and server_file.exists():
        endpoint = json.loads(server_file.read_text()).get("endpoint_url", endpoint)
    exports = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": access_key_id,
        "AWS_SECRET_ACCESS_KEY": secret_access_key,
        "AWS_DEFAULT_REGION": key.region,
        "AWS_REGION": key.region,
        "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(sdk_defaults(settings.data_dir, key.account_id, key.region)),
    }
    for name, value in exports.items():
        typer.echo(f"export {name}={shlex.quote(value)}")
    typer.echo("unset AWS_SESSION_TOKEN AWS_PROFILE")


@app.command()
def audit(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    limit: Annotated[int, typer.Option(help="How many events, newest first.")] = 20,
    errors_only: Annotated[bool, typer.Option("--errors", help="Only denied or failed requests.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="CloudTrail JSON records, one per line.")] = False,
) -> None:
    """Show the audit trail: every request, who made it, and how it ended."""
    from sqlalchemy import select

    from seedbed.services.cloudtrail import store
    from seedbed.services.cloudtrail.provider import cloudtrail_record
    from seedbed.state.db import Database

    settings = _settings(data_dir, database_url=database_url)
    db = Database(settings.resolved_database_url)
    db.migrate()
    query = select(store.events).order_by(store.events.c.event_time.desc()).limit(limit)
    if errors_only:
        query = query.where(store.events.c.error_code.is_not(None))
    with db.connect() as conn:
        rows = list(conn.execute(query))
    db.dispose()
    if as_json:
        for row in rows:
            typer.echo(json.dumps(cloudtrail_record(row)))
        return
    table = Table("time", "source", "event", "principal", "result")
    for row in rows:
        result = f"[red]{row.error_code}[/]" if row.error_code else "[green]ok[/]"
        table.add_row(
            row.event_time.strftime("%H:%M:%S"),
            row.event_source.split(".")[0],
            row.event_name,
            row.principal_arn or f"(key {row.access_key_id or 'anonymous'})",
            result,
        )
    console.print(table)


@app.command()
def demo(
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Where the demo server keeps its state (default: ~/.seedbed-demo).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port for the demo server (default: a free one).")] = None,
    keep: Annotated[bool, typer.Option("--keep/--no-keep", help="Leave the server running at the end to explore.")] = True,
) -> None:
    """The whole SageMaker Projects flow: server, bootstrap, a project from template to a
    production prediction, with a summary of what was made and how long each phase took."""
    from seedbed.cli.demo import run_demo

    run_demo(data_dir, port, keep)


@app.command()
def bootstrap(data_dir: DataDir = None) -> None:
    """The admin's one-time set-up for SageMaker projects (idempotent): roles, template bucket and
    templates, seed code, a domain and user profile, and a data scientist user."""
    from seedbed.cli.bootstrap import run_bootstrap
    from seedbed.cli.templates import connect, error_text

    clients = connect(data_dir)
    try:
        with console.status("bootstrap") as status:
            result = run_bootstrap(clients, data_dir or default_data_dir(),
                                   lambda text: status.update(f"bootstrap: {text}"))
    except Exception as exc:  # noqa: BLE001 - a client error, said plainly
        console.print(f"[red]bootstrap failed:[/] {error_text(exc)}")
        raise typer.Exit(1) from None
    for change in result.changes or ["nothing to do: everything was already set up"]:
        console.print(f"  {change}")
    table = Table("what", "where")
    table.add_row("launch role", result.roles.get("Launch", ""))
    table.add_row("template bucket", f"s3://{result.template_bucket}/templates/")
    table.add_row("seed code bucket", f"s3://{result.seed_bucket}/")
    table.add_row("domain", f"{result.domain_id} (user profile {result.user_profile})")
    table.add_row("data scientist key", str(result.data_scientist_key_file))
    console.print(table)


@app.command()
def version() -> None:
    """Print Seedbed's version."""
    typer.echo(__version__)


from seedbed.iam.cli import iam_app  # noqa: E402  (`seedbed iam explain <request-id>`)

app.add_typer(iam_app, name="iam")

from seedbed.cli.doctor import doctor as _doctor  # noqa: E402
from seedbed.cli.git import git_credential, workflows_app  # noqa: E402
from seedbed.cli.logs import logs_app  # noqa: E402
from seedbed.cli.projects import projects_app  # noqa: E402
from seedbed.cli.templates import templates_app  # noqa: E402

app.add_typer(templates_app, name="templates")
app.add_typer(projects_app, name="projects")
app.add_typer(logs_app, name="logs")
app.command("doctor")(_doctor)
app.command("git-credential")(git_credential)
app.add_typer(workflows_app, name="workflows")

if __name__ == "__main__":
    app()
