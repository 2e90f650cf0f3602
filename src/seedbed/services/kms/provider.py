"""KMS operations: symmetric keys, aliases, key policies, rotation, tags and the crypto calls.

Keys are found and their states checked in :mod:`~seedbed.services.kms.keys`; the bytes are
sealed and opened in :mod:`~seedbed.services.kms.crypto`; rows live in
:mod:`~seedbed.services.kms.store`. Other services (S3, Secrets Manager, SSM) use KMS through
:mod:`~seedbed.services.kms.envelope`, which calls these operations in-process.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from seedbed.errors import ServiceError
from seedbed.server.context import Principal, RequestContext
from seedbed.services.base import Provider
from seedbed.services.kms import crypto, keys, policy, store
from seedbed.services.kms.errors import (
    AlreadyExists,
    DryRun,
    IncorrectKey,
    InvalidAliasName,
    InvalidCiphertext,
    InvalidKeyUsage,
    InvalidMarker,
    InvalidState,
    LimitExceeded,
    NotFound,
    TagError,
    Unsupported,
    Validation,
)

T = TypeVar("T")
ALGORITHM = "SYMMETRIC_DEFAULT"
DATA_KEY_BYTES = {"AES_256": 32, "AES_128": 16}
MAX_TAGS = 50
MAX_ON_DEMAND_ROTATIONS = 25
DEFAULT_PAGE = 100
#: Unwrapped materials kept in memory: a (key, version) material never changes, so the cache
#: needs no invalidation; the key row (state, policy) is still read on every call.
MATERIAL_CACHE_SIZE = 4096


def _caller(ctx: RequestContext) -> Principal:
    if ctx.principal is None:
        raise ServiceError(
            "Missing Authentication Token", code="MissingAuthenticationToken", status=403
        )
    return ctx.principal


class KmsProvider(Provider):
    service = "kms"

    def __init__(self, backend: Any) -> None:
        super().__init__(backend)
        self._wrapper: crypto.MaterialWrapper | None = None
        self._wrapper_lock = threading.Lock()
        self._materials: dict[tuple[str, int], bytes] = {}

    # -- plumbing ---------------------------------------------------------------------------------

    @property
    def wrapper(self) -> crypto.MaterialWrapper:
        """The master key's wrapper, loaded (or created) on first use."""
        if self._wrapper is None:
            with self._wrapper_lock:
                if self._wrapper is None:
                    master = crypto.load_master_key(self.backend.settings.data_dir)
                    self._wrapper = crypto.MaterialWrapper(master)
        return self._wrapper

    def _tx(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction. An AWS managed alias named for the first time gets its
        key made in a transaction of its own, then ``work`` runs again."""
        for _ in range(2):
            try:
                with self.backend.db.begin() as conn:
                    return work(conn)
            except keys.ManagedKeyMissing as missing:
                try:
                    with self.backend.db.begin() as conn:
                        keys.create_aws_managed(conn, self.wrapper, missing)
                except IntegrityError:
                    pass  # made concurrently by another request: use that one
        with self.backend.db.begin() as conn:
            return work(conn)

    def _find(
        self, ctx: RequestContext, key_id: str, **options: bool
    ) -> Callable[[Connection], store.Key]:
        caller = _caller(ctx)
        return lambda conn: keys.find(conn, caller, ctx.region, key_id, **options)

    def _material(self, conn: Connection, key: store.Key, version: int) -> bytes:
        cached = self._materials.get((key.key_id, version))
        if cached is not None:
            return cached
        found = store.get_material(conn, key.key_id, version)
        if found is None:
            raise InvalidCiphertext("The ciphertext refers to key material this key does not have.")
        try:
            material = self.wrapper.unwrap(found.wrapped, key.key_id, version)
        except crypto.CiphertextError as exc:
            raise ServiceError(str(exc), code="KMSInternalException", status=500) from None
        if len(self._materials) >= MATERIAL_CACHE_SIZE:
            self._materials.clear()
        self._materials[(key.key_id, version)] = material
        return material

    def _current_material(self, conn: Connection, key: store.Key) -> tuple[store.Key, bytes]:
        """The material new ciphertexts use, rotating first when automatic rotation is due."""
        now = store.now()
        if key.rotation_enabled and key.next_rotation and key.next_rotation <= now:
            version = key.current_material + 1
            wrapped = self.wrapper.wrap(secrets.token_bytes(32), key.key_id, version)
            key = store.add_material(
                conn,
                key,
                wrapped,
                "AUTOMATIC",
                now,
                next_rotation=now + timedelta(days=key.rotation_period_days or 365),
            )
        return key, self._material(conn, key, key.current_material)

    def _admin(
        self, ctx: RequestContext, params: dict[str, Any], action: str, *, pending_ok: bool = False
    ) -> Callable[[Connection], store.Key]:
        """Find a customer managed key by id or ARN for an administrative action."""
        caller = _caller(ctx)

        def work(conn: Connection) -> store.Key:
            key = keys.find(conn, caller, ctx.region, params["KeyId"], aliases=False)
            keys.require_customer_managed(key, caller, action)
            if not pending_ok:
                keys.require_not_pending(key)
            return key

        return work

    # -- keys -------------------------------------------------------------------------------------

    def create_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = _caller(ctx)
        spec = params.get("KeySpec") or params.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
        if spec != "SYMMETRIC_DEFAULT":
            raise Unsupported(
                "Seedbed's KMS supports symmetric encryption keys only (KeySpec "
                f"SYMMETRIC_DEFAULT), not {spec}."
            )
        usage = params.get("KeyUsage") or "ENCRYPT_DECRYPT"
        if usage != "ENCRYPT_DECRYPT":
            raise Unsupported(f"Seedbed's KMS supports KeyUsage ENCRYPT_DECRYPT only, not {usage}.")
        origin = params.get("Origin") or "AWS_KMS"
        if origin != "AWS_KMS":
            raise Unsupported(
                f"Seedbed's KMS makes its own key material (Origin AWS_KMS), not {origin}."
            )
        if params.get("CustomKeyStoreId") or params.get("XksKeyId"):
            raise ServiceError(
                "Seedbed's KMS has no custom key stores.", code="CustomKeyStoreNotFoundException"
            )
        if params.get("MultiRegion"):
            raise Unsupported("Seedbed's KMS does not support multi-Region keys.")
        key_policy = params.get("Policy")
        if key_policy is not None:
            policy.check_policy(key_policy)
        tags = _merge_tags({}, params.get("Tags") or [])
        key = self._tx(
            lambda conn: keys.new_key(
                conn,
                self.wrapper,
                caller.account_id,
                ctx.region,
                description=params.get("Description") or "",
                key_policy=key_policy or policy.default_policy(caller.account_id),
                tags=tags,
            )
        )
        ctx.resources.append(key.arn)
        return {"KeyMetadata": _metadata(key)}

    def describe_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self._tx(self._find(ctx, params["KeyId"], other_accounts=True))
        ctx.resources.append(key.arn)
        return {"KeyMetadata": _metadata(key)}

    def list_keys(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = _caller(ctx)
        found = self._tx(lambda conn: keys.purge_due(conn, caller.account_id, ctx.region))
        page, marker = _page(found, lambda k: k.key_id, params.get("Limit"), params.get("Marker"))
        return _paged({"Keys": [{"KeyId": k.key_id, "KeyArn": k.arn} for k in page]}, marker)

    def update_key_description(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        find = self._admin(ctx, params, "UpdateKeyDescription")
        self._tx(lambda conn: store.update_key(conn, find(conn), description=params["Description"]))
        return {}

    def enable_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        find = self._admin(ctx, params, "EnableKey")
        key = self._tx(lambda conn: store.update_key(conn, find(conn), state="Enabled"))
        ctx.resources.append(key.arn)
        return {}

    def disable_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        find = self._admin(ctx, params, "DisableKey")
        key = self._tx(lambda conn: store.update_key(conn, find(conn), state="Disabled"))
        ctx.resources.append(key.arn)
        return {}

    def schedule_key_deletion(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        days = params.get("PendingWindowInDays", 30)
        if not 7 <= days <= 30:
            raise Validation(
                f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to "
                "satisfy constraint: Member must have value between 7 and 30, inclusive"
            )
        find = self._admin(ctx, params, "ScheduleKeyDeletion")
        when = store.now() + timedelta(days=days)

        def work(conn: Connection) -> store.Key:
            return store.update_key(
                conn,
                find(conn),
                state="PendingDeletion",
                deletion_date=when,
                pending_window_days=days,
            )

        key = self._tx(work)
        ctx.resources.append(key.arn)
        return {
            "KeyId": key.arn,
            "DeletionDate": when,
            "KeyState": "PendingDeletion",
            "PendingWindowInDays": days,
        }

    def cancel_key_deletion(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        find = self._admin(ctx, params, "CancelKeyDeletion", pending_ok=True)

        def work(conn: Connection) -> store.Key:
            key = find(conn)
            if key.state != "PendingDeletion":
                raise InvalidState(f"{key.arn} is not pending deletion.")
            # AWS brings a key back Disabled: using it again is a separate decision.
            return store.update_key(
                conn, key, state="Disabled", deletion_date=None, pending_window_days=None
            )

        key = self._tx(work)
        ctx.resources.append(key.arn)
        return {"KeyId": key.arn}

    # -- rotation ---------------------------------------------------------------------------------

    def enable_key_rotation(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        find = self._admin(ctx, params, "EnableKeyRotation")
        days = params.get("RotationPeriodInDays") or keys.DEFAULT_ROTATION_DAYS

        def work(conn: Connection) -> store.Key:
            key = find(conn)
            keys.require_usable(key)
            return store.update_key(
                conn,
                key,
                rotation_enabled=True,
                rotation_period_days=days,
                next_rotation=store.now() + timedelta(days=days),
            )

        self._tx(work)
        return {}

    def disable_key_rotation(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        find = self._admin(ctx, params, "DisableKeyRotation")

        def work(conn: Connection) -> store.Key:
            key = find(conn)
            keys.require_usable(key)
            return store.update_key(
                conn, key, rotation_enabled=False, rotation_period_days=None, next_rotation=None
            )

        self._tx(work)
        return {}

    def get_key_rotation_status(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        key = self._tx(self._find(ctx, params["KeyId"], aliases=False, other_accounts=True))
        keys.require_not_pending(key)
        out: dict[str, Any] = {"KeyRotationEnabled": key.rotation_enabled, "KeyId": key.arn}
        if key.rotation_enabled:
            out["RotationPeriodInDays"] = key.rotation_period_days
            out["NextRotationDate"] = key.next_rotation
        return out

    def rotate_key_on_demand(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        find = self._admin(ctx, params, "RotateKeyOnDemand")

        def work(conn: Connection) -> store.Key:
            key = find(conn)
            keys.require_usable(key)
            done = [
                m for m in store.list_materials(conn, key.key_id) if m.rotation_type == "ON_DEMAND"
            ]
            if len(done) >= MAX_ON_DEMAND_ROTATIONS:
                raise LimitExceeded(
                    f"{key.arn} has reached the limit of "
                    f"{MAX_ON_DEMAND_ROTATIONS} on-demand rotations."
                )
            version = key.current_material + 1
            wrapped = self.wrapper.wrap(secrets.token_bytes(32), key.key_id, version)
            return store.add_material(conn, key, wrapped, "ON_DEMAND", store.now())

        key = self._tx(work)
        ctx.resources.append(key.arn)
        return {"KeyId": key.arn}

    def list_key_rotations(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        find = self._admin(ctx, params, "ListKeyRotations", pending_ok=True)

        def work(conn: Connection) -> tuple[store.Key, list[store.Material]]:
            key = find(conn)
            return key, store.list_materials(conn, key.key_id)

        key, materials = self._tx(work)
        rotations = [m for m in materials if m.version > 1]
        page, marker = _page(
            rotations, lambda m: f"{m.version:010d}", params.get("Limit"), params.get("Marker")
        )
        return _paged(
            {
                "Rotations": [
                    {
                        "KeyId": key.key_id,
                        "KeyMaterialId": crypto.material_id(key.key_id, m.version),
                        "KeyMaterialState": "CURRENT"
                        if m.version == key.current_material
                        else "NON_CURRENT",
                        "RotationDate": m.created,
                        "RotationType": m.rotation_type,
                    }
                    for m in page
                ]
            },
            marker,
        )

    # -- aliases ----------------------------------------------------------------------------------

    def create_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = _caller(ctx)
        name = params["AliasName"]
        _check_alias_name(name, reserved_error=InvalidAliasName)

        def work(conn: Connection) -> store.Key:
            key = _alias_target(conn, caller, ctx.region, params["TargetKeyId"])
            if store.get_alias(conn, caller.account_id, ctx.region, name) is not None:
                raise AlreadyExists(
                    "An alias with the name "
                    f"{keys.alias_arn(caller.account_id, ctx.region, name)} already exists"
                )
            now = store.now()
            store.insert_alias(
                conn, store.Alias(caller.account_id, ctx.region, name, key.key_id, now, now)
            )
            return key

        try:
            key = self._tx(work)
        except IntegrityError:
            raise AlreadyExists(
                "An alias with the name "
                f"{keys.alias_arn(caller.account_id, ctx.region, name)} already exists"
            ) from None
        ctx.resources += [keys.alias_arn(caller.account_id, ctx.region, name), key.arn]
        return {}

    def update_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = _caller(ctx)
        name = params["AliasName"]
        _check_alias_name(name, reserved_error=Validation)

        def work(conn: Connection) -> None:
            keys.purge_due(conn, caller.account_id, ctx.region)
            alias = store.get_alias(conn, caller.account_id, ctx.region, name)
            if alias is None:
                raise NotFound(
                    f"Alias {keys.alias_arn(caller.account_id, ctx.region, name)} is not found."
                )
            key = _alias_target(conn, caller, ctx.region, params["TargetKeyId"])
            store.retarget_alias(conn, alias, key.key_id, store.now())

        self._tx(work)
        ctx.resources.append(keys.alias_arn(caller.account_id, ctx.region, name))
        return {}

    def delete_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = _caller(ctx)
        name = params["AliasName"]
        _check_alias_name(name, reserved_error=Validation)

        def work(conn: Connection) -> None:
            keys.purge_due(conn, caller.account_id, ctx.region)
            alias = store.get_alias(conn, caller.account_id, ctx.region, name)
            if alias is None:
                raise NotFound(
                    f"Alias {keys.alias_arn(caller.account_id, ctx.region, name)} is not found."
                )
            store.delete_alias(conn, alias)

        self._tx(work)
        ctx.resources.append(keys.alias_arn(caller.account_id, ctx.region, name))
        return {}

    def list_aliases(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = _caller(ctx)
        account, region = caller.account_id, ctx.region

        def work(conn: Connection) -> list[dict[str, Any]]:
            keys.purge_due(conn, account, region)
            if params.get("KeyId"):
                key = keys.find(conn, caller, region, params["KeyId"], aliases=False)
                found = store.list_aliases(conn, account, region, key.key_id)
                return [_alias_out(a) for a in found]
            found = store.list_aliases(conn, account, region)
            named = {a.alias_name for a in found}
            out = [_alias_out(a) for a in found]
            # AWS lists the AWS managed aliases even before their keys exist, without a target.
            out += [
                {"AliasName": name, "AliasArn": keys.alias_arn(account, region, name)}
                for name in keys.AWS_MANAGED_ALIASES
                if name not in named
            ]
            return sorted(out, key=lambda a: a["AliasName"])

        found = self._tx(work)
        page, marker = _page(
            found, lambda a: a["AliasName"], params.get("Limit"), params.get("Marker")
        )
        return _paged({"Aliases": page}, marker)

    # -- key policies -----------------------------------------------------------------------------

    def get_key_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _check_policy_name(params.get("PolicyName"))
        key = self._tx(self._find(ctx, params["KeyId"], aliases=False))
        return {"Policy": key.policy, "PolicyName": policy.POLICY_NAME}

    def put_key_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _check_policy_name(params.get("PolicyName"))
        policy.check_policy(params["Policy"])
        find = self._admin(ctx, params, "PutKeyPolicy")
        key = self._tx(lambda conn: store.update_key(conn, find(conn), policy=params["Policy"]))
        ctx.resources.append(key.arn)
        return {}

    def list_key_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._tx(self._find(ctx, params["KeyId"], aliases=False))
        return {"PolicyNames": [policy.POLICY_NAME], "Truncated": False}

    # -- cryptography -----------------------------------------------------------------------------

    def _seal(
        self, ctx: RequestContext, key_id: str, plaintext: bytes, context: dict[str, str] | None
    ) -> tuple[store.Key, bytes]:
        """Encrypt under the key ``key_id`` names (any of the four ways): (key, ciphertext blob)."""
        find = self._find(ctx, key_id, other_accounts=True)

        def work(conn: Connection) -> tuple[store.Key, bytes]:
            key = find(conn)
            keys.require_usable(key)
            key, material = self._current_material(conn, key)
            return key, crypto.seal(material, key.key_id, key.current_material, plaintext, context)

        key, blob = self._tx(work)
        ctx.resources.append(key.arn)
        return key, blob

    def _open(
        self, ctx: RequestContext, blob: bytes, context: dict[str, str] | None, named: str | None
    ) -> tuple[store.Key, int, bytes]:
        """Decrypt a blob with the key it names: (key, material version, plaintext). ``named``
        is the KeyId the caller expects, if any (IncorrectKeyException when it differs)."""
        caller = _caller(ctx)
        try:
            header = crypto.read_header(blob)
        except crypto.CiphertextError:
            raise InvalidCiphertext("The ciphertext is not a valid KMS ciphertext blob.") from None

        def work(conn: Connection) -> tuple[store.Key, bytes]:
            key = keys.find_by_id(conn, caller, ctx.region, header.key_id)
            if named is not None:
                expected = keys.find(conn, caller, ctx.region, named, other_accounts=True)
                if expected.key_id != key.key_id:
                    raise IncorrectKey(
                        "The key ID in the request does not identify a KMS "
                        "key that can perform this operation."
                    )
            keys.require_usable(key)
            return key, self._material(conn, key, header.material_version)

        key, material = self._tx(work)
        ctx.resources.append(key.arn)
        try:
            plaintext = crypto.open_sealed(material, blob, context)
        except crypto.CiphertextError:
            raise InvalidCiphertext(
                "The ciphertext does not decrypt: it was changed, "
                "or the encryption context differs."
            ) from None
        return key, header.material_version, plaintext

    def encrypt(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _check_algorithm(params.get("EncryptionAlgorithm"))
        key, blob = self._seal(
            ctx, params["KeyId"], params["Plaintext"], params.get("EncryptionContext")
        )
        _dry_run(params)
        return {"CiphertextBlob": blob, "KeyId": key.arn, "EncryptionAlgorithm": ALGORITHM}

    def decrypt(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _check_algorithm(params.get("EncryptionAlgorithm"))
        _no_recipient(params)
        key, version, plaintext = self._open(
            ctx, params["CiphertextBlob"], params.get("EncryptionContext"), params.get("KeyId")
        )
        _dry_run(params)
        return {
            "KeyId": key.arn,
            "Plaintext": plaintext,
            "EncryptionAlgorithm": ALGORITHM,
            "KeyMaterialId": crypto.material_id(key.key_id, version),
        }

    def generate_data_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _no_recipient(params)
        data_key = secrets.token_bytes(_data_key_size(params))
        key, blob = self._seal(ctx, params["KeyId"], data_key, params.get("EncryptionContext"))
        _dry_run(params)
        return {
            "CiphertextBlob": blob,
            "Plaintext": data_key,
            "KeyId": key.arn,
            "KeyMaterialId": crypto.material_id(key.key_id, key.current_material),
        }

    def generate_data_key_without_plaintext(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        data_key = secrets.token_bytes(_data_key_size(params))
        key, blob = self._seal(ctx, params["KeyId"], data_key, params.get("EncryptionContext"))
        _dry_run(params)
        return {
            "CiphertextBlob": blob,
            "KeyId": key.arn,
            "KeyMaterialId": crypto.material_id(key.key_id, key.current_material),
        }

    def re_encrypt(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _check_algorithm(params.get("SourceEncryptionAlgorithm"))
        _check_algorithm(params.get("DestinationEncryptionAlgorithm"))
        source, version, plaintext = self._open(
            ctx,
            params["CiphertextBlob"],
            params.get("SourceEncryptionContext"),
            params.get("SourceKeyId"),
        )
        key, blob = self._seal(
            ctx, params["DestinationKeyId"], plaintext, params.get("DestinationEncryptionContext")
        )
        _dry_run(params)
        return {
            "CiphertextBlob": blob,
            "SourceKeyId": source.arn,
            "KeyId": key.arn,
            "SourceEncryptionAlgorithm": ALGORITHM,
            "DestinationEncryptionAlgorithm": ALGORITHM,
            "SourceKeyMaterialId": crypto.material_id(source.key_id, version),
            "DestinationKeyMaterialId": crypto.material_id(key.key_id, key.current_material),
        }

    def generate_random(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("CustomKeyStoreId"):
            raise ServiceError(
                "Seedbed's KMS has no custom key stores.", code="CustomKeyStoreNotFoundException"
            )
        _no_recipient(params)
        size = params.get("NumberOfBytes")
        if size is None:
            raise Validation("Please specify the number of bytes (NumberOfBytes).")
        return {"Plaintext": secrets.token_bytes(size)}

    # -- tags -------------------------------------------------------------------------------------

    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        find = self._admin(ctx, params, "TagResource")

        def work(conn: Connection) -> store.Key:
            key = find(conn)
            return store.update_key(conn, key, tags=_merge_tags(key.tags, params["Tags"]))

        key = self._tx(work)
        ctx.resources.append(key.arn)
        return {}

    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        find = self._admin(ctx, params, "UntagResource")
        drop = set(params["TagKeys"])

        def work(conn: Connection) -> store.Key:
            key = find(conn)
            return store.update_key(
                conn, key, tags={k: v for k, v in key.tags.items() if k not in drop}
            )

        key = self._tx(work)
        ctx.resources.append(key.arn)
        return {}

    def list_resource_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self._tx(self._find(ctx, params["KeyId"], aliases=False))
        tags = sorted(key.tags.items())
        page, marker = _page(tags, lambda t: t[0], params.get("Limit"), params.get("Marker"))
        return _paged({"Tags": [{"TagKey": k, "TagValue": v} for k, v in page]}, marker)


# -- helpers --------------------------------------------------------------------------------------


def _metadata(key: store.Key) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AWSAccountId": key.account_id,
        "KeyId": key.key_id,
        "Arn": key.arn,
        "CreationDate": key.created,
        "Enabled": key.state == "Enabled",
        "Description": key.description,
        "KeyUsage": key.key_usage,
        "KeyState": key.state,
        "Origin": key.origin,
        "KeyManager": key.manager,
        "CustomerMasterKeySpec": key.key_spec,
        "KeySpec": key.key_spec,
        "EncryptionAlgorithms": [ALGORITHM],
        "MultiRegion": False,
        "CurrentKeyMaterialId": crypto.material_id(key.key_id, key.current_material),
    }
    if key.state == "PendingDeletion":
        out["DeletionDate"] = key.deletion_date
        out["PendingDeletionWindowInDays"] = key.pending_window_days
    return out


def _alias_out(alias: store.Alias) -> dict[str, Any]:
    return {
        "AliasName": alias.alias_name,
        "AliasArn": keys.alias_arn(alias.account_id, alias.region, alias.alias_name),
        "TargetKeyId": alias.key_id,
        "CreationDate": alias.created,
        "LastUpdatedDate": alias.updated,
    }


def _alias_target(conn: Connection, caller: Principal, region: str, target: str) -> store.Key:
    """An alias points at a customer managed key of the caller's account, named by id or ARN."""
    if target.startswith("alias/") or ":alias/" in target:
        raise Validation("TargetKeyId must be a key ID or key ARN, not an alias.")
    key = keys.find(conn, caller, region, target, aliases=False)
    if key.aws_managed:
        raise Validation(
            f"{key.arn} is an AWS managed key; an alias you create cannot point to it."
        )
    keys.require_not_pending(key)
    return key


def _check_alias_name(name: str, *, reserved_error: type[ServiceError]) -> None:
    if not name.startswith("alias/"):
        raise Validation(
            'Alias must start with the prefix "alias/". Please see '
            "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
        )
    if name == "alias/":
        raise InvalidAliasName("Alias name must have a name after the prefix alias/.")
    if name.startswith("alias/aws/"):
        raise reserved_error(
            "Alias names that begin with alias/aws/ are reserved for AWS managed keys."
        )


def _check_policy_name(name: str | None) -> None:
    if name is not None and name != policy.POLICY_NAME:
        raise NotFound(f"No such policy exists: {name}. The only key policy name is default.")


def _check_algorithm(algorithm: str | None) -> None:
    if algorithm is not None and algorithm != ALGORITHM:
        raise InvalidKeyUsage(
            f"{algorithm} is not a valid encryption algorithm for a symmetric key; use {ALGORITHM}."
        )


def _no_recipient(params: dict[str, Any]) -> None:
    if params.get("Recipient"):
        raise Validation("Seedbed's KMS does not support Nitro Enclaves attestation (Recipient).")


def _dry_run(params: dict[str, Any]) -> None:
    if params.get("DryRun"):
        raise DryRun("The request would have succeeded, but the DryRun option is set.")


def _data_key_size(params: dict[str, Any]) -> int:
    spec, size = params.get("KeySpec"), params.get("NumberOfBytes")
    if spec is None and size is None:
        raise Validation("Please specify either number of bytes or key spec.")
    if spec is not None and size is not None:
        raise Validation("Please specify either number of bytes or key spec, not both.")
    if spec is not None:
        return DATA_KEY_BYTES[spec]
    assert size is not None
    return int(size)


def _merge_tags(tags: dict[str, str], new: list[dict[str, str]]) -> dict[str, str]:
    merged = dict(tags)
    for tag in new:
        if tag["TagKey"].lower().startswith("aws:"):
            raise TagError("Tag keys that begin with aws: are reserved for AWS.")
        merged[tag["TagKey"]] = tag["TagValue"]
    if len(merged) > MAX_TAGS:
        raise TagError(f"A KMS key can have at most {MAX_TAGS} tags.")
    return merged


def _page(
    items: list[T], sort_key: Callable[[T], str], limit: int | None, marker: str | None
) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``sort_key``) after ``marker``, and the next marker."""
    if marker:
        try:
            after = base64.urlsafe_b64decode(marker.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidMarker("The marker is not valid.") from None
        items = [item for item in items if sort_key(item) > after]
    limit = limit or DEFAULT_PAGE
    page = items[:limit]
    if len(items) <= limit:
        return page, None
    return page, base64.urlsafe_b64encode(sort_key(page[-1]).encode()).decode()


def _paged(out: dict[str, Any], marker: str | None) -> dict[str, Any]:
    out["Truncated"] = marker is not None
    if marker is not None:
        out["NextMarker"] = marker
    return out
