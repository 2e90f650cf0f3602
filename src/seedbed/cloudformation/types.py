"""The one interface every resource type implements, and the registry of implemented types.

A type creates, updates and deletes its resource by calling its service's provider through
:meth:`ResourceContext.call` (``Backend.call``: validation, IAM as the stack's principal, the audit
trail). ``Ref`` returns the physical id (the schema's primary identifier) unless the type says
otherwise; ``Fn::GetAtt`` reads the attributes a handler returns (the schema's read-only
properties). Services register their types in ``services/<name>/resources.py``.
"""

from __future__ import annotations

import importlib
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from seedbed.cloudformation.errors import ResourceFailure
from seedbed.errors import ServiceError

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import Principal

#: Modules that register resource types when imported.
RESOURCE_MODULES = (
    "seedbed.cloudformation.builtin",
    "seedbed.cloudformation.declarative",
    "seedbed.services.iam.resources",
    "seedbed.services.s3.resources",
    "seedbed.services.ssm.resources",
    "seedbed.services.kms.resources",
    "seedbed.services.secretsmanager.resources",
    "seedbed.services.awslambda.resources",
    "seedbed.services.events.resources",
    "seedbed.services.logs.resources",
    "seedbed.services.cloudwatch.resources",
    "seedbed.services.sagemaker.registry.resources",
    "seedbed.services.sagemaker.pipelines.resources",
    "seedbed.services.sagemaker.hosting.resources",
    "seedbed.services.sagemaker.coderepos.resources",
    "seedbed.services.sagemaker.monitoring.resources",
    "seedbed.services.codecommit.resources",
    "seedbed.services.codeconnections.resources",
    "seedbed.services.codebuild.resources",
    "seedbed.services.codepipeline.resources",
)

_TYPES: dict[str, ResourceType] = {}
_loaded = False


@dataclass
class Provisioned:
    """What a create returns: the physical id and the attributes ``Fn::GetAtt`` reads."""

    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class ResourceContext:
    """Who a handler acts as, and where: one per resource operation."""

    backend: Backend
    principal: Principal | None
    region: str
    account_id: str
    stack_id: str
    stack_name: str
    logical_id: str
    type_name: str
    request_token: str
    #: engine services a handler may need (custom-resource invoker, nested stack waits).
    engine: Any = None
    #: Set once a call of this handler changed something: a create that failed before that
    #: point made nothing, so a rollback must not delete the (maybe someone else's) resource.
    changed: bool = False

    async def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            out = await self.backend.call(self.principal, service, operation, params, self.region)
        except ServiceError as exc:
            raise ResourceFailure(_reason(service, operation, exc)) from None
        if not operation.startswith(("Get", "List", "Describe", "Head")):
            self.changed = True
        return out

    async def call_quiet(self, service: str, operation: str, params: dict[str, Any], ignore: tuple[str, ...]) -> dict[str, Any] | None:
        """Like :meth:`call`, but the listed error codes (typically "not found") return None."""
        try:
            return await self.backend.call(self.principal, service, operation, params, self.region)
        except ServiceError as exc:
            if exc.code in ignore:
                return None
            raise ResourceFailure(_reason(service, operation, exc)) from None

    def physical_name(self, max_length: int = 255, lower: bool = False, tail: int = 12) -> str:
        """A generated name, ``{stack}-{logical}-{RANDOM}``, as CloudFormation makes them.

        Derived from the request token so that a retried create after a crash picks the same name.
        """
        alphabet = string.ascii_uppercase + string.digits
        seed = int.from_bytes(self.request_token.encode()[:16].ljust(16, b"0"), "big")
        suffix = "".join(alphabet[(seed >> (5 * i)) % len(alphabet)] for i in range(tail))
        head_budget = max_length - tail - 2
        stack_part = self.stack_name[: max(1, head_budget // 2)]
        logical_part = self.logical_id[: max(1, head_budget - len(stack_part))]
        name = f"{stack_part}-{logical_part}-{suffix}"
        return name.lower() if lower else name


def _reason(service: str, operation: str, exc: ServiceError) -> str:
    return f"{exc.message} (Service: {service}, Status Code: {exc.status}, Error Code: {exc.code}, Operation: {operation})"


class ResourceType:
    """Base class: subclasses set ``type_name`` (and ``service``) and implement the handlers."""

    type_name: ClassVar[str]
    #: The botocore service whose provider the handlers call (None: engine-internal).
    service: ClassVar[str | None] = None
    #: Properties an update may change in place; None means "whatever is not create-only".
    updatable: ClassVar[set[str] | None] = None

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        raise NotImplementedError

    async def update(
        self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]
    ) -> dict[str, Any]:
        """Change the resource in place; returns the new attributes. Default: nothing to do."""
        return attributes

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        raise NotImplementedError

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        """The physical id a create will produce, when known beforehand (journaled first)."""
        return None

    def ref(self, physical_id: str, attributes: dict[str, Any]) -> Any:
        return physical_id

    def any_attribute(self) -> bool:
        """Custom resources and nested stacks accept attributes the schema does not list."""
        return False


def resource_type(cls: type[ResourceType]) -> type[ResourceType]:
    """Class decorator: register one instance of the type."""
    _TYPES[cls.type_name] = cls()
    return cls


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    for module in RESOURCE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a service not built yet
            if exc.name is None or not module.startswith(exc.name):
                raise
    _loaded = True


def get(type_name: str) -> ResourceType | None:
    load_all()
    if type_name.startswith("Custom::"):
        type_name = "AWS::CloudFormation::CustomResource"
    return _TYPES.get(type_name)


def creatable(type_name: str) -> bool:
    """Registered, and its service has a provider in this build."""
    from seedbed.services import registry

    impl = get(type_name)
    return impl is not None and (impl.service is None or impl.service in registry.PROVIDERS)


def implemented_types() -> list[str]:
    load_all()
    return sorted(t for t in _TYPES if creatable(t))


def register_for_tests(impl: ResourceType) -> Callable[[], None]:
    """Install a type (tests); returns a function that removes it again."""
    load_all()
    previous = _TYPES.get(impl.type_name)
    _TYPES[impl.type_name] = impl

    def undo() -> None:
        if previous is None:
            _TYPES.pop(impl.type_name, None)
        else:
            _TYPES[impl.type_name] = previous

    return undo


