"""Policy evaluation cost per request, as a share of the HTTP floor.

A realistic role (5 attached customer managed policies, 40 statements: wildcards, resource
patterns, conditions, two denies) makes the requests. Two measurements:

- in-process: ``Authorizer.authorize`` for a mix of operations with warm caches (what IAM adds to
  every request, without HTTP noise);
- end to end: the same IAM ``GetRole`` request signed by the role session and by the root user
  (who skips evaluation); the difference of the medians is what enforcement costs over HTTP.

Both are printed as a share of the floor's median (bench/harness.py: bare ASGI, same uvicorn,
same lean client). Target (issue 4): under 10 percent.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import botocore.auth
import botocore.credentials
from botocore.awsrequest import AWSRequest

from bench.harness import Stats, measure, start_floor, start_seedbed

TARGET_SHARE = 0.10
ACCOUNT = "000000000000"
ROLE_NAME = "BenchUseRole"


def realistic_policies() -> list[dict]:
    """Five policies, 40 statements, shaped like the SageMaker project use roles."""
    region = "us-east-1"

    def s(effect: str, actions: list[str], resources: list[str] | str = "*", condition: dict | None = None) -> dict:
        out: dict = {"Effect": effect, "Action": actions, "Resource": resources}
        if condition:
            out["Condition"] = condition
        return out

    p1 = [
        s("Allow", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [f"arn:aws:s3:::sagemaker-{region}-{ACCOUNT}/*"]),
        s("Allow", ["s3:ListBucket", "s3:GetBucketLocation"], [f"arn:aws:s3:::sagemaker-{region}-{ACCOUNT}"]),
        s("Allow", ["s3:GetObject"], ["arn:aws:s3:::sagemaker-servicecatalog-seedcode-*/*"]),
        s("Allow", ["s3:CreateBucket", "s3:PutBucketTagging"], ["arn:aws:s3:::sagemaker-project-*"]),
        s("Allow", ["s3:ListAllMyBuckets"], "*"),
        s("Allow", ["s3:GetObjectTagging"], "*", {"StringEquals": {"aws:PrincipalTag/team": "ml"}}),
        s("Deny", ["s3:DeleteBucket"], "*"),
        s("Allow", ["s3:GetBucketAcl", "s3:PutObjectAcl"], [f"arn:aws:s3:::sagemaker-{region}-{ACCOUNT}*"]),
    ]
    p2 = [
        s("Allow", ["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob"], f"arn:aws:sagemaker:{region}:{ACCOUNT}:*", {"Null": {"sagemaker:VpcSubnets": "false"}}),
        s("Allow", ["sagemaker:Describe*", "sagemaker:List*"], "*"),
        s("Allow", ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"], f"arn:aws:sagemaker:{region}:{ACCOUNT}:model-package/*"),
        s("Allow", ["sagemaker:CreateModelPackageGroup"], f"arn:aws:sagemaker:{region}:{ACCOUNT}:model-package-group/*"),
        s("Allow", ["sagemaker:CreateEndpoint*", "sagemaker:UpdateEndpoint*", "sagemaker:DeleteEndpoint*"], f"arn:aws:sagemaker:{region}:{ACCOUNT}:endpoint*"),
        s("Allow", ["sagemaker:AddTags"], "*", {"ForAllValues:StringLike": {"aws:TagKeys": ["sagemaker:*", "team"]}}),
        s("Allow", ["sagemaker:StartPipelineExecution", "sagemaker:StopPipelineExecution"], f"arn:aws:sagemaker:{region}:{ACCOUNT}:pipeline/*"),
        s("Deny", ["sagemaker:CreateTrainingJob"], "*", {"Bool": {"sagemaker:NetworkIsolation": "false"}}),
    ]
    p3 = [
        s("Allow", ["codebuild:StartBuild", "codebuild:BatchGetBuilds"], f"arn:aws:codebuild:{region}:{ACCOUNT}:project/sagemaker-*"),
        s("Allow", ["codepipeline:StartPipelineExecution", "codepipeline:GetPipeline*"], f"arn:aws:codepipeline:{region}:{ACCOUNT}:sagemaker-*"),
        s("Allow", ["codecommit:GitPull", "codecommit:GitPush"], f"arn:aws:codecommit:{region}:{ACCOUNT}:sagemaker-*"),
        s("Allow", ["codestar-connections:UseConnection"], "*"),
        s("Allow", ["events:PutRule", "events:PutTargets", "events:DescribeRule"], f"arn:aws:events:{region}:{ACCOUNT}:rule/sagemaker-*"),
        s("Allow", ["lambda:InvokeFunction"], f"arn:aws:lambda:{region}:{ACCOUNT}:function:sagemaker-*"),
        s("Allow", ["cloudformation:DescribeStacks", "cloudformation:CreateStack"], f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/SC-*"),
        s("Allow", ["cloudformation:DescribeStackEvents"], "*"),
    ]
    p4 = [
        s("Allow", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], f"arn:aws:logs:{region}:{ACCOUNT}:log-group:/aws/sagemaker/*"),
        s("Allow", ["logs:DescribeLogStreams", "logs:GetLogEvents"], f"arn:aws:logs:{region}:{ACCOUNT}:log-group:/aws/codebuild/*"),
        s("Allow", ["kms:Decrypt", "kms:GenerateDataKey"], f"arn:aws:kms:{region}:{ACCOUNT}:key/*", {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}),
        s("Allow", ["ssm:GetParameter", "ssm:GetParameters"], f"arn:aws:ssm:{region}:{ACCOUNT}:parameter/sagemaker/*"),
        s("Allow", ["secretsmanager:GetSecretValue"], f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:sagemaker-*"),
        s("Allow", ["ecr:GetAuthorizationToken", "ecr:BatchGetImage"], "*"),
        s("Allow", ["cloudwatch:PutMetricData"], "*", {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker"}}),
        s("Allow", ["sts:GetCallerIdentity"], "*"),
    ]
    p5 = [
        s("Allow", ["iam:PassRole"], f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMaker*", {"StringEquals": {"iam:PassedToService": ["sagemaker.amazonaws.com", "codebuild.amazonaws.com"]}}),
        s("Allow", ["iam:GetRole"], f"arn:aws:iam::{ACCOUNT}:role/*"),
        s("Allow", ["iam:ListRoles", "iam:ListPolicies"], "*"),
        s("Allow", ["iam:CreateServiceLinkedRole"], "*", {"StringLike": {"iam:AWSServiceName": "sagemaker.amazonaws.com"}}),
        s("Allow", ["servicecatalog:ProvisionProduct", "servicecatalog:DescribeProduct"], "*"),
        s("Allow", ["glue:GetTable", "glue:GetDatabase"], "*"),
        s("Allow", ["athena:StartQueryExecution"], "*", {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.0/8"]}}),
        s("Allow", ["ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeSecurityGroups"], "*"),
    ]
    return [{"Version": "2012-10-17", "Statement": p} for p in (p1, p2, p3, p4, p5)]


def setup_role(endpoint: str, creds: dict[str, str]) -> dict[str, str]:
    """Create the role with its 5 policies and assume it; returns the session's credentials."""
    kw = dict(
        endpoint_url=endpoint,
        region_name=creds["region"],
        aws_access_key_id=creds["aws_access_key_id"],
        aws_secret_access_key=creds["aws_secret_access_key"],
    )
    iam = boto3.client("iam", **kw)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust), Tags=[{"Key": "team", "Value": "ml"}])
    for i, policy in enumerate(realistic_policies(), start=1):
        arn = iam.create_policy(PolicyName=f"bench-{i}", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=ROLE_NAME, PolicyArn=arn)
    session = boto3.client("sts", **kw).assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}", RoleSessionName="bench")
    c = session["Credentials"]
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"], "token": c["SessionToken"], "region": creds["region"]}


def signed_get_role(port: int, creds: dict[str, str], count: int) -> list[tuple[str, str, bytes, dict[str, str]]]:
    body = f"Action=GetRole&Version=2010-05-08&RoleName={ROLE_NAME}".encode()
    signer = botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(creds["aws_access_key_id"], creds["aws_secret_access_key"], creds.get("token")),
        "iam",
        creds["region"],
    )
    out = []
    for _ in range(count):
        request = AWSRequest(
            method="POST", url=f"http://127.0.0.1:{port}/", data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        signer.add_auth(request)
        out.append(("POST", "/", body, dict(request.headers.items())))
    return out


def in_process(data_dir: Path, iterations: int = 20000) -> float:
    """Microseconds per authorize() for a mix of operations, with the server's own database."""
    from seedbed.config import Settings
    from seedbed.server.backend import Backend
    from seedbed.server.context import Principal, RequestContext
    from seedbed.services.iam import store

    backend = Backend(Settings(data_dir=data_dir))
    try:
        with backend.db.connect() as conn:
            role = store.get_role(conn, ACCOUNT, ROLE_NAME)
        assert role is not None
        principal = Principal(
            ACCOUNT, f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE_NAME}/bench", f"{role.role_id}:bench",
            "AssumedRole", "AKIABENCHLONGTERM000", role_arn=role.arn,
        )
        mix = [
            ("sagemaker", "DescribeTrainingJob", {"TrainingJobName": "job-1"}),
            ("sagemaker", "CreateTrainingJob", {"TrainingJobName": "job-2", "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}, "EnableNetworkIsolation": True}),
            ("logs", "PutLogEvents", {"logGroupName": "/aws/sagemaker/TrainingJobs", "logStreamName": "job-1/algo-1", "logEvents": []}),
            ("iam", "GetRole", {"RoleName": ROLE_NAME}),
            ("codebuild", "StartBuild", {"projectName": "sagemaker-p-build"}),
            ("sts", "GetCallerIdentity", {}),
        ]
        contexts = [RequestContext(f"r{i}", svc, op, "us-east-1", ACCOUNT, principal, source_ip="127.0.0.1") for i, (svc, op, _) in enumerate(mix)]
        authorize = backend.authorizer.authorize
        for ctx, (_, op, params) in zip(contexts, mix):
            authorize(ctx, op, params)  # warm the caches
        start = time.perf_counter()
        for i in range(iterations):
            k = i % len(mix)
            authorize(contexts[k], mix[k][1], mix[k][2])
        elapsed = time.perf_counter() - start
        backend.authorizer.decisions.flush()
        return elapsed / iterations * 1e6
    finally:
        backend.close()


def run(count: int = 3000) -> dict[str, Stats | float]:
    seedbed, creds = start_seedbed()
    floor = start_floor()
    try:
        endpoint = f"http://127.0.0.1:{seedbed.port}"
        session = setup_role(endpoint, creds)
        root_requests = signed_get_role(seedbed.port, creds, count)
        role_requests = signed_get_role(seedbed.port, session, count)
        floor_requests = signed_get_role(floor.port, creds, count)
        floor_runs, root_runs, role_runs = [], [], []
        for _ in range(3):
            floor_runs.append(measure(floor.port, floor_requests))
            root_runs.append(measure(seedbed.port, root_requests))
            role_runs.append(measure(seedbed.port, role_requests))
    finally:
        seedbed.stop()
        floor.stop()
    micro_us = in_process(seedbed.data_dir) if seedbed.data_dir else float("nan")
    best_floor = min(floor_runs, key=lambda s: s.median_ms)
    best_root = min(root_runs, key=lambda s: s.median_ms)
    best_role = min(role_runs, key=lambda s: s.median_ms)
    delta_ms = best_role.median_ms - best_root.median_ms
    micro_share = micro_us / 1000 / best_floor.median_ms
    e2e_share = max(delta_ms, 0.0) / best_floor.median_ms
    print("IAM: policy evaluation per request (role with 5 policies, 40 statements) vs the HTTP floor")
    print("  " + best_floor.row("floor (bare ASGI, fixed bytes)"))
    print("  " + best_root.row("iam:GetRole as root (no evaluation)"))
    print("  " + best_role.row("iam:GetRole as the role session"))
    verdict = "OK" if micro_share <= TARGET_SHARE else "OVER TARGET"
    print(f"  in-process authorize(): {micro_us:.1f} us per request = {micro_share:.1%} of the floor "
          f"(target < {TARGET_SHARE:.0%}): {verdict}")
    print(f"  end to end: +{delta_ms * 1000:.0f} us median for the role session = {e2e_share:.1%} of the floor")
    return {"floor": best_floor, "root": best_root, "role": best_role, "micro_us": micro_us, "share": micro_share, "e2e_share": e2e_share}


if __name__ == "__main__":
    run()
