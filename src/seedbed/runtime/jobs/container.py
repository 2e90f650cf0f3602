"""The job runner: one process per job that plays SageMaker's part around the container.

It reads a job spec (JSON, on stdin) that :mod:`seedbed.services.sagemaker.jobs.contract` built,
and then, as SageMaker does for a container:

1. makes one folder per instance (``algo-1``, ``algo-2``, ...) with the ``/opt/ml`` layout, and
   writes the config files (``hyperparameters.json``, ``resourceconfig.json``, ...);
2. stages the inputs from S3 into each instance's folder (File mode; FullyReplicated or
   ShardedByS3Key), with the job role's credentials and ``AWS_ENDPOINT_URL`` (so it works the same
   on a Ray node of another machine);
3. starts one process per instance in its own sandbox (:mod:`.sandbox`: ``/opt/ml`` is that
   instance's folder), relays their output lines, enforces ``MaxRuntimeInSeconds`` and turns a
   SIGTERM (StopXJob) into a SIGTERM for the instances, then a SIGKILL after the grace period;
4. uploads the outputs (processing outputs from every instance; ``model.tar.gz`` and
   ``output.tar.gz`` packed from the first instance as SageMaker packs them) and reports the
   outcome: exit code, the ``/opt/ml/output/failure`` text, the log tail.

Protocol on stdout: a line ``<instance index>\\t<text>`` for each output line, and
``\\x1e<json>`` for runner events (``{"event": "phase", ...}``, ``{"event": "result", ...}``).

It imports boto3 only when there is something to stage, so an empty job starts in milliseconds.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

RS = "\x1e"
TAIL = 20
PASS_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "LD_LIBRARY_PATH", "SSL_CERT_FILE",
            "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


#: Shells whose script argument the path shim maps (see :meth:`Job.shim_script`).
SHELLS = ("bash", "sh", "dash", "zsh")


class StagingError(Exception):
    """An input or output could not be moved (reported as a ClientError, as SageMaker does)."""


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(RS + json.dumps(event) + "\n")
    sys.stdout.flush()


def relay(index: int, line: str) -> None:
    sys.stdout.write(f"{index}\t{line}\n")
    sys.stdout.flush()


# -- S3 ------------------------------------------------------------------------------------------


def split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise StagingError(f"{uri} is not an S3 URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


class S3:
    def __init__(self, env: dict[str, str]) -> None:
        import boto3
        from botocore.config import Config

        self.client = boto3.client(
            "s3",
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=env.get("AWS_SESSION_TOKEN"),
            region_name=env.get("AWS_REGION") or "us-east-1",
            endpoint_url=env.get("AWS_ENDPOINT_URL"),
            config=Config(retries={"max_attempts": 3}, s3={"addressing_style": "path"}),
        )

    def _error(self, exc: Exception, what: str) -> StagingError:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        return StagingError(f"{what}: {code}: {exc}")

    def keys(self, uri: str) -> list[tuple[str, str]]:
        """(bucket, key) of every object under the prefix ``uri``."""
        bucket, prefix = split_s3(uri)
        out: list[tuple[str, str]] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                out += [(bucket, o["Key"]) for o in page.get("Contents", []) if not o["Key"].endswith("/")]
        except Exception as exc:  # noqa: BLE001 - botocore's errors, reported to the user
            raise self._error(exc, f"Failed to list {uri}") from None
        return out

    def download(self, bucket: str, key: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client.download_file(bucket, key, str(dest))
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, f"Failed to download s3://{bucket}/{key}") from None

    def upload(self, source: Path, uri: str) -> None:
        bucket, key = split_s3(uri)
        try:
            self.client.upload_file(str(source), bucket, key)
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, f"Failed to upload to {uri}") from None

    def read(self, uri: str) -> bytes:
        bucket, key = split_s3(uri)
        try:
            return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, f"Failed to read {uri}") from None


def relative_name(prefix: str, key: str) -> str:
    """Where an object of an S3 prefix lands below the local folder (as SageMaker names it)."""
    if key == prefix:
        return key.rsplit("/", 1)[-1]
    if prefix.endswith("/") or key[len(prefix)] == "/":
        return key[len(prefix):].lstrip("/")
    return key[prefix.rfind("/") + 1:]


def objects_for(s3: S3, item: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(bucket, key, relative local name) of an input's objects."""
    uri, kind = item["s3"], item.get("type") or "S3Prefix"
    if kind == "ManifestFile":
        manifest = json.loads(s3.read(uri))
        base = manifest[0]["prefix"]
        bucket, prefix = split_s3(base)
        return [(bucket, prefix + rel, rel) for rel in manifest[1:]]
    if kind not in ("S3Prefix", "S3Object"):
        raise StagingError(f"S3DataType {kind} is not supported by Seedbed's local jobs")
    bucket, prefix = split_s3(uri)
    found = s3.keys(uri)
    if not found and item.get("required", True):
        raise StagingError(f"No S3 objects found under S3 URL \"{uri}\" given in input data source.")
    return [(b, k, relative_name(prefix, k)) for b, k in sorted(found)]


# -- the run -------------------------------------------------------------------------------------


class Job:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.temporary = not spec.get("work_dir")
        self.root = Path(spec.get("work_dir") or tempfile.mkdtemp(prefix="seedbed-job-"))
        self.hosts: list[dict[str, Any]] = spec["hosts"]
        self.env: dict[str, str] = spec.get("env") or {}
        self._s3: S3 | None = None
        self.stopping = False
        self.procs: list[subprocess.Popen] = []
        self.sandbox = spec.get("sandbox") or os.environ.get("SEEDBED_JOBS_SANDBOX") or "auto"

    @property
    def s3(self) -> S3:
        if self._s3 is None:
            self._s3 = S3(self.env)
        return self._s3

    def host_dir(self, index: int) -> Path:
        return self.root / self.hosts[index]["name"]

    def local(self, index: int, rel: str) -> Path:
        return self.host_dir(index) / rel.lstrip("/")

    # -- staging --

    def layout(self) -> None:
        names = [h["name"] for h in self.hosts]
        hosts_file = self.root / "hosts"
        system_hosts = Path("/etc/hosts").read_text() if Path("/etc/hosts").is_file() else ""
        hosts_file.parent.mkdir(parents=True, exist_ok=True)
        hosts_file.write_text(system_hosts.rstrip("\n") + "\n" + "".join(f"127.0.0.1 {n}\n" for n in names))
        for index, host in enumerate(self.hosts):
            base = self.host_dir(index)
            base.mkdir(parents=True, exist_ok=True)
            for rel in self.spec.get("dirs") or []:
                (base / rel).mkdir(parents=True, exist_ok=True)
            for rel, text in {**(self.spec.get("files") or {}), **(host.get("files") or {})}.items():
                path = base / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)

    def stage_in(self) -> None:
        inputs = self.spec.get("inputs") or []
        for item in inputs:
            objects = objects_for(self.s3, item)
            sharded = item.get("distribution") == "ShardedByS3Key"
            for index in range(len(self.hosts)):
                mine = objects[index :: len(self.hosts)] if sharded else objects
                target = self.local(index, item["path"])
                target.mkdir(parents=True, exist_ok=True)
                for n, (bucket, key, rel) in enumerate(mine):
                    dest = target / rel
                    if index > 0 and not sharded:
                        source = self.local(0, item["path"]) / rel
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(source, dest)
                    else:
                        self.s3.download(bucket, key, dest)
                    if item.get("unpack") and n == 0 and dest.name.endswith((".tar.gz", ".tgz", ".tar")):
                        import tarfile

                        with tarfile.open(dest) as tar:
                            tar.extractall(target, filter="data")
                        dest.unlink()

    def stage_out(self, stopped: bool) -> dict[str, Any]:
        uploaded: dict[str, Any] = {}
        for item in self.spec.get("outputs") or []:
            if stopped and not item.get("on_stop"):
                continue
            prefix = item["s3"].rstrip("/")
            for index in range(len(self.hosts)):
                folder = self.local(index, item["path"])
                if not folder.is_dir():
                    continue
                for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                    self.s3.upload(path, f"{prefix}/{path.relative_to(folder).as_posix()}{item.get('suffix', '')}")
        for item in self.spec.get("archives") or []:
            if stopped and not item.get("on_stop"):
                continue
            folder = self.local(0, item["path"])
            if item.get("skip_empty") and (not folder.is_dir() or not any(folder.iterdir())):
                continue
            import tarfile

            archive = self.root / f".{folder.name}-{len(uploaded)}.tar.gz"
            with tarfile.open(archive, "w:gz") as tar:
                for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
                    tar.add(entry, arcname=entry.name)
            self.s3.upload(archive, item["s3"])
            archive.unlink()
            uploaded[item["path"]] = item["s3"]
        return uploaded

    # -- processes --

    def environment(self, index: int, shim: bool) -> dict[str, str]:
        env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
        bindir = os.path.dirname(sys.executable)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        env.update(self.env)
        env.update(self.hosts[index].get("env") or {})
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.setdefault("AWS_EC2_METADATA_DISABLED", "true")
        if shim:
            host = str(self.host_dir(index))
            env = {k: _rewrite(v, host) for k, v in env.items()}
            shim_dir = self.root / ".shim"
            shim_dir.mkdir(exist_ok=True)
            shutil.copyfile(Path(__file__).with_name("shim_site.py"), shim_dir / "sitecustomize.py")
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim_dir), env.get("PYTHONPATH")]))
            env["SEEDBED_OPT_ML"] = host
            # The job is the root user of its container, as under the mount namespace (uid 0
            # there): the remote-function bootstrap would otherwise run `sudo chmod -R 777` on
            # /opt/ml folders and /tmp, which outside a container would be the machine's own /tmp.
            env.setdefault("USER", "root")
            env.setdefault("LOGNAME", "root")
        return env

    def spawn(self, index: int) -> subprocess.Popen:
        from seedbed.runtime.jobs import sandbox

        argv = list(self.hosts[index].get("command") or self.spec["command"])
        host = str(self.host_dir(index))
        cwd = self.spec.get("cwd")
        if not cwd:  # a scratch folder of the job's own, never the server's working directory
            (self.host_dir(index) / "work").mkdir(parents=True, exist_ok=True)
            cwd = "/opt/ml/work"
        hosts_file = str(self.root / "hosts") if len(self.hosts) > 1 else None
        common: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT,
                                  "start_new_session": True}
        if self.sandbox != "shim":
            try:
                return subprocess.Popen(
                    argv, env=self.environment(index, False),
                    # The runner has no threads when it spawns (S3 transfers are done by then).
                    preexec_fn=lambda: _enter(sandbox, host, hosts_file, cwd), **common,  # noqa: PLW1509
                )
            except subprocess.SubprocessError as exc:
                if self.sandbox == "namespace":
                    raise StagingError(f"could not give the job its /opt/ml mount namespace: {exc}") from None
                self.sandbox = "shim"
                relay(index, "[seedbed] mount namespaces are not available here; using the /opt/ml path shim")
        argv = self.shim_script(index, [_rewrite(a, host) for a in argv])
        workdir = _rewrite(cwd, host) if cwd else None
        return subprocess.Popen(argv, env=self.environment(index, True), cwd=workdir, **common)

    def shim_script(self, index: int, argv: list[str]) -> list[str]:
        """Under the path shim, a shell script of the job (the SDK's remote-function
        ``job_driver.sh``, a ``runproc.sh``) runs from a copy with its ``/opt/ml`` paths mapped:
        the shell and the programs it starts (``cat``, ``source``, ``python <script>``, which
        opens its script before ``sitecustomize`` runs) do not see the shim."""
        if not argv or os.path.basename(argv[0]) not in SHELLS:
            return argv
        host = str(self.host_dir(index))
        position = next((i for i, a in enumerate(argv[1:], 1) if not a.startswith("-")), None)
        if position is None or not argv[position].startswith(host + "/") or not os.path.isfile(argv[position]):
            return argv
        source = Path(argv[position])
        copy = self.root / ".shim" / f"{self.hosts[index]['name']}-{source.name}"
        copy.parent.mkdir(exist_ok=True)
        copy.write_text(_rewrite(source.read_text(errors="replace"), host))
        return [*argv[:position], str(copy), *argv[position + 1:]]

    def signal_all(self, sig: int) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass

    def run_hosts(self) -> tuple[list[int], list[deque[str]], bool]:
        """Start every instance, relay their lines, and wait; returns exit codes, log tails and
        whether MaxRuntimeInSeconds ran out."""
        selector = selectors.DefaultSelector()
        tails = [deque(maxlen=TAIL) for _ in self.hosts]
        for index in range(len(self.hosts)):
            proc = self.spawn(index)
            self.procs.append(proc)
            os.set_blocking(proc.stdout.fileno(), False)  # type: ignore[union-attr]
            selector.register(proc.stdout, selectors.EVENT_READ, index)  # type: ignore[arg-type]
        deadline = time.monotonic() + float(self.spec.get("max_runtime") or 86400)
        grace = float(self.spec.get("stop_grace") or 10)
        kill_at: float | None = None
        timed_out = False
        partial = [b"" for _ in self.hosts]
        open_pipes = len(self.hosts)
        while open_pipes:
            now = time.monotonic()
            if not timed_out and now > deadline:
                timed_out = True
                self.stopping = True
            if self.stopping and kill_at is None:
                self.signal_all(signal.SIGTERM)
                kill_at = now + grace
            if kill_at is not None and now > kill_at:
                self.signal_all(signal.SIGKILL)
                kill_at = float("inf")
            for key, _ in selector.select(timeout=0.2):
                index = key.data
                try:
                    chunk = os.read(key.fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    selector.unregister(key.fileobj)
                    open_pipes -= 1
                    chunk, partial[index] = partial[index], b""
                    if chunk:
                        self._lines(index, chunk + b"\n", tails)
                    continue
                data = partial[index] + chunk
                cut = data.rfind(b"\n")
                if cut < 0:
                    partial[index] = data
                    continue
                partial[index] = data[cut + 1 :]
                self._lines(index, data[: cut + 1], tails)
        codes = [proc.wait() for proc in self.procs]
        return codes, tails, timed_out

    def _lines(self, index: int, data: bytes, tails: list[deque[str]]) -> None:
        for raw in data.decode("utf-8", "replace").splitlines():
            tails[index].append(raw)
            relay(index, raw)

    def failure_text(self) -> str | None:
        for index in range(len(self.hosts)):
            for name in ("output/failure", "output/message"):
                path = self.local(index, name)
                if path.is_file():
                    text = path.read_text(errors="replace").strip()
                    if text:
                        return text[:1000]
        return None

    def run(self) -> dict[str, Any]:
        started = time.time()
        result: dict[str, Any] = {"event": "result", "exit_codes": [], "failure": None, "error": None,
                                  "stopped": False, "timed_out": False, "tail": [], "uploaded": {}}
        try:
            self.layout()
            emit({"event": "phase", "phase": "Downloading", "time": time.time()})
            self.stage_in()
            if self.stopping:
                result["stopped"] = True
                return result
            emit({"event": "phase", "phase": "Training", "time": time.time()})
            codes, tails, timed_out = self.run_hosts()
            result.update(exit_codes=codes, timed_out=timed_out, stopped=self.stopping and not timed_out)
            failed = next((i for i, c in enumerate(codes) if c != 0), None)
            if failed is not None:
                result["tail"] = list(tails[failed])
                result["failure"] = self.failure_text()
            emit({"event": "phase", "phase": "Uploading", "time": time.time()})
            result["uploaded"] = self.stage_out(stopped=result["stopped"] or timed_out or failed is not None)
        except StagingError as exc:
            result["error"] = f"ClientError: {exc}"
        except OSError as exc:
            result["error"] = f"ClientError: {exc}"
        finally:
            result["seconds"] = time.time() - started
            self.signal_all(signal.SIGKILL)
            if self.temporary or self.spec.get("cleanup"):
                shutil.rmtree(self.root, ignore_errors=True)
        return result


def _enter(sandbox: Any, host: str, hosts_file: str | None, cwd: str | None) -> None:
    sandbox.enter(host, hosts_file)
    if cwd:
        os.chdir(cwd)


def _rewrite(value: str, host: str) -> str:
    """/opt/ml paths in a string, as the shim maps them."""
    from seedbed.runtime.jobs.shim_site import map_text

    return map_text(value, host)


def _follow_parent() -> None:
    """SIGTERM when the server (or Ray worker) that started us dies, so no job outlives it."""
    if sys.platform != "linux":
        return
    import ctypes

    parent = os.getppid()
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def main() -> int:
    from seedbed.runtime.jobs import sandbox, shim_site  # noqa: F401 - imported before the spec arrives

    _follow_parent()
    holder: list[Job] = []
    early: list[bool] = []

    def on_term(signum: int, frame: Any) -> None:
        if holder:
            holder[0].stopping = True
        else:
            early.append(True)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    text = sys.stdin.read()
    if not text.strip():
        return 0  # a spare runner that was never used
    job = Job(json.loads(text))
    job.stopping = bool(early)
    holder.append(job)
    try:
        emit(job.run())
    except BrokenPipeError:  # the server went away; the job's processes are stopped already
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
