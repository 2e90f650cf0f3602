"""EventBridge's error codes (the botocore model's error shapes), all HTTP 400 unless said."""

from __future__ import annotations

from seedbed.errors import ServiceError


class Validation(ServiceError):
    code = "ValidationException"


class ResourceNotFound(ServiceError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExists(ServiceError):
    code = "ResourceAlreadyExistsException"


class InvalidEventPattern(ServiceError):
    code = "InvalidEventPatternException"


class LimitExceeded(ServiceError):
    code = "LimitExceededException"


class PolicyLengthExceeded(ServiceError):
    code = "PolicyLengthExceededException"


class ConcurrentModification(ServiceError):
    code = "ConcurrentModificationException"


class NotImplementedHere(ServiceError):
    """An EventBridge feature Seedbed does not provide (global endpoints, partner sources)."""

    code = "NotImplemented"
    status = 501
    sender_fault = False


def rule_not_found(name: str, bus: str) -> ResourceNotFound:
    return ResourceNotFound(f"Rule {name} does not exist on EventBus {bus}.")


def bus_not_found(name: str) -> ResourceNotFound:
    return ResourceNotFound(f"Event bus {name} does not exist.")
