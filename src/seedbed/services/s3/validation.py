"""Input rules S3 enforces that the botocore model does not state: names, tags, sizes."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from seedbed.services.s3.errors import error, invalid_argument, invalid_tag

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048
MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_PUT_SIZE = 5 * 1024**3
MIN_PART_SIZE = 5 * 1024**2
MAX_PART_NUMBER = 10000
STORAGE_CLASSES = frozenset(
    {
        "STANDARD",
        "REDUCED_REDUNDANCY",
        "STANDARD_IA",
        "ONEZONE_IA",
        "INTELLIGENT_TIERING",
        "GLACIER",
        "DEEP_ARCHIVE",
        "OUTPOSTS",
        "GLACIER_IR",
        "SNOW",
        "EXPRESS_ONEZONE",
        "FSX_OPENZFS",
        "FSX_ONTAP",
    }
)


def bucket_name(name: str) -> None:
    """S3's general-purpose bucket naming rules."""
    valid = (
        bool(_BUCKET.match(name))
        and ".." not in name
        and ".-" not in name
        and "-." not in name
        and not _IP.match(name)
        and not name.startswith(_RESERVED_PREFIXES)
        and not name.endswith(_RESERVED_SUFFIXES)
    )
    if not valid:
        raise error("InvalidBucketName", "The specified bucket is not valid.", BucketName=name)


def object_key(key: str) -> None:
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise error("KeyTooLongError", "Your key is too long", Size=str(len(key.encode("utf-8"))), MaxSizeAllowed=str(MAX_KEY_BYTES))


def user_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """User metadata keys arrive lower-cased (HTTP headers); S3 caps the total at 2 KB."""
    metadata = {key.lower(): value for key, value in (metadata or {}).items()}
    size = sum(len(key.encode()) + len(value.encode()) for key, value in metadata.items())
    if size > MAX_METADATA_BYTES:
        raise error(
            "MetadataTooLarge",
            "Your metadata headers exceed the maximum allowed metadata size",
            Size=str(size),
            MaxSizeAllowed=str(MAX_METADATA_BYTES),
        )
    return metadata


def storage_class(value: str | None) -> str:
    if value is None:
        return "STANDARD"
    if value not in STORAGE_CLASSES:
        raise error("InvalidStorageClass", "The storage class you specified is not valid", StorageClassRequested=value)
    return value


def tag_set(tags: list[dict[str, str]], limit: int, allow_aws_prefix: bool = False) -> list[dict[str, str]]:
    """A TagSet as S3 validates it: sizes, count, unique keys, no ``aws:`` keys from users."""
    if len(tags) > limit:
        if limit == MAX_OBJECT_TAGS:
            raise invalid_tag("Object tags cannot be greater than 10")
        raise invalid_tag(f"Bucket tag count cannot be greater than {limit}")
    seen: set[str] = set()
    out = []
    for tag in tags:
        key = tag.get("Key")
        value = tag.get("Value", "")
        if key is None or value is None:
            from seedbed.services.s3.errors import malformed_xml

            raise malformed_xml()
        if not key or len(key) > 128:
            raise invalid_tag("The TagKey you have provided is invalid")
        if len(value) > 256:
            raise invalid_tag("The TagValue you have provided is invalid")
        if key.lower().startswith("aws:") and not allow_aws_prefix:
            raise invalid_tag("System tags cannot be added/updated by requester")
        if key in seen:
            raise invalid_tag("Cannot provide multiple Tags with the same key")
        seen.add(key)
        out.append({"Key": key, "Value": value})
    return out


def tagging_header(value: str) -> list[dict[str, str]]:
    """``x-amz-tagging: k1=v1&k2=v2`` (URL query encoding) as a TagSet."""
    try:
        pairs = parse_qsl(value, keep_blank_values=True, strict_parsing=bool(value))
    except ValueError:
        raise invalid_argument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.", "x-amz-tagging", value) from None
    return tag_set([{"Key": key, "Value": val} for key, val in pairs], MAX_OBJECT_TAGS)
