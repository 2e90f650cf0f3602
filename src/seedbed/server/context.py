"""Who is calling, and what they asked for: passed to every provider operation."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from seedbed.protocol.http import HttpRequest


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    ``type`` follows CloudTrail's ``userIdentity.type``: ``Root``, ``IAMUser`` or ``AssumedRole``.
    ``user_id`` is what GetCallerIdentity returns as ``UserId`` (the account id for root, the
    user id for a user, ``ROLEID:session`` for an assumed role).
    """

    account_id: str
    arn: str
    user_id: str
    type: str
    access_key_id: str
    user_name: str | None = None
    role_arn: str | None = None
    session_expiration: datetime | None = None
    session_tags: dict[str, str] = field(default_factory=dict)
    session_policy: str | None = None

    @property
    def is_root(self) -> bool:
        return self.type == "Root"


@dataclass
class RequestContext:
    """Everything a provider may need about the request besides its parameters."""

    request_id: str
    service: str
    operation: str
    region: str
    account_id: str
    principal: Principal | None
    source_ip: str = "127.0.0.1"
    user_agent: str = ""
    request: HttpRequest | None = None
    #: ARNs of the resources the call touched, for the audit trail (providers may append).
    resources: list[str] = field(default_factory=list)
    #: For an in-process call: the AWS service making it (``cloudformation.amazonaws.com``), which
    #: CloudTrail shows as ``invokedBy``, ``sourceIPAddress`` and ``userAgent``.
    invoked_by: str | None = None


#: ``RequestContext.source_ip`` of Seedbed's own in-process calls (IAM, S3 and KMS recognise it).
INTERNAL_SOURCE = "seedbed.internal"

#: The service whose work is running now: set while a provider handles a request and inherited by
#: the tasks it starts (a stack operation, a build, a pipeline execution), so that the calls that
#: work makes in-process are attributed to that service, as CloudTrail attributes them on AWS.
ACTING_SERVICE: ContextVar[str | None] = ContextVar("seedbed_acting_service", default=None)


def service_host(endpoint_prefix: str) -> str:
    """The name CloudTrail gives a service acting on someone's behalf."""
    return f"{endpoint_prefix}.amazonaws.com"
