"""The ``/opt/ml`` path shim, installed as ``sitecustomize`` in a job where mount namespaces are
not available (see :mod:`seedbed.runtime.jobs.sandbox`).

It maps paths under ``/opt/ml`` to ``$SEEDBED_OPT_ML`` in ``open``/``io.open`` and in the ``os``
functions that take paths, which ``os.path``, ``pathlib``, ``shutil``, ``glob`` and ``tarfile``
go through. It must not import anything beyond the standard library.
"""

from __future__ import annotations

import os

PREFIX = "/opt/ml"


def map_text(value: str, host: str) -> str:
    """``value`` with every ``/opt/ml`` path in it pointing at ``host`` (for argv and env)."""
    if PREFIX not in value:
        return value
    out, start = [], 0
    while True:
        at = value.find(PREFIX, start)
        if at < 0:
            out.append(value[start:])
            break
        end = at + len(PREFIX)
        boundary_before = at == 0 or value[at - 1] in " =:,\"'[{("
        boundary_after = end == len(value) or value[end] in "/ :,\"']})"
        out.append(value[start:at])
        out.append(host if boundary_before and boundary_after else PREFIX)
        start = end
    return "".join(out)


def _install(host: str) -> None:
    import builtins
    import io

    host = host.rstrip("/")

    def fix(path):  # type: ignore[no-untyped-def]
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if isinstance(path, str) and (path == PREFIX or path.startswith(PREFIX + "/")):
            return host + path[len(PREFIX):]
        if isinstance(path, bytes) and (path == PREFIX.encode() or path.startswith(PREFIX.encode() + b"/")):
            return host.encode() + path[len(PREFIX):]
        return path

    def wrap1(func):  # type: ignore[no-untyped-def]
        def wrapper(path, *args, **kwargs):  # type: ignore[no-untyped-def]
            return func(fix(path), *args, **kwargs)

        wrapper.__wrapped__ = func  # type: ignore[attr-defined]
        wrapper.__name__ = getattr(func, "__name__", "wrapper")
        return wrapper

    def wrap2(func):  # type: ignore[no-untyped-def]
        def wrapper(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
            return func(fix(src), fix(dst), *args, **kwargs)

        wrapper.__wrapped__ = func  # type: ignore[attr-defined]
        wrapper.__name__ = getattr(func, "__name__", "wrapper")
        return wrapper

    builtins.open = io.open = wrap1(io.open)
    for name in ("open", "stat", "lstat", "listdir", "scandir", "mkdir", "rmdir", "remove", "unlink", "chdir",
                 "access", "chmod", "utime", "readlink", "truncate", "makedirs", "removedirs", "statvfs"):
        if hasattr(os, name):
            setattr(os, name, wrap1(getattr(os, name)))
    for name in ("rename", "replace", "link", "symlink"):
        if hasattr(os, name):
            setattr(os, name, wrap2(getattr(os, name)))
    real_getcwd = os.getcwd

    def getcwd() -> str:
        cwd = real_getcwd()
        return PREFIX + cwd[len(host):] if cwd == host or cwd.startswith(host + "/") else cwd

    os.getcwd = getcwd


if os.environ.get("SEEDBED_OPT_ML"):
    _install(os.environ["SEEDBED_OPT_ML"])
