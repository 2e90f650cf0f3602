"""Custom resources: the request document, the presigned ResponseURL, success, failure, timeout."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.unit.cloudformation.conftest import Cfn, run

TOKEN = "arn:aws:lambda:us-east-1:000000000000:function:seed-code-checkin"


def template(**props: Any) -> dict[str, Any]:
    return {
        "Resources": {"Seed": {"Type": "Custom::SeedCode", "Properties": {"ServiceToken": TOKEN, "Count": 3, "Flag": True, **props}}},
        "Outputs": {"Url": {"Value": {"Fn::GetAtt": ["Seed", "url"]}}},
    }


class FakeFunction:
    """Plays the Lambda function: records requests and answers through the ResponseURL's object."""

    def __init__(self, cfn: Cfn, status: str = "SUCCESS", answer: bool = True, fail_on: str | None = None) -> None:
        self.cfn, self.status, self.answer, self.fail_on = cfn, status, answer, fail_on
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, ctx: Any, token: str, request: dict[str, Any]) -> None:
        self.requests.append(request)
        if not self.answer:
            return
        url = urlparse(request["ResponseURL"])
        query = parse_qs(url.query)
        assert "X-Amz-Signature" in query and query["X-Amz-Expires"] == ["7200"]
        bucket, key = url.path.lstrip("/").split("/", 1)
        status = "FAILED" if self.fail_on == request["RequestType"] else self.status
        body = {
            "Status": status, "Reason": "seed code check-in failed" if status == "FAILED" else "",
            "PhysicalResourceId": request.get("PhysicalResourceId") or f"seed-{len(self.requests)}",
            "StackId": request["StackId"], "RequestId": request["RequestId"],
            "LogicalResourceId": request["LogicalResourceId"], "Data": {"url": "https://git.example/repo"},
        }

        async def respond() -> None:  # like a function answering a moment later
            await asyncio.sleep(0.05)
            from urllib.parse import unquote

            await self.cfn.call("PutObject", service="s3", Bucket=bucket, Key=unquote(key), Body=json.dumps(body).encode())

        asyncio.get_running_loop().create_task(respond())


def test_success_update_and_delete_send_the_real_request_documents(cfn: Cfn) -> None:
    async def scenario() -> None:
        fake = FakeFunction(cfn)
        cfn.engine.invoker = fake
        stack = await cfn.deploy("custom", template())
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert stack["Outputs"][0]["OutputValue"] == "https://git.example/repo"
        create = fake.requests[0]
        assert create["RequestType"] == "Create" and create["ResourceType"] == "Custom::SeedCode"
        assert create["ResourceProperties"] == {"ServiceToken": TOKEN, "Count": "3", "Flag": "true"}
        assert create["StackId"] == stack["StackId"] and create["LogicalResourceId"] == "Seed"
        assert "PhysicalResourceId" not in create
        stack = await cfn.update("custom", template(Count=4))
        assert stack["StackStatus"] == "UPDATE_COMPLETE"
        update = fake.requests[1]
        assert update["RequestType"] == "Update" and update["PhysicalResourceId"] == "seed-1"
        assert update["OldResourceProperties"]["Count"] == "3" and update["ResourceProperties"]["Count"] == "4"
        assert (await cfn.delete("custom"))["StackStatus"] == "DELETE_COMPLETE"
        assert fake.requests[2]["RequestType"] == "Delete" and fake.requests[2]["PhysicalResourceId"] == "seed-1"

    run(scenario())


def test_failed_response_rolls_back(cfn: Cfn) -> None:
    async def scenario() -> None:
        cfn.engine.invoker = FakeFunction(cfn, status="FAILED")
        stack = await cfn.deploy("custom-fail", template())
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        events = await cfn.call("DescribeStackEvents", StackName="custom-fail")
        reasons = [e.get("ResourceStatusReason", "") for e in events["StackEvents"]]
        assert any("Received response status [FAILED] from custom resource. Message returned: seed code check-in failed" in r for r in reasons)

    run(scenario())


def test_no_response_times_out(cfn: Cfn) -> None:
    async def scenario() -> None:
        cfn.engine.invoker = FakeFunction(cfn, answer=False)
        cfn.engine.custom_timeout = 0.3
        stack = await cfn.deploy("custom-timeout", template())
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        events = await cfn.call("DescribeStackEvents", StackName="custom-timeout")
        assert any("did not receive a response from your Custom Resource" in e.get("ResourceStatusReason", "") for e in events["StackEvents"])

    run(scenario())


def test_service_timeout_property_is_honoured(cfn: Cfn) -> None:
    async def scenario() -> None:
        cfn.engine.invoker = FakeFunction(cfn, answer=False)
        stack = await cfn.deploy("custom-st", template(ServiceTimeout=1))
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"

    run(scenario())


def test_a_missing_function_fails_the_resource(cfn: Cfn) -> None:
    async def scenario() -> None:
        stack = await cfn.deploy("custom-nolambda", template())
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        events = await cfn.call("DescribeStackEvents", StackName="custom-nolambda")
        reasons = " ".join(e.get("ResourceStatusReason", "") for e in events["StackEvents"])
        assert "Function not found" in reasons

    run(scenario())
