"""CodeCommit's error codes (HTTP 400, as the model says)."""

from __future__ import annotations

from seedbed.errors import ServiceError


def error(code: str, message: str) -> ServiceError:
    """A CodeCommit error: ``code`` is the model's shape name (``RepositoryDoesNotExistException``)."""
    return ServiceError(message, code=code, status=400)


def repository_missing(name: str) -> ServiceError:
    return error("RepositoryDoesNotExistException", f"{name} does not exist")


def branch_missing(name: str) -> ServiceError:
    return error("BranchDoesNotExistException", f"Could not find branch {name}")


def commit_missing(spec: str) -> ServiceError:
    return error("CommitDoesNotExistException", f"Could not find commit {spec}")
