"""Secrets Manager's error codes (all HTTP 400, as the model says)."""

from __future__ import annotations

from seedbed.errors import ServiceError


class ResourceNotFound(ServiceError):
    code = "ResourceNotFoundException"


class ResourceExists(ServiceError):
    code = "ResourceExistsException"


class InvalidRequest(ServiceError):
    code = "InvalidRequestException"


class InvalidParameter(ServiceError):
    code = "InvalidParameterException"


class InvalidNextToken(ServiceError):
    code = "InvalidNextTokenException"


class LimitExceeded(ServiceError):
    code = "LimitExceededException"


class MalformedPolicy(ServiceError):
    code = "MalformedPolicyDocumentException"


class PublicPolicy(ServiceError):
    code = "PublicPolicyException"


class EncryptionFailure(ServiceError):
    code = "EncryptionFailure"


class DecryptionFailure(ServiceError):
    code = "DecryptionFailure"


def not_found() -> ResourceNotFound:
    return ResourceNotFound("Secrets Manager can't find the specified secret.")


def marked_for_deletion() -> InvalidRequest:
    return InvalidRequest(
        "You can't perform this operation on the secret because it was marked for deletion."
    )
