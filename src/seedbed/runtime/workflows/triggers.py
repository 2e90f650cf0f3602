"""Which workflows a push or a ``workflow_dispatch`` starts: ``.github/workflows/*.yml`` at the
pushed commit, ``on.push`` with ``branches``/``branches-ignore``, ``tags`` and
``paths``/``paths-ignore`` filters (glob patterns as GitHub writes them)."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import yaml

from seedbed.gitserver import repos
from seedbed.runtime.workflows import runner

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import Principal

log = logging.getLogger(__name__)
WORKFLOWS_DIR = ".github/workflows"
_recovered: set[int] = set()


def ensure_recovered(backend: Backend) -> None:
    if id(backend) not in _recovered:
        _recovered.add(id(backend))
        runner.recover(backend)


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            if i < len(pattern) and pattern[i] == "/":
                out, i = out[:-2] + "(?:.*/)?", i + 1
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c))
        i += 1
    return re.compile(out + r"\Z")


def _matches(values: list[str], patterns: list[str]) -> bool:
    """GitHub's rule: patterns in order, ``!pattern`` excludes again; any value kept matches."""
    for value in values:
        keep = False
        for pattern in patterns:
            negate = pattern.startswith("!")
            if _glob(pattern[1:] if negate else pattern).match(value):
                keep = not negate
        if keep:
            return True
    return False


def events_of(definition: dict[str, Any]) -> dict[str, Any]:
    """``on:`` normalized to a dict (YAML 1.1 reads a bare ``on`` key as True)."""
    on = definition.get("on", definition.get(True))
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {e: {} for e in on}
    return {k: (v or {}) for k, v in (on or {}).items()}


def push_matches(spec: dict[str, Any], ref: str, changed: list[str] | None) -> bool:
    if ref.startswith("refs/heads/"):
        name = ref[len("refs/heads/"):]
        if "branches" in spec and not _matches([name], list(spec["branches"])):
            return False
        if "branches-ignore" in spec and _matches([name], list(spec["branches-ignore"])):
            return False
        if "tags" in spec and "branches" not in spec:
            return False
    elif ref.startswith("refs/tags/"):
        name = ref[len("refs/tags/"):]
        if "tags" in spec:
            if not _matches([name], list(spec["tags"])):
                return False
        elif "branches" in spec:
            return False
        if "tags-ignore" in spec and _matches([name], list(spec["tags-ignore"])):
            return False
    if changed is not None:
        if "paths" in spec and not _matches(changed, list(spec["paths"])):
            return False
        if "paths-ignore" in spec and all(_matches([p], list(spec["paths-ignore"])) for p in changed):
            return False
    return True


async def workflows_at(path: Any, commit: str) -> dict[str, dict[str, Any]]:
    """Workflow path -> parsed definition (files that do not parse are logged and skipped)."""
    found: dict[str, dict[str, Any]] = {}
    try:
        entries = await repos.ls_tree(path, commit, WORKFLOWS_DIR + "/")
    except repos.GitError:
        return found
    for entry in entries:
        if entry.type != "blob" or not entry.path.endswith((".yml", ".yaml")):
            continue
        try:
            definition = yaml.safe_load(await repos.cat(path, entry.sha))
        except yaml.YAMLError as exc:
            log.warning("workflow %s does not parse: %s", entry.path, exc)
            continue
        if isinstance(definition, dict):
            found[entry.path] = definition
    return found


async def on_push(backend: Backend, info: dict[str, Any], principal: Principal | None,
                  changes: list[tuple[str, str | None, str | None]]) -> list[str]:
    """Start the workflows a push triggers; returns their run ids."""
    ensure_recovered(backend)
    account, region, repository = info["account_id"], info["region"], info["repositoryName"]
    path = repos.repository_path(backend, account, region, "connection", repository)
    actor = principal.arn.rsplit("/", 1)[-1] if principal else "seedbed"
    started = []
    for ref, old, new in changes:
        if not new:
            continue
        changed = None
        if old:
            changed = [c.path for c in await repos.diff(path, old, new)]
        for wf_path, definition in (await workflows_at(path, new)).items():
            events = events_of(definition)
            if "push" not in events or not push_matches(events["push"], ref, changed):
                continue
            started.append(await runner.create_run(backend, account, region, repository, wf_path, definition,
                                                   "push", ref, new, actor))
    return started


async def dispatch(backend: Backend, account: str, region: str, repository: str, workflow: str, ref: str,
                   inputs: dict[str, Any], actor: str) -> str:
    """``workflow_dispatch``: ``workflow`` is a file name (``deploy.yml``) or a path; ValueError
    when the workflow is missing or takes no dispatch."""
    ensure_recovered(backend)
    path = repos.repository_path(backend, account, region, "connection", repository)
    full_ref = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
    commit = await repos.resolve(path, full_ref)
    if commit is None:
        raise ValueError(f"No ref found for: {ref}")
    workflows = await workflows_at(path, commit)
    wf_path = next((p for p in workflows if p == workflow or p.rsplit("/", 1)[-1] == workflow), None)
    if wf_path is None:
        raise LookupError(f"workflow {workflow} not found")
    events = events_of(workflows[wf_path])
    if "workflow_dispatch" not in events:
        raise ValueError("Workflow does not have 'workflow_dispatch' trigger")
    values = dict(inputs)
    for name, spec in ((events["workflow_dispatch"] or {}).get("inputs") or {}).items():
        if name not in values and isinstance(spec, dict) and "default" in spec:
            values[name] = spec["default"]
    return await runner.create_run(backend, account, region, repository, wf_path, workflows[wf_path],
                                   "workflow_dispatch", full_ref, commit, actor, values)
