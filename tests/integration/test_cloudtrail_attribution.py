"""Who CloudTrail says made a call: a person's own call carries their address and user agent; a
call a service makes for them (CloudFormation creating a stack's resources) carries the
principal and the service as ``invokedBy``, ``sourceIPAddress`` and ``userAgent``, as on AWS."""

from __future__ import annotations

import json
import time
import uuid

from tests.conftest import LiveServer


def _events(server: LiveServer, name: str, parameter: str) -> list[dict]:  # type: ignore[type-arg]
    trail = server.client("cloudtrail")
    records = []
    for event in trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])["Events"]:
        record = json.loads(event["CloudTrailEvent"])
        if (record.get("requestParameters") or {}).get("Name") == parameter:
            records.append(record)
    return records


def test_calls_made_by_cloudformation_name_it_as_invoked_by(server: LiveServer) -> None:
    cf, ssm = server.client("cloudformation"), server.client("ssm")
    me = server.client("sts").get_caller_identity()["Arn"]
    direct, stacked = f"/trail/{uuid.uuid4().hex[:8]}/direct", f"/trail/{uuid.uuid4().hex[:8]}/stacked"
    ssm.put_parameter(Name=direct, Value="v", Type="String")
    stack = f"trail-{uuid.uuid4().hex[:8]}"
    body = {"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": stacked, "Type": "String", "Value": "v"}}}}
    cf.create_stack(StackName=stack, TemplateBody=json.dumps(body))
    cf.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    deadline = time.monotonic() + 10
    while not (_events(server, "PutParameter", stacked) and _events(server, "PutParameter", direct)):
        assert time.monotonic() < deadline, "the trail did not show both calls"
        time.sleep(0.2)
    (own,) = _events(server, "PutParameter", direct)
    assert "invokedBy" not in own["userIdentity"]
    assert own["sourceIPAddress"] == "127.0.0.1"
    assert own["userAgent"].startswith("Boto3/")

    (by_stack,) = _events(server, "PutParameter", stacked)
    assert by_stack["userIdentity"]["arn"] == me
    assert by_stack["userIdentity"]["invokedBy"] == "cloudformation.amazonaws.com"
    assert by_stack["sourceIPAddress"] == "cloudformation.amazonaws.com"
    assert by_stack["userAgent"] == "cloudformation.amazonaws.com"
    cf.delete_stack(StackName=stack)
