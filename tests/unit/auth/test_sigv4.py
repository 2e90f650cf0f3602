"""SigV4 verification against what botocore's own signers and real boto3 clients send.

Requests are signed by botocore (``SigV4Auth``, ``S3SigV4Auth``, the query signers) or captured
from a boto3 client by a ``before-send`` hook, turned into an :class:`HttpRequest` as the ASGI
layer would (raw path, decoded query pairs, lower-case headers, ``Host`` added as urllib3 does),
and verified. The clock is frozen so that signatures are reproducible.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import zlib
from dataclasses import replace
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

import boto3
import botocore.auth
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from seedbed.errors import ServiceError
from seedbed.protocol.http import HttpRequest
from seedbed.server.auth import sigv4
from seedbed.server.auth.chunked import decode_aws_chunked
from seedbed.server.auth.sigv4 import (
    SigV4Request,
    auth_error,
    parse_signature,
    verify_signature,
)

ACCESS_KEY = "AKIASEEDBEDTEST00001"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSEEDBEDKEY"
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
CREDS = Credentials(ACCESS_KEY, SECRET)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda *a, **k: NOW.replace(tzinfo=None)
    )


# ----------------------------------------------------------------------------------- helpers


def to_http(prepared: Any, *, keep_raw_query: bool = True) -> HttpRequest:
    """A prepared botocore request as the server sees it on the wire."""
    parts = urlsplit(prepared.url)
    headers: dict[str, str] = {}
    for name, value in prepared.headers.items():
        headers[name.lower()] = value.decode("latin-1") if isinstance(value, bytes) else value
    if "host" not in headers:
        headers["host"] = botocore.auth._host_from_url(prepared.url)
    body = prepared.body
    if body is None:
        body = b""
    elif hasattr(body, "read"):
        body = body.read()
    elif isinstance(body, str):
        body = body.encode()
    query = []
    for item in parts.query.split("&"):
        if item:
            key, _, value = item.partition("=")
            query.append((unquote(key), unquote(value)))
    return HttpRequest(
        method=prepared.method,
        path=parts.path or "/",
        query=query,
        headers=headers,
        body=bytes(body),
        raw_query=parts.query if keep_raw_query else "",
    )


class Captured(Exception):
    def __init__(self, request: Any) -> None:
        super().__init__("captured")
        self.request = request


def _capture_hook(request: Any, **_: Any) -> None:
    raise Captured(request)


def make_client(service: str, endpoint: str = "http://localhost:4566", **config: Any) -> Any:
    client = boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1}, **config),
    )
    client.meta.events.register("before-send", _capture_hook)
    return client


def capture(call: Callable[[], Any], **kwargs: Any) -> HttpRequest:
    """Run a boto3 call and return the request it would have sent."""
    with pytest.raises(Captured) as info:
        call()
    return to_http(info.value.request, **kwargs)


def verify(request: HttpRequest, secret: str = SECRET, now: datetime = NOW) -> SigV4Request:
    sig = parse_signature(request)
    assert sig is not None
    verify_signature(request, sig, secret, now)
    return sig


def expect_error(code: str, request: HttpRequest, secret: str = SECRET,
                 now: datetime = NOW) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        verify(request, secret, now)
    assert info.value.code == code, (info.value.code, info.value.message)
    return info.value


def sign(signer_cls: type, service: str, request: AWSRequest, **kwargs: Any) -> HttpRequest:
    signer_cls(CREDS, service, "us-east-1", **kwargs).add_auth(request)
    return to_http(request.prepare())


# ------------------------------------------------------------------- botocore signers directly


def test_sigv4auth_query_protocol_post() -> None:
    request = AWSRequest(
        method="POST",
        url="https://sts.amazonaws.com/",
        data=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    sig = verify(sign(botocore.auth.SigV4Auth, "sts", request))
    assert (sig.access_key, sig.date, sig.region, sig.service) == (
        ACCESS_KEY, "20240501", "us-east-1", "sts"
    )
    assert sig.amz_date == NOW and not sig.presigned and sig.security_token is None


def test_sigv4auth_trims_and_collapses_header_whitespace() -> None:
    request = AWSRequest(
        method="POST",
        url="https://iam.amazonaws.com/",
        data=b"Action=ListUsers&Version=2010-05-08",
        headers={"X-Custom": "  a   b \t c  ", "Content-Type": "application/x-www-form-urlencoded"},
    )
    verify(sign(botocore.auth.SigV4Auth, "iam", request))


def test_sigv4auth_date_header_instead_of_x_amz_date() -> None:
    request = AWSRequest(
        method="GET", url="https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Date": "whatever"},
    )
    http = sign(botocore.auth.SigV4Auth, "sts", request)
    assert "x-amz-date" not in http.headers
    verify(http)


def test_sigv4auth_session_token_is_signed_and_parsed() -> None:
    request = AWSRequest(method="POST", url="https://sts.amazonaws.com/", data=b"Action=X")
    botocore.auth.SigV4Auth(Credentials(ACCESS_KEY, SECRET, "TOKEN/+="), "sts", "us-east-1"
                            ).add_auth(request)
    sig = verify(to_http(request.prepare()))
    assert sig.security_token == "TOKEN/+="


@pytest.mark.parametrize(
    "path",
    ["/", "/a/./b/../c", "//double//slash/", "/2015-03-31/functions/arn%3Aaws%3Alambda/x",
     "/with%20space/%C3%BC"],
)
def test_sigv4auth_normalizes_and_double_encodes_the_path(path: str) -> None:
    request = AWSRequest(method="GET", url=f"https://lambda.us-east-1.amazonaws.com{path}")
    verify(sign(botocore.auth.SigV4Auth, "lambda", request))


@pytest.mark.parametrize(
    "path", ["/bucket/a%20b", "/bucket/a//b", "/bucket/a/./b/../c", "/bucket/%C3%BC%2B%3D",
             "/bucket/~tilde"],
)
def test_s3sigv4auth_keeps_the_path(path: str) -> None:
    request = AWSRequest(method="GET", url=f"https://s3.amazonaws.com{path}")
    http = sign(botocore.auth.S3SigV4Auth, "s3", request)
    assert http.path == path
    verify(http)


def test_query_string_sorting_and_encoding() -> None:
    url = (
        "https://s3.amazonaws.com/bucket?prefix=a%20b%2Bc%3Dd&list-type=2&acl&"
        "b=2&b=1&start-after=%C3%BC&delimiter=%2F"
    )
    http = sign(botocore.auth.S3SigV4Auth, "s3", AWSRequest(method="GET", url=url))
    verify(http)
    verify(replace(http, raw_query=""))  # the decoded pairs give the same canonical query


def test_sigv4_query_auth_for_sts() -> None:
    request = AWSRequest(
        method="GET", url="https://sts.amazonaws.com/",
        params={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
    )
    http = sign(botocore.auth.SigV4QueryAuth, "sts", request, expires=60)
    sig = verify(http)
    assert sig.presigned and sig.expires_seconds == 60
    expect_error("SignatureDoesNotMatch", http, now=NOW + timedelta(seconds=61))


def test_s3_query_auth() -> None:
    request = AWSRequest(method="GET", url="https://bucket.s3.amazonaws.com/a%20key")
    http = sign(botocore.auth.S3SigV4QueryAuth, "s3", request, expires=300)
    sig = verify(http)
    assert sig.payload_hash == "UNSIGNED-PAYLOAD"
    http.body = b"anything"  # presigned S3 does not sign the payload
    verify(http)


# ------------------------------------------------------------------- AWS documentation vectors


def test_aws_documented_s3_get_object_example() -> None:
    """The GET Object example of the S3 SigV4 documentation (header auth)."""
    http = HttpRequest(
        method="GET",
        path="/test.txt",
        headers={
            "host": "examplebucket.s3.amazonaws.com",
            "range": "bytes=0-9",
            "x-amz-content-sha256": sigv4.EMPTY_SHA256,
            "x-amz-date": "20130524T000000Z",
            "authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
            "us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;"
            "x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        },
    )
    verify(http, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
           datetime(2013, 5, 24, tzinfo=timezone.utc))


def test_aws_documented_presigned_example() -> None:
    raw = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
        "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
        "X-Amz-SignedHeaders=host&X-Amz-Signature="
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
    http = HttpRequest(
        method="GET", path="/test.txt",
        query=[(unquote(k), unquote(v)) for k, _, v in (p.partition("=") for p in raw.split("&"))],
        headers={"host": "examplebucket.s3.amazonaws.com"}, raw_query=raw,
    )
    verify(http, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
           datetime(2013, 5, 24, 1, tzinfo=timezone.utc))


DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
DOC_CHUNK_SIGS = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
]


def _doc_chunked_request() -> HttpRequest:
    body = (
        b"10000;chunk-signature=" + DOC_CHUNK_SIGS[0].encode() + b"\r\n" + b"a" * 65536 + b"\r\n"
        + b"400;chunk-signature=" + DOC_CHUNK_SIGS[1].encode() + b"\r\n" + b"a" * 1024 + b"\r\n"
        + b"0;chunk-signature=" + DOC_CHUNK_SIGS[2].encode() + b"\r\n\r\n"
    )
    assert len(body) == 66824
    return HttpRequest(
        method="PUT",
        path="/examplebucket/chunkObject.txt",
        headers={
            "host": "s3.amazonaws.com",
            "x-amz-date": "20130524T000000Z",
            "x-amz-storage-class": "REDUCED_REDUNDANCY",
            "authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
            "us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;"
            "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"
            f"Signature={DOC_SEED}",
            "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "content-encoding": "aws-chunked",
            "x-amz-decoded-content-length": "66560",
            "content-length": "66824",
        },
        body=body,
    )


def test_aws_documented_signed_chunked_upload() -> None:
    http = _doc_chunked_request()
    sig = verify(http, DOC_SECRET, datetime(2013, 5, 24, tzinfo=timezone.utc))
    assert sig.decoded_content_length == 66560
    data, trailers = decode_aws_chunked(http.body, sig, DOC_SECRET)
    assert data == b"a" * 66560 and trailers == {}


def test_signed_chunk_tampering_is_detected() -> None:
    http = _doc_chunked_request()
    sig = verify(http, DOC_SECRET, datetime(2013, 5, 24, tzinfo=timezone.utc))
    tampered = http.body.replace(b"a" * 1024, b"a" * 1023 + b"b")
    with pytest.raises(ServiceError) as info:
        decode_aws_chunked(tampered, sig, DOC_SECRET)
    assert info.value.code == "SignatureDoesNotMatch"
    with pytest.raises(ServiceError) as info:
        decode_aws_chunked(http.body, sig, "wrong-secret")
    assert info.value.code == "SignatureDoesNotMatch"
    # Dropping the final chunk is an incomplete body, not a valid shorter object.
    truncated = http.body[: http.body.index(b"0;chunk-signature")]
    with pytest.raises(ServiceError) as info:
        decode_aws_chunked(truncated, sig, DOC_SECRET)
    assert info.value.code == "IncompleteBody"


def _sign_chunks(sig: SigV4Request, secret: str, chunks: list[bytes],
                 trailers: dict[str, str] | None = None) -> bytes:
    """A signed aws-chunked body, written from the AWS specification independently."""
    key = sigv4.signing_key(secret, sig.date, sig.region, sig.service)
    previous = sig.signature
    out = b""
    for chunk in [*chunks, b""]:
        text = "\n".join([
            "AWS4-HMAC-SHA256-PAYLOAD", sig.timestamp, sig.scope, previous,
            hashlib.sha256(b"").hexdigest(), hashlib.sha256(chunk).hexdigest(),
        ])
        previous = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        out += f"{len(chunk):x};chunk-signature={previous}\r\n".encode() + chunk
        out += b"\r\n" if chunk or trailers is None else b""
    if trailers is not None:
        canonical = "".join(f"{k}:{v}\n" for k, v in trailers.items())
        text = "\n".join([
            "AWS4-HMAC-SHA256-TRAILER", sig.timestamp, sig.scope, previous,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ])
        signature = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        for k, v in trailers.items():
            out += f"{k}:{v}\r\n".encode()
        out += f"x-amz-trailer-signature:{signature}\r\n\r\n".encode()
    return out


def test_signed_chunks_with_signed_trailer() -> None:
    sig = SigV4Request(
        ACCESS_KEY, "20240501", "us-east-1", "s3", ["host"], "0" * 64, NOW, False, None,
        sigv4.STREAMING_PAYLOAD_TRAILER, None, decoded_content_length=12,
    )
    body = _sign_chunks(sig, SECRET, [b"hello ", b"world!"], {"x-amz-checksum-crc32": "AAAA"})
    data, trailers = decode_aws_chunked(body, sig, SECRET)
    assert data == b"hello world!" and trailers == {"x-amz-checksum-crc32": "AAAA"}
    with pytest.raises(ServiceError):
        decode_aws_chunked(body.replace(b"AAAA", b"AAAB"), sig, SECRET)
    with pytest.raises(ServiceError) as info:
        decode_aws_chunked(body, replace(sig, decoded_content_length=13), SECRET)
    assert info.value.code == "IncompleteBody"


# ----------------------------------------------------------------------- real boto3 clients


BOTO3_CALLS: dict[str, Callable[[], HttpRequest]] = {
    "sts.GetCallerIdentity": lambda: capture(make_client("sts").get_caller_identity),
    "sts.AssumeRole": lambda: capture(lambda: make_client("sts").assume_role(
        RoleArn="arn:aws:iam::123456789012:role/r", RoleSessionName="s+s=s@x",
        Policy='{"Version": "2012-10-17"}')),
    "iam.CreateUser": lambda: capture(lambda: make_client("iam").create_user(
        UserName="alice", Path="/team/", Tags=[{"Key": "ü k", "Value": "a b+c"}])),
    "sagemaker.ListModelPackageGroups": lambda: capture(
        lambda: make_client("sagemaker").list_model_package_groups(NameContains="x")),
    "sagemaker.CreateModelPackageGroup": lambda: capture(
        lambda: make_client("sagemaker").create_model_package_group(
            ModelPackageGroupName="g", ModelPackageGroupDescription="ünïcode ✓")),
    "lambda.Invoke": lambda: capture(lambda: make_client("lambda").invoke(
        FunctionName="arn:aws:lambda:us-east-1:123456789012:function:f", Payload=b'{"a": 1}')),
    "lambda.ListFunctions": lambda: capture(
        lambda: make_client("lambda").list_functions(MaxItems=5, Marker="a+b=c d/é")),
    "s3.ListObjectsV2": lambda: capture(lambda: make_client("s3").list_objects_v2(
        Bucket="bucket", Prefix="a b+c=d//ü/", Delimiter="/", StartAfter="~x*y")),
    "s3.GetObject.virtual": lambda: capture(lambda: make_client(
        "s3", "http://s3.localhost.localstack.cloud:4566", s3={"addressing_style": "virtual"}
    ).get_object(Bucket="bucket", Key="dir/a b.txt", Range="bytes=0-9")),
    "s3.PutBucketTagging": lambda: capture(lambda: make_client("s3").put_bucket_tagging(
        Bucket="bucket", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})),
}


@pytest.mark.parametrize("name", sorted(BOTO3_CALLS))
def test_boto3_requests_verify(name: str) -> None:
    http = BOTO3_CALLS[name]()
    sig = verify(http)
    assert sig.service == name.split(".")[0]
    if http.query:
        verify(replace(http, raw_query=""))


S3_KEYS = [
    "plain.txt", "with space.txt", "ünïcödé/ключ/键.bin", "a//b///c", "a+b=c&d", "../dots/./x",
    "~tilde!*'()", "%percent%20", "semi;colon:at@dollar$comma,", "trailing/",
]


@pytest.mark.parametrize("key", S3_KEYS)
def test_boto3_s3_put_object_over_http(key: str) -> None:
    """Over HTTP botocore signs the body (hex x-amz-content-sha256) and sends CRC32 as a header."""
    body = b"hello seedbed " * 10
    http = capture(lambda: make_client("s3").put_object(Bucket="bucket", Key=key, Body=body))
    assert http.body == body
    sig = verify(http)
    assert sig.payload_hash == hashlib.sha256(body).hexdigest()
    assert "x-amz-checksum-crc32" in http.headers
    http.body = body + b"!"
    err = expect_error("XAmzContentSHA256Mismatch", http)
    assert err.status == 400


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.text(min_size=1, max_size=30), prefix=st.text(max_size=20),
       marker=st.text(max_size=20))
def test_any_key_and_query_value_verifies(key: str, prefix: str, marker: str) -> None:
    s3, lam = _clients()
    verify(capture(lambda: s3.get_object(Bucket="bucket", Key=key)))
    verify(capture(lambda: s3.list_objects_v2(Bucket="bucket", Prefix=prefix)))
    verify(capture(lambda: lam.list_functions(Marker=marker)))


@lru_cache(maxsize=1)
def _clients() -> tuple[Any, Any]:
    return make_client("s3"), make_client("lambda")


@pytest.mark.parametrize("key", S3_KEYS[:4])
def test_boto3_s3_put_object_over_https_uses_unsigned_trailer(key: str) -> None:
    body = bytes(range(256)) * 5000  # > 1 MiB: several chunks
    http = capture(lambda: make_client("s3", "https://localhost:4566").put_object(
        Bucket="bucket", Key=key, Body=body))
    assert http.headers["content-encoding"] == "aws-chunked"
    sig = verify(http)
    assert sig.payload_hash == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert sig.decoded_content_length == len(body)
    data, trailers = decode_aws_chunked(http.body, sig, SECRET)
    assert data == body
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert trailers == {"x-amz-checksum-crc32": crc}


def test_empty_and_malformed_unsigned_chunked_bodies() -> None:
    http = capture(lambda: make_client("s3", "https://localhost:4566").put_object(
        Bucket="bucket", Key="empty", Body=b""))
    sig = verify(http)
    data, trailers = decode_aws_chunked(http.body, sig, SECRET)
    assert data == b"" and trailers == {"x-amz-checksum-crc32": "AAAAAA=="}
    for broken in (b"zz\r\nabc\r\n0\r\n\r\n", b"-1\r\n\r\n", b"5\r\nabc",
                   b"3\r\nabcX0\r\n\r\n", b"3\r\nabc\r\n0\r\nno-colon\r\n\r\n"):
        with pytest.raises(ServiceError) as info:
            decode_aws_chunked(broken, replace(sig, decoded_content_length=None), SECRET)
        assert info.value.code in ("IncompleteBody", "InvalidRequest")


def test_boto3_s3_upload_part_over_https() -> None:
    body = b"x" * 1000
    http = capture(lambda: make_client("s3", "https://localhost:4566").upload_part(
        Bucket="bucket", Key="k", UploadId="u+id=", PartNumber=3, Body=body))
    sig = verify(http)
    assert decode_aws_chunked(http.body, sig, SECRET)[0] == body


def presigned_request(url: str, method: str, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> HttpRequest:
    """What a plain HTTP client (curl, requests) sends for a presigned URL."""
    parts = urlsplit(url)
    query = [(unquote(k), unquote(v)) for k, _, v in (p.partition("=") for p in
                                                        parts.query.split("&"))]
    return HttpRequest(
        method=method, path=parts.path, query=query, raw_query=parts.query,
        headers={"host": parts.netloc, "user-agent": "curl/8", **(headers or {})}, body=body,
    )


PRESIGN_STYLES = {
    # boto3's default in us-east-1 (and other pre-2014 regions) is still SigV2 for presigning.
    "default-sigv2": {},
    "s3v4": {"signature_version": "s3v4"},
    "s3v4-virtual": {"signature_version": "s3v4", "s3": {"addressing_style": "virtual"}},
    "sigv2-virtual": {"s3": {"addressing_style": "virtual"}},
}


@pytest.mark.parametrize("style", sorted(PRESIGN_STYLES))
@pytest.mark.parametrize("method", ["get_object", "put_object"])
@pytest.mark.parametrize("key", ["a b/ü//+=.txt", "simple"])
def test_boto3_presigned_urls(style: str, method: str, key: str, monkeypatch: pytest.MonkeyPatch
                              ) -> None:
    monkeypatch.setattr(time, "time", lambda: NOW.timestamp())  # SigV2 reads time.time()
    client = make_client("s3", "http://s3.localhost.localstack.cloud:4566",
                         **PRESIGN_STYLES[style])
    url = client.generate_presigned_url(
        method, Params={"Bucket": "bucket", "Key": key}, ExpiresIn=900
    )
    assert ("X-Amz-Signature=" in url) == style.startswith("s3v4")
    http = presigned_request(url, "GET" if method == "get_object" else "PUT",
                             b"" if method == "get_object" else b"uploaded by curl")
    sig = verify(http)
    assert sig.presigned and sig.service == "s3" and sig.access_key == ACCESS_KEY
    verify(http, now=NOW + timedelta(seconds=899))
    err = expect_error("AccessDenied", http, now=NOW + timedelta(seconds=901))
    assert err.message == "Request has expired" and err.status == 403
    # Changing the path or method breaks it.
    expect_error("SignatureDoesNotMatch", replace(http, path=http.path + "x"))
    expect_error("SignatureDoesNotMatch", replace(http, method="DELETE"))
    if style.startswith("s3v4"):
        assert sig.expires_seconds == 900
        # An x-amz-* header the URL did not sign is refused.
        expect_error("AccessDenied",
                     replace(http, headers={**http.headers, "x-amz-acl": "public-read"}))
    else:
        expect_error("SignatureDoesNotMatch",
                     replace(http, headers={**http.headers, "x-amz-acl": "public-read"}))


def test_sigv2_presign_with_session_token_and_subresources(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setattr(time, "time", lambda: NOW.timestamp())
    client = boto3.client("s3", endpoint_url="http://localhost:4566", region_name="us-east-1",
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET,
                          aws_session_token="FQoGZXIvYXdzE+/=")
    url = client.generate_presigned_url("get_object", Params={
        "Bucket": "b", "Key": "k", "VersionId": "v1+2",
        "ResponseContentDisposition": "attachment; filename=\"a b.txt\""})
    sig = verify(presigned_request(url, "GET"))
    assert sig.security_token == "FQoGZXIvYXdzE+/="


def test_sigv2_header_auth() -> None:
    """signature_version='s3' clients sign headers with HMAC-SHA1."""
    request = AWSRequest(method="PUT", url="https://s3.amazonaws.com/bucket/a%20b?acl",
                         headers={"x-amz-acl": "private", "Content-Type": "text/plain"},
                         data=b"x")
    botocore.auth.HmacV1Auth(CREDS).add_auth(request)
    http = to_http(request.prepare())
    sig = verify(http, now=datetime.now(timezone.utc))
    assert sig.algorithm == "AWS" and not sig.presigned
    verify(replace(http, raw_query=""), now=datetime.now(timezone.utc))
    expect_error("RequestTimeTooSkewed", http, now=datetime.now(timezone.utc) + timedelta(hours=1))
    http.headers["x-amz-acl"] = "public-read"
    expect_error("SignatureDoesNotMatch", http, now=datetime.now(timezone.utc))


def test_presign_longer_than_a_week_is_refused() -> None:
    url = make_client("s3", signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=604801
    )
    http = presigned_request(url, "GET")
    with pytest.raises(ServiceError) as info:
        parse_signature(http)
    assert info.value.code == "AuthorizationQueryParametersError"


def test_aws_cli_requests_verify(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    """The AWS CLI (v1, in-process) signs exactly like boto3: sts, s3 cp, s3api, s3 presign."""
    from awscli.clidriver import create_clidriver

    for name, value in {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET,
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
                        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}.items():
        monkeypatch.setenv(name, value)
    sent: list[HttpRequest] = []

    def hook(request: Any, **_: Any) -> None:
        sent.append(to_http(request))  # now: s3transfer's body is unreadable once it failed
        raise Captured(request)

    driver = create_clidriver()
    driver.session.register("before-send", hook)
    upload = tmp_path / "upload.bin"
    upload.write_bytes(b"hello cli " * 100)
    endpoint = ["--endpoint-url", "https://localhost:4566"]
    driver.main([*endpoint, "sts", "get-caller-identity"])
    driver.main([*endpoint, "s3", "cp", str(upload), "s3://bucket/dir/a b+c.txt"])
    driver.main([*endpoint, "s3api", "list-objects-v2", "--bucket", "b", "--prefix", "x y/ü"])
    capsys.readouterr()
    monkeypatch.setattr(time, "time", lambda: NOW.timestamp())  # SigV2 presign reads the clock
    driver.main([*endpoint, "s3", "presign", "s3://bucket/dir/k ü"])
    url = capsys.readouterr().out.strip()
    assert len(sent) == 3
    for http in sent:
        sig = verify(http)
        if sig.payload_hash.startswith("STREAMING-"):
            assert decode_aws_chunked(http.body, sig, SECRET)[0] == upload.read_bytes()
    verify(presigned_request(url, "GET"))


# ------------------------------------------------------------------------------ failures


FAMILY_CODES = {
    "sts": "SignatureDoesNotMatch",
    "iam": "SignatureDoesNotMatch",
    "sagemaker": "InvalidSignatureException",
    "lambda": "InvalidSignatureException",
    "s3": "SignatureDoesNotMatch",
}


@pytest.mark.parametrize("name", sorted(BOTO3_CALLS))
def test_wrong_secret(name: str) -> None:
    err = expect_error(FAMILY_CODES[name.split(".")[0]], BOTO3_CALLS[name](), secret=SECRET + "x")
    assert err.status == 403
    assert "The request signature we calculated does not match" in err.message


@pytest.mark.parametrize("name", ["sts.AssumeRole", "iam.CreateUser",
                                  "sagemaker.CreateModelPackageGroup", "lambda.Invoke"])
def test_tampered_body(name: str) -> None:
    http = BOTO3_CALLS[name]()
    http.body = http.body + b" "
    expect_error(FAMILY_CODES[name.split(".")[0]], http)


@pytest.mark.parametrize("name", sorted(BOTO3_CALLS))
def test_tampered_header(name: str) -> None:
    http = BOTO3_CALLS[name]()
    http.headers["host"] = "evil.example.com"
    expect_error(FAMILY_CODES[name.split(".")[0]], http)


@pytest.mark.parametrize("name", ["s3.ListObjectsV2", "lambda.ListFunctions"])
def test_tampered_query(name: str) -> None:
    http = BOTO3_CALLS[name]()
    http.raw_query = http.raw_query.replace("a", "b", 1)
    expect_error(FAMILY_CODES[name.split(".")[0]], http)
    http = BOTO3_CALLS[name]()
    http.raw_query += "&extra=1"
    expect_error(FAMILY_CODES[name.split(".")[0]], http)


@pytest.mark.parametrize(
    ("name", "code"),
    [("s3.ListObjectsV2", "RequestTimeTooSkewed"), ("sts.GetCallerIdentity",
     "SignatureDoesNotMatch"), ("sagemaker.ListModelPackageGroups", "InvalidSignatureException")],
)
@pytest.mark.parametrize("offset", [timedelta(minutes=16), -timedelta(minutes=16)])
def test_clock_skew(name: str, code: str, offset: timedelta) -> None:
    http = BOTO3_CALLS[name]()
    verify(http, now=NOW + timedelta(minutes=14))
    verify(http, now=NOW - timedelta(minutes=14))
    err = expect_error(code, http, now=NOW + offset)
    if name.startswith("s3"):
        assert err.fields["MaxAllowedSkewMilliseconds"] == "900000"
    else:
        assert err.message.startswith(
            "Signature expired" if offset > timedelta(0) else "Signature not yet current"
        )


def test_s3_unsigned_amz_header_is_refused() -> None:
    http = BOTO3_CALLS["s3.ListObjectsV2"]()
    http.headers["x-amz-meta-sneaky"] = "1"
    err = expect_error("AccessDenied", http)
    assert err.fields["HeadersNotSigned"] == "x-amz-meta-sneaky"


def test_s3_bad_signature_reports_the_canonical_request() -> None:
    err = expect_error("SignatureDoesNotMatch", BOTO3_CALLS["s3.ListObjectsV2"](), secret="no")
    assert err.fields["AWSAccessKeyId"] == ACCESS_KEY
    assert err.fields["CanonicalRequest"].startswith("GET\n/bucket\n")
    err = expect_error("SignatureDoesNotMatch", BOTO3_CALLS["sts.GetCallerIdentity"](), secret="no")
    assert "The Canonical String for this request should have been" in err.message
    assert err.fields == {}


def test_s3_invalid_content_sha256_value() -> None:
    request = AWSRequest(method="GET", url="https://s3.amazonaws.com/bucket",
                         headers={"X-Amz-Content-SHA256": "nonsense"})
    botocore.auth.SigV4Auth(CREDS, "s3", "us-east-1").add_auth(request)
    expect_error("InvalidArgument", to_http(request.prepare()))


def test_scope_date_must_match_request_date() -> None:
    http = BOTO3_CALLS["sts.GetCallerIdentity"]()
    auth = http.headers["authorization"]
    http.headers["authorization"] = auth.replace("/20240501/", "/20240502/")
    expect_error("IncompleteSignature", http)


# ------------------------------------------------------------------------------- parsing


def test_anonymous_request_has_no_signature() -> None:
    assert parse_signature(HttpRequest("GET", "/bucket/key", headers={"host": "x"})) is None
    assert parse_signature(HttpRequest("GET", "/b", [("prefix", "a")], {}, b"", "prefix=a")) is None


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/sts/aws4_request, Signature=ab",
         "IncompleteSignature"),
        ("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=ab", "IncompleteSignature"),
        ("AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/sts/aws5_request, "
         "SignedHeaders=host, Signature=ab", "IncompleteSignature"),
        ("AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/sagemaker/aws4_request, "
         "SignedHeaders=host", "IncompleteSignatureException"),
        ("AWS4-HMAC-SHA256 Credential=AKID/20240501/s3/aws4_request, SignedHeaders=host, "
         "Signature=ab", "AuthorizationHeaderMalformed"),
        ("AWS4-HMAC-SHA256 Credential=AKID/20240501/sts/aws4_request, SignedHeaders=host, "
         "Signature=ab", "IncompleteSignature"),
        ("AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/s3/aws5_request, "
         "SignedHeaders=host, Signature=ab", "AuthorizationHeaderMalformed"),
        ("AWS4-HMAC-SHA256 Credential=/20240501/us-east-1/s3/aws4_request, "
         "SignedHeaders=host, Signature=ab", "AuthorizationHeaderMalformed"),
        ("AWS4-ECDSA-P256-SHA256 Credential=AKID/20240501/s3/aws4_request, SignedHeaders=host, "
         "Signature=ab", "InvalidRequest"),
    ],
)
def test_malformed_and_unsupported_authorization(authorization: str, code: str) -> None:
    http = HttpRequest("GET", "/", headers={"authorization": authorization,
                                            "x-amz-date": "20240501T120000Z"})
    with pytest.raises(ServiceError) as info:
        parse_signature(http)
    assert info.value.code == code
    assert info.value.status == 400


def test_query_sigv2_of_other_services_is_unsupported() -> None:
    http = HttpRequest("GET", "/", [("Action", "GetCallerIdentity"), ("AWSAccessKeyId", "AKID"),
                                    ("SignatureVersion", "2"), ("Signature", "x")], {}, b"", "")
    with pytest.raises(ServiceError) as info:
        parse_signature(http)
    assert info.value.code == "IncompleteSignature"


def test_missing_date_header() -> None:
    http = HttpRequest("GET", "/", headers={
        "authorization": "AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/sts/aws4_request, "
        "SignedHeaders=host, Signature=ab"})
    with pytest.raises(ServiceError) as info:
        parse_signature(http)
    assert info.value.code == "IncompleteSignature"


@pytest.mark.parametrize(
    ("service", "kind", "code", "status"),
    [
        ("s3", "unknown_key", "InvalidAccessKeyId", 403),
        ("sts", "unknown_key", "InvalidClientTokenId", 403),
        ("iam", "unknown_key", "InvalidClientTokenId", 403),
        ("sagemaker", "unknown_key", "UnrecognizedClientException", 403),
        ("lambda", "unknown_key", "UnrecognizedClientException", 403),
        ("s3", "bad_signature", "SignatureDoesNotMatch", 403),
        ("cloudformation", "bad_signature", "SignatureDoesNotMatch", 403),
        ("kms", "bad_signature", "InvalidSignatureException", 403),
        ("s3", "expired_presign", "AccessDenied", 403),
        ("s3", "expired_token", "ExpiredToken", 400),
        ("sts", "expired_token", "ExpiredToken", 403),
        ("logs", "expired_token", "ExpiredTokenException", 403),
        ("s3", "skew", "RequestTimeTooSkewed", 403),
        ("sts", "skew", "SignatureDoesNotMatch", 403),
        ("s3", "malformed", "AuthorizationHeaderMalformed", 400),
        ("iam", "malformed", "IncompleteSignature", 400),
        ("s3", "missing", "AccessDenied", 403),
        ("sts", "missing", "MissingAuthenticationToken", 403),
        ("codebuild", "missing", "MissingAuthenticationTokenException", 403),
        ("s3", "payload_mismatch", "XAmzContentSHA256Mismatch", 400),
        ("not-a-service", "unknown_key", "UnrecognizedClientException", 403),
    ],
)
def test_auth_error_vocabulary(service: str, kind: str, code: str, status: int) -> None:
    err = auth_error(service, kind)
    assert isinstance(err, ServiceError)
    assert (err.code, err.status) == (code, status)
    assert err.message
    assert auth_error(service, kind, "custom").message == "custom"


def test_auth_error_messages_match_aws() -> None:
    assert auth_error("sts", "unknown_key").message == (
        "The security token included in the request is invalid."
    )
    assert auth_error("s3", "unknown_key").message == (
        "The AWS Access Key Id you provided does not exist in our records."
    )
    assert auth_error("sagemaker", "bad_signature").message == (
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details."
    )


# ---------------------------------------------------------------------------- performance


def test_verification_is_fast() -> None:
    """A small signed request verifies in well under 50 microseconds (loose bound for CI)."""
    http = BOTO3_CALLS["sagemaker.ListModelPackageGroups"]()
    verify(http)
    rounds = 2000
    start = time.perf_counter()
    for _ in range(rounds):
        sig = parse_signature(http)
        assert sig is not None
        verify_signature(http, sig, SECRET, NOW)
    per_request = (time.perf_counter() - start) / rounds
    assert per_request < 250e-6, per_request
