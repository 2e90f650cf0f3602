"""Finding keys the ways KMS lets clients name them, and the rules of key states.

A key is named by its key id, its key ARN, an alias name (``alias/x``) or an alias ARN. Which of
these an operation takes is AWS's rule: the cryptographic operations and DescribeKey take all
four; administrative ones (EnableKey, PutKeyPolicy, TagResource, ...) take only a key id or key
ARN. A key of another account is reachable only through its full ARN.

AWS managed keys (``alias/aws/s3`` and friends) come into being the first time they are named,
as on AWS. Keys whose deletion date has passed are deleted the next time anyone looks.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from seedbed.server.context import Principal
from seedbed.services.kms import crypto, policy, store
from seedbed.services.kms.errors import AccessDenied, Disabled, InvalidState, NotFound
from seedbed.state import arns

#: AWS managed keys Seedbed creates on first use, with the words AWS puts in their description.
AWS_MANAGED_ALIASES: dict[str, str] = {
    "alias/aws/s3": "S3 objects",
    "alias/aws/secretsmanager": "Secrets Manager data",
    "alias/aws/ssm": "SSM parameters",
    "alias/aws/lambda": "Lambda functions",
    "alias/aws/codecommit": "CodeCommit repositories",
    "alias/aws/sns": "SNS topics",
    "alias/aws/sqs": "SQS queues",
    "alias/aws/ebs": "EBS volumes",
}
_KEY_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DEFAULT_ROTATION_DAYS = 365


@dataclass(frozen=True)
class Ref:
    """A parsed KeyId: ``kind`` is ``key`` or ``alias``; account and region only from ARNs."""

    kind: str
    value: str
    account: str | None = None
    region: str | None = None


def parse_ref(text: str) -> Ref:
    if text.startswith("arn:"):
        try:
            parsed = arns.parse(text)
        except ValueError:
            raise NotFound(f"Invalid arn {text}") from None
        if parsed.service != "kms" or not parsed.account or not parsed.region:
            raise NotFound(f"Invalid arn {text}")
        if parsed.resource.startswith("key/"):
            return Ref("key", parsed.resource_id, parsed.account, parsed.region)
        if parsed.resource.startswith("alias/"):
            return Ref("alias", parsed.resource, parsed.account, parsed.region)
        raise NotFound(f"Invalid arn {text}")
    if text.startswith("alias/"):
        return Ref("alias", text)
    return Ref("key", text)


def key_arn(account_id: str, region: str, key_id: str) -> str:
    return arns.build("kms", f"key/{key_id}", account_id, region)


def alias_arn(account_id: str, region: str, alias_name: str) -> str:
    return arns.build("kms", alias_name, account_id, region)


def find(
    conn: Connection,
    caller: Principal,
    region: str,
    key_id: str,
    *,
    aliases: bool = True,
    other_accounts: bool = False,
) -> store.Key:
    """The key ``key_id`` names, or NotFoundException as AWS words it.

    ``aliases``: whether this operation accepts alias names and ARNs. ``other_accounts``: whether
    it may use another account's key (cryptographic operations and DescribeKey).
    """
    ref = parse_ref(key_id)
    account = ref.account or caller.account_id
    if ref.region is not None and ref.region != region:
        raise NotFound(f"Invalid arn {key_id}: the key is not in {region}")
    if account != caller.account_id and not other_accounts:
        raise NotFound(f"Invalid arn {key_id}: this operation takes keys of your own account")
    if ref.kind == "alias":
        if not aliases:
            raise NotFound(
                f"Invalid keyId {key_id}: this operation takes a key id or key ARN, not an alias"
            )
        alias = store.get_alias(conn, account, region, ref.value)
        if alias is None and account == caller.account_id and ref.value in AWS_MANAGED_ALIASES:
            raise ManagedKeyMissing(account, region, ref.value)
        if alias is None:
            raise NotFound(f"Alias {alias_arn(account, region, ref.value)} is not found.")
        key = store.get_key(conn, alias.key_id)
    else:
        if not _KEY_ID.match(ref.value):
            raise NotFound(f"Invalid keyId {key_id}")
        key = store.get_key(conn, ref.value)
        if key is not None and (key.account_id != account or key.region != region):
            key = None
    if key is None or purge_if_due(conn, key):
        if ref.kind == "alias":
            raise NotFound(f"Alias {alias_arn(account, region, ref.value)} is not found.")
        raise NotFound(f"Key '{key_arn(account, region, ref.value)}' does not exist")
    if key.account_id != caller.account_id and not policy.names_caller(key.policy, caller):
        raise AccessDenied(
            f"User: {caller.arn} is not authorized to use {key.arn}: its key policy does not "
            "allow access from your account"
        )
    return key


def find_by_id(conn: Connection, caller: Principal, region: str, key_id: str) -> store.Key:
    """The key a ciphertext names (any account: the ciphertext says whose it is)."""
    key = store.get_key(conn, key_id)
    if key is None or key.region != region or purge_if_due(conn, key):
        raise NotFound("The key that encrypted this ciphertext does not exist in this region.")
    if key.account_id != caller.account_id and not policy.names_caller(key.policy, caller):
        raise AccessDenied(
            f"User: {caller.arn} is not authorized to perform kms:Decrypt with {key.arn}: "
            "its key policy does not allow access from your account"
        )
    return key


def purge_if_due(conn: Connection, key: store.Key, when: datetime | None = None) -> bool:
    """Delete a key whose waiting period is over; True when it is gone."""
    when = when or store.now()
    if key.state == "PendingDeletion" and key.deletion_date and key.deletion_date <= when:
        store.delete_key(conn, key.key_id)
        return True
    return False


def purge_due(conn: Connection, account_id: str, region: str) -> list[store.Key]:
    """Every key of the account that still exists after due deletions are carried out."""
    when = store.now()
    return [k for k in store.list_keys(conn, account_id, region) if not purge_if_due(conn, k, when)]


def key_for_arn(conn: Connection, resource_arn: str) -> store.Key | None:
    """The key a resource ARN names for IAM: ``key/<id>``, or ``key/<alias name>`` as IAM renders
    a request's alias KeyId. None when there is no such key (nothing is created here)."""
    try:
        parsed = arns.parse(resource_arn)
    except ValueError:
        return None
    if parsed.service != "kms" or not parsed.resource.startswith("key/"):
        return None
    ident = parsed.resource[len("key/") :]
    if ident.startswith("alias/"):
        alias = store.get_alias(conn, parsed.account, parsed.region, ident)
        key = store.get_key(conn, alias.key_id) if alias else None
    else:
        key = store.get_key(conn, ident) if _KEY_ID.match(ident) else None
    if key is None or key.account_id != parsed.account or key.region != parsed.region:
        return None
    if key.state == "PendingDeletion" and key.deletion_date and key.deletion_date <= store.now():
        return None
    return key


# -- state rules ----------------------------------------------------------------------------------


def require_usable(key: store.Key) -> None:
    """Cryptographic operations need an Enabled key (AWS's key state table)."""
    if key.state == "Disabled":
        raise Disabled(f"{key.arn} is disabled.")
    if key.state == "PendingDeletion":
        raise InvalidState(f"{key.arn} is pending deletion.")


def require_not_pending(key: store.Key) -> None:
    if key.state == "PendingDeletion":
        raise InvalidState(f"{key.arn} is pending deletion.")


def require_customer_managed(key: store.Key, caller: Principal, action: str) -> None:
    """AWS managed keys' policies allow no administration: AWS answers AccessDenied."""
    if key.aws_managed:
        raise AccessDenied(
            f"User: {caller.arn} is not authorized to perform: kms:{action} on resource: "
            f"{key.arn} because it is an AWS managed key"
        )


# -- creation -------------------------------------------------------------------------------------


def new_key(
    conn: Connection,
    wrapper: crypto.MaterialWrapper,
    account_id: str,
    region: str,
    *,
    description: str,
    key_policy: str,
    tags: dict[str, str],
    manager: str = "CUSTOMER",
) -> store.Key:
    key_id = str(uuid.uuid4())
    created = store.now()
    aws_managed = manager == "AWS"
    key = store.Key(
        key_id=key_id,
        account_id=account_id,
        region=region,
        arn=key_arn(account_id, region, key_id),
        description=description,
        key_usage="ENCRYPT_DECRYPT",
        key_spec="SYMMETRIC_DEFAULT",
        origin="AWS_KMS",
        manager=manager,
        state="Enabled",
        created=created,
        deletion_date=None,
        pending_window_days=None,
        rotation_enabled=aws_managed,
        rotation_period_days=DEFAULT_ROTATION_DAYS if aws_managed else None,
        next_rotation=created + timedelta(days=DEFAULT_ROTATION_DAYS) if aws_managed else None,
        current_material=1,
        policy=key_policy,
        tags=tags,
    )
    _, wrapped = wrapper.new_material(key_id, 1)
    store.insert_key(conn, key, wrapped)
    return key


class ManagedKeyMissing(Exception):
    """An AWS managed alias named for the first time: the caller creates the key
    (:func:`create_aws_managed`, in a transaction of its own) and tries again."""

    def __init__(self, account_id: str, region: str, alias_name: str) -> None:
        super().__init__(alias_name)
        self.account_id = account_id
        self.region = region
        self.alias_name = alias_name


def create_aws_managed(
    conn: Connection, wrapper: crypto.MaterialWrapper, missing: ManagedKeyMissing
) -> store.Key:
    """The AWS managed key behind ``alias/aws/<service>`` and its alias. A concurrent creator
    makes this transaction fail on the alias's primary key; the caller then simply retries."""
    service = missing.alias_name.rsplit("/", 1)[-1]
    key = new_key(
        conn,
        wrapper,
        missing.account_id,
        missing.region,
        description=f"Default key that protects my {AWS_MANAGED_ALIASES[missing.alias_name]} "
        "when no other key is defined",
        key_policy=policy.aws_managed_policy(missing.account_id, missing.region, service),
        tags={},
        manager="AWS",
    )
    store.insert_alias(
        conn,
        store.Alias(
            missing.account_id,
            missing.region,
            missing.alias_name,
            key.key_id,
            key.created,
            key.created,
        ),
    )
    return key
