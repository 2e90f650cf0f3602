"""The AWS ``query`` protocol (IAM, STS, CloudFormation), server side.

Requests are form-encoded ``Action=...&Version=...`` bodies (or GET query strings) whose keys
spell out the input shape: ``Tags.member.1.Key``, ``Attributes.entry.1.key``, flattened lists as
``Name.1``. Responses are XML ``<{Op}Response><{Op}Result>...`` documents and errors are
``<ErrorResponse>``. Everything is read from the botocore shapes (``locationName``, ``flattened``,
``resultWrapper``, ``xmlNamespace``, ``timestampFormat``), mirroring botocore's ``QuerySerializer``
and ``QueryParser``.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl

from botocore.model import OperationModel, ServiceModel, Shape

from seedbed.errors import InternalFailure, ServiceError, UnknownOperation, ValidationError
from seedbed.protocol.http import HttpRequest, HttpResponse
from seedbed.protocol.json_protocol import error_fault, error_status, find_error_shape, request_body
from seedbed.protocol.timestamps import ISO8601, format_timestamp, member_format, parse_timestamp

__all__ = [
    "MalformedQueryString",
    "form_params",
    "operation_name_for",
    "parse_request",
    "serialize_error",
    "serialize_response",
]

_SPECIAL_FLOATS = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf}
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
CONTENT_TYPE = "text/xml"


class MalformedQueryString(ServiceError):
    """The form body or query string cannot be decoded at all."""

    code = "MalformedQueryString"
    status = 400


class InvalidAction(UnknownOperation):
    code = "InvalidAction"
    status = 400


def _invalid(path: str, value: str, expected: str) -> ValidationError:
    return ValidationError(
        f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: "
        f"Member must be {expected}",
        code="ValidationError",
    )


# --------------------------------------------------------------------------- request decoding


def form_params(request: HttpRequest) -> dict[str, str]:
    """All parameters of a query request: the form body's, then the URL's (first value wins).

    Routing, operation matching and parsing all need them, so they are decoded once per request.
    """
    cached = request.memo.get("form_params")
    if cached is not None:
        return cached
    params: dict[str, str] = {}
    ctype = (request.header("content-type") or "").lower()
    if request.body and (not ctype or "x-www-form-urlencoded" in ctype):
        try:
            body = request_body(request)
        except ServiceError:
            raise MalformedQueryString("The request body is not valid gzip data.") from None
        try:
            text = body.decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise MalformedQueryString(
                "The request body is not a valid form-encoded string."
            ) from None
        for key, value in pairs:
            params.setdefault(key, value)
    for key, value in request.query:
        params.setdefault(key, value)
    request.memo["form_params"] = params
    return params


def operation_name_for(service_model: ServiceModel, request: HttpRequest) -> str | None:
    """The operation the ``Action`` parameter names; ``None`` when there is no ``Action``.

    Raises :class:`InvalidAction` (as AWS does) when ``Action`` names no operation here.
    """
    params = form_params(request)
    action = params.get("Action")
    if not action:
        return None
    if action in service_model.operation_names:
        return action
    version = params.get("Version", service_model.api_version)
    raise InvalidAction(f"Could not find operation {action} for version {version}")


class _Form:
    """The flat parameters plus an index of which dotted prefixes have children."""

    def __init__(self, params: dict[str, str]) -> None:
        self.values = params
        self.children: dict[str, set[str]] = {}
        for key in params:
            parts = key.split(".")
            for i in range(1, len(parts)):
                self.children.setdefault(".".join(parts[:i]), set()).add(parts[i])

    def indices(self, prefix: str) -> list[int]:
        """The ``N`` of every ``{prefix}.N...`` key, in numeric order."""
        found = self.children.get(prefix, ())
        digits = (part for part in found if part.isascii() and part.isdigit() and len(part) < 10)
        return sorted(n for n in map(int, digits) if n > 0)


def _name(shape: Shape, default: str) -> str:
    return shape.serialization.get("name", default)


def _decode(form: _Form, shape: Shape, path: str) -> Any:
    """The value of ``shape`` serialized under ``path``, or ``None`` if nothing is there."""
    kind = shape.type_name
    if kind == "structure":
        if path and path not in form.children:
            return None
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            member_path = _name(member, name)
            value = _decode(form, member, f"{path}.{member_path}" if path else member_path)
            if value is not None:
                out[name] = value
        return out
    if kind == "list":
        return _decode_list(form, shape, path)
    if kind == "map":
        return _decode_map(form, shape, path)
    raw = form.values.get(path)
    return None if raw is None else _decode_scalar(shape, raw, path)


def _decode_list(form: _Form, shape: Shape, path: str) -> list[Any] | None:
    if shape.serialization.get("flattened"):
        item_name = shape.member.serialization.get("name")
        prefix = ".".join(path.split(".")[:-1] + [item_name]) if item_name else path
    else:
        prefix = f"{path}.{shape.member.serialization.get('name', 'member')}"
    indices = form.indices(prefix)
    if not indices:
        # ``Name=`` with nothing under it is how the query protocol spells an empty list.
        return [] if form.values.get(path) == "" else None
    items = [_decode(form, shape.member, f"{prefix}.{i}") for i in indices]
    return [item for item in items if item is not None]


def _decode_map(form: _Form, shape: Shape, path: str) -> dict[Any, Any] | None:
    prefix = path if shape.serialization.get("flattened") else f"{path}.entry"
    key_name = _name(shape.key, "key")
    value_name = _name(shape.value, "value")
    indices = form.indices(prefix)
    if not indices:
        return {} if form.values.get(path) == "" else None
    out: dict[Any, Any] = {}
    for i in indices:
        key = _decode(form, shape.key, f"{prefix}.{i}.{key_name}")
        if key is None:
            continue
        value = _decode(form, shape.value, f"{prefix}.{i}.{value_name}")
        out[key] = value if value is not None else _empty_of(shape.value)
    return out


def _empty_of(shape: Shape) -> Any:
    return {"list": [], "map": {}, "structure": {}}.get(shape.type_name, "")


def _decode_scalar(shape: Shape, raw: str, path: str) -> Any:
    kind = shape.type_name
    if kind in ("string", "character"):
        return raw
    if kind == "boolean":
        lowered = raw.strip().lower()
        if lowered not in ("true", "false"):
            raise _invalid(path, raw, "a boolean (true or false)")
        return lowered == "true"
    if kind in ("integer", "long"):
        try:
            return int(raw.strip())
        except ValueError:
            raise _invalid(path, raw, "an integer") from None
    if kind in ("float", "double"):
        special = _SPECIAL_FLOATS.get(raw.strip().lower())
        if special is not None:
            return special
        try:
            return float(raw)
        except ValueError:
            raise _invalid(path, raw, "a number") from None
    if kind == "blob":
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid(path, raw, "base64-encoded binary data") from None
    if kind == "timestamp":
        try:
            return parse_timestamp(raw, member_format(shape, ISO8601))
        except ValueError:
            raise _invalid(path, raw, "a timestamp") from None
    return raw


def parse_request(operation_model: OperationModel, request: HttpRequest) -> dict[str, Any]:
    """The operation's input as a boto3 caller passed it; ``Action``/``Version`` are dropped."""
    shape = operation_model.input_shape
    if shape is None:
        return {}
    params = dict(form_params(request))
    params.pop("Action", None)
    params.pop("Version", None)
    try:
        return _decode(_Form(params), shape, "") or {}
    except RecursionError:
        raise MalformedQueryString("The request nests parameters too deeply.") from None


# --------------------------------------------------------------------------- XML writing


def escape_text(text: str) -> str:
    """XML-escape character data; CR is written as ``&#13;`` so parsers keep it."""
    text = _XML_ILLEGAL.sub("\ufffd", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def escape_attr(text: str) -> str:
    return escape_text(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def _scalar_text(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if isinstance(value, Enum):
        value = value.value
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("integer", "long"):
        return str(int(value))
    if kind in ("float", "double"):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return repr(number)
    if kind == "timestamp":
        return str(format_timestamp(value, member_format(shape, ISO8601)))
    if kind == "blob":
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(data).decode("ascii")
    return value if isinstance(value, str) else str(value)


def _member_element(name: str, member: Shape) -> str:
    """The element a structure member is written as (a flattened list uses its item name)."""
    if member.type_name == "list" and member.serialization.get("flattened"):
        item_name = member.member.serialization.get("name")
        if item_name:
            return item_name
    return _name(member, name)


def _write_structure(out: list[str], tag: str, shape: Shape, value: Any) -> None:
    attrs: list[str] = []
    body: list[str] = []
    for name, member in shape.members.items():
        item = value.get(name) if isinstance(value, dict) else getattr(value, name, None)
        if item is None:
            continue
        if member.serialization.get("xmlAttribute"):
            attrs.append(f' {_name(member, name)}="{escape_attr(_scalar_text(member, item))}"')
        else:
            write_xml(body, _member_element(name, member), member, item)
    out.append(f"<{tag}{''.join(attrs)}>")
    out.extend(body)
    out.append(f"</{tag}>")


def write_xml(out: list[str], tag: str, shape: Shape, value: Any) -> None:
    """Append ``value`` as the XML botocore's XML parsers read for ``shape`` under ``tag``."""
    kind = shape.type_name
    if kind == "structure":
        _write_structure(out, tag, shape, value)
    elif kind == "list":
        items = [item for item in value if item is not None]
        if shape.serialization.get("flattened"):
            for item in items:
                write_xml(out, tag, shape.member, item)
            return
        out.append(f"<{tag}>")
        item_tag = _name(shape.member, "member")
        for item in items:
            write_xml(out, item_tag, shape.member, item)
        out.append(f"</{tag}>")
    elif kind == "map":
        key_tag, value_tag = _name(shape.key, "key"), _name(shape.value, "value")
        flattened = bool(shape.serialization.get("flattened"))
        if not flattened:
            out.append(f"<{tag}>")
        for key, item in value.items():
            if item is None:
                continue
            out.append(f"<{tag}>" if flattened else "<entry>")
            write_xml(out, key_tag, shape.key, key)
            write_xml(out, value_tag, shape.value, item)
            out.append(f"</{tag}>" if flattened else "</entry>")
        if not flattened:
            out.append(f"</{tag}>")
    else:
        out.append(f"<{tag}>{escape_text(_scalar_text(shape, value))}</{tag}>")


def namespace(service_model: ServiceModel) -> str:
    """The response ``xmlns``: the model's ``xmlNamespace`` or AWS's usual doc URL."""
    declared = service_model.metadata.get("xmlNamespace")
    if isinstance(declared, dict):
        declared = declared.get("uri")
    if declared:
        return str(declared)
    prefix = service_model.metadata.get("endpointPrefix", service_model.service_name)
    return f"https://{prefix}.amazonaws.com/doc/{service_model.api_version}/"


def _response(
    status: int, body: str, request_id: str, extra: list[tuple[str, str]] | None = None
) -> HttpResponse:
    headers = [("Content-Type", CONTENT_TYPE), ("x-amzn-RequestId", request_id), *(extra or [])]
    return HttpResponse(status=status, headers=headers, body=body.encode("utf-8"))


def serialize_response(
    operation_model: OperationModel, output: dict[str, Any] | None, request_id: str
) -> HttpResponse:
    """``<{Op}Response><{Op}Result>..</{Op}Result><ResponseMetadata>..`` as botocore reads it."""
    op = operation_model.name
    shape = operation_model.output_shape
    out = [f'<{op}Response xmlns="{escape_attr(namespace(operation_model.service_model))}">']
    try:
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper")
            inner: list[str] = []
            _write_structure(inner, wrapper or "_", shape, output or {})
            # Without a resultWrapper botocore reads the members straight off the root element.
            out.extend(inner if wrapper else inner[1:-1])
    except (TypeError, ValueError, AttributeError) as exc:
        raise InternalFailure(f"Could not serialize the {op} response: {exc}") from None
    out.append(
        f"<ResponseMetadata><RequestId>{escape_text(request_id)}</RequestId></ResponseMetadata>"
    )
    out.append(f"</{op}Response>")
    return _response(200, "".join(out), request_id)


def serialize_error(
    service_model: ServiceModel, error: ServiceError, request_id: str
) -> HttpResponse:
    """``<ErrorResponse><Error><Type/><Code/><Message/>..fields</Error><RequestId/>``."""
    shape = find_error_shape(service_model, error.code)
    code = (shape.error_code if shape is not None else None) or error.code
    status = error_status(error, shape)
    fault = error_fault(error, status)
    parts = [f"<Type>{fault}</Type><Code>{escape_text(code)}</Code>"]
    parts.append(f"<Message>{escape_text(error.message)}</Message>")
    if shape is not None:
        fields = {k: v for k, v in error.fields.items() if k not in ("Code", "Message", "Type")}
        for name in shape.members:
            if name.lower() == "message" and name != "Message" and name not in fields:
                fields[name] = error.message
        try:
            inner: list[str] = []
            _write_structure(inner, "_", shape, fields)
            parts.extend(inner[1:-1])
        except (TypeError, ValueError, AttributeError):
            pass  # a bad extra field must not hide the error itself
    xmlns = escape_attr(namespace(service_model))
    body = (
        f'<ErrorResponse xmlns="{xmlns}"><Error>{"".join(parts)}</Error>'
        f"<RequestId>{escape_text(request_id)}</RequestId></ErrorResponse>"
    )
    return _response(status, body, request_id, list(error.headers.items()))
