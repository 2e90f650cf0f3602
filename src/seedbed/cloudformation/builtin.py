"""Types CloudFormation implements itself: nested stacks, wait condition handles, custom resources."""

from __future__ import annotations

import asyncio
from typing import Any

from seedbed.cloudformation import custom  # noqa: F401 - registers the custom resource type
from seedbed.cloudformation.errors import CfnValidationError, ResourceFailure
from seedbed.cloudformation.timeouts import CANCELLED
from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type
from seedbed.errors import ServiceError
from seedbed.services.cloudformation import store
from seedbed.state import ids

ALL_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


@resource_type
class WaitConditionHandle(ResourceType):
    """A presigned URL placeholder; nothing waits on it in Seedbed. Often used as a no-op resource."""

    type_name = "AWS::CloudFormation::WaitConditionHandle"

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        url = f"{ctx.backend.settings.endpoint_url}/_seedbed/waitcondition/{ids.hex_id(24)}"
        return Provisioned(url, {"Id": url})

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        return None


@resource_type
class NestedStack(ResourceType):
    """``AWS::CloudFormation::Stack``: a child stack, created with the parent's principal and role."""

    type_name = "AWS::CloudFormation::Stack"

    def any_attribute(self) -> bool:
        return True

    def _request(self, ctx: ResourceContext, props: dict[str, Any], name: str, body: str) -> Any:
        from seedbed.cloudformation.submit import StackRequest

        with ctx.backend.db.connect() as conn:
            parent = store.get_stack(conn, ctx.stack_id)
        params = [{"ParameterKey": k, "ParameterValue": _text(v)} for k, v in (props.get("Parameters") or {}).items()]
        return StackRequest(
            name=name, account=ctx.account_id, region=ctx.region, caller=ctx.principal, body=body,
            parameters=params, capabilities=ALL_CAPABILITIES, tags=list(props.get("Tags") or []),
            notification_arns=list(props.get("NotificationARNs") or []),
            timeout_minutes=props.get("TimeoutInMinutes"), parent_id=ctx.stack_id,
            root_id=(parent.root_id or parent.stack_id) if parent is not None else ctx.stack_id,
            disable_rollback=False,
        )

    async def _outputs(self, ctx: ResourceContext, stack_id: str, expect: str) -> dict[str, Any]:
        row = await ctx.engine.wait_terminal(stack_id)
        if row is None or row.status != expect:
            reason = row.status_reason if row is not None else "it disappeared"
            raise ResourceFailure(f"Embedded stack {stack_id} was not successfully {'created' if expect == 'CREATE_COMPLETE' else 'updated'}: {reason}")
        attrs = {f"Outputs.{o['OutputKey']}": o["OutputValue"] for o in row.outputs or []}
        attrs["StackId"] = stack_id
        return attrs

    @staticmethod
    def _name(ctx: ResourceContext) -> str:
        name = ctx.physical_name(128)
        return name if name[0].isalpha() else "S" + name[1:]

    def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
        """The child's ARN is fixed before it exists, so a crash never loses the child."""
        import uuid

        from seedbed.state import arns

        child_uuid = uuid.UUID(ctx.request_token[:32].ljust(32, "0"))
        return arns.build("cloudformation", f"stack/{self._name(ctx)}/{child_uuid}", ctx.account_id, ctx.region)

    async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
        from seedbed.cloudformation import submit

        body = await ctx.engine.fetch_template(ctx.principal, str(props["TemplateURL"]), ctx.region)
        try:
            stack_id = await submit.create_stack(
                ctx.engine, self._request(ctx, props, self._name(ctx), body), stack_id=self.intended_id(ctx, props)
            )
        except ServiceError as exc:
            raise ResourceFailure(exc.message) from None
        try:
            outputs = await self._outputs(ctx, stack_id, "CREATE_COMPLETE")
        except asyncio.CancelledError:  # the parent timed out (or was cancelled): so does the child
            ctx.engine.cancel(stack_id, CANCELLED)
            raise
        return Provisioned(stack_id, outputs)

    async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        from seedbed.cloudformation import submit

        body = await ctx.engine.fetch_template(ctx.principal, str(new["TemplateURL"]), ctx.region)
        with ctx.backend.db.connect() as conn:
            row = store.get_stack(conn, physical_id)
        if row is None:
            raise ResourceFailure(f"Embedded stack {physical_id} does not exist")
        try:
            await submit.update_stack(ctx.engine, row, self._request(ctx, new, row.name, body))
        except CfnValidationError as exc:
            if "No updates are to be performed" in exc.message:
                return attributes
            raise ResourceFailure(exc.message) from None
        return await self._outputs(ctx, physical_id, "UPDATE_COMPLETE")

    async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
        from seedbed.cloudformation import submit

        row = await ctx.engine.wait_terminal(physical_id)
        if row is None or row.status == "DELETE_COMPLETE":
            return
        try:
            submit.start_delete(ctx.engine, row, ctx.principal, None, None)
        except ServiceError as exc:
            raise ResourceFailure(exc.message) from None
        row = await ctx.engine.wait_terminal(physical_id)
        if row is not None and row.status != "DELETE_COMPLETE":
            raise ResourceFailure(f"Embedded stack {physical_id} was not successfully deleted: {row.status_reason}")


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
