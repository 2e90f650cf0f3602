"""The policy simulator (SimulatePrincipalPolicy, SimulateCustomPolicy, GetContextKeysFor...) and
GetAccountAuthorizationDetails: IAM's read-only views over everything the evaluator uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from seedbed.iam import managed
from seedbed.iam.document import Policy, PolicyKind, parse
from seedbed.iam.evaluator import (
    Caller,
    Hit,
    Kind,
    NamedPolicy,
    Outcome,
    PolicySet,
    PrincipalKind,
    evaluate,
)
from seedbed.iam.principals import managed_document
from seedbed.server.context import RequestContext
from seedbed.services.iam import store
from seedbed.services.iam.common import (
    IamBase,
    InvalidInput,
    NoSuchEntity,
    account,
    boundary_out,
    encode,
    group_out,
    paginate,
    role_out,
    tag_list,
    user_out,
)

_DECISIONS = {
    Outcome.ALLOW: "allowed",
    Outcome.EXPLICIT_DENY: "explicitDeny",
    Outcome.IMPLICIT_DENY: "implicitDeny",
}


@dataclass
class Sources:
    """The policies of a simulation, and how the API names each one."""

    identity: list[NamedPolicy]
    boundary: NamedPolicy | None
    types: dict[str, str]  # NamedPolicy.name -> SourcePolicyType


def _compile(text: str, name: str, kind: PolicyKind = PolicyKind.IDENTITY) -> NamedPolicy:
    return NamedPolicy(parse(text, kind), name)


def _context(entries: list[dict[str, Any]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for entry in entries or []:
        name = entry.get("ContextKeyName")
        if not name:
            continue
        values = [str(v) for v in entry.get("ContextKeyValues") or []]
        if entry.get("ContextKeyType", "").startswith("boolean"):
            values = [v.lower() for v in values]
        out[name.lower()] = tuple(values)
    return out


def _condition_keys(policies: list[Policy]) -> list[str]:
    seen: dict[str, str] = {}
    for policy in policies:
        for statement in policy.statements:
            for condition in statement.conditions:
                original = next(
                    (k for block in (statement.source.get("Condition") or {}).values() for k in block if k.lower() == condition.key),
                    condition.key,
                )
                seen.setdefault(condition.key, original)
    return sorted(seen.values(), key=str.lower)


class SimulationOperations(IamBase):
    def _entity_sources(self, conn: Connection, account_id: str, kind: str, name: str, types: dict[str, str]) -> list[NamedPolicy]:
        out = []
        for policy_name, text in store.list_inline(conn, account_id, kind, name):
            out.append(_compile(text, policy_name))
            types[policy_name] = kind
        for arn in store.attached(conn, account_id, kind, name):
            text = managed_document(conn, account_id, arn)
            if text is not None:
                policy_name = arn.rsplit("/", 1)[-1]
                out.append(NamedPolicy(parse(text), policy_name, arn))
                types[policy_name] = "aws-managed" if managed.is_aws_managed(arn) else "user-managed"
        return out

    def _principal_sources(self, conn: Connection, account_id: str, arn: str) -> tuple[Sources, Caller]:
        types: dict[str, str] = {}
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "iam" or parts[4] != account_id:
            raise InvalidInput(f"Invalid ARN {arn}: the policy source must be a user, group or role of this account.")
        kind, _, rest = parts[5].partition("/")
        name = rest.rsplit("/", 1)[-1]
        boundary_arn = None
        if kind == "user":
            user = self.require_user(conn, account_id, name)
            identity = self._entity_sources(conn, account_id, "user", name, types)
            for group in store.groups_for_user(conn, account_id, name):
                identity += self._entity_sources(conn, account_id, "group", group.group_name, types)
            boundary_arn = user.permissions_boundary
            caller = Caller(PrincipalKind.USER, user.arn, account_id, None, user.user_id)
        elif kind == "role":
            role = self.require_role(conn, account_id, name)
            identity = self._entity_sources(conn, account_id, "role", name, types)
            boundary_arn = role.permissions_boundary
            caller = Caller(PrincipalKind.ROLE_SESSION, role.arn, account_id, role.arn, role.role_id)
        elif kind == "group":
            group = self.require_group(conn, account_id, name)
            identity = self._entity_sources(conn, account_id, "group", name, types)
            caller = Caller(PrincipalKind.USER, group.arn, account_id)
        else:
            raise InvalidInput(f"Invalid ARN {arn}: the policy source must be a user, group or role.")
        boundary = None
        if boundary_arn:
            text = managed_document(conn, account_id, boundary_arn)
            if text is not None:
                boundary = NamedPolicy(parse(text, PolicyKind.BOUNDARY), boundary_arn.rsplit("/", 1)[-1], boundary_arn)
                types[boundary.name] = "permissions-boundary"
        return Sources(identity, boundary, types), caller

    def _simulate(self, ctx: RequestContext, params: dict[str, Any], sources: Sources, caller: Caller) -> dict[str, Any]:
        account_id = account(ctx)
        for i, text in enumerate(params.get("PolicyInputList") or [], start=1):
            name = f"PolicyInputList.{i}"
            sources.identity.append(_compile(text, name))
            sources.types[name] = "IAM Policy"
        boundaries = params.get("PermissionsBoundaryPolicyInputList") or []
        if boundaries:
            sources.boundary = _compile(boundaries[0], "PermissionsBoundaryPolicyInputList.1", PolicyKind.BOUNDARY)
            sources.types[sources.boundary.name] = "permissions-boundary"
        resource_policy = None
        if params.get("ResourcePolicy"):
            resource_policy = _compile(params["ResourcePolicy"], "ResourcePolicy", PolicyKind.RESOURCE)
            sources.types["ResourcePolicy"] = "resource"
        if params.get("CallerArn"):
            arn = params["CallerArn"]
            caller_kind = PrincipalKind.ROLE_SESSION if ":assumed-role/" in arn else PrincipalKind.USER
            caller = Caller(caller_kind, arn, arn.split(":")[4] if arn.count(":") >= 5 else account_id)
        owner = params.get("ResourceOwner")
        owner_account = owner.split(":")[4] if owner and owner.startswith("arn:") else owner
        context = _context(params.get("ContextEntries") or [])
        policy_set = PolicySet(tuple(sources.identity), sources.boundary, None)
        all_policies = [p.policy for p in sources.identity] + ([sources.boundary.policy] if sources.boundary else [])
        if resource_policy:
            all_policies.append(resource_policy.policy)
        results = []
        resources = params.get("ResourceArns") or ["*"]
        for action in params["ActionNames"]:
            if ":" not in action:
                raise InvalidInput(f"Action {action} is not in the form service:action.")
            for resource in resources:
                decision = evaluate(caller, action, resource, context.get, policy_set, resource_policy, owner_account or None)
                missing = self._missing(all_policies, action, context)
                result: dict[str, Any] = {
                    "EvalActionName": action,
                    "EvalResourceName": resource,
                    "EvalDecision": _DECISIONS[decision.outcome],
                    "MatchedStatements": [self._matched(hit, sources.types) for hit in decision.deciding],
                    "MissingContextValues": missing,
                }
                if sources.boundary is not None:
                    allowed_by_boundary = decision.missing is not Kind.BOUNDARY and not any(
                        h.kind is Kind.BOUNDARY and not h.statement.allow for h in decision.deciding
                    )
                    result["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": allowed_by_boundary}
                if resource_policy is not None:
                    result["EvalDecisionDetails"] = {
                        "IAM Policy": _DECISIONS[decision.outcome] if decision.missing is not Kind.IDENTITY else "implicitDeny"
                    }
                results.append(result)
        return paginate(results, params, "EvaluationResults")

    @staticmethod
    def _missing(policies: list[Policy], action: str, context: dict[str, tuple[str, ...]]) -> list[str]:
        keys = []
        for policy in policies:
            for statement in policy.statements:
                if statement.actions.matches(action) == statement.not_action:
                    continue
                for condition in statement.conditions:
                    if condition.key not in context and condition.key not in keys:
                        keys.append(condition.key)
        return keys

    @staticmethod
    def _matched(hit: Hit, types: dict[str, str]) -> dict[str, Any]:
        index = hit.statement.index
        return {
            "SourcePolicyId": hit.policy,
            "SourcePolicyType": types.get(hit.policy, "none"),
            # Positions name the statement (line = statement number), not characters in the text.
            "StartPosition": {"Line": index + 1, "Column": 1},
            "EndPosition": {"Line": index + 1, "Column": 1},
        }

    def simulate_principal_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            sources, caller = self._principal_sources(conn, account(ctx), params["PolicySourceArn"])
        return self._simulate(ctx, params, sources, caller)

    def simulate_custom_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        caller = Caller(PrincipalKind.USER, f"arn:aws:iam::{account_id}:user/SimulatedUser", account_id)
        return self._simulate(ctx, params, Sources([], None, {}), caller)

    def get_context_keys_for_custom_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        policies = [parse(text) for text in params["PolicyInputList"]]
        return {"ContextKeyNames": _condition_keys(policies)}

    def get_context_keys_for_principal_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            sources, _ = self._principal_sources(conn, account(ctx), params["PolicySourceArn"])
        policies = [p.policy for p in sources.identity] + [parse(t) for t in params.get("PolicyInputList") or []]
        return {"ContextKeyNames": _condition_keys(policies)}

    # Account authorization details -----------------------------------------------------------

    def get_account_authorization_details(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        wanted = set(params.get("Filter") or ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"])
        out: dict[str, Any] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
        with self.backend.db.connect() as conn:
            if "User" in wanted:
                for user in store.list_users(conn, account_id):
                    detail = user_out(user)
                    detail.pop("PermissionsBoundary", None)
                    detail["UserPolicyList"] = self._inline(conn, account_id, "user", user.user_name)
                    detail["GroupList"] = [g.group_name for g in store.groups_for_user(conn, account_id, user.user_name)]
                    detail["AttachedManagedPolicies"] = self._attached(conn, account_id, "user", user.user_name)
                    if user.permissions_boundary:
                        detail["PermissionsBoundary"] = boundary_out(user.permissions_boundary)
                    tags = store.get_tags(conn, account_id, "user", user.user_name)
                    if tags:
                        detail["Tags"] = tag_list(tags)
                    out["UserDetailList"].append(detail)
            if "Group" in wanted:
                for group in store.list_groups(conn, account_id):
                    detail = group_out(group)
                    detail["GroupPolicyList"] = self._inline(conn, account_id, "group", group.group_name)
                    detail["AttachedManagedPolicies"] = self._attached(conn, account_id, "group", group.group_name)
                    out["GroupDetailList"].append(detail)
            if "Role" in wanted:
                for role in store.list_roles(conn, account_id):
                    tags = store.get_tags(conn, account_id, "role", role.role_name)
                    detail = role_out(role, tags, full=True)
                    detail.pop("Description", None)
                    detail.pop("MaxSessionDuration", None)
                    detail["InstanceProfileList"] = [
                        {
                            "Path": p.path,
                            "InstanceProfileName": p.profile_name,
                            "InstanceProfileId": p.profile_id,
                            "Arn": p.arn,
                            "CreateDate": p.created,
                            "Roles": [role_out(role)],
                        }
                        for p in store.profiles_for_role(conn, account_id, role.role_name)
                    ]
                    detail["RolePolicyList"] = self._inline(conn, account_id, "role", role.role_name)
                    detail["AttachedManagedPolicies"] = self._attached(conn, account_id, "role", role.role_name)
                    out["RoleDetailList"].append(detail)
            counts = store.attachment_counts(conn, account_id)
            if "LocalManagedPolicy" in wanted:
                for policy in store.list_policies(conn, account_id):
                    versions = store.list_versions(conn, account_id, policy.policy_name)
                    out["Policies"].append(
                        {
                            "PolicyName": policy.policy_name,
                            "PolicyId": policy.policy_id,
                            "Arn": policy.arn,
                            "Path": policy.path,
                            "DefaultVersionId": policy.default_version_id,
                            "AttachmentCount": counts.get(policy.arn, 0),
                            "PermissionsBoundaryUsageCount": store.boundary_users(conn, account_id, policy.arn),
                            "IsAttachable": True,
                            "CreateDate": policy.created,
                            "UpdateDate": policy.updated,
                            "PolicyVersionList": [
                                {
                                    "Document": encode(v.document),
                                    "VersionId": v.version_id,
                                    "IsDefaultVersion": v.version_id == policy.default_version_id,
                                    "CreateDate": v.created,
                                }
                                for v in versions
                            ],
                        }
                    )
            if "AWSManagedPolicy" in wanted:
                for arn in sorted(a for a in counts if managed.is_aws_managed(a)):
                    found = managed.get(arn)
                    if found is None:
                        continue
                    out["Policies"].append(
                        {
                            "PolicyName": found.name,
                            "PolicyId": found.policy_id,
                            "Arn": found.arn,
                            "Path": found.path,
                            "DefaultVersionId": found.default_version_id,
                            "AttachmentCount": counts[arn],
                            "PermissionsBoundaryUsageCount": 0,
                            "IsAttachable": True,
                            "CreateDate": found.created,
                            "UpdateDate": found.updated,
                            "PolicyVersionList": [
                                {
                                    "Document": encode(found.document),
                                    "VersionId": found.default_version_id,
                                    "IsDefaultVersion": True,
                                    "CreateDate": found.updated,
                                }
                            ],
                        }
                    )
        out["IsTruncated"] = False
        return out

    @staticmethod
    def _inline(conn: Connection, account_id: str, kind: str, name: str) -> list[dict[str, str]]:
        return [{"PolicyName": n, "PolicyDocument": encode(d)} for n, d in store.list_inline(conn, account_id, kind, name)]

    @staticmethod
    def _attached(conn: Connection, account_id: str, kind: str, name: str) -> list[dict[str, str]]:
        return [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in store.attached(conn, account_id, kind, name)]


__all__ = ["NoSuchEntity", "SimulationOperations"]
