"""Typed service errors: a provider raises one, the protocol layer turns it into AWS's error document.

Every error carries the AWS error code, a message and an HTTP status. ``fields`` holds extra
members of a modeled error shape (for example S3's ``BucketName`` on ``NoSuchBucket``) and
``headers`` extra response headers.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An error that a client sees as an AWS error response."""

    code: str = "InternalFailure"
    status: int = 400
    sender_fault: bool = True

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        sender_fault: bool | None = None,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if sender_fault is not None:
            self.sender_fault = sender_fault
        self.fields: dict[str, Any] = dict(fields or {})
        self.headers: dict[str, str] = dict(headers or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, status={self.status})"


class ValidationError(ServiceError):
    """Input that breaks the operation's model (required member, length, range, enum, pattern).

    The code differs by protocol (``ValidationException`` for JSON services, ``ValidationError``
    for query services, ``InvalidArgument`` for S3); the serializer may not rewrite it, so the
    raiser picks. The default suits JSON and CBOR services.
    """

    code = "ValidationException"
    status = 400


class NotImplementedOperation(ServiceError):
    """The operation exists in the AWS model but Seedbed does not implement it yet."""

    code = "NotImplemented"
    status = 501
    sender_fault = False

    def __init__(self, service: str, operation: str) -> None:
        super().__init__(
            f"Seedbed does not implement {service}:{operation} yet. "
            "See the README's list of supported operations."
        )


class UnknownOperation(ServiceError):
    """No operation of the service matches the request (bad target, action or path)."""

    code = "UnknownOperationException"
    status = 400


class InternalFailure(ServiceError):
    """An unexpected fault inside Seedbed; the message never leaks a traceback."""

    code = "InternalFailure"
    status = 500
    sender_fault = False


class AccessDenied(ServiceError):
    code = "AccessDenied"
    status = 403


class InvalidClientTokenId(ServiceError):
    code = "InvalidClientTokenId"
    status = 403


class SignatureDoesNotMatch(ServiceError):
    code = "SignatureDoesNotMatch"
    status = 403


class ExpiredToken(ServiceError):
    code = "ExpiredToken"
    status = 403


class MissingAuthenticationToken(ServiceError):
    code = "MissingAuthenticationToken"
    status = 403
