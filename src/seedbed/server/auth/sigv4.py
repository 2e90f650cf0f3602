"""AWS Signature Version 4 verification, as botocore's signers produce it.

The server rebuilds the canonical request from the wire request and compares signatures. The rules
follow botocore/auth.py exactly (that is what boto3 and the AWS CLI send):

- the canonical URI is the raw path for S3 (``S3SigV4Auth`` neither normalizes nor re-encodes it)
  and the dot-segment-free, *re*-encoded path for every other service (``SigV4Auth``);
- the canonical query is the RFC 3986 encoding of every pair, sorted, without ``X-Amz-Signature``;
- header values are trimmed and inner whitespace runs collapsed;
- the payload hash is the ``x-amz-content-sha256`` header when present, ``UNSIGNED-PAYLOAD`` for S3
  presigned URLs, otherwise the SHA-256 of the body.

S3's legacy SigV2 is verified too (boto3's ``generate_presigned_url`` still produces it by
default in us-east-1). ``aws-chunked`` bodies are decoded in :mod:`seedbed.server.auth.chunked`.

Errors come from :func:`auth_error`, which knows that S3, the query services (IAM, STS, ...) and the
JSON services word the same failure differently. Signing keys are cached because verification runs
on every request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import cached_property, lru_cache
from typing import Any, Literal
from urllib.parse import quote, unquote, unquote_to_bytes

from seedbed.errors import (
    AccessDenied,
    ExpiredToken,
    InvalidClientTokenId,
    MissingAuthenticationToken,
    ServiceError,
    SignatureDoesNotMatch,
)
from seedbed.protocol.http import HttpRequest

ALGORITHM = "AWS4-HMAC-SHA256"
SIGV2_ALGORITHM = "AWS"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
#: Payload hashes S3 accepts besides a hex digest (SigV4a ones are refused earlier, as unsupported).
KNOWN_PAYLOAD_HASHES = frozenset(
    {UNSIGNED_PAYLOAD, STREAMING_PAYLOAD, STREAMING_PAYLOAD_TRAILER, STREAMING_UNSIGNED_TRAILER}
)
MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
#: Signing names whose requests follow S3's signing rules and error vocabulary.
S3_SIGNING_NAMES = frozenset({"s3", "s3-object-lambda", "s3-outposts"})

_HEX = frozenset("0123456789abcdefABCDEF")
#: An Authorization header exactly as botocore and the other AWS SDKs write it.
_WELL_FORMED_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request, ?"
    r"SignedHeaders=([a-z0-9;._-]+), ?Signature=([0-9a-f]{64})"
)
#: What keeps a raw query string from being canonical already (two scans beat one fullmatch).
_NON_CANONICAL_CHAR = re.compile(r"[^A-Za-z0-9_.~=&%-]")
_NON_CANONICAL_ESCAPE = re.compile(r"%(?![0-9A-F]{2})")
_QUERY_AUTH_KEYS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")

Family = Literal["s3", "query", "json"]


@dataclass(frozen=True)
class SigV4Request:
    """What a request claims about its signature, parsed but not yet verified."""

    access_key: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    amz_date: datetime
    presigned: bool
    expires_seconds: int | None
    payload_hash: str
    security_token: str | None
    #: ``x-amz-decoded-content-length`` of an aws-chunked body, checked by decode_aws_chunked.
    decoded_content_length: int | None = None
    #: ``AWS4-HMAC-SHA256``, or ``AWS`` for S3's legacy SigV2 (HMAC-SHA1), which boto3 still uses
    #: by default for ``generate_presigned_url`` in us-east-1 and the other pre-2014 regions.
    algorithm: str = ALGORITHM
    #: When a SigV2 presigned URL stops working (its ``Expires`` query parameter).
    expires_at: datetime | None = None

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"

    @cached_property
    def timestamp(self) -> str:
        """``amz_date`` as the string to sign writes it (``yyyymmddTHHMMSSZ``)."""
        return _format_amz_date(self.amz_date)

    @property
    def is_s3(self) -> bool:
        return self.service in S3_SIGNING_NAMES


# --------------------------------------------------------------------------------------- errors

# AWS words each failure per family: (error class, code, status, default message).
_KINDS: dict[str, dict[Family, tuple[type[ServiceError], str, int, str]]] = {
    "unknown_key": {
        "s3": (InvalidClientTokenId, "InvalidAccessKeyId", 403,
               "The AWS Access Key Id you provided does not exist in our records."),
        "query": (InvalidClientTokenId, "InvalidClientTokenId", 403,
                  "The security token included in the request is invalid."),
        "json": (InvalidClientTokenId, "UnrecognizedClientException", 403,
                 "The security token included in the request is invalid."),
    },
    "invalid_token": {
        "s3": (InvalidClientTokenId, "InvalidToken", 400,
               "The provided token is malformed or otherwise invalid."),
        "query": (InvalidClientTokenId, "InvalidClientTokenId", 403,
                  "The security token included in the request is invalid."),
        "json": (InvalidClientTokenId, "UnrecognizedClientException", 403,
                 "The security token included in the request is invalid."),
    },
    "bad_signature": {
        "s3": (SignatureDoesNotMatch, "SignatureDoesNotMatch", 403,
               "The request signature we calculated does not match the signature you provided. "
               "Check your key and signing method."),
        "query": (SignatureDoesNotMatch, "SignatureDoesNotMatch", 403,
                  "The request signature we calculated does not match the signature you "
                  "provided. Check your AWS Secret Access Key and signing method. Consult the "
                  "service documentation for details."),
        "json": (SignatureDoesNotMatch, "InvalidSignatureException", 403,
                 "The request signature we calculated does not match the signature you "
                 "provided. Check your AWS Secret Access Key and signing method. Consult the "
                 "service documentation for details."),
    },
    "expired_presign": {
        "s3": (AccessDenied, "AccessDenied", 403, "Request has expired"),
        "query": (SignatureDoesNotMatch, "SignatureDoesNotMatch", 403, "Signature expired"),
        "json": (SignatureDoesNotMatch, "InvalidSignatureException", 403, "Signature expired"),
    },
    "expired_token": {
        "s3": (ExpiredToken, "ExpiredToken", 400, "The provided token has expired."),
        "query": (ExpiredToken, "ExpiredToken", 403,
                  "The security token included in the request is expired"),
        "json": (ExpiredToken, "ExpiredTokenException", 403,
                 "The security token included in the request is expired"),
    },
    "skew": {
        "s3": (SignatureDoesNotMatch, "RequestTimeTooSkewed", 403,
               "The difference between the request time and the current time is too large."),
        "query": (SignatureDoesNotMatch, "SignatureDoesNotMatch", 403, "Signature expired"),
        "json": (SignatureDoesNotMatch, "InvalidSignatureException", 403, "Signature expired"),
    },
    "malformed": {
        "s3": (ServiceError, "AuthorizationHeaderMalformed", 400,
               "The authorization header is malformed."),
        "query": (ServiceError, "IncompleteSignature", 400,
                  "The request signature does not conform to AWS standards."),
        "json": (ServiceError, "IncompleteSignatureException", 400,
                 "The request signature does not conform to AWS standards."),
    },
    "malformed_query": {
        "s3": (ServiceError, "AuthorizationQueryParametersError", 400,
               "Query-string authentication version 4 requires the X-Amz-Algorithm, "
               "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
               "X-Amz-Expires parameters."),
        "query": (ServiceError, "IncompleteSignature", 400,
                  "The request signature does not conform to AWS standards."),
        "json": (ServiceError, "IncompleteSignatureException", 400,
                 "The request signature does not conform to AWS standards."),
    },
    "unsupported": {
        "s3": (ServiceError, "InvalidRequest", 400,
               "The authorization mechanism you have provided is not supported. "
               "Please use AWS4-HMAC-SHA256."),
        "query": (ServiceError, "IncompleteSignature", 400,
                  "Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported."),
        "json": (ServiceError, "IncompleteSignatureException", 400,
                 "Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported."),
    },
    "payload_mismatch": {
        "s3": (ServiceError, "XAmzContentSHA256Mismatch", 400,
               "The provided 'x-amz-content-sha256' header does not match what was computed."),
        "query": (SignatureDoesNotMatch, "SignatureDoesNotMatch", 403,
                  "The request signature we calculated does not match the signature you "
                  "provided. Check your AWS Secret Access Key and signing method. Consult the "
                  "service documentation for details."),
        "json": (SignatureDoesNotMatch, "InvalidSignatureException", 403,
                 "The request signature we calculated does not match the signature you "
                 "provided. Check your AWS Secret Access Key and signing method. Consult the "
                 "service documentation for details."),
    },
    "unsigned_headers": {
        "s3": (AccessDenied, "AccessDenied", 403,
               "There were headers present in the request which were not signed"),
        "query": (SignatureDoesNotMatch, "SignatureDoesNotMatch", 403,
                  "There were headers present in the request which were not signed"),
        "json": (SignatureDoesNotMatch, "InvalidSignatureException", 403,
                 "There were headers present in the request which were not signed"),
    },
    "missing": {
        "s3": (AccessDenied, "AccessDenied", 403, "Access Denied"),
        "query": (MissingAuthenticationToken, "MissingAuthenticationToken", 403,
                  "Request is missing Authentication Token"),
        "json": (MissingAuthenticationToken, "MissingAuthenticationTokenException", 403,
                 "Missing Authentication Token"),
    },
}

AUTH_ERROR_KINDS = frozenset(_KINDS)


@lru_cache(maxsize=256)
def family(service: str) -> Family:
    """Which vocabulary a service's auth errors use: S3's, the query services', or JSON's.

    ``service`` may be a botocore service name or a signing name; unknown names count as JSON,
    which is what most AWS services speak.
    """
    if service in S3_SIGNING_NAMES:
        return "s3"
    try:
        from seedbed.protocol.models import protocol_of, service_model

        proto = protocol_of(service_model(service))
    except Exception:
        return "json"
    if proto == "rest-xml" and service.startswith("s3"):
        return "s3"
    return "query" if proto in ("query", "ec2") else "json"


def auth_error(
    service: str, kind: str, message: str | None = None, **fields: Any
) -> ServiceError:
    """The error AWS's ``service`` returns for an authentication failure of ``kind``.

    Kinds: unknown_key, invalid_token, bad_signature, expired_presign, expired_token, skew,
    malformed, malformed_query, unsupported, payload_mismatch, unsigned_headers, missing.
    ``message`` replaces AWS's default wording; ``fields`` become extra members of S3's error
    document (``AWSAccessKeyId``, ``StringToSign`` ...) and are dropped for other services.
    """
    cls, code, status, default = _KINDS[kind][family(service)]
    extra = {k: v for k, v in fields.items() if v is not None} if family(service) == "s3" else {}
    return cls(message or default, code=code, status=status, fields=extra)


# -------------------------------------------------------------------------------------- parsing


def parse_signature(request: HttpRequest, *, service: str | None = None) -> SigV4Request | None:
    """The SigV4 claims of a request, or None when it is anonymous.

    ``service`` (a botocore name) only picks the error vocabulary when the request is too broken
    to name its own service in the credential scope. Raises for a malformed signature and for
    schemes Seedbed cannot check (SigV2 outside S3, SigV4a, bearer tokens). S3's legacy SigV2
    (header ``AWS AKID:sig`` or ``AWSAccessKeyId``/``Expires``/``Signature`` query) comes back with
    ``algorithm == "AWS"``, because boto3 still presigns S3 URLs that way by default.
    """
    auth = request.headers.get("authorization")
    if auth is not None:
        return _parse_header(request, auth, service)
    if request.query:
        query = request.query_dict()
        if any(key in query for key in _QUERY_AUTH_KEYS):
            return _parse_query(request, query, service)
        if "AWSAccessKeyId" in query and "Signature" in query:
            if "Expires" in query and "SignatureVersion" not in query:
                return _parse_v2_query(request, query)
            raise auth_error(service or "sts", "unsupported")
    return None


def _parse_header(request: HttpRequest, auth: str, service: str | None) -> SigV4Request:
    match = _WELL_FORMED_AUTH.fullmatch(auth)
    if match is not None:  # the common case, parsed in one step
        access_key, date, region, svc, signed, signature = match.groups()
        return SigV4Request(
            access_key=access_key,
            date=date,
            region=region,
            service=svc,
            signed_headers=signed.split(";"),
            signature=signature,
            amz_date=_header_date(request, svc),
            presigned=False,
            expires_seconds=None,
            payload_hash=_payload_hash(request, svc, presigned=False, signed_headers=None),
            security_token=request.headers.get("x-amz-security-token"),
            decoded_content_length=_decoded_length(request),
        )
    return _parse_header_slowly(request, auth, service)


def _parse_header_slowly(request: HttpRequest, auth: str, service: str | None) -> SigV4Request:
    """Any other Authorization header: odd spacing or order, legacy schemes, or broken ones."""
    scheme, _, rest = auth.strip().partition(" ")
    if scheme == "AWS" and (service is None or family(service) == "s3"):
        return _parse_v2_header(request, rest)
    if scheme != ALGORITHM:
        fam = service or _guess_service(auth) or ("s3" if scheme == "AWS" else "sts")
        if scheme in ("AWS", "AWS4-ECDSA-P256-SHA256", "Bearer"):
            raise auth_error(
                fam,
                "unsupported",
                None
                if family(fam) == "s3"
                else f"Unsupported authorization scheme {scheme!r}: Seedbed checks only "
                "AWS Signature Version 4 (AWS4-HMAC-SHA256).",
            )
        raise auth_error(fam, "malformed", _malformed_message(fam, "Unsupported AWS 'algorithm'"))
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, eq, value = part.strip().partition("=")
        if eq:
            fields[key] = value.strip()
    credential = fields.get("Credential")
    signed = fields.get("SignedHeaders")
    signature = fields.get("Signature")
    fam = _error_service(service, credential or "", "sts")
    missing = [name for name, value in (("Credential", credential), ("Signature", signature),
                                        ("SignedHeaders", signed)) if not value]
    if missing:
        raise auth_error(
            fam,
            "malformed",
            _malformed_message(
                fam,
                " ".join(f"Authorization header requires '{m}' parameter." for m in missing)
                + f" Authorization={auth}",
            ),
        )
    assert credential is not None and signed is not None and signature is not None
    access_key, date, region, svc = _parse_credential(credential, service, "malformed")
    amz_date = _header_date(request, svc)
    return SigV4Request(
        access_key=access_key,
        date=date,
        region=region,
        service=svc,
        signed_headers=signed.split(";"),
        signature=signature,
        amz_date=amz_date,
        presigned=False,
        expires_seconds=None,
        payload_hash=_payload_hash(request, svc, presigned=False, signed_headers=None),
        security_token=request.headers.get("x-amz-security-token"),
        decoded_content_length=_decoded_length(request),
    )


def _parse_query(
    request: HttpRequest, query: dict[str, str], service: str | None
) -> SigV4Request:
    credential = query.get("X-Amz-Credential", "")
    algorithm = query.get("X-Amz-Algorithm")
    if algorithm is not None and algorithm != ALGORITHM:
        fam = _error_service(service, credential, "s3")
        if algorithm == "AWS4-ECDSA-P256-SHA256":
            raise auth_error(fam, "unsupported")
        raise auth_error(
            fam, "malformed_query", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""
        )
    required = _PRESIGN_PARAMS
    if _error_service(service, credential, "s3") not in S3_SIGNING_NAMES:
        required = required[:-1]  # only S3 insists on X-Amz-Expires
    if any(not query.get(key) for key in required):
        raise auth_error(_error_service(service, credential, "s3"), "malformed_query")
    access_key, date, region, svc = _parse_credential(credential, service, "malformed_query")
    expires: int | None = None
    if "X-Amz-Expires" in query:
        try:
            expires = int(query["X-Amz-Expires"])
        except ValueError:
            raise auth_error(svc, "malformed_query", "X-Amz-Expires should be a number") from None
        if expires < 0:
            raise auth_error(svc, "malformed_query", "X-Amz-Expires must be non-negative")
        if expires > MAX_PRESIGN_SECONDS:
            raise auth_error(
                svc,
                "malformed_query",
                "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            )
    amz_date = _parse_amz_date(query["X-Amz-Date"])
    if amz_date is None:
        raise auth_error(
            svc,
            "malformed_query",
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
        )
    signed_headers = query["X-Amz-SignedHeaders"].split(";")
    return SigV4Request(
        access_key=access_key,
        date=date,
        region=region,
        service=svc,
        signed_headers=signed_headers,
        signature=query["X-Amz-Signature"],
        amz_date=amz_date,
        presigned=True,
        expires_seconds=expires,
        payload_hash=_payload_hash(request, svc, presigned=True, signed_headers=signed_headers),
        security_token=query.get("X-Amz-Security-Token"),
        decoded_content_length=_decoded_length(request),
    )


_PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date",
                   "X-Amz-SignedHeaders", "X-Amz-Expires")


def _parse_credential(
    credential: str, service: str | None, kind: str
) -> tuple[str, str, str, str]:
    """``AKID/yyyymmdd/region/service/aws4_request`` into its four values."""
    parts = credential.split("/")
    if len(parts) == 5:
        access_key, date, region, svc, terminator = parts
        if (access_key and region and svc and terminator == "aws4_request"
                and len(date) == 8 and date.isdigit()):
            return access_key, date, region, svc
    fam = _error_service(service, credential, "sts")
    if len(parts) != 5 or not all(parts[1:4]):
        s3_text = ("the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/"
                   "aws4_request\".")
        plain = (f"Credential should be scoped to a valid region, service and date: "
                 f"'{credential}'.")
    elif not parts[0]:
        s3_text = "a non-empty Access Key (AKID) must be provided in the credential."
        plain = ("Credential must have exactly 5 slash-delimited elements and a non-empty "
                 "access key.")
    elif parts[4] != "aws4_request":
        s3_text = (f"the Credential terminator is wrong; expecting \"aws4_request\", got "
                   f"\"{parts[4]}\".")
        plain = (f"Credential should be scoped with a valid terminator: 'aws4_request', not "
                 f"'{parts[4]}'.")
    else:
        s3_text = f"invalid date format \"{parts[1]}\"; expecting \"YYYYMMDD\"."
        plain = f"Date must be in YYYYMMDD format: '{parts[1]}'."
    raise auth_error(fam, kind, _malformed_message(fam, s3_text, plain=plain))


def _error_service(service: str | None, text: str, default: str) -> str:
    """The service whose error vocabulary a broken request gets."""
    return service or _guess_service(text) or default


def _malformed_message(service: str, s3_text: str, plain: str | None = None) -> str:
    if family(service) == "s3":
        return f"The authorization header is malformed; {s3_text}"
    return plain or s3_text


def _guess_service(text: str) -> str | None:
    """The service named in a (possibly broken) credential scope, for the error vocabulary."""
    match = re.search(r"/\d{8}/(?:[^/,\s]*/)?([^/,\s]+)/[^/,\s]+", text)
    return match.group(1) if match else None


def _header_date(request: HttpRequest, service: str) -> datetime:
    raw = request.headers.get("x-amz-date")
    if raw is not None:
        parsed = _parse_amz_date(raw.strip())
        if parsed is None:
            raise auth_error(service, "malformed", _malformed_message(
                service,
                f"invalid x-amz-date \"{raw}\".",
                plain=f"Date must be in ISO-8601 'basic format'. Got '{raw}'. See "
                "http://en.wikipedia.org/wiki/ISO_8601",
            ))
        return parsed
    raw = request.headers.get("date")
    if raw is not None:
        try:
            parsed = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return parsed.astimezone(timezone.utc)
    raise auth_error(service, "malformed", _malformed_message(
        service,
        "AWS authentication requires a valid Date or x-amz-date header.",
        plain="Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
        "header.",
    ))


@lru_cache(maxsize=256)
def _parse_amz_date(value: str) -> datetime | None:
    """``yyyymmddTHHMMSSZ`` to an aware datetime (hand-parsed: strptime is slow)."""
    if len(value) != 16 or value[8] != "T" or value[15] != "Z":
        return None
    digits = value[:8] + value[9:15]
    if not digits.isdigit():
        return None
    try:
        return datetime(
            int(value[0:4]), int(value[4:6]), int(value[6:8]),
            int(value[9:11]), int(value[11:13]), int(value[13:15]),
            tzinfo=timezone.utc,
        )
    except ValueError:
        return None


def _format_amz_date(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc) if moment.tzinfo else moment
    return (
        f"{moment.year:04d}{moment.month:02d}{moment.day:02d}T"
        f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}Z"
    )


def _payload_hash(
    request: HttpRequest, service: str, *, presigned: bool, signed_headers: list[str] | None
) -> str:
    """The payload hash the signer put in the canonical request."""
    claimed = request.headers.get("x-amz-content-sha256")
    if claimed is not None and (not presigned or "x-amz-content-sha256" in (signed_headers or ())):
        return claimed
    if presigned and service in S3_SIGNING_NAMES:
        return UNSIGNED_PAYLOAD
    if "x-amz-trailer" in request.headers and "aws-chunked" in request.headers.get(
        "content-encoding", ""
    ):
        return STREAMING_UNSIGNED_TRAILER  # botocore signs this without sending the header
    return hashlib.sha256(request.body).hexdigest() if request.body else EMPTY_SHA256


def _decoded_length(request: HttpRequest) -> int | None:
    raw = request.headers.get("x-amz-decoded-content-length")
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None


# ---------------------------------------------------------------------------------- verifying


@lru_cache(maxsize=4096)
def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The derived SigV4 key; cached since it changes only daily per key, region and service."""
    key = hmac.digest(f"AWS4{secret_key}".encode(), date.encode(), "sha256")
    key = hmac.digest(key, region.encode(), "sha256")
    key = hmac.digest(key, service.encode(), "sha256")
    return hmac.digest(key, b"aws4_request", "sha256")


def verify_signature(
    request: HttpRequest, sig: SigV4Request, secret_key: str, now: datetime
) -> None:
    """Raise the service's auth error unless ``sig`` is a valid, current signature of ``request``.

    Checks, in AWS's order: the scope date, the request time (presign expiry or clock skew), the
    signature itself, unsigned ``x-amz-*`` headers (S3), and the ``x-amz-content-sha256`` claim
    against the body.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    if sig.algorithm == SIGV2_ALGORITHM:
        _verify_v2(request, sig, secret_key, now)
        return
    service = sig.service
    timestamp = sig.timestamp
    if timestamp[:8] != sig.date:
        raise auth_error(service, "malformed", _malformed_message(
            service,
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{sig.date}' != '{timestamp[:8]}', from '{timestamp}'.",
        ))
    _check_time(sig, now)
    if "host" not in sig.signed_headers and not sig.is_s3:
        raise auth_error(
            service, "malformed", "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
            "Authorization."
        )

    key = signing_key(secret_key, sig.date, sig.region, service)
    canonical = _canonical_request(request, sig, _canonical_uri(request.path, sig.is_s3))
    string_to_sign = _string_to_sign(sig, canonical)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig.signature):
        if sig.is_s3:  # a client that left safe characters unencoded signs the encoded path
            alternative = _reencoded_path(request.path)
            if alternative != request.path:
                canonical2 = _canonical_request(request, sig, alternative)
                sts2 = _string_to_sign(sig, canonical2)
                expected = hmac.new(key, sts2.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, sig.signature):
            raise _signature_mismatch(sig, canonical, string_to_sign)

    if sig.is_s3:
        _check_unsigned_headers(request, sig)
    _check_payload_claim(request, sig)


def _check_time(sig: SigV4Request, now: datetime) -> None:
    if sig.presigned and sig.expires_seconds is not None:
        expires_at = sig.amz_date + timedelta(seconds=sig.expires_seconds)
        if now > expires_at:
            raise auth_error(
                sig.service,
                "expired_presign",
                None if sig.is_s3 else (
                    f"Signature expired: {sig.timestamp} is now earlier than "
                    f"{_format_amz_date(now - timedelta(seconds=sig.expires_seconds))} "
                    f"({_format_amz_date(now)} - {sig.expires_seconds} sec.)"
                ),
                **{
                    "X-Amz-Expires": str(sig.expires_seconds),
                    "Expires": _iso(expires_at),
                    "ServerTime": _iso(now),
                },
            )
        if sig.amz_date - now <= MAX_SKEW:
            return
    elif abs(now - sig.amz_date) <= MAX_SKEW:
        return
    if sig.amz_date < now:
        text = (
            f"Signature expired: {sig.timestamp} is now earlier than "
            f"{_format_amz_date(now - MAX_SKEW)} ({_format_amz_date(now)} - 15 min.)"
        )
    else:
        text = (
            f"Signature not yet current: {sig.timestamp} is still later than "
            f"{_format_amz_date(now + MAX_SKEW)} ({_format_amz_date(now)} + 15 min.)"
        )
    raise auth_error(
        sig.service,
        "skew",
        None if sig.is_s3 else text,
        RequestTime=sig.timestamp,
        ServerTime=_iso(now),
        MaxAllowedSkewMilliseconds="900000",
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _canonical_uri(path: str, is_s3: bool) -> str:
    if not path:
        return "/"
    if is_s3 or path == "/":
        return path
    return _normalized_uri(path)


@lru_cache(maxsize=2048)
def _normalized_uri(path: str) -> str:
    """SigV4Auth's path: dot segments and empty segments removed, then encoded once more."""
    return quote(_remove_dot_segments(path), safe="/~")


def _reencoded_path(path: str) -> str:
    """The path as botocore would have encoded it (decode fully, encode all but ``/~``)."""
    return quote(unquote_to_bytes(path), safe="/~")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 dot-segment removal plus collapsing ``//``, as botocore's normalize_url_path."""
    out: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if out:
                out.pop()
        else:
            out.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and out else ""
    return first + "/".join(out) + last


def _canonical_query(request: HttpRequest, presigned: bool) -> str:
    raw = request.raw_query
    if raw:
        pairs = []
        if not _NON_CANONICAL_CHAR.search(raw) and (
            "%" not in raw or not _NON_CANONICAL_ESCAPE.search(raw)
        ):
            for item in raw.split("&"):
                if item:
                    key, _, value = item.partition("=")
                    pairs.append((key, value))
        else:
            for item in raw.split("&"):
                if item:
                    key, _, value = item.partition("=")
                    pairs.append((_reencode(key), _reencode(value)))
    elif request.query:
        pairs = [(quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in request.query]
    else:
        return ""
    if presigned:
        pairs = [pair for pair in pairs if pair[0] != "X-Amz-Signature"]
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def _reencode(component: str) -> str:
    return quote(unquote_to_bytes(component), safe="-_.~")


def _canonical_request(request: HttpRequest, sig: SigV4Request, uri: str) -> str:
    headers = request.headers
    lines = []
    for name in sig.signed_headers:
        value = headers.get(name)
        if value is None:
            value = ""
        lines.append(f"{name}:{' '.join(value.split())}\n")
    return (
        f"{request.method.upper()}\n{uri}\n{_canonical_query(request, sig.presigned)}\n"
        f"{''.join(lines)}\n{';'.join(sig.signed_headers)}\n{sig.payload_hash}"
    )


def _string_to_sign(sig: SigV4Request, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{sig.timestamp}\n{sig.scope}\n{digest}"


def _signature_mismatch(sig: SigV4Request, canonical: str, string_to_sign: str) -> ServiceError:
    if sig.is_s3:
        return auth_error(
            sig.service,
            "bad_signature",
            AWSAccessKeyId=sig.access_key,
            StringToSign=string_to_sign,
            SignatureProvided=sig.signature,
            StringToSignBytes=" ".join(f"{b:02x}" for b in string_to_sign.encode()),
            CanonicalRequest=canonical,
            CanonicalRequestBytes=" ".join(f"{b:02x}" for b in canonical.encode()),
        )
    base = _KINDS["bad_signature"]["query"][3]
    return auth_error(
        sig.service,
        "bad_signature",
        f"{base}\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n"
        f"The String-to-Sign should have been\n'{string_to_sign}'\n",
    )


def _check_unsigned_headers(request: HttpRequest, sig: SigV4Request) -> None:
    """S3 refuses ``x-amz-*`` headers that the signature does not cover."""
    signed = sig.signed_headers
    unsigned = [
        name
        for name in request.headers
        if name.startswith("x-amz-")
        and name not in signed
        and not (sig.presigned and name == "x-amz-content-sha256")
    ]
    if unsigned:
        raise auth_error(sig.service, "unsigned_headers", HeadersNotSigned=", ".join(unsigned))


def _check_payload_claim(request: HttpRequest, sig: SigV4Request) -> None:
    claimed = request.headers.get("x-amz-content-sha256")
    if claimed is None or claimed != sig.payload_hash:
        return  # no claim, or one that the signature did not use
    if claimed in KNOWN_PAYLOAD_HASHES:
        return
    if len(claimed) != 64 or not _HEX.issuperset(claimed):
        if sig.is_s3:
            raise ServiceError(
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER,"
                " STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER "
                "or a valid sha256 value.",
                code="InvalidArgument",
                status=400,
                fields={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": claimed},
            )
        return
    actual = hashlib.sha256(request.body).hexdigest() if request.body else EMPTY_SHA256
    if actual != claimed.lower():
        raise auth_error(
            sig.service,
            "payload_mismatch",
            ClientComputedContentSHA256=claimed,
            S3ComputedContentSHA256=actual,
        )


# ------------------------------------------------------------------------- S3 SigV2 (legacy)

#: Sub-resources that S3's SigV2 canonical resource keeps (botocore's HmacV1Auth.QSAOfInterest).
_V2_SUBRESOURCES = frozenset({
    "accelerate", "acl", "cors", "defaultObjectAcl", "location", "logging", "partNumber",
    "policy", "requestPayment", "torrent", "versioning", "versionId", "versions", "website",
    "uploads", "uploadId", "response-content-type", "response-content-language",
    "response-expires", "response-cache-control", "response-content-disposition",
    "response-content-encoding", "delete", "lifecycle", "tagging", "restore", "storageClass",
    "notification", "replication", "analytics", "metrics", "inventory", "select",
    "select-type", "object-lock",
})


def _parse_v2_header(request: HttpRequest, rest: str) -> SigV4Request:
    access_key, colon, signature = rest.strip().rpartition(":")
    if not colon or not access_key or not signature:
        raise auth_error("s3", "malformed", "The authorization header is malformed; expecting "
                         "\"AWS <AWSAccessKeyId>:<Signature>\".")
    raw_date = request.headers.get("x-amz-date") or request.headers.get("date")
    moment = None
    if raw_date:
        try:
            moment = parsedate_to_datetime(raw_date)
        except (TypeError, ValueError):
            moment = None
    if moment is None:
        raise auth_error("s3", "missing", "AWS authentication requires a valid Date or "
                         "x-amz-date header")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return _v2_request(request, access_key, signature, moment.astimezone(timezone.utc), None,
                       request.headers.get("x-amz-security-token"))


def _parse_v2_query(request: HttpRequest, query: dict[str, str]) -> SigV4Request:
    try:
        expires_at = datetime.fromtimestamp(int(query["Expires"]), timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise auth_error("s3", "malformed_query", "Invalid date (should be seconds since epoch): "
                         f"{query['Expires']}") from None
    return _v2_request(request, query["AWSAccessKeyId"], query["Signature"], expires_at,
                       expires_at, query.get("x-amz-security-token"))


def _v2_request(request: HttpRequest, access_key: str, signature: str, moment: datetime,
                expires_at: datetime | None, token: str | None) -> SigV4Request:
    claimed = request.headers.get("x-amz-content-sha256")
    return SigV4Request(
        access_key=access_key, date="", region="", service="s3", signed_headers=[],
        signature=signature, amz_date=moment, presigned=expires_at is not None,
        expires_seconds=None, payload_hash=claimed or UNSIGNED_PAYLOAD, security_token=token,
        decoded_content_length=_decoded_length(request), algorithm=SIGV2_ALGORITHM,
        expires_at=expires_at,
    )


def _verify_v2(request: HttpRequest, sig: SigV4Request, secret_key: str, now: datetime) -> None:
    """S3's HMAC-SHA1 scheme, rebuilt as botocore's HmacV1Auth / HmacV1QueryAuth sign it."""
    if sig.expires_at is not None:
        if now > sig.expires_at:
            raise auth_error("s3", "expired_presign", None, Expires=_iso(sig.expires_at),
                             ServerTime=_iso(now))
        date_line = str(int(sig.expires_at.timestamp()))
    else:
        if abs(now - sig.amz_date) > MAX_SKEW:
            raise auth_error("s3", "skew", None, RequestTime=request.headers.get("date"),
                             ServerTime=_iso(now), MaxAllowedSkewMilliseconds="900000")
        date_line = request.headers.get("date", "") if "x-amz-date" not in request.headers else ""
    headers = request.headers
    query = request.query_dict() if sig.presigned else {}
    amz: dict[str, str] = {}
    for name, value in headers.items():
        if name.startswith("x-amz-"):
            amz[name] = value.strip()
    for name, value in query.items():
        lname = name.lower()
        if lname.startswith("x-amz-") and lname not in amz:
            amz[lname] = value.strip()
    head = "\n".join([
        request.method.upper(),
        headers.get("content-md5", query.get("content-md5", "")).strip(),
        headers.get("content-type", query.get("content-type", "")).strip(),
        date_line,
        *(f"{name}:{amz[name]}" for name in sorted(amz)),
    ])
    subresources = _v2_subresources(request)
    key = secret_key.encode()
    first = ""
    for path in _v2_resource_paths(request):
        string_to_sign = f"{head}\n{path}{subresources}"
        first = first or string_to_sign
        digest = hmac.digest(key, string_to_sign.encode(), "sha1")
        if hmac.compare_digest(base64.b64encode(digest).decode(), sig.signature):
            _check_payload_claim(request, sig)
            return
    raise auth_error(
        "s3", "bad_signature", None, AWSAccessKeyId=sig.access_key, StringToSign=first,
        SignatureProvided=sig.signature,
        StringToSignBytes=" ".join(f"{b:02x}" for b in first.encode()),
    )


def _v2_subresources(request: HttpRequest) -> str:
    """``?acl&versionId=v``: the sub-resources HmacV1 signs, sorted by name, values decoded."""
    kept: list[tuple[str, str]] = []
    if request.raw_query:
        for item in request.raw_query.split("&"):
            name, eq, value = item.partition("=")
            if name in _V2_SUBRESOURCES:
                kept.append((name, f"{name}={unquote(value)}" if eq else name))
    else:
        for name, value in request.query:
            if name in _V2_SUBRESOURCES:
                kept.append((name, f"{name}={value}" if value else name))
    kept.sort(key=lambda pair: pair[0])
    return "?" + "&".join(text for _, text in kept) if kept else ""


def _v2_resource_paths(request: HttpRequest) -> list[str]:
    """Path-style first; for a virtual-hosted request also ``/<bucket>`` plus the path."""
    path = request.path or "/"
    paths = [path]
    host = request.headers.get("host", "").rsplit(":", 1)[0]
    label = host.split(".", 1)[0]
    if "." in host and label and not host.replace(".", "").isdigit():
        paths.append(f"/{label}{path}")
    return paths
