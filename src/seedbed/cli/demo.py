"""``seedbed demo``: the whole SageMaker Projects flow on this machine, in one command.

Starts a server, bootstraps it as the admin (``seedbed bootstrap``), then, as a data scientist
whose own policy can only pass the launch role: lists the templates, creates a build-train-deploy
project, waits for the model-build pipeline, shows the registered model and its metrics, approves
it, watches staging deploy, approves production and invokes the production endpoint with abalone
rows. It ends with a summary of what was created and how long each phase took. The server keeps
running so the user can explore (``--no-keep`` stops it at the end).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(endpoint: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{endpoint}/_seedbed/health", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not become healthy in time")


def _step(text: str) -> None:
    console.print(f"\n[bold cyan]▶ {text}[/]")


def _start_server(seedbed: str, data_dir: Path, port: int, keep: bool) -> subprocess.Popen:
    """The server as its own process group when it is to outlive the demo."""
    log = open(data_dir / "server.log", "ab")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        [seedbed, "up", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=keep,
    )


def _summary(result, started: float, data_dir: Path, port: int, keep: bool, pid: int) -> None:  # type: ignore[no-untyped-def]
    timings = Table("phase", "seconds", title="How long each phase took")
    for name, seconds in result.timings:
        timings.add_row(name, f"{seconds:.1f}")
    flow_seconds = sum(seconds for name, seconds in result.timings if name != "List the templates")
    timings.add_row("[bold]CreateProject to the first production prediction[/]", f"[bold]{flow_seconds:.1f}[/]")
    timings.add_row("whole demo (server start, bootstrap included)", f"{time.monotonic() - started:.1f}")
    console.print(timings)
    made = Table("what", "name", title="What the project created")
    made.add_row("project", f"{result.project_name} ({result.project_id})")
    made.add_row("model package", result.model_package_arn)
    for stage, endpoint in result.endpoints.items():
        made.add_row(f"{stage} endpoint", endpoint)
    for rtype, physical in result.resources:
        made.add_row(rtype, physical)
    console.print(made)
    if keep:
        console.print(
            f"\nThe server keeps running on http://localhost:{port} (pid {pid}). Explore as the admin:\n"
            f"  eval \"$(seedbed env --data-dir {data_dir})\"\n"
            f"  aws sagemaker list-projects\n"
            f"  aws sagemaker list-model-packages --model-package-group-name {result.project_name}-{result.project_id}\n"
            f"  aws codepipeline list-pipelines\n"
            f"  seedbed logs tail /aws/sagemaker/TrainingJobs\n"
            f"Stop it with: seedbed stop --data-dir {data_dir}"
        )


def run_demo(data_dir: Path | None = None, port: int | None = None, keep: bool = True) -> None:
    import boto3

    from seedbed.cli.bootstrap import run_bootstrap
    from seedbed.cli.flow import Flow, FlowFailed
    from seedbed.cli.templates import Clients

    started = time.monotonic()
    bin_dir = Path(sys.executable).parent
    seedbed = shutil.which("seedbed", path=str(bin_dir)) or "seedbed"
    data_dir = (data_dir or Path.home() / ".seedbed-demo").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    endpoint = f"http://localhost:{port}"

    _step(f"seedbed up --port {port} --data-dir {data_dir}")
    proc = _start_server(seedbed, data_dir, port, keep)
    ok = False
    try:
        _wait_healthy(endpoint, proc)
        creds = json.loads((data_dir / "credentials.json").read_text())
        region = creds["region"]
        admin = Clients(endpoint, region, boto3.Session(
            aws_access_key_id=creds["aws_access_key_id"], aws_secret_access_key=creds["aws_secret_access_key"]))
        console.print(f"admin: {admin.client('sts').get_caller_identity()['Arn']}")

        _step("seedbed bootstrap: roles, template bucket, seed code, domain, data scientist")
        with console.status("bootstrap") as status:
            setup = run_bootstrap(admin, data_dir, lambda text: status.update(f"bootstrap: {text}"))
        for change in setup.changes or ["already set up"]:
            console.print(f"  {change}")

        scientist = json.loads((data_dir / "data-scientist.json").read_text())
        clients = Clients(endpoint, region, boto3.Session(
            aws_access_key_id=scientist["aws_access_key_id"], aws_secret_access_key=scientist["aws_secret_access_key"]))
        _step(f"as the data scientist {clients.client('sts').get_caller_identity()['Arn']}")
        with console.status("") as status:
            def say(text: str) -> None:
                if text.startswith("[bold]"):
                    _step(text[len("[bold]"):-len("[/]")])
                else:
                    console.print(f"  {text}")
                status.update(text)

            flow = Flow(clients, setup.roles["Launch"], setup.domain_id, say)
            name = f"abalone-{time.strftime('%H%M%S')}"
            try:
                result = flow.run(name)
            except FlowFailed as exc:
                console.print(f"\n[bold red]The flow stopped:[/] {exc}\nServer log: {data_dir / 'server.log'}")
                raise SystemExit(1) from None
            flow.collect_resources()
        _summary(result, started, data_dir, port, keep, proc.pid)
        console.print("\n[bold green]Demo finished.[/]")
        ok = True
    finally:
        if not (keep and ok):
            _step("stopping the server (SIGTERM)")
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
