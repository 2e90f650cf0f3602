"""Check the staging endpoint: it is InService and answers a prediction for an abalone row.

Reads the stage's CloudFormation configuration (to find the endpoint name) and writes a small
JSON report that the pipeline keeps as an artifact.
"""

from __future__ import annotations

import argparse
import json
import sys

import boto3

#: One featurized abalone: seven scaled measurements and the one-hot sex (F, I, M).
SAMPLE = "0.1,0.2,0.1,0.3,0.2,0.1,0.2,0,0,1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--import-build-config", required=True)
    parser.add_argument("--export-test-results", required=True)
    args = parser.parse_args()
    with open(args.import_build_config) as fh:
        parameters = json.load(fh)["Parameters"]
    endpoint = f"{parameters['SageMakerProjectName']}-{parameters['StageName']}"
    status = boto3.client("sagemaker").describe_endpoint(EndpointName=endpoint)["EndpointStatus"]
    results = {"endpoint": endpoint, "status": status}
    if status == "InService":
        answer = boto3.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=endpoint, ContentType="text/csv", Body=SAMPLE)
        results["prediction"] = answer["Body"].read().decode().strip()
    with open(args.export_test_results, "w") as fh:
        json.dump(results, fh)
    print(json.dumps(results))
    return 0 if status == "InService" and "prediction" in results else 1


if __name__ == "__main__":
    sys.exit(main())
