"""``seedbed iam ...``: look at what the authorizer decided, from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

iam_app = typer.Typer(help="IAM: explain authorization decisions.", no_args_is_help=True)
console = Console()


@iam_app.command()
def explain(
    request_id: Annotated[str, typer.Argument(help="The request id (x-amzn-RequestId / the audit trail's requestID).")],
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Where state lives.")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", help="State database URL.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Print the policy statements that decided a request (allowed or denied)."""
    from seedbed.cli.main import _settings
    from seedbed.iam.decisions import read
    from seedbed.state.db import Database

    settings = _settings(data_dir, database_url=database_url)
    db = Database(settings.resolved_database_url)
    db.migrate()
    try:
        decisions = read(db, request_id)
        event = None if decisions else _audit_event(db, request_id)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps({"request_id": request_id, "decisions": decisions, "event": event}, default=str))
        return
    if not decisions:
        if event is None:
            console.print(f"No request {request_id} is recorded (decisions are kept for 7 days).")
            raise typer.Exit(1)
        who = event.get("principal_arn") or "an anonymous caller"
        if event.get("principal_type") == "Root":
            console.print(
                f"{event['event_name']} by {who}: allowed without evaluation (the root user of an account "
                "is not limited by identity-based policies, and no resource-based policy applied)."
            )
        else:
            console.print(f"{event['event_name']} by {who}: no IAM evaluation was needed or IAM was off.")
        return
    for item in decisions:
        colour = "green" if item["decision"] == "Allow" else "red"
        mode = " (audit mode: not enforced)" if item["mode"] == "audit" and item["decision"] != "Allow" else ""
        console.print(
            f"[bold {colour}]{item['decision']}[/]{mode} {item['action']} on {item['resource']} "
            f"for {item['principal_arn'] or 'an anonymous caller'}"
        )
        if item["decision"] != "Allow":
            console.print(f"  reason: {item['reason']}")
        if not item["statements"]:
            console.print("  no statement applied")
        for hit in item["statements"]:
            sid = f" Sid {hit['sid']}" if hit.get("sid") else ""
            console.print(f"  {hit['effect']} by {hit['policy_type']} {hit['policy']}: statement {hit['statement']}{sid}")
            console.print("    " + json.dumps(hit.get("source"), sort_keys=True))


def _audit_event(db, request_id: str) -> dict | None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from seedbed.services.cloudtrail import store

    with db.connect() as conn:
        row = conn.execute(select(store.events).where(store.events.c.request_id == request_id)).first()
    return dict(row._mapping) if row is not None else None
