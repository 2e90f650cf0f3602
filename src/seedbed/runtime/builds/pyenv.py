"""A per-build Python environment layered over Seedbed's own.

Seed-code buildspecs run ``pip install ...``; with Seedbed's interpreter on ``PATH`` that would
change Seedbed's own environment. Each build gets a bare virtual environment (no pip of its own,
about 30 ms) whose ``.pth`` adds Seedbed's site-packages after its own: the build sees boto3, the
SageMaker SDK and the rest, ``pip`` (a wrapper around ``python -m pip``) installs into the build's
folder, and what it installs wins over Seedbed's copies.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path


def create(target: Path) -> Path:
    """Make the environment; returns its ``bin`` directory (put it first on ``PATH``)."""
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", "--symlinks", str(target)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = target / "lib" / version / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    parents = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    lines = [f"import site; site.addsitedir({p!r})" for p in sorted(parents)]
    (site / "_seedbed_parent.pth").write_text("\n".join(lines) + "\n")
    bin_dir = target / "bin"
    for tool in ("pip", "pip3", f"pip{sys.version_info.major}.{sys.version_info.minor}"):
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\nexec "{bin_dir / "python"}" -m pip "$@"\n')
        os.chmod(wrapper, 0o755)
    return bin_dir
