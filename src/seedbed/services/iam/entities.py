"""IAM identities: users (and their access keys), groups, roles, instance profiles, tags, and
service-linked roles."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy.exc import IntegrityError

from seedbed.iam import managed
from seedbed.iam.document import PolicyKind
from seedbed.server.context import RequestContext
from seedbed.services.iam import store
from seedbed.services.iam.common import (
    MAX_ACCESS_KEYS_PER_USER,
    TRUST_POLICY_CHARS,
    DeleteConflict,
    EntityAlreadyExists,
    IamBase,
    IamValidationError,
    InvalidInput,
    LimitExceeded,
    NoSuchEntity,
    account,
    check_policy,
    group_out,
    key_out,
    paginate,
    policy_exists,
    role_out,
    tag_list,
    tags_in,
    user_out,
)

#: Service-linked roles whose names and policies are not simply derived from the service name.
SERVICE_LINKED = {
    "autoscaling.amazonaws.com": ("AWSServiceRoleForAutoScaling", "AutoScalingServiceRolePolicy"),
    "elasticloadbalancing.amazonaws.com": ("AWSServiceRoleForElasticLoadBalancing", "AWSElasticLoadBalancingServiceRolePolicy"),
    "ecs.amazonaws.com": ("AWSServiceRoleForECS", "AmazonECSServiceRolePolicy"),
    "sagemaker.amazonaws.com": ("AWSServiceRoleForAmazonSageMakerNotebooks", "AmazonSageMakerNotebooksServiceRolePolicy"),
    "servicecatalog.amazonaws.com": ("AWSServiceRoleForServiceCatalog", "AWSServiceCatalogServiceRolePolicy"),
}


def _duration(params: dict[str, Any]) -> int | None:
    value = params.get("MaxSessionDuration")
    if value is None:
        return None
    duration = int(value)
    if not 3600 <= duration <= 43200:
        raise IamValidationError(
            f"1 validation error detected: Value '{duration}' at 'maxSessionDuration' failed to satisfy "
            "constraint: Member must have value "
            + ("greater than or equal to 3600" if duration < 3600 else "less than or equal to 43200")
        )
    return duration


class EntityOperations(IamBase):
    # Users -------------------------------------------------------------------------------------

    def create_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["UserName"]
        tags = tags_in(params)
        boundary = params.get("PermissionsBoundary")
        try:
            with self.write() as conn:
                if store.name_taken(conn, store.users, "user_name", account_id, name):
                    raise EntityAlreadyExists(f"User with name {name} already exists.")
                if boundary and not policy_exists(conn, account_id, boundary):
                    raise NoSuchEntity(f"Scope ARN: {boundary} does not exist or is not attachable.")
                user = store.create_user(conn, account_id, name, params.get("Path") or "/")
                if boundary:
                    store.update_user(conn, account_id, name, permissions_boundary=boundary)
                    user = store.get_user(conn, account_id, name)  # type: ignore[assignment]
                store.set_tags(conn, account_id, "user", name, tags)
        except IntegrityError:
            raise EntityAlreadyExists(f"User with name {name} already exists.") from None
        ctx.resources.append(user.arn)
        return {"User": user_out(user, tags)}

    def get_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        principal = ctx.principal
        assert principal is not None
        name = params.get("UserName") or principal.user_name
        if name is None:  # root calling GetUser with no name describes itself
            return {"User": {"UserId": account_id, "Arn": principal.arn, "Path": "/", "CreateDate": store.now()}}
        with self.backend.db.connect() as conn:
            user = self.require_user(conn, account_id, name)
            tags = store.get_tags(conn, account_id, "user", name)
        return {"User": user_out(user, tags)}

    def list_users(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            users = store.list_users(conn, account(ctx), params.get("PathPrefix") or "/")
        return paginate([user_out(u) for u in users], params, "Users")

    def update_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["UserName"]
        with self.write() as conn:
            user = self.require_user(conn, account_id, name)
            new = params.get("NewUserName") or name
            if new != name and store.name_taken(conn, store.users, "user_name", account_id, new) and new.lower() != name.lower():
                raise EntityAlreadyExists(f"User with name {new} already exists.")
            store.rename_user(conn, account_id, name, new, params.get("NewPath") or user.path)
        return {}

    def delete_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["UserName"]
        with self.write() as conn:
            self.require_user(conn, account_id, name)
            if store.list_access_keys(conn, account_id, name):
                raise DeleteConflict("Cannot delete entity, must delete access keys first.")
            if store.list_inline(conn, account_id, "user", name):
                raise DeleteConflict("Cannot delete entity, must delete policies first.")
            if store.attached(conn, account_id, "user", name):
                raise DeleteConflict("Cannot delete entity, must detach all policies first.")
            if store.groups_for_user(conn, account_id, name):
                raise DeleteConflict("Cannot delete entity, must remove users from group first.")
            store.drop_entity(conn, account_id, "user", name)
            store.delete_user(conn, account_id, name)
        return {}

    # Access keys -------------------------------------------------------------------------------

    def create_access_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        name = params.get("UserName") or ctx.principal.user_name  # type: ignore[union-attr]
        with self.write() as conn:
            if name is not None:
                self.require_user(conn, account_id, name)
            if len(store.list_access_keys(conn, account_id, name)) >= MAX_ACCESS_KEYS_PER_USER:
                raise LimitExceeded(f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_USER}")
            key = store.create_access_key(conn, account_id, name)
        return {"AccessKey": key_out(key, with_secret=True)}

    def list_access_keys(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        name = params.get("UserName") or ctx.principal.user_name  # type: ignore[union-attr]
        with self.backend.db.connect() as conn:
            if name is not None:
                self.require_user(conn, account_id, name)
            keys = store.list_access_keys(conn, account_id, name)
        return paginate([key_out(k) for k in keys], params, "AccessKeyMetadata")

    def update_access_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key_id = params["AccessKeyId"]
        with self.write() as conn:
            if not store.set_access_key_status(conn, account(ctx), key_id, params["Status"]):
                raise NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")
        self.backend.credentials.forget(key_id)
        return {}

    def delete_access_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key_id = params["AccessKeyId"]
        with self.write() as conn:
            if not store.delete_access_key(conn, account(ctx), key_id):
                raise NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")
        self.backend.credentials.forget(key_id)
        return {}

    # Groups ------------------------------------------------------------------------------------

    def create_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["GroupName"]
        try:
            with self.write() as conn:
                if store.name_taken(conn, store.groups, "group_name", account_id, name):
                    raise EntityAlreadyExists(f"Group with name {name} already exists.")
                group = store.create_group(conn, account_id, name, params.get("Path") or "/")
        except IntegrityError:
            raise EntityAlreadyExists(f"Group with name {name} already exists.") from None
        ctx.resources.append(group.arn)
        return {"Group": group_out(group)}

    def get_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["GroupName"]
        with self.backend.db.connect() as conn:
            group = self.require_group(conn, account_id, name)
            users = store.members(conn, account_id, name)
        out = paginate([user_out(u) for u in users], params, "Users")
        out["Group"] = group_out(group)
        return out

    def list_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            groups = store.list_groups(conn, account(ctx), params.get("PathPrefix") or "/")
        return paginate([group_out(g) for g in groups], params, "Groups")

    def update_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["GroupName"]
        with self.write() as conn:
            group = self.require_group(conn, account_id, name)
            new = params.get("NewGroupName") or name
            if new.lower() != name.lower() and store.name_taken(conn, store.groups, "group_name", account_id, new):
                raise EntityAlreadyExists(f"Group with name {new} already exists.")
            store.rename_group(conn, account_id, name, new, params.get("NewPath") or group.path)
        return {}

    def delete_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["GroupName"]
        with self.write() as conn:
            self.require_group(conn, account_id, name)
            if store.members(conn, account_id, name):
                raise DeleteConflict("Cannot delete entity, must remove users from group first.")
            if store.list_inline(conn, account_id, "group", name):
                raise DeleteConflict("Cannot delete entity, must delete policies first.")
            if store.attached(conn, account_id, "group", name):
                raise DeleteConflict("Cannot delete entity, must detach all policies first.")
            store.delete_group(conn, account_id, name)
        return {}

    def add_user_to_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        with self.write() as conn:
            self.require_group(conn, account_id, params["GroupName"])
            self.require_user(conn, account_id, params["UserName"])
            store.add_member(conn, account_id, params["GroupName"], params["UserName"])
        return {}

    def remove_user_from_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        with self.write() as conn:
            self.require_group(conn, account_id, params["GroupName"])
            self.require_user(conn, account_id, params["UserName"])
            store.remove_member(conn, account_id, params["GroupName"], params["UserName"])
        return {}

    def list_groups_for_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        with self.backend.db.connect() as conn:
            self.require_user(conn, account_id, params["UserName"])
            groups = store.groups_for_user(conn, account_id, params["UserName"])
        return paginate([group_out(g) for g in groups], params, "Groups")

    # Roles -------------------------------------------------------------------------------------

    def create_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["RoleName"]
        document = params["AssumeRolePolicyDocument"]
        check_policy(document, PolicyKind.TRUST, TRUST_POLICY_CHARS, "ACLSizePerRole")
        duration = _duration(params) or 3600
        tags = tags_in(params)
        boundary = params.get("PermissionsBoundary")
        try:
            with self.write() as conn:
                if store.role_name_taken(conn, account_id, name):
                    raise EntityAlreadyExists(f"Role with name {name} already exists.")
                if boundary and not policy_exists(conn, account_id, boundary):
                    raise NoSuchEntity(f"Scope ARN: {boundary} does not exist or is not attachable.")
                role = store.create_role(
                    conn, account_id, name, params.get("Path") or "/", document, params.get("Description"), duration
                )
                if boundary:
                    store.update_role(conn, account_id, name, permissions_boundary=boundary)
                    role = self.require_role(conn, account_id, name)
                store.set_tags(conn, account_id, "role", name, tags)
        except IntegrityError:
            raise EntityAlreadyExists(f"Role with name {name} already exists.") from None
        ctx.resources.append(role.arn)
        return {"Role": role_out(role, tags)}

    def get_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["RoleName"]
        with self.backend.db.connect() as conn:
            role = self.require_role(conn, account_id, name)
            tags = store.get_tags(conn, account_id, "role", name)
        return {"Role": role_out(role, tags, full=True)}

    def list_roles(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            roles = store.list_roles(conn, account(ctx), params.get("PathPrefix") or "/")
        return paginate([role_out(r) for r in roles], params, "Roles")

    def update_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["RoleName"]
        values: dict[str, Any] = {}
        duration = _duration(params)
        if duration is not None:
            values["max_session_duration"] = duration
        if params.get("Description") is not None:
            values["description"] = params["Description"]
        with self.write() as conn:
            self.require_role(conn, account_id, name)
            if values:
                store.update_role(conn, account_id, name, **values)
        return {}

    def update_role_description(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["RoleName"]
        with self.write() as conn:
            self.require_role(conn, account_id, name)
            store.update_role(conn, account_id, name, description=params["Description"])
            role = self.require_role(conn, account_id, name)
        return {"Role": role_out(role)}

    def update_assume_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["RoleName"]
        document = params["PolicyDocument"]
        check_policy(document, PolicyKind.TRUST, TRUST_POLICY_CHARS, "ACLSizePerRole")
        with self.write() as conn:
            role = self.require_role(conn, account_id, name)
            if role.path.startswith("/aws-service-role/"):
                raise self._protected(role)
            store.update_role(conn, account_id, name, assume_role_policy=document)
        return {}

    def delete_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["RoleName"]
        with self.write() as conn:
            role = self.require_role(conn, account_id, name)
            if role.path.startswith("/aws-service-role/"):
                raise self._protected(role)
            self._delete_role(conn, account_id, name)
        return {}

    def _delete_role(self, conn: Any, account_id: str, name: str) -> None:
        if store.list_inline(conn, account_id, "role", name):
            raise DeleteConflict("Cannot delete entity, must delete policies first.")
        if store.attached(conn, account_id, "role", name):
            raise DeleteConflict("Cannot delete entity, must detach all policies first.")
        if store.profiles_for_role(conn, account_id, name):
            raise DeleteConflict("Cannot delete entity, must remove roles from instance profile first.")
        store.drop_entity(conn, account_id, "role", name)
        store.delete_role(conn, account_id, name)

    @staticmethod
    def _protected(role: store.Role) -> Exception:
        from seedbed.services.iam.common import ServiceError

        return ServiceError(
            f"Cannot perform the operation on the protected role '{role.role_name}' - this role is only "
            "modifiable by AWS",
            code="UnmodifiableEntity",
            status=400,
        )

    # Service-linked roles ----------------------------------------------------------------------

    def create_service_linked_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        service = params["AWSServiceName"]
        if not re.match(r"^[a-z0-9.-]+\.amazonaws\.com$", service):
            raise InvalidInput(f"Invalid AWS service name: {service}")
        name, policy_name = self._linked_names(service)
        suffix = params.get("CustomSuffix")
        if suffix:
            name = f"{name}_{suffix}"
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": [service]}, "Action": ["sts:AssumeRole"]}
                ],
            }
        )
        with self.write() as conn:
            if store.role_name_taken(conn, account_id, name):
                raise InvalidInput(
                    f"Service role name {name} has been taken in this account, please try a different suffix."
                )
            role = store.create_role(
                conn, account_id, name, f"/aws-service-role/{service}/", trust, params.get("Description"), 3600
            )
            policy_arn = f"arn:aws:iam::aws:policy/aws-service-role/{policy_name}"
            if managed.get(policy_arn) is not None:
                store.attach(conn, account_id, "role", name, policy_arn)
        ctx.resources.append(role.arn)
        return {"Role": role_out(role)}

    @staticmethod
    def _linked_names(service: str) -> tuple[str, str]:
        if service in SERVICE_LINKED:
            return SERVICE_LINKED[service]
        stem = "".join(part.capitalize() for part in re.split(r"[.-]", service.split(".amazonaws.com")[0]))
        return f"AWSServiceRoleFor{stem}", f"{stem}ServiceRolePolicy"

    def delete_service_linked_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["RoleName"]
        with self.write() as conn:
            role = self.require_role(conn, account_id, name)
            if not role.path.startswith("/aws-service-role/"):
                raise InvalidInput(f"Role {name} is not a service-linked role.")
            for arn in store.attached(conn, account_id, "role", name):
                store.detach(conn, account_id, "role", name, arn)
            for policy_name, _ in store.list_inline(conn, account_id, "role", name):
                store.delete_inline(conn, account_id, "role", name, policy_name)
            self._delete_role(conn, account_id, name)
        return {"DeletionTaskId": f"task/aws-service-role/{role.path.split('/')[2]}/{name}/{role.role_id}"}

    def get_service_linked_role_deletion_status(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Status": "SUCCEEDED"}

    # Permissions boundaries --------------------------------------------------------------------

    def _set_boundary(self, ctx: RequestContext, kind: str, name: str, arn: str | None) -> None:
        account_id = account(ctx)
        with self.write() as conn:
            self.require_entity(conn, account_id, kind, name)
            if arn is not None and not policy_exists(conn, account_id, arn):
                raise NoSuchEntity(f"Scope ARN: {arn} does not exist or is not attachable.")
            update = store.update_user if kind == "user" else store.update_role
            update(conn, account_id, name, permissions_boundary=arn)

    def put_user_permissions_boundary(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._set_boundary(ctx, "user", params["UserName"], params["PermissionsBoundary"])
        return {}

    def delete_user_permissions_boundary(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._set_boundary(ctx, "user", params["UserName"], None)
        return {}

    def put_role_permissions_boundary(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._set_boundary(ctx, "role", params["RoleName"], params["PermissionsBoundary"])
        return {}

    def delete_role_permissions_boundary(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._set_boundary(ctx, "role", params["RoleName"], None)
        return {}

    # Tags --------------------------------------------------------------------------------------

    def _tag(self, ctx: RequestContext, kind: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        with self.write() as conn:
            self._require_taggable(conn, account_id, kind, name)
            existing = store.get_tags(conn, account_id, kind, name)
            new = tags_in(params)
            keep = {k.lower() for k in existing} - {k.lower() for k in new}
            if len(keep) + len(new) > 50:
                raise LimitExceeded("The number of tags has reached the maximum limit of 50.")
            store.set_tags(conn, account_id, kind, name, new)
        return {}

    def _untag(self, ctx: RequestContext, kind: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        with self.write() as conn:
            self._require_taggable(conn, account_id, kind, name)
            store.remove_tags(conn, account_id, kind, name, list(params.get("TagKeys") or []))
        return {}

    def _list_tags(self, ctx: RequestContext, kind: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        with self.backend.db.connect() as conn:
            self._require_taggable(conn, account_id, kind, name)
            tags = store.get_tags(conn, account_id, kind, name)
        return paginate(tag_list(tags), params, "Tags")

    def _require_taggable(self, conn: Any, account_id: str, kind: str, name: str) -> None:
        if kind == "instance-profile":
            if store.get_instance_profile(conn, account_id, name) is None:
                raise NoSuchEntity(f"Instance Profile {name} cannot be found.")
        elif kind == "policy":
            return
        else:
            self.require_entity(conn, account_id, kind, name)

    def tag_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._tag(ctx, "user", params["UserName"], params)

    def untag_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._untag(ctx, "user", params["UserName"], params)

    def list_user_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_tags(ctx, "user", params["UserName"], params)

    def tag_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._tag(ctx, "role", params["RoleName"], params)

    def untag_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._untag(ctx, "role", params["RoleName"], params)

    def list_role_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_tags(ctx, "role", params["RoleName"], params)

    def tag_instance_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._tag(ctx, "instance-profile", params["InstanceProfileName"], params)

    def untag_instance_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._untag(ctx, "instance-profile", params["InstanceProfileName"], params)

    def list_instance_profile_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_tags(ctx, "instance-profile", params["InstanceProfileName"], params)

    # Instance profiles -------------------------------------------------------------------------

    def _profile_out(self, conn: Any, profile: store.InstanceProfile) -> dict[str, Any]:
        roles = [store.get_role(conn, profile.account_id, n) for n in store.profile_roles(conn, profile.account_id, profile.profile_name)]
        tags = store.get_tags(conn, profile.account_id, "instance-profile", profile.profile_name)
        out: dict[str, Any] = {
            "Path": profile.path,
            "InstanceProfileName": profile.profile_name,
            "InstanceProfileId": profile.profile_id,
            "Arn": profile.arn,
            "CreateDate": profile.created,
            "Roles": [role_out(r) for r in roles if r is not None],
        }
        if tags:
            out["Tags"] = tag_list(tags)
        return out

    def create_instance_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["InstanceProfileName"]
        tags = tags_in(params)
        with self.write() as conn:
            if store.name_taken(conn, store.instance_profiles, "profile_name", account_id, name):
                raise EntityAlreadyExists(f"Instance Profile {name} already exists.")
            profile = store.create_instance_profile(conn, account_id, name, params.get("Path") or "/")
            store.set_tags(conn, account_id, "instance-profile", name, tags)
            out = self._profile_out(conn, profile)
        ctx.resources.append(profile.arn)
        return {"InstanceProfile": out}

    def _require_profile(self, conn: Any, account_id: str, name: str) -> store.InstanceProfile:
        profile = store.get_instance_profile(conn, account_id, name)
        if profile is None:
            raise NoSuchEntity(f"Instance Profile {name} cannot be found.")
        return profile

    def get_instance_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            profile = self._require_profile(conn, account(ctx), params["InstanceProfileName"])
            return {"InstanceProfile": self._profile_out(conn, profile)}

    def list_instance_profiles(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            profiles = store.list_instance_profiles(conn, account(ctx), params.get("PathPrefix") or "/")
            items = [self._profile_out(conn, p) for p in profiles]
        return paginate(items, params, "InstanceProfiles")

    def delete_instance_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["InstanceProfileName"]
        with self.write() as conn:
            self._require_profile(conn, account_id, name)
            if store.profile_roles(conn, account_id, name):
                raise DeleteConflict("Cannot delete entity, must remove roles from instance profile first.")
            store.delete_instance_profile(conn, account_id, name)
        return {}

    def add_role_to_instance_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["InstanceProfileName"]
        with self.write() as conn:
            self._require_profile(conn, account_id, name)
            self.require_role(conn, account_id, params["RoleName"])
            if store.profile_roles(conn, account_id, name):
                raise LimitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
            store.add_profile_role(conn, account_id, name, params["RoleName"])
        return {}

    def remove_role_from_instance_profile(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id, name = account(ctx), params["InstanceProfileName"]
        with self.write() as conn:
            self._require_profile(conn, account_id, name)
            self.require_role(conn, account_id, params["RoleName"])
            if not store.remove_profile_role(conn, account_id, name, params["RoleName"]):
                raise NoSuchEntity(f"Role {params['RoleName']} is not in instance profile {name}.")
        return {}

    def list_instance_profiles_for_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account_id = account(ctx)
        with self.backend.db.connect() as conn:
            self.require_role(conn, account_id, params["RoleName"])
            items = [self._profile_out(conn, p) for p in store.profiles_for_role(conn, account_id, params["RoleName"])]
        return paginate(items, params, "InstanceProfiles")
