"""Dynamic references: ``{{resolve:ssm:...}}``, ``{{resolve:ssm-secure:...}}`` and
``{{resolve:secretsmanager:...}}`` in resource properties.

The template, the stack's resource records and its events keep the literal reference (AWS
compares and shows only that); the value is read when a handler is about to run, through the SSM
and Secrets Manager providers as the stack's acting principal, so IAM decides as on AWS. Values of
``ssm-secure`` and ``secretsmanager`` references are secrets: :meth:`Resolver.redact` takes them
out of any failure message before it is journaled or logged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from seedbed.cloudformation.errors import CfnValidationError, ResourceFailure
from seedbed.errors import ServiceError

_REF = re.compile(r"\{\{resolve:([^{}]*)\}\}")
_SSM_NAME = re.compile(r"[a-zA-Z0-9_.\-/]+")
MARKER = "{{resolve:"

#: The only properties AWS accepts an ``ssm-secure`` reference in (``*``: any list item).
SECURE_ALLOWED = frozenset({
    "AWS::DirectoryService::MicrosoftAD/Properties/Password",
    "AWS::DirectoryService::SimpleAD/Properties/Password",
    "AWS::ElastiCache::ReplicationGroup/Properties/AuthToken",
    "AWS::IAM::User/Properties/LoginProfile/Password",
    "AWS::KinesisFirehose::DeliveryStream/Properties/RedshiftDestinationConfiguration/Password",
    "AWS::OpsWorks::App/Properties/AppSource/Password",
    "AWS::OpsWorks::Stack/Properties/RdsDbInstances/*/DbPassword",
    "AWS::OpsWorks::Stack/Properties/CustomCookbooksSource/Password",
    "AWS::RDS::DBCluster/Properties/MasterUserPassword",
    "AWS::RDS::DBInstance/Properties/MasterUserPassword",
    "AWS::Redshift::Cluster/Properties/MasterUserPassword",
})
#: Secret values shorter than this are not searched for in messages (they would garble them).
MIN_REDACTED = 4


@dataclass(frozen=True)
class Reference:
    """One parsed reference; ``name`` is the parameter name or the secret's name or ARN."""

    text: str
    service: str
    name: str
    version: str | None = None
    json_key: str | None = None
    stage: str | None = None
    version_id: str | None = None

    @property
    def secret(self) -> bool:
        return self.service != "ssm"


def parse(text: str) -> Reference:
    """``text`` is the whole ``{{resolve:...}}``; a malformed one is refused as AWS refuses it."""
    inner = text[len(MARKER):-2]
    service, _, rest = inner.partition(":")
    if service in ("ssm", "ssm-secure"):
        parts = rest.split(":")
        if len(parts) > 2 or not _SSM_NAME.fullmatch(parts[0]) or (len(parts) == 2 and not parts[1].isdigit()):
            raise CfnValidationError(f"Incorrect format is used in the following SSM reference: [{text}]")
        return Reference(text, service, parts[0], parts[1] if len(parts) == 2 else None)
    if service == "secretsmanager":
        parts = rest.split(":")
        if rest.startswith("arn:"):
            if len(parts) < 7 or parts[5] != "secret" or not parts[6]:
                raise CfnValidationError(f"Incorrect format is used in the following Secrets Manager reference: [{text}]")
            secret_id, tail = ":".join(parts[:7]), parts[7:]
        else:
            secret_id, tail = parts[0], parts[1:]
        tail = tail + [""] * (4 - len(tail))
        if not secret_id or len(tail) > 4 or tail[0] not in ("", "SecretString"):
            raise CfnValidationError(f"Incorrect format is used in the following Secrets Manager reference: [{text}]")
        return Reference(text, service, secret_id, None, tail[1] or None, tail[2] or None, tail[3] or None)
    raise CfnValidationError(f"Unsupported dynamic reference [{text}]: the service must be ssm, ssm-secure or secretsmanager")


def has_references(value: Any) -> bool:
    if isinstance(value, str):
        return MARKER in value
    if isinstance(value, dict):
        return any(has_references(v) for v in value.values())
    if isinstance(value, list):
        return any(has_references(v) for v in value)
    return False


def unknown(value: Any) -> Any:
    """``value`` with strings holding a reference made :data:`~.intrinsics.UNRESOLVED`: their
    values are only read at create time, so schema checks before then must skip them."""
    from seedbed.cloudformation.intrinsics import UNRESOLVED

    if isinstance(value, str):
        return UNRESOLVED if MARKER in value else value
    if isinstance(value, dict):
        return {k: unknown(v) for k, v in value.items()} if has_references(value) else value
    if isinstance(value, list):
        return [unknown(v) for v in value] if has_references(value) else value
    return value


def find(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Reference]]:
    """Every reference in a property tree, with where it sits."""
    if isinstance(value, str):
        if MARKER in value:
            for match in _REF.finditer(value):
                yield path, parse(match.group(0))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from find(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from find(item, (*path, index))


def unsupported_secure(rtype: str, props: Any) -> list[str]:
    """Where ``props`` use ``ssm-secure`` outside :data:`SECURE_ALLOWED`, named as AWS names them
    (the path stops at the first list)."""
    out: list[str] = []
    for path, ref in find(props):
        if ref.service != "ssm-secure":
            continue
        pattern = "/".join([rtype, "Properties", *("*" if isinstance(p, int) else p for p in path)])
        if pattern in SECURE_ALLOWED:
            continue
        shown: list[str] = []
        for part in path:
            if isinstance(part, int):
                break
            shown.append(part)
        out.append("/".join([rtype, "Properties", *shown]))
    return out


def check(resources: list[tuple[str, Any]]) -> None:
    """Before anything is created: every reference well formed, ``ssm-secure`` only where allowed.
    ``resources`` is (type, evaluated properties) per resource."""
    unsupported: list[str] = []
    for rtype, props in resources:
        unsupported.extend(unsupported_secure(rtype, props))
    if unsupported:
        raise CfnValidationError(f"SSM Secure reference is not supported in: [{','.join(unsupported)}]")


def _reason(service: str, operation: str, exc: ServiceError) -> str:
    return f"{exc.message} (Service: {service}, Status Code: {exc.status}, Error Code: {exc.code}, Operation: {operation})"


Caller = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]


class Resolver:
    """Reads references for one stack operation (each at most once) as the acting principal."""

    def __init__(self, call: Caller) -> None:
        self._call = call
        self._values: dict[str, str] = {}
        self.secrets: set[str] = set()

    async def resolve(self, value: Any) -> Any:
        """``value`` with every reference replaced by what it names; :class:`ResourceFailure` with
        AWS's message when one cannot be read."""
        if isinstance(value, str):
            if MARKER not in value:
                return value
            pieces: list[str] = []
            end = 0
            for match in _REF.finditer(value):
                pieces.append(value[end:match.start()])
                pieces.append(await self._value(parse(match.group(0))))
                end = match.end()
            pieces.append(value[end:])
            return "".join(pieces)
        if isinstance(value, dict):
            return {k: await self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [await self.resolve(v) for v in value]
        return value

    async def resolve_quietly(self, value: Any) -> Any:
        """For deletes and reverts: the resolved value if it can still be read, else as recorded."""
        if not has_references(value):
            return value
        try:
            return await self.resolve(value)
        except (ResourceFailure, CfnValidationError):
            return value

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= MIN_REDACTED:
                text = text.replace(secret, "****")
        return text

    async def _value(self, ref: Reference) -> str:
        if ref.text in self._values:
            return self._values[ref.text]
        value = await (self._secret(ref) if ref.service == "secretsmanager" else self._parameter(ref))
        if ref.secret:
            self.secrets.add(value)
        self._values[ref.text] = value
        return value

    async def _parameter(self, ref: Reference) -> str:
        name = f"{ref.name}:{ref.version}" if ref.version else ref.name
        secure = ref.service == "ssm-secure"
        try:
            out = await self._call("ssm", "GetParameters", {"Names": [name], "WithDecryption": secure})
        except ServiceError as exc:
            raise ResourceFailure(_reason("ssm", "GetParameters", exc)) from None
        found = out.get("Parameters") or []
        if not found:
            raise ResourceFailure(f"Unable to fetch parameters [{name}] from parameter store for this account.")
        parameter = found[0]
        if not secure and parameter.get("Type") == "SecureString":
            raise ResourceFailure(
                f"Parameter [{name}] is a SecureString: reference it with {{{{resolve:ssm-secure:{name}}}}} "
                "in a property that supports secure strings."
            )
        return str(parameter["Value"])

    async def _secret(self, ref: Reference) -> str:
        params: dict[str, Any] = {"SecretId": ref.name}
        if ref.stage:
            params["VersionStage"] = ref.stage
        if ref.version_id:
            params["VersionId"] = ref.version_id
        try:
            out = await self._call("secretsmanager", "GetSecretValue", params)
        except ServiceError as exc:
            raise ResourceFailure(_reason("secretsmanager", "GetSecretValue", exc)) from None
        text = out.get("SecretString")
        if text is None:
            raise ResourceFailure(f"Secret {ref.name} has no SecretString: dynamic references read SecretString only.")
        if ref.json_key is None:
            return str(text)
        self.secrets.add(str(text))
        try:
            document = json.loads(text)
        except ValueError:
            raise ResourceFailure("Could not parse SecretString JSON") from None
        if not isinstance(document, dict) or ref.json_key not in document:
            raise ResourceFailure("Could not find a value associated with JSONKey in SecretString")
        value = document[ref.json_key]
        return value if isinstance(value, str) else json.dumps(value)
