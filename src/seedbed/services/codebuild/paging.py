"""CodeBuild's list pages: an offset in ``nextToken``, ``maxResults`` up to 100 where the
operation takes it."""

from __future__ import annotations

from typing import Any

from seedbed.services.codebuild.errors import InvalidInput


def listing(key: str, items: list[Any], params: dict[str, Any], default: int = 100) -> dict[str, Any]:
    """``{key: <this page of items>, "nextToken": ...}`` for a list operation's ``params``."""
    size = max(1, min(int(params.get("maxResults") or default), 100))
    token = params.get("nextToken")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise InvalidInput("Invalid nextToken") from None
    end = start + size
    return {key: items[start:end], **({"nextToken": str(end)} if end < len(items) else {})}
