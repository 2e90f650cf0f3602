"""A small GitHub REST API for the repositories behind connections, at
``<endpoint>/_seedbed/github/api/v3`` (PyGithub: ``Github(base_url=..., auth=Token(...))``).

What the GitHub-Actions project template's deploy Lambda calls, and what ``seedbed workflows``
uses:

* ``GET /user``; ``GET /repos/{owner}/{repo}``; ``GET /repos/{owner}/{repo}/branches/{branch}``
* ``GET /repos/{owner}/{repo}/actions/workflows/{file}``;
  ``POST .../actions/workflows/{file}/dispatches`` (``{"ref", "inputs"}``: runs the workflow)
* ``GET /repos/{owner}/{repo}/actions/runs``; ``GET /runs/{id}``; ``GET /runs/{id}/logs`` (text);
  ``POST /runs/{id}/pending_deployments`` (``{"state": "approved"|"rejected"}``, also under
  ``/repos/{owner}/{repo}/actions/runs/{id}/``)
* ``PUT|GET|DELETE /repos/{owner}/{repo}/actions/secrets[/{name}]`` with ``{"value": ...}`` (plain
  JSON, not GitHub's sealed boxes)
* ``POST /_seedbed/tokens`` (``{"owner"}``): issues a token

Authentication: ``Authorization: token <t>`` / ``Bearer <t>`` with a token from
``seedbed workflows token OWNER`` (it acts for that owner in one account and region), or HTTP Basic
with an AWS access key id and secret key (any principal of the account; ``?region=`` picks the
region, default the server's).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from seedbed.gitserver import auth, repos

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

PREFIX = "/_seedbed/github/api/v3"
_TOKEN = re.compile(r"^sbg_(\d{12})_([a-z0-9-]+)_([0-9a-f]+)_([0-9a-f]{40})$")


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _key(backend: Backend) -> bytes:
    from seedbed.state.keyfiles import load_or_create

    return load_or_create(backend.settings.data_dir, "github-token.key", "SEEDBED_GITHUB_TOKEN_KEY")


def issue_token(backend: Backend, account: str, region: str, owner: str) -> str:
    body = f"{account}_{region}_{owner.encode().hex()}"
    mac = hmac.new(_key(backend), body.encode(), hashlib.sha1).hexdigest()
    return f"sbg_{body}_{mac}"


def _caller(backend: Backend, headers: dict[str, str], query: dict[str, str]) -> tuple[str, str, str | None, Any]:
    """(account, region, owner the token is for or None, principal or None)."""
    header = headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("token", "bearer"):
        match = _TOKEN.match(value.strip())
        if match:
            account, region, owner_hex, mac = match.groups()
            body = f"{account}_{region}_{owner_hex}"
            if hmac.compare_digest(mac, hmac.new(_key(backend), body.encode(), hashlib.sha1).hexdigest()):
                return account, region, bytes.fromhex(owner_hex).decode(), None
        raise HttpError(401, "Bad credentials")
    try:
        principal = auth.authenticate(backend, header, headers.get("host", ""), [], [])
    except auth.Unauthenticated:
        raise HttpError(401, "Requires authentication") from None
    return principal.account_id, query.get("region") or backend.settings.region, None, principal


async def handle(backend: Backend, scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    path = scope["path"]
    try:
        if not path.startswith(PREFIX):
            raise HttpError(404, "Not Found")
        data = json.loads(body) if body.strip() else {}
        status, payload = await _route(backend, scope["method"], path[len(PREFIX):] or "/", headers, query, data)
    except HttpError as exc:
        status, payload = exc.status, {"message": exc.message, "documentation_url": "https://docs.github.com/rest"}
    except json.JSONDecodeError:
        status, payload = 400, {"message": "Problems parsing JSON"}
    if isinstance(payload, str):
        raw, ctype = payload.encode(), b"text/plain; charset=utf-8"
    else:
        raw, ctype = (b"" if payload is None else json.dumps(payload, default=str).encode()), b"application/json; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(raw)).encode())]})
    await send({"type": "http.response.body", "body": raw})


def _repo_json(backend: Backend, full: str, default_branch: str) -> dict[str, Any]:
    owner, name = full.split("/")
    api = f"{backend.settings.endpoint_url}{PREFIX}"
    return {
        "id": int(hashlib.sha1(full.encode()).hexdigest()[:8], 16), "name": name, "full_name": full,
        "owner": {"login": owner, "type": "Organization"}, "private": True, "default_branch": default_branch,
        "url": f"{api}/repos/{full}", "html_url": f"{backend.settings.endpoint_url}/_seedbed/github/{full}",
    }


def _run_json(backend: Backend, run: dict[str, Any]) -> dict[str, Any]:
    doc = run["doc"]
    return {
        "id": run["run_id"], "run_number": run["run_number"], "name": doc["name"], "path": run["workflow"],
        "event": doc["event"], "status": run["status"], "conclusion": run["conclusion"], "head_sha": doc["sha"],
        "head_branch": doc["ref"].rsplit("/", 1)[-1], "created_at": run["created"], "updated_at": run["updated"],
        "repository": {"full_name": run["repository"]},
        "jobs": {name: {k: job.get(k) for k in ("status", "conclusion", "outputs", "environment", "approval", "error")}
                 | {"steps": job["steps"]} for name, job in doc["jobs"].items()},
    }


async def _route(backend: Backend, method: str, path: str, headers: dict[str, str], query: dict[str, str],
                 data: dict[str, Any]) -> tuple[int, Any]:
    from seedbed.runtime.workflows import store, triggers

    account, region, owner, principal = _caller(backend, headers, query)
    parts = [p for p in path.split("/") if p]
    if parts == ["_seedbed", "tokens"] and method == "POST":
        if principal is None:
            raise HttpError(403, "Tokens are issued to AWS credentials only")
        return 201, {"token": issue_token(backend, account, region, str(data.get("owner") or ""))}
    if parts == ["user"]:
        return 200, {"login": owner or account, "type": "User"}
    if parts[:1] == ["runs"] and len(parts) >= 2:
        return await _run_route(backend, method, parts[1], parts[2:], account, owner, principal, data)
    if len(parts) < 3 or parts[0] != "repos":
        raise HttpError(404, "Not Found")
    full = f"{parts[1]}/{parts[2]}"
    if owner is not None and parts[1] != owner:
        raise HttpError(404, "Not Found")
    try:
        path_on_disk = repos.repository_path(backend, account, region, "connection", full)
    except (FileNotFoundError, ValueError):
        raise HttpError(404, "Not Found") from None
    rest = parts[3:]
    actor = owner or (principal.arn.rsplit("/", 1)[-1] if principal else "seedbed")
    if not rest and method == "GET":
        return 200, _repo_json(backend, full, await repos.head_branch(path_on_disk))
    if rest[:1] == ["branches"] and len(rest) == 2:
        commit = (await repos.branches(path_on_disk)).get(rest[1])
        if commit is None:
            raise HttpError(404, "Branch not found")
        return 200, {"name": rest[1], "commit": {"sha": commit}, "protected": False}
    if rest[:2] == ["actions", "workflows"] and len(rest) >= 3:
        workflow = rest[2]
        if len(rest) == 4 and rest[3] == "dispatches" and method == "POST":
            if not data.get("ref"):
                raise HttpError(422, "Invalid request.\n\n\"ref\" wasn't supplied.")
            try:
                await triggers.dispatch(backend, account, region, full, workflow, str(data["ref"]),
                                        dict(data.get("inputs") or {}), actor)
            except LookupError as exc:
                raise HttpError(404, str(exc)) from None
            except ValueError as exc:
                raise HttpError(422, str(exc)) from None
            return 204, None
        commit = await repos.resolve(path_on_disk, f"refs/heads/{await repos.head_branch(path_on_disk)}")
        found = await triggers.workflows_at(path_on_disk, commit) if commit else {}
        wf = next((p for p in found if p.rsplit("/", 1)[-1] == workflow or str(_wf_id(p)) == workflow), None)
        if wf is None:
            raise HttpError(404, "Not Found")
        api = f"{backend.settings.endpoint_url}{PREFIX}/repos/{full}/actions/workflows/{wf.rsplit('/', 1)[-1]}"
        return 200, {"id": _wf_id(wf), "name": found[wf].get("name") or wf, "path": wf, "state": "active", "url": api,
                     "html_url": api}
    if rest[:2] == ["actions", "runs"]:
        if len(rest) >= 3:
            return await _run_route(backend, method, rest[2], rest[3:], account, owner, principal, data)
        with backend.db.connect() as conn:
            runs = store.list_runs(conn, account, region, full)
        return 200, {"total_count": len(runs), "workflow_runs": [_run_json(backend, r) for r in runs]}
    if rest[:2] == ["actions", "secrets"]:
        with backend.db.begin() as conn:
            if len(rest) == 2 and method == "GET":
                names = store.secret_names(conn, account, region, full)
                return 200, {"total_count": len(names), "secrets": [{"name": n} for n in names]}
            if len(rest) == 3 and method == "PUT":
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rest[2]) or rest[2].upper().startswith("GITHUB_"):
                    raise HttpError(422, f"Invalid secret name {rest[2]}")
                store.put_secret(conn, backend.settings.data_dir, account, region, full, rest[2], str(data.get("value", "")))
                return 201, None
            if len(rest) == 3 and method == "DELETE":
                if not store.delete_secret(conn, account, region, full, rest[2]):
                    raise HttpError(404, "Not Found")
                return 204, None
    raise HttpError(404, "Not Found")


def _wf_id(path: str) -> int:
    return int(hashlib.sha1(path.encode()).hexdigest()[:8], 16)


async def _run_route(backend: Backend, method: str, run_id: str, rest: list[str], account: str, owner: str | None,
                     principal: Any, data: dict[str, Any]) -> tuple[int, Any]:
    from seedbed.runtime.workflows import runner, store

    with backend.db.connect() as conn:
        run = store.get_run(conn, run_id)
        if run is None:
            matches = store.find_runs(conn, run_id) if len(run_id) >= 6 else []
            run = matches[0] if len(matches) == 1 else None
    if run is None or run["account_id"] != account or (owner is not None and run["repository"].split("/")[0] != owner):
        raise HttpError(404, "Not Found")
    if not rest and method == "GET":
        return 200, _run_json(backend, run)
    if rest == ["logs"] and method == "GET":
        lines = [f"run {run['run_id']} #{run['run_number']} {run['workflow']}: {run['status']} {run['conclusion'] or ''}"]
        for name, job in run["doc"]["jobs"].items():
            lines.append(f"== job {name}: {job['status']} {job.get('conclusion') or ''}")
            for step in job["steps"]:
                lines.append(f"   step {step['name']}: {step.get('conclusion') or step['status']}")
            path = runner.log_path(backend, run["run_id"], name)
            if path.exists():
                lines += ["   | " + line for line in path.read_text(errors="replace").splitlines()]
        return 200, "\n".join(lines) + "\n"
    if rest == ["pending_deployments"] and method == "POST":
        state = data.get("state", "approved")
        if state not in ("approved", "rejected"):
            raise HttpError(422, "state must be approved or rejected")
        who = owner or (principal.arn if principal else "")
        answered = runner.approve(backend, run["run_id"], state, who, str(data.get("comment") or ""))
        if not answered:
            raise HttpError(422, "The run has no pending deployments")
        return 200, {"jobs": answered}
    raise HttpError(404, "Not Found")
