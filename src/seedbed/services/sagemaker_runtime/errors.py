"""The runtime service's error codes, as botocore's model names them (rest-json)."""

from __future__ import annotations

from seedbed.errors import ServiceError


class RuntimeValidation(ServiceError):
    code = "ValidationError"
    status = 400


class ModelError(ServiceError):
    code = "ModelError"
    status = 424


class ModelNotReady(ServiceError):
    code = "ModelNotReadyException"
    status = 429


class ServiceUnavailable(ServiceError):
    code = "ServiceUnavailable"
    status = 503
    sender_fault = False
