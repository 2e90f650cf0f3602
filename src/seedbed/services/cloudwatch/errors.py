"""CloudWatch error codes (the legacy query codes, which botocore reports as ``Error.Code``)."""

from __future__ import annotations

from seedbed.errors import ServiceError


class InvalidParameterValue(ServiceError):
    code = "InvalidParameterValue"


class InvalidParameterCombination(ServiceError):
    code = "InvalidParameterCombination"


class MissingParameter(ServiceError):
    code = "MissingParameter"


class ResourceNotFound(ServiceError):
    code = "ResourceNotFound"
    status = 404


class InvalidNextToken(ServiceError):
    code = "InvalidNextToken"


class InvalidFormat(ServiceError):
    code = "InvalidFormat"


class LimitExceeded(ServiceError):
    code = "LimitExceeded"


class ValidationError(ServiceError):
    """What CloudWatch answers for a bad metric math expression."""

    code = "ValidationError"
