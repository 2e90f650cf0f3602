"""Bare repositories on disk and the git plumbing Seedbed runs on them.

Every repository is a bare git repository under the data dir::

    <data dir>/git/<account>/<region>/codecommit/<name>.git
    <data dir>/git/<account>/<region>/connection/<owner>/<repo>.git

All reads and writes go through the stock ``git`` executable (plumbing commands in
subprocesses), never through a reimplementation of git's formats. The ``async`` helpers are for
the server's event loop; :func:`run_git_sync` and :func:`archive` are for threads and child
processes (CodeBuild and CodePipeline source actions).
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seedbed.server.backend import Backend

KINDS = ("codecommit", "connection")
DEFAULT_BRANCH = "main"
ZERO = "0" * 40
#: Seedbed's own commits (PutFile, seed code, CreateCommit) when the caller gives no name.
DEFAULT_AUTHOR = ("Seedbed", "seedbed@localhost")


class GitError(Exception):
    """A git command failed; ``stderr`` says why."""

    def __init__(self, args: tuple[str, ...], returncode: int, stderr: str) -> None:
        super().__init__(f"git {' '.join(args[:3])} failed ({returncode}): {stderr.strip()[:500]}")
        self.returncode = returncode
        self.stderr = stderr


def git_root(data_dir: Path) -> Path:
    return data_dir / "git"


def path_for(data_dir: Path, account_id: str, region: str, kind: str, name: str) -> Path:
    """Where a repository lives (whether or not it exists yet)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    parts = name.split("/")
    if kind == "connection" and len(parts) != 2:
        raise ValueError(f"a connection repository is named owner/repo, not {name!r}")
    if kind == "codecommit" and len(parts) != 1:
        raise ValueError(f"a CodeCommit repository name has no '/': {name!r}")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise ValueError(f"not a repository name: {name!r}")
    return git_root(data_dir) / account_id / region / kind / (name + ".git")


def repository_path(backend: Backend, account_id: str, region: str, kind: str, name: str) -> Path:
    """The bare repository of a CodeCommit repository (``kind="codecommit"``, ``name`` its name)
    or of a repository reached through a connection (``kind="connection"``, ``name``
    ``owner/repo``). Raises FileNotFoundError when there is none."""
    path = path_for(backend.settings.data_dir, account_id, region, kind, name)
    if not (path / "HEAD").exists():
        raise FileNotFoundError(f"no {kind} repository {name!r} in {account_id}/{region}")
    return path


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"})
    if extra:
        env.update(extra)
    return env


def run_git_sync(repo: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    proc = subprocess.run(
        ["git", *args], cwd=repo, input=input, capture_output=True, env=_env(env), check=False
    )
    if proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr.decode(errors="replace"))
    return proc.stdout


async def git(repo: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    """Run ``git args`` in ``repo``; stdout, or GitError."""
    proc = await asyncio.create_subprocess_exec(
        "git", *args, cwd=repo, env=_env(env),
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    out, err = await proc.communicate(input)
    if proc.returncode != 0:
        raise GitError(args, proc.returncode or 1, err.decode(errors="replace"))
    return out


def init_bare(path: Path, default_branch: str = DEFAULT_BRANCH) -> None:
    """Create a bare repository that accepts pushes over HTTP (idempotent)."""
    if (path / "HEAD").exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".init-", dir=path.parent))
    try:
        run_git_sync(tmp, "init", "--quiet", "--bare", f"--initial-branch={default_branch}", ".")
        run_git_sync(tmp, "config", "http.receivepack", "true")
        run_git_sync(tmp, "config", "receive.denyDeleteCurrent", "false")
        os.rename(tmp, path)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (path / "HEAD").exists():
            raise
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove(path: Path) -> None:
    if path.exists():
        trash = path.with_name(f".deleted-{os.getpid()}-{path.name}")
        os.rename(path, trash)
        shutil.rmtree(trash, ignore_errors=True)


# --- reading ---------------------------------------------------------------------------------


async def refs(repo: Path, prefix: str = "refs/") -> dict[str, str]:
    """Ref name -> commit id."""
    out = await git(repo, "for-each-ref", "--format=%(refname) %(objectname)", prefix)
    found = {}
    for line in out.decode().splitlines():
        name, _, sha = line.partition(" ")
        found[name] = sha
    return found


async def branches(repo: Path) -> dict[str, str]:
    return {k[len("refs/heads/"):]: v for k, v in (await refs(repo, "refs/heads/")).items()}


async def head_branch(repo: Path) -> str:
    text = (repo / "HEAD").read_text().strip()
    return text.rsplit("/", 1)[-1] if text.startswith("ref: refs/heads/") else DEFAULT_BRANCH


async def set_head(repo: Path, branch: str) -> None:
    await git(repo, "symbolic-ref", "HEAD", f"refs/heads/{branch}")


async def resolve(repo: Path, rev: str, kind: str = "commit") -> str | None:
    """The object id ``rev`` names (peeled to ``kind``), or None."""
    if rev.startswith("-"):
        return None
    try:
        out = await git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{{kind}}}")
    except GitError:
        return None
    return out.decode().strip() or None


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    type: str
    sha: str
    path: str


async def ls_tree(repo: Path, treeish: str, path: str = "", recursive: bool = False) -> list[TreeEntry]:
    args = ["ls-tree", "-z"]
    if recursive:
        args.append("-r")
    args.append(treeish)
    if path:
        args.append(path)
    out = await git(repo, *args)
    entries = []
    for record in out.decode(errors="surrogateescape").split("\0"):
        if not record:
            continue
        meta, _, name = record.partition("\t")
        mode, typ, sha = meta.split()
        entries.append(TreeEntry(mode, typ, sha, name))
    return entries


async def cat(repo: Path, sha: str) -> bytes:
    return await git(repo, "cat-file", "-p", sha)


@dataclass(frozen=True)
class Commit:
    commit_id: str
    tree_id: str
    parents: list[str]
    author: tuple[str, str, str]  # name, email, "unix-time tz"
    committer: tuple[str, str, str]
    message: str


def _person(text: str) -> tuple[str, str, str]:
    name, _, rest = text.partition(" <")
    email, _, when = rest.partition("> ")
    return name, email, when


async def commit_info(repo: Path, commit_id: str) -> Commit:
    raw = (await git(repo, "cat-file", "commit", commit_id)).decode(errors="replace")
    header, _, message = raw.partition("\n\n")
    tree, parents, author, committer = "", [], ("", "", ""), ("", "", "")
    for line in header.splitlines():
        key, _, value = line.partition(" ")
        if key == "tree":
            tree = value
        elif key == "parent":
            parents.append(value)
        elif key == "author":
            author = _person(value)
        elif key == "committer":
            committer = _person(value)
    return Commit(commit_id, tree, parents, author, committer, message)


@dataclass(frozen=True)
class Change:
    status: str  # A, M, D
    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str
    path: str


async def diff(repo: Path, before: str | None, after: str) -> list[Change]:
    """Changed files between two commits (``before`` None: everything in ``after``)."""
    args = ["diff-tree", "-r", "-z", "--no-renames"]
    if before:
        args += [before, after]
    else:
        args += ["--root", after]
    out = (await git(repo, *args)).decode(errors="surrogateescape")
    fields = out.split("\0")
    changes = []
    i = 0
    while i < len(fields):
        meta = fields[i]
        if not meta.startswith(":"):
            i += 1
            continue
        old_mode, new_mode, old_sha, new_sha, status = meta[1:].split()
        changes.append(Change(status[0], old_mode, new_mode, old_sha, new_sha, fields[i + 1]))
        i += 2
    return changes


# --- writing ---------------------------------------------------------------------------------


@dataclass
class FileChange:
    path: str
    content: bytes | None  # None: delete
    mode: str = "100644"


def _commit_env(name: str | None, email: str | None) -> dict[str, str]:
    author = name or DEFAULT_AUTHOR[0]
    mail = email or DEFAULT_AUTHOR[1]
    return {
        "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": mail,
        "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": mail,
    }


async def commit_files(
    repo: Path,
    branch: str,
    parent: str | None,
    changes: list[FileChange],
    message: str,
    author_name: str | None = None,
    author_email: str | None = None,
    replace_tree: bool = False,
) -> tuple[str, str]:
    """Commit ``changes`` on top of ``parent`` and move ``branch`` there (compare-and-swap on the
    parent, so a concurrent push makes this fail rather than lose work). ``replace_tree``
    starts from an empty tree. Returns (commit id, tree id)."""
    with tempfile.TemporaryDirectory(prefix="seedbed-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), **_commit_env(author_name, author_email)}
        if parent and not replace_tree:
            await git(repo, "read-tree", parent, env=env)
        else:
            await git(repo, "read-tree", "--empty", env=env)
        records = []
        for change in changes:
            if change.content is None:  # mode 0 removes the path from the index
                records.append(f"0 {ZERO}\t{change.path}")
                continue
            sha = (await git(repo, "hash-object", "-w", "--stdin", input=change.content)).decode().strip()
            records.append(f"{change.mode} {sha}\t{change.path}")
        if records:
            payload = "".join(r + "\0" for r in records).encode()
            await git(repo, "update-index", "-z", "--index-info", input=payload, env=env)
        tree = (await git(repo, "write-tree", env=env)).decode().strip()
        args = ["commit-tree", tree, "-F", "-"]
        if parent:
            args[2:2] = ["-p", parent]
        commit = (await git(repo, *args, input=message.encode(), env=env)).decode().strip()
        await git(repo, "update-ref", f"refs/heads/{branch}", commit, parent or ZERO)
    return commit, tree


def zip_changes(data: bytes) -> list[FileChange]:
    """The files of a zip archive (directories skipped; a single top folder is kept as is, as
    CodeCommit does). Executable bits survive where the zip recorded them."""
    changes = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive_file:
        for info in archive_file.infolist():
            if info.is_dir():
                continue
            name = info.filename.replace("\\", "/").lstrip("/")
            if not name or any(p in ("..", "") for p in name.split("/")) or name.startswith(".git/"):
                continue
            unix_mode = (info.external_attr >> 16) & 0o777
            mode = "100755" if unix_mode & 0o111 else "100644"
            changes.append(FileChange(name, archive_file.read(info), mode))
    return changes


def archive(path: Path, ref: str) -> tuple[str, bytes]:
    """The commit id ``ref`` names in the bare repository ``path``, and a zip of its tree (what a
    CodeBuild or CodePipeline source action downloads). Blocking: call it from a thread."""
    commit = run_git_sync(path, "rev-parse", "--verify", f"{ref}^{{commit}}").decode().strip()
    data = run_git_sync(path, "archive", "--format=zip", commit)
    return commit, data
