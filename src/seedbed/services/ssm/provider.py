"""SSM Parameter Store operations: put and get parameters, path queries, history, labels, tags.

Names and selectors are checked in :mod:`~seedbed.services.ssm.names`, filters in
:mod:`~seedbed.services.ssm.filters`, SecureString values go through KMS in
:mod:`~seedbed.services.ssm.values`. Only the Parameter Store part of SSM is implemented; other
SSM operations answer NotImplemented. A database transaction never spans a KMS call.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from seedbed.errors import ServiceError
from seedbed.protocol.javaregex import compile_java
from seedbed.server.context import Principal, RequestContext
from seedbed.services.base import Provider
from seedbed.services.ssm import filters, names, store, values
from seedbed.services.ssm.errors import (
    InvalidAllowedPattern,
    InvalidPolicyType,
    InvalidResourceId,
    InvalidResourceType,
    MaxVersionLimitExceeded,
    ParameterAlreadyExists,
    ParameterNotFound,
    ParameterVersionNotFound,
    PatternMismatch,
    TooManyTags,
    TooManyUpdates,
    Validation,
    VersionLabelLimitExceeded,
    not_found,
)

STANDARD_LIMIT = 4096
ADVANCED_LIMIT = 8192
MAX_VERSIONS = 100
MAX_LABELS = 10
MAX_TAGS = 50
#: Version numbers are 64-bit database integers; a larger one names no version.
MAX_VERSION_NUMBER = 2**63 - 1
DATA_TYPES = ("text", "aws:ec2:image", "aws:ssm:integration")
POLICY_TYPES = ("Expiration", "ExpirationNotification", "NoChangeNotification")
_AMI = re.compile(r"^ami-[0-9a-f]{8,17}$")


def _caller(ctx: RequestContext) -> Principal:
    if ctx.principal is None:
        raise ServiceError(
            "Missing Authentication Token", code="MissingAuthenticationToken", status=403
        )
    return ctx.principal


class SsmProvider(Provider):
    service = "ssm"

    # -- plumbing ---------------------------------------------------------------------------------

    def _select(
        self, conn: Connection, ctx: RequestContext, text: str
    ) -> tuple[store.Parameter, store.Version, names.Selector]:
        """The parameter and version that ``name``, ``name:version``, ``name:label`` or an ARN
        names; ParameterNotFound or ParameterVersionNotFound otherwise."""
        account = _caller(ctx).account_id
        selector = names.parse(text)
        parameter = self._parameter(conn, ctx, selector, text)
        if selector.version is not None:
            version = store.get_version(conn, account, ctx.region, parameter.name, selector.version)
        elif selector.label is not None:
            found = store.list_versions(conn, account, ctx.region, parameter.name)
            version = next((v for v in found if selector.label in v.labels), None)
        else:
            version = store.get_version(
                conn, account, ctx.region, parameter.name, parameter.version
            )
        if version is None:
            raise ParameterVersionNotFound(
                f"Systems Manager could not find version {text.rpartition(':')[2]} of "
                f"{parameter.name}. Verify the version and try again."
            )
        return parameter, version, selector

    def _parameter(
        self, conn: Connection, ctx: RequestContext, selector: names.Selector, text: str
    ) -> store.Parameter:
        account = _caller(ctx).account_id
        for candidate in selector.names:
            parameter = store.get_parameter(conn, account, ctx.region, candidate)
            if parameter is not None:
                ctx.resources.append(names.arn(account, ctx.region, parameter.name))
                return parameter
        raise not_found(text)

    async def _value(self, ctx: RequestContext, version: store.Version, decrypt: bool) -> str:
        if version.param_type != "SecureString" or not decrypt:
            return version.value
        arn = names.arn(version.account_id, version.region, version.name)
        return await values.decrypt(self.backend, ctx.principal, ctx.region, arn, version.value)

    async def _out(
        self,
        ctx: RequestContext,
        version: store.Version,
        selector: names.Selector | None,
        decrypt: bool,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Name": version.name,
            "Type": version.param_type,
            "Value": await self._value(ctx, version, decrypt),
            "Version": version.version,
            "LastModifiedDate": version.last_modified,
            "ARN": names.arn(version.account_id, version.region, version.name),
            "DataType": version.data_type,
        }
        if selector is not None and selector.text:
            out["Selector"] = selector.text
        return out

    # -- what IAM asks (seedbed.iam.resources) ----------------------------------------------------

    def resource_condition_keys(
        self, ctx: RequestContext, resource_arn: str, key: str
    ) -> tuple[str, ...] | None:
        """``aws:ResourceTag/<k>`` and ``ssm:ResourceTag/<k>`` of a parameter (by its ARN)."""
        if not key.startswith(("aws:resourcetag/", "ssm:resourcetag/")):
            return None
        parts = resource_arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "ssm":
            return None
        with self.backend.db.connect() as conn:
            for candidate in names.parse(resource_arn).names:
                parameter = store.get_parameter(conn, parts[4], parts[3], candidate)
                if parameter is not None:
                    wanted = key.split("/", 1)[1]
                    return next(
                        (((t["Value"]),) for t in parameter.tags if t["Key"].lower() == wanted),
                        None,
                    )
        return None

    # -- writing ----------------------------------------------------------------------------------

    async def put_parameter(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = _caller(ctx)
        account, region = caller.account_id, ctx.region
        name, value = params["Name"], params["Value"]
        names.check_name(name)
        overwrite = bool(params.get("Overwrite"))
        if overwrite and params.get("Tags"):
            raise Validation(
                "Invalid request: tags and overwrite can't be used together. To create a "
                "parameter with tags, please remove overwrite flag. To update tags for an "
                "existing parameter, please use AddTagsToResource or RemoveTagsFromResource."
            )
        if value == "":
            raise Validation(
                "1 validation error detected: Value '' at 'value' failed to satisfy constraint: "
                "Member must have length greater than or equal to 1"
            )
        with self.backend.db.begin() as conn:
            existing = store.get_parameter(conn, account, region, name)
        if existing is not None and not overwrite:
            raise ParameterAlreadyExists(
                "The parameter already exists. To overwrite this value, set the overwrite option "
                "in the request to true."
            )
        param_type = params.get("Type") or (existing.param_type if existing else None)
        if param_type is None:
            raise Validation("A parameter type is required when you create a parameter.")
        key_id = params.get("KeyId")
        if key_id and param_type != "SecureString":
            raise Validation("KeyId is required for SecureString type parameter only.")
        if param_type == "SecureString":
            inherited = (
                existing.key_id if existing and existing.param_type == "SecureString" else None
            )
            key_id = key_id or inherited or values.DEFAULT_KEY
        data_type = params.get("DataType") or (existing.data_type if existing else "text")
        _check_data_type(data_type, value)
        pattern = _inherit(params, "AllowedPattern", existing.allowed_pattern if existing else None)
        _check_pattern(pattern, value)
        description = _inherit(params, "Description", existing.description if existing else None)
        policies = _inherit(params, "Policies", existing.policies if existing else None)
        _check_policies(policies)
        tier = _tier(params.get("Tier"), existing, value, policies)
        tags = _merge_tags([], params.get("Tags") or [])
        arn = names.arn(account, region, name)
        stored = value
        if param_type == "SecureString":
            assert key_id is not None
            stored = await values.encrypt(self.backend, ctx.principal, region, key_id, arn, value)
        now = store.now()
        try:
            with self.backend.db.begin() as conn:
                current = store.get_parameter(conn, account, region, name)
                if current is not None and not overwrite:
                    raise ParameterAlreadyExists("The parameter already exists.")
                number = (current.version if current else 0) + 1
                if current is not None:
                    _make_room(conn, store.list_versions(conn, account, region, name))
                fields = dict(
                    account_id=account,
                    region=region,
                    name=name,
                    version=number,
                    param_type=param_type,
                    key_id=key_id,
                    tier=tier,
                    data_type=data_type,
                    description=description,
                    allowed_pattern=pattern,
                    policies=policies,
                    last_modified=now,
                    last_modified_user=caller.arn,
                )
                store.insert_version(
                    conn, store.Version(**{**fields, "value": stored, "labels": []})
                )
                parameter = store.Parameter(**fields, tags=current.tags if current else tags)
                store.save_parameter(conn, parameter, new=current is None)
        except IntegrityError:
            if not overwrite:
                raise ParameterAlreadyExists("The parameter already exists.") from None
            raise TooManyUpdates(
                "There are concurrent updates for the resource that you're trying to modify. "
                "Please try again later."
            ) from None
        ctx.resources.append(arn)
        return {"Version": number, "Tier": tier}

    def delete_parameter(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account = _caller(ctx).account_id
        name = params["Name"]
        with self.backend.db.begin() as conn:
            if not store.delete_parameter(conn, account, ctx.region, name):
                raise not_found(name)
        ctx.resources.append(names.arn(account, ctx.region, name))
        return {}

    def delete_parameters(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account = _caller(ctx).account_id
        deleted, invalid = [], []
        with self.backend.db.begin() as conn:
            for name in dict.fromkeys(params["Names"]):
                if store.delete_parameter(conn, account, ctx.region, name):
                    deleted.append(name)
                    ctx.resources.append(names.arn(account, ctx.region, name))
                else:
                    invalid.append(name)
        return {"DeletedParameters": deleted, "InvalidParameters": invalid}

    # -- reading ----------------------------------------------------------------------------------

    async def get_parameter(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            _, version, selector = self._select(conn, ctx, params["Name"])
        return {
            "Parameter": await self._out(ctx, version, selector, bool(params.get("WithDecryption")))
        }

    async def get_parameters(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, invalid = [], []
        with self.backend.db.begin() as conn:
            for text in dict.fromkeys(params["Names"]):
                try:
                    _, version, selector = self._select(conn, ctx, text)
                except (ParameterNotFound, ParameterVersionNotFound):
                    invalid.append(text)
                else:
                    found.append((version, selector))
        decrypt = bool(params.get("WithDecryption"))
        return {
            "Parameters": [await self._out(ctx, v, s, decrypt) for v, s in found],
            "InvalidParameters": invalid,
        }

    async def get_parameters_by_path(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        account = _caller(ctx).account_id
        path = names.check_path(params["Path"])
        recursive = bool(params.get("Recursive"))
        wanted = params.get("ParameterFilters") or []
        filters.check(wanted, filters.BY_PATH_KEYS)
        prefix = "/" if path == "/" else path + "/"
        label_filters = [f for f in wanted if f["Key"] == "Label"]
        other_filters = [f for f in wanted if f["Key"] != "Label"]
        with self.backend.db.begin() as conn:
            pairs = store.current_versions(conn, account, ctx.region, prefix)
            labelled = (
                store.labelled_versions(conn, account, ctx.region, prefix) if label_filters else []
            )
        selected: list[store.Version] = []
        for parameter, version in pairs:
            if not names.under(path, parameter.name, recursive):
                continue
            if not all(filters.matches(parameter, set(), f) for f in other_filters):
                continue
            if label_filters:
                wanted_labels = {v for f in label_filters for v in f["Values"]}
                carrying = sorted(
                    (
                        v
                        for v in labelled
                        if v.name == parameter.name and wanted_labels & set(v.labels)
                    ),
                    key=lambda v: v.version,
                )
                if not carrying:
                    continue
                version = carrying[-1]
            selected.append(version)
        page, token = filters.page(
            selected, lambda v: v.name, params.get("MaxResults") or 10, params.get("NextToken")
        )
        decrypt = bool(params.get("WithDecryption"))
        out: dict[str, Any] = {"Parameters": [await self._out(ctx, v, None, decrypt) for v in page]}
        if token:
            out["NextToken"] = token
        return out

    async def get_parameter_history(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        account = _caller(ctx).account_id
        text = params["Name"]
        with self.backend.db.begin() as conn:
            parameter = self._parameter(conn, ctx, names.parse(text), text)
            history = store.list_versions(conn, account, ctx.region, parameter.name)
        page, token = filters.page(
            history,
            lambda v: f"{v.version:020d}",
            params.get("MaxResults") or 50,
            params.get("NextToken"),
        )
        decrypt = bool(params.get("WithDecryption"))
        entries = []
        for version in page:
            entry: dict[str, Any] = {
                "Name": version.name,
                "Type": version.param_type,
                "LastModifiedDate": version.last_modified,
                "LastModifiedUser": version.last_modified_user,
                "Value": await self._value(ctx, version, decrypt),
                "Version": version.version,
                "Labels": version.labels,
                "Tier": version.tier,
                "Policies": _policies_out(version.policies),
                "DataType": version.data_type,
            }
            optional = {
                "KeyId": version.key_id,
                "Description": version.description,
                "AllowedPattern": version.allowed_pattern,
            }
            entry.update({k: v for k, v in optional.items() if v is not None})
            entries.append(entry)
        out: dict[str, Any] = {"Parameters": entries}
        if token:
            out["NextToken"] = token
        return out

    def describe_parameters(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account = _caller(ctx).account_id
        if params.get("Filters") and params.get("ParameterFilters"):
            raise Validation("You can use either Filters or ParameterFilters in a single request.")
        wanted = (
            filters.legacy(params["Filters"])
            if params.get("Filters")
            else params.get("ParameterFilters") or []
        )
        filters.check(wanted)
        if params.get("Shared"):
            return {"Parameters": []}  # nothing is shared with this account from another
        with self.backend.db.begin() as conn:
            found = store.list_parameters(conn, account, ctx.region)
            labelled = (
                store.labelled_versions(conn, account, ctx.region)
                if any(f["Key"] == "Label" for f in wanted)
                else []
            )
        labels: dict[str, set[str]] = {}
        for version in labelled:
            labels.setdefault(version.name, set()).update(version.labels)
        selected = [
            p
            for p in found
            if all(filters.matches(p, labels.get(p.name, set()), f) for f in wanted)
        ]
        page, token = filters.page(
            selected, lambda p: p.name, params.get("MaxResults") or 50, params.get("NextToken")
        )
        out: dict[str, Any] = {"Parameters": [_metadata(p) for p in page]}
        if token:
            out["NextToken"] = token
        return out

    # -- labels -----------------------------------------------------------------------------------

    def label_parameter_version(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        account = _caller(ctx).account_id
        text = params["Name"]
        labels = list(dict.fromkeys(params["Labels"]))
        good = [label for label in labels if names.label_ok(label)]
        bad = [label for label in labels if not names.label_ok(label)]
        with self.backend.db.begin() as conn:
            parameter = self._parameter(conn, ctx, names.parse(text), text)
            number = params.get("ParameterVersion") or parameter.version
            history = store.list_versions(conn, account, ctx.region, parameter.name)
            target = next((v for v in history if v.version == number), None)
            if target is None:
                raise ParameterVersionNotFound(
                    f"Systems Manager could not find version {number} of {parameter.name}. "
                    "Verify the version and try again."
                )
            new_labels = target.labels + [label for label in good if label not in target.labels]
            if len(new_labels) > MAX_LABELS:
                raise VersionLabelLimitExceeded(
                    f"A parameter version can have maximum {MAX_LABELS} labels. Move one or more "
                    "labels to another version and try again."
                )
            for version in history:
                if version.version != number and set(good) & set(version.labels):
                    store.set_labels(conn, version, [x for x in version.labels if x not in good])
            store.set_labels(conn, target, new_labels)
        return {"InvalidLabels": bad, "ParameterVersion": number}

    def unlabel_parameter_version(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        account = _caller(ctx).account_id
        text = params["Name"]
        with self.backend.db.begin() as conn:
            parameter = self._parameter(conn, ctx, names.parse(text), text)
            number = params["ParameterVersion"]
            target = None
            if 0 < number <= MAX_VERSION_NUMBER:
                target = store.get_version(conn, account, ctx.region, parameter.name, number)
            if target is None:
                raise ParameterVersionNotFound(
                    f"Systems Manager could not find version {params['ParameterVersion']} of "
                    f"{parameter.name}. Verify the version and try again."
                )
            asked = list(dict.fromkeys(params["Labels"]))
            removed = [label for label in asked if label in target.labels]
            store.set_labels(conn, target, [x for x in target.labels if x not in removed])
        out: dict[str, Any] = {
            "RemovedLabels": removed,
            "InvalidLabels": [x for x in asked if x not in removed],
        }
        return {k: v for k, v in out.items() if v}

    # -- tags -------------------------------------------------------------------------------------

    def _tagged(
        self, conn: Connection, ctx: RequestContext, params: dict[str, Any]
    ) -> store.Parameter:
        if params["ResourceType"] != "Parameter":
            raise InvalidResourceType(
                "Seedbed's Parameter Store tags parameters only, not "
                f"{params['ResourceType']} resources."
            )
        try:
            return self._parameter(
                conn, ctx, names.parse(params["ResourceId"]), params["ResourceId"]
            )
        except ParameterNotFound:
            raise InvalidResourceId(
                "The resource ID isn't valid. Verify that you entered the correct ID and try again."
            ) from None

    def add_tags_to_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            parameter = self._tagged(conn, ctx, params)
            store.update_parameter(
                conn, parameter, tags=_merge_tags(parameter.tags, params["Tags"])
            )
        return {}

    def remove_tags_from_resource(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        drop = set(params["TagKeys"])
        with self.backend.db.begin() as conn:
            parameter = self._tagged(conn, ctx, params)
            store.update_parameter(
                conn, parameter, tags=[t for t in parameter.tags if t["Key"] not in drop]
            )
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            parameter = self._tagged(conn, ctx, params)
        return {"TagList": parameter.tags}


# -- helpers --------------------------------------------------------------------------------------


def _inherit(params: dict[str, Any], member: str, previous: str | None) -> str | None:
    """An overwrite keeps the previous version's value of ``member`` unless the request sets it."""
    return params[member] if member in params else previous


def _tier(
    requested: str | None, existing: store.Parameter | None, value: str, policies: str | None
) -> str:
    size = len(value.encode("utf-8"))
    was_advanced = existing is not None and existing.tier == "Advanced"
    if requested == "Intelligent-Tiering":
        tier = "Advanced" if size > STANDARD_LIMIT or policies or was_advanced else "Standard"
    elif requested == "Standard" and was_advanced:
        raise Validation(
            "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from "
            "the advanced-parameter tier to the standard-parameter tier. If necessary, you can "
            "delete the advanced parameter and recreate it as a standard parameter."
        )
    else:
        tier = requested or ("Advanced" if was_advanced else "Standard")
    if tier == "Standard" and size > STANDARD_LIMIT:
        raise Validation(
            f"Standard tier parameters support a maximum parameter value of {STANDARD_LIMIT} "
            "characters. To create a larger parameter value, upgrade the parameter to use the "
            "advanced-parameter tier."
        )
    if size > ADVANCED_LIMIT:
        raise Validation(
            "Advanced tier parameters support a maximum parameter "
            f"value of {ADVANCED_LIMIT} characters."
        )
    if tier == "Standard" and policies:
        raise Validation(
            "Parameter policies are supported only for advanced-tier parameters. Use Tier "
            "Advanced or Intelligent-Tiering."
        )
    return tier


def _check_data_type(data_type: str, value: str) -> None:
    if data_type not in DATA_TYPES:
        raise Validation(
            f"The following data type is not supported: {data_type} (Data type names are all "
            f"lowercase.) Supported data types are: {', '.join(DATA_TYPES)}."
        )
    if data_type == "aws:ec2:image" and not _AMI.match(value):
        raise Validation(f"Parameter value {value} is not a valid Amazon Machine Image (AMI) ID.")


def _check_pattern(pattern: str | None, value: str) -> None:
    if not pattern:
        return
    compiled = compile_java(pattern)
    if compiled is None:
        try:
            compiled = re.compile(pattern)
        except re.error:
            raise InvalidAllowedPattern(
                f"The allowed pattern {pattern} is not a valid regular expression."
            ) from None
    if not compiled.fullmatch(value):
        raise PatternMismatch(
            f"Parameter value, cannot be validated against allowedPattern: {pattern}"
        )


def _check_policies(policies: str | None) -> None:
    if policies is None:
        return
    try:
        document = json.loads(policies)
    except ValueError:
        raise InvalidPolicyType("The parameter policies are not valid JSON.") from None
    if not isinstance(document, list) or not all(
        isinstance(p, dict) and p.get("Type") in POLICY_TYPES for p in document
    ):
        raise InvalidPolicyType(
            "Parameter policies must be a JSON list of policies whose "
            f"Type is one of {', '.join(POLICY_TYPES)}."
        )


def _policies_out(policies: str | None) -> list[dict[str, Any]]:
    if not policies:
        return []
    return [
        {"PolicyText": json.dumps(p), "PolicyType": p["Type"], "PolicyStatus": "Pending"}
        for p in json.loads(policies)
    ]


def _make_room(conn: Connection, history: list[store.Version]) -> None:
    """At most :data:`MAX_VERSIONS` versions: the oldest goes, unless a label holds it."""
    if len(history) < MAX_VERSIONS:
        return
    oldest = history[0]
    if oldest.labels:
        raise MaxVersionLimitExceeded(
            f"You attempted to create a new version of {oldest.name} by calling the PutParameter "
            f"API with the overwrite flag. Version {oldest.version}, the oldest version, can't be "
            "deleted because it has a label associated with it. Move the label to another version "
            "of the parameter, and try again."
        )
    store.delete_version(conn, oldest)


def _merge_tags(tags: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    merged = {t["Key"]: t["Value"] for t in tags}
    for tag in new:
        if tag["Key"].lower().startswith("aws:"):
            raise Validation("Tag keys that begin with aws: are reserved for AWS.")
        merged[tag["Key"]] = tag["Value"]
    if len(merged) > MAX_TAGS:
        raise TooManyTags(
            f"You exceeded the maximum number of tags allowed for this resource ({MAX_TAGS})."
        )
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def _metadata(parameter: store.Parameter) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Name": parameter.name,
        "ARN": names.arn(parameter.account_id, parameter.region, parameter.name),
        "Type": parameter.param_type,
        "LastModifiedDate": parameter.last_modified,
        "LastModifiedUser": parameter.last_modified_user,
        "Version": parameter.version,
        "Tier": parameter.tier,
        "Policies": _policies_out(parameter.policies),
        "DataType": parameter.data_type,
    }
    optional = {
        "KeyId": parameter.key_id,
        "Description": parameter.description,
        "AllowedPattern": parameter.allowed_pattern,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return out
