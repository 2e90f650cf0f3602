"""Staging labels: which version of a secret is current, previous, pending, or anything else.

A label marks at most one version of a secret. Attaching a label moves it from whichever version
had it; moving ``AWSCURRENT`` leaves ``AWSPREVIOUS`` on the version that was current (taking it
from the version that had it before). Versions without labels are *deprecated*: Secrets Manager
keeps them until a secret has more than :data:`MAX_VERSIONS`, then drops the oldest.

The functions work on a plain ``{version_id: [labels]}`` map and return a new one.
"""

from __future__ import annotations

from seedbed.services.secretsmanager.errors import InvalidParameter, LimitExceeded

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"
PENDING = "AWSPENDING"
MAX_LABELS_PER_VERSION = 20
MAX_VERSIONS = 100

Stages = dict[str, list[str]]


def holder(stages: Stages, label: str) -> str | None:
    """The version that has ``label``, if any."""
    return next((version for version, labels in stages.items() if label in labels), None)


def attach(stages: Stages, version_id: str, labels: list[str]) -> Stages:
    new = {version: list(names) for version, names in stages.items()}
    new.setdefault(version_id, [])
    for label in labels:
        had = holder(new, label)
        if had == version_id:
            continue
        if had is not None:
            new[had].remove(label)
        new[version_id].append(label)
        if label == CURRENT and had is not None:
            previous = holder(new, PREVIOUS)
            if previous is not None:
                new[previous].remove(PREVIOUS)
            new[had].append(PREVIOUS)
    for version, names in new.items():
        if len(names) > MAX_LABELS_PER_VERSION:
            raise LimitExceeded(
                f"A version can have at most {MAX_LABELS_PER_VERSION} staging "
                f"labels ({version} would have {len(names)})."
            )
    return new


def move(stages: Stages, label: str, remove_from: str | None, move_to: str | None) -> Stages:
    """UpdateSecretVersionStage: move ``label`` to ``move_to``, or take it off ``remove_from``."""
    if remove_from is None and move_to is None:
        raise InvalidParameter("Specify RemoveFromVersionId, MoveToVersionId, or both.")
    for version in (remove_from, move_to):
        if version is not None and version not in stages:
            raise InvalidParameter(f"The version {version} does not exist for this secret.")
    had = holder(stages, label)
    if had is not None and had != move_to and had != remove_from:
        raise InvalidParameter(
            f"The staging label {label} is currently attached to version {had}, so you must "
            "explicitly reference that version in RemoveFromVersionId."
        )
    if remove_from is not None and had != remove_from:
        raise InvalidParameter(
            f"The staging label {label} is not attached to version {remove_from}."
        )
    if move_to is not None:
        return attach(stages, move_to, [label])
    if label == CURRENT:
        raise InvalidParameter(
            f"You can't remove the staging label {CURRENT} without moving it to another version."
        )
    new = {version: list(names) for version, names in stages.items()}
    new[remove_from].remove(label)  # type: ignore[index]
    return new


def deprecated_to_drop(stages: Stages, newest_first: list[str]) -> list[str]:
    """Versions to delete so at most :data:`MAX_VERSIONS` remain: the oldest unlabelled ones."""
    excess = len(newest_first) - MAX_VERSIONS
    if excess <= 0:
        return []
    unlabelled = [v for v in reversed(newest_first) if not stages.get(v)]
    return unlabelled[:excess]
