"""The action providers: what each action category and provider does.

Every action acts as the pipeline's role (or the action's own ``roleArn``), through
:meth:`Backend.call`, so IAM and the audit trail see it as they would on AWS. Artifacts are zips in
the artifact bucket under ``<pipeline name (20)>/<artifact name (10)>/<random>``.
"""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import string
import uuid
import zipfile
from typing import TYPE_CHECKING, Any

from seedbed.errors import ServiceError
from seedbed.runtime.credentials import RoleSession, assume_for_service
from seedbed.services.codepipeline import store
from seedbed.services.codepipeline.engine import ActionResult

if TYPE_CHECKING:
    from seedbed.services.codepipeline.engine import ExecutionRunner

POLL = 0.5
STACK_TERMINAL_OK = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE")
STACK_TERMINAL_BAD = ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED",
                      "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED", "IMPORT_ROLLBACK_COMPLETE",
                      "IMPORT_ROLLBACK_FAILED")


class ActionFailure(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- plumbing -------------------------------------------------------------------------------------

def _git() -> Any:
    try:
        from seedbed import gitserver
    except ImportError:
        raise ActionFailure("this Seedbed has no git hosting; git source actions cannot run") from None
    if hasattr(gitserver, "archive") and hasattr(gitserver, "repository_path"):
        return gitserver
    try:
        from seedbed.gitserver import repos
    except ImportError:
        raise ActionFailure("this Seedbed has no git hosting; git source actions cannot run") from None
    return repos


def role_session(runner: ExecutionRunner, action: dict[str, Any]) -> RoleSession:
    pipeline_role = runner.decl["roleArn"]
    name = f"codepipeline-{runner.row.pipeline_name}"[:64]
    try:
        session = assume_for_service(runner.backend, pipeline_role, "codepipeline.amazonaws.com", name,
                                     source_account=runner.row.account_id)
    except ServiceError as exc:
        raise ActionFailure(f"CodePipeline cannot assume the pipeline role {pipeline_role}: {exc.message}") from None
    if action.get("roleArn"):
        try:
            return assume_for_service(runner.backend, action["roleArn"], "codepipeline.amazonaws.com", name,
                                      source_account=runner.row.account_id)
        except ServiceError:
            pass
        sts = runner.backend.provider("sts")
        try:
            out = sts.assume_role_for_service(action["roleArn"], "codepipeline.amazonaws.com", name)  # type: ignore[union-attr]
        except ServiceError as exc:
            raise ActionFailure(f"CodePipeline cannot assume the action role {action['roleArn']}: {exc.message}") from None
        cred = runner.backend.credentials.resolve(out.access_key_id)
        return RoleSession(out.access_key_id, out.secret_access_key, out.session_token, cred.principal)
    return session


async def call(runner: ExecutionRunner, session: RoleSession, service: str, op: str, params: dict[str, Any]) -> dict[str, Any]:
    return await runner.backend.call(session.principal, service, op, params, runner.row.region)


def artifact_store(runner: ExecutionRunner) -> dict[str, Any]:
    decl = runner.decl
    if decl.get("artifactStore"):
        return decl["artifactStore"]
    stores = decl.get("artifactStores") or {}
    return stores.get(runner.row.region) or next(iter(stores.values()))


def new_key(runner: ExecutionRunner, artifact: str) -> str:
    alphabet = string.ascii_letters + string.digits
    return f"{runner.row.pipeline_name[:20]}/{artifact[:10]}/{''.join(secrets.choice(alphabet) for _ in range(7))}"


async def put_artifact(runner: ExecutionRunner, session: RoleSession, artifact: str, body: bytes) -> dict[str, str]:
    bucket = artifact_store(runner)["location"]
    key = new_key(runner, artifact)
    try:
        await call(runner, session, "s3", "PutObject", {"Bucket": bucket, "Key": key, "Body": body})
    except ServiceError as exc:
        raise ActionFailure(f"Could not write the artifact {artifact} to s3://{bucket}/{key}: {exc.code}: {exc.message}") from None
    return {"bucket": bucket, "key": key}


async def read_artifact(runner: ExecutionRunner, session: RoleSession, artifact: str) -> bytes:
    from seedbed.cloudformation.engine import read_body

    location = (runner.doc.get("artifacts") or {}).get(artifact)
    if location is None:
        raise ActionFailure(f"The input artifact {artifact} was not produced in this execution")
    try:
        out = await call(runner, session, "s3", "GetObject", {"Bucket": location["bucket"], "Key": location["key"]})
    except ServiceError as exc:
        raise ActionFailure(f"Could not read the artifact {artifact}: {exc.code}: {exc.message}") from None
    return await read_body(out.get("Body"))


def file_in_zip(data: bytes, path: str, artifact: str) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return zf.read(path.lstrip("/"))
    except KeyError:
        raise ActionFailure(f"The file {path} was not found in the artifact {artifact}") from None
    except zipfile.BadZipFile:
        raise ActionFailure(f"The artifact {artifact} is not a zip file") from None


async def artifact_file(runner: ExecutionRunner, session: RoleSession, reference: str) -> bytes:
    """``ArtifactName::path/in/zip``."""
    if "::" not in reference:
        raise ActionFailure(f"Invalid artifact file reference {reference!r}; expected ArtifactName::path")
    artifact, path = reference.split("::", 1)
    return file_in_zip(await read_artifact(runner, session, artifact), path, artifact)


# -- dispatch -------------------------------------------------------------------------------------

async def run(runner: ExecutionRunner, stage: str, action: dict[str, Any], row: store.ActionRow) -> ActionResult:
    type_id = action["actionTypeId"]
    key = (type_id["category"], type_id["owner"], type_id["provider"])
    handler = HANDLERS.get(key)
    if handler is None:
        raise ActionFailure(f"The action provider {type_id['owner']}/{type_id['category']}/{type_id['provider']} "
                            "is not built in Seedbed")
    return await handler(runner, stage, action, row)


# -- Source ---------------------------------------------------------------------------------------

def _override(runner: ExecutionRunner, action: str) -> dict[str, Any] | None:
    return next((r for r in runner.doc.get("sourceRevisions") or [] if r["actionName"] == action), None)


async def source_s3(runner: ExecutionRunner, stage: str, action: dict[str, Any], row: store.ActionRow) -> ActionResult:
    from seedbed.cloudformation.engine import read_body

    cfg = action["configuration"]
    session = role_session(runner, action)
    params: dict[str, Any] = {"Bucket": cfg["S3Bucket"], "Key": cfg["S3ObjectKey"]}
    override = _override(runner, action["name"])
    if override and override["revisionType"] == "S3_OBJECT_VERSION_ID":
        params["VersionId"] = override["revisionValue"]
    elif override and override["revisionType"] == "S3_OBJECT_KEY":
        params["Key"] = override["revisionValue"]
    try:
        out = await call(runner, session, "s3", "GetObject", params)
    except ServiceError as exc:
        raise ActionFailure(f"Could not read s3://{params['Bucket']}/{params['Key']}: {exc.code}: {exc.message}") from None
    body = await read_body(out.get("Body"))
    outputs = {}
    for art in action["outputArtifacts"]:
        outputs[art["name"]] = await put_artifact(runner, session, art["name"], body)
    version = out.get("VersionId") or out.get("ETag", "").strip('"')
    variables = {"BucketName": cfg["S3Bucket"], "ObjectKey": params["Key"], "ETag": out.get("ETag", "").strip('"')}
    if out.get("VersionId"):
        variables["VersionId"] = out["VersionId"]
    revision = {"name": action["outputArtifacts"][0]["name"] if action["outputArtifacts"] else action["name"],
                "revisionId": version, "revisionSummary": f"Amazon S3 version id: {version}",
                "created": store.now().timestamp()}
    return ActionResult("Succeeded", None, outputs, variables, revision=revision,
                        external_id=version)


async def _git_source(runner: ExecutionRunner, action: dict[str, Any], kind: str, name: str, branch: str,
                      fmt: str) -> ActionResult:
    git = _git()
    session = role_session(runner, action)
    try:
        path = git.repository_path(runner.backend, runner.row.account_id, runner.row.region, kind, name)
    except Exception as exc:  # noqa: BLE001 - the git hosting's own errors
        raise ActionFailure(f"The repository {name} was not found: {exc}") from None
    override = _override(runner, action["name"])
    ref = override["revisionValue"] if override and override["revisionType"] == "COMMIT_ID" else branch
    try:
        if asyncio.iscoroutinefunction(git.archive):
            got = await git.archive(path, ref)
        else:
            got = await asyncio.to_thread(git.archive, path, ref)
        commit_id, data = got
    except ActionFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - the git hosting's own errors
        raise ActionFailure(f"Could not read {ref} of the repository {name}: {exc}") from None
    if fmt == "CODEBUILD_CLONE_REF":
        data = await asyncio.to_thread(_clone_zip, path, commit_id)
    outputs = {}
    for art in action["outputArtifacts"]:
        outputs[art["name"]] = await put_artifact(runner, session, art["name"], data)
    message = await asyncio.to_thread(_commit_message, path, commit_id)
    variables = {"CommitId": commit_id, "BranchName": branch, "CommitMessage": message,
                 "RepositoryName" if kind == "codecommit" else "FullRepositoryName": name}
    if kind == "codecommit":
        variables["AuthorDate"] = store.now().isoformat()
    revision = {"name": action["outputArtifacts"][0]["name"] if action["outputArtifacts"] else action["name"],
                "revisionId": commit_id, "revisionSummary": message, "created": store.now().timestamp()}
    runner.doc.setdefault("sourceCommits", {})[action["name"]] = commit_id
    return ActionResult("Succeeded", message[:2048] if message else None, outputs, variables, revision=revision,
                        external_id=commit_id)


def _commit_message(path: Any, commit: str) -> str:
    import subprocess

    done = subprocess.run(["git", "--git-dir", str(path), "log", "-1", "--format=%B", commit],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def _clone_zip(path: Any, commit: str) -> bytes:
    """CODEBUILD_CLONE_REF: the build gets a full clone (with ``.git``), zipped."""
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(path), str(target)], check=True, capture_output=True)
        subprocess.run(["git", "checkout", "--quiet", commit], cwd=target, check=True, capture_output=True)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in sorted(target.rglob("*")):
                if file.is_file() and not file.is_symlink():
                    zf.write(file, file.relative_to(target).as_posix())
        return buf.getvalue()


async def source_codecommit(runner: ExecutionRunner, stage: str, action: dict[str, Any], row: store.ActionRow) -> ActionResult:
    cfg = action["configuration"]
    return await _git_source(runner, action, "codecommit", cfg["RepositoryName"], cfg.get("BranchName") or "main",
                             cfg.get("OutputArtifactFormat") or "CODE_ZIP")


async def source_connection(runner: ExecutionRunner, stage: str, action: dict[str, Any], row: store.ActionRow) -> ActionResult:
    cfg = action["configuration"]
    return await _git_source(runner, action, "connection", cfg["FullRepositoryId"], cfg.get("BranchName") or "main",
                             cfg.get("OutputArtifactFormat") or "CODE_ZIP")


# -- Build ----------------------------------------------------------------------------------------

async def build_codebuild(runner: ExecutionRunner, stage: str, action: dict[str, Any], row: store.ActionRow) -> ActionResult:
    from seedbed.services.codebuild import pipeline_job

    cfg = action["configuration"]
    session = role_session(runner, action)
    inputs = []
    for art in action["inputArtifacts"]:
        loc = (runner.doc.get("artifacts") or {}).get(art["name"])
        if loc is None:
            raise ActionFailure(f"The input artifact {art['name']} was not produced in this execution")
        inputs.append(pipeline_job.ArtifactLocation(art["name"], loc["bucket"], loc["key"]))
    outputs = {art["name"]: {"bucket": artifact_store(runner)["location"], "key": new_key(runner, art["name"])}
               for art in action["outputArtifacts"]}
    job = pipeline_job.PipelineJob(
        runner.row.pipeline_name, runner.row.execution_id, inputs,
        [pipeline_job.ArtifactLocation(n, v["bucket"], v["key"]) for n, v in outputs.items()],
        cfg.get("PrimarySource"))
    params: dict[str, Any] = {"projectName": cfg["ProjectName"]}
    if cfg.get("EnvironmentVariables"):
        try:
            variables = json.loads(cfg["EnvironmentVariables"])
        except ValueError:
            raise ActionFailure("The EnvironmentVariables configuration is not valid JSON") from None
        params["environmentVariablesOverride"] = [
            {"name": v["name"], "value": str(v.get("value", "")), "type": v.get("type") or "PLAINTEXT"} for v in variables]
    build_id = row.doc.get("externalExecutionId")
    if not build_id:
        token = pipeline_job.CURRENT.set(job)
        try:
            out = await call(runner, session, "codebuild", "StartBuild", params)
        except ServiceError as exc:
            raise ActionFailure(f"{exc.code}: {exc.message}") from None
        finally:
            pipeline_job.CURRENT.reset(token)
        build_id = out["build"]["id"]
        url = (f"https://console.aws.amazon.com/codesuite/codebuild/{runner.row.account_id}/projects/"
               f"{cfg['ProjectName']}/build/{build_id}/?region={runner.row.region}")
        await runner.provider.update_action(row, externalExecutionId=build_id, externalExecutionUrl=url)
    while True:
        try:
            got = await call(runner, session, "codebuild", "BatchGetBuilds", {"ids": [build_id]})
        except ServiceError as exc:
            raise ActionFailure(f"{exc.code}: {exc.message}") from None
        builds = got.get("builds") or []
        if not builds:
            raise ActionFailure(f"Build {build_id} not found")
        build = builds[0]
        if build["buildStatus"] != "IN_PROGRESS":
            break
        await asyncio.sleep(POLL)
    variables = {v["name"]: v.get("value", "") for v in build.get("exportedEnvironmentVariables") or []}
    if build["buildStatus"] != "SUCCEEDED":
        failed = next((p for p in build.get("phases") or [] if p.get("phaseStatus") not in (None, "SUCCEEDED")), None)
        reason = ""
        if failed and failed.get("contexts"):
            reason = f" ({failed['phaseType']}: {failed['contexts'][0].get('message', '')})"
        raise ActionFailure(f"Build terminated with state: {build['buildStatus']}{reason}")
    return ActionResult("Succeeded", None, outputs, variables, external_id=build_id)


# -- Deploy: CloudFormation -----------------------------------------------------------------------

async def _stack(runner: ExecutionRunner, session: RoleSession, name: str) -> dict[str, Any] | None:
    try:
        out = await call(runner, session, "cloudformation", "DescribeStacks", {"StackName": name})
    except ServiceError as exc:
        if "does not exist" in exc.message:
            return None
        raise ActionFailure(f"{exc.code}: {exc.message}") from None
    stacks = out.get("Stacks") or []
    return stacks[0] if stacks else None


async def _wait_stack(runner: ExecutionRunner, session: RoleSession, name: str) -> dict[str, Any] | None:
    while True:
        stack = await _stack(runner, session, name)
        if stack is None or not stack["StackStatus"].endswith("_IN_PROGRESS") or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
            return stack
        await asyncio.sleep(POLL)


async def _parameters(runner: ExecutionRunner, session: RoleSession, cfg: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    values: dict[str, Any] = {}
    tags: list[dict[str, str]] = []
    if cfg.get("TemplateConfiguration"):
        try:
            conf = json.loads(await artifact_file(runner, session, cfg["TemplateConfiguration"]))
        except ValueError:
            raise ActionFailure("The template configuration file is not valid JSON") from None
        values.update(conf.get("Parameters") or {})
        tags = [{"Key": k, "Value": str(v)} for k, v in (conf.get("Tags") or {}).items()]
    if cfg.get("ParameterOverrides"):
        try:
            overrides = json.loads(cfg["ParameterOverrides"])
        except ValueError:
            raise ActionFailure("ParameterOverrides is not valid JSON") from None
        for key, value in overrides.items():
            values[key] = await _override_value(runner, session, value)
    return [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in values.items()], tags


async def _override_value(runner: ExecutionRunner, session: RoleSession, value: Any) -> Any:
    if isinstance(value, dict) and "Fn::GetParam" in value:
        artifact, path, key = value["Fn::GetParam"]
        data = json.loads(file_in_zip(await read_artifact(runner, session, artifact), path, artifact))
        return data[key]
    if isinstance(value, dict) and "Fn::GetArtifactAtt" in value:
        artifact, attribute = value["Fn::GetArtifactAtt"]
        loc = (runner.doc.get("artifacts") or {}).get(artifact)
        if loc is None:
            raise ActionFailure(f"The artifact {artifact} was not produced in this execution")
        return {"BucketName": loc["bucket"], "ObjectKey": loc["key"],
                "URL": f"{runner.backend.settings.endpoint_url}/{loc['bucket']}/{loc['key']}"}.get(attribute, "")
    return value


async def _template(runner: ExecutionRunner, session: RoleSession, cfg: dict[str, Any]) -> dict[str, str]:
    body = await artifact_file(runner, session, cfg["TemplatePath"])
    if len(body) <= 51200:
        return {"TemplateBody": body.decode("utf-8")}
    loc = await put_artifact(runner, session, "template", body)
    return {"TemplateURL": f"{runner.backend.settings.endpoint_url}/{loc['bucket']}/{loc['key']}"}


async def deploy_cloudformation(runner: ExecutionRunner, stage: str, action: dict[str, Any], row: store.ActionRow) -> ActionResult:
    cfg = action["configuration"]
    mode = cfg.get("ActionMode") or "CREATE_UPDATE"
    name = cfg["StackName"]
    session = role_session(runner, action)
    common: dict[str, Any] = {"StackName": name}
    if cfg.get("RoleArn"):
        common["RoleARN"] = cfg["RoleArn"]
    if cfg.get("Capabilities"):
        common["Capabilities"] = [c.strip() for c in cfg["Capabilities"].split(",") if c.strip()]

    async def cfn(op: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            return await call(runner, session, "cloudformation", op, params)
        except ServiceError as exc:
            if "No updates are to be performed" in exc.message:
                return {"noop": True}
            raise ActionFailure(f"{exc.code}: {exc.message}") from None

    stack = await _wait_stack(runner, session, name)
    if mode == "DELETE_ONLY":
        if stack is not None and stack["StackStatus"] != "DELETE_COMPLETE":
            await cfn("DeleteStack", {"StackName": name, **({"RoleARN": cfg["RoleArn"]} if cfg.get("RoleArn") else {})})
            stack = await _wait_stack(runner, session, stack["StackId"])
            if stack is not None and stack["StackStatus"] != "DELETE_COMPLETE":
                raise ActionFailure(f"Stack {name} could not be deleted: {stack.get('StackStatusReason', stack['StackStatus'])}")
        return ActionResult("Succeeded", f"Stack {name} deleted")
    if mode == "CHANGE_SET_EXECUTE":
        change_set = cfg.get("ChangeSetName")
        await cfn("ExecuteChangeSet", {"StackName": name, "ChangeSetName": change_set})
        stack = await _wait_stack(runner, session, name)
        return await _stack_result(runner, session, action, name, stack)
    template = await _template(runner, session, cfg)
    parameters, tags = await _parameters(runner, session, cfg)
    body = {**common, **template, "Parameters": parameters}
    if tags:
        body["Tags"] = tags
    if mode == "CHANGE_SET_REPLACE":
        change_set = cfg["ChangeSetName"]
        exists = stack is not None and stack["StackStatus"] not in ("DELETE_COMPLETE",)
        if exists and stack["StackStatus"] != "REVIEW_IN_PROGRESS":
            try:
                await call(runner, session, "cloudformation", "DeleteChangeSet", {"StackName": name, "ChangeSetName": change_set})
            except ServiceError:
                pass
        kind = "UPDATE" if exists and stack["StackStatus"] != "REVIEW_IN_PROGRESS" else "CREATE"
        await cfn("CreateChangeSet", {**body, "ChangeSetName": change_set, "ChangeSetType": kind})
        while True:
            described = await cfn("DescribeChangeSet", {"StackName": name, "ChangeSetName": change_set})
            status = described.get("Status")
            if status == "CREATE_COMPLETE":
                return ActionResult("Succeeded", f"Change set {change_set} created")
            if status == "FAILED":
                reason = described.get("StatusReason") or ""
                if "didn't contain changes" in reason or "No updates" in reason:
                    return ActionResult("Succeeded", f"Change set {change_set} has no changes")
                raise ActionFailure(f"Change set {change_set} failed: {reason}")
            await asyncio.sleep(POLL)
    if stack is not None and stack["StackStatus"] in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED") and (
            mode == "REPLACE_ON_FAILURE"):
        await cfn("DeleteStack", {"StackName": name, **({"RoleARN": cfg["RoleArn"]} if cfg.get("RoleArn") else {})})
        await _wait_stack(runner, session, stack["StackId"])
        stack = None
    elif stack is not None and stack["StackStatus"] == "ROLLBACK_COMPLETE":
        raise ActionFailure(f"Stack {name} is in ROLLBACK_COMPLETE state and can not be updated.")
    if stack is None or stack["StackStatus"] == "DELETE_COMPLETE":
        await cfn("CreateStack", body)
    elif mode in ("CREATE_UPDATE", "REPLACE_ON_FAILURE"):
        out = await cfn("UpdateStack", body)
        if out.get("noop"):
            return await _stack_result(runner, session, action, name, stack)
    else:
        raise ActionFailure(f"The action mode {mode} is not supported")
    stack = await _wait_stack(runner, session, name)
    return await _stack_result(runner, session, action, name, stack)


async def _stack_result(runner: ExecutionRunner, session: RoleSession, action: dict[str, Any], name: str,
                        stack: dict[str, Any] | None) -> ActionResult:
    if stack is None or stack["StackStatus"] not in STACK_TERMINAL_OK:
        status = stack["StackStatus"] if stack else "missing"
        reason = (stack or {}).get("StackStatusReason") or ""
        raise ActionFailure(f"Stack {name} ended in {status}. {reason}".strip())
    outputs_map = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs") or []}
    cfg = action["configuration"]
    outputs = {}
    if action["outputArtifacts"] and cfg.get("OutputFileName"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(cfg["OutputFileName"], json.dumps(outputs_map, indent=2))
        art = action["outputArtifacts"][0]["name"]
        outputs[art] = await put_artifact(runner, session, art, buf.getvalue())
    return ActionResult("Succeeded", f"Stack {name} is {stack['StackStatus']}", outputs, outputs_map,
                        external_id=stack["StackId"])


async def deploy_stackset(runner: ExecutionRunner, stage: str, action: dict[str, Any], row: store.ActionRow) -> ActionResult:
    raise ActionFailure("CloudFormation StackSets are not built in Seedbed yet, so the "
                        f"{action['actionTypeId']['provider']} action cannot run")


# -- Approval -------------------------------------------------------------------------------------

async def approval_manual(runner: ExecutionRunner, stage: str, action: dict[str, Any], row: store.ActionRow) -> ActionResult:
    if not row.token:
        await runner.provider.update_action(row, _token=str(uuid.uuid4()))
    final = await runner.provider.wait_action(row)
    return ActionResult(final.status, final.doc.get("summary"), external_id=final.doc.get("externalExecutionId"))


# -- Invoke: Lambda -------------------------------------------------------------------------------

async def invoke_lambda(runner: ExecutionRunner, stage: str, action: dict[str, Any], row: store.ActionRow) -> ActionResult:
    cfg = action["configuration"]
    session = role_session(runner, action)
    if not row.job_id:
        job_id = secrets.token_hex(18)
        job_id = f"{job_id[:8]}-{job_id[8:12]}-{job_id[12:16]}-{job_id[16:20]}-{job_id[20:32]}"
        await runner.provider.update_action(row, _job_id=job_id)
        artifacts_in = []
        for art in action["inputArtifacts"]:
            loc = (runner.doc.get("artifacts") or {}).get(art["name"], {})
            artifacts_in.append({"name": art["name"], "revision": None, "location": {
                "type": "S3", "s3Location": {"bucketName": loc.get("bucket"), "objectKey": loc.get("key")}}})
        outputs = {a["name"]: {"bucket": artifact_store(runner)["location"], "key": new_key(runner, a["name"])}
                   for a in action["outputArtifacts"]}
        runner.doc.setdefault("pendingOutputs", {})[row.action_execution_id] = outputs
        runner.save()
        event = {"CodePipeline.job": {"id": job_id, "accountId": runner.row.account_id, "data": {
            "actionConfiguration": {"configuration": {k: v for k, v in cfg.items()}},
            "inputArtifacts": artifacts_in,
            "outputArtifacts": [{"name": n, "revision": None, "location": {"type": "S3", "s3Location": {
                "bucketName": v["bucket"], "objectKey": v["key"]}}} for n, v in outputs.items()],
            "artifactCredentials": {"accessKeyId": session.access_key_id, "secretAccessKey": session.secret_access_key,
                                    "sessionToken": session.session_token},
        }}}
        try:
            await call(runner, session, "lambda", "Invoke", {"FunctionName": cfg["FunctionName"],
                                                            "InvocationType": "Event",
                                                            "Payload": json.dumps(event).encode()})
        except ServiceError as exc:
            raise ActionFailure(f"Invoking the function {cfg['FunctionName']} failed: {exc.code}: {exc.message}") from None
    final = await runner.provider.wait_action(row)
    outputs = (runner.doc.get("pendingOutputs") or {}).get(row.action_execution_id, {})
    variables = final.doc.get("outputVariables") or {}
    if final.status != "Succeeded":
        return ActionResult("Failed", final.doc.get("summary"), error=final.doc.get("errorDetails"))
    return ActionResult("Succeeded", final.doc.get("summary"), outputs, variables,
                        external_id=final.doc.get("externalExecutionId"))


HANDLERS = {
    ("Source", "AWS", "S3"): source_s3,
    ("Source", "AWS", "CodeCommit"): source_codecommit,
    ("Source", "AWS", "CodeStarSourceConnection"): source_connection,
    ("Build", "AWS", "CodeBuild"): build_codebuild,
    ("Test", "AWS", "CodeBuild"): build_codebuild,
    ("Deploy", "AWS", "CloudFormation"): deploy_cloudformation,
    ("Deploy", "AWS", "CloudFormationStackSet"): deploy_stackset,
    ("Deploy", "AWS", "CloudFormationStackInstances"): deploy_stackset,
    ("Approval", "AWS", "Manual"): approval_manual,
    ("Invoke", "AWS", "Lambda"): invoke_lambda,
}
