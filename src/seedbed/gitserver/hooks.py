"""What happens after refs moved in a repository: the owning service's events, the pipelines
whose source watches the branch, and (for connection repositories, which play GitHub) the
repository's workflows."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import Principal

log = logging.getLogger(__name__)

Change = tuple[str, "str | None", "str | None"]  # ref, old commit (None: created), new (None: deleted)


async def after_push(
    backend: Backend, kind: str, info: dict[str, Any], principal: Principal | None, changes: list[Change]
) -> None:
    try:
        if kind == "codecommit":
            provider = backend.provider("codecommit")
            await provider.on_push(info, principal, changes)  # type: ignore[union-attr]
            return
        await notify_pipelines(backend, info["account_id"], info["region"], "CodeStarSourceConnection",
                               info["repositoryName"], changes)
        from seedbed.runtime.workflows import triggers

        await triggers.on_push(backend, info, principal, changes)
    except Exception:
        log.exception("after-push work for %s %s failed", kind, info.get("repositoryName"))


async def notify_pipelines(
    backend: Backend, account_id: str, region: str, provider_name: str, repository: str, changes: list[Change]
) -> None:
    """Tell CodePipeline (when it is there) about each branch that now points at a new commit."""
    pipeline = backend.provider("codepipeline")
    source_changed = getattr(pipeline, "source_changed", None)
    if source_changed is None:
        return
    for ref, _old, new in changes:
        if not new or not ref.startswith("refs/heads/"):
            continue
        try:
            await source_changed(account_id, region, provider=provider_name, repository=repository,
                                 branch=ref[len("refs/heads/"):], commit_id=new)
        except Exception:
            log.exception("CodePipeline change detection for %s failed", repository)
