"""STS operations: who am I, and temporary credentials.

The role's trust policy, ``sts:TagSession`` for session tags and ``sts:SetSourceIdentity`` are
evaluated by the authorizer before AssumeRole runs (they are resource-policy checks on the role
ARN, see :mod:`seedbed.iam.authorizer`), for callers of any account. Here AssumeRole checks that
the role exists, validates session policies (inline and managed ARNs) and session tags, carries
transitive tags along a role chain, and caps chained sessions at one hour, as AWS does.
:meth:`StsProvider.assume_role_for_service` is how a Seedbed service (SageMaker running a job,
CloudFormation using its role) obtains credentials for a role it was passed, after the trust
policy admits that service principal.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from seedbed.errors import AccessDenied, ServiceError, ValidationError
from seedbed.iam.document import PolicyKind
from seedbed.iam.document import validate as validate_policy
from seedbed.server.context import Principal, RequestContext
from seedbed.services.base import Provider
from seedbed.services.iam import store as iam_store
from seedbed.services.sts import store
from seedbed.state import arns, ids

MAX_PACKED_POLICY_CHARS = 2048
CHAINED_ROLE_MAX_SECONDS = 3600
MAX_SESSION_TAGS = 50
MAX_SESSION_POLICY_ARNS = 10


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
        role = self._role(role_arn, caller.arn)
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
            validate_policy(policy, PolicyKind.SESSION)
        policy_arns = [p["arn"] for p in params.get("PolicyArns") or [] if p.get("arn")]
        if len(policy_arns) > MAX_SESSION_POLICY_ARNS:
            raise StsValidationError(f"Cannot pass more than {MAX_SESSION_POLICY_ARNS} managed session policies.")
        tags = self._session_tags(caller, params)
        transitive = list(params.get("TransitiveTagKeys") or [])
        missing = [k for k in transitive if k.lower() not in {t.lower() for t in tags}]
        if missing:
            raise StsValidationError(f"The transitive tag key {missing[0]} is not in the session tags.")
        transitive += self._inherited_transitive(caller)
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
            policy_arns=policy_arns,
            transitive=sorted(set(transitive)),
            source_identity=params.get("SourceIdentity"),
        )
        ctx.resources.append(role.arn)
        result: dict[str, Any] = {
            "Credentials": _credentials(session),
            "AssumedRoleUser": {"AssumedRoleId": principal_id, "Arn": session.principal_arn},
            "PackedPolicySize": _packed_size(policy, tags, policy_arns),
        }
        if params.get("SourceIdentity"):
            result["SourceIdentity"] = params["SourceIdentity"]
        return result

    def _role(self, role_arn: str, caller_arn: str) -> iam_store.Role:
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
                f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            )
        return role

    def _session_tags(self, caller: Principal, params: dict[str, Any]) -> dict[str, str]:
        """The new session's tags: those passed, plus the caller session's transitive tags."""
        tags = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
        if len(tags) > MAX_SESSION_TAGS:
            raise StsValidationError(f"Cannot pass more than {MAX_SESSION_TAGS} session tags.")
        if len({k.lower() for k in tags}) != len(tags):
            raise StsValidationError("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
        for key in self._inherited_transitive(caller):
            if key.lower() in {k.lower() for k in tags}:
                raise AccessDenied(
                    f"Cannot override the transitive session tag {key} set by the calling role session."
                )
            if key in caller.session_tags:
                tags[key] = caller.session_tags[key]
        return tags

    def _inherited_transitive(self, caller: Principal) -> list[str]:
        if caller.type != "AssumedRole" or not caller.access_key_id.startswith("ASIA"):
            return []
        with self.backend.db.connect() as conn:
            session = store.get(conn, caller.access_key_id)
        return session.transitive_keys if session else []

    def assume_role_for_service(
        self,
        role_arn: str,
        service_principal: str,
        session_name: str,
        duration: int = 3600,
        source_account: str | None = None,
        source_arn: str | None = None,
    ) -> store.Session:
        """Credentials for ``role_arn`` as ``service_principal`` assumes it (no caller request):
        refused with AccessDenied unless the trust policy admits the service (IAM mode ``off``
        skips the check; ``audit`` only logs it)."""
        authorizer = self.backend.authorizer
        role = self._role(role_arn, service_principal)
        if authorizer.mode != "off":
            decision = authorizer.service_can_assume(role_arn, service_principal, source_account, source_arn)
            if not decision.allowed and authorizer.mode == "enforce":
                raise AccessDenied(
                    f"{service_principal} is not authorized to perform: sts:AssumeRole on resource: "
                    f"{role_arn} {decision.reason}"
                )
        service = Principal(role.account_id, service_principal, service_principal, "AWSService", "")
        return self._issue(
            account_id=role.account_id,
            principal_arn=arns.assumed_role(role.account_id, role.role_name, session_name),
            principal_id=f"{role.role_id}:{session_name}",
            principal_type="AssumedRole",
            role_arn=role.arn,
            source=service,
            duration=min(duration, role.max_session_duration),
            policy=None,
            tags={},
        )

    def get_access_key_info(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _caller(ctx)
        cred = self.backend.credentials.resolve(params["AccessKeyId"])
        if cred is None:
            return {"Account": _caller(ctx).account_id}
        return {"Account": cred.principal.account_id}

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
        policy_arns: list[str] | None = None,
        transitive: list[str] | None = None,
        source_identity: str | None = None,
    ) -> store.Session:
        now = datetime.now(UTC).replace(microsecond=0)
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
            session_policy_arns=json.dumps(policy_arns) if policy_arns else None,
            transitive_tag_keys=json.dumps(transitive) if transitive else None,
            source_identity=source_identity,
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


def _packed_size(policy: str | None, tags: dict[str, str], policy_arns: list[str] | None = None) -> int:
    """Percentage of the packed-policy limit used, as AWS reports it."""
    compact = json.dumps(json.loads(policy), separators=(",", ":")) if policy else ""
    size = len(compact) + sum(len(k) + len(v) for k, v in tags.items()) + sum(len(a) for a in policy_arns or [])
    if size > MAX_PACKED_POLICY_CHARS:
        raise ServiceError(
            "Packed policy consumes more than 100% of the allotted space.", code="PackedPolicyTooLarge"
        )
    return size * 100 // MAX_PACKED_POLICY_CHARS
