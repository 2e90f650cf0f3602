"""The git server's pieces without a live server: URL parsing, the AWS CLI helper's signature,
plumbing writes and archives, and what a push emits (EventBridge event, pipeline notification)."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from seedbed.gitserver import archive, auth, repos
from seedbed.gitserver.http import parse_target, wants


def test_urls_name_the_repository_and_its_kind() -> None:
    t = parse_target("/v1/repos/my-repo/info/refs", "us-east-1")
    assert (t.kind, t.name, t.region, t.suffix) == ("codecommit", "my-repo", "us-east-1", "/info/refs")
    t = parse_target("/_seedbed/git/codecommit/eu-west-1/r/git-receive-pack", "us-east-1")
    assert (t.kind, t.name, t.region) == ("codecommit", "r", "eu-west-1")
    t = parse_target("/git-http/123456789012/us-west-2/abc-id/acme/model.git/git-upload-pack", "us-east-1")
    assert (t.kind, t.name, t.region, t.account_id, t.connection_id) == ("connection", "acme/model", "us-west-2", "123456789012", "abc-id")
    assert parse_target("/v1/repos/a/b/c/info/refs", "us-east-1") is None
    assert parse_target("/v1/repos/a", "us-east-1") is None
    signed = {"path": "/git-http/x", "headers": [(b"authorization", b"AWS4-HMAC-SHA256 Credential=...")]}
    assert not wants(signed) and wants({"path": "/git-http/x", "headers": []})


def test_the_aws_cli_helper_signature_is_what_botocore_computes() -> None:
    stamp = "20240102T030405"
    creds = Credentials("AKIDEXAMPLE", "secret/key+x")
    signer = SigV4Auth(creds, "codecommit", "eu-west-1")
    request = AWSRequest(method="GIT", url="https://localhost/v1/repos/r")
    request.context["timestamp"] = stamp
    canonical = "GIT\n/v1/repos/r\n\nhost:localhost\n\nhost\n"
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    assert auth.codecommit_signature("secret/key+x", stamp, "eu-west-1", "localhost", "/v1/repos/r") == expected


def test_basic_credentials_parse() -> None:
    import base64

    header = "Basic " + base64.b64encode(b"AKID%token:sec:ret").decode()
    assert auth.basic_credentials(header) == ("AKID%token", "sec:ret")
    assert auth.basic_credentials("Bearer x") is None


def test_commits_diffs_and_archives(tmp_path: Path) -> None:
    path = tmp_path / "r.git"
    repos.init_bare(path)

    async def go() -> tuple[str, str]:
        first, _ = await repos.commit_files(path, "main", None, [
            repos.FileChange("a.txt", b"a"), repos.FileChange("d/run.sh", b"#!/bin/sh\n", "100755")], "one")
        second, _ = await repos.commit_files(path, "main", first, [repos.FileChange("a.txt", None),
                                                                    repos.FileChange("b.txt", b"b")], "two")
        changes = await repos.diff(path, first, second)
        assert sorted((c.status, c.path) for c in changes) == [("A", "b.txt"), ("D", "a.txt")]
        assert (await repos.branches(path)) == {"main": second}
        return first, second

    first, second = asyncio.run(go())
    commit, data = archive(path, "main")
    assert commit == second
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(n for n in z.namelist() if not n.endswith("/")) == ["b.txt", "d/run.sh"]
    assert archive(path, first)[0] == first


def test_zip_changes_keep_executable_bits_and_refuse_escapes() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bin/x.sh")
        info.external_attr = 0o755 << 16
        z.writestr(info, "x")
        z.writestr("../evil", "e")
        z.writestr("ok/", "")
    changes = repos.zip_changes(buf.getvalue())
    assert [(c.path, c.mode) for c in changes] == [("bin/x.sh", "100755")]


class _Pipeline:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def source_changed(self, account_id: str, region: str, **kw: Any) -> None:
        self.calls.append({"account_id": account_id, "region": region, **kw})


def test_a_push_emits_the_codecommit_event_and_tells_codepipeline(tmp_path: Path) -> None:
    from seedbed.services.codecommit.provider import CodeCommitProvider

    pipeline = _Pipeline()
    puts: list[dict[str, Any]] = []

    async def call(principal: Any, service: str, operation: str, params: dict[str, Any], region: str, account: str) -> dict:
        puts.append({"service": service, "operation": operation, **params})
        return {}

    backend = SimpleNamespace(settings=SimpleNamespace(data_dir=tmp_path, region="us-east-1", endpoint_url="http://x"),
                              provider=lambda name: pipeline if name == "codepipeline" else None, call=call)
    provider = CodeCommitProvider(backend)  # type: ignore[arg-type]
    path = repos.path_for(tmp_path, "111122223333", "us-east-1", "codecommit", "r")
    repos.init_bare(path)
    new, _ = asyncio.run(repos.commit_files(path, "dev", None, [repos.FileChange("a", b"a")], "m"))
    info = {"account_id": "111122223333", "region": "us-east-1", "repositoryName": "r", "repositoryId": "rid",
            "arn": "arn:aws:codecommit:us-east-1:111122223333:r", "triggers": []}
    principal = SimpleNamespace(arn="arn:aws:iam::111122223333:user/u")
    asyncio.run(provider.on_push(info, principal, [("refs/heads/dev", None, new)]))
    entry = puts[0]["Entries"][0]
    assert (puts[0]["service"], puts[0]["operation"]) == ("events", "PutEvents")
    assert entry["Source"] == "aws.codecommit" and entry["DetailType"] == "CodeCommit Repository State Change"
    assert json.loads(entry["Detail"]) == {
        "callerUserArn": principal.arn, "event": "referenceCreated", "referenceFullName": "refs/heads/dev",
        "referenceName": "dev", "referenceType": "branch", "repositoryId": "rid", "repositoryName": "r",
        "commitId": new,
    }
    assert entry["Resources"] == [info["arn"]]
    assert pipeline.calls == [{"account_id": "111122223333", "region": "us-east-1", "provider": "CodeCommit",
                               "repository": "r", "branch": "dev", "commit_id": new}]
    assert asyncio.run(repos.head_branch(path)) == "dev"  # the first pushed branch becomes the default
