"""The template catalog of a domain: what Studio shows under "Organization templates".

The domain's ``sagemaker:projectS3TemplatesLocation`` tag names an S3 prefix; every object under
it tagged ``sagemaker:studio-visibility=true`` is a template. The listing runs *as the calling
user*, so a missing ``s3:ListBucket``, ``s3:GetObjectTagging`` or ``s3:GetObject`` fails here the
way it fails in Studio on AWS.

:func:`describe_template` and :func:`entry` are pure and shared: the server builds the catalog
through :class:`ServerReader` (in-process S3 calls), the CLI through boto3 (:mod:`seedbed.cli.templates`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlparse

from seedbed.cloudformation import template as cfn_template
from seedbed.cloudformation.errors import TemplateError
from seedbed.errors import ServiceError
from seedbed.services.sagemaker.errors import SageMakerValidation

LOCATION_TAG = "sagemaker:projectS3TemplatesLocation"
VISIBILITY_TAG = "sagemaker:studio-visibility"
#: Parameters SageMaker fills in itself; a template must declare both.
SUPPLIED = ("SageMakerProjectName", "SageMakerProjectId")
TEMPLATE_SUFFIXES = (".yml", ".yaml", ".json", ".template")
_NUMERIC = ("MinLength", "MaxLength", "MinValue", "MaxValue")
_CONSTRAINTS = ("AllowedValues", "AllowedPattern", "MinLength", "MaxLength", "MinValue", "MaxValue", "ConstraintDescription")


class LocationError(ValueError):
    """The templates-location tag is missing or not an ``s3://bucket/prefix`` URI."""


def parse_location(value: str | None, domain_id: str = "") -> tuple[str, str]:
    """(bucket, prefix) from ``s3://bucket/prefix/``; the prefix keeps or gains its trailing slash."""
    if value is None:
        raise LocationError(f"Domain {domain_id} has no {LOCATION_TAG} tag: tag it with the S3 URI of the templates folder (s3://bucket/prefix/).")
    parsed = urlparse(value.strip())
    if parsed.scheme != "s3" or not parsed.netloc:
        raise LocationError(f"The {LOCATION_TAG} tag of domain {domain_id} is {value!r}; it must be an S3 URI such as s3://bucket/prefix/.")
    prefix = parsed.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return parsed.netloc, prefix


def template_url(bucket: str, key: str, region: str, version_id: str | None = None) -> str:
    """The https URL CreateProject's TemplateURL takes (virtual-host style, as Studio builds it)."""
    url = f"https://{bucket}.s3.{region}.amazonaws.com/{quote(key)}"
    return f"{url}?versionId={quote(version_id)}" if version_id and version_id != "null" else url


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value if isinstance(value, str) else str(value)


def describe_template(body: str) -> dict[str, Any]:
    """Description, parameters (type, default, constraints, group, label) and resource types.

    Raises :class:`TemplateError` for a body that is not a CloudFormation template.
    """
    tpl = cfn_template.load(body)
    interface = (tpl.doc.get("Metadata") or {}).get("AWS::CloudFormation::Interface") or {}
    labels = {name: (label or {}).get("default") for name, label in (interface.get("ParameterLabels") or {}).items()}
    groups: list[dict[str, Any]] = []
    group_of: dict[str, str] = {}
    for group in interface.get("ParameterGroups") or []:
        label = ((group or {}).get("Label") or {}).get("default") or ""
        names = [str(n) for n in (group or {}).get("Parameters") or []]
        groups.append({"Label": label, "Parameters": names})
        for name in names:
            group_of.setdefault(name, label)
    params = []
    for name, decl in tpl.parameters.items():
        decl = decl if isinstance(decl, dict) else {}
        item: dict[str, Any] = {"Name": name, "Type": str(decl.get("Type", "String")), "SuppliedBySageMaker": name in SUPPLIED}
        if "Default" in decl:
            item["Default"] = _text(decl["Default"])
        if "Description" in decl:
            item["Description"] = str(decl["Description"])
        if str(decl.get("NoEcho", "false")).lower() == "true":
            item["NoEcho"] = True
        constraints = {k: decl[k] if k in _NUMERIC else _text(decl[k]) for k in _CONSTRAINTS if k in decl}
        if constraints:
            item["Constraints"] = constraints
        if labels.get(name):
            item["Label"] = labels[name]
        if name in group_of:
            item["Group"] = group_of[name]
        params.append(item)
    return {
        "Description": tpl.description or "",
        "Parameters": params,
        "ParameterGroups": groups,
        "ResourceTypes": sorted({str(r.get("Type")) for r in tpl.resources.values() if isinstance(r, dict)}),
        "MissingSageMakerParameters": [n for n in SUPPLIED if n not in tpl.parameters],
    }


def entry(bucket: str, key: str, region: str, body: str, version_id: str | None, last_modified: Any, etag: str | None) -> dict[str, Any]:
    """One catalog entry; a template that does not parse is listed with its error (as Studio
    lists it and fails at creation)."""
    name = key.rsplit("/", 1)[-1]
    for suffix in TEMPLATE_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    out: dict[str, Any] = {
        "TemplateName": name, "Bucket": bucket, "Key": key, "S3Uri": f"s3://{bucket}/{key}",
        "TemplateURL": template_url(bucket, key, region), "VersionId": version_id,
        "LastModified": last_modified.isoformat() if isinstance(last_modified, datetime) else last_modified,
        "ETag": etag,
    }
    try:
        out.update(describe_template(body))
    except TemplateError as exc:
        out["Error"] = exc.message if hasattr(exc, "message") else str(exc)
    return out


def visible(tag_set: list[dict[str, str]]) -> bool:
    return any(t.get("Key") == VISIBILITY_TAG and str(t.get("Value", "")).lower() == "true" for t in tag_set)


# -- the server side: S3 through in-process calls as the caller ---------------------------------

S3Call = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


async def _read(body: Any) -> bytes:
    from seedbed.cloudformation.engine import read_body

    return await read_body(body)


async def build(s3: S3Call, domain_id: str, location: str | None, region: str) -> dict[str, Any]:
    """The catalog of one domain; S3 errors (AccessDenied, NoSuchBucket) propagate as they are."""
    try:
        bucket, prefix = parse_location(location, domain_id)
    except LocationError as exc:
        raise SageMakerValidation(str(exc)) from None
    keys: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if token:
            params["ContinuationToken"] = token
        page = await s3("ListObjectsV2", params)
        keys.extend(page.get("Contents") or [])
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            break
    templates = []
    for obj in keys:
        key = obj["Key"]
        if key.endswith("/"):
            continue
        tagging = await s3("GetObjectTagging", {"Bucket": bucket, "Key": key})
        if not visible(tagging.get("TagSet") or []):
            continue
        got = await s3("GetObject", {"Bucket": bucket, "Key": key})
        data = await _read(got.get("Body"))
        body = data.decode("utf-8", errors="replace")
        templates.append(entry(bucket, key, region, body, got.get("VersionId") or tagging.get("VersionId"),
                               got.get("LastModified") or obj.get("LastModified"), got.get("ETag") or obj.get("ETag")))
    return {"DomainId": domain_id, "TemplatesLocation": location, "Bucket": bucket, "Prefix": prefix, "Templates": templates}


async def server_catalog(backend: Any, principal: Any, region: str, domain_id: str) -> dict[str, Any]:
    """The catalog as the signed-in ``principal`` sees it (used by the JSON endpoint and the web UI)."""
    from seedbed.services.sagemaker import store
    from seedbed.state import arns

    account = principal.account_id if principal is not None else ""
    with backend.db.connect() as conn:
        domain = store.get_domain(conn, account, region, domain_id)
        location = None
        if domain is not None:
            location = {t["Key"]: t["Value"] for t in store.get_tags(conn, domain.arn)}.get(LOCATION_TAG)
    if domain is None:
        from seedbed.services.sagemaker.errors import ResourceNotFound

        raise ResourceNotFound(f"Domain {arns.sagemaker(account, region, 'domain', domain_id)} not found")

    async def s3(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return await backend.call(principal, "s3", operation, params, region)

    return await build(s3, domain_id, location, region)


async def handle_catalog_request(backend: Any, request: Any) -> Any:
    """``GET /_seedbed/catalog?domain=d-xxx`` (SigV4-signed like any request, any service name):
    the domain's catalog as JSON, or ``{"Code", "Message"}`` with the error's HTTP status."""
    from seedbed.protocol.http import HttpResponse
    from seedbed.server import dispatch
    from seedbed.server.auth import sigv4

    def reply(status: int, payload: Any) -> HttpResponse:
        return HttpResponse(status, [("Content-Type", "application/json")], json.dumps(payload, default=str).encode())

    try:
        sig = sigv4.parse_signature(request)
        if sig is None:
            return reply(403, {"Code": "MissingAuthenticationToken", "Message": "Missing Authentication Token"})
        principal = dispatch.authenticate(backend, request, sig, "sagemaker")
        domain_id = dict(request.query).get("domain") or dict(request.query).get("DomainId")
        if not domain_id:
            return reply(400, {"Code": "ValidationException", "Message": "The query parameter 'domain' is required."})
        region = sig.region or backend.settings.region
        return reply(200, await server_catalog(backend, principal, region, domain_id))
    except ServiceError as exc:
        return reply(min(500, exc.status), {"Code": exc.code, "Message": exc.message})
    except Exception:
        import logging

        logging.getLogger(__name__).exception("catalog request failed")
        return reply(500, {"Code": "InternalFailure", "Message": "We encountered an internal error. Please try again."})
