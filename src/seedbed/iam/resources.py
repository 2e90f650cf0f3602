"""Resource-based policies and resource condition keys: what services tell the authorizer.

The authorizer knows a resource only by its ARN. A service that has resource-based policies
(S3 bucket policies, KMS key policies, Lambda function policies...) or resource condition keys
(``aws:ResourceTag/...``, ``s3:ExistingObjectTag/...``) makes them known in one of two ways:

1. its provider class defines the methods below (found through ``backend.provider(service)``):

   - ``resource_policy(ctx, resource_arn) -> ResourcePolicy | None``
   - ``resource_condition_keys(ctx, resource_arn, key) -> tuple[str, ...] | None``

2. or a function is registered here with :func:`register_policy_source` /
   :func:`register_context_source` (keyed by the service named in the ARN, e.g. ``"s3"``).

``resource_policy`` returns None when the resource does not exist (then only identity-based
policies decide, and the provider answers "no such ..." afterwards), else the owning account
(S3 ARNs carry none) and the policy text, or None for "no policy". ``key`` is lower-cased, e.g.
``aws:resourcetag/project``; return None when the resource has no such value. Both run on the
request path before the operation: keep them to one indexed read, or cache and register a
write hook (:func:`register_write_hook`) that drops what a request is about to change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import RequestContext


@dataclass(frozen=True)
class ResourcePolicy:
    """What the authorizer needs to know about a resource that exists."""

    owner_account: str
    #: The resource-based policy (JSON text), or None when the resource has none.
    document: str | None = None


class ResourcePolicySource(Protocol):
    def resource_policy(self, ctx: RequestContext, resource_arn: str) -> ResourcePolicy | None: ...


PolicyGetter = Callable[["Backend", "RequestContext", str], "ResourcePolicy | None"]
ContextGetter = Callable[["Backend", "RequestContext", str, str], "tuple[str, ...] | None"]

_policy_sources: dict[str, PolicyGetter] = {}
_context_sources: dict[str, ContextGetter] = {}
#: (operation, params) -> None: told of every request of its service before it runs, so a
#: source that caches can forget what the request is about to change (a new bucket policy).
WriteHook = Callable[[str, "Mapping[str, Any]"], None]
_write_hooks: dict[str, WriteHook] = {}


def register_write_hook(service: str, hook: WriteHook) -> None:
    _write_hooks[service] = hook


#: (operation, params) -> params: fills in members the authorization needs that the request only
#: implies (KMS Decrypt names its key inside the ciphertext blob, not in ``KeyId``).
RequestResolver = Callable[[str, "Mapping[str, Any]"], "Mapping[str, Any]"]
_resolvers: dict[str, RequestResolver] = {}


def register_request_resolver(service: str, resolver: RequestResolver) -> None:
    _resolvers[service] = resolver


def resolve_request(service: str, operation: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """The parameters as the authorizer should see them (the provider still gets the originals)."""
    resolver = _resolvers.get(service)
    return resolver(operation, params) if resolver is not None else params


def notify(service: str, operation: str, params: Mapping[str, Any]) -> None:
    hook = _write_hooks.get(service)
    if hook is not None:
        hook(operation, params)


def register_policy_source(service: str, getter: PolicyGetter) -> None:
    """Make ``getter(backend, ctx, resource_arn)`` the source of ``service``'s resource policies."""
    _policy_sources[service] = getter


def register_context_source(service: str, getter: ContextGetter) -> None:
    """Make ``getter(backend, ctx, resource_arn, key)`` answer ``service``'s resource keys."""
    _context_sources[service] = getter


def _arn_service(resource_arn: str) -> str | None:
    parts = resource_arn.split(":", 3)
    return parts[2] if len(parts) > 3 and parts[0] == "arn" else None


def _provider(backend: Backend, service: str) -> object | None:
    from seedbed.services.registry import PROVIDERS

    return backend.provider(service) if service in PROVIDERS else None


def policy_for(backend: Backend, ctx: RequestContext, resource_arn: str) -> ResourcePolicy | None:
    service = _arn_service(resource_arn)
    if service is None:
        return None
    getter = _policy_sources.get(service)
    if getter is not None:
        return getter(backend, ctx, resource_arn)
    provider = _provider(backend, service)
    method = getattr(provider, "resource_policy", None)
    return method(ctx, resource_arn) if callable(method) else None


def has_policy_source(backend: Backend, resource_arn: str) -> bool:
    service = _arn_service(resource_arn)
    if service is None:
        return False
    if service in _policy_sources:
        return True
    return callable(getattr(_provider(backend, service), "resource_policy", None))


def context_for(backend: Backend, ctx: RequestContext, resource_arn: str, key: str) -> tuple[str, ...] | None:
    service = _arn_service(resource_arn)
    if service is None:
        return None
    getter = _context_sources.get(service)
    if getter is not None:
        return getter(backend, ctx, resource_arn, key)
    method = getattr(_provider(backend, service), "resource_condition_keys", None)
    return method(ctx, resource_arn, key) if callable(method) else None
