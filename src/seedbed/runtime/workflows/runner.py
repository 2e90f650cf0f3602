"""Running a workflow: jobs in ``needs`` order, each in a fresh folder, steps with bash.

A run is one document in ``workflow_runs`` (jobs, steps, outputs, approvals), saved after every
step, so ``seedbed workflows runs/logs`` see it live. A job with an ``environment`` waits for an
approval (the environment's required reviewers), answered with ``seedbed workflows approve RUN``;
a waiting run survives a restart, a run that was executing when the server died ends failed.

Steps run ``bash -e`` in the job's folder (``$GITHUB_WORKSPACE``) with the workflow, job and step
``env``, the ``GITHUB_*`` variables, and ``$GITHUB_OUTPUT`` / ``$GITHUB_ENV`` / ``$GITHUB_PATH``.
Local equivalents of a few actions (see :data:`ACTIONS`); any other ``uses:`` fails its step with
the action's name. Log lines go to a file per job and to CloudWatch Logs, group
``/seedbed/workflows/<owner>/<repo>``, stream ``<run id>/<job>``.
"""

from __future__ import annotations

import asyncio
import glob
import logging
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedbed.runtime.workflows import expressions, store
from seedbed.runtime.workflows.expressions import interpolate

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

log = logging.getLogger(__name__)

_running: dict[str, asyncio.Task] = {}


def run_dir(backend: Backend, run_id: str) -> Path:
    return backend.settings.data_dir / "workflows" / run_id


def log_path(backend: Backend, run_id: str, job: str) -> Path:
    return run_dir(backend, run_id) / "logs" / f"{job}.log"


def _order(jobs: dict[str, Any]) -> list[str]:
    done: list[str] = []
    pending = list(jobs)
    while pending:
        ready = [j for j in pending if all(n in done for n in _needs(jobs[j]))]
        if not ready:
            raise ValueError(f"jobs have unknown or circular needs: {', '.join(pending)}")
        done += ready
        pending = [j for j in pending if j not in ready]
    return done


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def _environment(job: dict[str, Any]) -> str | None:
    env = job.get("environment")
    if isinstance(env, dict):
        return env.get("name")
    return env or None


async def create_run(backend: Backend, account_id: str, region: str, repository: str, workflow_path: str,
                     definition: dict[str, Any], event: str, ref: str, sha: str, actor: str,
                     inputs: dict[str, Any] | None = None) -> str:
    run_id = str(uuid.uuid4())
    jobs = definition.get("jobs") or {}
    doc = {
        "name": definition.get("name") or workflow_path.rsplit("/", 1)[-1], "event": event, "ref": ref, "sha": sha,
        "actor": actor, "inputs": inputs or {}, "definition": definition,
        "jobs": {j: {"status": "queued", "conclusion": None, "outputs": {}, "steps": [],
                     "environment": _environment(jobs[j] or {})} for j in jobs},
    }
    with backend.db.begin() as conn:
        number = store.next_number(conn, account_id, region, repository)
        now = store.now()
        store.add_run(conn, run_id=run_id, account_id=account_id, region=region, repository=repository,
                      run_number=number, workflow=workflow_path, status="queued", conclusion=None,
                      created=now, updated=now, doc=doc)
    start(backend, run_id)
    return run_id


def start(backend: Backend, run_id: str) -> None:
    if run_id in _running and not _running[run_id].done():
        return
    task = asyncio.get_running_loop().create_task(_execute(backend, run_id))
    _running[run_id] = task


async def _save(backend: Backend, run_id: str, doc: dict[str, Any], status: str, conclusion: str | None = None) -> None:
    with backend.db.begin() as conn:
        store.save_run(conn, run_id, doc=doc, status=status, conclusion=conclusion)


async def _execute(backend: Backend, run_id: str) -> None:
    with backend.db.connect() as conn:
        run = store.get_run(conn, run_id)
    if run is None or run["status"] == "completed":
        return
    doc = run["doc"]
    definition = doc["definition"]
    jobs = definition.get("jobs") or {}
    try:
        order = _order(jobs)
    except ValueError as exc:
        doc["error"] = str(exc)
        await _save(backend, run_id, doc, "completed", "failure")
        return
    secrets = _secrets(backend, run)
    for name in order:
        state = doc["jobs"][name]
        if state["status"] == "completed":
            continue
        job = jobs[name] or {}
        needs = {n: {"result": doc["jobs"][n]["conclusion"], "outputs": doc["jobs"][n]["outputs"]} for n in _needs(job)}
        failed_before = any(doc["jobs"][n]["conclusion"] not in ("success", "skipped") for n in _needs(job))
        contexts = _contexts(backend, run, doc, secrets, needs, {}, {})
        status = "failure" if failed_before else "success"
        if not expressions.condition(job.get("if"), contexts, lambda s=status: s):
            state.update(status="completed", conclusion="skipped")
            await _save(backend, run_id, doc, "in_progress")
            continue
        if state["environment"] and not state.get("approval"):
            state["status"] = "waiting"
            await _save(backend, run_id, doc, "waiting")
            return  # approve() starts the run again
        if state.get("approval", {}).get("state") == "rejected":
            state.update(status="completed", conclusion="failure")
            await _save(backend, run_id, doc, "in_progress")
            continue
        state["status"] = "in_progress"
        await _save(backend, run_id, doc, "in_progress")
        try:
            await _run_job(backend, run, doc, name, job, secrets, needs)
        except Exception as exc:  # a bug or an OS error: the job fails, the run goes on
            log.exception("workflow job %s of run %s failed", name, run_id)
            state["error"] = str(exc)
            state.update(status="completed", conclusion="failure")
        await _save(backend, run_id, doc, "in_progress")
    conclusions = [j["conclusion"] for j in doc["jobs"].values()]
    conclusion = "failure" if "failure" in conclusions else "success"
    await _save(backend, run_id, doc, "completed", conclusion)


def _secrets(backend: Backend, run: dict[str, Any]) -> dict[str, str]:
    with backend.db.connect() as conn:
        found = store.get_secrets(conn, backend.settings.data_dir, run["account_id"], run["region"], run["repository"])
    return {"GITHUB_TOKEN": "", **found}


def _contexts(backend: Backend, run: dict[str, Any], doc: dict[str, Any], secrets: dict[str, str],
              needs: dict[str, Any], env: dict[str, str], steps: dict[str, Any]) -> dict[str, Any]:
    owner = run["repository"].partition("/")[0]
    ref = doc["ref"]
    github = {
        "repository": run["repository"], "repository_owner": owner, "event_name": doc["event"], "ref": ref,
        "ref_name": ref.rsplit("/", 1)[-1] if ref.startswith("refs/heads/") else ref, "sha": doc["sha"],
        "run_id": run["run_id"], "run_number": run["run_number"], "actor": doc["actor"],
        "workflow": doc["name"], "server_url": f"{backend.settings.endpoint_url}/_seedbed/github",
        "api_url": f"{backend.settings.endpoint_url}/_seedbed/github/api/v3",
        "event": {"inputs": doc["inputs"]},
    }
    return {"github": github, "env": env, "secrets": secrets, "inputs": doc["inputs"], "needs": needs,
            "steps": steps, "runner": {"os": "Linux", "arch": "X64", "temp": "/tmp"}, "vars": {}, "matrix": {}}


class _JobLog:
    def __init__(self, backend: Backend, run: dict[str, Any], job: str) -> None:
        from seedbed.runtime.logsink import LogStream

        self.path = log_path(backend, run["run_id"], job)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self.stream = LogStream(backend, run["account_id"], run["region"], f"/seedbed/workflows/{run['repository']}",
                                f"{run['run_id']}/{job}")
        self.pending: list[str] = []

    async def write(self, line: str) -> None:
        self.file.write(line.rstrip("\n") + "\n")
        self.file.flush()
        self.pending.append(line)
        if len(self.pending) >= 50:
            await self.flush()

    async def flush(self) -> None:
        lines, self.pending = self.pending, []
        try:
            await self.stream.write(lines)
        except Exception as exc:  # noqa: BLE001 - the local file keeps the log regardless
            log.debug("CloudWatch Logs unavailable for workflow logs: %s", exc)

    async def close(self) -> None:
        await self.flush()
        self.file.close()


async def _run_job(backend: Backend, run: dict[str, Any], doc: dict[str, Any], name: str, job: dict[str, Any],
                   secrets: dict[str, str], needs: dict[str, Any]) -> None:
    state = doc["jobs"][name]
    workspace = run_dir(backend, run["run_id"]) / "jobs" / name
    shutil.rmtree(workspace, ignore_errors=True)
    workspace.mkdir(parents=True)
    files = workspace.parent / f".{name}-files"
    files.mkdir(exist_ok=True)
    joblog = _JobLog(backend, run, name)
    env: dict[str, str] = {}
    extra_path: list[str] = []
    steps_ctx: dict[str, Any] = {}
    status = "success"
    deadline = time.monotonic() + 60 * float(job.get("timeout-minutes") or 360)
    try:
        base_ctx = _contexts(backend, run, doc, secrets, needs, {}, {})
        for scope in (doc["definition"].get("env") or {}, job.get("env") or {}):
            for k, v in scope.items():
                env[k] = expressions.to_string(interpolate(v, {**base_ctx, "env": env}))
        for index, step in enumerate(job.get("steps") or []):
            step = step or {}
            label = step.get("name") or step.get("uses") or (str(step.get("run", "")).splitlines() or ["run"])[0]
            record = {"name": str(label), "status": "in_progress", "conclusion": None, "outputs": {}}
            state["steps"].append(record)
            ctx = _contexts(backend, run, doc, secrets, needs, env, steps_ctx)
            if not expressions.condition(step.get("if"), ctx, lambda s=status: s):
                record.update(status="completed", conclusion="skipped")
                continue
            await joblog.write(f"##[group]{label}")
            step_env = dict(env)
            for k, v in (step.get("env") or {}).items():
                step_env[k] = expressions.to_string(interpolate(v, {**ctx, "env": step_env}))
            ctx = {**ctx, "env": step_env}
            outputs: dict[str, str] = {}
            try:
                if step.get("uses"):
                    with_ = {k: expressions.to_string(interpolate(v, ctx)) for k, v in (step.get("with") or {}).items()}
                    ok = await _action(backend, run, doc, workspace, str(step["uses"]), with_, env, extra_path, outputs, joblog)
                else:
                    script = expressions.to_string(interpolate(step.get("run", ""), ctx))
                    ok = await _shell(run, doc, workspace, files, index, script, step_env, env, extra_path, outputs,
                                      joblog, step.get("working-directory"), deadline, backend)
            except expressions.ExpressionError as exc:
                await joblog.write(f"##[error]{exc}")
                ok = False
            conclusion = "success" if ok or step.get("continue-on-error") else "failure"
            record.update(status="completed", conclusion=conclusion, outputs=outputs)
            if step.get("id"):
                steps_ctx[step["id"]] = {"outputs": outputs, "outcome": "success" if ok else "failure",
                                         "conclusion": conclusion}
            if conclusion == "failure":
                status = "failure"
            await _save(backend, run["run_id"], doc, "in_progress")
        ctx = _contexts(backend, run, doc, secrets, needs, env, steps_ctx)
        for key, value in (job.get("outputs") or {}).items():
            state["outputs"][key] = expressions.to_string(interpolate(value, ctx))
    finally:
        await joblog.close()
    state.update(status="completed", conclusion=status)


def _read_kv(path: Path) -> dict[str, str]:
    """``name=value`` lines and ``name<<DELIM`` blocks, as GitHub writes $GITHUB_OUTPUT."""
    out: dict[str, str] = {}
    if not path.exists():
        return out
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            block = []
            i += 1
            while i < len(lines) and lines[i] != delim:
                block.append(lines[i])
                i += 1
            out[key] = "\n".join(block)
        elif "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
        i += 1
    return out


def _github_env(backend: Backend, run: dict[str, Any], doc: dict[str, Any], workspace: Path) -> dict[str, str]:
    return {
        "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace), "GITHUB_REPOSITORY": run["repository"],
        "GITHUB_REPOSITORY_OWNER": run["repository"].split("/")[0], "GITHUB_SHA": doc["sha"], "GITHUB_REF": doc["ref"],
        "GITHUB_REF_NAME": doc["ref"].rsplit("/", 1)[-1], "GITHUB_EVENT_NAME": doc["event"],
        "GITHUB_RUN_ID": run["run_id"], "GITHUB_RUN_NUMBER": str(run["run_number"]), "GITHUB_ACTOR": doc["actor"],
        "GITHUB_WORKFLOW": doc["name"], "GITHUB_SERVER_URL": f"{backend.settings.endpoint_url}/_seedbed/github",
        "GITHUB_API_URL": f"{backend.settings.endpoint_url}/_seedbed/github/api/v3", "RUNNER_OS": "Linux",
        "RUNNER_TEMP": str(workspace.parent), "AWS_EC2_METADATA_DISABLED": "true",
    }


async def _shell(run: dict[str, Any], doc: dict[str, Any], workspace: Path, files: Path, index: int, script: str,
                 step_env: dict[str, str], env: dict[str, str], extra_path: list[str], outputs: dict[str, str],
                 joblog: _JobLog, working_directory: str | None, deadline: float, backend: Backend) -> bool:
    paths = {name: files / f"{name}-{index}" for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")}
    for p in paths.values():
        p.write_text("")
    script_file = files / f"step-{index}.sh"
    script_file.write_text(script)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEEDBED_", "GIT_"))}
    full_env.update(_github_env(backend, run, doc, workspace))
    full_env.update(step_env)
    full_env.update({k: str(p) for k, p in paths.items()})
    full_env["PATH"] = os.pathsep.join([*reversed(extra_path), full_env.get("PATH", os.defpath)])
    cwd = workspace / working_directory if working_directory else workspace
    proc = await asyncio.create_subprocess_exec(
        "bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file), cwd=cwd, env=full_env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(max(1.0, deadline - time.monotonic())):
            async for raw in proc.stdout:
                await joblog.write(raw.decode(errors="replace"))
            code = await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        await joblog.write("##[error]The job has exceeded its timeout-minutes.")
        return False
    outputs.update(_read_kv(paths["GITHUB_OUTPUT"]))
    env.update(_read_kv(paths["GITHUB_ENV"]))
    extra_path.extend(p for p in paths["GITHUB_PATH"].read_text().splitlines() if p.strip())
    if code != 0:
        await joblog.write(f"##[error]Process completed with exit code {code}.")
    return code == 0


# --- local actions -------------------------------------------------------------------------------


async def _action(backend: Backend, run: dict[str, Any], doc: dict[str, Any], workspace: Path, uses: str,
                  with_: dict[str, str], env: dict[str, str], extra_path: list[str], outputs: dict[str, str],
                  joblog: _JobLog) -> bool:
    name = uses.split("@", 1)[0].lower()
    handler = ACTIONS.get(name)
    if handler is None:
        await joblog.write(f"##[error]Unsupported action: {uses} (Seedbed runs {', '.join(sorted(ACTIONS))} locally)")
        return False
    try:
        return await handler(backend, run, doc, workspace, with_, env, extra_path, outputs, joblog)
    except Exception as exc:  # noqa: BLE001 - the step fails with the reason in its log
        await joblog.write(f"##[error]{uses}: {exc}")
        return False


async def _checkout(backend: Backend, run: dict[str, Any], doc: dict[str, Any], workspace: Path, with_: dict[str, str],
                    env: dict[str, str], extra_path: list[str], outputs: dict[str, str], joblog: _JobLog) -> bool:
    from seedbed.gitserver import repos

    repository = with_.get("repository") or run["repository"]
    source = repos.repository_path(backend, run["account_id"], run["region"], "connection", repository)
    target = workspace / with_["path"] if with_.get("path") else workspace
    ref = with_.get("ref") or doc["sha"]
    for args in (["init", "-q", str(target)], ["-C", str(target), "fetch", "-q", str(source), ref],
                 ["-C", str(target), "checkout", "-q", "FETCH_HEAD"]):
        proc = await asyncio.create_subprocess_exec("git", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            await joblog.write(out.decode(errors="replace"))
            return False
    await joblog.write(f"Checked out {repository} at {ref}")
    return True


async def _setup_python(backend: Backend, run: dict[str, Any], doc: dict[str, Any], workspace: Path, with_: dict[str, str],
                        env: dict[str, str], extra_path: list[str], outputs: dict[str, str], joblog: _JobLog) -> bool:
    """A virtual environment of the local interpreter (whatever ``python-version`` asked), which
    sees Seedbed's own packages and takes ``pip install`` without touching them."""
    import site
    import sysconfig

    venv = workspace.parent / f".venv-{workspace.name}"
    if not venv.exists():
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "venv", "--without-pip", str(venv))
        await proc.wait()
        purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
        purelib.mkdir(parents=True, exist_ok=True)
        (purelib / "_seedbed_parent.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    extra_path.append(str(venv / "bin"))
    env["pythonLocation"] = str(venv)
    version = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    outputs["python-version"] = version
    outputs["python-path"] = str(venv / "bin" / "python")
    wanted = with_.get("python-version")
    await joblog.write(f"Using the local Python {version}" + (f" for python-version {wanted}" if wanted else ""))
    return True


async def _configure_aws(backend: Backend, run: dict[str, Any], doc: dict[str, Any], workspace: Path, with_: dict[str, str],
                         env: dict[str, str], extra_path: list[str], outputs: dict[str, str], joblog: _JobLog) -> bool:
    key, secret = with_.get("aws-access-key-id"), with_.get("aws-secret-access-key")
    token = with_.get("aws-session-token")
    region = with_.get("aws-region")
    if not region:
        await joblog.write("##[error]Input required and not supplied: aws-region")
        return False
    if not key or not secret:
        await joblog.write("##[error]Seedbed's configure-aws-credentials needs aws-access-key-id and aws-secret-access-key "
                           "(there is no OIDC provider locally)")
        return False
    cred = backend.credentials.resolve(key)
    if cred is None or cred.secret_access_key != secret:
        await joblog.write("##[error]The security token included in the request is invalid.")
        return False
    account = cred.principal.account_id
    if with_.get("role-to-assume"):
        out = await backend.call(cred.principal, "sts", "AssumeRole", {
            "RoleArn": with_["role-to-assume"], "RoleSessionName": with_.get("role-session-name") or "GitHubActions",
            "DurationSeconds": int(with_.get("role-duration-seconds") or 3600)}, region)
        creds = out["Credentials"]
        key, secret, token = creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    from seedbed.runtime.credentials import sdk_defaults

    env.update({"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region, "AWS_ENDPOINT_URL": backend.settings.endpoint_url,
                "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(sdk_defaults(backend.settings.data_dir, account, region))})
    if token:
        env["AWS_SESSION_TOKEN"] = token
    else:
        env.pop("AWS_SESSION_TOKEN", None)
    outputs["aws-account-id"] = account
    await joblog.write(f"Configured AWS credentials for account {account} in {region} (endpoint {backend.settings.endpoint_url})")
    return True


async def _upload_artifact(backend: Backend, run: dict[str, Any], doc: dict[str, Any], workspace: Path, with_: dict[str, str],
                           env: dict[str, str], extra_path: list[str], outputs: dict[str, str], joblog: _JobLog) -> bool:
    name = with_.get("name") or "artifact"
    target = run_dir(backend, run["run_id"]) / "artifacts" / name
    count = 0
    for pattern in (p.strip() for p in with_.get("path", "").splitlines()):
        if not pattern:
            continue
        for found in glob.glob(str(workspace / pattern), recursive=True):
            rel = Path(found).relative_to(workspace)
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if Path(found).is_dir():
                shutil.copytree(found, dest, dirs_exist_ok=True)
            else:
                shutil.copy2(found, dest)
            count += 1
    if not count and with_.get("if-no-files-found", "warn") == "error":
        await joblog.write(f"##[error]No files were found for artifact {name}")
        return False
    await joblog.write(f"Stored {count} path(s) as artifact {name}")
    return True


async def _download_artifact(backend: Backend, run: dict[str, Any], doc: dict[str, Any], workspace: Path, with_: dict[str, str],
                             env: dict[str, str], extra_path: list[str], outputs: dict[str, str], joblog: _JobLog) -> bool:
    root = run_dir(backend, run["run_id"]) / "artifacts"
    names = [with_["name"]] if with_.get("name") else [p.name for p in root.glob("*")]
    dest = workspace / with_["path"] if with_.get("path") else workspace
    for name in names:
        if not (root / name).exists():
            await joblog.write(f"##[error]Artifact not found: {name}")
            return False
        shutil.copytree(root / name, dest, dirs_exist_ok=True)
    outputs["download-path"] = str(dest)
    return True


ACTIONS = {
    "actions/checkout": _checkout,
    "actions/setup-python": _setup_python,
    "aws-actions/configure-aws-credentials": _configure_aws,
    "actions/upload-artifact": _upload_artifact,
    "actions/download-artifact": _download_artifact,
}


# --- approvals and recovery ----------------------------------------------------------------------


def approve(backend: Backend, run_id: str, state: str, who: str, comment: str = "") -> list[str]:
    """Answer the approval a waiting run's job asks for; returns the jobs answered."""
    with backend.db.begin() as conn:
        run = store.get_run(conn, run_id)
        if run is None:
            raise KeyError(run_id)
        doc = run["doc"]
        waiting = [n for n, j in doc["jobs"].items() if j["status"] == "waiting"]
        for name in waiting:
            doc["jobs"][name]["approval"] = {"state": state, "by": who, "comment": comment, "at": time.time()}
            doc["jobs"][name]["status"] = "queued"
        if waiting:
            store.save_run(conn, run_id, doc=doc, status="queued")
    if waiting:
        start(backend, run_id)
    return waiting


def recover(backend: Backend) -> None:
    """After a restart: runs that were executing end failed, queued ones start, waiting runs keep
    waiting for their approval. Called once per process, from the event loop."""
    queued = []
    with backend.db.begin() as conn:
        for run in store.unfinished(conn):
            if run["status"] == "waiting" or run["run_id"] in _running:
                continue
            if run["status"] == "queued":
                queued.append(run["run_id"])
                continue
            doc = run["doc"]
            for job in doc["jobs"].values():
                if job["status"] in ("in_progress", "queued"):
                    job.update(status="completed", conclusion="failure", error="interrupted by a server restart")
            store.save_run(conn, run["run_id"], doc=doc, status="completed", conclusion="failure")
    for run_id in queued:
        start(backend, run_id)
