"""CodeBuild's error codes (HTTP 400, as the model says)."""

from __future__ import annotations

from seedbed.errors import ServiceError


class InvalidInput(ServiceError):
    code = "InvalidInputException"


class ResourceNotFound(ServiceError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExists(ServiceError):
    code = "ResourceAlreadyExistsException"


class AccountLimitExceeded(ServiceError):
    code = "AccountLimitExceededException"
