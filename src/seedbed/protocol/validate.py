"""Server-side input validation against the operation's model, worded as AWS words it.

botocore's client checks only types, required members and minimum lengths, and other clients may
check nothing, so the server enforces every constraint the model declares: required members,
string and blob lengths, list and map sizes, numeric ranges, enum values and patterns. AWS reports
every violation at once::

    2 validation errors detected: Value 'x y' at 'modelPackageGroupName' failed to satisfy
    constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62};
    Value null at 'roleArn' failed to satisfy constraint: Member must not be null

Paths are lowerCamelCase, list elements are ``tags.3.member.key`` (1-based). The error code
depends on the protocol (``ValidationException`` for JSON/CBOR services, ``ValidationError`` for
query services); S3 does its own checks, so only its required members are enforced here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from seedbed.errors import ValidationError
from seedbed.protocol.javaregex import compile_java

#: Services whose model-constraint errors use another code than their protocol's default.
CODE_OVERRIDES = {
    "logs": "InvalidParameterException",
    "route53": "InvalidInput",
    "cloudfront": "InvalidArgument",
}
#: Services that validate nothing but required members here (they answer in their own words).
REQUIRED_ONLY = frozenset({"s3", "s3control"})
_CONTAINERS = frozenset({"structure", "list", "map"})


def validate_input(
    operation_model: OperationModel, params: Mapping[str, Any], *, code: str | None = None
) -> None:
    """Raise :class:`ValidationError` listing every model constraint that ``params`` breaks.

    ``code`` overrides the error code that the service's protocol implies.
    """
    shape = operation_model.input_shape
    if shape is None:
        return
    service = operation_model.service_model.service_name
    if service in REQUIRED_ONLY:
        _check_s3_required(shape, params, code)
        return
    errors: list[str] = []
    _check_structure(shape, params, "", errors)
    if errors:
        count = len(errors)
        noun = "error" if count == 1 else "errors"
        raise ValidationError(
            f"{count} validation {noun} detected: " + "; ".join(errors),
            code=code or error_code(operation_model),
        )


def error_code(operation_model: OperationModel) -> str:
    """The code AWS uses for model-constraint failures of this operation's service."""
    service_model = operation_model.service_model
    if service_model.service_name in CODE_OVERRIDES:
        return CODE_OVERRIDES[service_model.service_name]
    protocols = service_model.metadata.get("protocols") or [service_model.protocol]
    if protocols[0] in ("query", "ec2"):
        return "ValidationError"
    return "ValidationException"


# ---------------------------------------------------------------------------------- walking


def _check_structure(
    shape: StructureShape, value: Mapping[str, Any], path: str, errors: list[str]
) -> None:
    members = shape.members
    for name in shape.required_members:
        if value.get(name) is None:
            errors.append(
                f"Value null at '{_join(path, name)}' failed to satisfy constraint: "
                "Member must not be null"
            )
    for name, member in members.items():  # model order, whatever order the client used
        member_value = value.get(name)
        if member_value is None:
            continue
        if member.type_name in _CONTAINERS:
            _check_value(member, member_value, _join(path, name), errors)
        else:  # scalars: the path is only worth building for an error
            for failure in _scalar_failures(member, member_value):
                errors.append(_describe(member, member_value, _join(path, name), failure))


def _check_value(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    type_name = shape.type_name
    if type_name == "structure":
        if isinstance(value, Mapping) and not shape.metadata.get("document"):
            _check_structure(shape, value, path, errors)  # type: ignore[arg-type]
        return
    if type_name == "list":
        if isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray)):
            _check_list(shape, value, path, errors)  # type: ignore[arg-type]
        return
    if type_name == "map":
        if isinstance(value, Mapping):
            _check_map(shape, value, path, errors)  # type: ignore[arg-type]
        return
    for failure in _scalar_failures(shape, value):
        errors.append(_describe(shape, value, path, failure))


def _check_list(shape: ListShape, value: Sequence[Any], path: str, errors: list[str]) -> None:
    for failure in _size_failures(shape, len(value)):
        errors.append(_describe(shape, value, path, failure))
    member = shape.member
    if member.type_name in _CONTAINERS:
        for index, item in enumerate(value, start=1):
            if item is not None:
                _check_value(member, item, f"{path}.{index}.member", errors)
        return
    failures = _unique(f for item in value if item is not None
                       for f in _scalar_failures(member, item))
    if failures:
        errors.append(_describe(
            shape, value, path, f"Member must satisfy constraint: [{', '.join(failures)}]"
        ))


def _check_map(shape: MapShape, value: Mapping[Any, Any], path: str, errors: list[str]) -> None:
    for failure in _size_failures(shape, len(value)):
        errors.append(_describe(shape, value, path, failure))
    key_failures = _unique(f for key in value for f in _scalar_failures(shape.key, key))
    if key_failures:
        errors.append(_describe(
            shape, value, path, f"Map keys must satisfy constraint: [{', '.join(key_failures)}]"
        ))
    member = shape.value
    if member.type_name in _CONTAINERS:
        for key, item in value.items():
            if item is not None:
                _check_value(member, item, f"{path}.{key}", errors)
        return
    value_failures = _unique(f for item in value.values() if item is not None
                             for f in _scalar_failures(member, item))
    if value_failures:
        errors.append(_describe(
            shape, value, path, f"Map value must satisfy constraint: [{', '.join(value_failures)}]"
        ))


# -------------------------------------------------------------------------------- constraints


def _scalar_failures(shape: Shape, value: Any) -> list[str]:
    """The constraint texts that one string, blob or number breaks (in AWS's order)."""
    metadata = shape.metadata
    type_name = shape.type_name
    if type_name == "string" and isinstance(value, str):
        failures = _size_failures(shape, _java_length(value))
        pattern = metadata.get("pattern")
        if pattern is not None:
            compiled = compile_java(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                failures.append(f"Member must satisfy regular expression pattern: {pattern}")
        enum = metadata.get("enum")
        if enum and value not in enum:
            failures.append(f"Member must satisfy enum value set: [{', '.join(enum)}]")
        return failures
    if type_name == "blob" and isinstance(value, (bytes, bytearray, str)):
        size = len(value.encode()) if isinstance(value, str) else len(value)
        return _size_failures(shape, size)
    if type_name in ("integer", "long", "float", "double") and isinstance(value, (int, float)):
        if isinstance(value, bool):
            return []
        failures = []
        low, high = metadata.get("min"), metadata.get("max")
        if low is not None and value < low:
            failures.append(f"Member must have value greater than or equal to {low}")
        if high is not None and value > high:
            failures.append(f"Member must have value less than or equal to {high}")
        return failures
    return []


def _size_failures(shape: Shape, size: int) -> list[str]:
    failures = []
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        failures.append(f"Member must have length greater than or equal to {low}")
    if high is not None and size > high:
        failures.append(f"Member must have length less than or equal to {high}")
    return failures


def _java_length(value: str) -> int:
    """String length as Java counts it (UTF-16 code units): astral characters count twice."""
    if value.isascii():
        return len(value)
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


# ----------------------------------------------------------------------------------- wording


def _describe(shape: Shape, value: Any, path: str, failure: str) -> str:
    """One error clause; sensitive and binary values are left out, as AWS does."""
    if shape.metadata.get("sensitive") or shape.type_name == "blob" or _has_sensitive(shape):
        return f"Value at '{path}' failed to satisfy constraint: {failure}"
    return f"Value '{_java_string(value)}' at '{path}' failed to satisfy constraint: {failure}"


def _has_sensitive(shape: Shape) -> bool:
    if shape.type_name == "list":
        return bool(shape.member.metadata.get("sensitive"))  # type: ignore[attr-defined]
    if shape.type_name == "map":
        return bool(shape.value.metadata.get("sensitive"))  # type: ignore[attr-defined]
    return False


def _java_string(value: Any) -> str:
    """``value`` as Java's toString would print it in AWS's message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_java_string(k)}={_java_string(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_java_string(v) for v in value) + "]"
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None:
        return "null"
    return str(value)


def _join(path: str, name: str) -> str:
    member = name[:1].lower() + name[1:]
    return f"{path}.{member}" if path else member


def _unique(items: Any) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


# --------------------------------------------------------------------------------------- S3


def _check_s3_required(shape: StructureShape, params: Mapping[str, Any], code: str | None) -> None:
    """S3 checks its own constraints; a missing required member is all Seedbed reports."""
    for name in shape.required_members:
        if params.get(name) is not None:
            continue
        member = shape.members[name]
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "header":
            raise ValidationError(
                f"Missing required header for this request: {wire}",
                code=code or "InvalidRequest",
            )
        if location in ("querystring", "uri"):
            raise ValidationError(
                f"Missing required parameter for this request: {wire}",
                code=code or "InvalidRequest",
            )
        raise ValidationError(
            "The XML you provided was not well-formed or did not validate against our published "
            "schema",
            code=code or "MalformedXML",
        )
