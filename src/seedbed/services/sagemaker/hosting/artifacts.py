"""What a model needs before a worker can load it: the execution role's credentials, the model data
(``model.tar.gz`` fetched from S3 as the role and unpacked once per object version into the data
dir), the inference code directory, and the local runtime that stands in for the image.

Image URIs map to runtimes as the jobs runtime maps them (:mod:`seedbed.services.sagemaker.jobs.images`,
matched on the repository name): the XGBoost algorithm image serves ``xgboost-model`` with the
algorithm's formats unless ``SAGEMAKER_PROGRAM`` asks for its framework (script) mode; framework
images (scikit-learn, PyTorch, ...) run the inference-script contract. An image Seedbed does not
know still serves when the model carries an inference script (``code/inference.py`` or
``SAGEMAKER_PROGRAM``): the generic Python handler.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedbed.errors import ServiceError
from seedbed.runtime.credentials import RoleSession, assume_for_service

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

log = logging.getLogger(__name__)

SERVICE_PRINCIPAL = "sagemaker.amazonaws.com"
#: Sessions are re-assumed this long before they expire.
SESSION_SECONDS = 3600
SESSION_REFRESH = 600


class ArtifactError(Exception):
    """The model cannot be made ready; the message becomes the endpoint's FailureReason."""


def split_s3(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise ArtifactError(f"{url} is not an S3 URL (s3://bucket/key).")
    bucket, _, key = url[5:].partition("/")
    if not bucket or not key:
        raise ArtifactError(f"{url} does not name an S3 object.")
    return bucket, key


@dataclass
class ContainerRuntime:
    """How a worker runs one model: everything the fleet needs."""

    image: str
    model_dir: Path
    runtime: str  # "xgboost" or "script"
    framework: str  # "xgboost", "sklearn", "python", "generic"
    env: dict[str, str] = field(default_factory=dict)
    code_dir: Path | None = None


def primary_container(spec: dict[str, Any]) -> dict[str, Any]:
    """The container a model serves with, with a model package's image and data filled in."""
    containers = spec.get("Containers") or ([spec["PrimaryContainer"]] if spec.get("PrimaryContainer") else [])
    container = dict(containers[0]) if containers else {}
    resolved = (spec.get("Resolved") or [{}])[0]
    for key, value in resolved.items():
        container.setdefault(key, value)
    return container


def runtime_for_image(image: str, env: dict[str, str]) -> tuple[str, str] | None:
    """(runtime, framework) for an image URI, or None when Seedbed has no runtime for it."""
    try:
        from seedbed.services.sagemaker.jobs import images
    except ImportError:  # pragma: no cover - the jobs area ships with this one
        images = None  # type: ignore[assignment]
    repo = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    mapped = images.resolve(image) if images is not None else None
    kind = mapped.runtime if mapped is not None else None
    if kind is None:
        if repo in ("sagemaker-xgboost", "xgboost"):
            kind = "xgboost"
        elif repo.startswith(("sagemaker-scikit-learn", "pytorch-", "tensorflow-", "huggingface-", "mxnet-")):
            kind = "python"
    if kind == "xgboost":
        return ("script", "xgboost") if env.get("SAGEMAKER_PROGRAM") else ("xgboost", "xgboost")
    if kind == "python":
        return "script", "sklearn" if "scikit-learn" in repo else "python"
    return None


class Artifacts:
    """Per-backend cache of unpacked models and role sessions."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.root = backend.settings.data_dir / "hosting"
        self._sessions: dict[str, tuple[float, RoleSession]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def session(self, role_arn: str) -> RoleSession:
        """Credentials of the execution role as SageMaker assumes it (cached, refreshed)."""
        cached = self._sessions.get(role_arn)
        if cached is not None and time.monotonic() - cached[0] < SESSION_SECONDS - SESSION_REFRESH:
            return cached[1]
        try:
            session = assume_for_service(self.backend, role_arn, SERVICE_PRINCIPAL, "SageMaker", SESSION_SECONDS)
        except ServiceError as exc:
            raise ArtifactError(
                f"Could not assume role {role_arn}. Please ensure that the role exists and allows "
                f"principal '{SERVICE_PRINCIPAL}' to assume the role. ({exc.message})"
            ) from None
        self._sessions[role_arn] = (time.monotonic(), session)
        return session

    async def _s3(self, principal: Any, operation: str, params: dict[str, Any], region: str, account: str) -> dict:
        return await self.backend.call(principal, "s3", operation, params, region, account)

    async def fetch(self, principal: Any, url: str, region: str, account: str) -> bytes:
        bucket, key = split_s3(url)
        try:
            out = await self._s3(principal, "GetObject", {"Bucket": bucket, "Key": key}, region, account)
        except ServiceError as exc:
            raise ArtifactError(f"Could not download {url}: {exc.code}: {exc.message}") from None
        body = out.get("Body", b"")
        if isinstance(body, (bytes, bytearray)):
            return bytes(body)
        chunks = [chunk async for chunk in body]
        return b"".join(chunks)

    async def head(self, principal: Any, url: str, region: str, account: str) -> dict[str, Any]:
        bucket, key = split_s3(url)
        try:
            return await self._s3(principal, "HeadObject", {"Bucket": bucket, "Key": key}, region, account)
        except ServiceError as exc:
            raise ArtifactError(f"Could not access model data at {url}: {exc.code}: {exc.message}") from None

    async def unpacked(self, principal: Any, url: str, region: str, account: str, kind: str) -> Path:
        """The directory holding the archive at ``url`` unpacked (downloaded once per ETag)."""
        head = await self.head(principal, url, region, account)
        digest = hashlib.sha256(f"{account}\0{url}\0{head.get('ETag', '')}".encode()).hexdigest()[:32]
        target = self.root / kind / digest
        lock = self._locks.setdefault(digest, asyncio.Lock())
        async with lock:
            if (target / ".complete").exists():
                return target
            data = await self.fetch(principal, url, region, account)
            await asyncio.to_thread(_unpack, data, target, url)
        return target

    async def prepare(self, account: str, region: str, spec: dict[str, Any]) -> ContainerRuntime:
        """Everything a worker needs to serve the model ``spec`` (a stored CreateModel request)."""
        container = primary_container(spec)
        image = container.get("Image") or ""
        env = {str(k): str(v) for k, v in (container.get("Environment") or {}).items()}
        role = spec.get("ExecutionRoleArn")
        session = self.session(role) if role else None
        principal = session.principal if session else None
        model_dir = self.root / "empty-model"
        data_url = container.get("ModelDataUrl")
        source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
        if not data_url and source.get("S3Uri"):
            if source.get("CompressionType", "None") != "Gzip" or source.get("S3DataType") != "S3Object":
                raise ArtifactError("Seedbed serves model data from a model.tar.gz (ModelDataUrl, or "
                                    "ModelDataSource with S3Object and Gzip compression) only.")
            data_url = source["S3Uri"]
        if data_url:
            model_dir = await self.unpacked(principal, data_url, region, account, "models")
        else:
            model_dir.mkdir(parents=True, exist_ok=True)
        code_dir: Path | None = None
        submit = env.get("SAGEMAKER_SUBMIT_DIRECTORY")
        if submit and submit.startswith("s3://"):
            code_dir = await self.unpacked(principal, submit, region, account, "code")
        elif submit:
            # Paths inside the container: /opt/ml/model is the model directory here.
            code_dir = Path(submit.replace("/opt/ml/model", str(model_dir), 1))
        kinds = runtime_for_image(image, env)
        if kinds is None:
            program = env.get("SAGEMAKER_PROGRAM") or "inference.py"
            if ((code_dir or model_dir / "code") / program).is_file():
                kinds = ("script", "generic")
            else:
                raise ArtifactError(
                    f"Seedbed has no local runtime for the image {image}: it serves the XGBoost "
                    "algorithm and framework images (scikit-learn, PyTorch, TensorFlow, ...) with "
                    "their inference-script contract, and any image whose model carries "
                    "code/inference.py (model_fn, input_fn, predict_fn, output_fn)."
                )
        runtime, framework = kinds
        worker_env = dict(env)
        if session is not None:
            worker_env.update(session.environment(self.backend, region))
        worker_env.update({
            "SM_MODEL_DIR": str(model_dir), "SAGEMAKER_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
        })
        requirements = (code_dir or model_dir / "code") / "requirements.txt"
        if runtime == "script" and requirements.is_file():
            site = await asyncio.to_thread(self._requirements, requirements)
            if site is not None:
                worker_env["SEEDBED_SERVING_SITE"] = str(site)
        return ContainerRuntime(image, model_dir, runtime, framework, worker_env, code_dir)

    def _requirements(self, path: Path) -> Path | None:
        """Install ``code/requirements.txt`` into a cached directory, only when something in it is
        missing from the environment and pip manages in a short time; else note it in the log."""
        text = path.read_text()
        missing = [line for line in text.splitlines() if line.strip() and not line.startswith("#")
                   and not _installed(line)]
        if not missing:
            return None
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        target = self.root / "site" / digest
        if (target / ".complete").exists():
            return target
        try:
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target),
                            "-r", str(path)], check=True, timeout=120, capture_output=True)
        except (subprocess.SubprocessError, OSError) as exc:
            log.warning("could not install %s (%s): the model server runs without %s", path, exc, missing)
            return None
        (target / ".complete").touch()
        return target


def _installed(requirement: str) -> bool:
    from importlib import metadata

    try:
        from packaging.requirements import Requirement

        req = Requirement(requirement.strip())
    except Exception:  # noqa: BLE001 - an unparsable line counts as missing
        return False
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        return False
    return not req.specifier or req.specifier.contains(version, prereleases=True)


def _unpack(data: bytes, target: Path, url: str) -> None:
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            archive.extractall(tmp, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ArtifactError(f"{url} is not a tar.gz archive that can be unpacked: {exc}") from None
    (tmp / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
