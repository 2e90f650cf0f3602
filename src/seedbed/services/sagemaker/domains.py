"""Studio domains and user profiles: what the project flow reads (the domain's templates-location
tag, its default execution role, who a user is) and the login link into the web UI.

There is no EFS, VPC or app to provision here, so a domain is ``InService`` at once; every
setting is kept as given and returned by Describe.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from seedbed.server.context import RequestContext
from seedbed.services.sagemaker import common, store
from seedbed.services.sagemaker.errors import ResourceInUse, ResourceNotFound, SageMakerValidation

SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"
#: CreateDomain members kept verbatim in the settings column.
_DOMAIN_SETTINGS = (
    "DefaultUserSettings", "DomainSettings", "SubnetIds", "VpcId", "AppNetworkAccessType",
    "HomeEfsFileSystemKmsKeyId", "KmsKeyId", "AppSecurityGroupManagement", "HomeEfsFileSystemCreation",
    "TagPropagation", "DefaultSpaceSettings",
)


def studio_url(endpoint: str, domain_id: str) -> str:
    """Where a domain's Studio lives: Seedbed's web UI, on the API port."""
    return f"{endpoint}/_seedbed/studio/{domain_id}/"


class DomainOperations:
    """CreateDomain ... CreatePresignedDomainUrl (a mixin of the SageMaker provider)."""

    backend: Any

    def _pass_role(self, ctx: RequestContext, role_arn: str | None) -> None:
        if role_arn:
            self.backend.authorizer.check_pass_role(ctx, role_arn, SAGEMAKER_SERVICE)

    def _domain(self, ctx: RequestContext, domain_id: str) -> Any:
        with self.backend.db.connect() as conn:
            row = store.get_domain(conn, ctx.account_id, ctx.region, domain_id)
        if row is None:
            raise ResourceNotFound(f"Domain {common.arn(ctx, 'domain', domain_id)} not found")
        ctx.resources.append(row.arn)
        return row

    def create_domain(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        settings = {k: params[k] for k in _DOMAIN_SETTINGS if k in params}
        role = (params.get("DefaultUserSettings") or {}).get("ExecutionRole")
        if not role:
            raise SageMakerValidation("The execution role ARN is required in DefaultUserSettings.")
        self._pass_role(ctx, role)
        domain_id = common.domain_id()
        arn = common.arn(ctx, "domain", domain_id)
        with self.backend.db.begin() as conn:
            if store.domain_name_taken(conn, ctx.account_id, ctx.region, params["DomainName"]):
                raise ResourceInUse(f"Domain with name {params['DomainName']} already exists")
            when = store.now()
            store.insert_domain(conn, {
                "domain_id": domain_id, "account_id": ctx.account_id, "region": ctx.region,
                "name": params["DomainName"], "arn": arn, "status": "InService", "auth_mode": params["AuthMode"],
                "settings": settings, "created": when, "modified": when,
            })
            if params.get("Tags"):
                store.put_tags(conn, arn, params["Tags"])
        ctx.resources.append(arn)
        return {"DomainArn": arn, "DomainId": domain_id, "Url": studio_url(self.backend.settings.endpoint_url, domain_id)}

    def _domain_out(self, row: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "DomainArn": row.arn, "DomainId": row.domain_id, "DomainName": row.name, "Status": row.status,
            "CreationTime": store.aware(row.created), "LastModifiedTime": store.aware(row.modified),
            "AuthMode": row.auth_mode, "Url": studio_url(self.backend.settings.endpoint_url, row.domain_id),
            "HomeEfsFileSystemId": f"fs-{row.domain_id[2:]}",
            "AppNetworkAccessType": "PublicInternetOnly",
        }
        out.update(row.settings or {})
        return out

    def describe_domain(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._domain_out(self._domain(ctx, params["DomainId"]))

    def list_domains(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = store.list_domains(conn, ctx.account_id, ctx.region)
        query: dict[str, Any] = {}
        offset = common.decode_token(params.get("NextToken"), query)
        limit = common.max_results(params, 100)
        page = rows[offset : offset + limit]
        out: dict[str, Any] = {"Domains": [{
            k: v for k, v in self._domain_out(r).items()
            if k in ("DomainArn", "DomainId", "DomainName", "Status", "CreationTime", "LastModifiedTime", "Url")
        } for r in page]}
        if offset + limit < len(rows):
            out["NextToken"] = common.encode_token(offset + limit, query)
        return out

    def update_domain(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._domain(ctx, params["DomainId"])
        settings = dict(row.settings or {})
        if "DefaultUserSettings" in params:
            self._pass_role(ctx, params["DefaultUserSettings"].get("ExecutionRole"))
            merged = dict(settings.get("DefaultUserSettings") or {})
            merged.update(params["DefaultUserSettings"])
            settings["DefaultUserSettings"] = merged
        if "DomainSettingsForUpdate" in params:
            merged = dict(settings.get("DomainSettings") or {})
            merged.update(params["DomainSettingsForUpdate"])
            settings["DomainSettings"] = merged
        for key in ("AppSecurityGroupManagement", "DefaultSpaceSettings", "SubnetIds", "AppNetworkAccessType",
                    "TagPropagation", "HomeEfsFileSystemCreation", "VpcId"):
            if key in params:
                settings[key] = params[key]
        with self.backend.db.begin() as conn:
            store.update_domain(conn, row.domain_id, settings=settings, modified=store.now())
        return {"DomainArn": row.arn}

    def delete_domain(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._domain(ctx, params["DomainId"])
        with self.backend.db.begin() as conn:
            if store.list_user_profiles(conn, ctx.account_id, ctx.region, row.domain_id):
                raise ResourceInUse(
                    f"Domain {row.arn} cannot be deleted while it has user profiles. Delete them first."
                )
            store.delete_domain(conn, row.domain_id, row.arn)
        return {}

    # -- user profiles --------------------------------------------------------------------------

    def _profile(self, ctx: RequestContext, domain_id: str, name: str) -> Any:
        self._domain(ctx, domain_id)
        with self.backend.db.connect() as conn:
            row = store.get_user_profile(conn, domain_id, name)
        if row is None:
            raise ResourceNotFound(f"User profile {common.arn(ctx, 'user-profile', f'{domain_id}/{name}')} not found")
        ctx.resources.append(row.arn)
        return row

    def create_user_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        domain = self._domain(ctx, params["DomainId"])
        name = params["UserProfileName"]
        self._pass_role(ctx, (params.get("UserSettings") or {}).get("ExecutionRole"))
        arn = common.arn(ctx, "user-profile", f"{domain.domain_id}/{name}")
        settings = {k: params[k] for k in ("UserSettings", "SingleSignOnUserIdentifier", "SingleSignOnUserValue") if k in params}
        with self.backend.db.begin() as conn:
            if store.get_user_profile(conn, domain.domain_id, name) is not None:
                raise ResourceInUse(f"User profile {arn} already exists")
            when = store.now()
            store.insert_user_profile(conn, {
                "domain_id": domain.domain_id, "name": name, "account_id": ctx.account_id, "region": ctx.region,
                "arn": arn, "status": "InService", "settings": settings, "created": when, "modified": when,
            })
            if params.get("Tags"):
                store.put_tags(conn, arn, params["Tags"])
        ctx.resources.append(arn)
        return {"UserProfileArn": arn}

    def describe_user_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._profile(ctx, params["DomainId"], params["UserProfileName"])
        out: dict[str, Any] = {
            "DomainId": row.domain_id, "UserProfileArn": row.arn, "UserProfileName": row.name,
            "Status": row.status, "CreationTime": store.aware(row.created), "LastModifiedTime": store.aware(row.modified),
            "HomeEfsFileSystemUid": str(200000 + sum(row.name.encode()) % 100000),
        }
        out.update(row.settings or {})
        return out

    def list_user_profiles(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = store.list_user_profiles(conn, ctx.account_id, ctx.region, params.get("DomainIdEquals"))
        contains = params.get("UserProfileNameContains")
        if contains:
            rows = [r for r in rows if contains.lower() in r.name.lower()]
        key = (lambda r: r.modified) if params.get("SortBy") == "LastModifiedTime" else (lambda r: r.created)
        rows.sort(key=key, reverse=params.get("SortOrder", "Descending") == "Descending")
        query = {k: params.get(k) for k in ("DomainIdEquals", "UserProfileNameContains", "SortBy", "SortOrder")}
        offset = common.decode_token(params.get("NextToken"), query)
        limit = common.max_results(params, 100)
        out: dict[str, Any] = {"UserProfiles": [{
            "DomainId": r.domain_id, "UserProfileName": r.name, "Status": r.status,
            "CreationTime": store.aware(r.created), "LastModifiedTime": store.aware(r.modified),
        } for r in rows[offset : offset + limit]]}
        if offset + limit < len(rows):
            out["NextToken"] = common.encode_token(offset + limit, query)
        return out

    def delete_user_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._profile(ctx, params["DomainId"], params["UserProfileName"])
        with self.backend.db.begin() as conn:
            store.delete_user_profile(conn, row.domain_id, row.name, row.arn)
        return {}

    def create_presigned_domain_url(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """A one-time login link into Seedbed's web UI for that user (5 minutes by default).

        The token is signed (:mod:`seedbed.studio.auth`) and names the caller: the web UI session
        it opens acts as this principal, so IAM applies to the UI exactly as to the caller's own
        API calls. The row keeps it single-use (:func:`redeem_presigned`)."""
        from seedbed.studio import auth as studio_auth

        row = self._profile(ctx, params["DomainId"], params["UserProfileName"])
        nonce = secrets.token_urlsafe(32)
        expires = store.now() + timedelta(seconds=int(params.get("ExpiresInSeconds") or 300))
        session_seconds = int(params.get("SessionExpirationDurationInSeconds") or 43200)
        with self.backend.db.begin() as conn:
            store.insert_presigned(conn, {
                "token": nonce, "domain_id": row.domain_id, "user_profile": row.name,
                "space": params.get("SpaceName"), "landing_uri": params.get("LandingUri"),
                "expires": expires, "session_seconds": str(session_seconds), "used": False,
            })
        grant = studio_auth.login_payload(nonce, row.domain_id, row.name, ctx.region, ctx.principal,
                                          expires.timestamp(), session_seconds)
        token = studio_auth.sign(studio_auth.secret(self.backend), studio_auth.LOGIN, grant)
        return {"AuthorizedUrl": f"{studio_url(self.backend.settings.endpoint_url, row.domain_id)}auth?token={token}"}


def redeem_presigned(backend: Any, domain_id: str, token: str | None) -> dict[str, Any] | None:
    """The login grant of a presigned domain URL, used up by this call; None when the token is
    forged, for another domain, expired or already used."""
    import time

    from sqlalchemy import update

    from seedbed.studio import auth as studio_auth

    grant = studio_auth.unsign(studio_auth.secret(backend), studio_auth.LOGIN, token)
    if grant is None or grant.get("d") != domain_id or float(grant.get("x") or 0) <= time.time():
        return None
    table = store.presigned_urls
    with backend.db.begin() as conn:
        claimed = conn.execute(
            update(table).where(table.c.token == str(grant.get("n")), table.c.used.is_(False)).values(used=True)
        ).rowcount
    return grant if claimed == 1 else None
