"""Bucket operations: create, head, list, delete, and the configuration documents buckets carry
(tagging, versioning, CORS, policy, public access block, encryption, lifecycle, ACL, ownership,
notifications)."""

from __future__ import annotations

from typing import Any

from seedbed.server.context import RequestContext
from seedbed.services.s3 import cors, policy, store, validation
from seedbed.services.s3.common import S3Base, caller_account, owner, owner_acl
from seedbed.services.s3.errors import access_denied, error, invalid_argument, malformed_xml
from seedbed.state import arns

SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
DEFAULT_ENCRYPTION = {
    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]
}
DEFAULT_OWNERSHIP = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def _not_found(code: str, message: str, bucket: str) -> Exception:
    return error(code, message, 404, BucketName=bucket)


class BucketOperations(S3Base):
    # --- lifecycle of a bucket ---------------------------------------------------------------

    def create_bucket(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account = caller_account(ctx, self.backend.settings.account_id)
        name = params["Bucket"]
        validation.bucket_name(name)
        self.check_acl(params)
        config = params.get("CreateBucketConfiguration") or {}
        constraint = config.get("LocationConstraint")
        if constraint == "EU":
            constraint = "eu-west-1"
        if constraint:
            if constraint == "us-east-1":
                raise error("InvalidLocationConstraint", "The specified location-constraint is not valid", LocationConstraint=constraint)
            if ctx.region != "us-east-1" and constraint != ctx.region:
                raise error(
                    "IllegalLocationConstraintException",
                    f"The {constraint} location constraint is incompatible for the region specific "
                    "endpoint this request was sent to.",
                )
            region = constraint
        else:
            if ctx.region != "us-east-1":
                raise error(
                    "IllegalLocationConstraintException",
                    "The unspecified location constraint is incompatible for the region specific "
                    "endpoint this request was sent to.",
                )
            region = "us-east-1"

        def work(conn: Any) -> None:
            existing = store.get_bucket(conn, name)
            if existing is not None:
                if existing.account_id == account:
                    raise error(
                        "BucketAlreadyOwnedByYou",
                        "Your previous request to create the named bucket succeeded and you already own it.",
                        409,
                        BucketName=name,
                    )
                raise error(
                    "BucketAlreadyExists",
                    "The requested bucket name is not available. The bucket namespace is shared by "
                    "all users of the system. Please select a different name and try again.",
                    409,
                    BucketName=name,
                )
            conn.execute(
                store.buckets.insert().values(
                    name=name,
                    account_id=account,
                    region=region,
                    created=store.now(),
                    versioning=None,
                    object_lock=bool(params.get("ObjectLockEnabledForBucket")),
                )
            )
            store.put_config(conn, name, "public-access-block", dict(policy.DEFAULT_PUBLIC_ACCESS_BLOCK))
            ownership = params.get("ObjectOwnership")
            if ownership:
                store.put_config(conn, name, "ownership", {"Rules": [{"ObjectOwnership": ownership}]})

        store.write_transaction(self.db, work)
        self.forget_configs(name)
        ctx.resources.append(arns.build("s3", name))
        return {"Location": f"/{name}", "BucketArn": arns.build("s3", name)}

    def head_bucket(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.db.connect() as conn:
            row = self.bucket(conn, ctx, params["Bucket"], "s3:ListBucket", params=params)
        return {"BucketRegion": row.region, "AccessPointAlias": False, "BucketArn": arns.build("s3", row.name)}

    def get_bucket_location(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.db.connect() as conn:
            row = self.bucket(conn, ctx, params["Bucket"], "s3:GetBucketLocation", params=params)
        return {"LocationConstraint": None if row.region == "us-east-1" else row.region}

    def list_buckets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account = caller_account(ctx, self.backend.settings.account_id)
        with self.db.connect() as conn:
            rows = store.list_buckets(conn, account)
        prefix = params.get("Prefix")
        region = params.get("BucketRegion")
        rows = [r for r in rows if (not prefix or r.name.startswith(prefix)) and (not region or r.region == region)]
        token = params.get("ContinuationToken")
        if token:
            rows = [r for r in rows if r.name > token]
        limit = params.get("MaxBuckets")
        out: dict[str, Any] = {"Owner": owner(account)}
        if limit is not None:
            if not 1 <= limit <= 10000:
                raise invalid_argument("Argument max-buckets must be an integer between 1 and 10000", "max-buckets", str(limit))
            if len(rows) > limit:
                rows = rows[:limit]
                out["ContinuationToken"] = rows[-1].name
        if prefix:
            out["Prefix"] = prefix
        out["Buckets"] = [
            {"Name": r.name, "CreationDate": store.utc(r.created), "BucketRegion": r.region, "BucketArn": arns.build("s3", r.name)}
            for r in rows
        ]
        return out

    def delete_bucket(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Bucket"]
        with self.db.connect() as conn:
            self.bucket(conn, ctx, name, "s3:DeleteBucket", params=params)

        def work(conn: Any) -> list[dict[str, Any]]:
            row = store.get_bucket(conn, name)
            if row is None:
                raise error("NoSuchBucket", "The specified bucket does not exist", 404, BucketName=name)
            if store.bucket_has_objects(conn, name):
                message = "The bucket you tried to delete is not empty"
                if row.versioning:
                    message += ". You must delete all versions in the bucket."
                raise error("BucketNotEmpty", message, 409, BucketName=name)
            return store.drop_bucket(conn, name)

        self.storage.discard(store.write_transaction(self.db, work))
        self.forget_configs(name)
        ctx.resources.append(arns.build("s3", name))
        return {}

    # --- configuration documents -------------------------------------------------------------

    def _get_config(self, ctx: RequestContext, params: dict[str, Any], kind: str, action: str) -> Any:
        with self.db.connect() as conn:
            self.bucket(conn, ctx, params["Bucket"], action, params=params)
            return store.get_config(conn, params["Bucket"], kind)

    def _put_config(self, ctx: RequestContext, params: dict[str, Any], kind: str, action: str, document: Any) -> None:
        name = params["Bucket"]
        if document is not None:
            self.verify_body(ctx)
        with self.db.connect() as conn:
            self.bucket(conn, ctx, name, action, params=params)

        def work(conn: Any) -> None:
            if store.get_bucket(conn, name) is None:
                raise error("NoSuchBucket", "The specified bucket does not exist", 404, BucketName=name)
            if document is None:
                store.delete_config(conn, name, kind)
            else:
                store.put_config(conn, name, kind, document)

        store.write_transaction(self.db, work)
        self.forget_configs(name)

    # tagging

    def put_bucket_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tags = validation.tag_set((params.get("Tagging") or {}).get("TagSet") or [], validation.MAX_BUCKET_TAGS)
        self._put_config(ctx, params, "tagging", "s3:PutBucketTagging", {"TagSet": tags})
        return {}

    def get_bucket_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        document = self._get_config(ctx, params, "tagging", "s3:GetBucketTagging")
        if not document or not document.get("TagSet"):
            raise _not_found("NoSuchTagSet", "The TagSet does not exist", params["Bucket"])
        return {"TagSet": document["TagSet"]}

    def delete_bucket_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._put_config(ctx, params, "tagging", "s3:PutBucketTagging", None)
        return {}

    # versioning

    def put_bucket_versioning(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Bucket"]
        self.verify_body(ctx)
        config = params.get("VersioningConfiguration") or {}
        status = config.get("Status")
        if status not in ("Enabled", "Suspended"):
            raise malformed_xml()
        mfa_delete = config.get("MFADelete")
        if mfa_delete == "Enabled":
            raise error("InvalidRequest", "Seedbed cannot verify MFA devices: MFADelete cannot be enabled.")
        with self.db.connect() as conn:
            bucket = self.bucket(conn, ctx, name, "s3:PutBucketVersioning", params=params)
        if bucket.object_lock and status == "Suspended":
            raise error("InvalidBucketState", "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.", 409)

        def work(conn: Any) -> None:
            conn.execute(
                store.buckets.update()
                .where(store.buckets.c.name == name)
                .values(versioning=status, mfa_delete=mfa_delete or store.buckets.c.mfa_delete)
            )

        store.write_transaction(self.db, work)
        return {}

    def get_bucket_versioning(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.db.connect() as conn:
            row = self.bucket(conn, ctx, params["Bucket"], "s3:GetBucketVersioning", params=params)
        out: dict[str, Any] = {}
        if row.versioning:
            out["Status"] = row.versioning
            out["MFADelete"] = row.mfa_delete or "Disabled"
        return out

    # CORS

    def put_bucket_cors(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        document = cors.validate_configuration(params.get("CORSConfiguration") or {})
        self._put_config(ctx, params, "cors", "s3:PutBucketCORS", document)
        return {}

    def get_bucket_cors(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        document = self._get_config(ctx, params, "cors", "s3:GetBucketCORS")
        if not document:
            raise _not_found("NoSuchCORSConfiguration", "The CORS configuration does not exist", params["Bucket"])
        return {"CORSRules": document["CORSRules"]}

    def delete_bucket_cors(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._put_config(ctx, params, "cors", "s3:PutBucketCORS", None)
        return {}

    # policy

    def put_bucket_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("Policy") or ""
        document = policy.parse(text)
        if policy.is_public(document):
            with self.db.connect() as conn:
                self.bucket(conn, ctx, params["Bucket"], "s3:PutBucketPolicy", params=params)
                block = store.get_config(conn, params["Bucket"], "public-access-block") or {}
            if block.get("BlockPublicPolicy"):
                raise access_denied(
                    f"User: {ctx.principal.arn if ctx.principal else 'anonymous'} is not authorized to "
                    f"perform: s3:PutBucketPolicy on resource: \"{arns.build('s3', params['Bucket'])}\" "
                    "because public policies are blocked by the BlockPublicPolicy block public access setting."
                )
        self._put_config(ctx, params, "policy", "s3:PutBucketPolicy", {"text": text, "document": document})
        return {}

    def get_bucket_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        document = self._get_config(ctx, params, "policy", "s3:GetBucketPolicy")
        if not document:
            raise _not_found("NoSuchBucketPolicy", "The bucket policy does not exist", params["Bucket"])
        return {"Policy": document["text"]}

    def delete_bucket_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._put_config(ctx, params, "policy", "s3:DeleteBucketPolicy", None)
        return {}

    def get_bucket_policy_status(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        document = self._get_config(ctx, params, "policy", "s3:GetBucketPolicyStatus")
        return {"PolicyStatus": {"IsPublic": policy.is_public(document and document["document"])}}

    # public access block

    def put_public_access_block(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        config = params.get("PublicAccessBlockConfiguration") or {}
        document = {name: bool(config.get(name, False)) for name in policy.DEFAULT_PUBLIC_ACCESS_BLOCK}
        self._put_config(ctx, params, "public-access-block", "s3:PutBucketPublicAccessBlock", document)
        return {}

    def get_public_access_block(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        document = self._get_config(ctx, params, "public-access-block", "s3:GetBucketPublicAccessBlock")
        if document is None:
            raise _not_found(
                "NoSuchPublicAccessBlockConfiguration",
                "The public access block configuration was not found",
                params["Bucket"],
            )
        return {"PublicAccessBlockConfiguration": document}

    def delete_public_access_block(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._put_config(ctx, params, "public-access-block", "s3:PutBucketPublicAccessBlock", None)
        return {}

    # default encryption

    def put_bucket_encryption(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        config = params.get("ServerSideEncryptionConfiguration") or {}
        rules = config.get("Rules") or []
        if len(rules) != 1:
            raise malformed_xml()
        default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
        algorithm = default.get("SSEAlgorithm")
        if algorithm not in SSE_ALGORITHMS:
            raise malformed_xml()
        if default.get("KMSMasterKeyID") and algorithm == "AES256":
            raise invalid_argument(
                "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
                "ApplyServerSideEncryptionByDefault",
            )
        rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": dict(default)}
        rule["BucketKeyEnabled"] = bool(rules[0].get("BucketKeyEnabled", False))
        self._put_config(ctx, params, "encryption", "s3:PutEncryptionConfiguration", {"Rules": [rule]})
        return {}

    def get_bucket_encryption(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        document = self._get_config(ctx, params, "encryption", "s3:GetEncryptionConfiguration")
        return {"ServerSideEncryptionConfiguration": document or DEFAULT_ENCRYPTION}

    def delete_bucket_encryption(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._put_config(ctx, params, "encryption", "s3:PutEncryptionConfiguration", None)
        return {}

    # lifecycle (stored; expiration is not applied yet)

    def put_bucket_lifecycle_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        rules = (params.get("LifecycleConfiguration") or {}).get("Rules") or []
        if not rules:
            raise malformed_xml()
        for rule in rules:
            if rule.get("Status") not in ("Enabled", "Disabled"):
                raise malformed_xml()
        document = {"Rules": _json_safe(rules)}
        self._put_config(ctx, params, "lifecycle", "s3:PutLifecycleConfiguration", document)
        return {"TransitionDefaultMinimumObjectSize": "all_storage_classes_128K"}

    def get_bucket_lifecycle_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        document = self._get_config(ctx, params, "lifecycle", "s3:GetLifecycleConfiguration")
        if not document:
            raise _not_found("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist", params["Bucket"])
        return {"Rules": _dates_back(document["Rules"]), "TransitionDefaultMinimumObjectSize": "all_storage_classes_128K"}

    def delete_bucket_lifecycle(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._put_config(ctx, params, "lifecycle", "s3:PutLifecycleConfiguration", None)
        return {}

    # ACLs (buckets enforce bucket-owner ownership: the owner has FULL_CONTROL, nobody else)

    def get_bucket_acl(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.db.connect() as conn:
            row = self.bucket(conn, ctx, params["Bucket"], "s3:GetBucketAcl", params=params)
        return owner_acl(row.account_id)

    def put_bucket_acl(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.db.connect() as conn:
            self.bucket(conn, ctx, params["Bucket"], "s3:PutBucketAcl", params=params)
        self.check_acl(params)
        if params.get("AccessControlPolicy") is not None:
            raise error("AccessControlListNotSupported", "The bucket does not allow ACLs")
        return {}

    # ownership controls and notifications (stored)

    def get_bucket_ownership_controls(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        document = self._get_config(ctx, params, "ownership", "s3:GetBucketOwnershipControls")
        return {"OwnershipControls": document or DEFAULT_OWNERSHIP}

    def put_bucket_ownership_controls(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        document = params.get("OwnershipControls") or {}
        if not document.get("Rules"):
            raise malformed_xml()
        self._put_config(ctx, params, "ownership", "s3:PutBucketOwnershipControls", document)
        return {}

    def delete_bucket_ownership_controls(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._put_config(ctx, params, "ownership", "s3:PutBucketOwnershipControls", None)
        return {}

    def get_bucket_notification_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._get_config(ctx, params, "notification", "s3:GetBucketNotification") or {}

    def put_bucket_notification_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        document = _json_safe(params.get("NotificationConfiguration") or {})
        self._put_config(ctx, params, "notification", "s3:PutBucketNotification", document or None)
        return {}


def _dates_back(value: Any) -> Any:
    """Undo :func:`_json_safe` for the timestamp members of lifecycle rules (``Date``)."""
    from datetime import datetime

    if isinstance(value, dict):
        return {k: datetime.fromisoformat(v) if k == "Date" and isinstance(v, str) else _dates_back(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_back(v) for v in value]
    return value


def _json_safe(value: Any) -> Any:
    """Configuration documents go into JSON columns: datetimes become ISO strings."""
    from datetime import datetime

    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
