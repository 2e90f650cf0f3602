"""The engine of one server: starts stack operations, resumes them after a crash, and holds what
operations share (acting principals, templates from S3, exports, outputs, custom resources).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse

from seedbed.cloudformation import intrinsics, template, timeouts
from seedbed.cloudformation.errors import CfnValidationError, ResourceFailure, TemplateError
from seedbed.errors import ServiceError
from seedbed.server.context import Principal
from seedbed.services.cloudformation import store
from seedbed.state import ids

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

log = logging.getLogger(__name__)

CLOUDFORMATION_SERVICE = "cloudformation.amazonaws.com"


def principal_to_json(principal: Principal | None) -> dict[str, Any] | None:
    if principal is None:
        return None
    values = dict(principal.__dict__)
    if isinstance(values.get("session_expiration"), datetime):
        values["session_expiration"] = values["session_expiration"].isoformat()
    return values


def principal_from_json(values: dict[str, Any] | None) -> Principal | None:
    if not values:
        return None
    values = dict(values)
    if isinstance(values.get("session_expiration"), str):
        values["session_expiration"] = datetime.fromisoformat(values["session_expiration"])
    return Principal(**values)


class Engine:
    """One per backend (the CloudFormation provider owns it)."""

    def __init__(self, backend: Backend) -> None:
        from seedbed.cloudformation import custom

        self.backend = backend
        self.owner = ids.hex_id(16)
        self.tasks: dict[str, asyncio.Task[None]] = {}
        #: How custom resources reach their ServiceToken (tests install a fake).
        self.invoker: custom.Invoker = custom.invoke_service_token
        self.responses = custom.ResponseChannel(backend)
        #: Overrides AWS's one-hour custom-resource timeout (tests).
        self.custom_timeout: float | None = None
        #: The time stack deadlines are measured in (tests install one they can move).
        self.clock = timeouts.Clock()
        self._cancel_reasons: dict[str, str] = {}
        self._cancel_events: dict[str, asyncio.Event] = {}

    # -- running operations ---------------------------------------------------------------------

    def start(self, stack_id: str, resumed: bool = False) -> None:
        running = self.tasks.get(stack_id)
        if running is not None and not running.done():
            return
        self.tasks[stack_id] = asyncio.get_running_loop().create_task(self._run(stack_id, resumed))

    async def _run(self, stack_id: str, resumed: bool) -> None:
        from seedbed.cloudformation.deployer import Operation

        try:
            with self.backend.db.begin() as conn:
                row = store.get_stack(conn, stack_id)
                if row is None:
                    return
                store.update_stack(conn, stack_id, lease_owner=self.owner)
            await Operation(self, row, resumed).run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("stack operation on %s failed unexpectedly", stack_id)
            self._fail(stack_id)
        finally:
            task = self.tasks.get(stack_id)
            if task is asyncio.current_task():
                self.tasks.pop(stack_id, None)
                self._cancel_reasons.pop(stack_id, None)
                self._cancel_events.pop(stack_id, None)

    def cancel(self, stack_id: str, reason: str) -> None:
        """Abandon the create running on ``stack_id`` (its parent's create was cancelled): it
        fails with ``reason`` and rolls back as its OnFailure says."""
        task = self.tasks.get(stack_id)
        if task is None or task.done():
            return
        self._cancel_reasons[stack_id] = reason
        event = self._cancel_events.get(stack_id)
        if event is not None:
            event.set()

    def cancellation(self, stack_id: str) -> tuple[asyncio.Event, Callable[[], str | None]]:
        """An event set when :meth:`cancel` is called for the stack, and the reason it gave."""
        event = self._cancel_events.setdefault(stack_id, asyncio.Event())
        if stack_id in self._cancel_reasons:
            event.set()
        return event, lambda: self._cancel_reasons.get(stack_id)

    def _fail(self, stack_id: str) -> None:
        """A bug must not leave a stack in progress forever: mark the phase failed."""
        failed = {
            "CREATE_IN_PROGRESS": "CREATE_FAILED", "ROLLBACK_IN_PROGRESS": "ROLLBACK_FAILED",
            "DELETE_IN_PROGRESS": "DELETE_FAILED", "UPDATE_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
            "UPDATE_ROLLBACK_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_ROLLBACK_COMPLETE",
        }
        try:
            with self.backend.db.begin() as conn:
                row = store.get_stack(conn, stack_id)
                if row is not None and row.status in failed:
                    store.update_stack(conn, stack_id, status=failed[row.status], status_reason="Internal failure")
        except Exception:  # noqa: BLE001
            log.exception("could not mark %s failed", stack_id)

    async def resume(self) -> int:
        """Pick up every operation a previous process left in progress; returns how many."""
        with self.backend.db.connect() as conn:
            rows = store.stacks_in_progress(conn)
        count = 0
        for row in rows:
            if row.stack_id in self.tasks:
                continue
            if not self.backend.db.is_sqlite and row.lease_owner not in (None, self.owner):
                lease = store.aware(row.lease_until)
                if lease is not None and lease > store.now():
                    continue
            self.start(row.stack_id, resumed=row.lease_owner != self.owner)
            count += 1
        return count

    async def wait(self, stack_id: str) -> None:
        """Until no operation of this process runs on the stack (tests, nested stacks)."""
        while True:
            task = self.tasks.get(stack_id)
            if task is None or task.done():
                return
            await asyncio.shield(task)

    async def wait_terminal(self, stack_id: str, timeout: float = 3600) -> Any:
        """Until the stack leaves every *_IN_PROGRESS status (works across processes too)."""
        deadline = asyncio.get_running_loop().time() + timeout
        delay = 0.005
        while True:
            await self.wait(stack_id)
            with self.backend.db.connect() as conn:
                row = store.get_stack(conn, stack_id)
            if row is None or not row.status.endswith("_IN_PROGRESS") or row.status == "REVIEW_IN_PROGRESS":
                return row
            if asyncio.get_running_loop().time() > deadline:
                raise ResourceFailure(f"Timed out waiting for stack {stack_id}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    # -- principals -----------------------------------------------------------------------------

    async def principal_for(self, stack: dict[str, Any]) -> Principal | None:
        """The stack's role (assumed through STS) if it has one, else whoever started it."""
        caller = principal_from_json(stack.get("caller"))
        role_arn = stack.get("role_arn")
        if not role_arn:
            return caller
        return await self.assume(role_arn, stack["account_id"], stack["name"], stack["stack_id"])

    async def assume(self, role_arn: str, account: str, stack_name: str, stack_id: str | None = None) -> Principal:
        """Credentials for the stack's role, as ``cloudformation.amazonaws.com`` assumes it: the
        role's trust policy must admit the service (STS checks it through the IAM engine)."""
        sts = self.backend.provider("sts")
        session_name = f"AWSCloudFormation-{stack_name}"[:64]
        try:
            session = sts.assume_role_for_service(  # type: ignore[union-attr]
                role_arn, CLOUDFORMATION_SERVICE, session_name, source_account=account, source_arn=stack_id
            )
        except ServiceError as exc:
            raise CfnValidationError(f"Role {role_arn} is invalid or cannot be assumed: {exc.message}") from None
        cred = self.backend.credentials.resolve(session.access_key_id)
        if cred is None:
            raise CfnValidationError(f"Role {role_arn} is invalid or cannot be assumed")
        return cred.principal

    # -- templates ------------------------------------------------------------------------------

    async def fetch_template(self, principal: Principal | None, url: str, region: str) -> str:
        """TemplateURL: path style, virtual-host style, ``s3://``, with ``versionId``."""
        bucket, key, version = parse_s3_url(url)
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version:
            params["VersionId"] = version
        try:
            out = await self.backend.call(principal, "s3", "GetObject", params, region)
        except ServiceError as exc:
            raise CfnValidationError(f"S3 error: Unable to get the template from {url}: {exc.code}: {exc.message}") from None
        data = await read_body(out.get("Body"))
        if len(data) > template.MAX_URL_BODY:
            raise CfnValidationError("Template may not exceed 1000000 bytes in size.")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise TemplateError("the template is not UTF-8 text") from None

    async def ssm_lookup(self, principal: Principal | None, region: str) -> Any:
        async def lookup(name: str) -> str:
            try:
                out = await self.backend.call(principal, "ssm", "GetParameter", {"Name": name}, region)
            except ServiceError as exc:
                raise CfnValidationError(f"Unable to fetch parameters [{name}] from parameter store for this account: {exc.message}") from None
            return str(out["Parameter"]["Value"])

        return lookup

    # -- exports and outputs --------------------------------------------------------------------

    def import_value_for(self, account: str, region: str) -> Any:
        def import_value(name: str) -> Any:
            with self.backend.db.connect() as conn:
                row = store.get_export(conn, account, region, name)
            if row is None:
                raise CfnValidationError(f"No export named {name} found.")
            return row.value

        return import_value

    def outputs(self, tpl: template.Template, scope: intrinsics.Scope, account: str, region: str, stack_id: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
        out: list[dict[str, Any]] = []
        exported: dict[str, str] = {}
        for name, output in tpl.outputs.items():
            cond = output.get("Condition")
            if cond is not None and not scope.condition(cond):
                continue
            value = intrinsics.evaluate(output["Value"], scope)
            text = ",".join(str(v) for v in value) if isinstance(value, list) else _text(value)
            item: dict[str, Any] = {"OutputKey": name, "OutputValue": text}
            if output.get("Description") is not None:
                item["Description"] = str(output["Description"])
            if "Export" in output:
                export_name = _text(intrinsics.evaluate((output["Export"] or {}).get("Name"), scope))
                with self.backend.db.connect() as conn:
                    existing = store.get_export(conn, account, region, export_name)
                    owner = store.get_stack(conn, existing.stack_id) if existing is not None else None
                if existing is not None and existing.stack_id != stack_id:
                    raise ResourceFailure(f"Export with name {export_name} is already exported by stack {owner.name if owner else existing.stack_id}")
                item["ExportName"] = export_name
                exported[export_name] = text
            out.append(item)
        return out, exported


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


async def read_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if hasattr(body, "__aiter__"):
        chunks = [chunk async for chunk in body]
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()
        return b"".join(chunks)
    if hasattr(body, "read"):
        return body.read()
    return bytes(body)


def parse_s3_url(url: str) -> tuple[str, str, str | None]:
    """(bucket, key, version id) from any URL form S3 answers to."""
    parsed = urlparse(url)
    version = (parse_qs(parsed.query).get("versionId") or [None])[0]
    if parsed.scheme == "s3":
        return parsed.netloc, unquote(parsed.path.lstrip("/")), version
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise CfnValidationError("TemplateURL must be a supported URL.")
    host = (parsed.hostname or "").lower()
    path = unquote(parsed.path.lstrip("/"))
    bucket = None
    for marker in (".s3.", ".s3-", ".s3."):
        if marker in host and not host.startswith("s3.") and not host.startswith("s3-"):
            bucket = host.split(marker, 1)[0]
            break
    if bucket is None and host.endswith(".localhost"):
        bucket = host[: -len(".localhost")]
    if bucket is not None:
        key = path
    else:
        if "/" not in path:
            raise CfnValidationError("TemplateURL must reference a valid S3 object to which you have access.")
        bucket, key = path.split("/", 1)
    if not bucket or not key:
        raise CfnValidationError("TemplateURL must reference a valid S3 object to which you have access.")
    return bucket, key, version
