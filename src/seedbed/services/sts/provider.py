"""STS operations: who am I, and temporary credentials.

AssumeRole checks that the role exists (its trust policy is evaluated once the IAM policy engine
is in place); role chaining caps the session at one hour, as AWS does.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from seedbed.errors import AccessDenied, ServiceError, ValidationError
from seedbed.server.context import Principal, RequestContext
from seedbed.services.base import Provider
from seedbed.services.iam import store as iam_store
from seedbed.services.sts import store
from seedbed.state import arns, ids

MAX_PACKED_POLICY_CHARS = 2048
CHAINED_ROLE_MAX_SECONDS = 3600


class StsValidationError(ValidationError):
    code = "ValidationError"


def _caller(ctx: RequestContext) -> Principal:
    if ctx.principal is None:
        raise ServiceError("Missing Authentication Token", code="MissingAuthenticationToken", status=403)
    return ctx.principal


class StsProvider(Provider):
    service = "sts"

    def get_caller_identity(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        principal = _caller(ctx)
        return {"UserId": principal.user_id, "Account": principal.account_id, "Arn": principal.arn}

    def assume_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = _caller(ctx)
        role_arn = params["RoleArn"]
        session_name = params["RoleSessionName"]
        try:
            parsed = arns.parse(role_arn)
        except ValueError:
            raise StsValidationError(f"{role_arn} is invalid") from None
        if parsed.service != "iam" or not parsed.resource.startswith("role/"):
            raise StsValidationError(f"{role_arn} is invalid")
        role_name = parsed.resource.rsplit("/", 1)[-1]
        with self.backend.db.connect() as conn:
            role = iam_store.get_role(conn, parsed.account, role_name)
        if role is None or role.arn != role_arn:
            raise AccessDenied(
                f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            )
        duration = int(params.get("DurationSeconds") or 3600)
        limit = role.max_session_duration
        if caller.type == "AssumedRole":
            limit = min(limit, CHAINED_ROLE_MAX_SECONDS)
        if duration > limit:
            raise StsValidationError(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                if caller.type != "AssumedRole"
                else "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
            )
        policy = params.get("Policy")
        if policy is not None:
            _check_policy_document(policy)
        tags = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
        principal_id = f"{role.role_id}:{session_name}"
        session = self._issue(
            account_id=role.account_id,
            principal_arn=arns.assumed_role(role.account_id, role.role_name, session_name),
            principal_id=principal_id,
            principal_type="AssumedRole",
            role_arn=role.arn,
            source=caller,
            duration=duration,
            policy=policy,
            tags=tags,
        )
        ctx.resources.append(role.arn)
        result: dict[str, Any] = {
            "Credentials": _credentials(session),
            "AssumedRoleUser": {"AssumedRoleId": principal_id, "Arn": session.principal_arn},
            "PackedPolicySize": _packed_size(policy, tags),
        }
        if params.get("SourceIdentity"):
            result["SourceIdentity"] = params["SourceIdentity"]
        return result

    def get_session_token(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = _caller(ctx)
        if caller.type == "AssumedRole" or caller.access_key_id.startswith("ASIA"):
            raise AccessDenied("Cannot call GetSessionToken with session credentials")
        limit = 3600 if caller.is_root else 129600
        duration = int(params.get("DurationSeconds") or min(43200, limit))
        if duration > limit:
            raise StsValidationError(
                f"The requested DurationSeconds exceeds the {limit // 3600} hour session limit."
            )
        session = self._issue(
            account_id=caller.account_id,
            principal_arn=caller.arn,
            principal_id=caller.user_id,
            principal_type=caller.type,
            role_arn=None,
            source=caller,
            duration=duration,
            policy=None,
            tags={},
        )
        return {"Credentials": _credentials(session)}

    def _issue(
        self,
        *,
        account_id: str,
        principal_arn: str,
        principal_id: str,
        principal_type: str,
        role_arn: str | None,
        source: Principal,
        duration: int,
        policy: str | None,
        tags: dict[str, str],
    ) -> store.Session:
        now = datetime.now(timezone.utc).replace(microsecond=0)
        session = store.Session(
            access_key_id=ids.access_key_id(temporary=True),
            secret_access_key=ids.secret_access_key(),
            session_token=ids.session_token(),
            account_id=account_id,
            principal_arn=principal_arn,
            principal_id=principal_id,
            principal_type=principal_type,
            role_arn=role_arn,
            source_access_key_id=source.access_key_id,
            session_policy=policy,
            tags=json.dumps(tags) if tags else None,
            expiration=now + timedelta(seconds=duration),
            created=now,
        )
        with self.backend.db.begin() as conn:
            store.purge_expired(conn, now - timedelta(days=1))
            store.save(conn, session)
        return session


def _credentials(session: store.Session) -> dict[str, Any]:
    return {
        "AccessKeyId": session.access_key_id,
        "SecretAccessKey": session.secret_access_key,
        "SessionToken": session.session_token,
        "Expiration": session.expiration,
    }


def _check_policy_document(policy: str) -> None:
    try:
        document = json.loads(policy)
    except ValueError:
        raise ServiceError("The policy is not in the valid JSON format.", code="MalformedPolicyDocument") from None
    if not isinstance(document, dict) or "Statement" not in document:
        raise ServiceError("Policy document must contain a Statement.", code="MalformedPolicyDocument")


def _packed_size(policy: str | None, tags: dict[str, str]) -> int:
    """Percentage of the packed-policy limit used, as AWS reports it."""
    size = len(policy or "") + sum(len(k) + len(v) for k, v in tags.items())
    if size > MAX_PACKED_POLICY_CHARS:
        raise ServiceError(
            "Packed policy consumes more than 100% of the allotted space.", code="PackedPolicyTooLarge"
        )
    return size * 100 // MAX_PACKED_POLICY_CHARS
