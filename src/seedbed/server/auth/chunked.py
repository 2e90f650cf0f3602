"""Decoding ``Content-Encoding: aws-chunked`` request bodies (S3 streaming uploads).

Chunk signatures chain from the request's SigV4 signature, so this sits beside the verifier and
uses its signing key; the unsigned-trailer framing carries checksums in trailers instead.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from seedbed.errors import ServiceError
from seedbed.server.auth.sigv4 import (
    EMPTY_SHA256,
    STREAMING_PAYLOAD,
    STREAMING_PAYLOAD_TRAILER,
    SigV4Request,
    auth_error,
    signing_key,
)

_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")


def decode_aws_chunked(
    body: bytes, sig: SigV4Request, secret_key: str
) -> tuple[bytes, dict[str, str]]:
    """Decode a ``Content-Encoding: aws-chunked`` body into its bytes and trailer headers.

    For ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`` every chunk signature is checked, chained
    from the request's seed signature (and the trailer signature after them); the unsigned-trailer
    framing that botocore sends over HTTPS (``STREAMING-UNSIGNED-PAYLOAD-TRAILER``) carries none.
    The decoded size must equal ``x-amz-decoded-content-length`` when the request gave one.
    Trailer names come back lower-case (``x-amz-checksum-crc32``); the caller checks checksums.
    """
    signed = sig.payload_hash in (STREAMING_PAYLOAD, STREAMING_PAYLOAD_TRAILER)
    key = signing_key(secret_key, sig.date, sig.region, sig.service) if signed else b""
    previous = sig.signature
    view = memoryview(body)
    out = bytearray()
    pos = 0
    size = len(body)
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            raise _incomplete_body()
        header = body[pos:eol]
        size_text, _, extension = header.partition(b";")
        size_text = size_text.strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise _bad_chunk(f"Invalid chunk header {header[:80]!r}")
        chunk_size = int(size_text, 16)
        start = eol + 2
        end = start + chunk_size
        if end > size:
            raise _incomplete_body()
        chunk = view[start:end]
        if signed:
            provided = _chunk_signature(extension)
            expected = _sign_chunk(key, sig, previous, hashlib.sha256(chunk).hexdigest())
            if provided is None or not hmac.compare_digest(expected, provided):
                raise auth_error(sig.service, "bad_signature")
            previous = provided
        if chunk_size == 0:
            pos = start
            break
        if body[end:end + 2] != b"\r\n":
            raise _bad_chunk("Chunk data is not followed by CRLF")
        out += chunk
        pos = end + 2
    trailers, trailer_signature = _parse_trailers(body[pos:])
    if sig.payload_hash == STREAMING_PAYLOAD_TRAILER and trailers:
        canonical = "".join(f"{name}:{value}\n" for name, value in trailers.items())
        expected = _sign_trailer(key, sig, previous, canonical)
        if trailer_signature is None or not hmac.compare_digest(expected, trailer_signature):
            raise auth_error(sig.service, "bad_signature")
    if sig.decoded_content_length is not None and sig.decoded_content_length != len(out):
        raise _incomplete_body()
    return bytes(out), trailers


def _chunk_signature(extension: bytes) -> str | None:
    for item in extension.split(b";"):
        name, _, value = item.partition(b"=")
        if name.strip() == b"chunk-signature":
            return value.strip().decode("ascii", "replace")
    return None


def _sign_chunk(key: bytes, sig: SigV4Request, previous: str, chunk_hash: str) -> str:
    text = (
        f"AWS4-HMAC-SHA256-PAYLOAD\n{sig.timestamp}\n{sig.scope}\n{previous}\n"
        f"{EMPTY_SHA256}\n{chunk_hash}"
    )
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _sign_trailer(key: bytes, sig: SigV4Request, previous: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    text = f"AWS4-HMAC-SHA256-TRAILER\n{sig.timestamp}\n{sig.scope}\n{previous}\n{digest}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _parse_trailers(rest: bytes) -> tuple[dict[str, str], str | None]:
    """Trailer lines after the final chunk; blank lines (the terminator) are skipped."""
    trailers: dict[str, str] = {}
    signature: str | None = None
    for line in rest.split(b"\r\n"):
        if not line.strip():
            continue
        name, colon, value = line.partition(b":")
        if not colon:
            raise _bad_chunk(f"Malformed trailer {line[:80]!r}")
        key = name.strip().decode("latin-1").lower()
        text = value.strip().decode("latin-1")
        if key == "x-amz-trailer-signature":
            signature = text
        else:
            trailers[key] = text
    return trailers, signature


def _incomplete_body() -> ServiceError:
    return ServiceError(
        "The request body terminated unexpectedly", code="IncompleteBody", status=400
    )


def _bad_chunk(detail: str) -> ServiceError:
    return ServiceError(
        f"The aws-chunked request body is malformed: {detail}", code="InvalidRequest", status=400
    )
