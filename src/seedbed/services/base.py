"""The base class of every service provider.

A provider is a plain class whose methods are the service's operations, named as botocore names
them in Python (``GetCallerIdentity`` -> ``get_caller_identity``). Each takes the request context
and the operation's input as a dict, and returns the output as a dict, or raises a
:class:`seedbed.errors.ServiceError`. Plain (sync) methods run on the event loop thread and must be
quick; ``async def`` methods may await slow work (file I/O in a thread, other services).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from botocore import xform_name

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import RequestContext

Operation = Callable[["RequestContext", dict[str, Any]], Any]


class Provider:
    #: The botocore service name this provider implements.
    service: ClassVar[str]

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def operation(self, name: str) -> Operation | None:
        """The method implementing ``name``, or None when Seedbed does not implement it."""
        method = getattr(self, xform_name(name), None)
        return method if callable(method) else None

    def implemented(self) -> list[str]:
        from seedbed.protocol.models import service_model

        return [op for op in service_model(self.service).operation_names if self.operation(op)]

    def close(self) -> None:
        """Release what the provider holds (threads, workers) on shutdown."""
