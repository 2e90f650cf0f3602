"""Crash safety: ``kill -9`` the server while a build runs and while a pipeline waits for an
approval. After the restart the build is FAILED (its phase context says the server restarted),
its log lines are in CloudWatch Logs, its shell is gone; the pipeline still waits and finishes
once approved."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from tests.conftest import free_port, isolated_database_url, start_server
from tests.integration.test_cloudformation_crash import restart
from tests.integration.test_codebuild import make_role, zip_bytes
from tests.integration.test_codepipeline import execution, stage_state, wait_for


def test_kill_during_build_and_approval(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", isolated_database_url(), port=free_port())
    try:
        tag = uuid.uuid4().hex[:8]
        role = make_role(server, f"crash-{tag}")
        cb, cp = server.client("codebuild"), server.client("codepipeline")
        marker = tmp_path / "still-running"
        spec = f"version: 0.2\nphases:\n  build:\n    commands:\n      - echo started-{tag}\n      - sleep 4 && touch {marker}\n"
        cb.create_project(name=f"crash-{tag}", source={"type": "NO_SOURCE", "buildspec": spec},
                          artifacts={"type": "NO_ARTIFACTS"}, serviceRole=role,
                          environment={"type": "LINUX_CONTAINER", "image": "x", "computeType": "BUILD_GENERAL1_SMALL"})
        bucket = f"crash-{tag}"
        server.client("s3").create_bucket(Bucket=bucket)
        server.client("s3").put_object(Bucket=bucket, Key="src.zip", Body=zip_bytes({"a.txt": "a"}))
        cp.create_pipeline(pipeline={
            "name": f"crash-{tag}", "roleArn": role, "artifactStore": {"type": "S3", "location": bucket},
            "stages": [
                {"name": "Source", "actions": [{"name": "Src", "actionTypeId": {
                    "category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": bucket, "S3ObjectKey": "src.zip"}, "outputArtifacts": [{"name": "Src"}]}]},
                {"name": "Approve", "actions": [{"name": "Gate", "actionTypeId": {
                    "category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]},
            ]})
        build_id = cb.start_build(projectName=f"crash-{tag}")["build"]["id"]
        wait_for(lambda: cb.batch_get_builds(ids=[build_id])["builds"][0].get("currentPhase") == "BUILD", 30)
        wait_for(lambda: (stage_state(cp, f"crash-{tag}", "Approve")["actionStates"][0].get("latestExecution") or {})
                 .get("status") == "InProgress", 30)
        time.sleep(1.0)  # let the first log lines reach CloudWatch Logs
        server.process.kill()
        server.process.wait()
        server = restart(server)
        cb, cp = server.client("codebuild"), server.client("codepipeline")
        build = cb.batch_get_builds(ids=[build_id])["builds"][0]
        assert build["buildStatus"] == "FAILED" and build["buildComplete"] is True
        phase = next(p for p in build["phases"] if p["phaseType"] == "BUILD")
        assert phase["phaseStatus"] == "FAILED" and phase["contexts"][0]["statusCode"] == "SERVER_RESTARTED"
        logs = server.client("logs").get_log_events(logGroupName=build["logs"]["groupName"],
                                                     logStreamName=build["logs"]["streamName"], startFromHead=True)
        text = "\n".join(e["message"] for e in logs["events"])
        assert f"started-{tag}" in text and "server restarted" in text
        time.sleep(4.5)
        assert not marker.exists(), "the build's shell outlived the server"

        token = wait_for(lambda: (stage_state(cp, f"crash-{tag}", "Approve")["actionStates"][0].get("latestExecution")
                                  or {}).get("token"), 30)
        execution_id = cp.list_pipeline_executions(pipelineName=f"crash-{tag}")["pipelineExecutionSummaries"][0][
            "pipelineExecutionId"]
        cp.put_approval_result(pipelineName=f"crash-{tag}", stageName="Approve", actionName="Gate",
                               result={"summary": "after restart", "status": "Approved"}, token=token)
        done = wait_for(lambda: execution(cp, f"crash-{tag}", execution_id)["status"] != "InProgress"
                        and execution(cp, f"crash-{tag}", execution_id), 30)
        assert done["status"] == "Succeeded", json.dumps(done, default=str)
    finally:
        server.process.kill()
        server.process.wait()
