"""The whole SageMaker Projects flow, as a data scientist runs it against a bootstrapped Seedbed.

One phase after another, each timed: list the templates, create a build-train-deploy project,
wait for the model-build pipeline (started by the repository's first commit), show the registered
model and its metrics, approve it, watch the deploy pipeline put it on a staging endpoint, approve
production, and invoke the production endpoint with abalone rows. Everything goes through the
public AWS APIs with the data scientist's own credentials, so `make demo`, the end-to-end test and
the benchmark exercise exactly what a user would.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from seedbed.cli.templates import Clients, client_catalog

TEMPLATE = "build-train-deploy"
#: How long each wait may take before the flow gives up with what it saw.
TIMEOUT = 600.0

Say = Callable[[str], None]


class FlowFailed(RuntimeError):
    """A phase did not reach the state it waits for; the message says what it saw instead."""


@dataclass
class FlowResult:
    project_name: str = ""
    project_id: str = ""
    timings: list[tuple[str, float]] = field(default_factory=list)
    pipeline_execution: dict[str, Any] = field(default_factory=dict)
    model_package_arn: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)
    predictions: list[tuple[float, float]] = field(default_factory=list)
    resources: list[tuple[str, str]] = field(default_factory=list)


def _wait(what: str, probe: Callable[[], tuple[bool, str]], say: Say, timeout: float = TIMEOUT, interval: float = 0.5) -> str:
    """Poll ``probe`` (done?, status text) until done; ``say`` shows each new status."""
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        done, status = probe()
        if status != last:
            say(f"{what}: {status}")
            last = status
        if done:
            return status
        if time.monotonic() > deadline:
            raise FlowFailed(f"{what} did not finish within {timeout:.0f} s (last status: {status})")
        time.sleep(interval)


class Flow:
    """The data scientist's side of the flow, with their credentials."""

    def __init__(self, clients: Clients, launch_role_arn: str, domain_id: str, say: Say, template: str = TEMPLATE) -> None:
        self.clients = clients
        self.template = template
        self.launch_role_arn = launch_role_arn
        self.domain_id = domain_id
        self.say = say
        self.result = FlowResult()
        self.sm = clients.client("sagemaker")

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.say(f"[bold]{name}[/]")
        start = time.monotonic()
        yield
        self.result.timings.append((name, time.monotonic() - start))

    # -- phases ---------------------------------------------------------------------------------

    def pick_template_list(self) -> list[dict[str, Any]]:
        """The domain's catalog as this user sees it."""
        return client_catalog(self.clients, self.domain_id)["Templates"]

    def pick_template(self) -> dict[str, Any]:
        entries = self.pick_template_list()
        self.say("templates: " + ", ".join(e["TemplateName"] for e in entries))
        for entry in entries:
            if entry["TemplateName"] == self.template:
                return entry
        raise FlowFailed(f"the catalog has no {self.template} template; run `seedbed bootstrap`")

    def create_project(self, name: str, template: dict[str, Any]) -> None:
        created = self.sm.create_project(
            ProjectName=name, ProjectDescription="abalone, built by seedbed demo",
            TemplateProviders=[{"CfnTemplateProvider": {
                "TemplateName": template["TemplateName"], "TemplateURL": template["TemplateURL"],
                "RoleARN": self.launch_role_arn,
            }}],
        )
        self.result.project_name, self.result.project_id = name, created["ProjectId"]
        self.wait_project(name)

    def wait_project(self, name: str) -> dict[str, Any]:
        """DescribeProject once the project is CreateCompleted."""
        described: dict[str, Any] = {}

        def probe() -> tuple[bool, str]:
            described.update(self.sm.describe_project(ProjectName=name))
            status = described["ProjectStatus"]
            if status == "CreateFailed":
                details = (described.get("TemplateProviderDetails") or [{}])[0]
                reason = details.get("CfnTemplateProviderDetail", {}).get("StackDetail", {}).get("StatusMessage")
                raise FlowFailed(f"project {name} failed: {reason or 'see the stack events'}")
            return status == "CreateCompleted", status

        _wait(f"project {name}", probe, self.say)
        return described

    @property
    def prefix(self) -> str:
        return f"sagemaker-{self.result.project_name}-{self.result.project_id}"

    @property
    def group(self) -> str:
        return f"{self.result.project_name}-{self.result.project_id}"

    def wait_model_build(self) -> None:
        """The first commit of the model-build repository starts its CodePipeline, whose build
        upserts and runs the SageMaker pipeline."""
        pipeline_name = f"sagemaker-{self.result.project_name}"

        def probe() -> tuple[bool, str]:
            try:
                summaries = self.sm.list_pipeline_executions(PipelineName=pipeline_name)["PipelineExecutionSummaries"]
            except self.sm.exceptions.ResourceNotFound:
                return False, "waiting for the model-build CodeBuild build to upsert the pipeline"
            if not summaries:
                return False, "pipeline created, no execution yet"
            arn = summaries[0]["PipelineExecutionArn"]
            execution = self.sm.describe_pipeline_execution(PipelineExecutionArn=arn)
            steps = self.sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
            text = ", ".join(f"{s['StepName']} {s['StepStatus']}" for s in reversed(steps)) or "starting"
            status = execution["PipelineExecutionStatus"]
            if status in ("Failed", "Stopped"):
                reasons = [f"{s['StepName']}: {s.get('FailureReason')}" for s in steps if s.get("FailureReason")]
                raise FlowFailed(f"pipeline execution {status}: {'; '.join(reasons) or execution.get('FailureReason')}")
            self.result.pipeline_execution = execution
            return status == "Succeeded", f"{status} ({text})"

        _wait("model-build pipeline", probe, self.say)

    def show_model(self) -> None:
        packages = self.sm.list_model_packages(ModelPackageGroupName=self.group, SortBy="CreationTime",
                                               SortOrder="Descending")["ModelPackageSummaryList"]
        if not packages:
            raise FlowFailed(f"no model package in {self.group}")
        arn = packages[0]["ModelPackageArn"]
        package = self.sm.describe_model_package(ModelPackageName=arn)
        self.result.model_package_arn = arn
        uri = package.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri")
        if uri:
            bucket, key = uri[len("s3://"):].split("/", 1)
            body = self.clients.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
            self.result.metrics = json.loads(body)
        mse = self.result.metrics.get("regression_metrics", {}).get("mse", {}).get("value")
        error = f"{mse:.3f}" if isinstance(mse, (int, float)) else "not reported"
        self.say(f"model package {arn} ({package['ModelApprovalStatus']}), mean squared error {error}")

    def approve_model(self) -> None:
        self.sm.update_model_package(ModelPackageArn=self.result.model_package_arn, ModelApprovalStatus="Approved",
                                     ApprovalDescription="approved by seedbed demo")
        self.say("model package Approved: EventBridge starts the deploy pipeline")

    def _endpoint(self, stage: str) -> str:
        name = f"{self.result.project_name}-{stage}"

        def probe() -> tuple[bool, str]:
            try:
                endpoint = self.sm.describe_endpoint(EndpointName=name)
            except Exception:  # noqa: BLE001 - not there yet
                return False, "not created yet"
            status = endpoint["EndpointStatus"]
            if status == "Failed":
                raise FlowFailed(f"endpoint {name} failed: {endpoint.get('FailureReason')}")
            return status == "InService", status

        _wait(f"{stage} endpoint {name}", probe, self.say)
        self.result.endpoints[stage] = name
        return name

    def wait_staging(self) -> str:
        """Until the deploy pipeline that the approval started waits at the manual approval;
        returns the approval token."""
        started = time.time() - 5
        codepipeline = self.clients.client("codepipeline")
        name = f"{self.prefix}-modeldeploy"

        def probe() -> tuple[bool, str]:
            executions = codepipeline.list_pipeline_executions(pipelineName=name, maxResults=1)["pipelineExecutionSummaries"]
            if not executions or executions[0]["startTime"].timestamp() < started:
                return False, "waiting for EventBridge to start the deploy pipeline"
            texts, failure = [], None
            for stage in codepipeline.get_pipeline_state(name=name).get("stageStates") or []:
                texts.append(f"{stage['stageName']} {(stage.get('latestExecution') or {}).get('status', '-')}")
                for action in stage.get("actionStates") or []:
                    execution = action.get("latestExecution") or {}
                    if action["actionName"] == "ApproveDeployment" and execution.get("status") == "InProgress" and execution.get("token"):
                        self._token = execution["token"]
                        return True, ", ".join(texts)
                    if execution.get("status") == "Failed":
                        failure = f"{action['actionName']}: {(execution.get('errorDetails') or {}).get('message') or execution.get('summary')}"
            if executions[0]["status"] in ("Failed", "Stopped", "Superseded"):
                raise FlowFailed(f"deploy pipeline {executions[0]['status']}: {failure}")
            return False, ", ".join(texts)

        _wait("deploy pipeline", probe, self.say)
        self._endpoint("staging")
        return self._token

    def approve_production(self, token: str) -> None:
        self.clients.client("codepipeline").put_approval_result(
            pipelineName=f"{self.prefix}-modeldeploy", stageName="DeployStaging", actionName="ApproveDeployment",
            result={"summary": "staging looks good", "status": "Approved"}, token=token,
        )
        self.say("production deployment approved")
        self._endpoint("prod")

    def predict(self, rows: int = 5) -> None:
        """Invoke production with rows of the pipeline's own test split (already featurized)."""
        test_uri = self._test_split_uri()
        bucket, key = test_uri[len("s3://"):].split("/", 1)
        s3 = self.clients.client("s3")
        if not key.endswith(".csv"):
            key = key.rstrip("/") + "/test.csv"
        lines = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()[:rows]
        runtime = self.clients.client("sagemaker-runtime")
        for line in lines:
            label, *features = next(csv.reader(io.StringIO(line)))
            answer = runtime.invoke_endpoint(EndpointName=self.result.endpoints["prod"], ContentType="text/csv",
                                             Body=",".join(features))
            prediction = float(answer["Body"].read().decode().strip().split(",")[0])
            self.result.predictions.append((float(label), prediction))
            self.say(f"rings {float(label):>4.0f}  predicted {prediction:5.2f}")

    def _test_split_uri(self) -> str:
        arn = self.result.pipeline_execution["PipelineExecutionArn"]
        steps = self.sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
        job_arn = next(s["Metadata"]["ProcessingJob"]["Arn"] for s in steps if s["StepName"] == "PreprocessAbaloneData")
        job = self.sm.describe_processing_job(ProcessingJobName=job_arn.rsplit("/", 1)[-1])
        return next(o["S3Output"]["S3Uri"] for o in job["ProcessingOutputConfig"]["Outputs"] if o["OutputName"] == "test")

    def collect_resources(self) -> None:
        """What the project's stack and its two endpoint stacks made."""
        cfn = self.clients.client("cloudformation")
        wanted = (f"SP-{self.result.project_name}-", f"{self.prefix}-deploy-")
        for stack in cfn.describe_stacks().get("Stacks") or []:
            if not stack["StackName"].startswith(wanted):
                continue
            for resource in cfn.describe_stack_resources(StackName=stack["StackName"])["StackResources"]:
                self.result.resources.append((resource["ResourceType"], resource["PhysicalResourceId"]))

    def run(self, project_name: str) -> FlowResult:
        with self.phase("List the templates"):
            template = self.pick_template()
        with self.phase("Create the project"):
            self.create_project(project_name, template)
        with self.phase("Model build: CodePipeline, CodeBuild, SageMaker pipeline"):
            self.wait_model_build()
        with self.phase("Registered model and its metrics"):
            self.show_model()
        with self.phase("Approve: deploy to staging"):
            self.approve_model()
            token = self.wait_staging()
        with self.phase("Approve production"):
            self.approve_production(token)
        with self.phase("Invoke production"):
            self.predict()
        return self.result
