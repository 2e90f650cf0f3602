"""IAM operations for users, roles and access keys.

This is the part of IAM the server core needs (principals and their keys, and roles to assume).
Policies, groups and the evaluator come with the IAM issue.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from sqlalchemy.exc import IntegrityError

from seedbed.errors import ServiceError
from seedbed.server.context import RequestContext
from seedbed.services.base import Provider
from seedbed.services.iam import store

MAX_ACCESS_KEYS_PER_USER = 2


class NoSuchEntity(ServiceError):
    code = "NoSuchEntity"
    status = 404


class EntityAlreadyExists(ServiceError):
    code = "EntityAlreadyExists"
    status = 409


class LimitExceeded(ServiceError):
    code = "LimitExceeded"
    status = 409


class DeleteConflict(ServiceError):
    code = "DeleteConflict"
    status = 409


class MalformedPolicyDocument(ServiceError):
    code = "MalformedPolicyDocument"
    status = 400


def _account(ctx: RequestContext) -> str:
    assert ctx.principal is not None  # IAM requires a signature; dispatch has checked it
    return ctx.principal.account_id


def _user_out(user: store.User) -> dict[str, Any]:
    return {
        "Path": user.path,
        "UserName": user.user_name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": user.created,
    }


def _role_out(role: store.Role) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": role.path,
        "RoleName": role.role_name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": role.created,
        # IAM returns policy documents URL-encoded; boto3 decodes them back into dicts.
        "AssumeRolePolicyDocument": quote(role.assume_role_policy, safe=""),
        "MaxSessionDuration": role.max_session_duration,
    }
    if role.description:
        out["Description"] = role.description
    return out


def _key_out(key: store.AccessKey, with_secret: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AccessKeyId": key.access_key_id,
        "Status": key.status,
        "CreateDate": key.created,
    }
    if key.user_name:
        out["UserName"] = key.user_name
    if with_secret:
        out["SecretAccessKey"] = key.secret_access_key
    return out


def _parse_policy(document: str) -> dict[str, Any]:
    try:
        parsed = json.loads(document)
    except ValueError:
        raise MalformedPolicyDocument("This policy contains invalid Json") from None
    if not isinstance(parsed, dict) or "Statement" not in parsed:
        raise MalformedPolicyDocument("Syntax errors in policy.")
    return parsed


def _paginate(items: list[Any], params: dict[str, Any], key: str) -> dict[str, Any]:
    start = int(params.get("Marker") or 0)
    size = int(params.get("MaxItems") or 100)
    page = items[start : start + size]
    out: dict[str, Any] = {key: page, "IsTruncated": start + size < len(items)}
    if out["IsTruncated"]:
        out["Marker"] = str(start + size)
    return out


class IamProvider(Provider):
    service = "iam"

    # Users -----------------------------------------------------------------

    def create_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account, name = _account(ctx), params["UserName"]
        try:
            with self.backend.db.begin() as conn:
                if any(u.user_name.lower() == name.lower() for u in store.list_users(conn, account)):
                    raise EntityAlreadyExists(f"User with name {name} already exists.")
                user = store.create_user(conn, account, name, params.get("Path") or "/")
        except IntegrityError:
            raise EntityAlreadyExists(f"User with name {name} already exists.") from None
        ctx.resources.append(user.arn)
        return {"User": _user_out(user)}

    def get_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account = _account(ctx)
        name = params.get("UserName") or ctx.principal.user_name  # type: ignore[union-attr]
        if name is None:  # root calling GetUser with no name describes itself
            principal = ctx.principal
            assert principal is not None
            return {"User": {"UserId": account, "Arn": principal.arn, "Path": "/", "UserName": account,
                             "CreateDate": store.now()}}
        with self.backend.db.connect() as conn:
            user = store.get_user(conn, account, name)
        if user is None:
            raise NoSuchEntity(f"The user with name {name} cannot be found.")
        return {"User": _user_out(user)}

    def list_users(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            users = store.list_users(conn, _account(ctx), params.get("PathPrefix") or "/")
        return _paginate([_user_out(u) for u in users], params, "Users")

    def delete_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account, name = _account(ctx), params["UserName"]
        with self.backend.db.begin() as conn:
            if store.get_user(conn, account, name) is None:
                raise NoSuchEntity(f"The user with name {name} cannot be found.")
            if store.list_access_keys(conn, account, name):
                raise DeleteConflict("Cannot delete entity, must delete access keys first.")
            store.delete_user(conn, account, name)
        return {}

    # Access keys -----------------------------------------------------------

    def create_access_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account = _account(ctx)
        name = params.get("UserName") or ctx.principal.user_name  # type: ignore[union-attr]
        with self.backend.db.begin() as conn:
            if name is not None and store.get_user(conn, account, name) is None:
                raise NoSuchEntity(f"The user with name {name} cannot be found.")
            if len(store.list_access_keys(conn, account, name)) >= MAX_ACCESS_KEYS_PER_USER:
                raise LimitExceeded(
                    f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_USER}"
                )
            key = store.create_access_key(conn, account, name)
        return {"AccessKey": _key_out(key, with_secret=True)}

    def list_access_keys(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account = _account(ctx)
        name = params.get("UserName") or ctx.principal.user_name  # type: ignore[union-attr]
        with self.backend.db.connect() as conn:
            if name is not None and store.get_user(conn, account, name) is None:
                raise NoSuchEntity(f"The user with name {name} cannot be found.")
            keys = store.list_access_keys(conn, account, name)
        out = _paginate([_key_out(k) for k in keys], params, "AccessKeyMetadata")
        return out

    def update_access_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key_id = params["AccessKeyId"]
        with self.backend.db.begin() as conn:
            if not store.set_access_key_status(conn, _account(ctx), key_id, params["Status"]):
                raise NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")
        self.backend.credentials.forget(key_id)
        return {}

    def delete_access_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key_id = params["AccessKeyId"]
        with self.backend.db.begin() as conn:
            if not store.delete_access_key(conn, _account(ctx), key_id):
                raise NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")
        self.backend.credentials.forget(key_id)
        return {}

    # Roles -------------------------------------------------------------------

    def create_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account, name = _account(ctx), params["RoleName"]
        document = params["AssumeRolePolicyDocument"]
        _parse_policy(document)
        duration = int(params.get("MaxSessionDuration") or 3600)
        if not 3600 <= duration <= 43200:
            raise ServiceError(
                "1 validation error detected: Value '%d' at 'maxSessionDuration' failed to satisfy "
                "constraint: Member must have value less than or equal to 43200" % duration,
                code="ValidationError",
            )
        try:
            with self.backend.db.begin() as conn:
                if store.role_name_taken(conn, account, name):
                    raise EntityAlreadyExists(f"Role with name {name} already exists.")
                role = store.create_role(
                    conn, account, name, params.get("Path") or "/", document,
                    params.get("Description"), duration,
                )
        except IntegrityError:
            raise EntityAlreadyExists(f"Role with name {name} already exists.") from None
        ctx.resources.append(role.arn)
        return {"Role": _role_out(role)}

    def get_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["RoleName"]
        with self.backend.db.connect() as conn:
            role = store.get_role(conn, _account(ctx), name)
        if role is None:
            raise NoSuchEntity(f"The role with name {name} cannot be found.")
        return {"Role": _role_out(role)}

    def list_roles(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            roles = store.list_roles(conn, _account(ctx), params.get("PathPrefix") or "/")
        return _paginate([_role_out(r) for r in roles], params, "Roles")

    def delete_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["RoleName"]
        with self.backend.db.begin() as conn:
            if not store.delete_role(conn, _account(ctx), name):
                raise NoSuchEntity(f"The role with name {name} cannot be found.")
        return {}
