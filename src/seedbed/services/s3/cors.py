"""CORS for buckets, as browsers meet it on S3.

Two hooks for the server core (neither is an S3 API operation):

- :func:`preflight` answers an unsigned ``OPTIONS`` request from the bucket's CORS rules, so that
  a page on ``https://<domain>.studio.sagemaker.aws`` can PUT or GET objects directly;
- :func:`apply_cors_headers` adds ``Access-Control-*`` headers to the response of an ordinary
  request that carries an ``Origin`` header and matches a rule.

Rules match as S3 documents: the first rule whose AllowedOrigins (one ``*`` wildcard allowed),
AllowedMethods and, for preflights, AllowedHeaders (case-insensitive, wildcards) all match.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from seedbed.protocol.http import HttpRequest, HttpResponse
from seedbed.services.s3.errors import error

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")
MAX_RULES = 100
_FORBIDDEN = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
    "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are "
    "not whitelisted by the resource's CORS spec."
)


def validate_configuration(config: dict[str, Any]) -> dict[str, Any]:
    """A PutBucketCors document as S3 accepts it, or S3's error."""
    rules = config.get("CORSRules") or []
    if not rules or len(rules) > MAX_RULES:
        raise error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    for rule in rules:
        if not rule.get("AllowedMethods") or not rule.get("AllowedOrigins"):
            raise error(
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our published schema",
            )
        for method in rule["AllowedMethods"]:
            if method not in METHODS:
                raise error(
                    "InvalidRequest",
                    f"Found unsupported HTTP method in CORS config. Unsupported method is {method}",
                )
        for origin in rule["AllowedOrigins"]:
            if origin.count("*") > 1:
                raise error(
                    "InvalidRequest",
                    f'AllowedOrigin "{origin}" can not have more than one wildcard.',
                )
        for header in rule.get("AllowedHeaders") or []:
            if header.count("*") > 1:
                raise error(
                    "InvalidRequest",
                    f'AllowedHeader "{header}" can not have more than one wildcard.',
                )
    return {"CORSRules": rules}


@lru_cache(maxsize=1024)
def _pattern(wildcard: str, ignore_case: bool) -> re.Pattern[str]:
    text = ".*".join(re.escape(part) for part in wildcard.split("*"))
    return re.compile(f"^{text}$", re.IGNORECASE if ignore_case else 0)


def _matches(patterns: list[str], value: str, ignore_case: bool = False) -> bool:
    return any(_pattern(p, ignore_case).match(value) for p in patterns)


def find_rule(
    rules: list[dict[str, Any]], origin: str, method: str, headers: list[str] | None = None
) -> dict[str, Any] | None:
    """The first rule allowing ``origin`` to use ``method`` (and send ``headers``)."""
    for rule in rules:
        if method not in rule.get("AllowedMethods", []):
            continue
        if not _matches(rule.get("AllowedOrigins", []), origin):
            continue
        allowed_headers = rule.get("AllowedHeaders") or []
        if headers and not all(_matches(allowed_headers, h, ignore_case=True) for h in headers):
            continue
        return rule
    return None


def _allow_headers(rule: dict[str, Any], origin: str) -> list[tuple[str, str]]:
    wildcard = "*" in rule.get("AllowedOrigins", [])
    out = [
        ("Access-Control-Allow-Origin", "*" if wildcard else origin),
        ("Access-Control-Allow-Methods", ", ".join(rule["AllowedMethods"])),
    ]
    if not wildcard:
        out.append(("Access-Control-Allow-Credentials", "true"))
    if rule.get("ExposeHeaders"):
        out.append(("Access-Control-Expose-Headers", ", ".join(rule["ExposeHeaders"])))
    if rule.get("MaxAgeSeconds") is not None:
        out.append(("Access-Control-Max-Age", str(rule["MaxAgeSeconds"])))
    return out


def bucket_of(request: HttpRequest) -> str | None:
    """The bucket a path-style request addresses (the router has already rewritten vhosts)."""
    first = request.path.lstrip("/").split("/", 1)[0]
    return unquote(first) or None


def _forbidden(message: str, method: str, request_id: str) -> HttpResponse:
    from seedbed.protocol.rest_xml import host_id

    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessForbidden</Code>'
        f"<Message>{message}</Message><Method>{method}</Method><ResourceType>OBJECT</ResourceType>"
        f"<RequestId>{request_id}</RequestId><HostId>{host_id(request_id)}</HostId></Error>"
    )
    return HttpResponse(
        403,
        [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)],
        body.encode("utf-8"),
    )


def _bad_request(message: str, request_id: str) -> HttpResponse:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>BadRequest</Code>'
        f"<Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
    )
    return HttpResponse(400, [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)], body.encode())


def _rules(backend: Backend, bucket: str) -> tuple[bool, list[dict[str, Any]] | None]:
    provider = backend.provider("s3")
    return provider.cors_rules(bucket)  # type: ignore[union-attr]


def preflight(backend: Backend, request: HttpRequest) -> HttpResponse:
    """Answer a CORS preflight (``OPTIONS``) for an S3 bucket or object."""
    from seedbed.state import ids

    request_id = ids.request_id()
    origin = request.headers.get("origin")
    method = (request.headers.get("access-control-request-method") or "").strip()
    if not origin:
        return _bad_request("Insufficient information. Origin request header needed.", request_id)
    if method not in METHODS:
        return _bad_request(f"Invalid Access-Control-Request-Method: {method or 'null'}", request_id)
    bucket = bucket_of(request)
    if bucket is None:
        return _forbidden("CORSResponse: Bucket not found", method, request_id)
    exists, rules = _rules(backend, bucket)
    if not exists:
        return _forbidden("CORSResponse: Bucket not found", method, request_id)
    if not rules:
        return _forbidden("CORSResponse: CORS is not enabled for this bucket.", method, request_id)
    raw_headers = request.headers.get("access-control-request-headers", "")
    wanted = [h.strip() for h in raw_headers.split(",") if h.strip()]
    rule = find_rule(rules, origin, method, wanted)
    if rule is None:
        return _forbidden(_FORBIDDEN, method, request_id)
    headers = _allow_headers(rule, origin)
    if wanted:
        headers.append(("Access-Control-Allow-Headers", ", ".join(h.lower() for h in wanted)))
    headers.append(("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"))
    headers.append(("x-amz-request-id", request_id))
    return HttpResponse(200, headers, b"")


def apply_cors_headers(backend: Backend, request: HttpRequest, response: HttpResponse) -> None:
    """Add ``Access-Control-*`` headers to an S3 response when the request's origin is allowed."""
    origin = request.headers.get("origin")
    bucket = bucket_of(request)
    if not origin or bucket is None:
        return
    try:
        exists, rules = _rules(backend, bucket)
    except Exception:  # never fail a request over its CORS decoration
        return
    if not exists or not rules:
        return
    rule = find_rule(rules, origin, request.method.upper())
    if rule is None:
        return
    for name, value in _allow_headers(rule, origin):
        response.set_header(name, value)
    response.set_header("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
