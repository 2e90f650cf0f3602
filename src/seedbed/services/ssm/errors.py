"""SSM Parameter Store's error codes (all HTTP 400, as the model says)."""

from __future__ import annotations

from seedbed.errors import ServiceError


class Validation(ServiceError):
    code = "ValidationException"


class ParameterNotFound(ServiceError):
    code = "ParameterNotFound"


class ParameterAlreadyExists(ServiceError):
    code = "ParameterAlreadyExists"


class ParameterVersionNotFound(ServiceError):
    code = "ParameterVersionNotFound"


class HierarchyLevelLimitExceeded(ServiceError):
    code = "HierarchyLevelLimitExceededException"


class InvalidKeyId(ServiceError):
    code = "InvalidKeyId"


class InvalidAllowedPattern(ServiceError):
    code = "InvalidAllowedPatternException"


class PatternMismatch(ServiceError):
    code = "ParameterPatternMismatchException"


class MaxVersionLimitExceeded(ServiceError):
    code = "ParameterMaxVersionLimitExceeded"


class VersionLabelLimitExceeded(ServiceError):
    code = "ParameterVersionLabelLimitExceeded"


class InvalidFilterKey(ServiceError):
    code = "InvalidFilterKey"


class InvalidFilterOption(ServiceError):
    code = "InvalidFilterOption"


class InvalidFilterValue(ServiceError):
    code = "InvalidFilterValue"


class InvalidNextToken(ServiceError):
    code = "InvalidNextToken"


class InvalidResourceId(ServiceError):
    code = "InvalidResourceId"


class InvalidResourceType(ServiceError):
    code = "InvalidResourceType"


class TooManyTags(ServiceError):
    code = "TooManyTagsError"


class TooManyUpdates(ServiceError):
    code = "TooManyUpdates"


class InvalidPolicyType(ServiceError):
    code = "InvalidPolicyTypeException"


def not_found(name: str) -> ParameterNotFound:
    return ParameterNotFound(f"Parameter {name} not found.")
