"""The ASGI application: Seedbed's own endpoints under ``/_seedbed/``, every AWS API elsewhere.

A raw ASGI callable rather than a framework router, because every AWS request goes to the same
dispatcher and the per-request overhead is part of a latency target (see ``bench/``). The whole
body is read before dispatch; uvicorn answers ``Expect: 100-continue`` when the body is first read.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from seedbed import __version__
from seedbed.protocol.http import HttpRequest, HttpResponse
from seedbed.server import dispatch
from seedbed.server.backend import Backend

log = logging.getLogger(__name__)

Scope = dict[str, Any]
#: Paths served by :mod:`seedbed.gitserver` (kept here so other requests never import it).
GIT_PREFIXES = ("/v1/repos/", "/_seedbed/git/", "/git-http/", "/_seedbed/github/")


def request_from_scope(scope: Scope, body: bytes) -> HttpRequest:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    raw_path = scope.get("raw_path") or scope["path"].encode()
    path = raw_path.decode("latin-1").split("?", 1)[0]
    raw_query = scope.get("query_string", b"").decode("latin-1")
    return HttpRequest(
        method=scope["method"],
        path=path or "/",
        query=parse_qsl(raw_query, keep_blank_values=True),
        headers=headers,
        body=body,
        raw_query=raw_query,
    )


class SeedbedApp:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"].startswith(GIT_PREFIXES):  # git smart HTTP and the GitHub REST subset
            from seedbed.gitserver import http as git_http

            if git_http.wants(scope):  # streams its own bodies (packs can be large)
                await git_http.handle(self.backend, scope, receive, send)
                return
        body = await _read_body(receive)
        if scope["path"] == "/_seedbed/catalog":
            from seedbed.services.sagemaker.catalog import handle_catalog_request

            response = await handle_catalog_request(self.backend, request_from_scope(scope, body))
        elif scope["path"].startswith("/_seedbed/studio"):  # the web UI (seedbed.studio)
            from seedbed.studio import handle as studio_handle

            request = request_from_scope(scope, body)
            request.memo["client_ip"] = (scope.get("client") or ("127.0.0.1", 0))[0]
            response = await studio_handle(self.backend, request)
        elif scope["path"].startswith("/_seedbed/"):
            response = self._internal(scope)
        else:
            request = request_from_scope(scope, body)
            client = scope.get("client") or ("127.0.0.1", 0)
            response = await dispatch.handle(self.backend, request, client[0])
        await _send(send, response)

    def _internal(self, scope: Scope) -> HttpResponse:
        if scope["path"] == "/_seedbed/health":
            payload = {
                "status": "ok",
                "version": __version__,
                "services": self.backend.implemented_services(),
                "routed": sorted(self.backend.router.services),
            }
            return _json(200, payload)
        return _json(404, {"message": f"no such Seedbed endpoint: {scope['path']}"})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.backend.resume_interrupted()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.backend.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _json(status: int, payload: Any) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json")], json.dumps(payload).encode())


async def _read_body(receive: Any) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks) if len(chunks) != 1 else chunks[0]


async def _send(send: Any, response: HttpResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    if response.header("content-length") is None and response.stream is None:
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if response.stream is None:
        await send({"type": "http.response.body", "body": response.body})
        return
    try:
        async for chunk in response.stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        aclose = getattr(response.stream, "aclose", None)
        if aclose is not None:
            await aclose()
