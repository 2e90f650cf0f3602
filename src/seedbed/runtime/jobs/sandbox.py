"""How a job's process sees ``/opt/ml``: a private mount namespace, or a path-rewriting shim.

SageMaker containers (and the user scripts written for them) hard-code ``/opt/ml/...`` paths: the
abalone ``preprocess.py`` reads ``/opt/ml/processing/input/abalone-dataset.csv``, training scripts
write ``/opt/ml/model``. Each job host has its own folder under the data dir with that layout, and
the process must see that folder at ``/opt/ml``.

**Preferred: a mount namespace per host process.** In the forked child, before ``exec``, we call
``unshare(CLONE_NEWUSER | CLONE_NEWNS)`` (no privileges needed where unprivileged user namespaces
are enabled, as on stock Linux), map our uid and gid to root inside, make every mount private, and
bind the host folder onto ``/opt/ml``. When ``/opt/ml`` does not exist (the usual case off
SageMaker), its nearest existing ancestor (``/opt``, say) is covered with a tmpfs in which each of
the ancestor's original entries is bind-mounted back (through a directory fd opened before the
tmpfs hid them), so nothing else under ``/opt`` disappears, and the mount point is created in the
tmpfs. ``/etc/hosts`` gets the ``algo-N`` host names of a multi-instance job (all 127.0.0.1). Files
the job writes belong to the server's user outside. Nothing on the host file system changes.

**Fallback: a path-rewriting shim.** Where namespaces are refused (containers without
``CAP_SYS_ADMIN``, kernels with ``unprivileged_userns_clone=0``, non-Linux), the job runs with a
``sitecustomize`` that maps ``/opt/ml`` to the host folder in ``open``/``io.open``, the ``os``
functions that take paths (and so ``os.path``, ``pathlib``, ``shutil``, ``glob``), and in the
job's command line and ``SM_*`` environment values. A shell script that is the job's command
(``/bin/bash /opt/ml/.../job_driver.sh``, as the SDK's remote-function runner starts) runs from a
copy with its ``/opt/ml`` paths mapped, and the job's ``USER`` is ``root`` as in a container. It
covers Python code and that script; native libraries that open files themselves
(``xgboost.DMatrix("/opt/ml/...")``) and other non-Python programs do not see the mapping.
``SEEDBED_JOBS_SANDBOX=shim`` forces it; ``namespace`` refuses to fall back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

OPT_ML = "/opt/ml"

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

_libc = None


def _lib() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = (lambda s: s.encode() if s is not None else None)
    _check(_lib().mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {source} on {target}")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _uncover(missing: str) -> None:
    """Make the directory ``missing`` exist inside this mount namespace only."""
    parent = os.path.dirname(missing)
    while not os.path.isdir(parent):
        parent = os.path.dirname(parent)
    if parent == "/":
        raise OSError(f"cannot create {missing} without covering /")
    entries = os.listdir(parent)
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _mount("tmpfs", parent, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
        for name in entries:
            source = f"/proc/self/fd/{fd}/{name}"
            target = os.path.join(parent, name)
            if os.path.islink(source):
                os.symlink(os.readlink(source), target)
                continue
            if os.path.isdir(source):
                os.mkdir(target)
            else:
                open(target, "w").close()
            try:
                _mount(source, target, None, MS_BIND | MS_REC)
            except OSError:
                pass  # a special file we may not bind: leave it out of this job's view
    finally:
        os.close(fd)
    os.makedirs(missing, exist_ok=True)


def enter(host_dir: str, hosts_file: str | None = None) -> None:
    """Put the calling (single-threaded, freshly forked) process in a mount namespace where
    ``host_dir`` is ``/opt/ml``. Raises OSError when the kernel refuses."""
    uid, gid = os.getuid(), os.getgid()
    _check(_lib().unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/gid_map", f"0 {gid} 1")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    if not os.path.isdir(OPT_ML):
        _uncover(OPT_ML)
    _mount(host_dir, OPT_ML, None, MS_BIND | MS_REC)
    if hosts_file and os.path.isfile("/etc/hosts"):
        try:
            _mount(hosts_file, "/etc/hosts", None, MS_BIND)
        except OSError:
            pass


def probe(scratch: Path) -> str | None:
    """Whether :func:`enter` works here: None if so, else why not (run in a child process)."""
    import subprocess
    import sys

    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "probe").write_text("ok")
    code = (
        "import sys; from seedbed.runtime.jobs import sandbox; sandbox.enter(sys.argv[1]); "
        "print(open('/opt/ml/probe').read())"
    )
    try:
        out = subprocess.run([sys.executable, "-c", code, str(scratch)], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if out.returncode == 0 and out.stdout.strip() == "ok":
        return None
    return (out.stderr.strip().splitlines() or ["unknown error"])[-1]
