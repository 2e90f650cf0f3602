"""IAM's tables: users, groups, roles, policies, attachments, tags, instance profiles, access keys,
and the authorizer's decisions. Only IAM's modules (this package and :mod:`seedbed.iam`) touch them.

Names of users, groups, roles, policies and instance profiles are unique per account regardless
of case, as in IAM; every table is keyed by account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

from seedbed.state import arns, ids
from seedbed.state.db import metadata

users = Table(
    "iam_users",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("user_name", String(64), primary_key=True),
    Column("user_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("permissions_boundary", String(2048), nullable=True),
)

roles = Table(
    "iam_roles",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("role_name", String(64), primary_key=True),
    Column("role_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("assume_role_policy", Text, nullable=False),
    Column("description", String(1000), nullable=True),
    Column("max_session_duration", Integer, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("permissions_boundary", String(2048), nullable=True),
    Column("last_used", DateTime(timezone=True), nullable=True),
)

access_keys = Table(
    "iam_access_keys",
    metadata,
    Column("access_key_id", String(32), primary_key=True),
    Column("secret_access_key", String(64), nullable=False),
    Column("account_id", String(12), nullable=False),
    # None means the account's root user.
    Column("user_name", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str
    account_id: str
    user_name: str | None
    status: str
    created: datetime


def _key(row) -> AccessKey:  # type: ignore[no-untyped-def]
    return AccessKey(
        row.access_key_id,
        row.secret_access_key,
        row.account_id,
        row.user_name,
        row.status,
        row.created,
    )


def create_access_key(conn: Connection, account_id: str, user_name: str | None) -> AccessKey:
    key = AccessKey(ids.access_key_id(), ids.secret_access_key(), account_id, user_name, "Active", now())
    conn.execute(insert(access_keys).values(**key.__dict__))
    return key


def get_access_key(conn: Connection, access_key_id: str) -> AccessKey | None:
    row = conn.execute(
        select(access_keys).where(access_keys.c.access_key_id == access_key_id)
    ).first()
    return _key(row) if row else None


def list_access_keys(conn: Connection, account_id: str, user_name: str | None) -> list[AccessKey]:
    cond = access_keys.c.user_name.is_(None) if user_name is None else access_keys.c.user_name == user_name
    rows = conn.execute(
        select(access_keys)
        .where(access_keys.c.account_id == account_id, cond)
        .order_by(access_keys.c.created)
    )
    return [_key(r) for r in rows]


def delete_access_key(conn: Connection, account_id: str, access_key_id: str) -> bool:
    result = conn.execute(
        delete(access_keys).where(
            access_keys.c.account_id == account_id, access_keys.c.access_key_id == access_key_id
        )
    )
    return result.rowcount > 0


def set_access_key_status(conn: Connection, account_id: str, access_key_id: str, status: str) -> bool:
    result = conn.execute(
        update(access_keys)
        .where(access_keys.c.account_id == account_id, access_keys.c.access_key_id == access_key_id)
        .values(status=status)
    )
    return result.rowcount > 0


@dataclass(frozen=True)
class User:
    account_id: str
    user_name: str
    user_id: str
    path: str
    arn: str
    created: datetime
    permissions_boundary: str | None = None


def create_user(conn: Connection, account_id: str, user_name: str, path: str) -> User:
    user = User(
        account_id, user_name, ids.unique_id("AIDA"), path, arns.iam(account_id, "user", user_name, path), now()
    )
    conn.execute(insert(users).values(**user.__dict__))
    return user


def get_user(conn: Connection, account_id: str, user_name: str) -> User | None:
    row = conn.execute(
        select(users).where(users.c.account_id == account_id, users.c.user_name == user_name)
    ).first()
    return User(**row._mapping) if row else None


def list_users(conn: Connection, account_id: str, path_prefix: str = "/") -> list[User]:
    rows = conn.execute(
        select(users)
        .where(users.c.account_id == account_id, users.c.path.startswith(path_prefix))
        .order_by(users.c.user_name)
    )
    return [User(**r._mapping) for r in rows]


def delete_user(conn: Connection, account_id: str, user_name: str) -> bool:
    result = conn.execute(
        delete(users).where(users.c.account_id == account_id, users.c.user_name == user_name)
    )
    return result.rowcount > 0


@dataclass(frozen=True)
class Role:
    account_id: str
    role_name: str
    role_id: str
    path: str
    arn: str
    assume_role_policy: str
    description: str | None
    max_session_duration: int
    created: datetime
    permissions_boundary: str | None = None
    last_used: datetime | None = None


def create_role(
    conn: Connection,
    account_id: str,
    role_name: str,
    path: str,
    assume_role_policy: str,
    description: str | None,
    max_session_duration: int,
) -> Role:
    role = Role(
        account_id,
        role_name,
        ids.unique_id("AROA"),
        path,
        arns.iam(account_id, "role", role_name, path),
        assume_role_policy,
        description,
        max_session_duration,
        now(),
    )
    conn.execute(insert(roles).values(**role.__dict__))
    return role


def get_role(conn: Connection, account_id: str, role_name: str) -> Role | None:
    """Role names are unique per account regardless of case, as in IAM."""
    row = conn.execute(
        select(roles).where(roles.c.account_id == account_id, roles.c.role_name == role_name)
    ).first()
    return Role(**row._mapping) if row else None


def role_name_taken(conn: Connection, account_id: str, role_name: str) -> bool:
    from sqlalchemy import func

    row = conn.execute(
        select(roles.c.role_name).where(
            roles.c.account_id == account_id, func.lower(roles.c.role_name) == role_name.lower()
        )
    ).first()
    return row is not None


def list_roles(conn: Connection, account_id: str, path_prefix: str = "/") -> list[Role]:
    rows = conn.execute(
        select(roles)
        .where(roles.c.account_id == account_id, roles.c.path.startswith(path_prefix))
        .order_by(roles.c.role_name)
    )
    return [Role(**r._mapping) for r in rows]


def delete_role(conn: Connection, account_id: str, role_name: str) -> bool:
    result = conn.execute(
        delete(roles).where(roles.c.account_id == account_id, roles.c.role_name == role_name)
    )
    return result.rowcount > 0


def update_user(conn: Connection, account_id: str, name: str, **values: object) -> None:
    conn.execute(update(users).where(users.c.account_id == account_id, users.c.user_name == name).values(**values))


def rename_user(conn: Connection, account_id: str, old: str, new: str, path: str) -> None:
    """A new name (and path) for a user, carried to every row that names it."""
    update_user(conn, account_id, old, user_name=new, path=path, arn=arns.iam(account_id, "user", new, path))
    conn.execute(
        update(access_keys)
        .where(access_keys.c.account_id == account_id, access_keys.c.user_name == old)
        .values(user_name=new)
    )
    conn.execute(
        update(group_members)
        .where(group_members.c.account_id == account_id, group_members.c.user_name == old)
        .values(user_name=new)
    )
    for table in (inline_policies, attachments, tags):
        conn.execute(
            update(table)
            .where(table.c.account_id == account_id, table.c.entity_type == "user", table.c.entity_name == old)
            .values(entity_name=new)
        )


def update_role(conn: Connection, account_id: str, name: str, **values: object) -> None:
    conn.execute(update(roles).where(roles.c.account_id == account_id, roles.c.role_name == name).values(**values))


def get_role_by_id(conn: Connection, role_id: str) -> Role | None:
    row = conn.execute(select(roles).where(roles.c.role_id == role_id)).first()
    return Role(**row._mapping) if row else None


def get_user_by_id(conn: Connection, user_id: str) -> User | None:
    row = conn.execute(select(users).where(users.c.user_id == user_id)).first()
    return User(**row._mapping) if row else None


# --- groups ------------------------------------------------------------------------------------

groups = Table(
    "iam_groups",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("group_name", String(128), primary_key=True),
    Column("group_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

group_members = Table(
    "iam_group_members",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("group_name", String(128), primary_key=True),
    Column("user_name", String(64), primary_key=True),
)


@dataclass(frozen=True)
class Group:
    account_id: str
    group_name: str
    group_id: str
    path: str
    arn: str
    created: datetime


def create_group(conn: Connection, account_id: str, group_name: str, path: str) -> Group:
    group = Group(
        account_id, group_name, ids.unique_id("AGPA"), path, arns.iam(account_id, "group", group_name, path), now()
    )
    conn.execute(insert(groups).values(**group.__dict__))
    return group


def get_group(conn: Connection, account_id: str, group_name: str) -> Group | None:
    row = conn.execute(
        select(groups).where(groups.c.account_id == account_id, groups.c.group_name == group_name)
    ).first()
    return Group(**row._mapping) if row else None


def list_groups(conn: Connection, account_id: str, path_prefix: str = "/") -> list[Group]:
    rows = conn.execute(
        select(groups)
        .where(groups.c.account_id == account_id, groups.c.path.startswith(path_prefix))
        .order_by(groups.c.group_name)
    )
    return [Group(**r._mapping) for r in rows]


def rename_group(conn: Connection, account_id: str, old: str, new: str, path: str) -> None:
    conn.execute(
        update(groups)
        .where(groups.c.account_id == account_id, groups.c.group_name == old)
        .values(group_name=new, path=path, arn=arns.iam(account_id, "group", new, path))
    )
    conn.execute(
        update(group_members)
        .where(group_members.c.account_id == account_id, group_members.c.group_name == old)
        .values(group_name=new)
    )
    for table in (inline_policies, attachments):
        conn.execute(
            update(table)
            .where(table.c.account_id == account_id, table.c.entity_type == "group", table.c.entity_name == old)
            .values(entity_name=new)
        )


def delete_group(conn: Connection, account_id: str, group_name: str) -> bool:
    return (
        conn.execute(
            delete(groups).where(groups.c.account_id == account_id, groups.c.group_name == group_name)
        ).rowcount
        > 0
    )


def add_member(conn: Connection, account_id: str, group_name: str, user_name: str) -> None:
    exists = conn.execute(
        select(group_members.c.user_name).where(
            group_members.c.account_id == account_id,
            group_members.c.group_name == group_name,
            group_members.c.user_name == user_name,
        )
    ).first()
    if exists is None:
        conn.execute(insert(group_members).values(account_id=account_id, group_name=group_name, user_name=user_name))


def remove_member(conn: Connection, account_id: str, group_name: str, user_name: str) -> bool:
    return (
        conn.execute(
            delete(group_members).where(
                group_members.c.account_id == account_id,
                group_members.c.group_name == group_name,
                group_members.c.user_name == user_name,
            )
        ).rowcount
        > 0
    )


def members(conn: Connection, account_id: str, group_name: str) -> list[User]:
    rows = conn.execute(
        select(users)
        .join(
            group_members,
            (group_members.c.account_id == users.c.account_id) & (group_members.c.user_name == users.c.user_name),
        )
        .where(group_members.c.account_id == account_id, group_members.c.group_name == group_name)
        .order_by(users.c.user_name)
    )
    return [User(**r._mapping) for r in rows]


def groups_for_user(conn: Connection, account_id: str, user_name: str) -> list[Group]:
    rows = conn.execute(
        select(groups)
        .join(
            group_members,
            (group_members.c.account_id == groups.c.account_id) & (group_members.c.group_name == groups.c.group_name),
        )
        .where(group_members.c.account_id == account_id, group_members.c.user_name == user_name)
        .order_by(groups.c.group_name)
    )
    return [Group(**r._mapping) for r in rows]


# --- inline policies ---------------------------------------------------------------------------

inline_policies = Table(
    "iam_inline_policies",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("entity_type", String(16), primary_key=True),  # user, group, role
    Column("entity_name", String(128), primary_key=True),
    Column("policy_name", String(128), primary_key=True),
    Column("document", Text, nullable=False),
)


def _entity(table: Table, account_id: str, entity_type: str, entity_name: str):  # type: ignore[no-untyped-def]
    return (
        (table.c.account_id == account_id)
        & (table.c.entity_type == entity_type)
        & (table.c.entity_name == entity_name)
    )


def put_inline(conn: Connection, account_id: str, entity_type: str, entity_name: str, policy_name: str, document: str) -> None:
    where = _entity(inline_policies, account_id, entity_type, entity_name) & (
        inline_policies.c.policy_name == policy_name
    )
    if conn.execute(update(inline_policies).where(where).values(document=document)).rowcount == 0:
        conn.execute(
            insert(inline_policies).values(
                account_id=account_id,
                entity_type=entity_type,
                entity_name=entity_name,
                policy_name=policy_name,
                document=document,
            )
        )


def get_inline(conn: Connection, account_id: str, entity_type: str, entity_name: str, policy_name: str) -> str | None:
    row = conn.execute(
        select(inline_policies.c.document).where(
            _entity(inline_policies, account_id, entity_type, entity_name),
            inline_policies.c.policy_name == policy_name,
        )
    ).first()
    return row.document if row else None


def list_inline(conn: Connection, account_id: str, entity_type: str, entity_name: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        select(inline_policies.c.policy_name, inline_policies.c.document)
        .where(_entity(inline_policies, account_id, entity_type, entity_name))
        .order_by(inline_policies.c.policy_name)
    )
    return [(r.policy_name, r.document) for r in rows]


def delete_inline(conn: Connection, account_id: str, entity_type: str, entity_name: str, policy_name: str) -> bool:
    return (
        conn.execute(
            delete(inline_policies).where(
                _entity(inline_policies, account_id, entity_type, entity_name),
                inline_policies.c.policy_name == policy_name,
            )
        ).rowcount
        > 0
    )


# --- customer managed policies -----------------------------------------------------------------

policies = Table(
    "iam_policies",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("policy_name", String(128), primary_key=True),
    Column("policy_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("description", String(1000), nullable=True),
    Column("default_version_id", String(16), nullable=False),
    Column("next_version", Integer, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
)

policy_versions = Table(
    "iam_policy_versions",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("policy_name", String(128), primary_key=True),
    Column("version_id", String(16), primary_key=True),
    Column("document", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class ManagedPolicy:
    account_id: str
    policy_name: str
    policy_id: str
    path: str
    arn: str
    description: str | None
    default_version_id: str
    next_version: int
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class PolicyVersion:
    account_id: str
    policy_name: str
    version_id: str
    document: str
    created: datetime


def create_policy(
    conn: Connection, account_id: str, name: str, path: str, document: str, description: str | None
) -> ManagedPolicy:
    stamp = now()
    policy = ManagedPolicy(
        account_id, name, ids.unique_id("ANPA"), path, arns.iam(account_id, "policy", name, path),
        description, "v1", 2, stamp, stamp,
    )
    conn.execute(insert(policies).values(**policy.__dict__))
    conn.execute(
        insert(policy_versions).values(
            account_id=account_id, policy_name=name, version_id="v1", document=document, created=stamp
        )
    )
    return policy


def get_policy_by_arn(conn: Connection, account_id: str, arn: str) -> ManagedPolicy | None:
    row = conn.execute(select(policies).where(policies.c.account_id == account_id, policies.c.arn == arn)).first()
    return ManagedPolicy(**row._mapping) if row else None


def policy_name_taken(conn: Connection, account_id: str, name: str) -> bool:
    from sqlalchemy import func

    row = conn.execute(
        select(policies.c.policy_name).where(
            policies.c.account_id == account_id, func.lower(policies.c.policy_name) == name.lower()
        )
    ).first()
    return row is not None


def list_policies(conn: Connection, account_id: str, path_prefix: str = "/") -> list[ManagedPolicy]:
    rows = conn.execute(
        select(policies)
        .where(policies.c.account_id == account_id, policies.c.path.startswith(path_prefix))
        .order_by(policies.c.policy_name)
    )
    return [ManagedPolicy(**r._mapping) for r in rows]


def delete_policy(conn: Connection, account_id: str, name: str) -> None:
    conn.execute(
        delete(policy_versions).where(
            policy_versions.c.account_id == account_id, policy_versions.c.policy_name == name
        )
    )
    conn.execute(delete(policies).where(policies.c.account_id == account_id, policies.c.policy_name == name))
    conn.execute(
        delete(tags).where(_entity(tags, account_id, "policy", name))
    )


def add_version(conn: Connection, policy: ManagedPolicy, document: str, make_default: bool) -> PolicyVersion:
    stamp = now()
    version = PolicyVersion(policy.account_id, policy.policy_name, f"v{policy.next_version}", document, stamp)
    conn.execute(insert(policy_versions).values(**version.__dict__))
    values: dict[str, object] = {"next_version": policy.next_version + 1, "updated": stamp}
    if make_default:
        values["default_version_id"] = version.version_id
    conn.execute(
        update(policies)
        .where(policies.c.account_id == policy.account_id, policies.c.policy_name == policy.policy_name)
        .values(**values)
    )
    return version


def get_version(conn: Connection, account_id: str, name: str, version_id: str) -> PolicyVersion | None:
    row = conn.execute(
        select(policy_versions).where(
            policy_versions.c.account_id == account_id,
            policy_versions.c.policy_name == name,
            policy_versions.c.version_id == version_id,
        )
    ).first()
    return PolicyVersion(**row._mapping) if row else None


def list_versions(conn: Connection, account_id: str, name: str) -> list[PolicyVersion]:
    rows = conn.execute(
        select(policy_versions).where(
            policy_versions.c.account_id == account_id, policy_versions.c.policy_name == name
        )
    )
    found = [PolicyVersion(**r._mapping) for r in rows]
    return sorted(found, key=lambda v: int(v.version_id[1:]), reverse=True)


def delete_version(conn: Connection, account_id: str, name: str, version_id: str) -> bool:
    return (
        conn.execute(
            delete(policy_versions).where(
                policy_versions.c.account_id == account_id,
                policy_versions.c.policy_name == name,
                policy_versions.c.version_id == version_id,
            )
        ).rowcount
        > 0
    )


def set_default_version(conn: Connection, account_id: str, name: str, version_id: str) -> None:
    conn.execute(
        update(policies)
        .where(policies.c.account_id == account_id, policies.c.policy_name == name)
        .values(default_version_id=version_id, updated=now())
    )


def default_document(conn: Connection, account_id: str, arn: str) -> tuple[ManagedPolicy, str] | None:
    policy = get_policy_by_arn(conn, account_id, arn)
    if policy is None:
        return None
    version = get_version(conn, account_id, policy.policy_name, policy.default_version_id)
    return (policy, version.document) if version else None


# --- attachments -------------------------------------------------------------------------------

attachments = Table(
    "iam_attachments",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("entity_type", String(16), primary_key=True),
    Column("entity_name", String(128), primary_key=True),
    Column("policy_arn", String(2048), primary_key=True),
)


def attach(conn: Connection, account_id: str, entity_type: str, entity_name: str, policy_arn: str) -> None:
    where = _entity(attachments, account_id, entity_type, entity_name) & (attachments.c.policy_arn == policy_arn)
    if conn.execute(select(attachments.c.policy_arn).where(where)).first() is None:
        conn.execute(
            insert(attachments).values(
                account_id=account_id, entity_type=entity_type, entity_name=entity_name, policy_arn=policy_arn
            )
        )


def detach(conn: Connection, account_id: str, entity_type: str, entity_name: str, policy_arn: str) -> bool:
    where = _entity(attachments, account_id, entity_type, entity_name) & (attachments.c.policy_arn == policy_arn)
    return conn.execute(delete(attachments).where(where)).rowcount > 0


def attached(conn: Connection, account_id: str, entity_type: str, entity_name: str) -> list[str]:
    rows = conn.execute(
        select(attachments.c.policy_arn)
        .where(_entity(attachments, account_id, entity_type, entity_name))
        .order_by(attachments.c.policy_arn)
    )
    return [r.policy_arn for r in rows]


def entities_for_policy(conn: Connection, account_id: str, policy_arn: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        select(attachments.c.entity_type, attachments.c.entity_name)
        .where(attachments.c.account_id == account_id, attachments.c.policy_arn == policy_arn)
        .order_by(attachments.c.entity_type, attachments.c.entity_name)
    )
    return [(r.entity_type, r.entity_name) for r in rows]


def attachment_counts(conn: Connection, account_id: str) -> dict[str, int]:
    from sqlalchemy import func

    rows = conn.execute(
        select(attachments.c.policy_arn, func.count())
        .where(attachments.c.account_id == account_id)
        .group_by(attachments.c.policy_arn)
    )
    return {r[0]: int(r[1]) for r in rows}


def boundary_users(conn: Connection, account_id: str, policy_arn: str) -> int:
    """How many users and roles use ``policy_arn`` as their permissions boundary."""
    from sqlalchemy import func

    count = 0
    for table in (users, roles):
        count += int(
            conn.execute(
                select(func.count()).where(
                    table.c.account_id == account_id, table.c.permissions_boundary == policy_arn
                )
            ).scalar_one()
        )
    return count


# --- tags --------------------------------------------------------------------------------------

tags = Table(
    "iam_tags",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("entity_type", String(24), primary_key=True),  # user, role, policy, instance-profile
    Column("entity_name", String(128), primary_key=True),
    Column("tag_key", String(128), primary_key=True),
    Column("tag_value", String(256), nullable=False),
)


def get_tags(conn: Connection, account_id: str, entity_type: str, entity_name: str) -> dict[str, str]:
    rows = conn.execute(
        select(tags.c.tag_key, tags.c.tag_value)
        .where(_entity(tags, account_id, entity_type, entity_name))
        .order_by(tags.c.tag_key)
    )
    return {r.tag_key: r.tag_value for r in rows}


def set_tags(conn: Connection, account_id: str, entity_type: str, entity_name: str, values: dict[str, str]) -> None:
    """Add or overwrite tags; tag keys are case-insensitive in IAM, so a key in another case
    replaces the old one."""
    current = get_tags(conn, account_id, entity_type, entity_name)
    lowered = {k.lower(): k for k in current}
    for key, value in values.items():
        old = lowered.get(key.lower())
        if old is not None:
            conn.execute(delete(tags).where(_entity(tags, account_id, entity_type, entity_name), tags.c.tag_key == old))
        conn.execute(
            insert(tags).values(
                account_id=account_id, entity_type=entity_type, entity_name=entity_name, tag_key=key, tag_value=value
            )
        )


def remove_tags(conn: Connection, account_id: str, entity_type: str, entity_name: str, keys: list[str]) -> None:
    current = get_tags(conn, account_id, entity_type, entity_name)
    wanted = {k.lower() for k in keys}
    doomed = [k for k in current if k.lower() in wanted]
    if doomed:
        conn.execute(
            delete(tags).where(_entity(tags, account_id, entity_type, entity_name), tags.c.tag_key.in_(doomed))
        )


def drop_entity(conn: Connection, account_id: str, entity_type: str, entity_name: str) -> None:
    """Remove what hangs off a deleted entity (its tags)."""
    conn.execute(delete(tags).where(_entity(tags, account_id, entity_type, entity_name)))


# --- instance profiles -------------------------------------------------------------------------

instance_profiles = Table(
    "iam_instance_profiles",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("profile_name", String(128), primary_key=True),
    Column("profile_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

instance_profile_roles = Table(
    "iam_instance_profile_roles",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("profile_name", String(128), primary_key=True),
    Column("role_name", String(64), primary_key=True),
)


@dataclass(frozen=True)
class InstanceProfile:
    account_id: str
    profile_name: str
    profile_id: str
    path: str
    arn: str
    created: datetime


def create_instance_profile(conn: Connection, account_id: str, name: str, path: str) -> InstanceProfile:
    profile = InstanceProfile(
        account_id, name, ids.unique_id("AIPA"), path, arns.iam(account_id, "instance-profile", name, path), now()
    )
    conn.execute(insert(instance_profiles).values(**profile.__dict__))
    return profile


def get_instance_profile(conn: Connection, account_id: str, name: str) -> InstanceProfile | None:
    row = conn.execute(
        select(instance_profiles).where(
            instance_profiles.c.account_id == account_id, instance_profiles.c.profile_name == name
        )
    ).first()
    return InstanceProfile(**row._mapping) if row else None


def list_instance_profiles(conn: Connection, account_id: str, path_prefix: str = "/") -> list[InstanceProfile]:
    rows = conn.execute(
        select(instance_profiles)
        .where(instance_profiles.c.account_id == account_id, instance_profiles.c.path.startswith(path_prefix))
        .order_by(instance_profiles.c.profile_name)
    )
    return [InstanceProfile(**r._mapping) for r in rows]


def delete_instance_profile(conn: Connection, account_id: str, name: str) -> bool:
    drop_entity(conn, account_id, "instance-profile", name)
    return (
        conn.execute(
            delete(instance_profiles).where(
                instance_profiles.c.account_id == account_id, instance_profiles.c.profile_name == name
            )
        ).rowcount
        > 0
    )


def profile_roles(conn: Connection, account_id: str, name: str) -> list[str]:
    rows = conn.execute(
        select(instance_profile_roles.c.role_name).where(
            instance_profile_roles.c.account_id == account_id, instance_profile_roles.c.profile_name == name
        )
    )
    return [r.role_name for r in rows]


def add_profile_role(conn: Connection, account_id: str, name: str, role_name: str) -> None:
    conn.execute(insert(instance_profile_roles).values(account_id=account_id, profile_name=name, role_name=role_name))


def remove_profile_role(conn: Connection, account_id: str, name: str, role_name: str) -> bool:
    return (
        conn.execute(
            delete(instance_profile_roles).where(
                instance_profile_roles.c.account_id == account_id,
                instance_profile_roles.c.profile_name == name,
                instance_profile_roles.c.role_name == role_name,
            )
        ).rowcount
        > 0
    )


def profiles_for_role(conn: Connection, account_id: str, role_name: str) -> list[InstanceProfile]:
    rows = conn.execute(
        select(instance_profiles)
        .join(
            instance_profile_roles,
            (instance_profile_roles.c.account_id == instance_profiles.c.account_id)
            & (instance_profile_roles.c.profile_name == instance_profiles.c.profile_name),
        )
        .where(instance_profile_roles.c.account_id == account_id, instance_profile_roles.c.role_name == role_name)
        .order_by(instance_profiles.c.profile_name)
    )
    return [InstanceProfile(**r._mapping) for r in rows]


def name_taken(conn: Connection, table: Table, column: str, account_id: str, name: str) -> bool:
    """Whether ``name`` is used in ``table`` regardless of case (IAM names are case-insensitive)."""
    from sqlalchemy import func

    row = conn.execute(
        select(table.c[column]).where(table.c.account_id == account_id, func.lower(table.c[column]) == name.lower())
    ).first()
    return row is not None


# --- authorization decisions ---------------------------------------------------------------------

decisions = Table(
    "iam_decisions",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("time", DateTime(timezone=True), nullable=False, index=True),
    Column("account_id", String(12), nullable=True),
    Column("principal_arn", String(2048), nullable=True),
    Column("action", String(256), nullable=False),
    Column("resource", Text, nullable=False),
    Column("decision", String(16), nullable=False),  # Allow, ExplicitDeny, ImplicitDeny
    Column("mode", String(16), nullable=False),  # enforce, audit
    Column("reason", Text, nullable=True),
    Column("statements", Text, nullable=True),  # JSON list of the deciding statements
)


def append_decisions(conn: Connection, rows: list[dict[str, object]]) -> None:
    if rows:
        conn.execute(insert(decisions), rows)


def get_decisions(conn: Connection, request_id: str) -> list:  # type: ignore[type-arg]
    return list(
        conn.execute(select(decisions).where(decisions.c.request_id == request_id).order_by(decisions.c.seq))
    )


def purge_decisions(conn: Connection, before: datetime) -> int:
    return conn.execute(delete(decisions).where(decisions.c.time < before)).rowcount
