"""S3's error responses, worded as S3 words them (botocore and the AWS CLI show these texts)."""

from __future__ import annotations

from seedbed.errors import ServiceError


def error(code: str, message: str, status: int = 400, **fields: object) -> ServiceError:
    return ServiceError(message, code=code, status=status, fields={k: v for k, v in fields.items() if v is not None})


def no_such_bucket(bucket: str) -> ServiceError:
    return error("NoSuchBucket", "The specified bucket does not exist", 404, BucketName=bucket)


def no_such_key(key: str) -> ServiceError:
    return error("NoSuchKey", "The specified key does not exist.", 404, Key=key)


def no_such_version(key: str, version_id: str) -> ServiceError:
    return error(
        "NoSuchVersion",
        "The specified version does not exist.",
        404,
        Key=key,
        VersionId=version_id,
    )


def no_such_upload(upload_id: str) -> ServiceError:
    return error(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may "
        "have been aborted or completed.",
        404,
        UploadId=upload_id,
    )


def access_denied(message: str = "Access Denied") -> ServiceError:
    return error("AccessDenied", message, 403)


def invalid_argument(message: str, name: str | None = None, value: str | None = None) -> ServiceError:
    return error("InvalidArgument", message, 400, ArgumentName=name, ArgumentValue=value)


def invalid_request(message: str) -> ServiceError:
    return error("InvalidRequest", message, 400)


def malformed_xml() -> ServiceError:
    return error(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )


def precondition_failed(condition: str) -> ServiceError:
    return error(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        412,
        Condition=condition,
    )


def invalid_tag(message: str) -> ServiceError:
    return error("InvalidTag", message)
