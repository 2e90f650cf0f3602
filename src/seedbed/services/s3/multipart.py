"""Multipart uploads: create, upload (or copy) parts, list, complete, abort, list uploads.

Each part is sealed into its own blob when it arrives. Completing an upload does not copy bytes:
the new version's blob list is the chosen parts' blobs in order, so a 100 MB object completes in
one small transaction. ETags and checksums are what S3 computes: ``md5(md5(part1)+...)-N``, and a
COMPOSITE (``-N``) or FULL_OBJECT checksum over the part checksums.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection
from sqlalchemy.engine import Row

from seedbed.server.context import RequestContext
from seedbed.services.s3 import checksums, listing, sse_kms, store, validation
from seedbed.services.s3.common import owner, quoted
from seedbed.services.s3.errors import (
    error,
    invalid_argument,
    invalid_request,
    malformed_xml,
    no_such_upload,
)
from seedbed.services.s3.object_ops import ObjectOperations
from seedbed.services.s3.storage import refs_from_json
from seedbed.state import arns

_RANGE_PREFIX = "bytes="


def _check_part_number(number: int | None) -> int:
    if number is None or not 1 <= number <= validation.MAX_PART_NUMBER:
        raise invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive",
            "partNumber",
            str(number),
        )
    return number


def _checksum_settings(params: dict[str, Any]) -> dict[str, str] | None:
    """The upload's checksum algorithm and type, S3's defaults filled in."""
    algorithm = params.get("ChecksumAlgorithm")
    kind = params.get("ChecksumType")
    if algorithm is None:
        if kind is not None:
            raise invalid_request(
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
            )
        return None
    name = checksums.algorithm_name(algorithm)
    if kind is None:
        kind = "FULL_OBJECT" if name == "CRC64NVME" else "COMPOSITE"
    if kind == "FULL_OBJECT" and name not in checksums.CRC_ALGORITHMS:
        raise invalid_request(f"The FULL_OBJECT checksum type cannot be used with the {name.lower()} checksum algorithm.")
    if kind == "COMPOSITE" and name == "CRC64NVME":
        raise invalid_request("The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.")
    if kind not in ("FULL_OBJECT", "COMPOSITE"):
        raise invalid_argument("Invalid checksum type", "x-amz-checksum-type", kind)
    return {"algorithm": name, "type": kind}


def _encryption_out(upload: Row) -> dict[str, Any]:
    return sse_kms.output_members((upload.params or {}).get("encryption"))


def _etag_of(value: str | None) -> str:
    return (value or "").strip().strip('"')


class MultipartOperations(ObjectOperations):
    def _upload(self, conn: Connection, ctx: RequestContext, params: dict[str, Any], action: str) -> Row:
        bucket = self.bucket(conn, ctx, params["Bucket"], action, params["Key"], params)
        upload = store.get_upload(conn, params["UploadId"])
        if upload is None or upload.bucket != bucket.name or upload.key != params["Key"]:
            raise no_such_upload(params["UploadId"])
        return upload

    async def create_multipart_upload(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket, values = self.prepare_write(ctx, params)
        checksum = _checksum_settings(params)
        upload_id = secrets.token_urlsafe(48)
        principal = ctx.principal
        stored = {k: v for k, v in values.items() if k not in ("owner", "storage_class")}
        stored["checksum"] = checksum
        encryption_doc = dict(values["encryption"])
        # SSE-KMS: one data key per upload (GenerateDataKey now, Decrypt for each part).
        sealing = await self.kms_sealing(ctx, bucket.account_id, bucket.name, params["Key"], encryption_doc)
        stored["encryption"] = dict(encryption_doc)
        if sealing is not None:
            stored["encryption"]["DataKey"] = base64.b64encode(sealing.blob).decode()

        def work(conn: Connection) -> None:
            if store.get_bucket(conn, bucket.name) is None:
                raise error("NoSuchBucket", "The specified bucket does not exist", 404, BucketName=bucket.name)
            conn.execute(
                store.uploads.insert().values(
                    upload_id=upload_id,
                    bucket=bucket.name,
                    key=params["Key"],
                    initiated=store.now(),
                    owner=values["owner"],
                    initiator_arn=principal.arn if principal else None,
                    initiator_id=principal.user_id if principal else None,
                    storage_class=values["storage_class"],
                    params=stored,
                )
            )

        store.write_transaction(self.db, work)
        out: dict[str, Any] = {
            "Bucket": bucket.name,
            "Key": params["Key"],
            "UploadId": upload_id,
            **sse_kms.output_members(encryption_doc),
        }
        if encryption_doc.get("Context"):
            out["SSEKMSEncryptionContext"] = sse_kms.encode_context(encryption_doc["Context"])
        if checksum:
            out["ChecksumAlgorithm"] = checksum["algorithm"]
            out["ChecksumType"] = checksum["type"]
        return out

    async def _upload_sealing(self, ctx: RequestContext, upload: Row) -> sse_kms.Sealing | None:
        """The upload's KMS data key, decrypted for one part (``kms:Decrypt``), if it has one."""
        doc = (upload.params or {}).get("encryption") or {}
        blob = doc.get("DataKey")
        if not blob:
            return None
        keys = await sse_kms.decrypt(self.backend, ctx, upload.owner, upload.bucket, upload.key, doc, [blob])
        return sse_kms.Sealing(keys[blob], base64.b64decode(blob))

    def _store_part(
        self, upload: Row, number: int, body: bytes, verified: dict[str, str], sealing: sse_kms.Sealing | None = None
    ) -> dict[str, Any]:
        """Seal a part's bytes and record it (replacing an earlier upload of the same number)."""
        settings = (upload.params or {}).get("checksum")
        if settings:
            wanted = settings["algorithm"]
            if verified and wanted not in verified:
                raise invalid_request(
                    f"Checksum Type mismatch occurred, expected checksum Type: {wanted.lower()}, "
                    f"actual checksum Type: {next(iter(verified)).lower()}"
                )
            if not verified:
                verified = {wanted: checksums.checksum(wanted, body)}
        etag = checksums.md5_hex(body)
        ref = self.storage.store(body, sealing)
        checksum = None
        if verified:
            (name, value), = verified.items()
            checksum = {"algorithm": name, "value": value}
        values = {
            "upload_id": upload.upload_id,
            "part_number": number,
            "size": len(body),
            "etag": etag,
            "last_modified": store.now(),
            "checksum": checksum,
            "blob": ref.to_json(),
        }

        def work(conn: Connection) -> dict[str, Any] | None:
            if store.get_upload(conn, upload.upload_id) is None:
                raise no_such_upload(upload.upload_id)
            return store.put_part(conn, values)

        try:
            replaced = store.write_transaction(self.db, work)
        except BaseException:
            self.storage.discard([ref])
            raise
        if replaced:
            self.storage.discard([replaced])
        return values

    async def upload_part(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        number = _check_part_number(params.get("PartNumber"))
        with self.db.connect() as conn:
            upload = self._upload(conn, ctx, params, "s3:PutObject")
        body = params.get("Body") or b""
        if len(body) > validation.MAX_PUT_SIZE:
            raise error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        headers = ctx.request.headers if ctx.request is not None else {}
        sealing = await self._upload_sealing(ctx, upload)

        def work() -> dict[str, Any]:
            part = self._store_part(upload, number, body, checksums.verify_request(headers, body), sealing)
            out: dict[str, Any] = {"ETag": quoted(part["etag"]), **_encryption_out(upload)}
            if part["checksum"]:
                out[f"Checksum{part['checksum']['algorithm']}"] = part["checksum"]["value"]
            return out

        return await self.storage.run(work)

    async def upload_part_copy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        number = _check_part_number(params.get("PartNumber"))
        with self.db.connect() as conn:
            upload = self._upload(conn, ctx, params, "s3:PutObject")
            source, _ = self.source_row(conn, ctx, params)
        start, end = 0, source.size
        text = params.get("CopySourceRange")
        if text:
            first, _, last = text.removeprefix(_RANGE_PREFIX).partition("-")
            try:
                start, end = int(first), int(last) + 1
            except ValueError:
                start, end = -1, -1
            if not text.startswith(_RANGE_PREFIX) or not 0 <= start < end <= source.size:
                raise invalid_argument(
                    f"Range specified is not valid for source object of size: {source.size}",
                    "x-amz-copy-source-range",
                    text,
                )
        if end - start > validation.MAX_PUT_SIZE:
            raise invalid_request("The specified copy source is larger than the maximum allowable size for a copy source: 5368709120")
        refs = refs_from_json(source.blobs)
        source_keys = await self.kms_keys(ctx, source, refs)
        sealing = await self._upload_sealing(ctx, upload)

        def work() -> dict[str, Any]:
            data = self.storage.read(refs, start, end, source_keys)
            part = self._store_part(upload, number, data, {}, sealing)
            result: dict[str, Any] = {"ETag": quoted(part["etag"]), "LastModified": part["last_modified"]}
            if part["checksum"]:
                result[f"Checksum{part['checksum']['algorithm']}"] = part["checksum"]["value"]
            out: dict[str, Any] = {"CopyPartResult": result, **_encryption_out(upload)}
            if source.version_id != "null":
                out["CopySourceVersionId"] = source.version_id
            return out

        return await self.storage.run(work)

    def list_parts(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        marker = int(params.get("PartNumberMarker") or 0)
        limit = listing.clamp_max_keys(params.get("MaxParts"), "max-parts")
        with self.db.connect() as conn:
            upload = self._upload(conn, ctx, params, "s3:ListMultipartUploadParts")
            rows = store.list_parts(conn, upload.upload_id, marker, limit + 1)
        truncated = len(rows) > limit
        rows = rows[:limit]
        settings = (upload.params or {}).get("checksum")
        parts = []
        for row in rows:
            entry: dict[str, Any] = {
                "PartNumber": row.part_number,
                "LastModified": store.utc(row.last_modified),
                "ETag": quoted(row.etag),
                "Size": row.size,
            }
            if row.checksum:
                entry[f"Checksum{row.checksum['algorithm']}"] = row.checksum["value"]
            parts.append(entry)
        out: dict[str, Any] = {
            "Bucket": upload.bucket,
            "Key": upload.key,
            "UploadId": upload.upload_id,
            "PartNumberMarker": marker,
            "MaxParts": limit,
            "IsTruncated": truncated,
            "Initiator": {"ID": upload.initiator_arn or "", "DisplayName": upload.initiator_id or ""},
            "Owner": owner(upload.owner),
            "StorageClass": upload.storage_class,
        }
        if rows:
            out["NextPartNumberMarker"] = rows[-1].part_number
        if parts:
            out["Parts"] = parts
        if settings:
            out["ChecksumAlgorithm"] = settings["algorithm"]
            out["ChecksumType"] = settings["type"]
        return out

    async def complete_multipart_upload(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        requested = (params.get("MultipartUpload") or {}).get("Parts") or []
        if not requested:
            raise malformed_xml()
        numbers = [part.get("PartNumber") for part in requested]
        if any(n is None for n in numbers):
            raise malformed_xml()
        if any(b <= a for a, b in zip(numbers, numbers[1:])):
            raise error(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts must be ordered by part number.",
                UploadId=params["UploadId"],
            )
        with self.db.connect() as conn:
            upload = self._upload(conn, ctx, params, "s3:PutObject")
        headers = ctx.request.headers if ctx.request is not None else {}
        host = headers.get("host", "localhost")
        settings = (upload.params or {}).get("checksum")
        whole_checksum = checksums.provided_checksums(headers)
        values = {k: v for k, v in (upload.params or {}).items() if k != "checksum"}
        values.update(owner=upload.owner, storage_class=upload.storage_class)
        encryption_doc = {k: v for k, v in (values.get("encryption") or {"SSEAlgorithm": "AES256"}).items() if k != "DataKey"}
        values["encryption"] = encryption_doc

        def consume(conn: Connection, row: dict[str, Any]) -> list[dict[str, Any]]:
            """Check the parts against what was uploaded and turn the upload into ``row``."""
            if store.get_upload(conn, upload.upload_id) is None:
                raise no_such_upload(upload.upload_id)
            stored = {part.part_number: part for part in store.list_parts(conn, upload.upload_id)}
            chosen: list[Row] = []
            for index, wanted in enumerate(requested):
                part = stored.get(wanted["PartNumber"])
                if part is None or _etag_of(wanted.get("ETag")) != part.etag:
                    raise error(
                        "InvalidPart",
                        "One or more of the specified parts could not be found.  The part may not "
                        "have been uploaded, or the specified entity tag may not match the part's "
                        "entity tag.",
                        UploadId=upload.upload_id,
                        PartNumber=str(wanted["PartNumber"]),
                        ETag=wanted.get("ETag"),
                    )
                if index < len(requested) - 1 and part.size < validation.MIN_PART_SIZE:
                    raise error(
                        "EntityTooSmall",
                        "Your proposed upload is smaller than the minimum allowed size",
                        ProposedSize=str(part.size),
                        MinSizeAllowed=str(validation.MIN_PART_SIZE),
                        PartNumber=str(part.part_number),
                        ETag=quoted(part.etag),
                    )
                if settings:
                    member = f"Checksum{settings['algorithm']}"
                    given = wanted.get(member)
                    if given is None:
                        raise invalid_request(
                            f"The upload was created using a {settings['algorithm'].lower()} checksum. "
                            "The complete request must include the checksum for each part. It was "
                            f"missing for part {part.part_number} in the request."
                        )
                    if not part.checksum or given != part.checksum["value"]:
                        raise error(
                            "InvalidPart",
                            "One or more of the specified parts could not be found.  The part may "
                            "not have been uploaded, or the specified entity tag may not match the "
                            "part's entity tag.",
                            UploadId=upload.upload_id,
                            PartNumber=str(part.part_number),
                            ETag=wanted.get("ETag"),
                        )
                chosen.append(part)
            size = sum(part.size for part in chosen)
            expected_size = params.get("MpuObjectSize")
            if expected_size is not None and int(expected_size) != size:
                raise invalid_request(
                    f"The provided 'x-amz-mp-object-size' header value {expected_size} does not match "
                    f"what was computed: {size}"
                )
            row.update(
                size=size,
                etag=checksums.multipart_etag([part.etag for part in chosen]),
                blobs=[part.blob for part in chosen],
                parts=[{"size": p.size, "checksum": p.checksum["value"] if p.checksum else None} for p in chosen],
                checksum=self._final_checksum(settings, chosen, whole_checksum),
            )
            kept = {part.blob["id"] for part in chosen}
            return [blob for blob in store.drop_upload(conn, upload.upload_id) if blob["id"] not in kept]

        def work() -> dict[str, Any]:
            row, discard = self.commit_version(
                upload.bucket, upload.key, values, params.get("IfMatch"), params.get("IfNoneMatch"), before=consume
            )
            self.storage.discard(discard)
            out: dict[str, Any] = {
                "Location": f"http://{host}/{upload.bucket}/{quote(upload.key)}",
                "Bucket": upload.bucket,
                "Key": upload.key,
                "ETag": quoted(row["etag"]),
                **sse_kms.output_members(encryption_doc),
            }
            out.update(checksums.output_members(row["checksum"]))
            if row["version_id"] != "null":
                out["VersionId"] = row["version_id"]
            return out

        out = await self.storage.run(work)
        ctx.resources.append(arns.build("s3", f"{upload.bucket}/{upload.key}"))
        return out

    @staticmethod
    def _final_checksum(settings: dict[str, str] | None, chosen: list[Row], whole: dict[str, str]) -> dict[str, Any] | None:
        if not settings:
            return None
        algorithm, kind = settings["algorithm"], settings["type"]
        values = [part.checksum["value"] for part in chosen]
        if kind == "COMPOSITE":
            return {"algorithm": algorithm, "value": checksums.composite(algorithm, values), "type": kind}
        value = checksums.full_object_crc(algorithm, [(v, part.size) for v, part in zip(values, chosen)])
        given = whole.get(algorithm)
        if given is not None and given != value:
            raise error("BadDigest", f"The {algorithm} you specified did not match the calculated checksum.")
        return {"algorithm": algorithm, "value": value, "type": kind}

    async def abort_multipart_upload(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.db.connect() as conn:
            upload = self._upload(conn, ctx, params, "s3:AbortMultipartUpload")

        def work(conn: Connection) -> list[dict[str, Any]]:
            if store.get_upload(conn, upload.upload_id) is None:
                raise no_such_upload(upload.upload_id)
            return store.drop_upload(conn, upload.upload_id)

        self.storage.discard(await self.storage.run(store.write_transaction, self.db, work))
        return {}

    def list_multipart_uploads(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Bucket"]
        prefix = params.get("Prefix") or ""
        delimiter = params.get("Delimiter") or None
        encode = listing.check_encoding_type(params.get("EncodingType"))
        limit = listing.clamp_max_keys(params.get("MaxUploads"), "max-uploads")
        key_marker = params.get("KeyMarker") or ""
        upload_marker = params.get("UploadIdMarker") or ""
        upper = listing.prefix_upper(prefix) if prefix else None
        with self.db.connect() as conn:
            self.bucket(conn, ctx, name, "s3:ListBucketMultipartUploads", params=params)
            start: Any = listing.resume_after(key_marker, prefix, delimiter)
            if upload_marker and key_marker:
                marker_row = store.get_upload(conn, upload_marker)
                if marker_row is not None and marker_row.key == key_marker:
                    start = (key_marker, marker_row)

            def fetch(position: Any, size: int) -> list[Row]:
                if isinstance(position, tuple):
                    return store.list_uploads(conn, name, position[0], False, position[1], prefix or None, upper, size)
                return store.list_uploads(conn, name, position.key, position.inclusive, None, prefix or None, upper, size)

            page, _ = listing.walk(fetch, prefix, delimiter, start, limit, position_of=lambda row: (row.key, row))
        out: dict[str, Any] = {
            "Bucket": name,
            "KeyMarker": listing.url_encode(key_marker, encode),
            "UploadIdMarker": upload_marker,
            "Prefix": listing.url_encode(prefix, encode),
            "MaxUploads": limit,
            "IsTruncated": page.truncated,
        }
        uploads = []
        for row in page.rows:
            entry: dict[str, Any] = {
                "UploadId": row.upload_id,
                "Key": listing.url_encode(row.key, encode),
                "Initiated": store.utc(row.initiated),
                "StorageClass": row.storage_class,
                "Owner": owner(row.owner),
                "Initiator": {"ID": row.initiator_arn or "", "DisplayName": row.initiator_id or ""},
            }
            settings = (row.params or {}).get("checksum")
            if settings:
                entry["ChecksumAlgorithm"] = settings["algorithm"]
                entry["ChecksumType"] = settings["type"]
            uploads.append(entry)
        if uploads:
            out["Uploads"] = uploads
        listing.add_grouping(out, page.prefixes, delimiter, encode)
        if page.truncated and page.entries:
            listing.add_key_markers(out, page.entries, encode, "NextUploadIdMarker", "upload_id")
        return out
