"""CloudWatch Logs error codes (the json protocol's ``__type`` names; all HTTP 400)."""

from __future__ import annotations

from seedbed.errors import ServiceError


class InvalidParameter(ServiceError):
    code = "InvalidParameterException"


class ResourceNotFound(ServiceError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExists(ServiceError):
    code = "ResourceAlreadyExistsException"


class LimitExceeded(ServiceError):
    code = "LimitExceededException"


class TooManyTags(ServiceError):
    code = "TooManyTagsException"


class Validation(ServiceError):
    code = "ValidationException"


def group_not_found() -> ResourceNotFound:
    return ResourceNotFound("The specified log group does not exist.")


def stream_not_found() -> ResourceNotFound:
    return ResourceNotFound("The specified log stream does not exist.")
