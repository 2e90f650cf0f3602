"""IAM policies: inline policies of users, groups and roles; customer managed policies with
versions; AWS managed policies (read-only, from :mod:`seedbed.iam.managed`); attachments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from seedbed.iam import managed
from seedbed.iam.document import PolicyKind, chars_without_whitespace
from seedbed.server.context import RequestContext
from seedbed.services.iam import store
from seedbed.services.iam.common import (
    ENTITY_KEY,
    INLINE_POLICY_CHARS,
    MANAGED_POLICY_CHARS,
    MAX_MANAGED_POLICIES_PER_ENTITY,
    MAX_POLICY_VERSIONS,
    DeleteConflict,
    EntityAlreadyExists,
    IamBase,
    InvalidInput,
    LimitExceeded,
    NoSuchEntity,
    account,
    check_policy,
    encode,
    paginate,
    tag_list,
    tags_in,
)


def _not_attachable(arn: str) -> NoSuchEntity:
    return NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")


def _policy_name_from_arn(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


class PolicyOperations(IamBase):
    # Inline policies ---------------------------------------------------------------------------

    def _put_inline(self, ctx: RequestContext, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params[ENTITY_KEY[kind]]
        policy_name, document = params["PolicyName"], params["PolicyDocument"]
        check_policy(document, PolicyKind.IDENTITY)
        with self.write() as conn:
            self.require_entity(conn, account_id, kind, name)
            others = [d for n, d in store.list_inline(conn, account_id, kind, name) if n != policy_name]
            total = chars_without_whitespace(document) + sum(chars_without_whitespace(d) for d in others)
            limit = INLINE_POLICY_CHARS[kind]
            if total > limit:
                raise LimitExceeded(f"Maximum policy size of {limit} bytes exceeded for {kind} {name}")
            store.put_inline(conn, account_id, kind, name, policy_name, document)
        return {}

    def _get_inline(self, ctx: RequestContext, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params[ENTITY_KEY[kind]]
        with self.backend.db.connect() as conn:
            self.require_entity(conn, account_id, kind, name)
            document = store.get_inline(conn, account_id, kind, name, params["PolicyName"])
        if document is None:
            raise NoSuchEntity(f"The {kind} policy with name {params['PolicyName']} cannot be found.")
        return {ENTITY_KEY[kind]: name, "PolicyName": params["PolicyName"], "PolicyDocument": encode(document)}

    def _list_inline(self, ctx: RequestContext, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params[ENTITY_KEY[kind]]
        with self.backend.db.connect() as conn:
            self.require_entity(conn, account_id, kind, name)
            names = [n for n, _ in store.list_inline(conn, account_id, kind, name)]
        return paginate(names, params, "PolicyNames")

    def _delete_inline(self, ctx: RequestContext, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params[ENTITY_KEY[kind]]
        with self.write() as conn:
            self.require_entity(conn, account_id, kind, name)
            if not store.delete_inline(conn, account_id, kind, name, params["PolicyName"]):
                raise NoSuchEntity(f"The {kind} policy with name {params['PolicyName']} cannot be found.")
        return {}

    def put_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._put_inline(ctx, "user", params)

    def get_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._get_inline(ctx, "user", params)

    def list_user_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_inline(ctx, "user", params)

    def delete_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._delete_inline(ctx, "user", params)

    def put_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._put_inline(ctx, "group", params)

    def get_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._get_inline(ctx, "group", params)

    def list_group_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_inline(ctx, "group", params)

    def delete_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._delete_inline(ctx, "group", params)

    def put_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._put_inline(ctx, "role", params)

    def get_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._get_inline(ctx, "role", params)

    def list_role_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_inline(ctx, "role", params)

    def delete_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._delete_inline(ctx, "role", params)

    # Managed policies --------------------------------------------------------------------------

    def _customer_out(self, conn: Connection, policy: store.ManagedPolicy, counts: dict[str, int] | None = None) -> dict[str, Any]:
        if counts is None:
            counts = {policy.arn: len(store.entities_for_policy(conn, policy.account_id, policy.arn))}
        out: dict[str, Any] = {
            "PolicyName": policy.policy_name,
            "PolicyId": policy.policy_id,
            "Arn": policy.arn,
            "Path": policy.path,
            "DefaultVersionId": policy.default_version_id,
            "AttachmentCount": counts.get(policy.arn, 0),
            "PermissionsBoundaryUsageCount": store.boundary_users(conn, policy.account_id, policy.arn),
            "IsAttachable": True,
            "CreateDate": policy.created,
            "UpdateDate": policy.updated,
        }
        if policy.description:
            out["Description"] = policy.description
        return out

    def _aws_out(self, conn: Connection, account_id: str, policy: managed.ManagedPolicy, counts: dict[str, int]) -> dict[str, Any]:
        return {
            "PolicyName": policy.name,
            "PolicyId": policy.policy_id,
            "Arn": policy.arn,
            "Path": policy.path,
            "DefaultVersionId": policy.default_version_id,
            "AttachmentCount": counts.get(policy.arn, 0),
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "CreateDate": policy.created,
            "UpdateDate": policy.updated,
        }

    def create_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["PolicyName"]
        document = params["PolicyDocument"]
        check_policy(document, PolicyKind.IDENTITY, MANAGED_POLICY_CHARS)
        tags = tags_in(params)
        try:
            with self.write() as conn:
                if store.policy_name_taken(conn, account_id, name):
                    raise EntityAlreadyExists(
                        f"A policy called {name} already exists. Duplicate names are not allowed."
                    )
                policy = store.create_policy(
                    conn, account_id, name, params.get("Path") or "/", document, params.get("Description")
                )
                store.set_tags(conn, account_id, "policy", name, tags)
                out = self._customer_out(conn, policy, {})
        except IntegrityError:
            raise EntityAlreadyExists(f"A policy called {name} already exists. Duplicate names are not allowed.") from None
        if tags:
            out["Tags"] = tag_list(tags)
        ctx.resources.append(policy.arn)
        return {"Policy": out}

    def _customer(self, conn: Connection, account_id: str, arn: str) -> store.ManagedPolicy:
        policy = store.get_policy_by_arn(conn, account_id, arn)
        if policy is None:
            raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")
        return policy

    def get_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, arn = account(ctx), params["PolicyArn"]
        with self.backend.db.connect() as conn:
            counts = store.attachment_counts(conn, account_id)
            if managed.is_aws_managed(arn):
                found = managed.get(arn)
                if found is None:
                    raise NoSuchEntity(f"Policy {arn} was not found.")
                return {"Policy": self._aws_out(conn, account_id, found, counts)}
            policy = self._customer(conn, account_id, arn)
            out = self._customer_out(conn, policy, counts)
            tags = store.get_tags(conn, account_id, "policy", policy.policy_name)
        if tags:
            out["Tags"] = tag_list(tags)
        return {"Policy": out}

    def list_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        scope = params.get("Scope") or "All"
        prefix = params.get("PathPrefix") or "/"
        only_attached = bool(params.get("OnlyAttached"))
        usage = params.get("PolicyUsageFilter")
        items: list[dict[str, Any]] = []
        with self.backend.db.connect() as conn:
            counts = store.attachment_counts(conn, account_id)
            if scope in ("All", "AWS") and usage != "PermissionsBoundary":
                for policy in managed.all_policies():
                    if policy.path.startswith(prefix) and (not only_attached or counts.get(policy.arn)):
                        items.append(self._aws_out(conn, account_id, policy, counts))
            if scope in ("All", "Local"):
                for local in store.list_policies(conn, account_id, prefix):
                    out = self._customer_out(conn, local, counts)
                    if only_attached and not out["AttachmentCount"]:
                        continue
                    if usage == "PermissionsBoundary" and not out["PermissionsBoundaryUsageCount"]:
                        continue
                    items.append(out)
        return paginate(items, params, "Policies")

    def delete_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, arn = account(ctx), params["PolicyArn"]
        if managed.is_aws_managed(arn):
            raise InvalidInput("You cannot delete an AWS managed policy.")
        with self.write() as conn:
            policy = self._customer(conn, account_id, arn)
            if store.entities_for_policy(conn, account_id, arn):
                raise DeleteConflict("Cannot delete a policy attached to entities.")
            if len(store.list_versions(conn, account_id, policy.policy_name)) > 1:
                raise DeleteConflict(
                    "This policy has more than one version. Before you delete a policy, you must delete "
                    "the policy's versions. The default version is deleted with the policy."
                )
            store.delete_policy(conn, account_id, policy.policy_name)
        return {}

    def tag_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        with self.write() as conn:
            policy = self._customer(conn, account_id, params["PolicyArn"])
            store.set_tags(conn, account_id, "policy", policy.policy_name, tags_in(params))
        return {}

    def untag_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        with self.write() as conn:
            policy = self._customer(conn, account_id, params["PolicyArn"])
            store.remove_tags(conn, account_id, "policy", policy.policy_name, list(params.get("TagKeys") or []))
        return {}

    def list_policy_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        with self.backend.db.connect() as conn:
            policy = self._customer(conn, account_id, params["PolicyArn"])
            tags = store.get_tags(conn, account_id, "policy", policy.policy_name)
        return paginate(tag_list(tags), params, "Tags")

    # Versions ----------------------------------------------------------------------------------

    @staticmethod
    def _version_out(version_id: str, document: str, default: bool, created: Any) -> dict[str, Any]:
        return {"Document": encode(document), "VersionId": version_id, "IsDefaultVersion": default, "CreateDate": created}

    def create_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, arn = account(ctx), params["PolicyArn"]
        document = params["PolicyDocument"]
        if managed.is_aws_managed(arn):
            raise InvalidInput("You cannot modify an AWS managed policy.")
        check_policy(document, PolicyKind.IDENTITY, MANAGED_POLICY_CHARS)
        with self.write() as conn:
            policy = self._customer(conn, account_id, arn)
            if len(store.list_versions(conn, account_id, policy.policy_name)) >= MAX_POLICY_VERSIONS:
                raise LimitExceeded(
                    f"A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you create a new "
                    "version, you must delete an existing version."
                )
            version = store.add_version(conn, policy, document, bool(params.get("SetAsDefault")))
        return {"PolicyVersion": self._version_out(version.version_id, document, bool(params.get("SetAsDefault")), version.created)}

    def get_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, arn, version_id = account(ctx), params["PolicyArn"], params["VersionId"]
        if managed.is_aws_managed(arn):
            found = managed.get(arn)
            if found is None or version_id != found.default_version_id:
                raise NoSuchEntity(f"Policy {arn} version {version_id} does not exist or is not attachable.")
            return {"PolicyVersion": self._version_out(version_id, found.document, True, found.updated)}
        with self.backend.db.connect() as conn:
            policy = self._customer(conn, account_id, arn)
            version = store.get_version(conn, account_id, policy.policy_name, version_id)
        if version is None:
            raise NoSuchEntity(f"Policy {arn} version {version_id} does not exist or is not attachable.")
        return {
            "PolicyVersion": self._version_out(
                version_id, version.document, version_id == policy.default_version_id, version.created
            )
        }

    def list_policy_versions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, arn = account(ctx), params["PolicyArn"]
        if managed.is_aws_managed(arn):
            found = managed.get(arn)
            if found is None:
                raise NoSuchEntity(f"Policy {arn} was not found.")
            items = [{"VersionId": found.default_version_id, "IsDefaultVersion": True, "CreateDate": found.updated}]
            return paginate(items, params, "Versions")
        with self.backend.db.connect() as conn:
            policy = self._customer(conn, account_id, arn)
            versions = store.list_versions(conn, account_id, policy.policy_name)
        items = [
            {"VersionId": v.version_id, "IsDefaultVersion": v.version_id == policy.default_version_id, "CreateDate": v.created}
            for v in versions
        ]
        return paginate(items, params, "Versions")

    def delete_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, arn, version_id = account(ctx), params["PolicyArn"], params["VersionId"]
        if managed.is_aws_managed(arn):
            raise InvalidInput("You cannot modify an AWS managed policy.")
        with self.write() as conn:
            policy = self._customer(conn, account_id, arn)
            if version_id == policy.default_version_id:
                raise DeleteConflict("Cannot delete the default version of a policy.")
            if not store.delete_version(conn, account_id, policy.policy_name, version_id):
                raise NoSuchEntity(f"Policy {arn} version {version_id} does not exist or is not attachable.")
        return {}

    def set_default_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, arn, version_id = account(ctx), params["PolicyArn"], params["VersionId"]
        if managed.is_aws_managed(arn):
            raise InvalidInput("You cannot modify an AWS managed policy.")
        with self.write() as conn:
            policy = self._customer(conn, account_id, arn)
            if store.get_version(conn, account_id, policy.policy_name, version_id) is None:
                raise NoSuchEntity(f"Policy {arn} version {version_id} does not exist or is not attachable.")
            store.set_default_version(conn, account_id, policy.policy_name, version_id)
        return {}

    # Attachments -------------------------------------------------------------------------------

    def _attach(self, ctx: RequestContext, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name, arn = account(ctx), params[ENTITY_KEY[kind]], params["PolicyArn"]
        with self.write() as conn:
            entity = self.require_entity(conn, account_id, kind, name)
            if getattr(entity, "path", "").startswith("/aws-service-role/"):
                raise self._protected(name)  # type: ignore[attr-defined]
            if managed.is_aws_managed(arn):
                if managed.get(arn) is None:
                    raise _not_attachable(arn)
            elif store.get_policy_by_arn(conn, account_id, arn) is None:
                raise _not_attachable(arn)
            current = store.attached(conn, account_id, kind, name)
            if arn not in current and len(current) >= MAX_MANAGED_POLICIES_PER_ENTITY:
                quota = {"user": "PoliciesPerUser", "group": "PoliciesPerGroup", "role": "PoliciesPerRole"}[kind]
                raise LimitExceeded(f"Cannot exceed quota for {quota}: {MAX_MANAGED_POLICIES_PER_ENTITY}")
            store.attach(conn, account_id, kind, name, arn)
        return {}

    def _detach(self, ctx: RequestContext, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name, arn = account(ctx), params[ENTITY_KEY[kind]], params["PolicyArn"]
        with self.write() as conn:
            self.require_entity(conn, account_id, kind, name)
            if not store.detach(conn, account_id, kind, name, arn):
                raise NoSuchEntity(f"Policy {arn} was not found.")
        return {}

    def _list_attached(self, ctx: RequestContext, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params[ENTITY_KEY[kind]]
        prefix = params.get("PathPrefix") or "/"
        with self.backend.db.connect() as conn:
            self.require_entity(conn, account_id, kind, name)
            arns_ = store.attached(conn, account_id, kind, name)
        items = []
        for arn in arns_:
            path = "/" + arn.split(":policy/", 1)[1].rsplit("/", 1)[0] + "/" if arn.count("/") > 1 else "/"
            if path.startswith(prefix):
                items.append({"PolicyName": _policy_name_from_arn(arn), "PolicyArn": arn})
        return paginate(items, params, "AttachedPolicies")

    @staticmethod
    def _protected(name: str) -> Exception:
        from seedbed.errors import ServiceError

        return ServiceError(
            f"Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS",
            code="UnmodifiableEntity",
            status=400,
        )

    def attach_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._attach(ctx, "user", params)

    def detach_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._detach(ctx, "user", params)

    def list_attached_user_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_attached(ctx, "user", params)

    def attach_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._attach(ctx, "group", params)

    def detach_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._detach(ctx, "group", params)

    def list_attached_group_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_attached(ctx, "group", params)

    def attach_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._attach(ctx, "role", params)

    def detach_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._detach(ctx, "role", params)

    def list_attached_role_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_attached(ctx, "role", params)

    def list_entities_for_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, arn = account(ctx), params["PolicyArn"]
        wanted = params.get("EntityFilter")
        out: dict[str, Any] = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": [], "IsTruncated": False}
        with self.backend.db.connect() as conn:
            if not managed.is_aws_managed(arn):
                self._customer(conn, account_id, arn)
            elif managed.get(arn) is None:
                raise NoSuchEntity(f"Policy {arn} was not found.")
            for kind, name in store.entities_for_policy(conn, account_id, arn):
                if kind == "user" and wanted in (None, "User"):
                    user = store.get_user(conn, account_id, name)
                    if user:
                        out["PolicyUsers"].append({"UserName": name, "UserId": user.user_id})
                elif kind == "group" and wanted in (None, "Group"):
                    group = store.get_group(conn, account_id, name)
                    if group:
                        out["PolicyGroups"].append({"GroupName": name, "GroupId": group.group_id})
                elif kind == "role" and wanted in (None, "Role"):
                    role = store.get_role(conn, account_id, name)
                    if role:
                        out["PolicyRoles"].append({"RoleName": name, "RoleId": role.role_id})
        return out
