"""Lambda operations: functions, code, configuration, versions, aliases, resource policies, tags,
and invocations (synchronous, asynchronous with retries, dry runs).

Functions run Python handlers in warm worker processes (:mod:`seedbed.runtime.lambda_.pool`) with
the function's role credentials and ``AWS_ENDPOINT_URL`` pointing back at Seedbed. Only Python
runtimes run locally (any ``python3.x`` maps to this interpreter); other runtimes and container
images are refused at creation with a message that says so. Layers are recorded, not fetched.
Output goes to CloudWatch Logs (``/aws/lambda/<name>``) with the START/END/REPORT lines AWS writes.

Other services invoke functions through :meth:`LambdaProvider.invoke_for_service`, which enforces
the function's resource policy for the calling service principal, as Lambda does.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import logging
import math
import os
import random
import re
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from seedbed.errors import ServiceError
from seedbed.iam.resources import ResourcePolicy
from seedbed.runtime import credentials
from seedbed.runtime.lambda_ import packages
from seedbed.runtime.lambda_.pool import WORKER_SCRIPT, FunctionSpec, InvokeResult, Pool
from seedbed.runtime.logsink import LogStream
from seedbed.server.context import Principal, RequestContext
from seedbed.services.awslambda import names, policy, store
from seedbed.services.awslambda.code import CodeStore, fetch_from_s3
from seedbed.services.awslambda.errors import (
    AccessDeniedException,
    InvalidParameterValue,
    InvalidRequestContent,
    RequestTooLarge,
    ResourceConflict,
    ResourceNotFound,
    function_not_found,
    precondition,
)
from seedbed.services.base import Provider
from seedbed.state import ids

log = logging.getLogger(__name__)

SERVICE_PRINCIPAL = "lambda.amazonaws.com"
SYNC_PAYLOAD_LIMIT = 6_291_456
ASYNC_PAYLOAD_LIMIT = 1_048_576
TAIL_BYTES = 4096
MAX_TAGS = 50
#: AWS retries a failed asynchronous invocation twice, about one and then two minutes later.
DEFAULT_RETRY_DELAYS = (60.0, 120.0)
#: How long the invoke path trusts what it read (another replica's change shows within this).
CACHE_SECONDS = 1.0
DEPRECATED_RUNTIMES = frozenset({"python2.7", "python3.6", "python3.7"})
_PYTHON = re.compile(r"^python3\.\d+$")
RESERVED_VARIABLES = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})
#: Configuration members a published version copies from $LATEST (and compares, to decide
#: whether anything changed since the last version).
PUBLISHED = ("Runtime", "Role", "Handler", "Timeout", "MemorySize", "Environment", "Layers", "CodeSha256",
             "TracingConfig", "Architectures", "EphemeralStorage", "LoggingConfig", "DeadLetterConfig", "KMSKeyArn")


def _retry_delays() -> tuple[float, ...]:
    """``SEEDBED_LAMBDA_ASYNC_RETRY_DELAYS`` (seconds, comma-separated) shortens AWS's waits
    between retries of asynchronous invocations, e.g. for tests."""
    text = os.environ.get("SEEDBED_LAMBDA_ASYNC_RETRY_DELAYS")
    if not text:
        return DEFAULT_RETRY_DELAYS
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        return DEFAULT_RETRY_DELAYS


def _caller(ctx: RequestContext) -> Principal:
    if ctx.principal is None:
        raise ServiceError("Missing Authentication Token", code="MissingAuthenticationToken", status=403)
    return ctx.principal


def _last_modified() -> str:
    """AWS's format: ``2024-05-01T12:00:00.000+0000``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _revision() -> str:
    return str(uuid.uuid4())


def _sha(data: bytes) -> tuple[str, str]:
    digest = hashlib.sha256(data).digest()
    return base64.b64encode(digest).decode(), digest.hex()


class LambdaProvider(Provider):
    service = "lambda"

    def __init__(self, backend: Any) -> None:
        super().__init__(backend)
        self.root = Path(backend.settings.data_dir) / "lambda"
        self.code = CodeStore(backend)
        self.pool = Pool(max_per_key=int(os.environ.get("SEEDBED_LAMBDA_MAX_CONCURRENCY", "4")))
        self.retry_delays = _retry_delays()
        self._started = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._specs: dict[str, FunctionSpec] = {}
        self._streams: dict[tuple[str, str, str, str], LogStream] = {}
        self._log_queue: list[tuple[tuple[str, str, str, str], list[str]]] = []
        self._log_task: asyncio.Task[None] | None = None
        self._cache: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._preparing: dict[tuple[str, str, str, str], asyncio.Task[None]] = {}

    def close(self) -> None:
        self.pool.close()
        for task in list(self._tasks):
            task.cancel()

    # -- plumbing ---------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _start(self) -> None:
        """On first use: pick up queued asynchronous invocations and code still being prepared
        when Seedbed last stopped."""
        if self._started:
            return
        self._started = True
        with self.backend.db.connect() as conn:
            events = store.queued(conn)
            pending = store.pending_versions(conn)
        for event in events:
            self._spawn(self._run_event(event.request_id))
        for version in pending:
            self._spawn(self._prepare(version.account_id, version.region, version.name, version.version))

    @contextlib.contextmanager
    def _write(self) -> Iterator[Any]:
        """A write transaction; afterwards this process forgets what it cached."""
        try:
            with self.backend.db.begin() as conn:
                yield conn
        finally:
            self._cache.clear()

    def _cached(self, key: tuple[str, ...], load: Any) -> Any:
        """Reads on the invoke path (function, version, alias, resource policy), kept for
        ``CACHE_SECONDS``: writes in this process clear them at once, other replicas' within that."""
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now + CACHE_SECONDS, value)
        return value

    def _resolve(self, ref: names.FunctionRef) -> store.Version:
        """The version an invocation runs (through the cache), following an alias's routing."""
        key = (ref.account, ref.region, ref.name)

        def load(kind: str, name: str) -> Any:
            with self.backend.db.connect() as conn:
                if kind == "function":
                    return store.get_function(conn, *key)
                if kind == "alias":
                    return store.get_alias(conn, *key, name)
                return store.get_version(conn, *key, name)

        if self._cached(("function", *key), lambda: load("function", "")) is None:
            raise function_not_found(ref.arn)
        qualifier = ref.qualifier or names.LATEST
        version = qualifier
        if qualifier != names.LATEST and not qualifier.isdigit():
            alias = self._cached(("alias", *key, qualifier), lambda: load("alias", qualifier))
            if alias is None:
                raise function_not_found(ref.qualified_arn)
            version = _route(alias)
        row = self._cached(("version", *key, version), lambda: load("version", version))
        if row is None:
            raise function_not_found(ref.qualified_arn)
        return row  # type: ignore[no-any-return]

    def _ref(self, ctx: RequestContext, text: str, qualifier: str | None = None) -> names.FunctionRef:
        return names.parse(text, _caller(ctx).account_id, ctx.region, qualifier)

    def _function(self, conn: Any, ref: names.FunctionRef) -> store.Function:
        found = store.get_function(conn, ref.account, ref.region, ref.name)
        if found is None:
            raise function_not_found(ref.arn)
        return found

    def _version(self, conn: Any, ref: names.FunctionRef, qualifier: str | None = None) -> tuple[store.Version, str | None]:
        """The version a reference names (following an alias), and the alias if one was named."""
        qualifier = qualifier if qualifier is not None else ref.qualifier
        self._function(conn, ref)
        alias = None
        version_name = qualifier or names.LATEST
        if qualifier and qualifier != names.LATEST and not qualifier.isdigit():
            found_alias = store.get_alias(conn, ref.account, ref.region, ref.name, qualifier)
            if found_alias is None:
                raise function_not_found(names.function_arn(ref.account, ref.region, ref.name, qualifier))
            alias = qualifier
            version_name = _route(found_alias)
        row = store.get_version(conn, ref.account, ref.region, ref.name, version_name)
        if row is None:
            raise function_not_found(names.function_arn(ref.account, ref.region, ref.name, qualifier))
        return row, alias

    def _config(self, row: store.Version, qualified: bool = False) -> dict[str, Any]:
        out = {k: v for k, v in row.config.items() if not k.startswith("_")}
        out["FunctionName"] = row.name
        arn_qualifier = row.version if (qualified or row.version != names.LATEST) else None
        out["FunctionArn"] = names.function_arn(row.account_id, row.region, row.name, arn_qualifier)
        out["Version"] = row.version
        return out

    def _check_role(self, ctx: RequestContext, role: str, function_arn: str) -> None:
        authorizer = self.backend.authorizer
        authorizer.check_pass_role(ctx, role, SERVICE_PRINCIPAL, function_arn)
        if authorizer.mode == "off":
            return
        if not role.startswith("arn:aws:iam::") or ":role/" not in role:
            raise InvalidParameterValue("The role defined for the function cannot be assumed by Lambda.")
        decision = authorizer.service_can_assume(role, SERVICE_PRINCIPAL)
        if not decision.allowed and authorizer.mode == "enforce":
            raise InvalidParameterValue("The role defined for the function cannot be assumed by Lambda.")

    # -- what IAM asks (seedbed.iam.resources) ----------------------------------------------------

    def resource_policy(self, ctx: RequestContext, resource_arn: str) -> ResourcePolicy | None:
        """A function's resource policy (for its unqualified ARN, or the version/alias named)."""
        ref = names.parse_arn(resource_arn)
        if ref is None:
            return None

        def load() -> ResourcePolicy | None:
            with self.backend.db.connect() as conn:
                if store.get_function(conn, ref.account, ref.region, ref.name) is None:
                    return None
                found = store.get_policy(conn, ref.account, ref.region, ref.name, ref.qualifier or "")
            return ResourcePolicy(ref.account, found.document if found else None)

        return self._cached(("policy", resource_arn), load)  # type: ignore[no-any-return]

    def resource_condition_keys(self, ctx: RequestContext, resource_arn: str, key: str) -> tuple[str, ...] | None:
        if not key.startswith("aws:resourcetag/"):
            return None
        ref = names.parse_arn(resource_arn)
        if ref is None:
            return None
        with self.backend.db.connect() as conn:
            found = store.get_function(conn, ref.account, ref.region, ref.name)
        if found is None:
            return None
        wanted = key.split("/", 1)[1]
        return next(((v,) for k, v in found.tags.items() if k.lower() == wanted), None)

    # -- creating and changing functions ----------------------------------------------------------

    async def _package(self, ctx: RequestContext, code: dict[str, Any]) -> bytes:
        if code.get("ImageUri"):
            raise InvalidParameterValue(
                "Seedbed runs zip-packaged Python functions only: container images (ImageUri, PackageType Image) "
                "cannot run locally."
            )
        if code.get("ZipFile") is not None:
            data = code["ZipFile"]
            if isinstance(data, str):
                data = data.encode()
        elif code.get("S3Bucket") and code.get("S3Key"):
            data = await fetch_from_s3(self.backend, ctx.principal, ctx.region, code)
        else:
            raise InvalidParameterValue("Please provide a source for function code.")
        try:
            await asyncio.to_thread(packages.check_zip, data)
        except packages.PackageError as exc:
            raise InvalidParameterValue(exc.message) from None
        return bytes(data)

    async def _store_code(self, account: str, region: str, name: str, data: bytes) -> tuple[str, str, str]:
        sha_b64, code_hex = _sha(data)
        key = CodeStore.key(account, name, code_hex)
        await self.code.put(region, key, data)
        await asyncio.to_thread(packages.unpack, data, self.root, code_hex)
        return sha_b64, code_hex, key

    def _needs_install(self, code_hex: str) -> list[str]:
        return packages.unmet_requirements(self.root / "code" / code_hex)

    async def create_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._start()
        caller = _caller(ctx)
        ref = names.parse(params["FunctionName"], caller.account_id, ctx.region)
        if ref.qualifier:
            raise InvalidParameterValue("Function name cannot contain a qualifier when creating a function.")
        if ref.account != caller.account_id:
            raise AccessDeniedException("Functions can only be created in the caller's account.")
        if not names.NAME.match(ref.name):
            raise InvalidParameterValue(f"Function name {ref.name} is not valid.")
        package_type = params.get("PackageType") or "Zip"
        if package_type == "Image":
            raise InvalidParameterValue(
                "Seedbed runs zip-packaged Python functions only: container image functions (PackageType Image) "
                "cannot run locally."
            )
        runtime, handler = params.get("Runtime"), params.get("Handler")
        if not runtime or not handler:
            raise InvalidParameterValue(
                "Runtime and Handler are mandatory parameters for functions created with deployment packages."
            )
        _check_runtime(runtime)
        _check_environment(params.get("Environment"))
        tags = dict(params.get("Tags") or {})
        if len(tags) > MAX_TAGS:
            raise InvalidParameterValue(f"Number of tags exceeds resource tag limit of {MAX_TAGS}.")
        with self.backend.db.connect() as conn:
            if store.get_function(conn, ref.account, ref.region, ref.name) is not None:
                raise ResourceConflict(f"Function already exist: {ref.name}")
        self._check_role(ctx, params["Role"], ref.arn)
        data = await self._package(ctx, params["Code"])
        sha_b64, code_hex, key = await self._store_code(ref.account, ref.region, ref.name, data)
        unmet = await asyncio.to_thread(self._needs_install, code_hex)
        config = {
            "Runtime": runtime,
            "Role": params["Role"],
            "Handler": handler,
            "CodeSize": len(data),
            "Description": params.get("Description") or "",
            "Timeout": params.get("Timeout") or 3,
            "MemorySize": params.get("MemorySize") or 128,
            "LastModified": _last_modified(),
            "CodeSha256": sha_b64,
            "TracingConfig": {"Mode": (params.get("TracingConfig") or {}).get("Mode") or "PassThrough"},
            "RevisionId": _revision(),
            "PackageType": "Zip",
            "Architectures": params.get("Architectures") or ["x86_64"],
            "EphemeralStorage": {"Size": (params.get("EphemeralStorage") or {}).get("Size") or 512},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": _logging_config(params.get("LoggingConfig"), ref.name),
            "RuntimeVersionConfig": {"RuntimeVersionArn": f"arn:aws:lambda:{ref.region}::runtime:seedbed-local-python"},
        }
        if params.get("Environment") is not None:
            config["Environment"] = {"Variables": dict((params["Environment"] or {}).get("Variables") or {})}
        if params.get("Layers"):
            config["Layers"] = [{"Arn": arn, "CodeSize": 0} for arn in params["Layers"]]
        for member in ("DeadLetterConfig", "KMSKeyArn"):
            if params.get(member):
                config[member] = params[member]
        if params.get("VpcConfig"):
            config["VpcConfig"] = {"SubnetIds": params["VpcConfig"].get("SubnetIds") or [],
                                   "SecurityGroupIds": params["VpcConfig"].get("SecurityGroupIds") or [], "VpcId": ""}
        _set_state(config, "Pending" if unmet else "Active", creating=True)
        try:
            with self._write() as conn:
                store.insert_function(conn, ref.account, ref.region, ref.name, tags)
                store.put_version(conn, ref.account, ref.region, ref.name, names.LATEST, 0, config, key, code_hex)
        except IntegrityError:
            raise ResourceConflict(f"Function already exist: {ref.name}") from None
        ctx.resources.append(ref.arn)
        if unmet:
            self._schedule_prepare(ref.account, ref.region, ref.name, names.LATEST)
        with self.backend.db.connect() as conn:
            row = store.get_version(conn, ref.account, ref.region, ref.name, names.LATEST)
        assert row is not None
        out = self._config(row)
        if params.get("Publish") and not unmet:
            published = await self._publish(ref, None, None, None)
            out = self._config(published)
            out["FunctionArn"] = names.function_arn(ref.account, ref.region, ref.name, published.version)
        return out

    def _schedule_prepare(self, account: str, region: str, name: str, version: str) -> None:
        key = (account, region, name, version)
        current = self._preparing.get(key)
        if current is not None and not current.done():
            current.cancel()
        self._preparing[key] = self._spawn(self._prepare(account, region, name, version))

    async def _prepare(self, account: str, region: str, name: str, version: str) -> None:
        """Install what requirements.txt asks for, then make the version Active (or Failed)."""
        with self.backend.db.connect() as conn:
            row = store.get_version(conn, account, region, name, version)
        if row is None:
            return
        try:
            code_dir = await self._code_dir(row)
            unmet = await asyncio.to_thread(packages.unmet_requirements, code_dir)
            deps = str(await asyncio.to_thread(packages.install, unmet, self.root)) if unmet else None
            error = None
        except packages.PackageError as exc:
            deps, error = None, exc.message
        except ServiceError as exc:
            deps, error = None, exc.message
        config = dict(row.config)
        config["_deps"] = deps
        if error is None:
            _set_state(config, "Active")
        else:
            log.warning("lambda function %s:%s failed to prepare: %s", name, version, error)
            _set_state(config, "Failed", reason=error, code="DependencyError")
        with self._write() as conn:
            store.update_version(conn, account, region, name, version, config)

    async def _code_dir(self, row: store.Version) -> Path:
        target = self.root / "code" / row.code_hex
        if target.is_dir():
            return target
        data = await self.code.get(row.region, row.code_key)
        return await asyncio.to_thread(packages.unpack, data, self.root, row.code_hex)

    async def update_function_code(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._start()
        ref = self._ref(ctx, params["FunctionName"])
        with self.backend.db.connect() as conn:
            row, _ = self._version(conn, ref, names.LATEST)
        _check_revision(row, params.get("RevisionId"))
        _check_not_busy(row)
        data = await self._package(ctx, {k: params.get(k) for k in ("ZipFile", "S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri")})
        if params.get("DryRun"):
            out = self._config(row)
            out["CodeSha256"], out["CodeSize"] = _sha(data)[0], len(data)
            return out
        sha_b64, code_hex, key = await self._store_code(ref.account, ref.region, ref.name, data)
        unmet = await asyncio.to_thread(self._needs_install, code_hex)
        config = dict(row.config)
        config.update(CodeSha256=sha_b64, CodeSize=len(data), LastModified=_last_modified(), RevisionId=_revision())
        config["_deps"] = None
        if params.get("Architectures"):
            config["Architectures"] = params["Architectures"]
        _set_state(config, "Active", updating=bool(unmet))
        with self._write() as conn:
            store.update_version(conn, ref.account, ref.region, ref.name, names.LATEST, config, key, code_hex)
            row = store.get_version(conn, ref.account, ref.region, ref.name, names.LATEST)
        assert row is not None
        self._forget(ref)
        if unmet:
            self._schedule_prepare(ref.account, ref.region, ref.name, names.LATEST)
        if params.get("Publish") and not unmet:
            return self._config(await self._publish(ref, None, None, None))
        return self._config(row)

    async def update_function_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._start()
        ref = self._ref(ctx, params["FunctionName"])
        with self.backend.db.connect() as conn:
            row, _ = self._version(conn, ref, names.LATEST)
        _check_revision(row, params.get("RevisionId"))
        _check_not_busy(row)
        config = dict(row.config)
        if params.get("Role") and params["Role"] != config.get("Role"):
            self._check_role(ctx, params["Role"], ref.arn)
            config["Role"] = params["Role"]
        if params.get("Runtime"):
            _check_runtime(params["Runtime"])
            config["Runtime"] = params["Runtime"]
        for member in ("Handler", "Description", "Timeout", "MemorySize", "DeadLetterConfig", "KMSKeyArn"):
            if params.get(member) is not None:
                config[member] = params[member]
        if params.get("Environment") is not None:
            _check_environment(params["Environment"])
            config["Environment"] = {"Variables": dict((params["Environment"] or {}).get("Variables") or {})}
        if params.get("Layers") is not None:
            config["Layers"] = [{"Arn": arn, "CodeSize": 0} for arn in params["Layers"]]
            if not config["Layers"]:
                config.pop("Layers")
        if params.get("TracingConfig"):
            config["TracingConfig"] = {"Mode": params["TracingConfig"].get("Mode") or "PassThrough"}
        if params.get("EphemeralStorage"):
            config["EphemeralStorage"] = {"Size": params["EphemeralStorage"]["Size"]}
        if params.get("LoggingConfig"):
            merged = dict(config.get("LoggingConfig") or {})
            merged.update(params["LoggingConfig"])
            config["LoggingConfig"] = _logging_config(merged, ref.name)
        config.update(LastModified=_last_modified(), RevisionId=_revision())
        _set_state(config, config.get("State") or "Active")
        with self._write() as conn:
            store.update_version(conn, ref.account, ref.region, ref.name, names.LATEST, config)
            row = store.get_version(conn, ref.account, ref.region, ref.name, names.LATEST)
        assert row is not None
        self._forget(ref)
        return self._config(row)

    def _forget(self, ref: names.FunctionRef, everything: bool = False) -> None:
        """Stop warm workers of $LATEST's old configuration (of every version, when the function
        is gone); published versions never change, so their workers stay."""
        function_id = f"{ref.account}/{ref.region}/{ref.name}/"
        prefix = function_id if everything else f"{function_id}{names.LATEST}/"
        for key in [k for k in self._specs if k.startswith(prefix)]:
            self._specs.pop(key, None)
        self.pool.retire(function_id, None if everything else names.LATEST)

    async def delete_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params["FunctionName"], params.get("Qualifier"))
        with self.backend.db.connect() as conn:
            self._function(conn, ref)
            rows = store.list_versions(conn, ref.account, ref.region, ref.name)
            aliases = store.list_aliases(conn, ref.account, ref.region, ref.name)
        if ref.qualifier:
            if ref.qualifier == names.LATEST:
                raise InvalidParameterValue("$LATEST version cannot be deleted without deleting the function.")
            if not ref.qualifier.isdigit():
                raise InvalidParameterValue("Deletion of aliases is not supported by DeleteFunction. Use DeleteAlias.")
            row = next((r for r in rows if r.version == ref.qualifier), None)
            if row is None:
                raise function_not_found(ref.qualified_arn)
            users = [a.alias for a in aliases if a.function_version == ref.qualifier
                     or ref.qualifier in ((a.routing or {}).get("AdditionalVersionWeights") or {})]
            if users:
                raise ResourceConflict(
                    f"Unable to delete version because the following aliases reference it: {users}"
                )
            with self._write() as conn:
                store.delete_version(conn, ref.account, ref.region, ref.name, ref.qualifier)
            if not any(r.code_key == row.code_key for r in rows if r.version != ref.qualifier):
                await self.code.delete(ref.region, row.code_key)
            self.pool.retire(f"{ref.account}/{ref.region}/{ref.name}/", ref.qualifier)
            return {"StatusCode": 204}
        with self._write() as conn:
            store.delete_function(conn, ref.account, ref.region, ref.name)
        self._forget(ref, everything=True)
        for key in {r.code_key for r in rows}:
            await self.code.delete(ref.region, key)
        return {"StatusCode": 204}

    # -- reading ----------------------------------------------------------------------------------

    def get_function_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params["FunctionName"], params.get("Qualifier"))
        with self.backend.db.connect() as conn:
            row, _ = self._version(conn, ref)
        out = self._config(row, qualified=bool(ref.qualifier))
        if ref.qualifier and not ref.qualifier.isdigit() and ref.qualifier != names.LATEST:
            out["FunctionArn"] = ref.qualified_arn
        return out

    def get_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params["FunctionName"], params.get("Qualifier"))
        with self.backend.db.connect() as conn:
            row, _ = self._version(conn, ref)
            function = self._function(conn, ref)
        out: dict[str, Any] = {
            "Configuration": self.get_function_configuration(ctx, params),
            "Code": {"RepositoryType": "S3", "Location": self.code.location(row.region, row.code_key)},
        }
        if function.tags:
            out["Tags"] = dict(function.tags)
        return out

    def list_functions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caller = _caller(ctx)
        limit = min(int(params.get("MaxItems") or 50), 10_000)
        all_versions = params.get("FunctionVersion") == "ALL"
        with self.backend.db.connect() as conn:
            rows = store.list_functions(conn, caller.account_id, ctx.region, _unmark(params.get("Marker")), limit + 1, all_versions)
        out: dict[str, Any] = {"Functions": [self._config(r, qualified=all_versions) for r in rows[:limit]]}
        if len(rows) > limit:
            last = rows[limit - 1]
            out["NextMarker"] = _mark(f"{last.name}:{last.number}" if all_versions else last.name)
        return out

    def list_versions_by_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params["FunctionName"])
        limit = min(int(params.get("MaxItems") or 50), 10_000)
        start = int(_unmark(params.get("Marker")) or 0)
        with self.backend.db.connect() as conn:
            self._function(conn, ref)
            rows = store.list_versions(conn, ref.account, ref.region, ref.name)
        page = rows[start:start + limit]
        out: dict[str, Any] = {"Versions": [self._config(r, qualified=True) for r in page]}
        if start + limit < len(rows):
            out["NextMarker"] = _mark(str(start + limit))
        return out

    # -- versions ---------------------------------------------------------------------------------

    async def publish_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params["FunctionName"])
        if ref.qualifier:
            raise InvalidParameterValue("PublishVersion does not take a qualified function name.")
        row = await self._publish(ref, params.get("CodeSha256"), params.get("Description"), params.get("RevisionId"))
        return self._config(row)

    async def _publish(self, ref: names.FunctionRef, code_sha: str | None, description: str | None,
                       revision_id: str | None) -> store.Version:
        with self._write() as conn:
            latest, _ = self._version(conn, ref, names.LATEST)
            _check_revision(latest, revision_id)
            if latest.config.get("State") != "Active" or latest.config.get("LastUpdateStatus") == "InProgress":
                raise ResourceConflict(
                    f"The operation cannot be performed at this time. An update is in progress for resource: {ref.arn}"
                )
            if code_sha and code_sha != latest.config.get("CodeSha256"):
                raise InvalidParameterValue(
                    f"CodeSHA256 ({code_sha}) is different from current CodeSHA256 in $LATEST "
                    f"({latest.config.get('CodeSha256')}). Please try again with the CodeSHA256 in $LATEST."
                )
            versions = store.list_versions(conn, ref.account, ref.region, ref.name)
            newest = versions[-1] if len(versions) > 1 else None
            if newest is not None and all(newest.config.get(k) == latest.config.get(k) for k in PUBLISHED) \
                    and description in (None, newest.config.get("Description")):
                return newest
            number = store.next_version(conn, ref.account, ref.region, ref.name)
            config = dict(latest.config)
            config.update(RevisionId=_revision(), LastModified=_last_modified())
            if description is not None:
                config["Description"] = description
            store.put_version(conn, ref.account, ref.region, ref.name, str(number), number, config,
                              latest.code_key, latest.code_hex)
            row = store.get_version(conn, ref.account, ref.region, ref.name, str(number))
        assert row is not None
        return row

    # -- aliases ----------------------------------------------------------------------------------

    def _alias_out(self, alias: store.Alias) -> dict[str, Any]:
        out: dict[str, Any] = {
            "AliasArn": names.function_arn(alias.account_id, alias.region, alias.name, alias.alias),
            "Name": alias.alias,
            "FunctionVersion": alias.function_version,
            "Description": alias.description,
            "RevisionId": alias.revision_id,
        }
        if alias.routing:
            out["RoutingConfig"] = alias.routing
        return out

    def _check_alias_target(self, conn: Any, ref: names.FunctionRef, version: str, routing: dict[str, Any] | None) -> None:
        for candidate in [version, *((routing or {}).get("AdditionalVersionWeights") or {})]:
            if store.get_version(conn, ref.account, ref.region, ref.name, candidate) is None:
                raise ResourceNotFound(f"Function not found: {names.function_arn(ref.account, ref.region, ref.name, candidate)}")
        weights = (routing or {}).get("AdditionalVersionWeights") or {}
        if weights:
            if len(weights) > 1 or version == names.LATEST or any(v == names.LATEST for v in weights):
                raise InvalidParameterValue("Alias routing is supported between two published versions only.")
            if version in weights:
                raise InvalidParameterValue("Primary version of an alias cannot be in the additional version weights.")
            if any(not 0.0 <= w <= 1.0 for w in weights.values()):
                raise InvalidParameterValue("Additional version weights must be between 0.0 and 1.0.")

    def create_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params["FunctionName"])
        names.check_alias_name(params["Name"])
        routing = params.get("RoutingConfig") or None
        with self._write() as conn:
            self._function(conn, ref)
            self._check_alias_target(conn, ref, params["FunctionVersion"], routing)
            if store.get_alias(conn, ref.account, ref.region, ref.name, params["Name"]) is not None:
                raise ResourceConflict(f"Alias already exists: {names.function_arn(ref.account, ref.region, ref.name, params['Name'])}")
            alias = store.Alias(ref.account, ref.region, ref.name, params["Name"], params["FunctionVersion"],
                                params.get("Description") or "", routing if routing and routing.get("AdditionalVersionWeights") else None,
                                _revision())
            store.put_alias(conn, alias)
        return self._alias_out(alias)

    def _get_alias(self, conn: Any, ref: names.FunctionRef, name: str) -> store.Alias:
        self._function(conn, ref)
        alias = store.get_alias(conn, ref.account, ref.region, ref.name, name)
        if alias is None:
            raise ResourceNotFound(f"Cannot find alias arn: {names.function_arn(ref.account, ref.region, ref.name, name)}")
        return alias

    def get_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params["FunctionName"])
        with self.backend.db.connect() as conn:
            return self._alias_out(self._get_alias(conn, ref, params["Name"]))

    def update_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params["FunctionName"])
        with self._write() as conn:
            alias = self._get_alias(conn, ref, params["Name"])
            if params.get("RevisionId") and params["RevisionId"] != alias.revision_id:
                raise precondition()
            version = params.get("FunctionVersion") or alias.function_version
            routing = params.get("RoutingConfig", alias.routing)
            if routing is not None and not routing.get("AdditionalVersionWeights"):
                routing = None
            self._check_alias_target(conn, ref, version, routing)
            description = params["Description"] if params.get("Description") is not None else alias.description
            alias = store.Alias(alias.account_id, alias.region, alias.name, alias.alias, version, description, routing, _revision())
            store.update_alias(conn, alias)
        return self._alias_out(alias)

    def delete_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params["FunctionName"])
        with self._write() as conn:
            self._function(conn, ref)
            store.delete_alias(conn, ref.account, ref.region, ref.name, params["Name"])
        return {}

    def list_aliases(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params["FunctionName"])
        limit = min(int(params.get("MaxItems") or 50), 10_000)
        start = int(_unmark(params.get("Marker")) or 0)
        with self.backend.db.connect() as conn:
            self._function(conn, ref)
            found = store.list_aliases(conn, ref.account, ref.region, ref.name)
        if params.get("FunctionVersion"):
            found = [a for a in found if a.function_version == params["FunctionVersion"]]
        out: dict[str, Any] = {"Aliases": [self._alias_out(a) for a in found[start:start + limit]]}
        if start + limit < len(found):
            out["NextMarker"] = _mark(str(start + limit))
        return out

    # -- resource policies ------------------------------------------------------------------------

    def _policy_target(self, conn: Any, ref: names.FunctionRef) -> str:
        """The qualifier a policy belongs to ("" unqualified), after checking it exists."""
        qualifier = ref.qualifier or ""
        self._function(conn, ref)
        if qualifier and qualifier != names.LATEST:
            if qualifier.isdigit():
                exists = store.get_version(conn, ref.account, ref.region, ref.name, qualifier) is not None
            else:
                exists = store.get_alias(conn, ref.account, ref.region, ref.name, qualifier) is not None
            if not exists:
                raise function_not_found(ref.qualified_arn)
        return qualifier

    def add_permission(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params["FunctionName"], params.get("Qualifier"))
        new = policy.statement(params, ref.qualified_arn if ref.qualifier else ref.arn)
        with self._write() as conn:
            qualifier = self._policy_target(conn, ref)
            current = store.get_policy(conn, ref.account, ref.region, ref.name, qualifier)
            if params.get("RevisionId") and (current is None or current.revision_id != params["RevisionId"]):
                raise precondition()
            if params["StatementId"] in policy.sids(current.document if current else None):
                raise ResourceConflict(
                    f"The statement id ({params['StatementId']}) provided already exists. Please provide a new "
                    "statement id, or remove the existing statement."
                )
            document = policy.add(current.document if current else None, new)
            store.put_policy(conn, ref.account, ref.region, ref.name, qualifier, document, _revision())
        return {"Statement": json.dumps(new, separators=(",", ":"))}

    def remove_permission(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params["FunctionName"], params.get("Qualifier"))
        with self._write() as conn:
            qualifier = self._policy_target(conn, ref)
            current = store.get_policy(conn, ref.account, ref.region, ref.name, qualifier)
            if current is None:
                raise ResourceNotFound("No policy is associated with the given resource.")
            if params.get("RevisionId") and current.revision_id != params["RevisionId"]:
                raise precondition()
            if params["StatementId"] not in policy.sids(current.document):
                raise ResourceNotFound(f"Statement {params['StatementId']} is not found in resource policy.")
            document = policy.remove(current.document, params["StatementId"])
            if document is None:
                store.delete_policy(conn, ref.account, ref.region, ref.name, qualifier)
            else:
                store.put_policy(conn, ref.account, ref.region, ref.name, qualifier, document, _revision())
        return {}

    def get_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._ref(ctx, params["FunctionName"], params.get("Qualifier"))
        with self.backend.db.connect() as conn:
            qualifier = self._policy_target(conn, ref)
            current = store.get_policy(conn, ref.account, ref.region, ref.name, qualifier)
        if current is None:
            raise ResourceNotFound("The resource you requested does not exist.")
        return {"Policy": current.document, "RevisionId": current.revision_id}

    # -- tags -------------------------------------------------------------------------------------

    def _tagged(self, conn: Any, ctx: RequestContext, resource: str) -> names.FunctionRef:
        ref = names.parse_arn(resource)
        if ref is None:
            raise InvalidParameterValue(f"Resource {resource} is not a valid Lambda function ARN.")
        if ref.qualifier:
            raise InvalidParameterValue("Tags are not supported on function versions or aliases: use the function's ARN.")
        self._function(conn, ref)
        return ref

    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self._write() as conn:
            ref = self._tagged(conn, ctx, params["Resource"])
            function = self._function(conn, ref)
            tags = dict(function.tags)
            tags.update(params.get("Tags") or {})
            if len(tags) > MAX_TAGS:
                raise InvalidParameterValue(f"Number of tags exceeds resource tag limit of {MAX_TAGS}.")
            store.set_tags(conn, ref.account, ref.region, ref.name, tags)
        return {}

    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self._write() as conn:
            ref = self._tagged(conn, ctx, params["Resource"])
            function = self._function(conn, ref)
            tags = {k: v for k, v in function.tags.items() if k not in set(params.get("TagKeys") or [])}
            store.set_tags(conn, ref.account, ref.region, ref.name, tags)
        return {}

    def list_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            ref = self._tagged(conn, ctx, params["Resource"])
            return {"Tags": dict(self._function(conn, ref).tags)}

    # -- invoking ---------------------------------------------------------------------------------

    async def invoke(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._start()
        ref = self._ref(ctx, params["FunctionName"], params.get("Qualifier"))
        invocation_type = params.get("InvocationType") or "RequestResponse"
        payload = _payload(params.get("Payload"))
        ctx.resources.append(ref.qualified_arn if ref.qualifier else ref.arn)
        if invocation_type == "Event":
            return await self._accept_event(ref, payload)
        row = self._resolve(ref)
        _check_invocable(row)
        if invocation_type == "DryRun":
            return {"StatusCode": 204}
        return await self._invoke_sync(ref, row, payload, tail=params.get("LogType") == "Tail",
                                       client_context=_client_context(params.get("ClientContext")))

    async def invoke_async(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._start()
        ref = self._ref(ctx, params["FunctionName"])
        body = params.get("InvokeArgs")
        data = await _read(body)
        await self._accept_event(ref, _payload(data))
        return {"Status": 202}

    async def invoke_for_service(
        self,
        account_id: str,
        region: str,
        function: str,
        payload: bytes,
        *,
        service_principal: str,
        source_arn: str | None = None,
        source_account: str | None = None,
        invocation_type: str = "Event",
    ) -> dict[str, Any]:
        """Invoke ``function`` on behalf of an AWS service (EventBridge, S3 notifications...): refused
        with AccessDeniedException unless the function's resource policy allows the service
        principal lambda:InvokeFunction for this source. Returns Invoke's output shape."""
        self._start()
        ref = names.parse(function, account_id, region)
        row = self._resolve(ref)
        resource = ref.qualified_arn if ref.qualifier else ref.arn
        found = self.resource_policy(None, resource)  # type: ignore[arg-type]
        mode = self.backend.authorizer.mode
        if mode != "off":
            decision = policy.service_may_invoke(found.document if found else None, resource, ref.account,
                                                 service_principal, source_arn, source_account)
            if not decision.allowed:
                message = (f"{service_principal} is not authorized to perform: lambda:InvokeFunction on resource: "
                           f"{resource} {decision.reason}")
                if mode == "enforce":
                    raise AccessDeniedException(message)
                log.warning("IAM audit: would deny: %s", message)
        payload = _payload(payload)
        if invocation_type == "Event":
            return await self._accept_event(ref, payload)
        _check_invocable(row)
        if invocation_type == "DryRun":
            return {"StatusCode": 204}
        return await self._invoke_sync(ref, row, payload, tail=False, client_context=None)

    async def _accept_event(self, ref: names.FunctionRef, payload: bytes) -> dict[str, Any]:
        if len(payload) > ASYNC_PAYLOAD_LIMIT:
            raise RequestTooLarge(f"Request must be smaller than {ASYNC_PAYLOAD_LIMIT} bytes for the InvokeAsync operation")
        self._resolve(ref)
        request_id = ids.request_id()
        with self._write() as conn:
            store.enqueue(conn, store.QueuedEvent(request_id, ref.account, ref.region, ref.name, ref.qualifier,
                                                  payload, 0, store.now()))
        self._spawn(self._run_event(request_id))
        return {"StatusCode": 202, "ResponseMetadata": {"HTTPHeaders": {"x-amzn-RequestId": request_id}}}

    async def _run_event(self, request_id: str) -> None:
        """Run one queued event until it succeeds or its retries are spent (AWS: two retries)."""
        while True:
            with self.backend.db.connect() as conn:
                event = next((e for e in store.queued(conn) if e.request_id == request_id), None)
            if event is None:
                return
            delay = (event.due - store.now()).total_seconds()
            if delay > 0:
                await asyncio.sleep(delay)
            with self._write() as conn:
                if not store.claim(conn, request_id, store.now() + timedelta(seconds=960)):
                    return
            ref = names.FunctionRef(event.account_id, event.region, event.name, event.qualifier)
            try:
                with self.backend.db.connect() as conn:
                    row, _ = self._version(conn, ref)
                _check_invocable(row)
                result = await self._execute(ref, row, event.payload, request_id, None)
                ok = result.ok
            except ServiceError as exc:
                log.warning("asynchronous invocation %s of %s dropped: %s", request_id, ref.arn, exc.message)
                ok = True  # nothing to retry against: the function is gone or not invocable
            except Exception:
                log.exception("asynchronous invocation %s of %s failed", request_id, ref.arn)
                ok = False
            attempt = event.attempts + 1
            if ok or attempt > len(self.retry_delays):
                with self._write() as conn:
                    store.dequeue(conn, request_id)
                return
            due = store.now() + timedelta(seconds=self.retry_delays[attempt - 1])
            with self._write() as conn:
                store.reschedule(conn, request_id, attempt, due)

    async def _invoke_sync(self, ref: names.FunctionRef, row: store.Version, payload: bytes, *, tail: bool,
                           client_context: Any) -> dict[str, Any]:
        if len(payload) > SYNC_PAYLOAD_LIMIT:
            raise RequestTooLarge(f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the Invoke operation")
        request_id = ids.request_id()
        result = await self._execute(ref, row, payload, request_id, client_context)
        out: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": row.version}
        if result.ok:
            body = result.payload or b"null"
            if len(body) > SYNC_PAYLOAD_LIMIT:
                out["FunctionError"] = "Unhandled"
                body = json.dumps({"errorMessage": f"Response payload size ({len(body)} bytes) exceeded maximum allowed "
                                                   f"payload size ({SYNC_PAYLOAD_LIMIT} bytes).",
                                   "errorType": "Function.ResponseSizeTooLarge"}).encode()
            out["Payload"] = body
        else:
            out["FunctionError"] = "Unhandled"
            out["Payload"] = json.dumps(result.error or {}).encode()
        if tail:
            text = "\n".join(self._log_events(row, request_id, result)) + "\n"
            out["LogResult"] = base64.b64encode(text.encode()[-TAIL_BYTES:]).decode()
        out["ResponseMetadata"] = {"HTTPHeaders": {"x-amzn-RequestId": request_id}}
        return out

    async def _execute(self, ref: names.FunctionRef, row: store.Version, payload: bytes, request_id: str,
                       client_context: Any) -> InvokeResult:
        spec = await self._spec(row)
        invoked = ref.qualified_arn if ref.qualifier else ref.arn
        try:
            result = await self.pool.invoke(spec, request_id, payload, invoked, client_context)
        except ServiceError as exc:  # the role could not be assumed
            raise ResourceConflict(
                f"Lambda was unable to assume the function's role {row.config.get('Role')}: {exc.message}"
            ) from None
        group = (row.config.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{row.name}"
        if result.log_stream:
            self._write_logs(row.account_id, row.region, group, result.log_stream, self._log_events(row, request_id, result))
        return result

    def _log_events(self, row: store.Version, request_id: str, result: InvokeResult) -> list[str]:
        events = _split(result.init_logs)
        events.append(f"START RequestId: {request_id} Version: {row.version}")
        events += _split(result.logs)
        if result.timed_out and result.error and result.error.get("errorType") == "Sandbox.Timedout":
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            events.append(f"{stamp} {request_id} Task timed out after {float(row.config.get('Timeout') or 3):.2f} seconds")
        events.append(f"END RequestId: {request_id}")
        report = (f"REPORT RequestId: {request_id}\tDuration: {result.duration_ms:.2f} ms\t"
                  f"Billed Duration: {max(1, math.ceil(result.duration_ms))} ms\t"
                  f"Memory Size: {row.config.get('MemorySize') or 128} MB\tMax Memory Used: {result.max_memory_mb} MB\t")
        if result.init_ms is not None:
            report += f"Init Duration: {result.init_ms:.2f} ms\t"
        events.append(report)
        return events

    async def _spec(self, row: store.Version) -> FunctionSpec:
        function_id = f"{row.account_id}/{row.region}/{row.name}/"
        key = f"{function_id}{row.version}/{row.config.get('RevisionId')}/{row.code_hex}"
        spec = self._specs.get(key)
        if spec is not None:
            return spec
        code_dir = await self._code_dir(row)
        cfg = row.config
        paths = [cfg["_deps"]] if cfg.get("_deps") else []
        group = (cfg.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{row.name}"
        backend = self.backend
        function_arn = names.function_arn(row.account_id, row.region, row.name)

        def environment(stream: str) -> dict[str, str]:
            session = credentials.assume_for_service(
                backend, cfg["Role"], SERVICE_PRINCIPAL, row.name,
                source_account=row.account_id, source_arn=function_arn,
            )
            env = {
                "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
                "LANG": "en_US.UTF-8",
                "TZ": ":UTC",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{cfg.get('Runtime')}",
                "AWS_LAMBDA_FUNCTION_NAME": row.name,
                "AWS_LAMBDA_FUNCTION_VERSION": row.version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(cfg.get("MemorySize") or 128),
                "AWS_LAMBDA_LOG_GROUP_NAME": group,
                "AWS_LAMBDA_LOG_STREAM_NAME": stream,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "LAMBDA_TASK_ROOT": str(code_dir),
                "LAMBDA_RUNTIME_DIR": str(WORKER_SCRIPT.parent),
                "_HANDLER": cfg["Handler"],
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "PYTHONDONTWRITEBYTECODE": "1",
            }
            for name in ("HOME", "TMPDIR", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
                if os.environ.get(name):
                    env[name] = os.environ[name]
            env.update(session.environment(backend, row.region))
            # Like a GitHub Actions runner: code that reads GITHUB_API_URL reaches the local GitHub
            # REST subset of the repositories behind connections (a function may override it).
            env["GITHUB_API_URL"] = f"{backend.settings.endpoint_url}/_seedbed/github/api/v3"
            env.update((cfg.get("Environment") or {}).get("Variables") or {})
            return env

        spec = FunctionSpec(
            key=key, function_id=function_id, version=row.version, task_root=code_dir, handler=cfg["Handler"],
            timeout=float(cfg.get("Timeout") or 3), memory_mb=int(cfg.get("MemorySize") or 128), paths=paths,
            environment=environment,
        )
        if len(self._specs) > 2000:
            self._specs.clear()
        self._specs[key] = spec
        return spec

    # -- logs -------------------------------------------------------------------------------------

    def _write_logs(self, account: str, region: str, group: str, stream: str, events: list[str]) -> None:
        self._log_queue.append(((account, region, group, stream), events))
        if self._log_task is None or self._log_task.done():
            self._log_task = self._spawn(self._flush_logs())

    async def _flush_logs(self) -> None:
        while self._log_queue:
            batch, self._log_queue = self._log_queue, []
            grouped: dict[tuple[str, str, str, str], list[str]] = {}
            for key, events in batch:
                grouped.setdefault(key, []).extend(events)
            for key, events in grouped.items():
                sink = self._streams.get(key)
                if sink is None:
                    if len(self._streams) > 1000:
                        self._streams.clear()
                    sink = self._streams[key] = LogStream(self.backend, *key)
                try:
                    await sink.write(events)
                except ServiceError as exc:
                    if exc.code not in ("NotImplemented", "UnknownOperationException"):
                        log.warning("could not write Lambda logs to %s: %s", key[2], exc.message)
                except Exception:
                    log.exception("could not write Lambda logs to %s", key[2])


# --- helpers ---------------------------------------------------------------------------------------


def _route(alias: store.Alias) -> str:
    weights = (alias.routing or {}).get("AdditionalVersionWeights") or {}
    if weights:
        roll = random.random()
        for version, weight in weights.items():
            if roll < weight:
                return str(version)
            roll -= weight
    return alias.function_version


def _check_runtime(runtime: str) -> None:
    if runtime in DEPRECATED_RUNTIMES:
        raise InvalidParameterValue(
            f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda "
            "functions. We recommend you use a supported runtime while creating or updating functions."
        )
    if not _PYTHON.match(runtime):
        raise InvalidParameterValue(
            f"Seedbed runs Python functions only: the runtime {runtime} cannot run locally. Use a python3.x "
            f"runtime (Seedbed runs them with Python {sys.version_info[0]}.{sys.version_info[1]})."
        )


def _check_environment(environment: dict[str, Any] | None) -> None:
    variables = (environment or {}).get("Variables") or {}
    reserved = sorted(k for k in variables if k in RESERVED_VARIABLES)
    if reserved:
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment variables you have "
            "provided contains reserved keys that are currently not supported for modification. Reserved keys used "
            f"in this request: {', '.join(reserved)}"
        )
    if len(json.dumps(variables).encode()) > 4096:
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment variables you have "
            "provided exceeded the 4KB limit."
        )


def _logging_config(given: dict[str, Any] | None, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {"LogFormat": (given or {}).get("LogFormat") or "Text",
                           "LogGroup": (given or {}).get("LogGroup") or f"/aws/lambda/{name}"}
    if out["LogFormat"] == "JSON":
        out["ApplicationLogLevel"] = (given or {}).get("ApplicationLogLevel") or "INFO"
        out["SystemLogLevel"] = (given or {}).get("SystemLogLevel") or "INFO"
    return out


def _set_state(config: dict[str, Any], state: str, *, reason: str | None = None, code: str | None = None,
               creating: bool = False, updating: bool = False) -> None:
    for member in ("StateReason", "StateReasonCode", "LastUpdateStatusReason", "LastUpdateStatusReasonCode"):
        config.pop(member, None)
    if updating:
        config["State"] = "Active"
        config["LastUpdateStatus"] = "InProgress"
        config["LastUpdateStatusReason"] = "The function is being created."
        config["LastUpdateStatusReasonCode"] = "Creating"
        return
    config["State"] = state
    if state == "Pending":
        config["StateReason"] = "The function is being created."
        config["StateReasonCode"] = "Creating"
        config["LastUpdateStatus"] = "InProgress"
        config["LastUpdateStatusReason"] = "The function is being created."
        config["LastUpdateStatusReasonCode"] = "Creating"
    elif state == "Failed":
        config["StateReason"] = reason or "The function could not be prepared."
        config["StateReasonCode"] = code or "InternalError"
        config["LastUpdateStatus"] = "Failed"
        config["LastUpdateStatusReason"] = config["StateReason"]
        config["LastUpdateStatusReasonCode"] = config["StateReasonCode"]
    else:
        config["LastUpdateStatus"] = "Successful"


def _check_revision(row: store.Version, revision_id: str | None) -> None:
    if revision_id and revision_id != row.config.get("RevisionId"):
        raise precondition()


def _check_not_busy(row: store.Version) -> None:
    if row.config.get("LastUpdateStatus") == "InProgress":
        raise ResourceConflict(
            "The operation cannot be performed at this time. An update is in progress for resource: "
            + names.function_arn(row.account_id, row.region, row.name)
        )


def _check_invocable(row: store.Version) -> None:
    state = row.config.get("State")
    if state == "Pending":
        raise ResourceConflict(
            "The operation cannot be performed at this time. The function is currently in the following state: Pending"
        )
    if state == "Failed":
        raise ResourceConflict(
            f"Lambda is unable to invoke the function because it is in the Failed state: {row.config.get('StateReason')}"
        )


def _payload(value: Any) -> bytes:
    if value is None:
        return b""
    data = value.encode() if isinstance(value, str) else bytes(value)
    if data.strip():
        try:
            json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidRequestContent(
                f"Could not parse request body into json: Could not parse payload into json: {exc}"
            ) from None
    return data


def _client_context(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(base64.b64decode(value))
    except (ValueError, binascii.Error):
        raise InvalidRequestContent("Client context must be a valid Base64-encoded JSON object.") from None


async def _read(body: Any) -> bytes:
    from seedbed.services.awslambda.code import read_body

    return await read_body(body)


def _split(text: str) -> list[str]:
    if not text:
        return []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.replace("\r", "\n") for line in lines]


def _mark(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _unmark(marker: str | None) -> str | None:
    if not marker:
        return None
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (ValueError, binascii.Error):
        raise InvalidParameterValue("Invalid Marker") from None

