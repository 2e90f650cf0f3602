"""What every S3 operation shares: the storage, bucket look-up and access checks, output shapes.

:class:`S3Base` is the provider's foundation; the operations live in ``bucket_ops``,
``object_ops`` and ``multipart`` and are put together in :mod:`seedbed.services.s3.provider`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.engine import Row

from seedbed.server.context import INTERNAL_SOURCE, RequestContext
from seedbed.services.base import Provider
from seedbed.services.s3 import conditions, encryption, policy, sse_kms, store, validation
from seedbed.services.s3.blobs import RemoteConfig, open_blob_store, sweep_orphans
from seedbed.services.s3.errors import access_denied, error, invalid_argument, no_such_bucket
from seedbed.services.s3.storage import BlobRef, ObjectStorage
from seedbed.state import arns

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

log = logging.getLogger(__name__)

DEFAULT_CONTENT_TYPE = "binary/octet-stream"
#: Standard headers an object keeps, as PutObject members.
STORED_HEADERS = (
    "ContentType",
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "Expires",
    "WebsiteRedirectLocation",
)
_VERSION_ID = re.compile(r"^[A-Za-z0-9._-]{1,1024}$")
#: Seconds a replica may serve a bucket's default-encryption or CORS document from memory. Writes
#: through this replica take effect at once; other replicas see them within this time.
CONFIG_TTL = 2.0
#: Canned ACLs a bucket with ObjectOwnership=BucketOwnerEnforced (S3's default) still accepts.
OWNER_ACLS = frozenset({"private", "bucket-owner-full-control"})
#: Nothing cached (a cached value may itself be None).
_MISS = object()




def is_internal(ctx: RequestContext) -> bool:
    """Seedbed itself calling without a principal (trusted, as the IAM authorizer trusts it)."""
    return ctx.principal is None and ctx.source_ip == INTERNAL_SOURCE


def caller_account(ctx: RequestContext, default: str) -> str:
    """The account a request acts for; AccessDenied for an anonymous caller."""
    if ctx.principal is not None:
        return ctx.principal.account_id
    if is_internal(ctx):
        return ctx.account_id or default
    raise access_denied()


def new_version_id() -> str:
    return secrets.token_urlsafe(24)


def canonical_id(account_id: str) -> str:
    """A stable 64-hex-digit canonical user id per account, like S3's."""
    return hashlib.sha256(f"seedbed-canonical-user:{account_id}".encode()).hexdigest()


def owner(account_id: str) -> dict[str, str]:
    return {"ID": canonical_id(account_id), "DisplayName": f"account-{account_id}"}


def owner_acl(account_id: str) -> dict[str, Any]:
    """The only ACL a bucket-owner-enforced bucket or object has: the owner's FULL_CONTROL."""
    holder = owner(account_id)
    return {
        "Owner": holder,
        "Grants": [{"Grantee": {"Type": "CanonicalUser", **holder}, "Permission": "FULL_CONTROL"}],
    }


def is_owner_call(ctx: RequestContext, bucket: Row) -> bool:
    """The bucket's own account (or Seedbed itself) is calling: no bucket policy to consult."""
    principal = ctx.principal
    return (principal is not None and principal.account_id == bucket.account_id) or is_internal(ctx)


def check_expected_owner(bucket: Row, params: dict[str, Any] | None) -> None:
    expected = (params or {}).get("ExpectedBucketOwner")
    if expected is not None and expected != bucket.account_id:
        raise access_denied()


def quoted(etag: str) -> str:
    return f'"{etag}"'


def check_version_id(version_id: str | None) -> str | None:
    if version_id is None or version_id == "null":
        return version_id
    if not _VERSION_ID.match(version_id):
        raise invalid_argument("Invalid version id specified", "versionId", version_id)
    return version_id


def stored_headers(params: dict[str, Any]) -> dict[str, Any]:
    """The standard headers to keep with an object, from PutObject-shaped params."""
    out: dict[str, Any] = {}
    for name in STORED_HEADERS:
        value = params.get(name)
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        if name == "ContentEncoding":
            parts = [p.strip() for p in str(value).split(",") if p.strip() and p.strip() != "aws-chunked"]
            if not parts:
                continue
            value = ",".join(parts)
        out[name] = value
    return out


def header_members(headers: dict[str, Any] | None) -> dict[str, Any]:
    """Stored headers back as GetObject/HeadObject members."""
    out = dict(headers or {})
    out.setdefault("ContentType", DEFAULT_CONTENT_TYPE)
    expires = out.get("Expires")
    if isinstance(expires, str):
        try:
            out["Expires"] = datetime.fromisoformat(expires)
        except ValueError:
            out.pop("Expires")
    return out


def _first(*values: str | None) -> str:
    return next(v for v in values if v is not None)


def remote_config(settings: Any) -> RemoteConfig | None:
    """The external blob store from settings (``s3_backend_url`` ...) or the environment."""
    url = getattr(settings, "s3_backend_url", None)
    if url:
        return RemoteConfig(
            endpoint_url=url,
            bucket=getattr(settings, "s3_backend_bucket", None) or RemoteConfig.bucket,
            prefix=_first(getattr(settings, "s3_backend_prefix", None), os.environ.get("SEEDBED_S3_BACKEND_PREFIX"), RemoteConfig.prefix),
            access_key_id=getattr(settings, "s3_backend_access_key_id", None),
            secret_access_key=getattr(settings, "s3_backend_secret_access_key", None),
            region=getattr(settings, "s3_backend_region", None) or RemoteConfig.region,
        )
    return RemoteConfig.from_env()


class S3Base(Provider):
    service = "s3"

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        settings = backend.settings
        self.db = backend.db
        self.started = time.time()
        blobs = open_blob_store(settings.data_dir, remote_config(settings))
        keyring = encryption.KeyRing(encryption.load_master_key(settings.data_dir))
        self.storage = ObjectStorage(blobs, keyring)
        self.local = blobs.delete_delay == 0
        self._configs: dict[tuple[str, str], tuple[float, Any]] = {}
        self._sweeper = threading.Thread(target=self._sweep, name="seedbed-s3-sweep", daemon=True)
        self._sweeper.start()

    def _sweep(self) -> None:
        """Remove blobs a crash left unreferenced (runs once, beside the first requests)."""
        try:
            sweep_orphans(self.storage.blobs, lambda: store.referenced_blob_ids(self.db), self.started)
        except Exception:
            log.warning("the S3 orphan sweep failed; it will run again at the next start", exc_info=True)

    def close(self) -> None:
        self._sweeper.join(timeout=30)
        self.storage.close()

    # --- buckets and access ------------------------------------------------------------------

    def bucket(
        self,
        conn: Connection,
        ctx: RequestContext,
        name: str,
        action: str,
        key: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Row:
        """The bucket row, once the caller may perform ``action`` on it (or on ``key`` in it)."""
        row = store.get_bucket(conn, name)
        if row is None:
            raise no_such_bucket(name)
        self.authorize(conn, ctx, row, action, key)
        check_expected_owner(row, params)
        return row

    def authorize(self, conn: Connection, ctx: RequestContext, bucket: Row, action: str, key: str | None = None) -> None:
        """The bucket's own account may act (IAM decides within it, once it lands); anyone else
        needs a bucket policy that allows them."""
        if is_owner_call(ctx, bucket):
            return
        principal = ctx.principal
        configs = store.get_configs(conn, bucket.name, ("policy", "public-access-block"))
        document = configs.get("policy")
        block = configs.get("public-access-block") or {}
        resource = arns.build("s3", f"{bucket.name}/{key}" if key is not None else bucket.name)
        decision = policy.evaluate(
            document and document.get("document"),
            principal,
            action,
            resource,
            ignore_public=bool(block.get("RestrictPublicBuckets")),
        )
        if decision != "Allow":
            raise access_denied()

    def cached_config(self, conn: Connection, bucket: str, kind: str) -> Any:
        """A configuration document read through a short-lived cache (see :data:`CONFIG_TTL`).

        Only for documents on the hot path whose brief staleness is harmless (default
        encryption, CORS); access decisions (policy, public access block) always read the table.
        """
        value = self._cached(bucket, kind)
        if value is _MISS:
            value = store.get_config(conn, bucket, kind)
            self._remember(bucket, kind, value)
        return value

    def _cached(self, bucket: str, kind: str) -> Any:
        """What :meth:`_remember` kept for (bucket, kind) less than :data:`CONFIG_TTL` ago, or _MISS."""
        hit = self._configs.get((bucket, kind))
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return _MISS

    def _remember(self, bucket: str, kind: str, value: Any) -> None:
        self._configs[(bucket, kind)] = (time.monotonic() + CONFIG_TTL, value)

    def forget_configs(self, bucket: str) -> None:
        for cached in [k for k in self._configs if k[0] == bucket]:
            self._configs.pop(cached, None)

    def cors_rules(self, bucket: str) -> tuple[bool, list[dict[str, Any]] | None]:
        """(bucket exists, its CORS rules or None): what the CORS hooks need."""
        now = time.monotonic()
        hit = self._configs.get((bucket, "cors-hook"))
        if hit is not None and hit[0] > now:
            return hit[1]
        with self.db.connect() as conn:
            if store.get_bucket(conn, bucket) is None:
                answer: tuple[bool, list[dict[str, Any]] | None] = (False, None)
            else:
                answer = (True, (store.get_config(conn, bucket, "cors") or {}).get("CORSRules"))
        self._configs[(bucket, "cors-hook")] = (now + CONFIG_TTL, answer)
        return answer

    # --- the write path shared by PutObject, CopyObject and multipart uploads -------------

    def prepare_write(
        self, ctx: RequestContext, params: dict[str, Any], action: str = "s3:PutObject", cached_bucket: bool = False
    ) -> tuple[Row, dict[str, Any]]:
        """Checks before any byte is stored; returns the bucket and the new version's fields.

        With ``cached_bucket`` the bucket's own account may be checked against a bucket row read
        less than :data:`CONFIG_TTL` ago (a database read saved on every small PUT): the caller
        must then pass that row to :meth:`commit_version`, which refuses the write if the name
        has since been given to another bucket. Other callers always read the table.
        """
        bucket_name, key = params["Bucket"], params["Key"]
        validation.object_key(key)
        bucket = self._cached(bucket_name, "bucket") if cached_bucket else _MISS
        encryption_default = self._cached(bucket_name, "encryption")
        if bucket is not _MISS and encryption_default is not _MISS and is_owner_call(ctx, bucket):
            check_expected_owner(bucket, params)
        else:
            with self.db.connect() as conn:
                bucket = self.bucket(conn, ctx, bucket_name, action, key, params)
                encryption_default = self.cached_config(conn, bucket_name, "encryption")
            self._remember(bucket_name, "bucket", bucket)
        self.check_acl(params)
        tags = validation.tagging_header(params["Tagging"]) if params.get("Tagging") else None
        values = {
            "owner": bucket.account_id,
            "storage_class": validation.storage_class(params.get("StorageClass")),
            "headers": stored_headers(params),
            "user_metadata": validation.user_metadata(params.get("Metadata")) or None,
            "tags": tags,
            "encryption": self.encryption_for_write(params, encryption_default),
        }
        return bucket, values

    def commit_version(
        self,
        bucket_name: str,
        key: str,
        values: dict[str, Any],
        if_match: str | None = None,
        if_none_match: str | None = None,
        before: Callable[[Connection, dict[str, Any]], list[dict[str, Any]]] | None = None,
        authorized: Row | None = None,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """One transaction: make ``values`` the current version of ``key``.

        ``before(conn, row)`` runs first inside the same transaction (multipart completion checks
        and consumes its upload there) and may fill in ``row``. ``authorized`` is the bucket row
        the write was checked against (see :meth:`prepare_write`); a bucket of that name made
        since by someone else is NoSuchBucket to this write. Returns the inserted row and the
        blobs no version keeps any more. Call it on the storage pool: it may wait on the database.
        """

        def work(conn: Connection) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            target = store.write_target(conn, bucket_name, key)
            if target is None:
                raise no_such_bucket(bucket_name)
            bucket, current = target
            if authorized is not None and (bucket.account_id, bucket.created) != (authorized.account_id, authorized.created):
                self._configs.pop((bucket_name, "bucket"), None)
                raise no_such_bucket(bucket_name)
            current_etag = current.etag if current is not None and not current.delete_marker else None
            conditions.check_write(if_match, if_none_match, key, current_etag)
            version_id = new_version_id() if bucket.versioning == "Enabled" else "null"
            row = dict(values, version_id=version_id, last_modified=store.now())
            row.setdefault("delete_marker", False)
            discard: list[dict[str, Any]] = before(conn, row) if before is not None else []
            discard += store.insert_version(conn, bucket, key, row, current)
            return row, discard

        return store.write_transaction(self.db, work)

    @staticmethod
    def verify_body(ctx: RequestContext) -> None:
        """Check a configuration request's ``Content-MD5`` / ``x-amz-checksum-*`` against its
        XML body, as S3 does for every request that carries one."""
        if ctx.request is not None:
            from seedbed.services.s3 import checksums

            checksums.verify_request(ctx.request.headers, ctx.request.body)

    # --- encryption --------------------------------------------------------------------------

    @staticmethod
    def encryption_for_write(params: dict[str, Any], bucket_default: dict[str, Any] | None) -> dict[str, Any]:
        """The SSE settings a new object gets: the request's, else the bucket default.

        SSE-S3 (``AES256``) seals with the data dir's master key; SSE-KMS (``aws:kms``) gets its
        data key from KMS (:mod:`~seedbed.services.s3.sse_kms`, called by :meth:`kms_sealing`).
        """
        if params.get("SSECustomerAlgorithm") or params.get("SSECustomerKey"):
            raise error(
                "InvalidRequest",
                "Requests specifying Server Side Encryption with Customer provided keys must be "
                "made over a secure connection.",
            )
        requested = params.get("ServerSideEncryption")
        rule: dict[str, Any] = {}
        default: dict[str, Any] = {}
        if bucket_default:
            rule = (bucket_default.get("Rules") or [{}])[0]
            default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if requested is None:
            requested = default.get("SSEAlgorithm")
        requested = requested or "AES256"
        if requested in sse_kms.KMS_ALGORITHMS:
            key_id = params.get("SSEKMSKeyId")
            if key_id is None and default.get("SSEAlgorithm") in sse_kms.KMS_ALGORITHMS:
                key_id = default.get("KMSMasterKeyID")
            bucket_key = params.get("BucketKeyEnabled")
            if bucket_key is None:
                bucket_key = bool(rule.get("BucketKeyEnabled"))
            out: dict[str, Any] = {"SSEAlgorithm": requested, "KMSMasterKeyID": key_id, "BucketKeyEnabled": bool(bucket_key)}
            context = sse_kms.request_context(params.get("SSEKMSEncryptionContext"))
            if context:
                out["Context"] = context
            return out
        if requested != "AES256":
            raise invalid_argument(
                "The encryption method specified is not supported",
                "x-amz-server-side-encryption",
                requested,
            )
        if params.get("SSEKMSKeyId") or params.get("SSEKMSEncryptionContext"):
            raise invalid_argument(
                "Server Side Encryption with AWS KMS managed key requires HTTP header "
                "x-amz-server-side-encryption : aws:kms",
                "x-amz-server-side-encryption-aws-kms-key-id",
                params.get("SSEKMSKeyId"),
            )
        return {"SSEAlgorithm": "AES256"}

    async def kms_sealing(
        self, ctx: RequestContext, owner: str, bucket: str, key: str, encryption_doc: dict[str, Any]
    ) -> sse_kms.Sealing | None:
        """For an SSE-KMS write, a data key from KMS (``kms:GenerateDataKey``); else None."""
        if not sse_kms.is_kms(encryption_doc):
            return None
        return await sse_kms.generate(self.backend, ctx, owner, bucket, key, encryption_doc)

    async def kms_keys(self, ctx: RequestContext, row: Any, refs: list[BlobRef]) -> dict[str, bytes] | None:
        """For reading an SSE-KMS version: its data keys from KMS (``kms:Decrypt``); else None."""
        blobs = sse_kms.blobs_of(ref.key for ref in refs)
        if not blobs:
            return None
        return await sse_kms.decrypt(self.backend, ctx, row.owner, row.bucket, row.key, row.encryption, blobs)

    @staticmethod
    def check_acl(params: dict[str, Any]) -> None:
        """Buckets enforce bucket-owner ownership (S3's default since 2023): ACLs are refused."""
        acl = params.get("ACL")
        grants = [params.get(name) for name in ("GrantFullControl", "GrantRead", "GrantReadACP", "GrantWriteACP", "GrantWrite")]
        if (acl is not None and acl not in OWNER_ACLS) or any(grants):
            raise error("AccessControlListNotSupported", "The bucket does not allow ACLs")
