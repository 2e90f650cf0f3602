"""Protocol-neutral HTTP request and response values.

The ASGI layer turns a raw request into an :class:`HttpRequest`; parsers read it, serializers
produce an :class:`HttpResponse`, and the ASGI layer writes that back. Keeping these plain
dataclasses lets the protocol layer be tested without a server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import unquote


@dataclass
class HttpRequest:
    """An incoming request as the protocol layer sees it.

    ``path`` is the raw, still percent-encoded path (no query string); ``query`` holds the decoded
    query parameters in arrival order (a key may repeat, and a key without ``=`` has value "").
    ``headers`` keys are lower-case; a repeated header is joined with ``", "`` as HTTP allows.
    """

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    raw_query: str = ""
    #: Values derived from the request once and reused by later stages (e.g. decoded form data).
    memo: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def decoded_path(self) -> str:
        return unquote(self.path)

    def query_dict(self) -> dict[str, str]:
        """First value of each query key."""
        out: dict[str, str] = {}
        for key, value in self.query:
            out.setdefault(key, value)
        return out

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class HttpResponse:
    """An outgoing response. Header names keep the case given; order is preserved.

    A large payload (an S3 object, say) may be given as ``stream`` instead of ``body``: the ASGI
    layer then sends its chunks as they come, so the server never holds the whole object. A
    streamed response must carry its own ``Content-Length`` header.
    """

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def set_header(self, name: str, value: str) -> None:
        lname = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lname]
        self.headers.append((name, value))
