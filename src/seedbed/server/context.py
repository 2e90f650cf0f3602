"""Who is calling, and what they asked for: passed to every provider operation."""

from __future__ import annotations

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
