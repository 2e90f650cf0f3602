"""CloudFormation's error codes, as the query protocol sends them."""

from __future__ import annotations

from seedbed.errors import ServiceError


class CfnValidationError(ServiceError):
    """CloudFormation answers almost every bad input with ``ValidationError`` (HTTP 400)."""

    code = "ValidationError"
    status = 400


class TemplateError(CfnValidationError):
    """A template that cannot be read or breaks the template anatomy."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Template format error: {message}")


class AlreadyExists(ServiceError):
    code = "AlreadyExistsException"
    status = 400


class InsufficientCapabilities(ServiceError):
    code = "InsufficientCapabilitiesException"
    status = 400


class ChangeSetNotFound(ServiceError):
    code = "ChangeSetNotFound"
    status = 404


class InvalidChangeSetStatus(ServiceError):
    code = "InvalidChangeSetStatus"
    status = 400


class TokenAlreadyExists(ServiceError):
    code = "TokenAlreadyExistsException"
    status = 400


class ResourceFailure(Exception):
    """A resource handler failed; the message becomes the event's ResourceStatusReason."""
