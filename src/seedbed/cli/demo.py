"""``seedbed demo``: start a server, walk through the core with boto3 and the AWS CLI, stop it.

This is the server-core walk; it grows into the full SageMaker Projects flow as services land.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from rich.console import Console

console = Console()
TRUST_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "sts:AssumeRole"}
    ],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(endpoint: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{endpoint}/_seedbed/health", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not become healthy in time")


def _step(text: str) -> None:
    console.print(f"\n[bold cyan]▶ {text}[/]")


EXAMPLES = Path(__file__).resolve().parents[3] / "templates" / "examples"


def _run_project(config, bucket: str) -> None:  # type: ignore[no-untyped-def]
    """The SageMaker Projects flow: roles stack, a domain pointing at the templates, a project."""
    import boto3

    _step("CloudFormation: the roles-and-policies stack (launch role and use roles)")
    cf = boto3.client("cloudformation", config=config)
    cf.create_stack(
        StackName="sagemaker-projects-roles",
        TemplateBody=(EXAMPLES / "roles.yml").read_text(),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    cf.get_waiter("stack_create_complete").wait(StackName="sagemaker-projects-roles", WaiterConfig={"Delay": 1})
    console.print("stack sagemaker-projects-roles: CREATE_COMPLETE")
    iam, sm = boto3.client("iam", config=config), boto3.client("sagemaker", config=config)
    execution = iam.get_role(RoleName="AmazonSageMakerProjectsExecutionRole")["Role"]["Arn"]
    launch = iam.get_role(RoleName="AmazonSageMakerProjectsLaunchRole")["Role"]["Arn"]
    _step("SageMaker: a domain whose templates live in the bucket, then CreateProject")
    domain = sm.create_domain(
        DomainName="demo", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": execution},
        SubnetIds=["subnet-demo"], VpcId="vpc-demo",
    )["DomainArn"]
    sm.add_tags(ResourceArn=domain, Tags=[{"Key": "sagemaker:projectS3TemplatesLocation", "Value": f"s3://{bucket}/templates/"}])
    region = boto3.session.Session().region_name
    sm.create_project(
        ProjectName="demo-project",
        TemplateProviders=[{"CfnTemplateProvider": {
            "TemplateName": "small-project",
            "TemplateURL": f"https://{bucket}.s3.{region}.amazonaws.com/templates/small-project.yml",
            "RoleARN": launch,
        }}],
    )
    described = sm.describe_project(ProjectName="demo-project")
    for _ in range(300):
        if described["ProjectStatus"] not in ("Pending", "CreateInProgress"):
            break
        time.sleep(0.1)
        described = sm.describe_project(ProjectName="demo-project")
    console.print({k: described.get(k) for k in ("ProjectName", "ProjectId", "ProjectStatus")})


def run_demo(data_dir: Path | None = None, port: int | None = None) -> None:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    bin_dir = Path(sys.executable).parent
    seedbed = shutil.which("seedbed", path=str(bin_dir)) or "seedbed"
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="seedbed-demo-"))
    port = port or _free_port()
    endpoint = f"http://localhost:{port}"

    _step(f"seedbed up --port {port} --data-dir {data_dir}")
    proc = subprocess.Popen([seedbed, "up", "--port", str(port), "--data-dir", str(data_dir)])
    try:
        _wait_healthy(endpoint, proc)
        exports = subprocess.run(
            [seedbed, "env", "--data-dir", str(data_dir), "--port", str(port)],
            capture_output=True, text=True, check=True,
        ).stdout
        _step('eval "$(seedbed env)"')
        console.print(exports.replace(exports.split("AWS_SECRET_ACCESS_KEY=")[1].split("\n")[0], "…"))
        env = dict(os.environ)
        for line in exports.splitlines():
            if line.startswith("export "):
                key, value = line[len("export ") :].split("=", 1)
                env[key] = value.strip("'")
        os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
        config = Config(retries={"max_attempts": 1})

        _step("boto3: sts.get_caller_identity()")
        sts = boto3.client("sts", config=config)
        console.print(sts.get_caller_identity())

        aws = shutil.which("aws", path=str(bin_dir)) or shutil.which("aws")
        if aws:
            _step("AWS CLI: aws sts get-caller-identity")
            out = subprocess.run([aws, "sts", "get-caller-identity"], env=env, capture_output=True, text=True)
            console.print(out.stdout.strip() or out.stderr.strip())

        _step("boto3: iam.create_role(DemoRole) and sts.assume_role()")
        iam = boto3.client("iam", config=config)
        try:
            role = iam.create_role(
                RoleName="DemoRole",
                Path="/service-role/",
                AssumeRolePolicyDocument=json.dumps(TRUST_ACCOUNT),
            )["Role"]
        except ClientError:
            role = iam.get_role(RoleName="DemoRole")["Role"]
        assumed = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="demo", DurationSeconds=900)
        creds = assumed["Credentials"]
        as_role = boto3.client(
            "sts",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            config=config,
        )
        console.print({"assumed": as_role.get_caller_identity()["Arn"], "expires": str(creds["Expiration"])})

        _step("a request signed with the wrong secret is refused")
        bad = boto3.client(
            "sts",
            aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key="wrong" * 8,
            config=config,
        )
        try:
            bad.get_caller_identity()
        except ClientError as exc:
            first_line = exc.response["Error"]["Message"].splitlines()[0]
            console.print(f"[red]{exc.response['Error']['Code']}[/]: {first_line}")

        if aws:
            _step("AWS CLI: aws s3 mb / cp / ls, and the visibility tag Studio looks for")
            bucket = f"demo-templates-{port}"
            template = EXAMPLES / "small-project.yml"
            for args in (
                ["s3", "mb", f"s3://{bucket}"],
                ["s3", "cp", str(template), f"s3://{bucket}/templates/small-project.yml"],
                ["s3api", "put-object-tagging", "--bucket", bucket, "--key", "templates/small-project.yml",
                 "--tagging", "TagSet=[{Key=sagemaker:studio-visibility,Value=true}]"],
                ["s3", "ls", "--recursive", f"s3://{bucket}"],
            ):
                out = subprocess.run([aws, *args], env=env, capture_output=True, text=True)
                console.print(f"$ aws {' '.join(args[:2])} ...  " + (out.stdout.strip() or out.stderr.strip()))
            _run_project(config, bucket)

        _step("an operation Seedbed does not implement yet says so")
        try:
            boto3.client("sagemaker", config=config).list_hubs()
        except ClientError as exc:
            console.print(f"[yellow]{exc.response['Error']['Code']}[/]: {exc.response['Error']['Message']}")

        _step("the audit trail (CloudTrail LookupEvents)")
        events = boto3.client("cloudtrail", config=config).lookup_events(MaxResults=10)["Events"]
        for event in events:
            record = json.loads(event["CloudTrailEvent"])
            who = record["userIdentity"].get("arn") or record["userIdentity"].get("accessKeyId", "anonymous")
            console.print(f"  {event['EventTime']:%H:%M:%S}  {event['EventName']:<22} {who:<60} {record.get('errorCode', 'ok')}")
        console.print(f"\n[bold green]Demo finished.[/] Data kept in {data_dir}; `seedbed audit --data-dir {data_dir}` shows the trail.")
    finally:
        _step("stopping the server (SIGTERM)")
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
