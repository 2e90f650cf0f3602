"""``seedbed git-credential``: a git credential helper that answers with your AWS credentials, and
``seedbed workflows``: runs, logs, approvals, secrets and dispatches of repository workflows.

Set it up once (for the default endpoint)::

    git config --global credential.http://localhost:4599.helper '!seedbed git-credential'

git then sends the access key id as the user name and the secret access key as the password
(``<key id>%<session token>`` as user name for temporary credentials), taken from
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN`` or, when those are unset,
from the data dir's admin key (``--data-dir`` or ``$SEEDBED_DATA_DIR``). The AWS CLI's own helper
works too: ``credential.helper '!aws codecommit credential-helper --ignore-host-check $@'`` with
``credential.UseHttpPath true``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data dir for credentials when the shell has none.")]


def _credentials(data_dir: Path | None) -> tuple[str, str, str | None]:
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return key, secret, os.environ.get("AWS_SESSION_TOKEN") or None
    from seedbed.config import default_data_dir

    path = (data_dir or default_data_dir()) / "credentials.json"
    data = json.loads(path.read_text())
    return data["aws_access_key_id"], data["aws_secret_access_key"], None


def git_credential(
    operation: Annotated[str, typer.Argument(help="get, store or erase (git passes it).")] = "get",
    data_dir: DataDir = None,
) -> None:
    """A git credential helper: prints your AWS access key id and secret key for Seedbed's git."""
    if operation != "get":
        sys.stdin.read()
        return
    sys.stdin.read()  # protocol/host/path: every Seedbed URL takes the same credentials
    try:
        key, secret, token = _credentials(data_dir)
    except (OSError, KeyError, ValueError):
        raise typer.Exit(1) from None
    user = f"{key}%{token}" if token else key
    sys.stdout.write(f"username={user}\npassword={secret}\n")


# --- workflows -----------------------------------------------------------------------------------

workflows_app = typer.Typer(help="Repository workflows (.github/workflows): runs, logs, approvals, secrets.",
                            no_args_is_help=True)
secret_app = typer.Typer(help="Per-repository workflow secrets (secrets.* in workflows).", no_args_is_help=True)
workflows_app.add_typer(secret_app, name="secret")


def _api(method: str, path: str, data_dir: Path | None, body: Any = None) -> Any:
    import httpx

    from seedbed.config import DEFAULT_PORT

    endpoint = os.environ.get("AWS_ENDPOINT_URL") or f"http://localhost:{DEFAULT_PORT}"
    key, secret, token = _credentials(data_dir)
    user = f"{key}%{token}" if token else key
    try:
        response = httpx.request(method, f"{endpoint}/_seedbed/github/api/v3{path}", auth=(user, secret),
                                 json=body, timeout=30)
    except httpx.HTTPError as exc:
        typer.echo(f"no Seedbed server answers at {endpoint} ({exc}): start one with `seedbed up`", err=True)
        raise typer.Exit(1) from None
    if response.status_code >= 400:
        typer.echo(f"error {response.status_code}: {response.text.strip()}", err=True)
        raise typer.Exit(1)
    if not response.content:
        return None
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    return response.text


def _region() -> str:
    from seedbed.config import DEFAULT_REGION

    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


@workflows_app.command("runs")
def runs(repository: Annotated[str, typer.Argument(help="owner/repo")], data_dir: DataDir = None) -> None:
    """List a repository's workflow runs, newest first."""
    out = _api("GET", f"/repos/{repository}/actions/runs?region={_region()}", data_dir)
    for run in out["workflow_runs"]:
        typer.echo(f"{run['id']}  #{run['run_number']:<4} {run['status']:<11} {run.get('conclusion') or '-':<10} "
                   f"{run['event']:<17} {run['path']}  {run['head_sha'][:10]}")


@workflows_app.command("logs")
def logs(run_id: str, data_dir: DataDir = None) -> None:
    """Print a run's jobs, steps and log lines."""
    typer.echo(_api("GET", f"/runs/{run_id}/logs", data_dir), nl=False)


@workflows_app.command("approve")
def approve(
    run_id: str,
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approving.")] = False,
    comment: Annotated[str, typer.Option(help="A comment for the record.")] = "",
    data_dir: DataDir = None,
) -> None:
    """Answer the environment approval a run waits on (required reviewers)."""
    out = _api("POST", f"/runs/{run_id}/pending_deployments", data_dir,
               {"state": "rejected" if reject else "approved", "comment": comment})
    typer.echo(f"{'rejected' if reject else 'approved'}: {', '.join(out.get('jobs', []))}")


@workflows_app.command("dispatch")
def dispatch(
    repository: Annotated[str, typer.Argument(help="owner/repo")],
    workflow: Annotated[str, typer.Argument(help="File name under .github/workflows, e.g. deploy.yml")],
    ref: Annotated[str, typer.Option(help="Branch to run on.")] = "main",
    inputs: Annotated[list[str] | None, typer.Option("--input", help="NAME=VALUE (repeatable).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Start a workflow_dispatch run."""
    values = dict(i.split("=", 1) for i in inputs or [])
    _api("POST", f"/repos/{repository}/actions/workflows/{workflow}/dispatches?region={_region()}", data_dir,
         {"ref": ref, "inputs": values})
    typer.echo("dispatched")


@workflows_app.command("wait")
def wait(run_id: str, timeout: int = 600, data_dir: DataDir = None) -> None:
    """Wait until a run completes; exit 1 unless it succeeded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = _api("GET", f"/runs/{run_id}", data_dir)
        if run["status"] == "completed":
            typer.echo(run["conclusion"])
            raise typer.Exit(0 if run["conclusion"] == "success" else 1)
        time.sleep(1)
    raise typer.Exit(2)


@secret_app.command("set")
def secret_set(
    repository: Annotated[str, typer.Argument(help="owner/repo")],
    name: str,
    value: Annotated[str | None, typer.Option(help="The value (default: read from stdin).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Store a secret for a repository's workflows (read from stdin unless --value)."""
    text = value if value is not None else sys.stdin.read().rstrip("\n")
    _api("PUT", f"/repos/{repository}/actions/secrets/{name}?region={_region()}", data_dir, {"value": text})
    typer.echo(f"secret {name} set")


@secret_app.command("list")
def secret_list(repository: Annotated[str, typer.Argument(help="owner/repo")], data_dir: DataDir = None) -> None:
    """List the names of a repository's secrets."""
    out = _api("GET", f"/repos/{repository}/actions/secrets?region={_region()}", data_dir)
    for item in out["secrets"]:
        typer.echo(item["name"])


@secret_app.command("delete")
def secret_delete(repository: Annotated[str, typer.Argument(help="owner/repo")], name: str,
                  data_dir: DataDir = None) -> None:
    """Delete a secret."""
    _api("DELETE", f"/repos/{repository}/actions/secrets/{name}?region={_region()}", data_dir)
    typer.echo(f"secret {name} deleted")


@workflows_app.command("token")
def token(owner: Annotated[str, typer.Argument(help="The owner (user or organization) the token acts for.")],
          data_dir: DataDir = None) -> None:
    """Issue a GitHub-style token for the local GitHub REST subset (PyGithub's ``Github(token)``)."""
    typer.echo(_api("POST", f"/_seedbed/tokens?region={_region()}", data_dir, {"owner": owner})["token"])
