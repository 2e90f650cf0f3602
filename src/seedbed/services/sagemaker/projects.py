"""SageMaker projects from S3 templates: CreateProject, DescribeProject, ListProjects,
UpdateProject, DeleteProject.

A project is a CloudFormation stack (``SP-<name>-<id>``) made from the template URL under the
launch role, with ``SageMakerProjectName`` and ``SageMakerProjectId`` added to the parameters and
the project's tags (plus ``sagemaker:project-name`` / ``sagemaker:project-id``) on the stack. The
caller needs ``sagemaker:CreateProject`` and ``iam:PassRole`` on the launch role; SageMaker then
drives the stack itself and the engine acts as the launch role, so IAM checks every resource the
template makes against the launch role's policies. Without a launch role the stack calls go through
:meth:`Backend.call` as the caller, whose own ``cloudformation:*`` and ``s3:GetObject`` apply.

``ProjectStatus`` follows the stack: a watcher task per running operation waits on the stack engine
and records the outcome (with the failing resource's reason). Watchers are restarted for projects
left in progress by another process or a crash (:meth:`ProjectOperations.resume_projects`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.exc import IntegrityError

from seedbed.cloudformation.engine import principal_from_json, principal_to_json
from seedbed.errors import ServiceError
from seedbed.server.context import Principal, RequestContext
from seedbed.services.sagemaker import catalog, common, store
from seedbed.services.sagemaker.errors import AccessDeniedException, Conflict, SageMakerValidation
from seedbed.state import ids

log = logging.getLogger(__name__)

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
IN_PROGRESS = ("Pending", "CreateInProgress", "UpdateInProgress", "DeleteInProgress")
UPDATABLE = ("CreateCompleted", "UpdateCompleted", "UpdateFailed")
PROJECT_NAME_TAG = "sagemaker:project-name"
PROJECT_ID_TAG = "sagemaker:project-id"


def outcome(phase: str, stack_status: str | None) -> str:
    """The project status a finished stack operation leaves (``phase`` is the project's
    *InProgress status)."""
    if phase == "DeleteInProgress":
        return "DeleteCompleted" if stack_status in (None, "DELETE_COMPLETE") else "DeleteFailed"
    if phase == "UpdateInProgress":
        return "UpdateCompleted" if stack_status == "UPDATE_COMPLETE" else "UpdateFailed"
    return "CreateCompleted" if stack_status == "CREATE_COMPLETE" else "CreateFailed"


def _service_error(exc: ServiceError) -> ServiceError:
    """A CloudFormation or S3 refusal as SageMaker reports it."""
    if exc.code.startswith("AccessDenied"):
        return AccessDeniedException(exc.message)
    return SageMakerValidation(exc.message)


def _stack_params(params: list[dict[str, Any]], name: str, project_id: str) -> list[dict[str, Any]]:
    given = [p for p in params if p["Key"] not in catalog.SUPPLIED]
    out = [{"ParameterKey": p["Key"], "ParameterValue": p.get("Value", "")} for p in given]
    return out + [
        {"ParameterKey": "SageMakerProjectName", "ParameterValue": name},
        {"ParameterKey": "SageMakerProjectId", "ParameterValue": project_id},
    ]


class ProjectOperations:
    backend: Any
    _watchers: dict[str, asyncio.Task[None]]

    # -- helpers --------------------------------------------------------------------------------

    def _project(self, ctx: RequestContext, name: str) -> Any:
        with self.backend.db.connect() as conn:
            row = store.find_project(conn, ctx.account_id, ctx.region, name)
        if row is None:
            raise SageMakerValidation(f"Project {name} does not exist.")
        ctx.resources.append(row.arn)
        if row.status in IN_PROGRESS:
            self._watch(row.project_id)
        return row

    async def _call(
        self, principal: Principal | None, service: str, operation: str, params: dict[str, Any], region: str,
        account_id: str | None = None,
    ) -> dict[str, Any]:
        try:
            return await self.backend.call(principal, service, operation, params, region, account_id)
        except ServiceError as exc:
            raise _service_error(exc) from None

    @staticmethod
    def _acting(ctx: RequestContext, role: str | None) -> Principal | None:
        """Who SageMaker acts as towards CloudFormation and the template bucket.

        With a launch role (whose passing the caller was just allowed), SageMaker itself drives
        the stack, and the engine does everything as that role: the caller needs no CloudFormation
        or S3 permissions of its own, which is the point of the launch role. Without one, the
        caller's own permissions apply, as on AWS.
        """
        return None if role else ctx.principal

    async def _template_version(self, ctx: RequestContext, url: str, role: str | None) -> dict[str, Any]:
        """Which object (and version) the template URL names now, read as :meth:`_acting`."""
        from seedbed.cloudformation.engine import parse_s3_url

        try:
            bucket, key, version = parse_s3_url(url)
        except ServiceError as exc:
            raise SageMakerValidation(f"TemplateURL {url} is not an S3 object URL: {exc.message}") from None
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version:
            params["VersionId"] = version
        try:
            head = await self.backend.call(self._acting(ctx, role), "s3", "HeadObject", params, ctx.region, ctx.account_id)
        except ServiceError as exc:
            message = exc.message or exc.code
            raise (AccessDeniedException if exc.status == 403 else SageMakerValidation)(
                f"S3 error: Unable to get the template from {url}: {exc.code}: {message}"
            ) from None
        modified = head.get("LastModified")
        return {
            "Bucket": bucket, "Key": key, "VersionId": head.get("VersionId") or version, "ETag": head.get("ETag"),
            "LastModified": modified.isoformat() if hasattr(modified, "isoformat") else modified,
        }

    def _user_context(self, ctx: RequestContext, bucket: str | None) -> dict[str, Any]:
        """``CreatedBy``: the IAM identity, and the Studio user and domain it maps to (by the
        execution role a user profile or domain names, else the domain whose templates location
        holds the template, else the only domain)."""
        out: dict[str, Any] = {"IamIdentity": common.iam_identity(ctx.principal)}
        role = ctx.principal.role_arn if ctx.principal is not None else None
        with self.backend.db.connect() as conn:
            domains = store.list_domains(conn, ctx.account_id, ctx.region)
            if not domains:
                return out
            profiles = store.list_user_profiles(conn, ctx.account_id, ctx.region)
            locations = {d.domain_id: {t["Key"]: t["Value"] for t in store.get_tags(conn, d.arn)}.get(catalog.LOCATION_TAG) for d in domains}
        if role:
            for profile in profiles:
                if ((profile.settings or {}).get("UserSettings") or {}).get("ExecutionRole") == role:
                    out.update(DomainId=profile.domain_id, UserProfileName=profile.name, UserProfileArn=profile.arn)
                    return out
            for domain in domains:
                if ((domain.settings or {}).get("DefaultUserSettings") or {}).get("ExecutionRole") == role:
                    out["DomainId"] = domain.domain_id
                    return out
        for domain in domains:
            location = locations.get(domain.domain_id) or ""
            if bucket and location.startswith(f"s3://{bucket}"):
                out["DomainId"] = domain.domain_id
                return out
        out["DomainId"] = domains[0].domain_id
        return out

    # -- CreateProject ----------------------------------------------------------------------------

    async def create_project(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ProjectName"]
        providers = params.get("TemplateProviders") or []
        if params.get("ServiceCatalogProvisioningDetails"):
            raise SageMakerValidation(
                "Seedbed does not implement AWS Service Catalog yet, so ServiceCatalogProvisioningDetails cannot be used. "
                "Use TemplateProviders with a CfnTemplateProvider (a CloudFormation template in S3)."
            )
        if len(providers) != 1 or "CfnTemplateProvider" not in providers[0]:
            raise SageMakerValidation("Exactly one of ServiceCatalogProvisioningDetails or TemplateProviders (with one CfnTemplateProvider) must be specified.")
        cfn = providers[0]["CfnTemplateProvider"]
        role = cfn.get("RoleARN")
        with self.backend.db.connect() as conn:
            if store.find_project(conn, ctx.account_id, ctx.region, name) is not None:
                raise SageMakerValidation(f"Project with name {name} already exists.")
        if role:
            self.backend.authorizer.check_pass_role(ctx, role, "cloudformation.amazonaws.com")
        version = await self._template_version(ctx, cfn["TemplateURL"], role)
        project_id = common.project_id()
        arn = common.arn(ctx, "project", name)
        stack_name = f"SP-{name}-{project_id}"
        user_tags = list(params.get("Tags") or [])
        detail = {k: cfn[k] for k in ("TemplateName", "TemplateURL", "RoleARN") if cfn.get(k)}
        detail["Parameters"] = [{"Key": p["Key"], "Value": p.get("Value", "")} for p in cfn.get("Parameters") or []]
        when = store.now()
        try:
            with self.backend.db.begin() as conn:
                store.insert_project(conn, {
                    "project_id": project_id, "account_id": ctx.account_id, "region": ctx.region, "name": name,
                    "live_name": name.lower(), "arn": arn, "description": params.get("ProjectDescription"),
                    "status": "Pending", "status_reason": None, "providers": [{"CfnTemplateProvider": detail}],
                    "stack_name": stack_name, "stack_id": None, "stack_status": None, "template_version": version,
                    "outputs": None, "retained": None, "created_by": self._user_context(ctx, version["Bucket"]),
                    "modified_by": None, "caller": principal_to_json(self._acting(ctx, role)), "deleted": False,
                    "created": when, "modified": when,
                })
                store.delete_all_tags(conn, arn)
                if user_tags:
                    store.put_tags(conn, arn, user_tags)
        except IntegrityError:
            raise SageMakerValidation(f"Project with name {name} already exists.") from None
        ctx.resources.append(arn)
        stack_tags = [{"Key": t["Key"], "Value": t["Value"]} for t in user_tags if t["Key"] not in (PROJECT_NAME_TAG, PROJECT_ID_TAG)]
        stack_tags += [{"Key": PROJECT_NAME_TAG, "Value": name}, {"Key": PROJECT_ID_TAG, "Value": project_id}]
        request: dict[str, Any] = {
            "StackName": stack_name, "TemplateURL": cfn["TemplateURL"],
            "Parameters": _stack_params(detail["Parameters"], name, project_id),
            "Capabilities": CAPABILITIES, "Tags": stack_tags,
        }
        if role:
            request["RoleARN"] = role
        try:
            out = await self._call(self._acting(ctx, role), "cloudformation", "CreateStack", request, ctx.region, ctx.account_id)
        except ServiceError:
            with self.backend.db.begin() as conn:
                store.delete_project_row(conn, project_id)
                store.delete_all_tags(conn, arn)
            raise
        with self.backend.db.begin() as conn:
            store.update_project(conn, project_id, stack_id=out["StackId"], status="CreateInProgress", stack_status="CREATE_IN_PROGRESS")
        self._watch(project_id)
        return {"ProjectArn": arn, "ProjectId": project_id}

    # -- DescribeProject / ListProjects ---------------------------------------------------------

    def describe_project(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._project(ctx, params["ProjectName"])
        providers = []
        for provider in row.providers or []:
            detail = dict(provider.get("CfnTemplateProvider") or {})
            if row.stack_id:
                message = row.stack_status or row.status
                if row.status_reason:
                    message = f"{message}: {row.status_reason}"
                detail["StackDetail"] = {"Name": row.stack_name, "Id": row.stack_id, "StatusMessage": message[:4096]}
            providers.append({"CfnTemplateProviderDetail": detail})
        out: dict[str, Any] = {
            "ProjectArn": row.arn, "ProjectName": row.name, "ProjectId": row.project_id, "ProjectStatus": row.status,
            "TemplateProviderDetails": providers, "CreatedBy": row.created_by or {},
            "CreationTime": store.aware(row.created),
        }
        if row.description:
            out["ProjectDescription"] = row.description
        if row.modified is not None:
            out["LastModifiedTime"] = store.aware(row.modified)
        if row.modified_by:
            out["LastModifiedBy"] = row.modified_by
        return out

    def list_projects(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        query = {k: params.get(k) for k in ("CreationTimeAfter", "CreationTimeBefore", "NameContains", "SortBy", "SortOrder")}
        offset = common.decode_token(params.get("NextToken"), query)
        limit = common.max_results(params, 10)
        with self.backend.db.connect() as conn:
            rows = store.list_projects(
                conn, ctx.account_id, ctx.region, name_contains=params.get("NameContains"),
                after=params.get("CreationTimeAfter"), before=params.get("CreationTimeBefore"),
                sort_by=params.get("SortBy") or "CreationTime", descending=(params.get("SortOrder") or "Descending") == "Descending",
                offset=offset, limit=limit,
            )
        out: dict[str, Any] = {"ProjectSummaryList": []}
        for row in rows[:limit]:
            if row.status in IN_PROGRESS:
                self._watch(row.project_id)  # e.g. left running by another replica or a crash
            item = {"ProjectName": row.name, "ProjectArn": row.arn, "ProjectId": row.project_id,
                    "CreationTime": store.aware(row.created), "ProjectStatus": row.status}
            if row.description:
                item["ProjectDescription"] = row.description
            out["ProjectSummaryList"].append(item)
        if len(rows) > limit:
            out["NextToken"] = common.encode_token(offset + limit, query)
        return out

    # -- UpdateProject --------------------------------------------------------------------------

    async def update_project(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """New parameters, a new template URL or a new version of the same template: checked
        through a change set (so a bad value or template is refused before anything changes),
        then executed."""
        row = self._project(ctx, params["ProjectName"])
        if params.get("ServiceCatalogProvisioningUpdateDetails"):
            raise SageMakerValidation("Seedbed does not implement AWS Service Catalog yet; update S3-template projects with TemplateProvidersToUpdate.")
        if row.status not in UPDATABLE:
            raise Conflict(f"Project {row.name} is in status {row.status} and cannot be updated now.")
        modified_by = {"IamIdentity": common.iam_identity(ctx.principal)}
        base: dict[str, Any] = {"modified": store.now(), "modified_by": modified_by}
        if "ProjectDescription" in params:
            base["description"] = params["ProjectDescription"]
        if params.get("Tags"):
            with self.backend.db.begin() as conn:
                store.put_tags(conn, row.arn, list(params["Tags"]))
        updates = params.get("TemplateProvidersToUpdate") or []
        if not updates:
            with self.backend.db.begin() as conn:
                store.update_project(conn, row.project_id, **base)
            return {"ProjectArn": row.arn}
        new = updates[0].get("CfnTemplateProvider") or {}
        current = dict((row.providers or [{}])[0].get("CfnTemplateProvider") or {})
        if new.get("TemplateName") != current.get("TemplateName"):
            raise SageMakerValidation(f"Template provider {new.get('TemplateName')} is not part of project {row.name}; it has {current.get('TemplateName')}.")
        merged = {p["Key"]: p.get("Value", "") for p in current.get("Parameters") or []}
        merged.update({p["Key"]: p.get("Value", "") for p in new.get("Parameters") or []})
        role = current.get("RoleARN")
        if role:
            self.backend.authorizer.check_pass_role(ctx, role, "cloudformation.amazonaws.com")
        acting = self._acting(ctx, role)
        version = await self._template_version(ctx, new["TemplateURL"], role)
        detail = dict(current, TemplateURL=new["TemplateURL"], Parameters=[{"Key": k, "Value": v} for k, v in merged.items()])
        with self.backend.db.connect() as conn:
            tags = store.get_tags(conn, row.arn)
        stack_tags = [t for t in tags if t["Key"] not in (PROJECT_NAME_TAG, PROJECT_ID_TAG)]
        stack_tags += [{"Key": PROJECT_NAME_TAG, "Value": row.name}, {"Key": PROJECT_ID_TAG, "Value": row.project_id}]
        change_set = f"sagemaker-update-{ids.hex_id(12)}"
        request: dict[str, Any] = {
            "StackName": row.stack_name, "ChangeSetName": change_set, "ChangeSetType": "UPDATE",
            "TemplateURL": new["TemplateURL"], "Parameters": _stack_params(detail["Parameters"], row.name, row.project_id),
            "Capabilities": CAPABILITIES, "Tags": stack_tags,
        }
        if current.get("RoleARN"):
            request["RoleARN"] = current["RoleARN"]
        created = await self._call(acting, "cloudformation", "CreateChangeSet", request, ctx.region, ctx.account_id)
        described = await self._call(acting, "cloudformation", "DescribeChangeSet", {"ChangeSetName": created["Id"]}, ctx.region, ctx.account_id)
        if described.get("Status") == "FAILED":
            await self._call(acting, "cloudformation", "DeleteChangeSet", {"ChangeSetName": created["Id"]}, ctx.region, ctx.account_id)
            reason = described.get("StatusReason") or "the change set failed"
            if "didn't contain changes" not in reason and "No updates" not in reason:
                raise SageMakerValidation(reason)
            with self.backend.db.begin() as conn:
                store.update_project(conn, row.project_id, status="UpdateCompleted", providers=[{"CfnTemplateProvider": detail}],
                                     template_version=version, **base)
            return {"ProjectArn": row.arn}
        with self.backend.db.begin() as conn:
            store.update_project(conn, row.project_id, status="UpdateInProgress", status_reason=None,
                                 stack_status="UPDATE_IN_PROGRESS", providers=[{"CfnTemplateProvider": detail}],
                                 template_version=version, **base)
        try:
            await self._call(acting, "cloudformation", "ExecuteChangeSet", {"ChangeSetName": created["Id"]}, ctx.region, ctx.account_id)
        except ServiceError:
            with self.backend.db.begin() as conn:
                store.update_project(conn, row.project_id, status=row.status, stack_status=row.stack_status,
                                     providers=row.providers, template_version=row.template_version)
            raise
        self._watch(row.project_id)
        return {"ProjectArn": row.arn}

    # -- DeleteProject --------------------------------------------------------------------------

    async def delete_project(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Deletes the stack; resources it retains (DeletionPolicy: Retain) are recorded and stay."""
        row = self._project(ctx, params["ProjectName"])
        if row.status in IN_PROGRESS:
            raise Conflict(f"Project {row.name} is in status {row.status} and cannot be deleted now.")
        modified_by = {"IamIdentity": common.iam_identity(ctx.principal)}
        if not row.stack_id:
            self._finish_delete(row.project_id, row.arn, [])
            return {}
        with self.backend.db.begin() as conn:
            store.update_project(conn, row.project_id, status="DeleteInProgress", status_reason=None,
                                 stack_status="DELETE_IN_PROGRESS", modified=store.now(), modified_by=modified_by)
        try:
            role = ((row.providers or [{}])[0].get("CfnTemplateProvider") or {}).get("RoleARN")
            await self._call(self._acting(ctx, role), "cloudformation", "DeleteStack", {"StackName": row.stack_id}, ctx.region, ctx.account_id)
        except ServiceError:
            with self.backend.db.begin() as conn:
                store.update_project(conn, row.project_id, status=row.status, stack_status=row.stack_status)
            raise
        self._watch(row.project_id)
        return {}

    def _finish_delete(self, project_id: str, arn: str, retained: list[dict[str, Any]]) -> None:
        with self.backend.db.begin() as conn:
            store.update_project(conn, project_id, status="DeleteCompleted", stack_status="DELETE_COMPLETE",
                                 live_name=None, deleted=True, retained=retained, modified=store.now())
            store.delete_all_tags(conn, arn)

    # -- following the stack --------------------------------------------------------------------

    def _watch(self, project_id: str) -> None:
        """Start (once per process) the task that records how the stack operation ends."""
        task = self._watchers.get(project_id)
        if task is not None and not task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._watchers[project_id] = loop.create_task(self._follow(project_id))

    async def resume_projects(self) -> None:
        """Follow every project a previous process left in progress."""
        try:
            with self.backend.db.connect() as conn:
                rows = store.projects_in_progress(conn)
            for row in rows:
                self._watch(row.project_id)
        except Exception:
            log.exception("resuming SageMaker projects failed")

    async def _follow(self, project_id: str) -> None:
        try:
            with self.backend.db.connect() as conn:
                row = store.get_project(conn, project_id)
            if row is None or row.status not in IN_PROGRESS:
                return
            if not row.stack_id:
                # Created but never got its stack (a crash between the two): it failed.
                await asyncio.sleep(5)
                with self.backend.db.begin() as conn:
                    again = store.get_project(conn, project_id)
                    if again is not None and again.status == "Pending" and not again.stack_id:
                        store.update_project(conn, project_id, status="CreateFailed", status_reason="Interrupted before its stack was created")
                return
            engine = self.backend.provider("cloudformation").engine
            stack = await engine.wait_terminal(row.stack_id)
            await self._settle(row, stack)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("following project %s failed", project_id)
        finally:
            if self._watchers.get(project_id) is asyncio.current_task():
                self._watchers.pop(project_id, None)

    async def _settle(self, row: Any, stack: Any) -> None:
        stack_status = stack.status if stack is not None else None
        status = outcome(row.status, stack_status)
        caller = principal_from_json(row.caller)
        if status == "DeleteCompleted":
            retained = await self._retained(caller, row)
            self._finish_delete(row.project_id, row.arn, retained)
            return
        reason = None
        if status.endswith("Failed"):
            reason = await self._failure_reason(caller, row, stack)
        values: dict[str, Any] = {"status": status, "status_reason": reason, "stack_status": stack_status}
        if stack is not None:
            values["outputs"] = list(stack.outputs or [])
        with self.backend.db.begin() as conn:
            store.update_project(conn, row.project_id, **values)

    async def _failure_reason(self, caller: Principal | None, row: Any, stack: Any) -> str | None:
        """The first resource failure of the last operation, as Studio shows it."""
        fallback = stack.status_reason if stack is not None else None
        try:
            out = await self.backend.call(caller, "cloudformation", "DescribeStackEvents", {"StackName": row.stack_id}, row.region, row.account_id)
        except ServiceError:
            return fallback
        failures = []
        for event in out.get("StackEvents") or []:  # newest first
            if event.get("LogicalResourceId") == row.stack_name and event.get("ResourceStatusReason") == "User Initiated":
                break
            if event.get("ResourceStatus", "").endswith("_FAILED") and event.get("ResourceStatusReason"):
                failures.append(f"{event['LogicalResourceId']}: {event['ResourceStatusReason']}")
        if failures:
            return failures[-1]
        return fallback

    async def _retained(self, caller: Principal | None, row: Any) -> list[dict[str, Any]]:
        try:
            out = await self.backend.call(caller, "cloudformation", "DescribeStackResources", {"StackName": row.stack_id}, row.region, row.account_id)
        except ServiceError:
            return []
        return [
            {k: r.get(k) for k in ("LogicalResourceId", "PhysicalResourceId", "ResourceType")}
            for r in out.get("StackResources") or [] if r.get("ResourceStatus") == "DELETE_SKIPPED"
        ]
