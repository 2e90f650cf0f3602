"""AWS CodeCommit operations: repositories, branches, files, commits, differences, triggers, tags.

Metadata lives in :mod:`~seedbed.services.codecommit.store`; the commits in a bare repository
per CodeCommit repository (:mod:`seedbed.gitserver.repos`), read and written with git plumbing.
Clients clone ``cloneUrlHttp`` with the stock git client and their AWS credentials (see
:mod:`seedbed.gitserver.http`). SSH is not served: ``cloneUrlSsh`` has AWS's form for clients that
store it. Pull requests, approval rules and merges are not implemented.

Pushes emit "CodeCommit Repository State Change" events and run the repository's triggers
(Lambda destinations are invoked; SNS destinations are logged, as Seedbed has no SNS).
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from seedbed.gitserver import repos
from seedbed.server.context import Principal, RequestContext
from seedbed.services.base import Provider
from seedbed.services.codecommit import store
from seedbed.services.codecommit.errors import (
    branch_missing,
    commit_missing,
    error,
    repository_missing,
)
from seedbed.state import arns

log = logging.getLogger(__name__)

MODES = {"100644": "NORMAL", "100755": "EXECUTABLE", "120000": "SYMLINK"}
GIT_MODES = {v: k for k, v in MODES.items()}
TRIGGER_EVENTS = ("all", "updateReference", "createReference", "deleteReference")
MAX_TAGS = 50
MAX_TRIGGERS = 10


def repository_arn(account_id: str, region: str, name: str) -> str:
    return arns.build("codecommit", name, account_id, region)


def _clean_path(path: str) -> str:
    return "/".join(p for p in path.strip().split("/") if p not in ("", "."))


def _check_path(path: str) -> str:
    cleaned = _clean_path(path)
    if not cleaned or ".." in cleaned.split("/") or cleaned.split("/")[0] == ".git":
        raise error("InvalidPathException", f"The path {path} is not valid.")
    return cleaned


def _page(items: list[Any], token: str | None, size: int) -> tuple[list[Any], str | None]:
    start = 0
    if token:
        try:
            start = int(base64.b64decode(token).decode())
        except (ValueError, UnicodeDecodeError):
            raise error("InvalidContinuationTokenException", "The continuation token is not valid.") from None
    end = start + size
    return items[start:end], (base64.b64encode(str(end).encode()).decode() if end < len(items) else None)


def _user(person: tuple[str, str, str]) -> dict[str, str]:
    return {"name": person[0], "email": person[1], "date": person[2]}


class CodeCommitProvider(Provider):
    service = "codecommit"

    # -- plumbing ---------------------------------------------------------------------------------

    def clone_url(self, region: str, name: str) -> str:
        base = self.backend.settings.endpoint_url
        if region == self.backend.settings.region:
            return f"{base}/v1/repos/{name}"
        return f"{base}/_seedbed/git/codecommit/{region}/{name}"

    def _path(self, account_id: str, region: str, name: str) -> Any:
        return repos.path_for(self.backend.settings.data_dir, account_id, region, "codecommit", name)

    def _row(self, ctx: RequestContext, name: str) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            row = store.get(conn, ctx.account_id, ctx.region, name)
        if row is None:
            raise repository_missing(name)
        ctx.resources.append(repository_arn(ctx.account_id, ctx.region, name))
        return row

    async def _metadata(self, row: dict[str, Any]) -> dict[str, Any]:
        path = self._path(row["account_id"], row["region"], row["name"])
        out: dict[str, Any] = {
            "accountId": row["account_id"],
            "repositoryId": row["repository_id"],
            "repositoryName": row["name"],
            "lastModifiedDate": row["modified"],
            "creationDate": row["created"],
            "cloneUrlHttp": self.clone_url(row["region"], row["name"]),
            "cloneUrlSsh": f"ssh://git-codecommit.{row['region']}.amazonaws.com/v1/repos/{row['name']}",
            "Arn": repository_arn(row["account_id"], row["region"], row["name"]),
        }
        if row["description"]:
            out["repositoryDescription"] = row["description"]
        if row["kms_key_id"]:
            out["kmsKeyId"] = row["kms_key_id"]
        default = await repos.head_branch(path)
        if default in await repos.branches(path):
            out["defaultBranch"] = default
        return out

    def repository_info(self, account_id: str, region: str, name: str) -> dict[str, Any] | None:
        """For the git server: the repository's identity and triggers, or None."""
        with self.backend.db.connect() as conn:
            row = store.get(conn, account_id, region, name)
        if row is None:
            return None
        return {
            "account_id": account_id, "region": region, "repositoryName": row["name"],
            "repositoryId": row["repository_id"], "triggers": row["triggers"],
            "triggersId": row["triggers_id"], "arn": repository_arn(account_id, region, row["name"]),
        }

    async def _commit(self, path: Any, spec: str | None, name: str) -> str:
        if spec:
            found = await repos.resolve(path, spec)
            if found is None:
                raise commit_missing(spec)
            return found
        default = await repos.head_branch(path)
        found = await repos.resolve(path, f"refs/heads/{default}")
        if found is None:
            branches = await repos.branches(path)
            if not branches:
                raise error("CommitDoesNotExistException", f"The repository {name} has no commits.")
            found = next(iter(branches.values()))
        return found

    # -- repositories -----------------------------------------------------------------------------

    async def create_repository(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["repositoryName"]
        if name.endswith(".git") or name in (".", ".."):
            raise error("InvalidRepositoryNameException", f"The repository name {name} is not valid.")
        tags = dict(params.get("tags") or {})
        self._check_tags(tags)
        created = store.now()
        path = self._path(ctx.account_id, ctx.region, name)
        try:
            with self.backend.db.begin() as conn:
                store.create(
                    conn, account_id=ctx.account_id, region=ctx.region, name=name,
                    repository_id=str(uuid.uuid4()), description=params.get("repositoryDescription"),
                    kms_key_id=params.get("kmsKeyId"), created=created, modified=created,
                    triggers=[], triggers_id=None, tags=tags,
                )
                repos.remove(path)  # leftovers of a crashed delete
                repos.init_bare(path)
        except IntegrityError:
            raise error("RepositoryNameExistsException", f"Repository named {name} already exists") from None
        return {"repositoryMetadata": await self._metadata(self._row(ctx, name))}

    async def get_repository(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"repositoryMetadata": await self._metadata(self._row(ctx, params["repositoryName"]))}

    async def batch_get_repositories(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, missing, errors = [], [], []
        for name in params["repositoryNames"]:
            with self.backend.db.connect() as conn:
                row = store.get(conn, ctx.account_id, ctx.region, name)
            if row is None:
                missing.append(name)
                errors.append({"repositoryName": name, "errorCode": "RepositoryDoesNotExistException",
                               "errorMessage": f"{name} does not exist"})
            else:
                found.append(await self._metadata(row))
        return {"repositories": found, "repositoriesNotFound": missing, "errors": errors}

    def list_repositories(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = store.list_all(conn, ctx.account_id, ctx.region)
        if params.get("sortBy") == "lastModifiedDate":
            rows.sort(key=lambda r: r["modified"])
        else:
            rows.sort(key=lambda r: r["name"])
        if params.get("order") == "descending":
            rows.reverse()
        page, token = _page(rows, params.get("nextToken"), 1000)
        out: dict[str, Any] = {"repositories": [{"repositoryName": r["name"], "repositoryId": r["repository_id"]} for r in page]}
        if token:
            out["nextToken"] = token
        return out

    def delete_repository(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["repositoryName"]
        with self.backend.db.begin() as conn:
            row = store.get(conn, ctx.account_id, ctx.region, name)
            if row is None:
                return {}  # AWS answers a delete of a missing repository with no id
            store.remove(conn, ctx.account_id, ctx.region, name)
        repos.remove(self._path(ctx.account_id, ctx.region, name))
        return {"repositoryId": row["repository_id"]}

    def update_repository_description(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self._row(ctx, params["repositoryName"])
        with self.backend.db.begin() as conn:
            store.change(conn, ctx.account_id, ctx.region, params["repositoryName"],
                         description=params.get("repositoryDescription"), modified=store.now())
        return {}

    def update_repository_name(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        old, new = params["oldName"], params["newName"]
        self._row(ctx, old)
        if old == new:
            return {}
        try:
            with self.backend.db.begin() as conn:
                store.change(conn, ctx.account_id, ctx.region, old, name=new, modified=store.now())
                self._path(ctx.account_id, ctx.region, old).rename(self._path(ctx.account_id, ctx.region, new))
        except IntegrityError:
            raise error("RepositoryNameExistsException", f"Repository named {new} already exists") from None
        return {}

    # -- branches ---------------------------------------------------------------------------------

    async def create_branch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        path = self._path(ctx.account_id, ctx.region, row["name"])
        branch = params["branchName"]
        await self._check_branch_name(path, branch)
        if branch in await repos.branches(path):
            raise error("BranchNameExistsException", f"Branch {branch} already exists")
        commit = await repos.resolve(path, params["commitId"])
        if commit is None:
            raise commit_missing(params["commitId"])
        await repos.git(path, "update-ref", f"refs/heads/{branch}", commit, repos.ZERO)
        return {}

    async def _check_branch_name(self, path: Any, branch: str) -> None:
        try:
            await repos.git(path, "check-ref-format", f"refs/heads/{branch}")
        except repos.GitError:
            raise error("InvalidBranchNameException", f"The branch name {branch} is not valid.") from None

    async def get_branch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("repositoryName"):
            raise error("RepositoryNameRequiredException", "A repository name is required.")
        if not params.get("branchName"):
            raise error("BranchNameRequiredException", "A branch name is required.")
        row = self._row(ctx, params["repositoryName"])
        branches = await repos.branches(self._path(ctx.account_id, ctx.region, row["name"]))
        commit = branches.get(params["branchName"])
        if commit is None:
            raise branch_missing(params["branchName"])
        return {"branch": {"branchName": params["branchName"], "commitId": commit}}

    async def list_branches(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        names = sorted(await repos.branches(self._path(ctx.account_id, ctx.region, row["name"])))
        page, token = _page(names, params.get("nextToken"), 100)
        return {"branches": page, **({"nextToken": token} if token else {})}

    async def delete_branch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        path = self._path(ctx.account_id, ctx.region, row["name"])
        branch = params["branchName"]
        commit = (await repos.branches(path)).get(branch)
        if commit is None:
            return {}
        if branch == await repos.head_branch(path):
            raise error("DefaultBranchCannotBeDeletedException", f"The default branch {branch} cannot be deleted.")
        await repos.git(path, "update-ref", "-d", f"refs/heads/{branch}", commit)
        return {"deletedBranch": {"branchName": branch, "commitId": commit}}

    async def update_default_branch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        path = self._path(ctx.account_id, ctx.region, row["name"])
        branch = params["defaultBranchName"]
        if branch not in await repos.branches(path):
            raise branch_missing(branch)
        await repos.set_head(path, branch)
        return {}

    # -- reading files and commits ----------------------------------------------------------------

    async def get_file(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        path = self._path(ctx.account_id, ctx.region, row["name"])
        commit = await self._commit(path, params.get("commitSpecifier"), row["name"])
        file_path = _check_path(params["filePath"])
        entries = await repos.ls_tree(path, commit, file_path)
        entry = next((e for e in entries if e.path == file_path and e.type == "blob"), None)
        if entry is None:
            raise error("FileDoesNotExistException", f"The file {params['filePath']} does not exist.")
        content = await repos.cat(path, entry.sha)
        return {
            "commitId": commit, "blobId": entry.sha, "filePath": file_path,
            "fileMode": MODES.get(entry.mode, "NORMAL"), "fileSize": len(content), "fileContent": content,
        }

    async def get_blob(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        path = self._path(ctx.account_id, ctx.region, row["name"])
        if await repos.resolve(path, params["blobId"], "blob") is None:
            raise error("BlobIdDoesNotExistException", f"Could not find blob {params['blobId']}")
        return {"content": await repos.cat(path, params["blobId"])}

    async def get_folder(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        path = self._path(ctx.account_id, ctx.region, row["name"])
        commit = await self._commit(path, params.get("commitSpecifier"), row["name"])
        folder = _clean_path(params["folderPath"])
        treeish = f"{commit}:{folder}" if folder else f"{commit}^{{tree}}"
        tree_id = await repos.resolve(path, treeish, "tree")
        if tree_id is None:
            raise error("FolderDoesNotExistException", f"The folder {params['folderPath']} does not exist.")
        out: dict[str, Any] = {"commitId": commit, "folderPath": params["folderPath"], "treeId": tree_id,
                               "subFolders": [], "files": [], "symbolicLinks": [], "subModules": []}
        for entry in await repos.ls_tree(path, tree_id):
            absolute = f"{folder}/{entry.path}" if folder else entry.path
            if entry.type == "tree":
                out["subFolders"].append({"treeId": entry.sha, "absolutePath": absolute, "relativePath": entry.path})
            elif entry.type == "commit":
                out["subModules"].append({"commitId": entry.sha, "absolutePath": absolute, "relativePath": entry.path})
            elif entry.mode == "120000":
                out["symbolicLinks"].append({"blobId": entry.sha, "absolutePath": absolute,
                                             "relativePath": entry.path, "fileMode": "SYMLINK"})
            else:
                out["files"].append({"blobId": entry.sha, "absolutePath": absolute, "relativePath": entry.path,
                                     "fileMode": MODES.get(entry.mode, "NORMAL")})
        return out

    async def get_commit(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        path = self._path(ctx.account_id, ctx.region, row["name"])
        commit_id = params["commitId"]
        if len(commit_id) != 40 or any(c not in "0123456789abcdef" for c in commit_id):
            raise error("InvalidCommitIdException", f"The commit ID {commit_id} is not valid.")
        if await repos.resolve(path, commit_id) is None:
            raise error("CommitIdDoesNotExistException", f"Could not find commit {commit_id}")
        info = await repos.commit_info(path, commit_id)
        return {"commit": {
            "commitId": info.commit_id, "treeId": info.tree_id, "parents": info.parents,
            "message": info.message, "author": _user(info.author), "committer": _user(info.committer),
            "additionalData": "",
        }}

    async def get_differences(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        path = self._path(ctx.account_id, ctx.region, row["name"])
        after = await self._commit(path, params["afterCommitSpecifier"], row["name"])
        before = await self._commit(path, params["beforeCommitSpecifier"], row["name"]) if params.get("beforeCommitSpecifier") else None
        changes = await repos.diff(path, before, after)
        prefixes = [_clean_path(p) for p in (params.get("beforePath"), params.get("afterPath")) if p]
        if prefixes:
            changes = [c for c in changes if any(c.path == p or c.path.startswith(p + "/") for p in prefixes)]
        differences = []
        for c in changes:
            item: dict[str, Any] = {"changeType": c.status}
            if c.status != "A":
                item["beforeBlob"] = {"blobId": c.old_sha, "path": c.path, "mode": c.old_mode}
            if c.status != "D":
                item["afterBlob"] = {"blobId": c.new_sha, "path": c.path, "mode": c.new_mode}
            differences.append(item)
        size = int(params.get("MaxResults") or 100)
        page, token = _page(differences, params.get("NextToken"), max(1, size))
        return {"differences": page, **({"NextToken": token} if token else {})}

    # -- writing ----------------------------------------------------------------------------------

    async def _parent(self, path: Any, branch: str, parent: str | None) -> str | None:
        """The branch tip a write builds on, checked against ``parentCommitId``."""
        await self._check_branch_name(path, branch)
        branches = await repos.branches(path)
        tip = branches.get(branch)
        if tip is None:
            if branches:
                raise branch_missing(branch)
            return None
        if not parent:
            raise error("ParentCommitIdRequiredException", "A parent commit ID is required when the branch exists.")
        if await repos.resolve(path, parent) is None:
            raise error("ParentCommitDoesNotExistException", f"The parent commit ID {parent} does not exist.")
        if parent != tip:
            raise error("ParentCommitIdOutdatedException",
                        f"The parent commit ID {parent} is not the tip of branch {branch} ({tip}).")
        return tip

    async def _write(self, ctx: RequestContext, row: dict[str, Any], branch: str, parent: str | None,
                     changes: list[repos.FileChange], message: str | None, name: str | None,
                     email: str | None) -> tuple[str, str]:
        path = self._path(ctx.account_id, ctx.region, row["name"])
        try:
            commit, tree = await repos.commit_files(path, branch, parent, changes, message or "", name, email)
        except repos.GitError as exc:
            if "cannot lock ref" in exc.stderr or "but expected" in exc.stderr:
                raise error("ParentCommitIdOutdatedException", "The branch moved while the commit was made.") from None
            if "conflict" in exc.stderr or "is a directory" in exc.stderr or "file exists" in exc.stderr.lower():
                raise error("FileNameConflictsWithDirectoryNameException", exc.stderr.strip()[:300]) from None
            raise
        if parent is None:  # the first commit names the default branch
            await repos.set_head(path, branch)
        await self.on_push(self.repository_info(ctx.account_id, ctx.region, row["name"]) or {},
                           ctx.principal, [(f"refs/heads/{branch}", parent, commit)])
        return commit, tree

    async def put_file(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        path = self._path(ctx.account_id, ctx.region, row["name"])
        branch = params["branchName"]
        parent = await self._parent(path, branch, params.get("parentCommitId"))
        file_path = _check_path(params["filePath"])
        content = params["fileContent"]
        mode = GIT_MODES.get(params.get("fileMode") or "NORMAL", "100644")
        if parent is not None:
            existing = [e for e in await repos.ls_tree(path, parent, file_path) if e.path == file_path]
            if existing and existing[0].mode == mode and await repos.cat(path, existing[0].sha) == content:
                raise error("SameFileContentException",
                            "The file could not be added because the provided file content is the same as the existing file.")
        commit, tree = await self._write(
            ctx, row, branch, parent, [repos.FileChange(file_path, content, mode)],
            params.get("commitMessage") or f"Added {file_path}", params.get("name"), params.get("email"),
        )
        blob = (await repos.git(path, "rev-parse", f"{commit}:{file_path}")).decode().strip()
        return {"commitId": commit, "blobId": blob, "treeId": tree}

    async def delete_file(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        path = self._path(ctx.account_id, ctx.region, row["name"])
        branch = params["branchName"]
        parent = await self._parent(path, branch, params.get("parentCommitId"))
        file_path = _check_path(params["filePath"])
        existing = [e for e in await repos.ls_tree(path, parent, file_path) if e.path == file_path] if parent else []
        if not existing:
            raise error("FileDoesNotExistException", f"The file {params['filePath']} does not exist.")
        commit, tree = await self._write(
            ctx, row, branch, parent, [repos.FileChange(file_path, None)],
            params.get("commitMessage") or f"Deleted {file_path}", params.get("name"), params.get("email"),
        )
        return {"commitId": commit, "blobId": existing[0].sha, "treeId": tree, "filePath": file_path}

    async def create_commit(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        path = self._path(ctx.account_id, ctx.region, row["name"])
        branch = params["branchName"]
        parent = await self._parent(path, branch, params.get("parentCommitId"))
        before = {e.path: e for e in await repos.ls_tree(path, parent, recursive=True)} if parent else {}
        changes: list[repos.FileChange] = []
        seen: set[str] = set()

        def claim(file_path: str) -> str:
            cleaned = _check_path(file_path)
            if cleaned in seen:
                raise error("SamePathRequestException", f"The path {file_path} is named more than once.")
            seen.add(cleaned)
            return cleaned

        for entry in params.get("putFiles") or []:
            file_path = claim(entry["filePath"])
            mode = GIT_MODES.get(entry.get("fileMode") or "NORMAL", "100644")
            if entry.get("fileContent") is not None and entry.get("sourceFile"):
                raise error("FileContentAndSourceFileSpecifiedException", "Give either fileContent or sourceFile.")
            if entry.get("sourceFile"):
                source = _check_path(entry["sourceFile"]["filePath"])
                if source not in before:
                    raise error("FileDoesNotExistException", f"The file {source} does not exist.")
                content = await repos.cat(path, before[source].sha)
                if entry["sourceFile"].get("isMove"):
                    changes.append(repos.FileChange(source, None))
            elif entry.get("fileContent") is not None:
                content = entry["fileContent"]
            else:
                raise error("SourceFileOrContentRequiredException", "A put file entry needs fileContent or sourceFile.")
            changes.append(repos.FileChange(file_path, content, mode))
        for entry in params.get("deleteFiles") or []:
            file_path = claim(entry["filePath"])
            if file_path not in before:
                raise error("FileDoesNotExistException", f"The file {entry['filePath']} does not exist.")
            changes.append(repos.FileChange(file_path, None))
        for entry in params.get("setFileModes") or []:
            file_path = claim(entry["filePath"])
            if file_path not in before:
                raise error("FileDoesNotExistException", f"The file {entry['filePath']} does not exist.")
            changes.append(repos.FileChange(file_path, await repos.cat(path, before[file_path].sha),
                                            GIT_MODES.get(entry["fileMode"], "100644")))
        if not changes:
            raise error("FileEntryRequiredException", "At least one file entry is required.")
        commit, tree = await self._write(ctx, row, branch, parent, changes, params.get("commitMessage"),
                                         params.get("authorName"), params.get("email"))
        after = {e.path: e for e in await repos.ls_tree(path, commit, recursive=True)}
        added, updated, deleted = [], [], []
        for c in await repos.diff(path, parent, commit):
            if c.status == "D":
                deleted.append({"absolutePath": c.path, "blobId": c.old_sha, "fileMode": MODES.get(c.old_mode, "NORMAL")})
            else:
                meta = {"absolutePath": c.path, "blobId": after[c.path].sha, "fileMode": MODES.get(c.new_mode, "NORMAL")}
                (added if c.status == "A" else updated).append(meta)
        if parent is not None and not (added or updated or deleted):
            raise error("NoChangeException", "The commit cannot be created because no changes will be made.")
        return {"commitId": commit, "treeId": tree, "filesAdded": added, "filesUpdated": updated, "filesDeleted": deleted}

    # -- triggers ---------------------------------------------------------------------------------

    def put_repository_triggers(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        triggers = params["triggers"]
        if len(triggers) > MAX_TRIGGERS:
            raise error("MaximumRepositoryTriggersExceededException", f"At most {MAX_TRIGGERS} triggers are allowed.")
        for t in triggers:
            if not t.get("name"):
                raise error("RepositoryTriggerNameRequiredException", "A trigger needs a name.")
            destination = t.get("destinationArn") or ""
            try:
                parsed = arns.parse(destination)
            except ValueError:
                parsed = None
            if parsed is None or parsed.service not in ("sns", "lambda"):
                raise error("InvalidRepositoryTriggerDestinationArnException",
                            f"The destination {destination} is not an SNS topic or Lambda function ARN.")
            if parsed.region != ctx.region:
                raise error("InvalidRepositoryTriggerRegionException", "The destination must be in the repository's region.")
            events = t.get("events") or []
            if not events:
                raise error("RepositoryTriggerEventsListRequiredException", "A trigger needs events.")
            if any(e not in TRIGGER_EVENTS for e in events) or ("all" in events and len(events) > 1):
                raise error("InvalidRepositoryTriggerEventsException", f"Trigger events must be among {TRIGGER_EVENTS}; 'all' alone.")
        configuration_id = str(uuid.uuid4())
        with self.backend.db.begin() as conn:
            store.change(conn, ctx.account_id, ctx.region, row["name"], triggers=triggers, triggers_id=configuration_id)
        return {"configurationId": configuration_id}

    def get_repository_triggers(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        return {"configurationId": row["triggers_id"] or str(uuid.UUID(int=0)), "triggers": row["triggers"]}

    async def test_repository_triggers(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._row(ctx, params["repositoryName"])
        info = self.repository_info(ctx.account_id, ctx.region, row["name"]) or {}
        info["triggers"] = params["triggers"]
        failed = await self._run_triggers(info, ctx.principal, [], test=True)
        return {"successfulExecutions": [t["name"] for t in params["triggers"] if t["name"] not in failed],
                "failedExecutions": [{"trigger": n, "failureMessage": m} for n, m in failed.items()]}

    # -- tags -------------------------------------------------------------------------------------

    def _check_tags(self, tags: dict[str, str]) -> None:
        if len(tags) > MAX_TAGS:
            raise error("TooManyTagsException", f"A resource can have at most {MAX_TAGS} tags.")
        if any(k.lower().startswith("aws:") for k in tags):
            raise error("InvalidSystemTagUsageException", "Tag keys cannot start with aws:.")

    def _arn_row(self, ctx: RequestContext, arn: str) -> dict[str, Any]:
        try:
            parsed = arns.parse(arn)
        except ValueError:
            raise error("InvalidResourceArnException", f"The ARN {arn} is not valid.") from None
        if parsed.service != "codecommit" or parsed.account != ctx.account_id or parsed.region != ctx.region:
            raise error("InvalidResourceArnException", f"The ARN {arn} is not a CodeCommit repository of this account and region.")
        return self._row(ctx, parsed.resource)

    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._arn_row(ctx, params["resourceArn"])
        tags = {**row["tags"], **params["tags"]}
        self._check_tags(tags)
        with self.backend.db.begin() as conn:
            store.change(conn, ctx.account_id, ctx.region, row["name"], tags=tags)
        return {}

    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._arn_row(ctx, params["resourceArn"])
        tags = {k: v for k, v in row["tags"].items() if k not in set(params["tagKeys"])}
        with self.backend.db.begin() as conn:
            store.change(conn, ctx.account_id, ctx.region, row["name"], tags=tags)
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"tags": self._arn_row(ctx, params["resourceArn"])["tags"]}

    # -- after a push -----------------------------------------------------------------------------

    async def on_push(self, info: dict[str, Any], principal: Principal | None,
                      changes: list[tuple[str, str | None, str | None]]) -> None:
        """What CodeCommit does after refs moved (a git push, PutFile, CreateCommit): events on
        the default bus, triggers, the pipelines whose source watches the branch."""
        from seedbed.gitserver import hooks
        from seedbed.services.events.publish import emit

        if not info:
            return
        account, region = info["account_id"], info["region"]
        path = self._path(account, region, info["repositoryName"])
        branches = await repos.branches(path)
        head = await repos.head_branch(path)
        if head not in branches and branches:  # the first push names the default branch
            pushed = [ref[len("refs/heads/"):] for ref, _, new in changes if new and ref.startswith("refs/heads/")]
            await repos.set_head(path, pushed[0] if pushed else min(branches))
        caller = principal.arn if principal else f"arn:aws:iam::{account}:root"
        for ref, old, new in changes:
            kind = "branch" if ref.startswith("refs/heads/") else "tag" if ref.startswith("refs/tags/") else None
            if kind is None:
                continue
            event = "referenceCreated" if not old else "referenceDeleted" if not new else "referenceUpdated"
            detail: dict[str, Any] = {
                "callerUserArn": caller, "event": event, "referenceFullName": ref,
                "referenceName": ref.split("/", 2)[2], "referenceType": kind,
                "repositoryId": info["repositoryId"], "repositoryName": info["repositoryName"],
            }
            if new:
                detail["commitId"] = new
            if old:
                detail["oldCommitId"] = old
            await emit(self.backend, account, region, "aws.codecommit", "CodeCommit Repository State Change",
                       detail, [info["arn"]])
        await self._run_triggers(info, principal, changes)
        await hooks.notify_pipelines(self.backend, account, region, "CodeCommit", info["repositoryName"], changes)

    async def _run_triggers(self, info: dict[str, Any], principal: Principal | None,
                            changes: list[tuple[str, str | None, str | None]], test: bool = False) -> dict[str, str]:
        """Deliver to each trigger whose events and branches match; name -> failure message."""
        failed: dict[str, str] = {}
        for trigger in info.get("triggers") or []:
            refs = []
            for ref, old, new in changes:
                branch = ref[len("refs/heads/"):] if ref.startswith("refs/heads/") else None
                wanted = set(trigger.get("events") or [])
                event = "createReference" if not old else "deleteReference" if not new else "updateReference"
                if "all" not in wanted and event not in wanted:
                    continue
                if trigger.get("branches") and branch not in trigger["branches"]:
                    continue
                item: dict[str, Any] = {"commit": new or old, "ref": ref}
                if not old:
                    item["created"] = True
                if not new:
                    item["deleted"] = True
                refs.append(item)
            if not refs and not test:
                continue
            record = {
                "awsRegion": info["region"], "codecommit": {"references": refs},
                "customData": trigger.get("customData") or "", "eventId": str(uuid.uuid4()),
                "eventName": "TriggerEventTest" if test else "ReferenceChanges", "eventPartNumber": 1,
                "eventSource": "aws:codecommit", "eventSourceARN": info["arn"],
                "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000",
                "eventTotalParts": 1, "eventTriggerConfigId": info.get("triggersId") or "",
                "eventTriggerName": trigger["name"], "eventVersion": "1.0",
                "userIdentityARN": principal.arn if principal else "",
            }
            destination = trigger["destinationArn"]
            if ":lambda:" in destination:
                try:
                    await self.backend.call(None, "lambda", "Invoke", {
                        "FunctionName": destination, "InvocationType": "Event",
                        "Payload": json.dumps({"Records": [record]}).encode(),
                    }, info["region"], info["account_id"])
                except Exception as exc:  # noqa: BLE001 - a failed delivery never fails the push
                    failed[trigger["name"]] = str(getattr(exc, "message", exc))
                    log.warning("CodeCommit trigger %s to %s failed: %s", trigger["name"], destination, exc)
            else:
                failed[trigger["name"]] = "Seedbed has no SNS: SNS trigger destinations are not delivered."
                log.info("CodeCommit trigger %s: SNS destination %s not delivered (no SNS in Seedbed)",
                         trigger["name"], destination)
        return failed
