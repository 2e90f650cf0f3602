"""Lambda's error codes (rest-json: the code in ``x-amzn-ErrorType``, a ``Type`` of "User" or
"Service" and the message in the body, as the model's error shapes say)."""

from __future__ import annotations

from seedbed.errors import ServiceError


class InvalidParameterValue(ServiceError):
    code = "InvalidParameterValueException"
    status = 400


class ResourceNotFound(ServiceError):
    code = "ResourceNotFoundException"
    status = 404


class ResourceConflict(ServiceError):
    code = "ResourceConflictException"
    status = 409


class PreconditionFailed(ServiceError):
    code = "PreconditionFailedException"
    status = 412


class RequestTooLarge(ServiceError):
    code = "RequestTooLargeException"
    status = 413


class InvalidRequestContent(ServiceError):
    code = "InvalidRequestContentException"
    status = 400


class PolicyLengthExceeded(ServiceError):
    code = "PolicyLengthExceededException"
    status = 400


class AccessDeniedException(ServiceError):
    code = "AccessDeniedException"
    status = 403


class ServiceException(ServiceError):
    code = "ServiceException"
    status = 500
    sender_fault = False


class TooManyRequests(ServiceError):
    code = "TooManyRequestsException"
    status = 429


def function_not_found(arn: str) -> ResourceNotFound:
    return ResourceNotFound(f"Function not found: {arn}")


def precondition(revision_id: str | None = None) -> PreconditionFailed:
    return PreconditionFailed(
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/"
        "GetAlias API to retrieve the latest Revision Id"
    )
