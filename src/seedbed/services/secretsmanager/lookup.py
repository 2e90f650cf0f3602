"""Naming secrets: names, ARNs with AWS's random suffix, and finding a secret by SecretId.

A secret's ARN is ``arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random
characters>``. A SecretId may be the name, that full ARN, or the *partial* ARN without the
suffix. Secrets whose recovery window has passed are deleted the next time anyone looks.
"""

from __future__ import annotations

import re
import secrets as random
import string

from sqlalchemy import Connection

from seedbed.services.secretsmanager import store
from seedbed.services.secretsmanager.errors import InvalidParameter
from seedbed.state import arns

SUFFIX_ALPHABET = string.ascii_letters + string.digits
SUFFIX_LENGTH = 6
_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]+$")


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise InvalidParameter(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the "
            "following: -/_+=.@!"
        )


def new_arn(account_id: str, region: str, name: str) -> str:
    suffix = "".join(random.choice(SUFFIX_ALPHABET) for _ in range(SUFFIX_LENGTH))
    return arns.build("secretsmanager", f"secret:{name}-{suffix}", account_id, region)


def find(
    conn: Connection, account_id: str, region: str, secret_id: str, *, purge: bool = True
) -> store.Secret | None:
    """The secret ``secret_id`` names in the caller's account and region, if any. ``purge=False``
    only reads (for IAM's lookups): a secret past its deletion date is then just not found."""
    if secret_id.startswith("arn:"):
        secret = store.get_by_arn(conn, secret_id)
        if secret is None:
            secret = _by_partial_arn(conn, account_id, region, secret_id)
        elif secret.account_id != account_id or secret.region != region:
            secret = None
    else:
        secret = store.get_by_name(conn, account_id, region, secret_id)
    if secret is None or secret.deletion_date is None or secret.deletion_date > store.now():
        return secret
    if purge:
        purge_if_due(conn, secret)
    return None


def _by_partial_arn(
    conn: Connection, account_id: str, region: str, partial: str
) -> store.Secret | None:
    try:
        parsed = arns.parse(partial)
    except ValueError:
        return None
    if (
        parsed.service != "secretsmanager"
        or parsed.account != account_id
        or parsed.region != region
        or not parsed.resource.startswith("secret:")
    ):
        return None
    secret = store.get_by_name(conn, account_id, region, parsed.resource[len("secret:") :])
    if secret is None or secret.arn[: -(SUFFIX_LENGTH + 1)] != partial:
        return None
    return secret


def purge_if_due(conn: Connection, secret: store.Secret) -> bool:
    """Delete a secret whose recovery window is over; True when it is gone."""
    if secret.deletion_date is not None and secret.deletion_date <= store.now():
        store.delete_secret(conn, secret.arn)
        return True
    return False
