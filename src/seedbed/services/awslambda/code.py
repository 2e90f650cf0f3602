"""Where deployment packages live: S3, as on AWS.

Lambda keeps each function's zip in a bucket of its own (AWS: a service-owned bucket, handed out as
a presigned ``Code.Location`` by GetFunction). Seedbed does the same with a bucket of the admin
account, ``seedbed-lambda-code-<admin account>-<region>``, created on first use; keys are
``<account>/<function>/<sha256>.zip``. Every replica reads the same bytes, and unpacks them into its
own data directory (:mod:`seedbed.runtime.lambda_.packages`).

Code given as ``Code.S3Bucket``/``S3Key`` is read from the caller's bucket *as the caller*, so S3
permissions and bucket policies apply as they do on AWS.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from seedbed.errors import ServiceError
from seedbed.services.awslambda.errors import InvalidParameterValue, ServiceException

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import Principal

URL_LIFETIME = 600


async def read_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if hasattr(body, "__aiter__"):
        chunks = [chunk async for chunk in body]
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()
        return b"".join(chunks)
    if hasattr(body, "read"):
        return body.read()  # type: ignore[no-any-return]
    return bytes(body)


class CodeStore:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._ready: set[str] = set()
        self._lock = threading.Lock()
        self._client: Any = None

    def admin(self) -> Principal:
        cred = self.backend.credentials.resolve(self.backend.admin_key.access_key_id)
        assert cred is not None
        return cred.principal

    def bucket(self, region: str) -> str:
        return f"seedbed-lambda-code-{self.backend.admin_key.account_id}-{region}"[:63]

    @staticmethod
    def key(account: str, name: str, code_hex: str) -> str:
        return f"{account}/{name}/{code_hex}.zip"

    async def _call(self, operation: str, params: dict[str, Any], region: str) -> dict[str, Any]:
        return await self.backend.call(self.admin(), "s3", operation, params, region)

    async def _ensure_bucket(self, region: str) -> str:
        name = self.bucket(region)
        if name in self._ready:
            return name
        params: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            await self._call("CreateBucket", params, region)
        except ServiceError as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise ServiceException(f"Cannot prepare Lambda's code storage: {exc.message}") from None
        self._ready.add(name)
        return name

    async def put(self, region: str, key: str, data: bytes) -> None:
        bucket = await self._ensure_bucket(region)
        await self._call("PutObject", {"Bucket": bucket, "Key": key, "Body": data}, region)

    async def get(self, region: str, key: str) -> bytes:
        bucket = await self._ensure_bucket(region)
        out = await self._call("GetObject", {"Bucket": bucket, "Key": key}, region)
        return await read_body(out.get("Body"))

    async def delete(self, region: str, key: str) -> None:
        bucket = await self._ensure_bucket(region)
        try:
            await self._call("DeleteObject", {"Bucket": bucket, "Key": key}, region)
        except ServiceError:
            pass

    def location(self, region: str, key: str) -> str:
        """A presigned GET URL for the package, as GetFunction's ``Code.Location``."""
        with self._lock:
            if self._client is None:
                import botocore.session
                from botocore.config import Config

                session = botocore.session.get_session()
                self._client = session.create_client(
                    "s3", region_name=region, endpoint_url=self.backend.settings.endpoint_url,
                    aws_access_key_id=self.backend.admin_key.access_key_id,
                    aws_secret_access_key=self.backend.admin_key.secret_access_key,
                    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
                )
        return str(self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket(region), "Key": key}, ExpiresIn=URL_LIFETIME
        ))


async def fetch_from_s3(backend: Backend, principal: Principal | None, region: str, code: dict[str, Any]) -> bytes:
    """The package at ``S3Bucket``/``S3Key`` (/``S3ObjectVersion``), read as the caller."""
    params: dict[str, Any] = {"Bucket": code["S3Bucket"], "Key": code["S3Key"]}
    if code.get("S3ObjectVersion"):
        params["VersionId"] = code["S3ObjectVersion"]
    try:
        out = await backend.call(principal, "s3", "GetObject", params, region)
    except ServiceError as exc:
        if exc.code in ("AccessDenied", "AccessDeniedException"):
            raise InvalidParameterValue(
                "Your access has been denied by S3, please make sure your request credentials have permission "
                f"to GetObject for {code['S3Bucket']}/{code['S3Key']}. S3 Error Code: AccessDenied. "
                f"S3 Error Message: {exc.message}"
            ) from None
        raise InvalidParameterValue(
            f"Error occurred while GetObject. S3 Error Code: {exc.code}. S3 Error Message: {exc.message}"
        ) from None
    return await read_body(out.get("Body"))
