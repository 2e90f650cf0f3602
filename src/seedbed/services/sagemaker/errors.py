"""SageMaker's error codes, as botocore's model names them (JSON protocol, all HTTP 400)."""

from __future__ import annotations

from seedbed.errors import ServiceError, ValidationError


class SageMakerValidation(ValidationError):
    code = "ValidationException"


class ResourceNotFound(ServiceError):
    code = "ResourceNotFound"
    status = 400


class ResourceInUse(ServiceError):
    code = "ResourceInUse"
    status = 400


class ResourceLimitExceeded(ServiceError):
    code = "ResourceLimitExceeded"
    status = 400


class Conflict(ServiceError):
    code = "ConflictException"
    status = 400


class AccessDeniedException(ServiceError):
    code = "AccessDeniedException"
    status = 400
