"""The ``cfnresponse`` module that CloudFormation puts beside inline (``ZipFile``) Python code.

Behaves as the AWS documentation describes the module: ``send`` builds the response document and
PUTs it, as JSON, to the presigned ``ResponseURL`` of the request; ``SUCCESS``/``FAILED`` are the
statuses. The physical resource id defaults to the log stream name, the reason to a pointer at
the log stream. Errors while sending are printed, not raised. Written for Seedbed; Seedbed copies
this file into the deployment package of every ``AWS::Lambda::Function`` with inline code.
"""

import json

import urllib3

SUCCESS = "SUCCESS"
FAILED = "FAILED"

http = urllib3.PoolManager()


def send(event, context, responseStatus, responseData, physicalResourceId=None, noEcho=False, reason=None):
    responseUrl = event["ResponseURL"]
    print(responseUrl)
    responseBody = {
        "Status": responseStatus,
        "Reason": reason or f"See the details in CloudWatch Log Stream: {context.log_stream_name}",
        "PhysicalResourceId": physicalResourceId or context.log_stream_name,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": noEcho,
        "Data": responseData,
    }
    body = json.dumps(responseBody)
    print("Response body:")
    print(body)
    headers = {"content-type": "", "content-length": str(len(body))}
    try:
        response = http.request("PUT", responseUrl, headers=headers, body=body)
        print("Status code:", response.status)
    except Exception as e:  # noqa: BLE001  (the module reports, never raises)
        print("send(..) failed executing http.request(..):", e)
