"""Everything a running Seedbed holds: settings, database, credentials, audit trail, providers.

One :class:`Backend` per server process. Providers reach each other through :meth:`Backend.call`,
which goes through the same dispatch as an HTTP request minus the wire (so IAM and the audit trail
see in-process calls too).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seedbed.config import Settings
from seedbed.server.audit import AuditLog
from seedbed.server.auth.credentials import CredentialResolver
from seedbed.server.context import ACTING_SERVICE, service_host
from seedbed.services import registry
from seedbed.services.base import Provider
from seedbed.services.iam import store as iam_store
from seedbed.state.db import Database

log = logging.getLogger(__name__)

CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class AdminKey:
    """The first access key of a data dir: the root user of the default account."""

    access_key_id: str
    secret_access_key: str
    account_id: str
    region: str


def init_data_dir(settings: Settings, db: Database | None = None) -> AdminKey:
    """Create the data dir, migrate the schema, and make the admin key once (idempotent).

    The key is written to ``credentials.json`` (mode 0600) so ``seedbed env`` can print it without a
    running server; it is also in the database, where authentication looks it up.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    own_db = db is None
    db = db or Database(settings.resolved_database_url)
    try:
        db.migrate()
        path = settings.data_dir / CREDENTIALS_FILE
        if path.exists():
            data = json.loads(path.read_text())
            key = AdminKey(
                data["aws_access_key_id"], data["aws_secret_access_key"], data["account_id"], data["region"]
            )
            with db.begin() as conn:
                if iam_store.get_access_key(conn, key.access_key_id) is None:
                    # A new database (e.g. --database-url) beside an existing data dir: re-seed it.
                    from sqlalchemy import insert

                    conn.execute(
                        insert(iam_store.access_keys).values(
                            access_key_id=key.access_key_id,
                            secret_access_key=key.secret_access_key,
                            account_id=key.account_id,
                            user_name=None,
                            status="Active",
                            created=iam_store.now(),
                        )
                    )
            return key
        with db.begin() as conn:
            created = iam_store.create_access_key(conn, settings.account_id, None)
        key = AdminKey(created.access_key_id, created.secret_access_key, settings.account_id, settings.region)
        _write_private(
            path,
            json.dumps(
                {
                    "aws_access_key_id": key.access_key_id,
                    "aws_secret_access_key": key.secret_access_key,
                    "account_id": key.account_id,
                    "region": key.region,
                },
                indent=2,
            ),
        )
        return key
    finally:
        if own_db:
            db.dispose()


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Backend:
    def __init__(self, settings: Settings) -> None:
        from seedbed.server.routing import Router

        self.settings = settings
        self.db = Database(settings.resolved_database_url)
        self.admin_key = init_data_dir(settings, self.db)
        self.credentials = CredentialResolver(self.db)
        self.audit = AuditLog(self.db)
        from seedbed.iam.authorizer import Authorizer

        self.authorizer = Authorizer(self)  # IAM enforcement, called by dispatch before providers
        self.router = Router(registry.KNOWN_SERVICES)
        self._providers: dict[str, Provider | None] = {}
        self._lock = threading.Lock()

    def provider(self, service: str) -> Provider | None:
        if service not in self._providers:
            with self._lock:
                if service not in self._providers:
                    cls = registry.load_provider_class(service)
                    self._providers[service] = cls(self) if cls else None
        return self._providers[service]

    def implemented_services(self) -> list[str]:
        return sorted(registry.PROVIDERS)

    async def call(
        self,
        principal: Any,
        service: str,
        operation: str,
        params: dict[str, Any],
        region: str | None = None,
        account_id: str | None = None,
        source_ip: str | None = None,
        user_agent: str | None = None,
    ) -> dict[str, Any]:
        """Call another service's operation in-process as ``principal``.

        ``principal=None`` is Seedbed acting as an AWS service on its own behalf (not checked by
        IAM, recorded in the trail); ``account_id`` then says which account it acts in. The trail
        names the service whose work makes the call (see :data:`~seedbed.server.context.ACTING_SERVICE`);
        a call made for a person (the web UI) gives their ``source_ip`` and ``user_agent`` instead.
        """
        from seedbed.server.dispatch import invoke

        return await invoke(
            self, principal, service, operation, params, region or self.settings.region, account_id,
            source_ip, user_agent,
        )

    async def resume_interrupted(self) -> None:
        """Pick up long operations a crash interrupted: stack operations first, then what runs on
        them (projects, jobs, pipelines, builds), in :data:`registry.RESUMABLE` order."""
        from seedbed.protocol.models import service_model

        for service in registry.RESUMABLE:
            provider = self.provider(service)
            if provider is not None:
                token = ACTING_SERVICE.set(service_host(service_model(service).endpoint_prefix))
                try:
                    await provider.resume()  # type: ignore[attr-defined]
                finally:
                    ACTING_SERVICE.reset(token)

    def close(self) -> None:
        for provider in self._providers.values():
            if provider is not None:
                provider.close()
        self.audit.close()
        self.authorizer.close()
        self.db.dispose()
