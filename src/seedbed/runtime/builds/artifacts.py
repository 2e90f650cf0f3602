"""Artifact files as a buildspec's ``artifacts`` section selects them, and their zip.

Globs follow CodeBuild: paths are relative to the source directory (or ``base-directory``), ``*``
stays within one path segment, ``**`` spans any number of segments (``**/*`` is everything),
``discard-paths: yes`` flattens the result, ``exclude-paths`` removes matches.
"""

from __future__ import annotations

import os
import re
import zipfile
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    pattern = pattern.strip().lstrip("./") if pattern.strip().startswith("./") else pattern.strip()
    pattern = pattern.lstrip("/")
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out += re.escape(pattern[i])
                i += 1
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out += f"[{body}]"
                i = end + 1
        elif pattern[i] == "{":
            end = pattern.find("}", i + 1)
            if end == -1:
                out += re.escape(pattern[i])
                i += 1
            else:
                out += "(?:" + "|".join(re.escape(p) for p in pattern[i + 1 : end].split(",")) + ")"
                i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(f"^{out}$")


def _all_files(root: Path) -> list[str]:
    found: list[str] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        rel = os.path.relpath(folder, root)
        for name in sorted(files):
            found.append(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
        for name in dirs:
            full = Path(folder) / name
            if full.is_symlink():
                found.append(name if rel == "." else f"{rel}/{name}")
    return found


def select(root: Path, files: list[str], base_directory: str | None = None, discard_paths: bool = False,
           exclude_paths: list[str] | None = None) -> list[tuple[Path, str]]:
    """(file on disk, name in the artifact) for every file the globs match, in a stable order."""
    base = root / base_directory.strip("/") if base_directory else root
    base = base.resolve()
    if not base.is_dir() or not str(base).startswith(str(root.resolve())):
        return []
    everything = _all_files(base)
    chosen: dict[str, None] = {}
    for pattern in files:
        regex = glob_regex(str(pattern))
        for rel in everything:
            if regex.match(rel):
                chosen[rel] = None
    excluded = [glob_regex(str(p)) for p in exclude_paths or []]
    out: list[tuple[Path, str]] = []
    for rel in chosen:
        if any(r.match(rel) for r in excluded):
            continue
        out.append((base / rel, rel.rsplit("/", 1)[-1] if discard_paths else rel))
    return out


def write_zip(entries: list[tuple[Path, str]], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, name in entries:
            if path.is_file():
                zf.write(path, name)


def extract_zip(data_path: Path, target: Path) -> None:
    """Unpack a source zip, refusing entries that would land outside ``target``; keeps modes."""
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    with zipfile.ZipFile(data_path) as zf:
        for info in zf.infolist():
            dest = (root / info.filename).resolve()
            if not str(dest).startswith(str(root)):
                continue
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(dest, mode)
