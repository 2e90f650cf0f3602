"""Create or update the endpoint stack of one stage from `endpoint-config-template.yml` and wait.

    python deploy_stack.py --stage staging --model-package-arn ARN --project-name N --project-id I \
        --execution-role ROLE_ARN
"""

from __future__ import annotations

import argparse
import sys

import boto3
from botocore.exceptions import ClientError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", choices=["staging", "prod"], required=True)
    parser.add_argument("--model-package-arn", required=True)
    parser.add_argument("--project-name", required=True)
    parser.add_argument("--project-id", required=True)
    parser.add_argument("--execution-role", required=True)
    parser.add_argument("--instance-type", default="ml.m5.large")
    parser.add_argument("--instance-count", default="1")
    args = parser.parse_args()

    cfn = boto3.client("cloudformation")
    stack = f"sagemaker-{args.project_name}-{args.project_id}-deploy-{args.stage}"
    parameters = {
        "SageMakerProjectName": args.project_name, "SageMakerProjectId": args.project_id,
        "ModelPackageName": args.model_package_arn, "ModelExecutionRoleArn": args.execution_role,
        "StageName": args.stage, "EndpointInstanceType": args.instance_type,
        "EndpointInstanceCount": args.instance_count,
    }
    request = {
        "StackName": stack,
        "TemplateBody": open("endpoint-config-template.yml").read(),
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Tags": [{"Key": "sagemaker:project-name", "Value": args.project_name},
                 {"Key": "sagemaker:project-id", "Value": args.project_id}],
    }
    try:
        cfn.describe_stacks(StackName=stack)
        exists = True
    except ClientError:
        exists = False
    try:
        if exists:
            cfn.update_stack(**request)
            cfn.get_waiter("stack_update_complete").wait(StackName=stack, WaiterConfig={"Delay": 2})
        else:
            cfn.create_stack(**request)
            cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 2})
    except ClientError as exc:
        if "No updates are to be performed" not in str(exc):
            raise
    except Exception as exc:  # the waiter failed: show the stack's events
        for event in cfn.describe_stack_events(StackName=stack)["StackEvents"][:10]:
            print(event["LogicalResourceId"], event["ResourceStatus"], event.get("ResourceStatusReason", ""))
        print(f"deploying {stack} failed: {exc}")
        return 1
    print(f"{stack}: deployed {args.model_package_arn}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
