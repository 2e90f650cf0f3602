"""Deployment packages on disk: unpacked code, and the requirements they ask for.

Code is unpacked once per content hash under ``<data dir>/lambda/code/<sha256>/`` (written to a
temporary directory, then renamed, so a crash never leaves half a package). AWS installs nothing:
a deployment package carries its dependencies. Seedbed adds one convenience: a ``requirements.txt``
at the root of the package (or of a layer) whose requirements the package and Seedbed's own
interpreter do not already satisfy is installed with ``pip install --target`` into
``<data dir>/lambda/deps/<hash>/``, shared by every function with the same unmet requirements and
put on ``sys.path`` after the code. pip needs to reach a package index for that; when it cannot,
the function fails to become Active, with pip's error as the reason.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

#: AWS: the unzipped package (with layers) must be smaller than this.
MAX_UNZIPPED = 262_144_000
PIP_TIMEOUT = 900


class PackageError(Exception):
    """The package cannot be used; ``message`` says why, in AWS's words where AWS has them."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_zip(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise PackageError("Could not unzip uploaded file. Please check your file, then try to upload again.") from None
    if total > MAX_UNZIPPED:
        raise PackageError(f"Unzipped size must be smaller than {MAX_UNZIPPED} bytes")
    for info in archive.infolist():
        name = info.filename
        if name.startswith("/") or ".." in Path(name).parts:
            raise PackageError(f"Could not unzip uploaded file: the entry {name!r} points outside the package.")
    return archive


def unpack(data: bytes, root: Path, code_hex: str) -> Path:
    """The directory holding the package ``data`` (hash ``code_hex``), unpacked if not yet."""
    target = root / "code" / code_hex
    if target.is_dir():
        return target
    archive = check_zip(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{code_hex[:12]}-", dir=target.parent))
    try:
        for info in archive.infolist():
            path = archive.extract(info, tmp)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(path, mode | stat.S_IRUSR)
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _present(code_dir: Path) -> dict[str, str]:
    """Distributions the package itself carries (``*.dist-info`` beside the code)."""
    found: dict[str, str] = {}
    for info in code_dir.glob("*.dist-info"):
        stem = info.name[: -len(".dist-info")]
        name, _, version = stem.partition("-")
        found[_canonical(name)] = version
    return found


def unmet_requirements(code_dir: Path) -> list[str]:
    """The lines of ``requirements.txt`` that neither the package nor the interpreter satisfies
    (option lines such as ``--index-url`` are kept whenever anything is left to install)."""
    path = code_dir / "requirements.txt"
    if not path.is_file():
        return []
    from packaging.requirements import InvalidRequirement, Requirement

    present = _present(code_dir)
    options: list[str] = []
    unmet: list[str] = []
    for raw in path.read_text(errors="replace").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            unmet.append(line)
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        name = _canonical(req.name)
        version = present.get(name)
        if version is None:
            try:
                version = metadata.version(req.name)
            except metadata.PackageNotFoundError:
                version = None
        if version is None or (req.specifier and not req.specifier.contains(version, prereleases=True)):
            unmet.append(line)
    return options + unmet if unmet else []


def deps_hash(lines: list[str]) -> str:
    text = f"{sys.version_info[0]}.{sys.version_info[1]}\n" + "\n".join(lines)
    return hashlib.sha256(text.encode()).hexdigest()


def install(lines: list[str], root: Path) -> Path:
    """Install ``lines`` (requirement lines) into the shared directory for them; slow, run it in
    a thread. Raises PackageError with pip's complaint when it fails."""
    target = root / "deps" / deps_hash(lines)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name[:12]}-", dir=target.parent))
    try:
        req_file = tmp / ".requirements.txt"
        req_file.write_text("\n".join(lines) + "\n")
        out = tmp / "site"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        try:
            done = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--no-input", "--quiet", "--target", str(out),
                 "-r", str(req_file)],
                capture_output=True, text=True, timeout=PIP_TIMEOUT, env=env, check=False,
            )
        except subprocess.TimeoutExpired:
            raise PackageError(f"Installing requirements.txt with pip took longer than {PIP_TIMEOUT} s.") from None
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            tail = " ".join(detail[-3:])[-800:]
            network = any(word in (done.stderr or "") for word in ("NewConnectionError", "Temporary failure",
                                                                    "Network is unreachable", "Max retries"))
            hint = (" pip could not reach the package index: put the dependencies into the deployment package, "
                    "or give this machine network access." if network else "")
            raise PackageError(f"Seedbed could not install requirements.txt ({', '.join(lines)}) with pip.{hint} "
                               f"pip said: {tail}")
        try:
            os.rename(out, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
