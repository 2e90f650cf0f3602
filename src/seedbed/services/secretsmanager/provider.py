"""Secrets Manager operations: secrets, versions and staging labels, tags, resource policies.

Values are sealed through KMS (:mod:`~seedbed.services.secretsmanager.values`); SecretIds are
resolved in :mod:`~seedbed.services.secretsmanager.lookup`; label moves follow
:mod:`~seedbed.services.secretsmanager.staging`. A database transaction never spans a KMS call:
operations read, call KMS, then write after checking again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from seedbed.errors import ServiceError
from seedbed.server.context import Principal, RequestContext
from seedbed.services.base import Provider
from seedbed.services.secretsmanager import (
    listing,
    lookup,
    passwords,
    policy,
    staging,
    store,
    values,
)
from seedbed.services.secretsmanager.errors import (
    InvalidParameter,
    InvalidRequest,
    ResourceExists,
    ResourceNotFound,
    marked_for_deletion,
    not_found,
)

DEFAULT_RECOVERY_DAYS = 30
MAX_TAGS = 50
STRING, BINARY = "string", "binary"


def _caller(ctx: RequestContext) -> Principal:
    if ctx.principal is None:
        raise ServiceError(
            "Missing Authentication Token", code="MissingAuthenticationToken", status=403
        )
    return ctx.principal


def _today() -> datetime:
    """Secrets Manager records access dates to the day."""
    return store.now().replace(hour=0, minute=0, second=0, microsecond=0)


class SecretsManagerProvider(Provider):
    service = "secretsmanager"

    # -- plumbing ---------------------------------------------------------------------------------

    def _find(self, conn: Connection, ctx: RequestContext, secret_id: str) -> store.Secret:
        secret = lookup.find(conn, _caller(ctx).account_id, ctx.region, secret_id)
        if secret is None:
            raise not_found()
        if secret.arn not in ctx.resources:
            ctx.resources.append(secret.arn)
        return secret

    def _live(self, conn: Connection, ctx: RequestContext, secret_id: str) -> store.Secret:
        """A secret that is not scheduled for deletion (most operations refuse those)."""
        secret = self._find(conn, ctx, secret_id)
        if secret.deleted:
            raise marked_for_deletion()
        return secret

    async def _value(self, ctx: RequestContext, version: store.Version) -> bytes:
        return await values.open_value(self.backend, ctx.principal, ctx.region, version)

    async def _same_value(
        self, ctx: RequestContext, version: store.Version, value: bytes, kind: str
    ) -> bool:
        return version.value_kind == kind and await self._value(ctx, version) == value

    async def _add_version(
        self,
        ctx: RequestContext,
        secret: store.Secret,
        value: bytes,
        kind: str,
        token: str | None,
        labels: list[str],
        changes: dict[str, Any] | None = None,
    ) -> tuple[store.Secret, str, list[str]]:
        """Store a new version of ``secret`` with ``labels`` (moving them from other versions).

        The same ClientRequestToken with the same value is a retry and changes nothing; with a
        different value it is an error, as on AWS. Returns (secret, version id, its labels).
        """
        changes = dict(changes or {})
        version_id = token or str(uuid.uuid4())
        with self.backend.db.begin() as conn:
            existing = store.get_version(conn, secret.arn, version_id)
        if existing is not None:
            if await self._same_value(ctx, existing, value, kind):
                return secret, version_id, existing.stages
            raise ResourceExists(
                "You can't modify an existing version, you can only create a new version."
            )
        key_id = changes.get("kms_key_id", secret.kms_key_id)
        sealed = await values.seal(
            self.backend, ctx.principal, ctx.region, key_id, secret.arn, version_id, value
        )
        now = store.now()
        try:
            with self.backend.db.begin() as conn:
                secret = self._live(conn, ctx, secret.arn)
                old = store.list_versions(conn, secret.arn)
                before = {v.version_id: v.stages for v in old}
                after = staging.attach(before, version_id, labels)
                store.insert_version(
                    conn,
                    store.Version(
                        secret.arn,
                        version_id,
                        now,
                        None,
                        after[version_id],
                        kind,
                        sealed.key_arn,
                        sealed.data_key,
                        sealed.sealed,
                    ),
                )
                store.set_stages(
                    conn,
                    secret.arn,
                    {v: s for v, s in after.items() if v != version_id and s != before[v]},
                )
                newest_first = [version_id] + [v.version_id for v in old]
                store.delete_versions(
                    conn, secret.arn, staging.deprecated_to_drop(after, newest_first)
                )
                secret = store.update_secret(conn, secret, last_changed=now, **changes)
        except IntegrityError:
            raise ResourceExists(
                "You can't modify an existing version, you can only create a new version."
            ) from None
        return secret, version_id, after[version_id]

    # -- what IAM asks (seedbed.iam.resources) ----------------------------------------------------

    def resource_policy(self, ctx: RequestContext, resource_arn: str) -> Any:
        """The owner and resource policy of a secret (full or partial ARN); None: no such secret."""
        from seedbed.iam.resources import ResourcePolicy

        secret = self._for_iam(resource_arn)
        return ResourcePolicy(secret.account_id, secret.policy) if secret is not None else None

    def resource_condition_keys(
        self, ctx: RequestContext, resource_arn: str, key: str
    ) -> tuple[str, ...] | None:
        """``aws:ResourceTag/<k>`` and ``secretsmanager:ResourceTag/<k>`` of a secret."""
        if not key.startswith(("aws:resourcetag/", "secretsmanager:resourcetag/")):
            return None
        secret = self._for_iam(resource_arn)
        wanted = key.split("/", 1)[1]
        tags = secret.tags if secret is not None else []
        return next(((t["Value"],) for t in tags if t["Key"].lower() == wanted), None)

    def _for_iam(self, resource_arn: str) -> store.Secret | None:
        parts = resource_arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "secretsmanager":
            return None
        with self.backend.db.connect() as conn:
            return lookup.find(conn, parts[4], parts[3], resource_arn, purge=False)

    # -- secrets ----------------------------------------------------------------------------------

    async def create_secret(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = _caller(ctx)
        name = params["Name"]
        lookup.check_name(name)
        value, kind = _value_in(params)
        tags = _merge_tags([], params.get("Tags") or [])
        if params.get("AddReplicaRegions"):
            raise InvalidRequest("Seedbed does not replicate secrets to other Regions.")
        kms_key_id = params.get("KmsKeyId") or None
        token = params.get("ClientRequestToken") or str(uuid.uuid4())
        with self.backend.db.begin() as conn:
            existing = lookup.find(conn, caller.account_id, ctx.region, name)
            version = store.get_version(conn, existing.arn, token) if existing else None
        if existing is not None:
            if existing.deleted:
                raise InvalidRequest(
                    "You can't create this secret because a secret with this name is already "
                    "scheduled for deletion."
                )
            if (
                value is not None
                and version is not None
                and await self._same_value(ctx, version, value, kind)
            ):
                return {"ARN": existing.arn, "Name": existing.name, "VersionId": token}
            raise ResourceExists(f"The operation failed because the secret {name} already exists.")
        arn = lookup.new_arn(caller.account_id, ctx.region, name)
        sealed = None
        if value is not None:
            sealed = await values.seal(
                self.backend, ctx.principal, ctx.region, kms_key_id, arn, token, value
            )
        now = store.now()
        secret = store.Secret(
            arn=arn,
            account_id=caller.account_id,
            region=ctx.region,
            name=name,
            description=params.get("Description"),
            kms_key_id=kms_key_id,
            secret_type=params.get("Type"),
            created=now,
            last_changed=now,
            last_accessed=None,
            deleted_date=None,
            deletion_date=None,
            tags=tags,
            policy=None,
        )
        try:
            with self.backend.db.begin() as conn:
                store.insert_secret(conn, secret)
                if sealed is not None:
                    store.insert_version(
                        conn,
                        store.Version(
                            arn,
                            token,
                            now,
                            None,
                            [staging.CURRENT],
                            kind,
                            sealed.key_arn,
                            sealed.data_key,
                            sealed.sealed,
                        ),
                    )
        except IntegrityError:
            raise ResourceExists(
                f"The operation failed because the secret {name} already exists."
            ) from None
        ctx.resources.append(arn)
        out = {"ARN": arn, "Name": name}
        if sealed is not None:
            out["VersionId"] = token
        return out

    async def get_secret_value(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            secret = self._live(conn, ctx, params["SecretId"])
            version = _select_version(
                conn, secret, params.get("VersionId"), params.get("VersionStage")
            )
        return await self._reveal(ctx, secret, version)

    async def _reveal(
        self, ctx: RequestContext, secret: store.Secret, version: store.Version
    ) -> dict[str, Any]:
        """A version's value as GetSecretValue returns it; records the day of access."""
        plaintext = await self._value(ctx, version)
        today = _today()
        if secret.last_accessed != today or version.last_accessed != today:
            with self.backend.db.begin() as conn:
                store.update_secret(conn, secret, last_accessed=today)
                store.update_version(conn, version, last_accessed=today)
        out: dict[str, Any] = {
            "ARN": secret.arn,
            "Name": secret.name,
            "VersionId": version.version_id,
            "VersionStages": version.stages,
            "CreatedDate": version.created,
        }
        if version.value_kind == STRING:
            out["SecretString"] = plaintext.decode("utf-8")
        else:
            out["SecretBinary"] = plaintext
        return out

    async def batch_get_secret_value(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        caller = _caller(ctx)
        ids, filters = params.get("SecretIdList"), params.get("Filters")
        if bool(ids) == bool(filters):
            raise InvalidParameter(
                "Specify either SecretIdList or Filters, not both and not neither."
            )
        token = None
        if ids:
            wanted = list(dict.fromkeys(ids))
        else:
            with self.backend.db.begin() as conn:
                found = [
                    s
                    for s in store.list_secrets(conn, caller.account_id, ctx.region)
                    if not lookup.purge_if_due(conn, s)
                    and not s.deleted
                    and listing.matches(s, filters or [])
                ]
            page, token = listing.page(
                listing.sort(found, "name", "asc"),
                params.get("MaxResults"),
                params.get("NextToken"),
                20,
            )
            wanted = [s.arn for s in page]
        results, errors = [], []
        for secret_id in wanted:
            try:
                with self.backend.db.begin() as conn:
                    secret = self._live(conn, ctx, secret_id)
                    version = _select_version(conn, secret, None, None)
                results.append(await self._reveal(ctx, secret, version))
            except ServiceError as error:
                errors.append(
                    {"SecretId": secret_id, "ErrorCode": error.code, "Message": error.message}
                )
        out: dict[str, Any] = {"SecretValues": results}
        if errors:
            out["Errors"] = errors
        if token:
            out["NextToken"] = token
        return out

    async def put_secret_value(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        value, kind = _value_in(params)
        if value is None:
            raise InvalidParameter("You must provide either SecretString or SecretBinary.")
        with self.backend.db.begin() as conn:
            secret = self._live(conn, ctx, params["SecretId"])
        labels = params.get("VersionStages") or [staging.CURRENT]
        secret, version_id, stages = await self._add_version(
            ctx, secret, value, kind, params.get("ClientRequestToken"), labels
        )
        return {
            "ARN": secret.arn,
            "Name": secret.name,
            "VersionId": version_id,
            "VersionStages": stages,
        }

    async def update_secret(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        value, kind = _value_in(params)
        with self.backend.db.begin() as conn:
            secret = self._live(conn, ctx, params["SecretId"])
            versions = store.list_versions(conn, secret.arn)
        changes: dict[str, Any] = {}
        if "Description" in params:
            changes["description"] = params["Description"]
        if "Type" in params:
            changes["secret_type"] = params["Type"]
        if "KmsKeyId" in params and (params["KmsKeyId"] or None) != secret.kms_key_id:
            changes["kms_key_id"] = params["KmsKeyId"] or None
            await self._reencrypt(
                ctx, secret, [v for v in versions if v.stages], changes["kms_key_id"]
            )
        out: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name}
        if value is not None:
            secret, version_id, _ = await self._add_version(
                ctx,
                secret,
                value,
                kind,
                params.get("ClientRequestToken"),
                [staging.CURRENT],
                changes,
            )
            out["VersionId"] = version_id
        else:
            with self.backend.db.begin() as conn:
                secret = self._live(conn, ctx, secret.arn)
                store.update_secret(conn, secret, last_changed=store.now(), **changes)
        return out

    async def _reencrypt(
        self,
        ctx: RequestContext,
        secret: store.Secret,
        versions: list[store.Version],
        key_id: str | None,
    ) -> None:
        """A new KmsKeyId re-encrypts the labelled versions (AWSCURRENT, AWSPREVIOUS, ...), as on
        AWS; deprecated versions keep their old key."""
        resealed = []
        for version in versions:
            plaintext = await self._value(ctx, version)
            sealed = await values.seal(
                self.backend,
                ctx.principal,
                ctx.region,
                key_id,
                secret.arn,
                version.version_id,
                plaintext,
            )
            resealed.append((version, sealed))
        with self.backend.db.begin() as conn:
            for version, sealed in resealed:
                store.update_version(
                    conn,
                    version,
                    key_arn=sealed.key_arn,
                    data_key=sealed.data_key,
                    sealed=sealed.sealed,
                )

    def describe_secret(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            secret = self._find(conn, ctx, params["SecretId"])
            versions = store.list_versions(conn, secret.arn)
        return _describe(secret, versions, "VersionIdsToStages")

    def list_secrets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = _caller(ctx)
        filters = params.get("Filters") or []
        with self.backend.db.begin() as conn:
            found = [
                s
                for s in store.list_secrets(conn, caller.account_id, ctx.region)
                if not lookup.purge_if_due(conn, s)
                and (params.get("IncludePlannedDeletion") or not s.deleted)
                and listing.matches(s, filters)
            ]
            ordered = listing.sort(found, params.get("SortBy"), params.get("SortOrder"))
            page, token = listing.page(
                ordered, params.get("MaxResults"), params.get("NextToken"), 100
            )
            versions = store.list_versions_of(conn, [s.arn for s in page])
        out: dict[str, Any] = {
            "SecretList": [_describe(s, versions[s.arn], "SecretVersionsToStages") for s in page]
        }
        if token:
            out["NextToken"] = token
        return out

    def delete_secret(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        force = bool(params.get("ForceDeleteWithoutRecovery"))
        window = params.get("RecoveryWindowInDays")
        if force and window is not None:
            raise InvalidParameter(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
            )
        if window is not None and not 7 <= window <= 30:
            raise InvalidParameter(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
            )
        now = store.now()
        with self.backend.db.begin() as conn:
            secret = self._find(conn, ctx, params["SecretId"])
            if force:
                store.delete_secret(conn, secret.arn)
                when = now
            elif secret.deleted:
                raise InvalidRequest(
                    "You tried to perform the operation on a secret "
                    "that's currently marked deleted."
                )
            else:
                when = now + timedelta(days=window or DEFAULT_RECOVERY_DAYS)
                store.update_secret(conn, secret, deleted_date=now, deletion_date=when)
        return {"ARN": secret.arn, "Name": secret.name, "DeletionDate": when}

    def restore_secret(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            secret = self._find(conn, ctx, params["SecretId"])
            store.update_secret(conn, secret, deleted_date=None, deletion_date=None)
        return {"ARN": secret.arn, "Name": secret.name}

    # -- versions and labels ----------------------------------------------------------------------

    def update_secret_version_stage(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            secret = self._live(conn, ctx, params["SecretId"])
            before = {v.version_id: v.stages for v in store.list_versions(conn, secret.arn)}
            after = staging.move(
                before,
                params["VersionStage"],
                params.get("RemoveFromVersionId"),
                params.get("MoveToVersionId"),
            )
            store.set_stages(conn, secret.arn, {v: s for v, s in after.items() if s != before[v]})
            store.update_secret(conn, secret, last_changed=store.now())
        return {"ARN": secret.arn, "Name": secret.name}

    def list_secret_version_ids(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            secret = self._find(conn, ctx, params["SecretId"])
            versions = store.list_versions(conn, secret.arn)
        if not params.get("IncludeDeprecated"):
            versions = [v for v in versions if v.stages]
        page, token = listing.page(versions, params.get("MaxResults"), params.get("NextToken"), 100)
        out: dict[str, Any] = {
            "Versions": [_version_out(v) for v in page],
            "ARN": secret.arn,
            "Name": secret.name,
        }
        if token:
            out["NextToken"] = token
        return out

    # -- tags -------------------------------------------------------------------------------------

    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            secret = self._live(conn, ctx, params["SecretId"])
            store.update_secret(conn, secret, tags=_merge_tags(secret.tags, params["Tags"]))
        return {}

    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        drop = set(params["TagKeys"])
        with self.backend.db.begin() as conn:
            secret = self._live(conn, ctx, params["SecretId"])
            store.update_secret(conn, secret, tags=[t for t in secret.tags if t["Key"] not in drop])
        return {}

    # -- resource policies ------------------------------------------------------------------------

    def put_resource_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        document = params["ResourcePolicy"]
        policy.check(document)
        if params.get("BlockPublicPolicy"):
            policy.check_not_public(document)
        with self.backend.db.begin() as conn:
            secret = self._live(conn, ctx, params["SecretId"])
            store.update_secret(conn, secret, policy=document)
        return _with_policy_name({"ARN": secret.arn, "Name": secret.name}, params)

    def get_resource_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            secret = self._find(conn, ctx, params["SecretId"])
        out: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name}
        if secret.policy:
            out["ResourcePolicy"] = secret.policy
        return _with_policy_name(out, params)

    def delete_resource_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            secret = self._find(conn, ctx, params["SecretId"])
            store.update_secret(conn, secret, policy=None)
        return _with_policy_name({"ARN": secret.arn, "Name": secret.name}, params)

    def validate_resource_policy(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        if params.get("SecretId"):
            with self.backend.db.begin() as conn:
                self._find(conn, ctx, params["SecretId"])
        found = policy.problems(params["ResourcePolicy"])
        out: dict[str, Any] = {"PolicyValidationPassed": not found}
        if found:
            out["ValidationErrors"] = [
                {"CheckName": "SYNTAX_CHECK", "ErrorMessage": m} for m in found
            ]
        return out

    # -- the rest ---------------------------------------------------------------------------------

    def get_random_password(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        password = passwords.random_password(
            params.get("PasswordLength") or passwords.DEFAULT_LENGTH,
            exclude_characters=params.get("ExcludeCharacters") or "",
            exclude_numbers=bool(params.get("ExcludeNumbers")),
            exclude_punctuation=bool(params.get("ExcludePunctuation")),
            exclude_uppercase=bool(params.get("ExcludeUppercase")),
            exclude_lowercase=bool(params.get("ExcludeLowercase")),
            include_space=bool(params.get("IncludeSpace")),
            require_each_included_type=params.get("RequireEachIncludedType", True),
        )
        return {"RandomPassword": password}

    def rotate_secret(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            self._live(conn, ctx, params["SecretId"])
        raise _rotation_not_implemented("RotateSecret")

    def cancel_rotate_secret(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            self._live(conn, ctx, params["SecretId"])
        raise _rotation_not_implemented("CancelRotateSecret")


# -- helpers --------------------------------------------------------------------------------------


def _rotation_not_implemented(operation: str) -> ServiceError:
    return ServiceError(
        f"Seedbed does not implement secret rotation yet (secretsmanager:{operation}); the secret "
        "is unchanged. Store new values with PutSecretValue.",
        code="NotImplemented",
        status=501,
        sender_fault=False,
    )


def _value_in(params: dict[str, Any]) -> tuple[bytes | None, str]:
    string, binary = params.get("SecretString"), params.get("SecretBinary")
    if string is not None and binary is not None:
        raise InvalidParameter(
            "You can't specify both a binary secret value and a "
            "string secret value in the same secret."
        )
    if string is not None:
        return string.encode("utf-8"), STRING
    if binary is not None:
        return bytes(binary), BINARY
    return None, STRING


def _select_version(
    conn: Connection, secret: store.Secret, version_id: str | None, stage: str | None
) -> store.Version:
    if version_id:
        version = store.get_version(conn, secret.arn, version_id)
        if version is None:
            raise ResourceNotFound(
                f"Secrets Manager can't find the specified secret value for VersionId: {version_id}"
            )
        if stage and stage not in version.stages:
            raise ResourceNotFound(
                "Secrets Manager can't find the specified secret value for VersionId: "
                f"{version_id} and staging label: {stage}"
            )
        return version
    stage = stage or staging.CURRENT
    for version in store.list_versions(conn, secret.arn):
        if stage in version.stages:
            return version
    raise ResourceNotFound(
        f"Secrets Manager can't find the specified secret value for staging label: {stage}"
    )


def _merge_tags(tags: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    merged = {t["Key"]: t["Value"] for t in tags}
    for tag in new:
        key = tag.get("Key")
        if key is None or tag.get("Value") is None:
            raise InvalidParameter("Every tag needs a Key and a Value.")
        if key.lower().startswith("aws:"):
            raise InvalidParameter("Invalid tag key: tag keys that begin with aws: are reserved.")
        merged[key] = tag["Value"]
    if len(merged) > MAX_TAGS:
        raise InvalidParameter(f"A secret can have at most {MAX_TAGS} tags.")
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def _describe(
    secret: store.Secret, versions: list[store.Version], stages_member: str
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ARN": secret.arn,
        "Name": secret.name,
        "RotationEnabled": False,
        "LastChangedDate": secret.last_changed,
        "CreatedDate": secret.created,
    }
    optional = {
        "Description": secret.description,
        "KmsKeyId": secret.kms_key_id,
        "Type": secret.secret_type,
        "LastAccessedDate": secret.last_accessed,
        "DeletedDate": secret.deleted_date,
        "Tags": secret.tags or None,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    stages = {v.version_id: v.stages for v in versions if v.stages}
    if stages:
        out[stages_member] = stages
    return out


def _version_out(version: store.Version) -> dict[str, Any]:
    out: dict[str, Any] = {
        "VersionId": version.version_id,
        "CreatedDate": version.created,
        "KmsKeyIds": [version.key_arn],
    }
    if version.stages:
        out["VersionStages"] = version.stages
    if version.last_accessed:
        out["LastAccessedDate"] = version.last_accessed
    return out


def _with_policy_name(out: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    if params.get("PolicyName"):
        out["PolicyName"] = params["PolicyName"]
    return out
