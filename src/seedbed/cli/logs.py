"""``seedbed logs tail``: print a log group's events like ``aws logs tail`` (AWS CLI v2), which the
AWS CLI v1 lacks. A boto3 client of the running server (FilterLogEvents), so it sees what the
caller's credentials may see.
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from seedbed.cli.templates import connect, error_text

logs_app = typer.Typer(help="Read CloudWatch Logs from the running server.", no_args_is_help=True)

_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: float | None = None) -> int:
    """``10m``, ``2h``, ``1d``, ``1w`` ago, or an ISO 8601 time; epoch milliseconds."""
    now = time.time() if now is None else now
    m = _RELATIVE.match(text.strip())
    if m:
        return int((now - int(m.group(1)) * _UNITS[m.group(2)]) * 1000)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"--since takes 10m, 2h, 1d, 1w or an ISO 8601 time, not {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def format_event(event: dict[str, Any], fmt: str) -> str:
    when = datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
    message = event["message"].rstrip("\n")
    if fmt == "short":
        return f"{when.strftime('%Y-%m-%dT%H:%M:%S')} {message}"
    if fmt == "json":
        try:
            return json.dumps(json.loads(message))
        except ValueError:
            return message
    return f"{when.isoformat()} {event['logStreamName']} {message}"


@logs_app.command("tail")
def tail(
    group: Annotated[str, typer.Argument(help="Log group name or ARN.")],
    follow: Annotated[bool, typer.Option("--follow", help="Keep printing new events.")] = False,
    since: Annotated[str, typer.Option(help="Start this long ago (10m, 2h, 1d, 1w) or at an ISO time.")] = "10m",
    filter_pattern: Annotated[str | None, typer.Option("--filter-pattern", help="A CloudWatch Logs filter pattern.")] = None,
    log_stream_names: Annotated[list[str] | None, typer.Option("--log-stream-names", help="Only these streams.")] = None,
    log_stream_name_prefix: Annotated[str | None, typer.Option("--log-stream-name-prefix", help="Only streams with this prefix.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="detailed, short or json.")] = "detailed",
    poll_interval: Annotated[float, typer.Option(help="Seconds between polls with --follow.")] = 5.0,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data dir for credentials when the shell has none.")] = None,
) -> None:
    """Print a log group's events (timestamp, stream, message), optionally following new ones."""
    if fmt not in ("detailed", "short", "json"):
        raise typer.BadParameter("--format must be detailed, short or json")
    client = connect(data_dir).client("logs")
    params: dict[str, Any] = {"interleaved": True}
    params["logGroupIdentifier" if group.startswith("arn:") else "logGroupName"] = group
    if filter_pattern:
        params["filterPattern"] = filter_pattern
    if log_stream_names:
        params["logStreamNames"] = log_stream_names
    if log_stream_name_prefix:
        params["logStreamNamePrefix"] = log_stream_name_prefix
    start = parse_since(since)
    #: ids already printed at the newest timestamp seen (the next poll starts at that time)
    seen: set[str] = set()
    try:
        while True:
            newest = start
            token = None
            while True:
                call = dict(params, startTime=start)
                if token:
                    call["nextToken"] = token
                try:
                    page = client.filter_log_events(**call)
                except Exception as exc:  # noqa: BLE001 - ClientError and connection errors alike
                    typer.echo(error_text(exc), err=True)
                    raise typer.Exit(code=1) from None
                for event in page.get("events", []):
                    if event["timestamp"] == start and event["eventId"] in seen:
                        continue
                    typer.echo(format_event(event, fmt))
                    if event["timestamp"] > newest:
                        newest, seen = event["timestamp"], set()
                    if event["timestamp"] == newest:
                        seen.add(event["eventId"])
                token = page.get("nextToken")
                if not token:
                    break
            sys.stdout.flush()
            if not follow:
                return
            start = newest
            time.sleep(poll_interval)
    except KeyboardInterrupt:
        return
