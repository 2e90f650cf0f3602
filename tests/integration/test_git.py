"""Git hosting as users meet it: the stock git client cloning, pushing and pulling over smart HTTP
with AWS credentials (Seedbed's credential helper, the AWS CLI's SigV4 helper, a URL-embedded
key), IAM deciding GitPull/GitPush, and connection repositories created by their first push."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import BIN, LiveServer


def git(cwd: Path, *args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc


def git_env(server: LiveServer, tmp_path: Path, **aws: str) -> dict[str, str]:
    """A shell after `eval "$(seedbed env)"` with Seedbed's helper configured for the endpoint."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Tester\n\temail = tester@example.com\n[init]\n\tdefaultBranch = main\n"
        f"[credential \"{server.endpoint}\"]\n\thelper = \"!{BIN}/seedbed git-credential\"\n"
    )
    env = {**server.env, "HOME": str(home), "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"}
    env.update(aws)
    return env


def commit_file(work: Path, name: str, text: str, env: dict[str, str]) -> None:
    (work / name).parent.mkdir(parents=True, exist_ok=True)
    (work / name).write_text(text)
    git(work, "add", name, env=env)
    git(work, "commit", "-qm", f"add {name}", env=env)


def test_clone_push_pull_and_read_back_through_the_api(server: LiveServer, tmp_path: Path) -> None:
    cc = server.client("codecommit")
    name = f"repo-{uuid.uuid4().hex[:8]}"
    meta = cc.create_repository(repositoryName=name, repositoryDescription="d", tags={"team": "ml"})["repositoryMetadata"]
    assert meta["cloneUrlHttp"] == f"{server.endpoint}/v1/repos/{name}"
    assert "defaultBranch" not in meta
    env = git_env(server, tmp_path)
    git(tmp_path, "clone", "-q", meta["cloneUrlHttp"], "a", env=env)
    work = tmp_path / "a"
    commit_file(work, "README.md", "hello\n", env)
    commit_file(work, "src/app.py", "print(1)\n", env)
    git(work, "push", "-q", "origin", "main", env=env)
    head = git(work, "rev-parse", "HEAD", env=env).stdout.strip()

    assert cc.get_repository(repositoryName=name)["repositoryMetadata"]["defaultBranch"] == "main"
    assert cc.get_branch(repositoryName=name, branchName="main")["branch"]["commitId"] == head
    got = cc.get_file(repositoryName=name, filePath="src/app.py")
    assert got["fileContent"] == b"print(1)\n" and got["commitId"] == head and got["fileMode"] == "NORMAL"
    folder = cc.get_folder(repositoryName=name, folderPath="/")
    assert [f["absolutePath"] for f in folder["files"]] == ["README.md"]
    assert [f["absolutePath"] for f in folder["subFolders"]] == ["src"]
    commit = cc.get_commit(repositoryName=name, commitId=head)["commit"]
    assert commit["message"] == "add src/app.py\n" and commit["author"]["name"] == "Tester"
    diff = cc.get_differences(repositoryName=name, beforeCommitSpecifier=commit["parents"][0], afterCommitSpecifier="main")
    assert [(d["changeType"], d["afterBlob"]["path"]) for d in diff["differences"]] == [("A", "src/app.py")]

    # An API write is visible to the next pull.
    put = cc.put_file(repositoryName=name, branchName="main", fileContent=b"v2\n", filePath="README.md",
                      parentCommitId=head, commitMessage="api edit", name="Api", email="api@example.com")
    with pytest.raises(ClientError) as stale:
        cc.put_file(repositoryName=name, branchName="main", fileContent=b"v3\n", filePath="README.md", parentCommitId=head)
    assert stale.value.response["Error"]["Code"] == "ParentCommitIdOutdatedException"
    git(work, "pull", "-q", "--ff-only", env=env)
    assert (work / "README.md").read_text() == "v2\n"
    assert git(work, "rev-parse", "HEAD", env=env).stdout.strip() == put["commitId"]

    cc.create_branch(repositoryName=name, branchName="dev", commitId=head)
    assert cc.list_branches(repositoryName=name)["branches"] == ["dev", "main"]
    with pytest.raises(ClientError) as default:
        cc.delete_branch(repositoryName=name, branchName="main")
    assert default.value.response["Error"]["Code"] == "DefaultBranchCannotBeDeletedException"
    assert cc.delete_branch(repositoryName=name, branchName="dev")["deletedBranch"]["commitId"] == head
    assert cc.list_tags_for_resource(resourceArn=meta["Arn"])["tags"] == {"team": "ml"}


def test_create_commit_and_triggers_and_cli(server: LiveServer, tmp_path: Path) -> None:
    cc = server.client("codecommit")
    name = f"repo-{uuid.uuid4().hex[:8]}"
    cc.create_repository(repositoryName=name)
    first = cc.create_commit(repositoryName=name, branchName="main", authorName="A", email="a@example.com",
                             commitMessage="init", putFiles=[{"filePath": "a.txt", "fileContent": b"a"},
                                                             {"filePath": "bin/run.sh", "fileContent": b"#!/bin/sh\n", "fileMode": "EXECUTABLE"}])
    assert sorted(f["absolutePath"] for f in first["filesAdded"]) == ["a.txt", "bin/run.sh"]
    second = cc.create_commit(repositoryName=name, branchName="main", parentCommitId=first["commitId"],
                              deleteFiles=[{"filePath": "a.txt"}], putFiles=[{"filePath": "b.txt", "fileContent": b"b"}])
    assert [f["absolutePath"] for f in second["filesDeleted"]] == ["a.txt"]
    with pytest.raises(ClientError) as missing:
        cc.get_file(repositoryName=name, filePath="a.txt")
    assert missing.value.response["Error"]["Code"] == "FileDoesNotExistException"
    assert cc.get_file(repositoryName=name, filePath="bin/run.sh")["fileMode"] == "EXECUTABLE"

    trigger = {"name": "t", "destinationArn": f"arn:aws:lambda:{server.region}:000000000000:function:f",
               "events": ["all"], "branches": []}
    config = cc.put_repository_triggers(repositoryName=name, triggers=[trigger])["configurationId"]
    got = cc.get_repository_triggers(repositoryName=name)
    assert got["configurationId"] == config and got["triggers"] == [trigger]
    with pytest.raises(ClientError) as bad:
        cc.put_repository_triggers(repositoryName=name, triggers=[{**trigger, "destinationArn": "nope"}])
    assert bad.value.response["Error"]["Code"] == "InvalidRepositoryTriggerDestinationArnException"

    out = subprocess.run([str(BIN / "aws"), "codecommit", "list-repositories", "--output", "json"],
                         env=server.env, capture_output=True, text=True, check=True).stdout
    assert name in out
    cc.update_repository_name(oldName=name, newName=name + "-x")
    assert cc.get_file(repositoryName=name + "-x", filePath="b.txt")["fileContent"] == b"b"
    assert cc.delete_repository(repositoryName=name + "-x")["repositoryId"]
    with pytest.raises(ClientError) as gone:
        cc.get_repository(repositoryName=name + "-x")
    assert gone.value.response["Error"]["Code"] == "RepositoryDoesNotExistException"


def test_aws_cli_signed_helper_and_url_key(server: LiveServer, tmp_path: Path) -> None:
    cc = server.client("codecommit")
    name = f"repo-{uuid.uuid4().hex[:8]}"
    url = cc.create_repository(repositoryName=name)["repositoryMetadata"]["cloneUrlHttp"]
    env = git_env(server, tmp_path)
    (Path(env["HOME"]) / ".gitconfig").write_text(
        "[user]\n\tname = T\n\temail = t@example.com\n"
        f"[credential]\n\thelper = \"!{BIN}/aws codecommit credential-helper --ignore-host-check $@\"\n"
        "\tUseHttpPath = true\n"
    )
    git(tmp_path, "clone", "-q", url, "signed", env=env)
    commit_file(tmp_path / "signed", "x.txt", "x", env)
    git(tmp_path / "signed", "push", "-q", "origin", "HEAD:main", env=env)

    keyed = url.replace("http://", f"http://{server.access_key}:{quote(server.secret_key, safe='')}@")
    plain_env = {**env, "HOME": str(tmp_path)}
    git(tmp_path, "clone", "-q", keyed, "keyed", env=plain_env)
    assert (tmp_path / "keyed" / "x.txt").read_text() == "x"

    wrong = url.replace("http://", f"http://{server.access_key}:wrong@")
    failed = git(tmp_path, "clone", "-q", wrong, "nope", env=plain_env, check=False)
    assert failed.returncode != 0 and "Authentication failed" in failed.stderr
    anonymous = httpx.get(f"{url}/info/refs?service=git-upload-pack")
    assert anonymous.status_code == 401 and "Basic" in anonymous.headers["www-authenticate"]


def test_iam_denies_push_for_a_user_with_pull_only(server: LiveServer, tmp_path: Path) -> None:
    iam, cc = server.client("iam"), server.client("codecommit")
    name = f"repo-{uuid.uuid4().hex[:8]}"
    meta = cc.create_repository(repositoryName=name)["repositoryMetadata"]
    cc.put_file(repositoryName=name, branchName="main", fileContent=b"x", filePath="x.txt")
    user = f"reader-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="pull", PolicyDocument=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codecommit:GitPull",'
        f'"Resource":"{meta["Arn"]}"}}]}}'))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    env = git_env(server, tmp_path, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
    git(tmp_path, "clone", "-q", meta["cloneUrlHttp"], "r", env=env)
    commit_file(tmp_path / "r", "y.txt", "y", env)
    denied = git(tmp_path / "r", "push", "-q", "origin", "main", env=env, check=False)
    assert denied.returncode != 0 and "403" in denied.stderr
    assert cc.get_branch(repositoryName=name, branchName="main")["branch"]["commitId"] == \
        git(tmp_path / "r", "rev-parse", "HEAD~1", env=env).stdout.strip()


@pytest.mark.parametrize("service", ["codestar-connections", "codeconnections"])
def test_connection_repositories_are_created_by_their_first_push(server: LiveServer, tmp_path: Path, service: str) -> None:
    client = server.client(service)
    arn = client.create_connection(ProviderType="GitHub", ConnectionName=f"c-{uuid.uuid4().hex[:6]}",
                                   Tags=[{"Key": "k", "Value": "v"}])["ConnectionArn"]
    assert arn.startswith(f"arn:aws:{service}:{server.region}:000000000000:connection/")
    connection = client.get_connection(ConnectionArn=arn)["Connection"]
    assert connection["ConnectionStatus"] == "AVAILABLE" and connection["ProviderType"] == "GitHub"
    assert arn in [c["ConnectionArn"] for c in client.list_connections(ProviderTypeFilter="GitHub")["Connections"]]
    other = "codeconnections" if service == "codestar-connections" else "codestar-connections"
    assert server.client(other).get_connection(ConnectionArn=arn)["Connection"]["ConnectionArn"] == arn
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]

    connection_id = arn.rsplit("/", 1)[1]
    repo = f"acme/build-{uuid.uuid4().hex[:6]}"  # one namespace per account and region, like a GitHub org
    url = f"{server.endpoint}/git-http/000000000000/{server.region}/{connection_id}/{repo}.git"
    env = git_env(server, tmp_path)
    missing = git(tmp_path, "clone", "-q", url, "none", env=env, check=False)
    assert missing.returncode != 0
    work = tmp_path / "w"
    work.mkdir()
    git(work, "init", "-q", env=env)
    commit_file(work, "pipelines/run.py", "print('x')\n", env)
    git(work, "push", "-q", url, "HEAD:main", env=env)
    git(tmp_path, "clone", "-q", url, "c", env=env)
    assert (tmp_path / "c" / "pipelines" / "run.py").exists()
    short = f"{server.endpoint}/_seedbed/git/{connection_id}/{repo}.git"
    git(tmp_path, "clone", "-q", short, "d", env=env)

    client.delete_connection(ConnectionArn=arn)
    with pytest.raises(ClientError) as gone:
        client.get_connection(ConnectionArn=arn)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_sagemaker_code_repositories(server: LiveServer) -> None:
    sm = server.client("sagemaker")
    name = f"repo-{uuid.uuid4().hex[:8]}"
    url = f"https://git-codecommit.{server.region}.amazonaws.com/v1/repos/{name}"  # the model wants https
    arn = sm.create_code_repository(CodeRepositoryName=name, GitConfig={"RepositoryUrl": url, "Branch": "main"},
                                    Tags=[{"Key": "a", "Value": "b"}])["CodeRepositoryArn"]
    got = sm.describe_code_repository(CodeRepositoryName=name)
    assert got["CodeRepositoryArn"] == arn and got["GitConfig"] == {"RepositoryUrl": url, "Branch": "main"}
    assert name in [r["CodeRepositoryName"] for r in sm.list_code_repositories(NameContains=name[5:])["CodeRepositorySummaryList"]]
    sm.update_code_repository(CodeRepositoryName=name, GitConfig={"SecretArn": "arn:aws:secretsmanager:us-east-1:000000000000:secret:x"})
    assert sm.describe_code_repository(CodeRepositoryName=name)["GitConfig"]["SecretArn"].endswith(":secret:x")
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "a", "Value": "b"}]
    with pytest.raises(ClientError):
        sm.create_code_repository(CodeRepositoryName=name, GitConfig={"RepositoryUrl": url})
    sm.delete_code_repository(CodeRepositoryName=name)
    with pytest.raises(ClientError) as gone:
        sm.describe_code_repository(CodeRepositoryName=name)
    assert gone.value.response["Error"]["Code"] == "ValidationException"


def test_stack_repository_with_initial_code_from_s3(server: LiveServer, tmp_path: Path) -> None:
    import io
    import json
    import zipfile

    s3, cfn = server.client("s3"), server.client("cloudformation")
    bucket = f"seed-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("buildspec.yml", "version: 0.2\n")
        z.writestr("pipelines/pipeline.py", "x = 1\n")
    s3.put_object(Bucket=bucket, Key="seed.zip", Body=buf.getvalue())
    name = f"repo-{uuid.uuid4().hex[:8]}"
    template = {
        "Resources": {
            "Repo": {"Type": "AWS::CodeCommit::Repository", "Properties": {
                "RepositoryName": name, "Code": {"S3": {"Bucket": bucket, "Key": "seed.zip"}, "BranchName": "main"}}},
            "SmRepo": {"Type": "AWS::SageMaker::CodeRepository", "Properties": {
                "GitConfig": {"RepositoryUrl": {"Fn::Sub": "https://git-codecommit.${AWS::Region}.amazonaws.com/v1/repos/${Repo.Name}"},
                              "Branch": "main"}}},
            "Conn": {"Type": "AWS::CodeStarConnections::Connection", "Properties": {"ConnectionName": "gh", "ProviderType": "GitHub"}},
        },
        "Outputs": {"Url": {"Value": {"Fn::GetAtt": ["Repo", "CloneUrlHttp"]}}, "Id": {"Value": {"Ref": "Repo"}},
                    "Status": {"Value": {"Fn::GetAtt": ["Conn", "ConnectionStatus"]}}},
    }
    stack = f"git-{uuid.uuid4().hex[:6]}"
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}
    assert outputs["Url"].endswith(f"/v1/repos/{name}") and outputs["Status"] == "AVAILABLE"
    cc = server.client("codecommit")
    assert outputs["Id"] == cc.get_repository(repositoryName=name)["repositoryMetadata"]["repositoryId"]
    env = git_env(server, tmp_path)
    git(tmp_path, "clone", "-q", outputs["Url"], "seeded", env=env)
    assert (tmp_path / "seeded" / "pipelines" / "pipeline.py").read_text() == "x = 1\n"
    cfn.delete_stack(StackName=stack)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    with pytest.raises(ClientError):
        cc.get_repository(repositoryName=name)


def test_git_http_paths_signed_for_s3_stay_with_s3(server: LiveServer) -> None:
    s3 = server.client("s3")
    try:
        s3.create_bucket(Bucket="git-http")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"
    s3.put_object(Bucket="git-http", Key="000000000000/r/c/o/r.git/info/refs", Body=b"obj")
    assert s3.get_object(Bucket="git-http", Key="000000000000/r/c/o/r.git/info/refs")["Body"].read() == b"obj"
    assert os.path.exists(BIN / "seedbed")


def test_connection_hosts_lifecycle(server: LiveServer) -> None:
    client = server.client("codeconnections")
    name = f"h-{uuid.uuid4().hex[:6]}"
    arn = client.create_host(Name=name, ProviderType="GitLabSelfManaged", ProviderEndpoint="https://gitlab.example.com")["HostArn"]
    got = client.get_host(HostArn=arn)
    assert got["Name"] == name and got["ProviderEndpoint"] == "https://gitlab.example.com"
    assert arn in [h["HostArn"] for h in client.list_hosts()["Hosts"]]
    client.update_host(HostArn=arn, ProviderEndpoint="https://gitlab2.example.com")
    assert client.get_host(HostArn=arn)["ProviderEndpoint"] == "https://gitlab2.example.com"
    client.delete_host(HostArn=arn)
    with pytest.raises(ClientError) as gone:
        client.get_host(HostArn=arn)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
