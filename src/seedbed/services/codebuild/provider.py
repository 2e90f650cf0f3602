"""The CodeBuild API (smithy-rpc-v2-cbor / json): projects and builds (report groups and reports
in :mod:`.reports`).

Builds run in this process's event loop as tasks that drive bash subprocesses
(:mod:`seedbed.services.codebuild.builder`); the build document in the database is their journal.
``StartBuild`` returns at once with the build IN_PROGRESS, as on AWS.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import uuid
from typing import Any

from seedbed.errors import ServiceError
from seedbed.runtime.builds.shell import kill_leftovers
from seedbed.server.context import RequestContext
from seedbed.services.base import Provider
from seedbed.services.codebuild import pipeline_job, projects, store
from seedbed.services.codebuild.builder import BuildLog, BuildRun, build_root, stamp
from seedbed.services.codebuild.errors import InvalidInput, ResourceAlreadyExists, ResourceNotFound
from seedbed.services.codebuild.paging import listing
from seedbed.services.codebuild.reports import ReportOperations
from seedbed.services.events.publish import emit

log = logging.getLogger(__name__)

RESTART_MESSAGE = "The Seedbed server restarted while this build ran; the build's work was lost."


def _t(doc: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if key in doc:
            doc[key] = store.out_time(doc[key])


def build_out(doc: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    _t(out, "startTime", "endTime")
    for phase in out.get("phases") or []:
        _t(phase, "startTime", "endTime")
    return out


def initiator(ctx: RequestContext) -> str:
    principal = ctx.principal
    if principal is None:
        return "seedbed"
    arn = principal.arn
    if ":assumed-role/" in arn:
        return arn.split(":assumed-role/", 1)[1]
    if ":user/" in arn:
        return arn.rsplit("/", 1)[1]
    return "root" if arn.endswith(":root") else arn


class CodeBuildProvider(ReportOperations, Provider):
    service = "codebuild"

    def __init__(self, backend: Any) -> None:
        super().__init__(backend)
        self._runs: dict[str, BuildRun] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._resumed = False

    # -- plumbing -------------------------------------------------------------------------------

    def _project(self, ctx: RequestContext, name: str) -> store.ProjectRow:
        name = name.rsplit(":project/", 1)[-1]
        with self.backend.db.connect() as conn:
            row = store.get_project(conn, ctx.account_id, ctx.region, name)
        if row is None:
            raise ResourceNotFound(f"Project cannot be found: {projects.project_arn(ctx.account_id, ctx.region, name)}")
        ctx.resources.append(row.arn)
        return row

    def _check_role(self, ctx: RequestContext, role_arn: str) -> None:
        authorizer = self.backend.authorizer
        authorizer.check_pass_role(ctx, role_arn, "codebuild.amazonaws.com")
        if authorizer.mode == "enforce" and not authorizer.service_can_assume(role_arn, "codebuild.amazonaws.com").allowed:
            raise InvalidInput(f"CodeBuild is not authorized to perform: sts:AssumeRole on {role_arn}")

    @staticmethod
    def _project_out(row: store.ProjectRow) -> dict[str, Any]:
        out = copy.deepcopy(row.doc)
        out["created"] = store.aware(row.created)
        out["lastModified"] = store.aware(row.last_modified)
        return out

    # -- projects -------------------------------------------------------------------------------

    def create_project(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        account, region = ctx.account_id, ctx.region
        doc = projects.normalize(account, region, params)
        self._check_role(ctx, doc["serviceRole"])
        now = store.now()
        with self.backend.db.begin() as conn:
            if store.get_project(conn, account, region, doc["name"]) is not None:
                raise ResourceAlreadyExists(f"Project already exists: {doc['name']}")
            row = store.ProjectRow(account, region, doc["name"], doc["arn"], doc, now, now, 0)
            store.insert_project(conn, row)
        ctx.resources.append(doc["arn"])
        return {"project": self._project_out(row)}

    def update_project(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._project(ctx, params["name"])
        doc = projects.merge_update(row.doc, {**params, "name": row.name}, ctx.account_id, ctx.region)
        if doc["serviceRole"] != row.doc["serviceRole"]:
            self._check_role(ctx, doc["serviceRole"])
        now = store.now()
        with self.backend.db.begin() as conn:
            store.update_project(conn, ctx.account_id, ctx.region, row.name, doc=doc, last_modified=now)
        row.doc, row.last_modified = doc, now
        return {"project": self._project_out(row)}

    def delete_project(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["name"].rsplit(":project/", 1)[-1]
        with self.backend.db.begin() as conn:
            store.delete_project(conn, ctx.account_id, ctx.region, name)
        ctx.resources.append(projects.project_arn(ctx.account_id, ctx.region, name))
        return {}

    def batch_get_projects(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, missing = [], []
        with self.backend.db.connect() as conn:
            for name in params["names"]:
                row = store.get_project(conn, ctx.account_id, ctx.region, name.rsplit(":project/", 1)[-1])
                (found.append(self._project_out(row)) if row else missing.append(name))
        return {"projects": found, "projectsNotFound": missing}

    def list_projects(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = store.list_projects(conn, ctx.account_id, ctx.region)
        key = {"CREATED_TIME": lambda r: r.created, "LAST_MODIFIED_TIME": lambda r: r.last_modified}.get(
            params.get("sortBy") or "NAME", lambda r: r.name)
        rows.sort(key=key, reverse=params.get("sortOrder") == "DESCENDING")
        return listing("projects", [r.name for r in rows], params)

    # -- builds ---------------------------------------------------------------------------------

    async def start_build(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        project = self._project(ctx, params["projectName"])
        doc = self._new_build(ctx, project, params, pipeline_job.CURRENT.get())
        return {"build": build_out(doc)}

    def _new_build(self, ctx: RequestContext, project: store.ProjectRow, params: dict[str, Any],
                   job: pipeline_job.PipelineJob | None, retry_of: dict[str, Any] | None = None) -> dict[str, Any]:
        p = project.doc
        account, region = ctx.account_id, ctx.region
        source = copy.deepcopy(p["source"])
        if params.get("sourceTypeOverride"):
            source["type"] = params["sourceTypeOverride"]
        if params.get("sourceLocationOverride"):
            source["location"] = params["sourceLocationOverride"]
        if params.get("buildspecOverride"):
            source["buildspec"] = params["buildspecOverride"]
        if params.get("gitCloneDepthOverride") is not None:
            source["gitCloneDepth"] = params["gitCloneDepthOverride"]
        if job is not None:
            source = {"type": "CODEPIPELINE", "insecureSsl": False,
                      **({"buildspec": source["buildspec"]} if source.get("buildspec") else {})}
        elif source["type"] == "CODEPIPELINE":
            raise InvalidInput("Source type CODEPIPELINE can only be used by CodePipeline")
        else:
            source = projects.check_source(source)
        secondary = [projects.check_source(s, "secondary source") for s in
                     (params.get("secondarySourcesOverride") if params.get("secondarySourcesOverride") is not None
                      else p.get("secondarySources") or [])]
        secondary_versions = params.get("secondarySourcesVersionOverride")
        if secondary_versions is None:
            secondary_versions = p.get("secondarySourceVersions") or []
        environment = copy.deepcopy(p["environment"])
        for key, override in (("type", "environmentTypeOverride"), ("image", "imageOverride"),
                              ("computeType", "computeTypeOverride"), ("certificate", "certificateOverride"),
                              ("privilegedMode", "privilegedModeOverride"),
                              ("imagePullCredentialsType", "imagePullCredentialsTypeOverride")):
            if params.get(override) is not None:
                environment[key] = params[override]
        if params.get("environmentVariablesOverride"):
            merged = {v["name"]: v for v in environment.get("environmentVariables") or []}
            for var in projects.check_environment({"environmentVariables": params["environmentVariablesOverride"]})[
                    "environmentVariables"]:
                merged[var["name"]] = var
            environment["environmentVariables"] = list(merged.values())
        role = projects.role_arn(account, params.get("serviceRoleOverride") or p["serviceRole"])
        if params.get("serviceRoleOverride"):
            self._check_role(ctx, role)
        artifacts = projects.check_artifacts(params["artifactsOverride"]) if params.get("artifactsOverride") else p["artifacts"]
        secondary_artifacts = ([projects.check_artifacts(a) for a in params["secondaryArtifactsOverride"]]
                               if params.get("secondaryArtifactsOverride") is not None else p.get("secondaryArtifacts") or [])
        if job is None and artifacts.get("type") == "CODEPIPELINE":
            raise InvalidInput("Artifacts type CODEPIPELINE can only be used by CodePipeline")
        timeout = params.get("timeoutInMinutesOverride") or p.get("timeoutInMinutes") or 60
        build_uuid = str(uuid.uuid4())
        build_id = f"{project.name}:{build_uuid}"
        arn = projects.build_arn(account, region, build_id)
        logs_config = copy.deepcopy(params.get("logsConfigOverride") or p.get("logsConfig") or {})
        cw = logs_config.get("cloudWatchLogs") or {"status": "ENABLED"}
        logs: dict[str, Any] = {"cloudWatchLogs": cw, "s3Logs": logs_config.get("s3Logs") or {"status": "DISABLED"}}
        if cw.get("status", "ENABLED") == "ENABLED":
            group = cw.get("groupName") or f"/aws/codebuild/{project.name}"
            stream = f"{cw['streamName']}/{build_uuid}" if cw.get("streamName") else build_uuid
            logs.update({
                "groupName": group, "streamName": stream,
                "deepLink": f"https://console.aws.amazon.com/cloudwatch/home?region={region}"
                            f"#logEvent:group={group};stream={stream}",
                "cloudWatchLogsArn": f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{stream}",
            })
        now = store.epoch()
        source_version = params.get("sourceVersion") or p.get("sourceVersion")
        who = f"codepipeline/{job.pipeline_name}" if job is not None else initiator(ctx)
        doc: dict[str, Any] = {
            "id": build_id, "arn": arn, "startTime": now, "currentPhase": "QUEUED", "buildStatus": "IN_PROGRESS",
            "projectName": project.name,
            "phases": [{"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED", "startTime": now, "endTime": now,
                        "durationInSeconds": 0},
                       {"phaseType": "QUEUED", "startTime": now}],
            "source": source, "secondarySources": secondary, "secondarySourceVersions": list(secondary_versions),
            "artifacts": {"location": ""}, "secondaryArtifacts": [],
            "cache": params.get("cacheOverride") or p.get("cache") or {"type": "NO_CACHE"},
            "environment": environment, "serviceRole": role, "logs": logs,
            "timeoutInMinutes": timeout,
            "queuedTimeoutInMinutes": params.get("queuedTimeoutInMinutesOverride") or p.get("queuedTimeoutInMinutes") or 480,
            "buildComplete": False, "initiator": who,
            "encryptionKey": params.get("encryptionKeyOverride") or p.get("encryptionKey"),
        }
        if job is not None:
            inputs = job.inputs
            primary = next((a for a in inputs if a.name == job.primary_source), inputs[0] if inputs else None)
            if primary is not None:
                doc["sourceVersion"] = f"arn:aws:s3:::{primary.bucket}/{primary.key}"
            doc["secondarySources"] = [{"type": "CODEPIPELINE", "sourceIdentifier": a.name, "insecureSsl": False}
                                       for a in inputs if primary is None or a.name != primary.name]
            doc["secondarySourceVersions"] = [{"sourceIdentifier": a.name, "sourceVersion": f"arn:aws:s3:::{a.bucket}/{a.key}"}
                                              for a in inputs if primary is None or a.name != primary.name]
        elif source_version:
            doc["sourceVersion"] = source_version
        plan: dict[str, Any] = {
            "buildspecOverride": params.get("buildspecOverride"),
            "artifacts": artifacts, "secondaryArtifacts": secondary_artifacts,
            "params": {k: v for k, v in params.items() if k != "idempotencyToken"},
        }
        if job is not None:
            plan["pipeline"] = job.to_json()
        with self.backend.db.begin() as conn:
            number = store.next_build_number(conn, account, region, project.name)
            doc["buildNumber"] = number
            row = store.BuildRow(build_id, account, region, project.name, number, "IN_PROGRESS",
                                 store.out_time(now), number, doc, plan)  # type: ignore[arg-type]
            store.insert_build(conn, row)
        ctx.resources.append(arn)
        self._launch(row)
        return doc

    def _launch(self, row: store.BuildRow) -> None:
        run = BuildRun(self, row)
        self._runs[row.build_id] = run

        async def go() -> None:
            try:
                await self.emit_state(row, run.doc)
                queued = run.doc["phases"][-1]
                queued.update(phaseStatus="SUCCEEDED", endTime=store.epoch(), durationInSeconds=0)
                await self.emit_phase(row, run.doc, queued)
                await run.run()
            finally:
                self._runs.pop(row.build_id, None)

        task = asyncio.get_running_loop().create_task(go())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _builds(self, ids: list[str]) -> tuple[list[store.BuildRow], list[str]]:
        found, missing = [], []
        with self.backend.db.connect() as conn:
            for ident in ids:
                build_id = ident.split(":build/", 1)[1] if ":build/" in ident else ident
                row = store.get_build(conn, build_id)
                (found.append(row) if row else missing.append(ident))
        return found, missing

    def _doc(self, row: store.BuildRow) -> dict[str, Any]:
        run = self._runs.get(row.build_id)
        return run.doc if run is not None else row.doc

    def batch_get_builds(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if not params["ids"]:
            raise InvalidInput("Invalid input: ids must not be empty")
        found, missing = self._builds(params["ids"])
        mine = [r for r in found if r.account_id == ctx.account_id and r.region == ctx.region]
        missing += [r.build_id for r in found if r not in mine]
        return {"builds": [build_out(self._doc(r)) for r in mine], "buildsNotFound": missing}

    def list_builds(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            ids = store.list_builds(conn, ctx.account_id, ctx.region, None, params.get("sortOrder") != "ASCENDING")
        return listing("ids", ids, params)

    def list_builds_for_project(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        project = self._project(ctx, params["projectName"])
        with self.backend.db.connect() as conn:
            ids = store.list_builds(conn, ctx.account_id, ctx.region, project.name,
                                    params.get("sortOrder") != "ASCENDING")
        return listing("ids", ids, params)

    async def stop_build(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, _ = self._builds([params["id"]])
        if not found or found[0].account_id != ctx.account_id or found[0].region != ctx.region:
            raise ResourceNotFound(f"Build {params['id']} does not exist")
        row = found[0]
        ctx.resources.append(row.doc["arn"])
        run = self._runs.get(row.build_id)
        if run is not None:
            await run.stop()
            try:
                await asyncio.wait_for(asyncio.shield(run.done.wait()), 10)
            except TimeoutError:
                pass
            return {"build": build_out(run.doc)}
        with self.backend.db.connect() as conn:
            fresh = store.get_build(conn, row.build_id)
        return {"build": build_out((fresh or row).doc)}

    async def retry_build(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("id"):
            raise InvalidInput("Build id is required")
        found, _ = self._builds([params["id"]])
        if not found or found[0].account_id != ctx.account_id or found[0].region != ctx.region:
            raise ResourceNotFound(f"Build {params['id']} does not exist")
        old = found[0]
        if old.plan.get("pipeline"):
            raise InvalidInput("Builds started by CodePipeline are retried from the pipeline")
        if old.doc.get("buildStatus") == "IN_PROGRESS":
            raise InvalidInput("Only a build that has finished can be retried")
        project = self._project(ctx, old.project_name)
        doc = self._new_build(ctx, project, dict(old.plan.get("params") or {"projectName": old.project_name}), None)
        return {"build": build_out(doc)}

    def batch_delete_builds(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, missing = self._builds(params["ids"])
        deleted, failed = [], [{"id": m, "statusCode": "BUILD_NOT_FOUND"} for m in missing]
        from sqlalchemy import delete as sql_delete

        with self.backend.db.begin() as conn:
            for row in found:
                if row.account_id != ctx.account_id or row.region != ctx.region:
                    failed.append({"id": row.build_id, "statusCode": "BUILD_NOT_FOUND"})
                elif row.status == "IN_PROGRESS":
                    failed.append({"id": row.build_id, "statusCode": "BUILD_IN_PROGRESS"})
                else:
                    conn.execute(sql_delete(store.builds).where(store.builds.c.build_id == row.build_id))
                    deleted.append(row.build_id)
        return {"buildsDeleted": deleted, "buildsNotDeleted": failed}

    # -- events ---------------------------------------------------------------------------------

    @staticmethod
    def _additional(doc: dict[str, Any]) -> dict[str, Any]:
        logs = doc.get("logs") or {}
        info: dict[str, Any] = {
            "build-complete": bool(doc.get("buildComplete")),
            "initiator": doc.get("initiator"),
            "build-start-time": store.out_time(doc.get("startTime")).strftime("%b %d, %Y %I:%M:%S %p"),  # type: ignore[union-attr]
            "source": doc.get("source"),
            "environment": doc.get("environment"),
            "timeout-in-minutes": doc.get("timeoutInMinutes"),
            "logs": {"group-name": logs.get("groupName"), "stream-name": logs.get("streamName"),
                     "deep-link": logs.get("deepLink")},
            "artifact": doc.get("artifacts") or {},
            "phases": [{k: (store.out_time(v).isoformat() if k in ("startTime", "endTime") and v else v)  # type: ignore[union-attr]
                        for k, v in p.items()} for p in doc.get("phases") or []],
        }
        if doc.get("sourceVersion"):
            info["source-version"] = doc["sourceVersion"]
        return info

    async def emit_state(self, row: store.BuildRow, doc: dict[str, Any]) -> None:
        detail = {
            "build-status": doc["buildStatus"], "project-name": row.project_name, "build-id": doc["arn"],
            "additional-information": self._additional(doc), "current-phase": doc.get("currentPhase"),
            "current-phase-context": "[]", "version": "1",
        }
        await emit(self.backend, row.account_id, row.region, "aws.codebuild", "CodeBuild Build State Change",
                   detail, [doc["arn"]])

    async def emit_phase(self, row: store.BuildRow, doc: dict[str, Any], phase: dict[str, Any]) -> None:
        context = phase.get("contexts") or []
        detail = {
            "completed-phase": phase["phaseType"], "project-name": row.project_name, "build-id": doc["arn"],
            "completed-phase-context": "[" + ", ".join(f"{c.get('statusCode', '')}: {c.get('message', '')}"
                                                       for c in context) + "]",
            "additional-information": self._additional(doc),
            "completed-phase-status": phase.get("phaseStatus"),
            "completed-phase-duration-seconds": phase.get("durationInSeconds", 0),
            "version": "1",
            "completed-phase-start": store.out_time(phase.get("startTime")).strftime("%b %d, %Y %I:%M:%S %p"),  # type: ignore[union-attr]
            "completed-phase-end": store.out_time(phase.get("endTime") or phase.get("startTime")).strftime(  # type: ignore[union-attr]
                "%b %d, %Y %I:%M:%S %p"),
        }
        await emit(self.backend, row.account_id, row.region, "aws.codebuild", "CodeBuild Build Phase Change",
                   detail, [doc["arn"]])

    # -- crash recovery -------------------------------------------------------------------------

    async def resume(self) -> int:
        """Builds a crash interrupted: their shells are killed, their current phase and the build
        are marked FAILED with a context saying so, and the log lines CloudWatch missed are sent."""
        if self._resumed:
            return 0
        self._resumed = True
        try:
            with self.backend.db.connect() as conn:
                rows = [r for r in store.in_progress(conn) if r.build_id not in self._runs]
            for row in rows:
                await self._fail_interrupted(row)
            return len(rows)
        except Exception:  # start-up must not fail on one bad build
            log.exception("resuming CodeBuild builds failed")
            return 0

    async def _fail_interrupted(self, row: store.BuildRow) -> None:
        doc, plan = row.doc, row.plan
        if plan.get("pgid"):
            kill_leftovers(int(plan["pgid"]), f"CODEBUILD_BUILD_ID={row.build_id}")
        now = store.epoch()
        phase = doc["phases"][-1] if doc.get("phases") else None
        if phase is not None and "phaseStatus" not in phase:
            phase.update(phaseStatus="FAILED", endTime=now, durationInSeconds=int(round(now - phase["startTime"])),
                         contexts=[{"statusCode": "SERVER_RESTARTED", "message": RESTART_MESSAGE}])
        doc["phases"].append({"phaseType": "COMPLETED", "startTime": now})
        doc.update(currentPhase="COMPLETED", buildStatus="FAILED", buildComplete=True, endTime=now)
        plan.pop("pgid", None)
        with self.backend.db.begin() as conn:
            store.save_build(conn, row.build_id, doc, plan=plan)
        root = build_root(self.backend, row.build_id)
        logs = doc.get("logs") or {}
        if root.exists():
            sink = BuildLog(self.backend, row.account_id, row.region, logs.get("groupName"), logs.get("streamName"),
                            root / "build.log")
            try:
                sent = int(sink.sent_path.read_text().strip())
            except (OSError, ValueError):
                sent = 0
            try:
                lines = (root / "build.log").read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                lines = []
            sink.pending = lines[sent:]
            sink.sent = sent
            sink.add([f"[Container] {stamp()} {RESTART_MESSAGE}"])
            await sink.flush()
            for name in ("src", "sources", "venv", "state", "out", "download"):
                import shutil

                shutil.rmtree(root / name, ignore_errors=True)
        if phase is not None:
            await self.emit_phase(row, doc, phase)
        await self.emit_state(row, doc)

    def close(self) -> None:
        for run in list(self._runs.values()):
            if run.session is not None and run.session._proc is not None:
                try:
                    import os
                    import signal

                    os.killpg(run.session._proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        for task in list(self._tasks):
            task.cancel()


__all__ = ["CodeBuildProvider", "ServiceError"]
