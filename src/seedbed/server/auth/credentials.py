"""Resolve an access key id to its secret and the principal it acts for.

Long-term keys live in IAM's store, temporary ones in STS's store; this module asks both (through
their store functions, read-only) and caches answers for a couple of seconds, because it runs on
every request. A deleted or deactivated key therefore stops working within ``TTL_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from seedbed.server.context import Principal
from seedbed.services.iam import store as iam_store
from seedbed.services.sts import store as sts_store
from seedbed.state import arns
from seedbed.state.db import Database

TTL_SECONDS = 2.0


@dataclass(frozen=True)
class Credential:
    secret_access_key: str
    principal: Principal
    session_token: str | None = None
    expiration: datetime | None = None
    active: bool = True


class CredentialResolver:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: dict[str, tuple[float, Credential | None]] = {}
        self._lock = threading.Lock()

    def resolve(self, access_key_id: str) -> Credential | None:
        now = time.monotonic()
        hit = self._cache.get(access_key_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        cred = self._load(access_key_id)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[access_key_id] = (now + TTL_SECONDS, cred)
        return cred

    def forget(self, access_key_id: str) -> None:
        """Drop a cached key at once (this process only) after it was changed."""
        self._cache.pop(access_key_id, None)

    def _load(self, access_key_id: str) -> Credential | None:
        with self._db.connect() as conn:
            if access_key_id.startswith("ASIA"):
                session = sts_store.get(conn, access_key_id)
                if session is None:
                    return None
                principal = Principal(
                    account_id=session.account_id,
                    arn=session.principal_arn,
                    user_id=session.principal_id,
                    type=session.principal_type,
                    access_key_id=access_key_id,
                    role_arn=session.role_arn,
                    session_expiration=session.expiration,
                    session_tags=session.tag_dict,
                    session_policy=session.session_policy,
                )
                return Credential(
                    session.secret_access_key, principal, session.session_token, session.expiration
                )
            key = iam_store.get_access_key(conn, access_key_id)
            if key is None:
                return None
            if key.user_name is None:
                principal = Principal(
                    key.account_id, arns.root(key.account_id), key.account_id, "Root", access_key_id
                )
            else:
                user = iam_store.get_user(conn, key.account_id, key.user_name)
                if user is None:
                    return None
                principal = Principal(
                    key.account_id, user.arn, user.user_id, "IAMUser", access_key_id, user.user_name
                )
            return Credential(key.secret_access_key, principal, active=key.status == "Active")
