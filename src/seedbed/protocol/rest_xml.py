"""The ``rest-xml`` protocol (S3): REST binding with XML bodies.

Bodies mirror botocore's ``RestXMLSerializer`` (requests) and ``RestXMLParser`` (responses):
``locationName`` for element names, flattened lists and maps repeat their element without a
wrapper, ``xmlAttribute`` members become attributes (S3's ``xsi:type`` on ``Grantee``),
``xmlNamespace`` declares namespaces, timestamps are ISO 8601 unless ``timestampFormat`` says
otherwise, blobs base64, booleans ``true``/``false``.

S3 knowledge the model lacks, kept here and marked: the default document namespace, the root
element name of responses without a payload member, ``GetBucketLocation``'s bare root, and the
error document (``<Error>`` without a namespace, ``x-amz-request-id``/``x-amz-id-2`` headers).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

from botocore.model import OperationModel, ServiceModel, Shape

from seedbed.errors import ServiceError
from seedbed.protocol import timestamps
from seedbed.protocol.http import HttpRequest, HttpResponse
from seedbed.protocol.rest_common import (
    float_text,
    is_body_member,
    parse_rest_request,
    serialize_rest_response,
)
from seedbed.protocol.rest_eventstream import encode_event_stream

CONTENT_TYPE = "application/xml"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

# --- S3 knowledge (not in the botocore model) ---------------------------------------------------
S3_XML_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
"""S3 puts every response document in this namespace; its models only say so on input shapes."""
_BARE_ROOT_OPERATIONS = frozenset({"GetBucketLocation"})
"""S3 operations whose response document is a single element with text, not a structure."""
S3_ROOT_ELEMENTS = {
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "CreateSession": "CreateSessionResult",
    "DeleteObjects": "DeleteResult",
    "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
    "GetBucketAcl": "AccessControlPolicy",
    "GetBucketCors": "CORSConfiguration",
    "GetBucketLifecycle": "LifecycleConfiguration",
    "GetBucketLifecycleConfiguration": "LifecycleConfiguration",
    "GetBucketLocation": "LocationConstraint",
    "GetBucketLogging": "BucketLoggingStatus",
    "GetBucketNotification": "NotificationConfiguration",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
    "GetBucketRequestPayment": "RequestPaymentConfiguration",
    "GetBucketTagging": "Tagging",
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketWebsite": "WebsiteConfiguration",
    "GetObjectAcl": "AccessControlPolicy",
    "GetObjectAttributes": "GetObjectAttributesResponse",
    "GetObjectTagging": "Tagging",
    "ListBucketAnalyticsConfigurations": "ListBucketAnalyticsConfigurationResult",
    "ListBucketIntelligentTieringConfigurations": "ListBucketIntelligentTieringConfigurationsOutput",
    "ListBucketInventoryConfigurations": "ListInventoryConfigurationsResult",
    "ListBucketMetricsConfigurations": "ListMetricsConfigurationsResult",
    "ListBuckets": "ListAllMyBucketsResult",
    "ListDirectoryBuckets": "ListAllMyDirectoryBucketsResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "ListObjectVersions": "ListVersionsResult",
    "ListObjects": "ListBucketResult",
    "ListObjectsV2": "ListBucketResult",
    "ListParts": "ListPartsResult",
}
"""The root element S3 writes for responses whose output has no payload member (from the S3 API
reference's response syntax); payload members (``CopyObjectResult``, ``CopyPartResult``,
``PublicAccessBlockConfiguration``, ``PolicyStatus`` ...) are named by their ``locationName``."""
# ------------------------------------------------------------------------------------------------

_LOCATED = frozenset({"uri", "querystring", "header", "headers", "statusCode"})
_NEEDS_ESCAPE = re.compile("[&<>\r\"'\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TEXT_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_ATTR_ESCAPES = {**_TEXT_ESCAPES, '"': "&quot;", "\n": "&#10;", "\t": "&#9;"}
_TAG = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class MalformedXML(ServiceError):
    """S3's answer to a body that is not well-formed XML or does not fit the schema."""

    code = "MalformedXML"
    status = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message
            or "The XML you provided was not well-formed or did not validate against our"
            " published schema"
        )


class InvalidArgument(ServiceError):
    """S3's answer to a header, query or path value of the wrong type."""

    code = "InvalidArgument"
    status = 400


def _invalid_argument(message: str) -> ServiceError:
    return InvalidArgument(message)


# --- reading request documents -------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def _children(node: ElementTree.Element) -> dict[str, list[ElementTree.Element]]:
    grouped: dict[str, list[ElementTree.Element]] = {}
    for child in node:
        grouped.setdefault(_local(child.tag), []).append(child)
    return grouped


def _attribute(node: ElementTree.Element, wire_name: str) -> str | None:
    wanted = wire_name.split(":")[-1]
    for key, value in node.attrib.items():
        if key == wire_name or _local(key) == wanted:
            return value
    return None


def _map_from_entries(entries: list[ElementTree.Element], shape: Shape) -> dict[Any, Any]:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    out: dict[Any, Any] = {}
    for entry in entries:
        parts = _children(entry)
        if key_name not in parts:
            raise MalformedXML(f"A map entry of {shape.name} has no <{key_name}>")
        key = _from_xml(parts[key_name][0], shape.key)
        out[key] = _from_xml(parts[value_name][0], shape.value) if value_name in parts else None
    return out


def _structure_from_xml(node: ElementTree.Element, shape: Shape) -> dict[str, Any]:
    children = _children(node)
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        serialization = member.serialization
        if serialization.get("location") in _LOCATED:
            continue
        wire = serialization.get("name", name)
        if serialization.get("xmlAttribute"):
            value = _attribute(node, wire)
            if value is not None:
                out[name] = value
            continue
        flattened = serialization.get("flattened")
        if member.type_name == "list" and flattened:
            item_wire = member.member.serialization.get("name", wire)
            items = children.get(wire) or children.get(item_wire)
            if items:
                out[name] = [_from_xml(item, member.member) for item in items]
        elif member.type_name == "map" and flattened:
            if wire in children:
                out[name] = _map_from_entries(children[wire], member)
        elif wire in children:
            out[name] = _from_xml(children[wire][0], member)
    return out


def _from_xml(node: ElementTree.Element, shape: Shape) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _structure_from_xml(node, shape)
    if kind == "list":
        return [_from_xml(child, shape.member) for child in node]
    if kind == "map":
        return _map_from_entries(list(node), shape)
    text = node.text or ""
    try:
        if kind in ("string", "character"):
            return text
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                raise ValueError(text)
            return lowered == "true"
        if kind in ("integer", "long", "byte", "short"):
            return int(text.strip())
        if kind in ("float", "double"):
            stripped = text.strip()
            return _FLOAT_WORDS[stripped] if stripped in _FLOAT_WORDS else float(stripped)
        if kind == "timestamp":
            fmt = timestamps.member_format(shape, timestamps.DEFAULT_BODY_FORMAT["rest-xml"])
            return timestamps.parse_timestamp(text, fmt)
        if kind == "blob":
            return base64.b64decode("".join(text.split()), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise MalformedXML() from exc
    raise MalformedXML()


# --- writing response documents ------------------------------------------------------------------


def _escape(text: str, table: dict[str, str]) -> str:
    if not _NEEDS_ESCAPE.search(text) and not (
        table is _ATTR_ESCAPES and ("\n" in text or "\t" in text)
    ):
        return text
    out = []
    for char in text:
        replacement = table.get(char)
        if replacement is None and (char < " " and char not in "\t\n" or char in "\ufffe\uffff"):
            replacement = f"&#x{ord(char):x};"  # not legal XML 1.0; S3 writes it the same way
        out.append(replacement if replacement is not None else char)
    return "".join(out)


def _namespace_attr(shape: Shape) -> str:
    namespace = shape.serialization.get("xmlNamespace")
    if not namespace:
        return ""
    if isinstance(namespace, str):
        return f' xmlns="{_escape(namespace, _ATTR_ESCAPES)}"'
    prefix = namespace.get("prefix")
    attr = f"xmlns:{prefix}" if prefix else "xmlns"
    return f' {attr}="{_escape(namespace.get("uri", ""), _ATTR_ESCAPES)}"'


def _iso8601_millis(value: Any) -> str:
    """S3 always writes milliseconds (``2009-10-12T17:50:30.000Z``); some SDKs insist on them."""
    moment = timestamps.parse_timestamp(value)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond % 1000:
        return f"{base}.{moment.microsecond:06d}Z"
    return f"{base}.{moment.microsecond // 1000:03d}Z"


def _scalar_text(value: Any, shape: Shape) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        fmt = timestamps.member_format(shape, timestamps.DEFAULT_BODY_FORMAT["rest-xml"])
        if fmt == timestamps.ISO8601:
            return _iso8601_millis(value)
        return str(timestamps.format_timestamp(value, fmt))
    if kind == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if kind in ("float", "double"):
        return float_text(float(value))
    if isinstance(value, Decimal):
        return str(int(value)) if kind in ("integer", "long") else str(value)
    if isinstance(value, datetime):
        return str(timestamps.format_timestamp(value))
    return str(value)


def _write_map_entry(out: list[str], tag: str, key: Any, value: Any, shape: Shape) -> None:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    out.append(f"<{tag}>")
    _write(out, key_name, key, shape.key)
    if value is not None:
        _write(out, value_name, value, shape.value)
    out.append(f"</{tag}>")


def _write_structure(
    out: list[str], name: str, value: dict[str, Any], shape: Shape, extra_attrs: str
) -> None:
    attrs = extra_attrs + _namespace_attr(shape)
    members = shape.members
    for member_name, member in members.items():
        if member.serialization.get("xmlAttribute") and value.get(member_name) is not None:
            wire = member.serialization.get("name", member_name)
            attrs += f' {wire}="{_escape(_scalar_text(value[member_name], member), _ATTR_ESCAPES)}"'
    out.append(f"<{name}{attrs}>")
    for member_name, member in members.items():
        item = value.get(member_name)
        serialization = member.serialization
        if (
            item is None
            or serialization.get("xmlAttribute")
            or serialization.get("location") in _LOCATED
        ):
            continue
        wire = serialization.get("name", member_name)
        if member.type_name == "list" and serialization.get("flattened"):
            item_wire = member.member.serialization.get("name", wire)
            for element in item:
                if element is not None:
                    _write(out, item_wire, element, member.member)
        elif member.type_name == "map" and serialization.get("flattened"):
            for key, element in item.items():
                _write_map_entry(out, wire, key, element, member)
        else:
            _write(out, wire, item, member)
    out.append(f"</{name}>")


def _write(out: list[str], name: str, value: Any, shape: Shape, extra_attrs: str = "") -> None:
    kind = shape.type_name
    if kind == "structure":
        _write_structure(out, name, value, shape, extra_attrs)
    elif kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        out.append(f"<{name}{extra_attrs}{_namespace_attr(shape)}>")
        for element in value:
            if element is not None:
                _write(out, item_name, element, shape.member)
        out.append(f"</{name}>")
    elif kind == "map":
        out.append(f"<{name}{extra_attrs}{_namespace_attr(shape)}>")
        for key, element in value.items():
            _write_map_entry(out, "entry", key, element, shape)
        out.append(f"</{name}>")
    else:
        text = _escape(_scalar_text(value, shape), _TEXT_ESCAPES)
        out.append(f"<{name}{extra_attrs}{_namespace_attr(shape)}>{text}</{name}>")


class XmlCodec:
    """XML bodies for :mod:`seedbed.protocol.rest_common`.

    ``default_namespace`` goes on a response root whose shape declares none (S3's namespace).
    """

    content_type = CONTENT_TYPE

    def __init__(self, default_namespace: str | None = None) -> None:
        self.default_namespace = default_namespace

    def decode(self, body: bytes, shape: Shape) -> Any:
        if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
            raise MalformedXML()
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError as exc:
            raise MalformedXML() from exc
        return _from_xml(root, shape)

    def encode(self, value: Any, shape: Shape, root_name: str) -> bytes:
        out = [XML_DECLARATION]
        extra = ""
        if self.default_namespace and not shape.serialization.get("xmlNamespace"):
            extra = f' xmlns="{self.default_namespace}"'
        _write(out, root_name, value, shape, extra)
        return "".join(out).encode("utf-8")


def _codec_for(service_model: ServiceModel) -> XmlCodec:
    # S3 knowledge: S3 documents live in S3's namespace; other rest-xml services get none.
    return XmlCodec(S3_XML_NAMESPACE if service_model.service_name == "s3" else None)


def _encode_event_body(
    codec: XmlCodec, value: Any, shape: Shape, root_name: str
) -> tuple[bytes, str]:
    return codec.encode(value, shape, root_name), "text/xml"


# --- public interface ----------------------------------------------------------------------------


def parse_request(
    operation_model: OperationModel, request: HttpRequest, path_params: dict[str, str]
) -> dict[str, Any]:
    """The operation's input from uri labels, query, headers and XML body."""
    codec = _codec_for(operation_model.service_model)
    return parse_rest_request(operation_model, request, path_params, codec, _invalid_argument)


def host_id(request_id: str) -> str:
    """A stable stand-in for S3's ``x-amz-id-2`` (opaque to clients, logged by some)."""
    return base64.b64encode(hashlib.sha256(request_id.encode("utf-8")).digest()).decode("ascii")


def _root_name(operation_model: OperationModel) -> str:
    # S3 knowledge: the model does not name response roots (botocore ignores the name); S3's are
    # in S3_ROOT_ELEMENTS, and "<Operation>Result" stands in for any other rest-xml operation.
    if operation_model.service_model.service_name == "s3":
        known = S3_ROOT_ELEMENTS.get(operation_model.name)
        if known is not None:
            return known
    return f"{operation_model.name}Result"


def _bare_scalar_member(operation_model: OperationModel) -> tuple[str, Shape] | None:
    """The member S3 writes as the whole document (``<LocationConstraint>`` of GetBucketLocation).

    botocore cannot model that either and reads it from the root's text in a handler.
    """
    if operation_model.name not in _BARE_ROOT_OPERATIONS or operation_model.output_shape is None:
        return None
    shape = operation_model.output_shape
    body = [(name, member) for name, member in shape.members.items() if is_body_member(member)]
    return body[0] if len(body) == 1 else None


def serialize_response(
    operation_model: OperationModel, output: dict[str, Any] | None, request_id: str
) -> HttpResponse:
    codec = _codec_for(operation_model.service_model)
    response = serialize_rest_response(
        operation_model,
        output,
        codec,
        _root_name(operation_model),
        lambda events, shape: encode_event_stream(
            events,
            shape,
            lambda value, member, root: _encode_event_body(codec, value, member, root),
        ),
    )
    bare = _bare_scalar_member(operation_model)
    if bare is not None and response.body:
        name, member = bare
        value = (output or {}).get(name)
        wire = member.serialization.get("name", name)
        out = [XML_DECLARATION]
        namespace = f' xmlns="{codec.default_namespace}"' if codec.default_namespace else ""
        if value is None:
            out.append(f"<{wire}{namespace}/>")
        else:
            _write(out, wire, value, member, namespace)
        response.body = "".join(out).encode("utf-8")
    response.set_header("x-amz-request-id", request_id)
    response.set_header("x-amz-id-2", host_id(request_id))
    return response


def serialize_error(
    service_model: ServiceModel,
    error: ServiceError,
    request_id: str,
    operation_model: OperationModel | None = None,
) -> HttpResponse:
    """S3's error document: ``<Error>`` (no namespace, botocore checks the bare tag) with Code,
    Message, any extra fields, RequestId and HostId. HEAD answers carry no body."""
    shape = service_model.shape_for_error_code(error.code)
    out = [XML_DECLARATION, "<Error>"]
    out.append(f"<Code>{_escape(error.code, _TEXT_ESCAPES)}</Code>")
    out.append(f"<Message>{_escape(error.message, _TEXT_ESCAPES)}</Message>")
    for name, value in error.fields.items():
        if value is None or name in ("Code", "Message", "RequestId", "HostId"):
            continue
        member = shape.members.get(name) if shape is not None else None
        if member is not None:
            _write(out, member.serialization.get("name", name), value, member)
        elif _TAG.fullmatch(name):  # unmodeled extras (S3's BucketName, Key ...) as plain text
            text = _iso8601_millis(value) if isinstance(value, datetime) else str(value)
            out.append(f"<{name}>{_escape(text, _TEXT_ESCAPES)}</{name}>")
    out.append(f"<RequestId>{_escape(request_id, _TEXT_ESCAPES)}</RequestId>")
    out.append(f"<HostId>{host_id(request_id)}</HostId>")
    out.append("</Error>")
    response = HttpResponse(status=error.status)
    response.set_header("x-amz-request-id", request_id)
    response.set_header("x-amz-id-2", host_id(request_id))
    for name, value in error.headers.items():
        response.set_header(name, value)
    if operation_model is not None and operation_model.http.get("method", "").upper() == "HEAD":
        return response
    response.set_header("Content-Type", CONTENT_TYPE)
    response.body = "".join(out).encode("utf-8")
    return response
