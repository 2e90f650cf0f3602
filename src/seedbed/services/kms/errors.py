"""KMS's error codes, as AWS KMS answers them (every one HTTP 400, as the model says)."""

from __future__ import annotations

from seedbed.errors import ServiceError


class NotFound(ServiceError):
    code = "NotFoundException"


class Disabled(ServiceError):
    code = "DisabledException"


class InvalidState(ServiceError):
    code = "KMSInvalidStateException"


class InvalidCiphertext(ServiceError):
    code = "InvalidCiphertextException"


class IncorrectKey(ServiceError):
    code = "IncorrectKeyException"


class AlreadyExists(ServiceError):
    code = "AlreadyExistsException"


class InvalidAliasName(ServiceError):
    code = "InvalidAliasNameException"


class InvalidKeyUsage(ServiceError):
    code = "InvalidKeyUsageException"


class InvalidMarker(ServiceError):
    code = "InvalidMarkerException"


class MalformedPolicy(ServiceError):
    code = "MalformedPolicyDocumentException"


class Unsupported(ServiceError):
    code = "UnsupportedOperationException"


class TagError(ServiceError):
    code = "TagException"


class LimitExceeded(ServiceError):
    code = "LimitExceededException"


class Validation(ServiceError):
    code = "ValidationException"


class DryRun(ServiceError):
    code = "DryRunOperationException"


class AccessDenied(ServiceError):
    """What AWS answers when a key policy does not allow the call (an AWS managed key's policy
    allows no administration at all)."""

    code = "AccessDeniedException"
