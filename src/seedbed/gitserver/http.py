"""Git smart HTTP on Seedbed's main port, served by the stock ``git http-backend`` CGI.

URLs (the repository part, followed by git's own ``/info/refs``, ``/git-upload-pack``, ...):

* ``/v1/repos/<name>``: a CodeCommit repository of the server's default region (CodeCommit's own
  clone URL path; no REST API Seedbed routes uses ``/v1/``, and ``v1`` is too short to be an S3
  bucket, so the prefix cannot collide);
* ``/_seedbed/git/codecommit/<region>/<name>``: a CodeCommit repository of any region;
* ``/git-http/<account>/<region>/<connection-id>/<owner>/<repo>.git``: a repository behind a
  CodeConnections / CodeStar connection, the path AWS uses on ``codestar-connections.<region>
  .amazonaws.com`` (only git's requests go here: anything SigV4-signed stays with S3);
* ``/_seedbed/git/<connection-id>/<owner>/<repo>.git``: the same repository, shorter.

The caller's AWS credentials authenticate (see :mod:`~seedbed.gitserver.auth`); IAM decides
``codecommit:GitPull`` / ``codecommit:GitPush`` on the repository ARN, or ``UseConnection`` on the
connection ARN. A connection repository is created by its first push. Bodies are streamed both
ways; nothing of the pack protocol is reimplemented here. After a push the ref changes go to
:mod:`~seedbed.gitserver.hooks` (events, pipelines, workflows).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from seedbed.errors import ServiceError
from seedbed.gitserver import auth, repos

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

log = logging.getLogger(__name__)

PREFIXES = ("/v1/repos/", "/_seedbed/git/", "/git-http/", "/_seedbed/github/")
_SUFFIX = re.compile(r"/(info/refs|git-upload-pack|git-receive-pack|HEAD|objects/.*)$")
_ACCOUNT = re.compile(r"^\d{12}$")
REALM = 'Basic realm="Seedbed git (user: AWS access key id, password: secret access key)"'
_locks: dict[str, asyncio.Lock] = {}
_tasks: set[asyncio.Task] = set()


@dataclass(frozen=True)
class Target:
    kind: str  # "codecommit" | "connection"
    name: str  # repository name, or owner/repo
    region: str
    account_id: str | None  # from the URL (connection form); else the caller's account
    connection_id: str | None
    suffix: str
    #: The repository URL path(s) a credential helper may have signed.
    signed_paths: tuple[str, ...]


def wants(scope: dict[str, Any]) -> bool:
    """Whether this request is for the git server (called only for paths in :data:`PREFIXES`)."""
    path = scope["path"]
    if not path.startswith("/git-http/"):
        return True
    # A bucket may be named git-http: SigV4-signed or presigned requests are S3's.
    for name, value in scope.get("headers") or ():
        if name == b"authorization" and value[:4].upper() == b"AWS4":
            return False
    return b"X-Amz-Signature" not in (scope.get("query_string") or b"")


def parse_target(path: str, default_region: str) -> Target | None:
    match = _SUFFIX.search(path)
    if match is None:
        return None
    suffix = "/" + match.group(1)
    base = path[: match.start()].rstrip("/")
    parts = base.split("/")
    if base.startswith("/v1/repos/") and len(parts) == 4:
        name = parts[3].removesuffix(".git")
        return Target("codecommit", name, default_region, None, None, suffix, (base, base + "/"))
    if base.startswith("/_seedbed/git/codecommit/") and len(parts) == 6:
        name = parts[5].removesuffix(".git")
        return Target("codecommit", name, parts[4], None, None, suffix, (base, base + "/"))
    if base.startswith("/_seedbed/git/") and len(parts) == 6 and parts[3] != "codecommit":
        full = f"{parts[4]}/{parts[5].removesuffix('.git')}"
        return Target("connection", full, "", None, parts[3], suffix, (base,))
    if base.startswith("/git-http/") and len(parts) == 7 and _ACCOUNT.match(parts[2]):
        full = f"{parts[5]}/{parts[6].removesuffix('.git')}"
        return Target("connection", full, parts[3], parts[2], parts[4], suffix, (base,))
    return None


async def handle(backend: Backend, scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["path"].startswith("/_seedbed/github/"):
        from seedbed.gitserver import github

        await github.handle(backend, scope, receive, send)
        return
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    query = scope.get("query_string", b"").decode("latin-1")
    target = parse_target(scope["path"], backend.settings.region)
    if target is None:
        await _drain(receive)
        await _plain(send, 404, "Not a git repository URL. Seedbed serves git at /v1/repos/<name>, "
                     "/_seedbed/git/codecommit/<region>/<name> and /git-http/<account>/<region>/"
                     "<connection-id>/<owner>/<repo>.git\n")
        return
    service = dict(parse_qsl(query)).get("service", "")
    push = target.suffix == "/git-receive-pack" or service == "git-receive-pack"
    client = (scope.get("client") or ("127.0.0.1", 0))[0]
    try:
        repo, ctx, info = await _admit(backend, target, headers, push, client)
    except auth.Unauthenticated:
        await _drain(receive)
        await _plain(send, 401, "Authentication required: use your AWS access key id as the user "
                     "name and the secret access key as the password (see `seedbed git-credential`).\n",
                     [("WWW-Authenticate", REALM)])
        return
    except ServiceError as exc:
        await _drain(receive)
        await _plain(send, exc.status, f"{exc.code}: {exc.message}\n")
        return
    action = "GitPush" if push else "GitPull"
    source = "codecommit.amazonaws.com" if target.kind == "codecommit" else "codeconnections.amazonaws.com"
    auth.record(backend, ctx, source, {"repositoryName": target.name, "action": action}, None)
    is_push_post = target.suffix == "/git-receive-pack"
    if not is_push_post:
        await _cgi(backend, scope, receive, send, target, ctx, headers, query)
        return
    lock = _locks.setdefault(str(repo), asyncio.Lock())
    async with lock:
        before = await repos.refs(repo)
        ok = await _cgi(backend, scope, receive, send, target, ctx, headers, query)
        after = await repos.refs(repo) if ok else before
    changes = [
        (ref, before.get(ref), after.get(ref))
        for ref in sorted(set(before) | set(after))
        if before.get(ref) != after.get(ref)
    ]
    if changes:
        from seedbed.gitserver import hooks

        task = asyncio.create_task(hooks.after_push(backend, target.kind, info, ctx.principal, changes))
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)


async def _admit(
    backend: Backend, target: Target, headers: dict[str, str], push: bool, client: str
) -> tuple[Any, Any, dict[str, Any]]:
    """Authenticate, find the repository (creating a connection repository on first push) and
    authorize. Returns (repository path, context, repository info for the hooks)."""
    regions = [target.region or backend.settings.region, backend.settings.region]
    principal = auth.authenticate(
        backend, headers.get("authorization"), headers.get("host", ""), list(target.signed_paths), regions
    )
    agent = headers.get("user-agent", "")
    if target.kind == "codecommit":
        provider = backend.provider("codecommit")
        found = provider.repository_info(principal.account_id, target.region, target.name)  # type: ignore[union-attr]
        arn = f"arn:aws:codecommit:{target.region}:{principal.account_id}:{target.name}"
        ctx = auth.authorize(backend, principal, "codecommit:GitPush" if push else "codecommit:GitPull",
                             arn, target.region, client, agent)
        if found is None:
            raise ServiceError(f"repository '{target.name}' does not exist", code="RepositoryDoesNotExist", status=404)
        path = repos.path_for(backend.settings.data_dir, principal.account_id, target.region, "codecommit", found["repositoryName"])
        return path, ctx, found
    provider = backend.provider("codeconnections")
    connection = provider.connection_by_id(target.connection_id or "")  # type: ignore[union-attr]
    if connection is None or (target.account_id and connection["account_id"] != target.account_id) or (
        target.region and connection["region"] != target.region
    ):
        raise ServiceError(f"connection {target.connection_id} does not exist", code="ResourceNotFoundException", status=404)
    if connection["account_id"] != principal.account_id:
        raise ServiceError("the connection belongs to another account", code="AccessDeniedException", status=403)
    service = connection["arn"].split(":")[2]
    keys = {
        f"{service}:fullrepositoryid": (target.name,),
        f"{service}:provideraction": ("GitPush" if push else "GitPull",),
    }
    ctx = auth.authorize(backend, principal, f"{service}:UseConnection", connection["arn"],
                         connection["region"], client, agent, keys)
    if connection["status"] != "AVAILABLE":
        raise ServiceError(f"connection {target.connection_id} is {connection['status']}", code="ConnectionNotAvailable", status=403)
    account, region = connection["account_id"], connection["region"]
    path = repos.path_for(backend.settings.data_dir, account, region, "connection", target.name)
    if not (path / "HEAD").exists():
        if not push:
            raise ServiceError(f"repository {target.name} not found", code="RepositoryNotFound", status=404)
        await asyncio.to_thread(repos.init_bare, path)
    info = {
        "account_id": account, "region": region, "repositoryName": target.name,
        "connectionArn": connection["arn"], "providerType": connection["provider_type"],
    }
    return path, ctx, info


def _cgi_env(backend: Backend, scope: dict[str, Any], target: Target, ctx: Any, headers: dict[str, str], query: str) -> dict[str, str]:
    account = ctx.principal.account_id
    region = target.region
    if target.kind == "connection":
        region = ctx.region
    path_info = f"/{account}/{region}/{target.kind}/{target.name}.git{target.suffix}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k != "PATH_INFO"}
    env.update({
        "GIT_PROJECT_ROOT": str(repos.git_root(backend.settings.data_dir)),
        "GIT_HTTP_EXPORT_ALL": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH_INFO": path_info,
        "REQUEST_METHOD": scope["method"],
        "QUERY_STRING": query,
        "CONTENT_TYPE": headers.get("content-type", ""),
        "REMOTE_USER": ctx.principal.arn,
        "REMOTE_ADDR": (scope.get("client") or ("127.0.0.1", 0))[0],
        "SERVER_PROTOCOL": "HTTP/1.1",
        "GATEWAY_INTERFACE": "CGI/1.1",
    })
    if "content-length" in headers:
        env["CONTENT_LENGTH"] = headers["content-length"]
    if "content-encoding" in headers:
        env["HTTP_CONTENT_ENCODING"] = headers["content-encoding"]
    if "git-protocol" in headers:
        env["GIT_PROTOCOL"] = headers["git-protocol"]
    return env


async def _cgi(backend: Backend, scope: dict[str, Any], receive: Any, send: Any, target: Target,
               ctx: Any, headers: dict[str, str], query: str) -> bool:
    """Run ``git http-backend`` for this request, streaming both bodies. True when it succeeded."""
    proc = await asyncio.create_subprocess_exec(
        "git", "http-backend",
        env=_cgi_env(backend, scope, target, ctx, headers, query),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin and proc.stdout and proc.stderr

    async def pump() -> None:
        try:
            while True:
                message = await receive()
                chunk = message.get("body", b"")
                if chunk:
                    proc.stdin.write(chunk)
                    await proc.stdin.drain()
                if not message.get("more_body", False):
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            try:
                proc.stdin.close()
            except (BrokenPipeError, ConnectionResetError):
                pass

    feeder = asyncio.create_task(pump())
    errors = asyncio.create_task(proc.stderr.read())
    status, out_headers, rest = await _cgi_headers(proc.stdout)
    await send({"type": "http.response.start", "status": status, "headers": out_headers})
    if rest:
        await send({"type": "http.response.body", "body": rest, "more_body": True})
    while True:
        chunk = await proc.stdout.read(65536)
        if not chunk:
            break
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
    await feeder
    code = await proc.wait()
    stderr = await errors
    if code != 0 or stderr.strip():
        log.info("git http-backend %s %s: exit %s %s", scope["method"], target.name, code, stderr.decode(errors="replace").strip()[:500])
    return code == 0 and 200 <= status < 300


async def _cgi_headers(stream: asyncio.StreamReader) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    buffer = b""
    while b"\r\n\r\n" not in buffer and b"\n\n" not in buffer:
        chunk = await stream.read(65536)
        if not chunk:
            break
        buffer += chunk
    crlf = buffer.find(b"\r\n\r\n")
    lf = buffer.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        head, rest = buffer[:crlf], buffer[crlf + 4:]
    elif lf >= 0:
        head, rest = buffer[:lf], buffer[lf + 2:]
    else:
        return 502, [(b"content-type", b"text/plain")], b"git http-backend gave no response\n"
    status = 200
    out: list[tuple[bytes, bytes]] = []
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        name, _, value = line.partition(b":")
        name, value = name.strip(), value.strip()
        if name.lower() == b"status":
            status = int(value.split()[0])
        elif name:
            out.append((name.lower(), value))
    return status, out, rest


async def _drain(receive: Any) -> None:
    while True:
        message = await receive()
        if message.get("type") != "http.request" or not message.get("more_body", False):
            return


async def _plain(send: Any, status: int, text: str, extra: list[tuple[str, str]] | None = None) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode().lower(), v.encode()) for k, v in extra or []]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
