"""Plumbing of the web UI: the per-request :class:`Page`, rendering, responses, the router.

Every AWS call goes through :meth:`Page.call`, i.e. :meth:`Backend.call` as the signed-in
principal: IAM and the audit trail see the UI's calls exactly as they see the user's own.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from seedbed.errors import ServiceError
from seedbed.protocol.http import HttpRequest, HttpResponse
from seedbed.studio import auth, forms

log = logging.getLogger(__name__)

PREFIX = "/_seedbed/studio/"
HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".svg": "image/svg+xml"}
_SECURITY_HEADERS = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", ("default-src 'self'; img-src 'self' data:; form-action 'self'; "
                                 "frame-ancestors 'none'; base-uri 'none'")),
]
DOMAIN_ID = re.compile(r"d-[a-z0-9-]{1,61}")
_env: Any = None


def environment() -> Any:
    """The Jinja2 environment (autoescaping on), made on first use."""
    global _env
    if _env is None:
        import jinja2

        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.ChainableUndefined,
        )
        env.filters["when"] = when
        env.filters["badge"] = forms.badge
        env.filters["q"] = lambda value: quote(str(value), safe="")
        env.filters["pretty"] = lambda value: json.dumps(value, indent=2, sort_keys=True, default=str)
        _env = env
    return _env


def when(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return "" if value is None else str(value)


@dataclass(frozen=True)
class ApiError:
    """An AWS error as the page shows it: the error code and message, never a traceback."""

    code: str
    message: str
    service: str = ""
    operation: str = ""

    @property
    def not_implemented(self) -> bool:
        return self.code in ("NotImplemented", "NotImplementedException")

    @classmethod
    def of(cls, exc: BaseException, service: str = "", operation: str = "") -> ApiError:
        if isinstance(exc, ServiceError):
            return cls(exc.code, exc.message, service, operation)
        log.exception("web UI call %s:%s failed", service, operation, exc_info=exc)
        return cls("InternalFailure", "We encountered an internal error. Please try again.", service, operation)


class Failed(Exception):
    """Raised by a handler to show an error page with the AWS error."""

    def __init__(self, error: ApiError, status: int = 400) -> None:
        super().__init__(error.message)
        self.error = error
        self.status = status


class Page:
    """One request of a signed-in user: the call helper, the form, rendering and redirects."""

    def __init__(self, backend: Any, request: HttpRequest, session: auth.Session, key: bytes) -> None:
        self.backend = backend
        self.request = request
        self.session = session
        self.key = key
        self.domain_id = session.domain_id
        self.base = f"{PREFIX}{session.domain_id}/"
        self.query = request.query_dict()
        self._form: dict[str, str] | None = None

    @property
    def form(self) -> dict[str, str]:
        if self._form is None:
            text = self.request.body.decode("utf-8", errors="replace")
            self._form = {}
            for key, value in parse_qsl(text, keep_blank_values=True):
                self._form.setdefault(key, value)
        return self._form

    async def call(self, service: str, operation: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """``operation`` as the signed-in principal; errors raise :class:`Failed`."""
        try:
            return await self.backend.call(
                self.session.principal, service, operation, params or {}, self.session.region,
                source_ip=str(self.request.memo.get("client_ip") or "127.0.0.1"),
                user_agent=self.request.headers.get("user-agent") or "seedbed-studio",
            )
        except Exception as exc:  # noqa: BLE001 - shown as the AWS error, never as a traceback
            error = ApiError.of(exc, service, operation)
            raise Failed(error, min(getattr(exc, "status", 500), 599) if isinstance(exc, ServiceError) else 500) from None

    async def attempt(self, service: str, operation: str, params: dict[str, Any] | None = None) -> tuple[dict[str, Any] | None, ApiError | None]:
        """Like :meth:`call`, but the error is returned for the page to show beside the rest."""
        try:
            return await self.call(service, operation, params), None
        except Failed as failed:
            return None, failed.error

    def url(self, path: str = "") -> str:
        return self.base + path

    def render(self, template: str, status: int = 200, **values: Any) -> HttpResponse:
        return render(template, status, page=self, session=self.session, base=self.base,
                      csrf=auth.csrf_token(self.key, self.session), **values)

    def redirect(self, path: str) -> HttpResponse:
        return redirect(self.base + path)


def render(template: str, status: int = 200, **values: Any) -> HttpResponse:
    html = environment().get_template(template).render(static=PREFIX + "static/", **values)
    return HttpResponse(status, [("Content-Type", "text/html; charset=utf-8"), *_SECURITY_HEADERS], html.encode())


def redirect(location: str, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(303, [("Location", location), ("Cache-Control", "no-store"), *(headers or [])], b"")


def json_response(status: int, payload: Any) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                        json.dumps(payload, default=str).encode())


def static(name: str) -> HttpResponse:
    path = (STATIC / name).resolve()
    if path.parent != STATIC or not path.is_file() or path.suffix not in _STATIC_TYPES:
        return HttpResponse(404, [("Content-Type", "text/plain")], b"not found")
    return HttpResponse(200, [("Content-Type", _STATIC_TYPES[path.suffix]), ("Cache-Control", "max-age=300"),
                              ("X-Content-Type-Options", "nosniff")], path.read_bytes())


Handler = Callable[..., Awaitable[HttpResponse]]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register a page handler for ``method`` and a path (relative to the domain's base) regex;
    named groups are passed (URL-decoded) as keyword arguments."""
    def register(fn: Handler) -> Handler:
        ROUTES.append((method, re.compile(pattern), fn))
        return fn
    return register


def match(method: str, rest: str) -> tuple[Handler, dict[str, str]] | None | bool:
    """The handler of a path, or None (no such page), or False (the page exists for another method)."""
    other = False
    for verb, pattern, fn in ROUTES:
        found = pattern.fullmatch(rest)
        if found:
            if verb == method or (verb == "GET" and method == "HEAD"):
                return fn, {k: unquote(v) for k, v in found.groupdict().items()}
            other = True
    return False if other else None


def same_origin(request: HttpRequest) -> bool:
    """A POST's ``Origin`` (when the browser sends one) must be this server."""
    origin = request.header("origin")
    if not origin or origin == "null":
        return origin is None
    host = request.header("host") or ""
    return origin.split("://", 1)[-1].rstrip("/") == host


def cookie_header(domain_id: str, value: str, max_age: int, secure: bool) -> str:
    attrs = f"{auth.COOKIE}={value}; Path={PREFIX}{domain_id}/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
    return attrs + ("; Secure" if secure else "")


async def handle(backend: Any, request: HttpRequest) -> HttpResponse:
    """Everything under ``/_seedbed/studio/``."""
    from seedbed.studio import views

    rest = request.path[len(PREFIX):] if request.path.startswith(PREFIX) else ""
    if rest.startswith("static/"):
        return static(rest[len("static/"):])
    domain_id, slash, rest = rest.partition("/")
    if not DOMAIN_ID.fullmatch(domain_id):
        return render("login.html", 404 if domain_id else 401, domain_id=None, reason=None)
    if not slash:  # the session cookie's path is the domain's folder
        return redirect(f"{PREFIX}{domain_id}/projects")
    key = auth.secret(backend)
    try:
        if rest == "auth" and request.method == "GET":  # not HEAD: a link preview must not use it up
            return await views.login(backend, request, domain_id, key)
        session = auth.read_session(key, auth.cookies(request.header("cookie")).get(auth.COOKIE), domain_id)
        if session is None:
            reason = "Your session has expired or you are signed out." if auth.COOKIE in (request.header("cookie") or "") else None
            return render("login.html", 401, domain_id=domain_id, reason=reason)
        page = Page(backend, request, session, key)
        found = match(request.method, rest)
        if found is None:
            return page.render("error.html", 404, error=ApiError("NotFound", f"There is no page {rest!r}."))
        if found is False:
            return page.render("error.html", 405, error=ApiError("MethodNotAllowed", f"{request.method} is not allowed here."))
        handler, args = found  # type: ignore[misc]
        if request.method == "POST" and not (same_origin(request) and auth.csrf_ok(key, session, page.form.get("csrf_token"))):
            return page.render("error.html", 403, error=ApiError(
                "InvalidCsrfToken", "The form was not sent from this page (missing or wrong CSRF token). Reload the page and try again."))
        try:
            return await handler(page, **args)
        except Failed as failed:
            return page.render("error.html", failed.status, error=failed.error)
    except Exception:
        log.exception("web UI request %s %s failed", request.method, request.path)
        return render("error.html", 500, page=None, session=None, base=f"{PREFIX}{domain_id}/",
                      error=ApiError("InternalFailure", "We encountered an internal error. Please try again."))
