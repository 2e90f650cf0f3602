"""One build, from PROVISIONING to COMPLETED.

The build document (what ``BatchGetBuilds`` returns) is saved at every phase change, so it is the
journal: after a crash :func:`fail_interrupted` marks what was running FAILED. The commands run in
:class:`seedbed.runtime.builds.shell.ShellSession`; output goes to the build's CloudWatch Logs
stream and to ``build.log`` in the build's folder (which outlives the build; the sources do not).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedbed.errors import ServiceError
from seedbed.runtime.builds import artifacts as files
from seedbed.runtime.builds import pyenv
from seedbed.runtime.builds.shell import PhaseOutcome, ShellSession
from seedbed.runtime.credentials import RoleSession, assume_for_service
from seedbed.runtime.logsink import LogStream
from seedbed.services.codebuild import buildspec as specs
from seedbed.services.codebuild import store
from seedbed.services.codebuild.projects import GIT_TYPES

if TYPE_CHECKING:
    from seedbed.services.codebuild.provider import CodeBuildProvider

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5
SUCCESS_CONTEXT = [{"statusCode": "", "message": ""}]
COMMAND_PHASES = (("INSTALL", "install"), ("PRE_BUILD", "pre_build"), ("BUILD", "build"), ("POST_BUILD", "post_build"))


class PhaseError(Exception):
    """Fails the current phase with a context (status code and message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def stamp() -> str:
    now = time.time()
    return time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}"


def build_root(backend: Any, build_id: str) -> Path:
    return Path(backend.settings.data_dir) / "codebuild" / "builds" / build_id.rsplit(":", 1)[-1]


class BuildLog:
    """Lines of one build: appended to ``build.log`` at once, sent to CloudWatch Logs in batches.
    ``build.log.sent`` counts the lines CloudWatch has, so a restart can send the rest."""

    def __init__(self, backend: Any, account: str, region: str, group: str | None, stream: str | None, path: Path) -> None:
        self.path = path
        self.sent_path = path.with_name(path.name + ".sent")
        self.stream = LogStream(backend, account, region, group, stream) if group and stream else None
        self.pending: list[str] = []
        self.sent = 0
        self._lock = asyncio.Lock()

    def add(self, lines: list[str]) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.writelines(line.rstrip("\n") + "\n" for line in lines)
        self.pending.extend(lines)

    def container(self, message: str) -> None:
        self.add([f"[Container] {stamp()} {message}"])

    async def flush(self) -> None:
        async with self._lock:
            if not self.pending:
                return
            batch, self.pending = self.pending, []
            if self.stream is None:
                return
            try:
                await self.stream.write(batch)
            except ServiceError as exc:
                if exc.code == "NotImplemented":  # the Logs service is not in this build
                    self.stream = None
                    return
                log.warning("build log lines lost to CloudWatch Logs: %s: %s", exc.code, exc.message)
                return
            self.sent += len(batch)
            try:
                self.sent_path.write_text(str(self.sent))
            except OSError:
                pass


class BuildRun:
    """Runs one build; the provider keeps it in ``_runs`` while it runs (for StopBuild)."""

    def __init__(self, provider: CodeBuildProvider, row: store.BuildRow) -> None:
        self.provider = provider
        self.backend = provider.backend
        self.row = row
        self.doc = row.doc
        self.plan = row.plan
        self.root = build_root(self.backend, row.build_id)
        self.src = self.root / "src"
        self.session: ShellSession | None = None
        self.role: RoleSession | None = None
        self.spec: specs.Buildspec | None = None
        self.stop_requested = False
        self.succeeding = True
        self.final_status = "SUCCEEDED"
        self.env: dict[str, str] = {}
        self.secondary_dirs: dict[str, Path] = {}
        logs = self.doc.get("logs") or {}
        self.root.mkdir(parents=True, exist_ok=True)
        self.log = BuildLog(self.backend, row.account_id, row.region, logs.get("groupName"), logs.get("streamName"),
                            self.root / "build.log")
        self.deadline = time.monotonic() + 60 * int(self.doc.get("timeoutInMinutes") or 60)
        self.done = asyncio.Event()

    # -- journal and events ---------------------------------------------------------------------

    def save(self) -> None:
        with self.backend.db.begin() as conn:
            store.save_build(conn, self.row.build_id, self.doc, plan=self.plan)

    async def emit_state(self) -> None:
        await self.provider.emit_state(self.row, self.doc)

    def begin(self, phase: str) -> None:
        self.doc["phases"].append({"phaseType": phase, "startTime": store.epoch()})
        self.doc["currentPhase"] = phase
        self.save()
        if phase != "COMPLETED":
            self.log.container(f"Entering phase {phase}")

    async def end(self, status: str, code: str = "", message: str = "") -> None:
        phase = self.doc["phases"][-1]
        phase["phaseStatus"] = status
        phase["endTime"] = store.epoch()
        phase["durationInSeconds"] = int(round(phase["endTime"] - phase["startTime"]))
        phase["contexts"] = [{"statusCode": code, "message": message}]
        self.save()
        self.log.container(f"Phase complete: {phase['phaseType']} State: {status}")
        self.log.container(f"Phase context status code: {code} Message: {message}")
        await self.provider.emit_phase(self.row, self.doc, phase)
        await self.log.flush()

    # -- the run --------------------------------------------------------------------------------

    async def run(self) -> None:
        flusher = asyncio.ensure_future(self._flush_loop())
        try:
            await self._run()
        except Exception as exc:  # a bug must still end the build
            log.exception("build %s failed unexpectedly", self.row.build_id)
            phase = self.doc["phases"][-1] if self.doc["phases"] else None
            if phase is not None and "phaseStatus" not in phase:
                await self.end("FAULT", "INTERNAL_ERROR", f"Seedbed failed running the build: {exc}")
            self.final_status = "FAULT"
            await self._complete()
        finally:
            flusher.cancel()
            await self.log.flush()
            self._cleanup()
            self.done.set()

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self.log.flush()

    async def _run(self) -> None:
        self.log.container("Running on Seedbed (local build environment; image "
                           f"{self.doc['environment'].get('image')} recorded, local runtimes used)")
        await self._phase("PROVISIONING", self._provision)
        ok = self.final_status == "SUCCEEDED"
        if ok:
            await self._phase("DOWNLOAD_SOURCE", self._download_source)
            ok = self.final_status == "SUCCEEDED"
        reached_build = False
        if ok:
            for phase, key in COMMAND_PHASES:
                if self.stop_requested or self.final_status in ("TIMED_OUT", "STOPPED"):
                    break
                if phase == "BUILD":
                    reached_build = True
                outcome = await self._commands(phase, key)
                if outcome is None:
                    continue
                if outcome.status in ("TIMED_OUT", "STOPPED"):
                    break
                if outcome.status == "FAILED":
                    on_failure = self.spec.phases[key].on_failure if self.spec and key in self.spec.phases else "ABORT"
                    if on_failure == "CONTINUE":
                        continue
                    if phase in ("INSTALL", "PRE_BUILD"):
                        break
                    if phase == "BUILD":
                        continue  # POST_BUILD still runs, as on CodeBuild
                    break
        if reached_build and self.final_status not in ("TIMED_OUT", "STOPPED"):
            await self._phase("UPLOAD_ARTIFACTS", self._upload_artifacts)
        await self._complete()

    async def _complete(self) -> None:
        if not self.doc["phases"] or self.doc["phases"][-1]["phaseType"] != "FINALIZING":
            self.begin("FINALIZING")
            await self.end("SUCCEEDED")
        self.begin("COMPLETED")
        self.doc["buildStatus"] = self.final_status
        self.doc["buildComplete"] = True
        self.doc["endTime"] = self.doc["phases"][-1]["startTime"]
        if self.session is not None and self.spec is not None and self.spec.exported_variables:
            final = self.session.final_environment()
            self.doc["exportedEnvironmentVariables"] = [
                {"name": name, "value": final.get(name, "")} for name in self.spec.exported_variables
            ]
        self.plan.pop("pgid", None)
        self.save()
        await self.emit_state()

    def _fail(self, status: str = "FAILED") -> None:
        self.succeeding = False
        if self.final_status == "SUCCEEDED" or status in ("TIMED_OUT", "STOPPED"):
            self.final_status = status

    async def _phase(self, phase: str, work: Any) -> None:
        self.begin(phase)
        try:
            await work()
        except PhaseError as exc:
            self.log.container(exc.message)
            self._fail()
            await self.end("FAILED", exc.code, exc.message)
            return
        if self.stop_requested:
            self._fail("STOPPED")
            await self.end("STOPPED", "BUILD_STOPPED", "Build was stopped")
            return
        await self.end("SUCCEEDED")

    async def _commands(self, phase: str, key: str) -> PhaseOutcome | None:
        spec = self.spec.phases.get(key) if self.spec else None
        self.begin(phase)
        if spec is None or not (spec.commands or spec.finally_commands):
            await self.end("SUCCEEDED")
            return None
        if spec.runtime_versions:
            wanted = ", ".join(f"{k}: {v}" for k, v in spec.runtime_versions.items())
            self.log.container(f"runtime-versions ({wanted}) accepted; Seedbed builds use the local runtimes")
        assert self.session is not None

        def remember(pgid: int) -> None:
            self.plan["pgid"] = pgid
            self.save()

        outcome = await self.session.run_phase(
            phase, spec.commands, spec.finally_commands, self.log.add, self.deadline,
            overrides={"CODEBUILD_BUILD_SUCCEEDING": "1" if self.succeeding else "0"}, on_start=remember,
        )
        if outcome.status == "SUCCEEDED":
            await self.end("SUCCEEDED")
        elif outcome.status == "FAILED":
            self._fail()
            await self.end("FAILED", "COMMAND_EXECUTION_ERROR", outcome.message)
        elif outcome.status == "TIMED_OUT":
            self._fail("TIMED_OUT")
            self.log.container("Build timed out")
            await self.end("TIMED_OUT", "BUILD_TIMED_OUT", "Build has timed out. ")
        else:
            self._fail("STOPPED")
            await self.end("STOPPED", "BUILD_STOPPED", "Build was stopped")
        return outcome

    async def stop(self) -> None:
        self.stop_requested = True
        if self.session is not None:
            await self.session.stop()

    def _cleanup(self) -> None:
        for name in ("src", "sources", "venv", "state", "out", "download"):
            shutil.rmtree(self.root / name, ignore_errors=True)

    # -- PROVISIONING ---------------------------------------------------------------------------

    async def _provision(self) -> None:
        role_arn = self.doc["serviceRole"]
        timeout = 60 * int(self.doc.get("timeoutInMinutes") or 60)
        try:
            self.role = assume_for_service(
                self.backend, role_arn, "codebuild.amazonaws.com", f"AWSCodeBuild-{self.row.build_id.rsplit(':', 1)[-1]}",
                duration=max(3600, min(timeout + 600, 43200)), source_account=self.row.account_id,
                source_arn=self.doc["arn"].rsplit(":build/", 1)[0] + f":project/{self.row.project_name}",
            )
        except ServiceError as exc:
            raise PhaseError("CLIENT_ERROR", f"Unable to assume the service role {role_arn}: {exc.message}") from None
        for sub in ("src", "state", "out", "download"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        try:
            self.venv_bin = await asyncio.to_thread(pyenv.create, self.root / "venv")
        except (OSError, subprocess.CalledProcessError) as exc:
            raise PhaseError("CLIENT_ERROR", f"Could not prepare the build's Python environment: {exc}") from None

    # -- DOWNLOAD_SOURCE ------------------------------------------------------------------------

    async def _s3_get(self, bucket: str, key: str, version: str | None = None) -> tuple[bytes, dict[str, Any]]:
        from seedbed.cloudformation.engine import read_body

        assert self.role is not None
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version:
            params["VersionId"] = version
        out = await self.backend.call(self.role.principal, "s3", "GetObject", params, self.row.region)
        return await read_body(out.get("Body")), out

    async def _unpack(self, data: bytes, target: Path, name: str) -> None:
        archive = self.root / "download" / f"{name}.zip"
        await asyncio.to_thread(archive.write_bytes, data)
        try:
            await asyncio.to_thread(files.extract_zip, archive, target)
        except Exception as exc:  # noqa: BLE001 - zipfile raises several kinds
            raise PhaseError("CLIENT_ERROR", f"the source {name} is not a valid zip archive: {exc}") from None
        finally:
            archive.unlink(missing_ok=True)

    async def _fetch(self, source: dict[str, Any], version: str | None, target: Path) -> str | None:
        """Put ``source`` into ``target``; returns the resolved source version."""
        kind = source["type"]
        target.mkdir(parents=True, exist_ok=True)
        if kind == "NO_SOURCE":
            return None
        if kind == "S3":
            location = str(source["location"]).removeprefix("arn:aws:s3:::")
            bucket, _, key = location.partition("/")
            try:
                if key.endswith("/"):
                    return await self._fetch_prefix(bucket, key, target)
                data, out = await self._s3_get(bucket, key, version)
            except ServiceError as exc:
                raise PhaseError("CLIENT_ERROR", f"error while downloading key {key}: {exc.code}: {exc.message}") from None
            await self._unpack(data, target, source.get("sourceIdentifier") or "src")
            return out.get("VersionId") or version
        if kind in GIT_TYPES:
            return await self._clone(source, version, target)
        raise PhaseError("CLIENT_ERROR", f"source type {kind} needs a pipeline (start the build from CodePipeline)")

    async def _fetch_prefix(self, bucket: str, prefix: str, target: Path) -> None:
        assert self.role is not None
        token = None
        while True:
            params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
            if token:
                params["ContinuationToken"] = token
            page = await self.backend.call(self.role.principal, "s3", "ListObjectsV2", params, self.row.region)
            for obj in page.get("Contents") or []:
                rel = obj["Key"][len(prefix):]
                if not rel or rel.endswith("/"):
                    continue
                data, _ = await self._s3_get(bucket, obj["Key"])
                dest = (target / rel).resolve()
                if str(dest).startswith(str(target.resolve())):
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    await asyncio.to_thread(dest.write_bytes, data)
            token = page.get("NextContinuationToken")
            if not token:
                return None

    async def _clone(self, source: dict[str, Any], version: str | None, target: Path) -> str:
        try:
            from seedbed import gitserver  # provided by the git hosting work
        except ImportError:
            raise PhaseError("CLIENT_ERROR", "git sources need Seedbed's git hosting, which this build lacks") from None
        location = str(source["location"])
        kind = "codecommit" if source["type"] == "CODECOMMIT" else "connection"
        path = location.split("?", 1)[0].rstrip("/").removesuffix(".git")
        if kind == "codecommit":
            name = path.rsplit("/", 1)[-1]
        else:
            name = "/".join(path.split("/")[-2:])
        try:
            repo = gitserver.repository_path(self.backend, self.row.account_id, self.row.region, kind, name)
        except Exception as exc:  # noqa: BLE001 - the git hosting's own errors
            raise PhaseError("CLIENT_ERROR", f"repository {name} not found: {exc}") from None
        if repo is None or not Path(repo).exists():
            raise PhaseError("CLIENT_ERROR", f"repository {name} not found")
        shutil.rmtree(target, ignore_errors=True)

        def git(*args: str, cwd: Path | None = None) -> str:
            done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
                                  env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
            if done.returncode != 0:
                raise PhaseError("CLIENT_ERROR", f"git {args[0]} failed: {done.stderr.strip()[-500:]}")
            return done.stdout.strip()

        def work() -> str:
            git("clone", "--quiet", "--no-hardlinks", str(repo), str(target))
            if version:
                ref = version.removeprefix("refs/heads/")
                try:
                    git("checkout", "--quiet", ref, cwd=target)
                except PhaseError:
                    git("fetch", "--quiet", "origin", version, cwd=target)
                    git("checkout", "--quiet", "FETCH_HEAD", cwd=target)
            return git("rev-parse", "HEAD", cwd=target)

        return await asyncio.to_thread(work)

    async def _download_source(self) -> None:
        pipeline = self.plan.get("pipeline")
        source = self.doc["source"]
        if pipeline:
            await self._download_pipeline(pipeline)
        else:
            resolved = await self._fetch(source, self.doc.get("sourceVersion"), self.src)
            if resolved:
                self.doc["resolvedSourceVersion"] = resolved
            versions = {v["sourceIdentifier"]: v["sourceVersion"] for v in self.doc.get("secondarySourceVersions") or []}
            for extra in self.doc.get("secondarySources") or []:
                ident = extra["sourceIdentifier"]
                target = self.root / "sources" / ident
                await self._fetch(extra, versions.get(ident), target)
                self.secondary_dirs[ident] = target
        self.spec = await self._buildspec()
        self.env = await self._environment()
        self.session = ShellSession(self.root / "state", self.env)

    async def _download_pipeline(self, pipeline: dict[str, Any]) -> None:
        inputs = pipeline.get("inputs") or []
        primary = pipeline.get("primary") or (inputs[0]["name"] if inputs else None)
        for item in inputs:
            target = self.src if item["name"] == primary else self.root / "sources" / item["name"]
            try:
                data, _ = await self._s3_get(item["bucket"], item["key"])
            except ServiceError as exc:
                raise PhaseError("CLIENT_ERROR", f"error while downloading the input artifact {item['name']}: "
                                                 f"{exc.code}: {exc.message}") from None
            await self._unpack(data, target, item["name"])
            if item["name"] != primary:
                self.secondary_dirs[item["name"]] = target

    async def _buildspec(self) -> specs.Buildspec:
        text = self.plan.get("buildspecOverride") or self.doc["source"].get("buildspec") or ""
        inline = False
        if text.strip():
            try:
                import yaml

                parsed = yaml.safe_load(text)
                inline = isinstance(parsed, dict)
            except Exception:  # noqa: BLE001 - not YAML: a path
                inline = False
        if not inline:
            rel = text.strip() or "buildspec.yml"
            if rel.startswith("arn:aws:s3:::"):
                bucket, _, key = rel.removeprefix("arn:aws:s3:::").partition("/")
                try:
                    data, _ = await self._s3_get(bucket, key)
                except ServiceError as exc:
                    raise PhaseError("YAML_FILE_ERROR", f"could not read the buildspec {rel}: {exc.message}") from None
                text = data.decode("utf-8", errors="replace")
            else:
                # A path names a file in the primary source, or `<sourceIdentifier>/<path>`.
                path = (self.src / rel).resolve()
                if not path.is_file():
                    ident, _, rest = rel.partition("/")
                    if ident in self.secondary_dirs and (self.secondary_dirs[ident] / rest).is_file():
                        path = self.secondary_dirs[ident] / rest
                if not path.is_file():
                    raise PhaseError("YAML_FILE_ERROR", f"stat {rel}: no such file or directory")
                text = path.read_text(encoding="utf-8", errors="replace")
        try:
            return specs.parse(text)
        except specs.BuildspecError as exc:
            raise PhaseError("YAML_FILE_ERROR", str(exc)) from None

    async def _resolve(self, kind: str, reference: str) -> str:
        assert self.role is not None
        if kind == "PARAMETER_STORE":
            try:
                out = await self.backend.call(self.role.principal, "ssm", "GetParameter",
                                              {"Name": reference, "WithDecryption": True}, self.row.region)
            except ServiceError as exc:
                raise PhaseError("Parameter Store Error" if exc.code != "AccessDeniedException" else "ACCESS_DENIED",
                                 f"parameter {reference}: {exc.code}: {exc.message}") from None
            return str(out["Parameter"]["Value"])
        secret_id, json_key, stage, version = specs.secret_reference(reference)
        params: dict[str, Any] = {"SecretId": secret_id}
        if stage:
            params["VersionStage"] = stage
        if version:
            params["VersionId"] = version
        try:
            out = await self.backend.call(self.role.principal, "secretsmanager", "GetSecretValue", params, self.row.region)
        except ServiceError as exc:
            raise PhaseError("Secrets Manager Error", f"secret {secret_id}: {exc.code}: {exc.message}") from None
        value = out.get("SecretString")
        if value is None:
            raise PhaseError("Secrets Manager Error", f"secret {secret_id} has no SecretString")
        if json_key:
            try:
                data = json.loads(value)
                picked = data[json_key]
            except (ValueError, KeyError, TypeError):
                raise PhaseError("Secrets Manager Error",
                                 f"secret {secret_id} has no JSON key {json_key}") from None
            value = picked if isinstance(picked, str) else json.dumps(picked)
        return value

    async def _environment(self) -> dict[str, str]:
        assert self.role is not None and self.spec is not None
        user: dict[str, str] = {}
        # Lowest first: the buildspec, then the project (with StartBuild's overrides on top).
        user.update(self.spec.variables)
        for name, ref in self.spec.parameter_store.items():
            user[name] = await self._resolve("PARAMETER_STORE", ref)
        for name, ref in self.spec.secrets_manager.items():
            user[name] = await self._resolve("SECRETS_MANAGER", ref)
        for var in self.doc["environment"].get("environmentVariables") or []:
            kind = var.get("type") or "PLAINTEXT"
            user[var["name"]] = var["value"] if kind == "PLAINTEXT" else await self._resolve(kind, var["value"])
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("AWS_", "SEEDBED_", "CODEBUILD_", "VIRTUAL_ENV", "PYTHON"))}
        server_bin = str(Path(sys.executable).parent)
        path = base.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        base["PATH"] = os.pathsep.join([str(self.venv_bin), server_bin, path])
        base["VIRTUAL_ENV"] = str(self.root / "venv")
        base["HOME"] = base.get("HOME") or str(self.root)
        base["AWS_EC2_METADATA_DISABLED"] = "true"
        base["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        base.update(self.role.environment(self.backend, self.row.region))
        base.update(user)
        logs = self.doc.get("logs") or {}
        base.update({
            "CODEBUILD_BUILD_ARN": self.doc["arn"],
            "CODEBUILD_BUILD_ID": self.row.build_id,
            "CODEBUILD_BUILD_IMAGE": str(self.doc["environment"].get("image") or ""),
            "CODEBUILD_BUILD_NUMBER": str(self.row.build_number),
            "CODEBUILD_BUILD_SUCCEEDING": "1",
            "CODEBUILD_INITIATOR": str(self.doc.get("initiator") or ""),
            "CODEBUILD_KMS_KEY_ID": str(self.doc.get("encryptionKey") or ""),
            "CODEBUILD_LOG_PATH": str(logs.get("streamName") or ""),
            "CODEBUILD_PROJECT_ARN": self.doc["arn"].rsplit(":build/", 1)[0] + f":project/{self.row.project_name}",
            "CODEBUILD_RESOLVED_SOURCE_VERSION": str(self.doc.get("resolvedSourceVersion") or ""),
            "CODEBUILD_SOURCE_REPO_URL": str(self.doc["source"].get("location") or ""),
            "CODEBUILD_SOURCE_VERSION": str(self.doc.get("sourceVersion") or ""),
            "CODEBUILD_SRC_DIR": str(self.src),
            "CODEBUILD_START_TIME": str(int(self.doc["startTime"] * 1000)),
            "CODEBUILD_BUILD_URL": f"{self.backend.settings.endpoint_url}/_seedbed/codebuild/{self.row.build_id}",
        })
        for ident, folder in self.secondary_dirs.items():
            base[f"CODEBUILD_SRC_DIR_{ident}"] = str(folder)
        return base

    # -- UPLOAD_ARTIFACTS -----------------------------------------------------------------------

    def _select(self, spec: specs.ArtifactSpec | None) -> list[tuple[Path, str]]:
        if spec is None or not spec.files:
            return []
        return self.select_files(spec.files, spec.base_directory, spec.discard_paths, spec.exclude_paths)

    def select_files(self, patterns: list[str], base_directory: str | None, discard_paths: bool,
                     exclude_paths: list[str] | None = None) -> list[tuple[Path, str]]:
        """Files of the source folder matching ``patterns``, with their names in an artifact.
        Paths may name environment variables (`- $EXPORT_TEMPLATE_NAME`), as CodeBuild expands them."""
        return files.select(self.src, [self._expand(f) for f in patterns],
                            self._expand(base_directory) if base_directory else base_directory,
                            discard_paths, exclude_paths or [])

    def _expand(self, text: str) -> str:
        env = self.session.final_environment() if self.session else self.env
        return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), ""), text)

    async def put_object(self, bucket: str, key: str, body: bytes) -> None:
        """An object written to S3 as the build role."""
        assert self.role is not None
        await self.backend.call(self.role.principal, "s3", "PutObject", {"Bucket": bucket, "Key": key, "Body": body},
                                self.row.region)

    async def _put(self, bucket: str, key: str, body: bytes) -> None:
        try:
            await self.put_object(bucket, key, body)
        except ServiceError as exc:
            raise PhaseError("CLIENT_ERROR", f"Error uploading artifacts to {bucket}/{key}: {exc.code}: {exc.message}") from None

    async def _upload_artifacts(self) -> None:
        assert self.spec is not None
        if self.spec.reports:
            from seedbed.services.codebuild.reports import write_reports

            await write_reports(self)
        primary = self.spec.artifacts
        pipeline = self.plan.get("pipeline")
        if pipeline:
            for i, out in enumerate(pipeline.get("outputs") or []):
                spec = primary if i == 0 and (primary is None or out["name"] not in primary.secondary) else (
                    primary.secondary.get(out["name"]) if primary else None)
                entries = self._select(spec)
                if not entries:
                    raise PhaseError("CLIENT_ERROR", "no matching artifact paths found")
                zipped = self.root / "out" / f"{out['name']}.zip"
                await asyncio.to_thread(files.write_zip, entries, zipped)
                await self._put(out["bucket"], out["key"], await asyncio.to_thread(zipped.read_bytes))
                location = f"arn:aws:s3:::{out['bucket']}/{out['key']}"
                if i == 0:
                    self.doc["artifacts"] = {"location": location}
                else:
                    self.doc.setdefault("secondaryArtifacts", []).append({"location": location, "artifactIdentifier": out["name"]})
            return
        project_artifacts = self.plan.get("artifacts") or {"type": "NO_ARTIFACTS"}
        self.doc["artifacts"] = await self._upload_one(project_artifacts, primary)
        outs = []
        for extra in self.plan.get("secondaryArtifacts") or []:
            ident = extra.get("artifactIdentifier")
            spec = primary.secondary.get(ident) if primary else None
            if spec is None:
                raise PhaseError("CLIENT_ERROR", f"secondary artifact {ident} is not in the buildspec")
            outs.append({**await self._upload_one(extra, spec), "artifactIdentifier": ident})
        if outs:
            self.doc["secondaryArtifacts"] = outs

    async def _upload_one(self, target: dict[str, Any], spec: specs.ArtifactSpec | None) -> dict[str, Any]:
        if target.get("type") != "S3":
            return {"location": ""}
        entries = self._select(spec)
        if not entries:
            raise PhaseError("CLIENT_ERROR", "no matching artifact paths found")
        bucket = target["location"]
        name = target.get("name") or self.row.project_name
        if target.get("overrideArtifactName") and spec is not None and spec.name:
            name = self._expand(spec.name)
        parts = [p.strip("/") for p in (target.get("path") or "",) if p.strip("/")]
        if target.get("namespaceType") == "BUILD_ID":
            parts.append(self.row.build_id.rsplit(":", 1)[-1])
        if name and name != "/":
            parts.append(name.strip("/"))
        key = "/".join(parts)
        if target.get("packaging") == "ZIP":
            zipped = self.root / "out" / "artifact.zip"
            await asyncio.to_thread(files.write_zip, entries, zipped)
            await self._put(bucket, key, await asyncio.to_thread(zipped.read_bytes))
        else:
            for path, arcname in entries:
                if path.is_file():
                    await self._put(bucket, f"{key}/{arcname}" if key else arcname, await asyncio.to_thread(path.read_bytes))
        self.log.container(f"Uploaded {len(entries)} artifact file(s) to s3://{bucket}/{key}")
        return {"location": f"arn:aws:s3:::{bucket}/{key}"}
