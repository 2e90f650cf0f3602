"""CodePipeline as boto3 meets it: S3 source -> CodeBuild -> manual approval -> CloudFormation
deploy, driven with PutApprovalResult and followed in GetPipelineState; rejection, retry, stop."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveServer
from tests.integration.test_codebuild import make_role, zip_bytes

TEMPLATE = {
    "Parameters": {"Env": {"Type": "String"}, "Suffix": {"Type": "String", "Default": "x"}},
    "Resources": {"Param": {"Type": "AWS::SSM::Parameter", "Properties": {
        "Name": {"Fn::Sub": "/cp-deploy/${Env}/${Suffix}"}, "Type": "String", "Value": {"Ref": "Env"}}}},
    "Outputs": {"ParamName": {"Value": {"Ref": "Param"}}},
}

BUILDSPEC = """version: 0.2
env:
  exported-variables: [IMAGE_TAG]
phases:
  build:
    commands:
      - test "$STAGE_VAR" = from-pipeline
      - export IMAGE_TAG=tag-$CODEBUILD_BUILD_NUMBER
      - |
        mkdir -p out && cp template.json out/
        echo '{"Parameters": {"Env": "staging"}}' > out/config.json
        echo "{\\"Suffix\\": \\"$(cat suffix.txt)\\"}" > out/params.json
artifacts:
  base-directory: out
  files: ['**/*']
"""


def pipeline_decl(name: str, role: str, bucket: str, project: str, tag: str) -> dict:
    return {
        "name": name, "roleArn": role, "artifactStore": {"type": "S3", "location": bucket},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Src", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": bucket, "S3ObjectKey": "source.zip", "PollForSourceChanges": "false"},
                "outputArtifacts": [{"name": "SourceArtifact"}], "namespace": "SourceVariables"}]},
            {"name": "Build", "actions": [{
                "name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": project, "EnvironmentVariables": json.dumps(
                    [{"name": "STAGE_VAR", "value": "from-pipeline", "type": "PLAINTEXT"}])},
                "inputArtifacts": [{"name": "SourceArtifact"}], "outputArtifacts": [{"name": "BuildArtifact"}],
                "namespace": "BuildVariables"}]},
            {"name": "Approve", "actions": [{
                "name": "Gate", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                "configuration": {"CustomData": "tag #{BuildVariables.IMAGE_TAG}"}}]},
            {"name": "Deploy", "actions": [{
                "name": "Stack", "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation", "version": "1"},
                "configuration": {"ActionMode": "CREATE_UPDATE", "StackName": f"cp-{tag}", "RoleArn": role,
                                  "TemplatePath": "BuildArtifact::template.json",
                                  "TemplateConfiguration": "BuildArtifact::config.json",
                                  "ParameterOverrides": json.dumps({"Suffix": {"Fn::GetParam": ["BuildArtifact", "params.json", "Suffix"]}}),
                                  "OutputFileName": "outputs.json"},
                "inputArtifacts": [{"name": "BuildArtifact"}], "outputArtifacts": [{"name": "StackOut"}],
                "namespace": "DeployVariables", "runOrder": 1}]},
        ],
    }


def wait_for(fn, timeout: float = 60, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def stage_state(cp, name: str, stage: str) -> dict:  # type: ignore[no-untyped-def]
    return next(s for s in cp.get_pipeline_state(name=name)["stageStates"] if s["stageName"] == stage)


def execution(cp, name: str, execution_id: str) -> dict:  # type: ignore[no-untyped-def]
    return cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)["pipelineExecution"]


@pytest.fixture(scope="module")
def env(server: LiveServer) -> dict:
    tag = uuid.uuid4().hex[:8]
    bucket = f"cp-{tag}"
    s3 = server.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="source.zip", Body=zip_bytes(
        {"buildspec.yml": BUILDSPEC, "template.json": json.dumps(TEMPLATE), "suffix.txt": "one"}))
    role = make_role(server, f"cp-role-{tag}")
    project = f"cp-build-{tag}"
    server.client("codebuild").create_project(
        name=project, source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
        serviceRole=role)
    return {"tag": tag, "bucket": bucket, "role": role, "project": project}


def test_source_build_approval_deploy(server: LiveServer, env: dict) -> None:
    cp, ssm = server.client("codepipeline"), server.client("ssm")
    name = f"pipe-{env['tag']}"
    created = cp.create_pipeline(pipeline=pipeline_decl(name, env["role"], env["bucket"], env["project"], env["tag"]),
                                 tags=[{"key": "team", "value": "ml"}])
    assert created["pipeline"]["version"] == 1 and created["tags"] == [{"key": "team", "value": "ml"}]
    assert created["pipeline"]["stages"][0]["actions"][0]["runOrder"] == 1
    # The pipeline starts on creation, as on AWS.
    first = wait_for(lambda: cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"], what="an execution")
    execution_id = first[0]["pipelineExecutionId"]
    assert first[0]["trigger"]["triggerType"] == "CreatePipeline"

    def approval_token() -> str | None:
        latest = stage_state(cp, name, "Approve")["actionStates"][0].get("latestExecution") or {}
        return latest.get("token") if latest.get("status") == "InProgress" else None

    token = wait_for(approval_token, 90, "the approval")
    state = cp.get_pipeline_state(name=name)
    stages = {s["stageName"]: s for s in state["stageStates"]}
    assert stages["Source"]["latestExecution"]["status"] == "Succeeded"
    build_action = stages["Build"]["actionStates"][0]["latestExecution"]
    assert build_action["status"] == "Succeeded" and build_action["externalExecutionId"].startswith(f"{env['project']}:")
    assert stages["Approve"]["latestExecution"] == {"pipelineExecutionId": execution_id, "status": "InProgress", "type": "STANDARD"}
    build = server.client("codebuild").batch_get_builds(ids=[build_action["externalExecutionId"]])["builds"][0]
    assert build["initiator"] == f"codepipeline/{name}" and build["source"]["type"] == "CODEPIPELINE"
    assert build["sourceVersion"].startswith(f"arn:aws:s3:::{env['bucket']}/{name[:20]}/SourceArti/")
    with pytest.raises(ClientError) as exc:
        cp.put_approval_result(pipelineName=name, stageName="Approve", actionName="Gate",
                               result={"summary": "x", "status": "Approved"}, token=str(uuid.uuid4()))
    assert exc.value.response["Error"]["Code"] == "InvalidApprovalTokenException"
    cp.put_approval_result(pipelineName=name, stageName="Approve", actionName="Gate",
                           result={"summary": "looks good", "status": "Approved"}, token=token)
    done = wait_for(lambda: execution(cp, name, execution_id)["status"] != "InProgress" and execution(cp, name, execution_id),
                    90, "the deploy")
    assert done["status"] == "Succeeded", done
    assert ssm.get_parameter(Name="/cp-deploy/staging/one")["Parameter"]["Value"] == "staging"
    actions = cp.list_action_executions(pipelineName=name, filter={"pipelineExecutionId": execution_id})["actionExecutionDetails"]
    by_name = {a["actionName"]: a for a in actions}
    assert set(by_name) == {"Src", "Build", "Gate", "Stack"}
    assert by_name["Build"]["output"]["outputVariables"] == {"IMAGE_TAG": f"tag-{build['buildNumber']}"}
    assert by_name["Gate"]["input"]["resolvedConfiguration"]["CustomData"] == f"tag tag-{build['buildNumber']}"
    assert by_name["Stack"]["output"]["outputVariables"] == {"ParamName": "/cp-deploy/staging/one"}
    out_loc = by_name["Stack"]["output"]["outputArtifacts"][0]["s3location"]
    body = server.client("s3").get_object(Bucket=out_loc["bucket"], Key=out_loc["key"])["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert json.loads(zf.read("outputs.json")) == {"ParamName": "/cp-deploy/staging/one"}
    assert len(done["artifactRevisions"]) == 1 and done["artifactRevisions"][0]["name"] == "SourceArtifact"

    # A second run with a new source; rejecting the approval fails the execution; a retry reruns the stage.
    server.client("s3").put_object(Bucket=env["bucket"], Key="source.zip", Body=zip_bytes(
        {"buildspec.yml": BUILDSPEC, "template.json": json.dumps(TEMPLATE), "suffix.txt": "two"}))
    second = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    token = wait_for(approval_token, 90, "the second approval")
    cp.put_approval_result(pipelineName=name, stageName="Approve", actionName="Gate",
                           result={"summary": "no", "status": "Rejected"}, token=token)
    failed = wait_for(lambda: execution(cp, name, second)["status"] != "InProgress" and execution(cp, name, second), 30)
    assert failed["status"] == "Failed"
    gate = stage_state(cp, name, "Approve")["actionStates"][0]["latestExecution"]
    assert gate["status"] == "Failed" and gate["summary"] == "no"
    cp.retry_stage_execution(pipelineName=name, stageName="Approve", pipelineExecutionId=second, retryMode="FAILED_ACTIONS")
    token = wait_for(approval_token, 30, "the retried approval")
    cp.put_approval_result(pipelineName=name, stageName="Approve", actionName="Gate",
                           result={"summary": "ok now", "status": "Approved"}, token=token)
    final = wait_for(lambda: execution(cp, name, second)["status"] != "InProgress" and execution(cp, name, second), 60)
    assert final["status"] == "Succeeded"
    assert ssm.get_parameter(Name="/cp-deploy/staging/two")["Parameter"]["Value"] == "staging"


def test_stop_validation_and_missing_provider(server: LiveServer, env: dict) -> None:
    cp = server.client("codepipeline")
    name = f"stop-{env['tag']}"
    decl = pipeline_decl(name, env["role"], env["bucket"], env["project"], env["tag"] + "s")
    decl["stages"] = decl["stages"][:1] + [decl["stages"][2]]
    decl["stages"][1]["actions"][0]["configuration"] = {}
    cp.create_pipeline(pipeline=decl)
    first = wait_for(lambda: cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"])
    execution_id = first[0]["pipelineExecutionId"]
    wait_for(lambda: (stage_state(cp, name, "Approve").get("latestExecution") or {}).get("status") == "InProgress", 30)
    cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id, abandon=True, reason="enough")
    stopped = wait_for(lambda: execution(cp, name, execution_id)["status"] == "Stopped" and execution(cp, name, execution_id), 15)
    assert stopped["status"] == "Stopped"
    assert stage_state(cp, name, "Approve")["actionStates"][0]["latestExecution"]["status"] == "Abandoned"
    with pytest.raises(ClientError) as exc:
        cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
    assert exc.value.response["Error"]["Code"] == "PipelineExecutionNotStoppableException"
    with pytest.raises(ClientError) as exc:
        cp.create_pipeline(pipeline={**decl, "stages": decl["stages"][:1]})
    assert exc.value.response["Error"]["Code"] == "InvalidStructureException"
    with pytest.raises(ClientError) as exc:
        cp.create_pipeline(pipeline=decl)
    assert exc.value.response["Error"]["Code"] == "PipelineNameInUseException"
    with pytest.raises(ClientError) as exc:
        cp.get_pipeline_state(name=f"none-{env['tag']}")
    assert exc.value.response["Error"]["Code"] == "PipelineNotFoundException"
    stackset = f"ss-{env['tag']}"
    decl2 = pipeline_decl(stackset, env["role"], env["bucket"], env["project"], env["tag"])
    decl2["stages"] = decl2["stages"][:1] + [{"name": "Deploy", "actions": [{
        "name": "Set", "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CloudFormationStackSet", "version": "1"},
        "configuration": {"StackSetName": "x", "TemplatePath": "SourceArtifact::template.json"},
        "inputArtifacts": [{"name": "SourceArtifact"}]}]}]
    cp.create_pipeline(pipeline=decl2)
    runs = wait_for(lambda: [e for e in cp.list_pipeline_executions(pipelineName=stackset)["pipelineExecutionSummaries"]
                             if e["status"] != "InProgress"], 30)
    assert runs[0]["status"] == "Failed"
    action = stage_state(cp, stackset, "Deploy")["actionStates"][0]["latestExecution"]
    assert "StackSets are not built" in action["summary"]
    arn = cp.get_pipeline(name=stackset)["metadata"]["pipelineArn"]
    cp.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "b"}])
    assert cp.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "a", "value": "b"}]
    cp.delete_pipeline(name=stackset)
    assert stackset not in [p["name"] for p in cp.list_pipelines()["pipelines"]]


def test_cloudformation_types(server: LiveServer, env: dict) -> None:
    tag = env["tag"]
    template = {
        "Resources": {
            "Project": {"Type": "AWS::CodeBuild::Project", "Properties": {
                "Name": f"cfn-proj-{tag}", "ServiceRole": env["role"],
                "Source": {"Type": "CODEPIPELINE", "BuildSpec": "version: 0.2\nphases:\n  build:\n    commands: [echo hi]\n"},
                "Artifacts": {"Type": "CODEPIPELINE"}, "TimeoutInMinutes": 10,
                "Environment": {"Type": "LINUX_CONTAINER", "Image": "aws/codebuild/standard:7.0",
                                "ComputeType": "BUILD_GENERAL1_SMALL",
                                "EnvironmentVariables": [{"Name": "N", "Value": "3"}]},
                "Tags": [{"Key": "k", "Value": "v"}]}},
            "Pipeline": {"Type": "AWS::CodePipeline::Pipeline", "Properties": {
                "Name": f"cfn-pipe-{tag}", "RoleArn": env["role"],
                "ArtifactStore": {"Type": "S3", "Location": env["bucket"]},
                "Stages": [
                    {"Name": "Source", "Actions": [{"Name": "Src", "ActionTypeId": {
                        "Category": "Source", "Owner": "AWS", "Provider": "S3", "Version": "1"},
                        "Configuration": {"S3Bucket": env["bucket"], "S3ObjectKey": "source.zip", "PollForSourceChanges": False},
                        "OutputArtifacts": [{"Name": "Src"}]}]},
                    {"Name": "Build", "Actions": [{"Name": "Build", "ActionTypeId": {
                        "Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"},
                        "Configuration": {"ProjectName": {"Ref": "Project"}}, "InputArtifacts": [{"Name": "Src"}],
                        "RunOrder": 1}]}]}},
        },
        "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Project", "Arn"]}},
                    "Version": {"Value": {"Fn::GetAtt": ["Pipeline", "Version"]}}},
    }
    cf = server.client("cloudformation")
    cf.create_stack(StackName=f"cicd-{tag}", TemplateBody=json.dumps(template))
    stack = wait_for(lambda: (s := cf.describe_stacks(StackName=f"cicd-{tag}")["Stacks"][0])["StackStatus"].endswith(
        ("COMPLETE", "FAILED")) and s, 60)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs == {"Arn": f"arn:aws:codebuild:{server.region}:000000000000:project/cfn-proj-{tag}", "Version": "1"}
    project = server.client("codebuild").batch_get_projects(names=[f"cfn-proj-{tag}"])["projects"][0]
    assert project["environment"]["environmentVariables"] == [{"name": "N", "value": "3", "type": "PLAINTEXT"}]
    cp = server.client("codepipeline")
    runs = wait_for(lambda: [e for e in cp.list_pipeline_executions(pipelineName=f"cfn-pipe-{tag}")[
        "pipelineExecutionSummaries"] if e["status"] != "InProgress"], 60)
    assert runs[0]["status"] == "Succeeded"
    cf.delete_stack(StackName=f"cicd-{tag}")
    wait_for(lambda: cf.describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE", 60)
    assert server.client("codebuild").batch_get_projects(names=[f"cfn-proj-{tag}"])["projects"] == []
