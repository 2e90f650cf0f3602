"""What IAM's operation modules share: errors, quotas, output shapes, pagination, transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection

from seedbed.errors import ServiceError
from seedbed.iam import managed
from seedbed.iam.document import (
    MalformedPolicyDocument,
    PolicyKind,
    chars_without_whitespace,
    validate,
)
from seedbed.server.context import RequestContext
from seedbed.services.base import Provider
from seedbed.services.iam import store

__all__ = ["MalformedPolicyDocument"]

MAX_ACCESS_KEYS_PER_USER = 2
MAX_MANAGED_POLICIES_PER_ENTITY = 20
MAX_POLICY_VERSIONS = 5
MAX_TAGS = 50
MANAGED_POLICY_CHARS = 6144
TRUST_POLICY_CHARS = 2048
#: Aggregate inline policy size per entity, white space not counted.
INLINE_POLICY_CHARS = {"user": 2048, "group": 5120, "role": 10240}
ENTITY_KEY = {"user": "UserName", "group": "GroupName", "role": "RoleName"}


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


class InvalidInput(ServiceError):
    code = "InvalidInput"
    status = 400


class IamValidationError(ServiceError):
    code = "ValidationError"
    status = 400


def encode(document: str) -> str:
    """IAM returns policy documents URL-encoded; boto3 decodes them back into dicts."""
    return quote(document, safe="")


def account(ctx: RequestContext) -> str:
    if ctx.principal is None:
        raise ServiceError("Missing Authentication Token", code="MissingAuthenticationToken", status=403)
    return ctx.principal.account_id


def paginate(items: list[Any], params: dict[str, Any], key: str) -> dict[str, Any]:
    try:
        start = int(params.get("Marker") or 0)
    except ValueError:
        raise InvalidInput("Invalid Marker.") from None
    size = int(params.get("MaxItems") or 100)
    page = items[start : start + size]
    out: dict[str, Any] = {key: page, "IsTruncated": start + size < len(items)}
    if out["IsTruncated"]:
        out["Marker"] = str(start + size)
    return out


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def tags_in(params: dict[str, Any], existing: int = 0) -> dict[str, str]:
    tags = {t["Key"]: t.get("Value", "") for t in params.get("Tags") or []}
    if len(tags) != len(params.get("Tags") or []):
        raise InvalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    if len({k.lower() for k in tags}) != len(tags):
        raise InvalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    if len(tags) + existing > MAX_TAGS:
        raise LimitExceeded(f"The number of tags has reached the maximum limit of {MAX_TAGS}.")
    return tags


def boundary_out(arn: str | None) -> dict[str, str] | None:
    if not arn:
        return None
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}


def user_out(user: store.User, tags: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": user.path,
        "UserName": user.user_name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": user.created,
    }
    if user.permissions_boundary:
        out["PermissionsBoundary"] = boundary_out(user.permissions_boundary)
    if tags:
        out["Tags"] = tag_list(tags)
    return out


def role_out(role: store.Role, tags: dict[str, str] | None = None, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": role.path,
        "RoleName": role.role_name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": role.created,
        "AssumeRolePolicyDocument": encode(role.assume_role_policy),
        "MaxSessionDuration": role.max_session_duration,
    }
    if role.description:
        out["Description"] = role.description
    if role.permissions_boundary:
        out["PermissionsBoundary"] = boundary_out(role.permissions_boundary)
    if tags:
        out["Tags"] = tag_list(tags)
    if full:
        out["RoleLastUsed"] = {"LastUsedDate": role.last_used} if role.last_used else {}
    return out


def group_out(group: store.Group) -> dict[str, Any]:
    return {
        "Path": group.path,
        "GroupName": group.group_name,
        "GroupId": group.group_id,
        "Arn": group.arn,
        "CreateDate": group.created,
    }


def key_out(key: store.AccessKey, with_secret: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"AccessKeyId": key.access_key_id, "Status": key.status, "CreateDate": key.created}
    if key.user_name:
        out["UserName"] = key.user_name
    if with_secret:
        out["SecretAccessKey"] = key.secret_access_key
    return out


def check_policy(document: str, kind: PolicyKind, limit: int | None = None, quota: str = "PolicySize") -> None:
    """Validate a policy document: MalformedPolicyDocument with the reason, or LimitExceeded."""
    validate(document, kind)
    if limit is not None and chars_without_whitespace(document) > limit:
        raise LimitExceeded(f"Cannot exceed quota for {quota}: {limit}")


def policy_exists(conn: Connection, account_id: str, arn: str) -> bool:
    if managed.is_aws_managed(arn):
        return managed.get(arn) is not None
    parts = arn.split(":")
    return len(parts) >= 6 and parts[4] == account_id and store.get_policy_by_arn(conn, account_id, arn) is not None


class IamBase(Provider):
    """Transactions that tell the authorizer when IAM changed, and entity look-ups."""

    service = "iam"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction after which compiled policies are recompiled (this process at once)."""
        try:
            with self.backend.db.begin() as conn:
                yield conn
        finally:
            authorizer = getattr(self.backend, "authorizer", None)
            if authorizer is not None:
                authorizer.invalidate()

    def require_user(self, conn: Connection, account_id: str, name: str) -> store.User:
        user = store.get_user(conn, account_id, name)
        if user is None:
            raise NoSuchEntity(f"The user with name {name} cannot be found.")
        return user

    def require_role(self, conn: Connection, account_id: str, name: str) -> store.Role:
        role = store.get_role(conn, account_id, name)
        if role is None:
            raise NoSuchEntity(f"The role with name {name} cannot be found.")
        return role

    def require_group(self, conn: Connection, account_id: str, name: str) -> store.Group:
        group = store.get_group(conn, account_id, name)
        if group is None:
            raise NoSuchEntity(f"The group with name {name} cannot be found.")
        return group

    def require_entity(self, conn: Connection, account_id: str, kind: str, name: str) -> Any:
        return {"user": self.require_user, "group": self.require_group, "role": self.require_role}[kind](
            conn, account_id, name
        )
