"""Object operations: put, get, head, delete (one or many), copy, tagging, attributes, ACLs, and
the listings (ListObjects, ListObjectsV2, ListObjectVersions).

Writes follow one order everywhere: the bytes are sealed into a durable blob first, then one
database transaction makes them a version, then blobs no version keeps any more are deleted. A
crash between any two steps leaves the old version or the new one, never a mix.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from sqlalchemy import Connection
from sqlalchemy.engine import Row

from seedbed.errors import ServiceError
from seedbed.server.context import RequestContext
from seedbed.services.s3 import checksums, conditions, listing, sse_kms, store, validation
from seedbed.services.s3.common import (
    S3Base,
    check_version_id,
    header_members,
    new_version_id,
    owner,
    owner_acl,
    quoted,
)
from seedbed.services.s3.errors import (
    error,
    invalid_argument,
    invalid_request,
    malformed_xml,
    no_such_bucket,
    no_such_key,
    no_such_version,
)
from seedbed.services.s3.storage import BlobRef, refs_from_json
from seedbed.state import arns

#: Bodies up to this size are read into memory; larger ones are streamed.
INLINE_READ = 1024 * 1024
_RESPONSE_OVERRIDES = {
    "ResponseCacheControl": "CacheControl",
    "ResponseContentDisposition": "ContentDisposition",
    "ResponseContentEncoding": "ContentEncoding",
    "ResponseContentLanguage": "ContentLanguage",
    "ResponseContentType": "ContentType",
    "ResponseExpires": "Expires",
}


def _delete_marker_error(row: Row, explicit_version: bool) -> ServiceError:
    """GET/HEAD of a delete marker: 404 NoSuchKey, or 405 when its version was asked for."""
    if explicit_version:
        exc = error("MethodNotAllowed", "The specified method is not allowed against this resource.", 405, Method="GET", ResourceType="DeleteMarker")
    else:
        exc = no_such_key(row.key)
    exc.headers["x-amz-delete-marker"] = "true"
    exc.headers["x-amz-version-id"] = row.version_id
    return exc


def object_summary(row: Row, with_owner: bool) -> dict[str, Any]:
    """A ``Contents`` entry of a listing."""
    entry: dict[str, Any] = {
        "Key": row.key,
        "LastModified": store.utc(row.last_modified),
        "ETag": quoted(row.etag),
        "Size": row.size,
        "StorageClass": row.storage_class,
    }
    if row.checksum:
        entry["ChecksumAlgorithm"] = [row.checksum["algorithm"]]
        entry["ChecksumType"] = row.checksum.get("type", "FULL_OBJECT")
    if with_owner:
        entry["Owner"] = owner(row.owner)
    return entry


class ObjectOperations(S3Base):
    # --- reading -----------------------------------------------------------------------------

    def _object_row(
        self, conn: Connection, ctx: RequestContext, params: dict[str, Any], action: str
    ) -> Row:
        """The version a read addresses (latest unless VersionId), after the access check."""
        bucket_name, key = params["Bucket"], params["Key"]
        version_id = check_version_id(params.get("VersionId"))
        if version_id is not None:
            row = store.version(conn, bucket_name, key, version_id)
        else:
            row = store.latest(conn, bucket_name, key)
        principal = ctx.principal
        expected = params.get("ExpectedBucketOwner")
        if row is not None and principal is not None and principal.account_id == row.owner and expected in (None, row.owner):
            pass  # the fast path: the bucket's own account
        else:
            self.bucket(conn, ctx, bucket_name, action if version_id is None else action + "Version", key, params)
        if row is None:
            if version_id is not None:
                raise no_such_version(key, version_id)
            raise no_such_key(key)
        if row.delete_marker:
            raise _delete_marker_error(row, version_id is not None)
        return row

    def _read_output(self, row: Row, params: dict[str, Any], ctx: RequestContext) -> tuple[dict[str, Any], conditions.ByteRange | None, list[BlobRef]]:
        """Headers shared by GET and HEAD, the selected range, and the blobs to read from."""
        if conditions.Conditions.for_read(params).check_read(row.etag, store.utc(row.last_modified)):
            return self._not_modified(row), None, []
        refs = refs_from_json(row.blobs)
        out: dict[str, Any] = header_members(row.headers)
        out.update(
            {
                "ETag": quoted(row.etag),
                "LastModified": store.utc(row.last_modified),
                "AcceptRanges": "bytes",
                "ContentLength": row.size,
            }
        )
        out.update(sse_kms.output_members(row.encryption))
        if row.user_metadata:
            out["Metadata"] = dict(row.user_metadata)
        if row.version_id != "null":
            out["VersionId"] = row.version_id
        if row.tags:
            out["TagCount"] = len(row.tags)
        if row.storage_class != "STANDARD":
            out["StorageClass"] = row.storage_class
        if row.parts:
            out["PartsCount"] = len(row.parts)
        selected: conditions.ByteRange | None = None
        part_number = params.get("PartNumber")
        if part_number is not None and params.get("Range"):
            raise invalid_request("Cannot specify both Range header and partNumber query parameter")
        if part_number is not None:
            selected = self._part_range(row, part_number)
            out["PartsCount"] = len(row.parts) if row.parts else 1
        else:
            selected = conditions.parse_range(params.get("Range"), row.size)
        if selected is not None:
            out["ContentLength"] = selected.end - selected.start
            out["ContentRange"] = selected.content_range
            out["ResponseMetadata"] = {"HTTPStatusCode": 206}
        elif params.get("ChecksumMode") == "ENABLED":
            out.update(checksums.output_members(row.checksum))
        overrides = {member: params[name] for name, member in _RESPONSE_OVERRIDES.items() if params.get(name) is not None}
        if overrides:
            if ctx.principal is None:
                raise invalid_request("Request specific response headers cannot be used for anonymous GET requests.")
            out.update(overrides)
        return out, selected, refs

    @staticmethod
    def _not_modified(row: Row) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ETag": quoted(row.etag),
            "LastModified": store.utc(row.last_modified),
            "ResponseMetadata": {"HTTPStatusCode": 304},
        }
        if row.version_id != "null":
            out["VersionId"] = row.version_id
        return out

    @staticmethod
    def _part_range(row: Row, part_number: int) -> conditions.ByteRange:
        sizes = [p["size"] for p in row.parts] if row.parts else [row.size]
        if not 1 <= part_number <= len(sizes):
            raise error(
                "InvalidPartNumber",
                "The requested partnumber is not satisfiable",
                416,
                PartNumberRequested=str(part_number),
                ActualPartCount=str(len(sizes)),
            )
        start = sum(sizes[: part_number - 1])
        return conditions.ByteRange(start, start + sizes[part_number - 1], row.size)

    async def get_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.db.connect() as conn:
            row = self._object_row(conn, ctx, params, "s3:GetObject")
        out, selected, refs = self._read_output(row, params, ctx)
        if out.get("ResponseMetadata", {}).get("HTTPStatusCode") == 304:
            return out
        start, end = (selected.start, selected.end) if selected else (0, row.size)
        kms_keys = await self.kms_keys(ctx, row, refs) if row.encryption and sse_kms.is_kms(row.encryption) else None
        if end - start <= INLINE_READ:
            if self.local and end - start <= 64 * 1024:
                out["Body"] = self.storage.read(refs, start, end, kms_keys)
            else:
                out["Body"] = await self.storage.run(self.storage.read, refs, start, end, kms_keys)
        else:
            out["Body"] = self.storage.stream(refs, start, end, kms_keys)
        return out

    def head_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.db.connect() as conn:
            row = self._object_row(conn, ctx, params, "s3:GetObject")
        out, _, _ = self._read_output(row, params, ctx)
        return out

    def get_object_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.db.connect() as conn:
            row = self._object_row(conn, ctx, params, "s3:GetObjectAttributes")
        wanted = set(params.get("ObjectAttributes") or [])
        out: dict[str, Any] = {"LastModified": store.utc(row.last_modified)}
        if row.version_id != "null":
            out["VersionId"] = row.version_id
        if "ETag" in wanted:
            out["ETag"] = row.etag
        if "ObjectSize" in wanted:
            out["ObjectSize"] = row.size
        if "StorageClass" in wanted:
            out["StorageClass"] = row.storage_class
        if "Checksum" in wanted and row.checksum:
            out["Checksum"] = checksums.output_members(row.checksum)
        if "ObjectParts" in wanted and row.parts:
            marker = int(params.get("PartNumberMarker") or 0)
            limit = int(params.get("MaxParts") or 1000)
            numbered = [(i + 1, p) for i, p in enumerate(row.parts) if i + 1 > marker]
            page = numbered[:limit]
            parts_out = []
            for number, part in page:
                entry: dict[str, Any] = {"PartNumber": number, "Size": part["size"]}
                if part.get("checksum") and row.checksum:
                    entry[f"Checksum{row.checksum['algorithm']}"] = part["checksum"]
                parts_out.append(entry)
            out["ObjectParts"] = {
                "TotalPartsCount": len(row.parts),
                "PartNumberMarker": marker,
                "NextPartNumberMarker": page[-1][0] if page else marker,
                "MaxParts": limit,
                "IsTruncated": len(numbered) > limit,
                "Parts": parts_out,
            }
        return out

    # --- writing -----------------------------------------------------------------------------

    async def put_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket, values = self.prepare_write(ctx, params, cached_bucket=True)
        body = params.get("Body") or b""
        if len(body) > validation.MAX_PUT_SIZE:
            raise error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", ProposedSize=str(len(body)), MaxSizeAllowed=str(validation.MAX_PUT_SIZE))
        if params.get("WriteOffsetBytes") is not None:
            raise error("NotImplemented", "Appending to objects is only supported by directory buckets", 501)
        headers = ctx.request.headers if ctx.request is not None else {}
        key = params["Key"]
        sealing = await self.kms_sealing(ctx, bucket.account_id, bucket.name, key, values["encryption"])

        def work() -> dict[str, Any]:
            verified = checksums.verify_request(headers, body)
            algorithm = params.get("ChecksumAlgorithm")
            if not verified and algorithm:
                name = checksums.algorithm_name(algorithm)
                verified = {name: checksums.checksum(name, body)}
            etag = checksums.md5_hex(body)
            ref = self.storage.store(body, sealing)
            row = dict(values, size=len(body), etag=etag, blobs=[ref.to_json()], parts=None)
            if verified:
                (name, value), = verified.items()
                row["checksum"] = {"algorithm": name, "value": value, "type": "FULL_OBJECT"}
            try:
                committed, discard = self.commit_version(
                    bucket.name, key, row, params.get("IfMatch"), params.get("IfNoneMatch"), authorized=bucket
                )
            except BaseException:
                self.storage.discard([ref])
                raise
            self.storage.discard(discard)
            out: dict[str, Any] = {"ETag": quoted(etag), "Size": len(body), **sse_kms.output_members(values["encryption"])}
            if values["encryption"].get("Context"):
                out["SSEKMSEncryptionContext"] = sse_kms.encode_context(values["encryption"]["Context"])
            if committed["version_id"] != "null":
                out["VersionId"] = committed["version_id"]
            if verified:
                out.update(checksums.output_members(row["checksum"]))
            return out

        out = await self.storage.run(work)
        ctx.resources.append(arns.build("s3", f"{bucket.name}/{key}"))
        return out

    # --- deleting ----------------------------------------------------------------------------

    def _delete_one(self, bucket_name: str, key: str, version_id: str | None, if_match: str | None = None) -> dict[str, Any]:
        """Delete a version for good, or add a delete marker (S3's DeleteObject semantics)."""

        def work(conn: Connection) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            bucket = store.get_bucket(conn, bucket_name)
            if bucket is None:
                raise no_such_bucket(bucket_name)
            if version_id is not None:
                row = store.version(conn, bucket_name, key, version_id)
                if row is None:
                    return {"VersionId": version_id}, []
                out: dict[str, Any] = {"VersionId": version_id}
                if row.delete_marker:
                    out["DeleteMarker"] = True
                return out, store.remove_version(conn, row)
            current = store.latest(conn, bucket_name, key, for_update=True)
            if if_match is not None:
                if current is None or current.delete_marker:
                    raise no_such_key(key)
                if not conditions.etag_matches(if_match, current.etag):
                    raise error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412, Condition="If-Match")
            if bucket.versioning is None:
                return ({}, store.remove_version(conn, current)) if current is not None else ({}, [])
            marker_id = new_version_id() if bucket.versioning == "Enabled" else "null"
            marker = {
                "version_id": marker_id,
                "delete_marker": True,
                "last_modified": store.now(),
                "size": 0,
                "etag": "",
                "owner": bucket.account_id,
                "storage_class": "STANDARD",
                "blobs": [],
            }
            discard = store.insert_version(conn, bucket, key, marker, current)
            return {"DeleteMarker": True, "VersionId": marker_id}, discard

        out, discard = store.write_transaction(self.db, work)
        self.storage.discard(discard)
        return out

    async def delete_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket_name, key = params["Bucket"], params["Key"]
        version_id = check_version_id(params.get("VersionId"))
        with self.db.connect() as conn:
            self.bucket(conn, ctx, bucket_name, "s3:DeleteObject" if version_id is None else "s3:DeleteObjectVersion", key, params)
        out = await self.storage.run(self._delete_one, bucket_name, key, version_id, params.get("IfMatch"))
        ctx.resources.append(arns.build("s3", f"{bucket_name}/{key}"))
        return out

    async def delete_objects(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket_name = params["Bucket"]
        request = params.get("Delete") or {}
        items = request.get("Objects") or []
        if not items or len(items) > 1000:
            raise malformed_xml()
        if ctx.request is not None:  # in-process calls (CloudFormation) carry no wire request
            headers = ctx.request.headers
            if not headers.get("content-md5") and not checksums.provided_checksums(headers):
                raise invalid_request("Missing required header for this request: Content-MD5 OR x-amz-checksum-*")
            checksums.verify_request(headers, ctx.request.body)
        with self.db.connect() as conn:
            bucket = self.bucket(conn, ctx, bucket_name, "s3:DeleteObject", params=params)
        quiet = bool(request.get("Quiet"))

        def work() -> dict[str, Any]:
            deleted: list[dict[str, Any]] = []
            errors: list[dict[str, Any]] = []
            for item in items:
                key = item.get("Key")
                version_id = item.get("VersionId")
                try:
                    if key is None:
                        raise malformed_xml()
                    check_version_id(version_id)
                    validation.object_key(key)
                    result = self._delete_one(bucket.name, key, version_id)
                except ServiceError as exc:
                    entry = {"Key": key, "Code": exc.code, "Message": exc.message}
                    if version_id:
                        entry["VersionId"] = version_id
                    errors.append(entry)
                    continue
                if quiet:
                    continue
                entry = {"Key": key}
                if version_id:
                    entry["VersionId"] = version_id
                    if result.get("DeleteMarker"):
                        entry["DeleteMarker"] = True
                        entry["DeleteMarkerVersionId"] = version_id
                elif result.get("DeleteMarker"):
                    entry["DeleteMarker"] = True
                    entry["DeleteMarkerVersionId"] = result["VersionId"]
                deleted.append(entry)
            out: dict[str, Any] = {}
            if deleted:
                out["Deleted"] = deleted
            if errors:
                out["Errors"] = errors
            return out

        return await self.storage.run(work)

    # --- copying -----------------------------------------------------------------------------

    @staticmethod
    def parse_copy_source(source: str) -> tuple[str, str, str | None]:
        """``bucket/key[?versionId=v]`` (URL-encoded, optional leading slash)."""
        path, _, query = source.partition("?")
        version_id = None
        if query:
            for part in query.split("&"):
                name, _, value = part.partition("=")
                if name == "versionId":
                    version_id = unquote(value)
        path = unquote(path).lstrip("/")
        bucket, _, key = path.partition("/")
        if not bucket or not key:
            raise invalid_argument("Invalid copy source object key", "x-amz-copy-source", source)
        return bucket, key, check_version_id(version_id)

    def source_row(self, conn: Connection, ctx: RequestContext, params: dict[str, Any]) -> tuple[Row, str | None]:
        """The version a copy reads, after access and copy-source conditions."""
        bucket, key, version_id = self.parse_copy_source(params["CopySource"])
        source_params = {"Bucket": bucket, "Key": key, "VersionId": version_id, "ExpectedBucketOwner": params.get("ExpectedSourceBucketOwner")}
        try:
            row = self._object_row(conn, ctx, source_params, "s3:GetObject")
        except ServiceError as exc:
            if exc.code == "MethodNotAllowed":
                raise invalid_request("The source of a copy request may not specifically refer to a delete marker by version id.") from None
            raise
        conditions.Conditions.for_copy_source(params).check_copy_source(row.etag, store.utc(row.last_modified))
        return row, version_id

    async def copy_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket_name, key = params["Bucket"], params["Key"]
        with self.db.connect() as conn:
            source, source_version = self.source_row(conn, ctx, params)
        if source.size > validation.MAX_PUT_SIZE:
            raise invalid_request("The specified copy source is larger than the maximum allowable size for a copy source: 5368709120")
        directive = params.get("MetadataDirective") or "COPY"
        tagging_directive = params.get("TaggingDirective") or "COPY"
        if directive not in ("COPY", "REPLACE"):
            raise invalid_argument("Unknown metadata directive.", "MetadataDirective", directive)
        if tagging_directive not in ("COPY", "REPLACE"):
            raise invalid_argument("Unknown tagging directive.", "TaggingDirective", tagging_directive)
        same_object = source.bucket == bucket_name and source.key == key
        changes = (
            directive == "REPLACE"
            or params.get("StorageClass") is not None
            or params.get("WebsiteRedirectLocation") is not None
            or params.get("ServerSideEncryption") is not None
            or params.get("ChecksumAlgorithm") is not None
        )
        if same_object and not changes:
            raise invalid_request(
                "This copy request is illegal because it is trying to copy an object to itself "
                "without changing the object's metadata, storage class, website redirect location "
                "or encryption attributes."
            )
        bucket, values = self.prepare_write(ctx, params)
        if directive == "COPY":
            values["headers"] = dict(source.headers or {})
            values["user_metadata"] = source.user_metadata
            if params.get("WebsiteRedirectLocation") is not None:
                values["headers"]["WebsiteRedirectLocation"] = params["WebsiteRedirectLocation"]
        if tagging_directive == "COPY":
            values["tags"] = source.tags
        if params.get("StorageClass") is None:
            values["storage_class"] = source.storage_class
        refs = refs_from_json(source.blobs)
        algorithm = params.get("ChecksumAlgorithm")
        target = values["encryption"]
        # Blobs sealed under the master key can be copied as they are; anything involving KMS is
        # re-sealed (its data key is bound to the source object's ARN), one blob at a time.
        reseal = sse_kms.is_kms(source.encryption) or sse_kms.is_kms(target)
        source_keys = await self.kms_keys(ctx, source, refs) if reseal else None
        sealing = await self.kms_sealing(ctx, bucket.account_id, bucket_name, key, target) if reseal else None

        def fresh_copy(ref: BlobRef) -> BlobRef:
            if not reseal:
                return self.storage.copy(ref)
            return self.storage.store(self.storage.read([ref], 0, ref.size, source_keys), sealing)

        def work() -> dict[str, Any]:
            new_refs: list[BlobRef] = []
            try:
                for ref in refs:
                    new_refs.append(fresh_copy(ref))
            except BaseException:
                self.storage.discard(new_refs)
                raise
            row = dict(
                values,
                size=source.size,
                etag=source.etag,
                blobs=[r.to_json() for r in new_refs],
                parts=source.parts,
                checksum=source.checksum,
            )
            if algorithm:
                name = checksums.algorithm_name(algorithm)
                if not source.checksum or source.checksum["algorithm"] != name or source.checksum.get("type") == "COMPOSITE":
                    data = self.storage.read(new_refs, 0, source.size, sealing.keys() if sealing else None)
                    row["checksum"] = {"algorithm": name, "value": checksums.checksum(name, data), "type": "FULL_OBJECT"}
            try:
                committed, discard = self.commit_version(bucket_name, key, row, params.get("IfMatch"), params.get("IfNoneMatch"))
            except BaseException:
                self.storage.discard(new_refs)
                raise
            self.storage.discard(discard)
            result: dict[str, Any] = {"ETag": quoted(source.etag), "LastModified": committed["last_modified"]}
            result.update(checksums.output_members(row["checksum"]))
            result.pop("ChecksumType", None)
            out: dict[str, Any] = {"CopyObjectResult": result, **sse_kms.output_members(target)}
            if committed["version_id"] != "null":
                out["VersionId"] = committed["version_id"]
            if source.version_id != "null":
                out["CopySourceVersionId"] = source.version_id
            return out

        out = await self.storage.run(work)
        ctx.resources.append(arns.build("s3", f"{bucket.name}/{key}"))
        return out

    # --- tagging and ACLs --------------------------------------------------------------------

    def _tag_target(self, conn: Connection, ctx: RequestContext, params: dict[str, Any], action: str) -> Row:
        try:
            return self._object_row(conn, ctx, params, action)
        except ServiceError as exc:
            if exc.code == "MethodNotAllowed":
                raise error("MethodNotAllowed", "The specified method is not allowed against this resource.", 405) from None
            raise

    def get_object_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.db.connect() as conn:
            row = self._tag_target(conn, ctx, params, "s3:GetObjectTagging")
        out: dict[str, Any] = {"TagSet": list(row.tags or [])}
        if row.version_id != "null":
            out["VersionId"] = row.version_id
        return out

    def _set_tags(self, ctx: RequestContext, params: dict[str, Any], tags: list[dict[str, str]] | None, action: str) -> dict[str, Any]:
        with self.db.connect() as conn:
            row = self._tag_target(conn, ctx, params, action)

        def work(conn: Connection) -> None:
            store.set_tags(conn, row.id, tags)

        store.write_transaction(self.db, work)
        return {"VersionId": row.version_id} if row.version_id != "null" else {}

    def put_object_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.verify_body(ctx)
        tags = validation.tag_set((params.get("Tagging") or {}).get("TagSet") or [], validation.MAX_OBJECT_TAGS)
        return self._set_tags(ctx, params, tags or None, "s3:PutObjectTagging")

    def delete_object_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._set_tags(ctx, params, None, "s3:DeleteObjectTagging")

    def get_object_acl(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.db.connect() as conn:
            row = self._object_row(conn, ctx, params, "s3:GetObjectAcl")
        return owner_acl(row.owner)

    def put_object_acl(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.db.connect() as conn:
            self._object_row(conn, ctx, params, "s3:PutObjectAcl")
        self.check_acl(params)
        if params.get("AccessControlPolicy") is not None:
            raise error("AccessControlListNotSupported", "The bucket does not allow ACLs")
        return {}

    # --- listings ----------------------------------------------------------------------------

    def _listing_fetch(self, conn: Connection, bucket: str, prefix: str) -> listing.Fetch:
        upper = listing.prefix_upper(prefix) if prefix else None

        def fetch(position: listing.Position, limit: int) -> list[Row]:
            return store.list_current(conn, bucket, position.key, position.inclusive, prefix or None, upper, limit)

        return fetch

    def list_objects_v2(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Bucket"]
        prefix = params.get("Prefix") or ""
        delimiter = params.get("Delimiter") or None
        encode = listing.check_encoding_type(params.get("EncodingType"))
        max_keys = listing.clamp_max_keys(params.get("MaxKeys"))
        token = params.get("ContinuationToken")
        start_after = params.get("StartAfter")
        if token is not None:
            start = listing.resume_after(listing.decode_token(token), prefix, delimiter)
        else:
            start = listing.Position(start_after) if start_after else listing.Position()
        with self.db.connect() as conn:
            self.bucket(conn, ctx, name, "s3:ListBucket", params=params)
            page, _ = listing.walk(self._listing_fetch(conn, name, prefix), prefix, delimiter, start, max_keys)
        fetch_owner = bool(params.get("FetchOwner"))
        out: dict[str, Any] = {
            "Name": name,
            "Prefix": listing.url_encode(prefix, encode),
            "MaxKeys": max_keys,
            "KeyCount": len(page.entries),
            "IsTruncated": page.truncated,
        }
        contents = []
        for row in page.rows:
            entry = object_summary(row, fetch_owner)
            entry["Key"] = listing.url_encode(entry["Key"], encode)
            contents.append(entry)
        if contents:
            out["Contents"] = contents
        listing.add_grouping(out, page.prefixes, delimiter, encode)
        if token is not None:
            out["ContinuationToken"] = token
        if start_after:
            out["StartAfter"] = listing.url_encode(start_after, encode)
        if page.truncated and page.last is not None:
            out["NextContinuationToken"] = listing.encode_token(page.last)
        return out

    def list_objects(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Bucket"]
        prefix = params.get("Prefix") or ""
        delimiter = params.get("Delimiter") or None
        encode = listing.check_encoding_type(params.get("EncodingType"))
        max_keys = listing.clamp_max_keys(params.get("MaxKeys"))
        marker = params.get("Marker") or ""
        with self.db.connect() as conn:
            self.bucket(conn, ctx, name, "s3:ListBucket", params=params)
            start = listing.resume_after(marker, prefix, delimiter)
            page, _ = listing.walk(self._listing_fetch(conn, name, prefix), prefix, delimiter, start, max_keys)
        out: dict[str, Any] = {
            "Name": name,
            "Prefix": listing.url_encode(prefix, encode),
            "Marker": listing.url_encode(marker, encode),
            "MaxKeys": max_keys,
            "IsTruncated": page.truncated,
        }
        contents = []
        for row in page.rows:
            entry = object_summary(row, True)
            entry["Key"] = listing.url_encode(entry["Key"], encode)
            contents.append(entry)
        if contents:
            out["Contents"] = contents
        listing.add_grouping(out, page.prefixes, delimiter, encode)
        if delimiter and page.truncated and page.last is not None:
            out["NextMarker"] = listing.url_encode(page.last, encode)
        return out

    def list_object_versions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Bucket"]
        prefix = params.get("Prefix") or ""
        delimiter = params.get("Delimiter") or None
        encode = listing.check_encoding_type(params.get("EncodingType"))
        max_keys = listing.clamp_max_keys(params.get("MaxKeys"))
        key_marker = params.get("KeyMarker") or ""
        version_marker = params.get("VersionIdMarker") or ""
        if version_marker and not key_marker:
            raise invalid_argument("A version-id marker cannot be specified without a key marker.", "version-id-marker", version_marker)
        upper = listing.prefix_upper(prefix) if prefix else None
        with self.db.connect() as conn:
            self.bucket(conn, ctx, name, "s3:ListBucketVersions", params=params)
            start: Any = listing.resume_after(key_marker, prefix, delimiter)
            if version_marker:
                check_version_id(version_marker)
                marker_row = store.version(conn, name, key_marker, version_marker)
                if marker_row is None:
                    raise invalid_argument("Invalid version id specified", "version-id-marker", version_marker)
                start = (key_marker, marker_row.id)

            def fetch(position: Any, limit: int) -> list[Row]:
                if isinstance(position, tuple):
                    return store.list_versions(conn, name, position[0], False, position[1], prefix or None, upper, limit)
                return store.list_versions(conn, name, position.key, position.inclusive, None, prefix or None, upper, limit)

            page, _ = listing.walk(fetch, prefix, delimiter, start, max_keys, position_of=lambda row: (row.key, row.id))
        out: dict[str, Any] = {
            "Name": name,
            "Prefix": listing.url_encode(prefix, encode),
            "KeyMarker": listing.url_encode(key_marker, encode),
            "VersionIdMarker": version_marker,
            "MaxKeys": max_keys,
            "IsTruncated": page.truncated,
        }
        versions, markers = [], []
        for row in page.rows:
            base = {
                "Key": listing.url_encode(row.key, encode),
                "VersionId": row.version_id,
                "IsLatest": bool(row.is_latest),
                "LastModified": store.utc(row.last_modified),
                "Owner": owner(row.owner),
            }
            if row.delete_marker:
                markers.append(base)
            else:
                base.update({"ETag": quoted(row.etag), "Size": row.size, "StorageClass": row.storage_class})
                if row.checksum:
                    base["ChecksumAlgorithm"] = [row.checksum["algorithm"]]
                    base["ChecksumType"] = row.checksum.get("type", "FULL_OBJECT")
                versions.append(base)
        if versions:
            out["Versions"] = versions
        if markers:
            out["DeleteMarkers"] = markers
        listing.add_grouping(out, page.prefixes, delimiter, encode)
        if page.truncated and page.entries:
            listing.add_key_markers(out, page.entries, encode, "NextVersionIdMarker", "version_id")
        return out

