"""`seedbed bootstrap` sets up what the admin sets up by hand, and a second run changes nothing."""

from __future__ import annotations

import json
import subprocess

from tests.conftest import BIN, LiveServer


def test_bootstrap_is_complete_and_idempotent(server: LiveServer) -> None:
    first = subprocess.run([str(BIN / "seedbed"), "bootstrap", "--data-dir", str(server.data_dir)],
                           capture_output=True, text=True, timeout=300, env={"PATH": str(BIN), "COLUMNS": "200"})
    assert first.returncode == 0, first.stdout + first.stderr
    again = subprocess.run([str(BIN / "seedbed"), "bootstrap", "--data-dir", str(server.data_dir)],
                           capture_output=True, text=True, timeout=300, env={"PATH": str(BIN), "COLUMNS": "200"})
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout

    s3, sm, iam = server.client("s3"), server.client("sagemaker"), server.client("iam")
    bucket = f"sagemaker-project-templates-000000000000-{server.region}"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert any("GET" in r["AllowedMethods"] for r in s3.get_bucket_cors(Bucket=bucket)["CORSRules"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="templates/")["Contents"]]
    assert "templates/build-train-deploy.yml" in keys
    tags = s3.get_object_tagging(Bucket=bucket, Key="templates/build-train-deploy.yml")["TagSet"]
    assert {"Key": "sagemaker:studio-visibility", "Value": "true"} in tags
    seed = s3.list_objects_v2(Bucket=f"sagemaker-servicecatalog-seedcode-{server.region}")["Contents"]
    assert {"toolchain/seedbed-model-build-v1.0.zip", "toolchain/seedbed-model-deploy-v1.0.zip",
            "dataset/abalone-dataset.csv"} <= {o["Key"] for o in seed}

    domain = next(d for d in sm.list_domains()["Domains"] if d["DomainName"] == "seedbed")
    described = sm.describe_domain(DomainId=domain["DomainId"])
    assert described["DefaultUserSettings"]["ExecutionRole"].endswith("/AmazonSageMakerProjectsExecutionRole")
    domain_tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=described["DomainArn"])["Tags"]}
    assert domain_tags["sagemaker:projectS3TemplatesLocation"] == f"s3://{bucket}/templates/"
    for role in ("Launch", "Execution", "CodeBuild", "CodePipeline", "Cloudformation", "Lambda", "Events"):
        iam.get_role(RoleName=f"AmazonSageMakerProjects{role}Role")

    # The data scientist may pass the launch role to SageMaker and nothing else.
    key = json.loads((server.data_dir / "data-scientist.json").read_text())
    scientist = server.client("iam", aws_access_key_id=key["aws_access_key_id"],
                              aws_secret_access_key=key["aws_secret_access_key"])
    arn = f"arn:aws:iam::000000000000:user/{key['user']}"
    account = "arn:aws:iam::000000000000:role/service-role/"
    results = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["iam:PassRole"],
        ResourceArns=[account + "AmazonSageMakerProjectsLaunchRole", account + "AmazonSageMakerProjectsExecutionRole"],
        ContextEntries=[{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": ["cloudformation.amazonaws.com"],
                         "ContextKeyType": "string"}],
    )["EvaluationResults"]
    decisions = {r["EvalResourceName"].rsplit("/", 1)[-1]: r["EvalDecision"] for r in results}
    assert decisions == {"AmazonSageMakerProjectsLaunchRole": "allowed", "AmazonSageMakerProjectsExecutionRole": "implicitDeny"}
    try:
        scientist.create_role(RoleName="Escalate", AssumeRolePolicyDocument="{}")
        raise AssertionError("the data scientist could create a role")
    except scientist.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "AccessDenied"
