"""SageMaker projects: CreateProject to CreateCompleted for a small project template (an S3
bucket and an SSM parameter, under the launch role from the roles template), median of 20; and
ListProjects over 10,000 projects, median per page of 100. Targets: under 1 s and under 50 ms.

The 10,000 listed projects are written straight into the bench server's database (creating them
through CreateProject would time the stack engine 10,000 times, not the listing); the listing
itself goes through boto3 like any client.
"""

from __future__ import annotations

import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bench.harness import start_seedbed

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "examples"
ROUNDS = 20
LISTED = 10_000
CREATE_TARGET_S = 1.0
PAGE_TARGET_MS = 50.0


def _client(service: str, port: int, creds: dict[str, str]) -> Any:
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name=creds["region"],
                        aws_access_key_id=creds["aws_access_key_id"], aws_secret_access_key=creds["aws_secret_access_key"],
                        config=Config(retries={"max_attempts": 1}))


def _setup(port: int, creds: dict[str, str]) -> tuple[str, str]:
    cf, s3 = _client("cloudformation", port, creds), _client("s3", port, creds)
    cf.create_stack(StackName="roles", TemplateBody=(TEMPLATES / "roles.yml").read_text(), Capabilities=["CAPABILITY_NAMED_IAM"])
    cf.get_waiter("stack_create_complete").wait(StackName="roles", WaiterConfig={"Delay": 1})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName="roles")["Stacks"][0]["Outputs"]}
    s3.create_bucket(Bucket="bench-templates")
    s3.put_object(Bucket="bench-templates", Key="templates/small.yml", Body=(TEMPLATES / "small-project.yml").read_bytes())
    return outputs["LaunchRoleArn"], f"https://bench-templates.s3.{creds['region']}.amazonaws.com/templates/small.yml"


def _create_round(sm: Any, name: str, role: str, url: str) -> float:
    start = time.perf_counter()
    sm.create_project(ProjectName=name, TemplateProviders=[{"CfnTemplateProvider": {
        "TemplateName": "small", "TemplateURL": url, "RoleARN": role, "Parameters": [{"Key": "Stage", "Value": "prod"}]}}])
    while True:
        status = sm.describe_project(ProjectName=name)["ProjectStatus"]
        if status not in ("Pending", "CreateInProgress"):
            break
        time.sleep(0.002)
    elapsed = time.perf_counter() - start
    if status != "CreateCompleted":
        raise RuntimeError(f"{name}: {status}")
    return elapsed


def _seed(data_dir: Path, account: str, region: str, count: int) -> None:
    from seedbed.config import Settings
    from seedbed.services.sagemaker import store
    from seedbed.state.db import Database

    db = Database(Settings(data_dir=data_dir).resolved_database_url)
    rows = []
    base = store.now()
    for i in range(count):
        name = f"seed-{i:05d}-{uuid.uuid4().hex[:6]}"
        pid = "p-" + uuid.uuid4().hex[:12]
        rows.append({
            "project_id": pid, "account_id": account, "region": region, "name": name, "live_name": name,
            "arn": f"arn:aws:sagemaker:{region}:{account}:project/{name}", "description": None, "status": "CreateCompleted",
            "status_reason": None, "providers": [], "stack_name": None, "stack_id": None, "stack_status": None,
            "template_version": None, "outputs": None, "retained": None, "created_by": {}, "modified_by": None,
            "caller": None, "deleted": False, "created": base, "modified": base,
        })
    with db.begin() as conn:
        conn.execute(store.projects.insert(), rows)
    db.dispose()


def run() -> dict[str, float]:
    server, creds = start_seedbed()
    try:
        sm = _client("sagemaker", server.port, creds)
        role, url = _setup(server.port, creds)
        first = _create_round(sm, "warmup", role, url)
        times = [_create_round(sm, f"bench-{i}", role, url) for i in range(ROUNDS)]
        account = _client("sts", server.port, creds).get_caller_identity()["Account"]
        assert server.data_dir is not None
        _seed(server.data_dir, account, creds["region"], LISTED)
        pages: list[float] = []
        for sort in ("CreationTime", "Name"):
            kwargs: dict[str, Any] = {"MaxResults": 100, "SortBy": sort}
            while True:
                start = time.perf_counter()
                page = sm.list_projects(**kwargs)
                pages.append(time.perf_counter() - start)
                if "NextToken" not in page:
                    break
                kwargs["NextToken"] = page["NextToken"]
    finally:
        server.stop()
    create_median = statistics.median(times)
    page_median = statistics.median(pages) * 1000
    print(f"SageMaker projects: CreateProject -> CreateCompleted (S3 bucket + SSM parameter, launch role), {ROUNDS} rounds")
    print(f"  first {first * 1000:.1f} ms; median {create_median * 1000:.1f} ms, p90 {sorted(times)[int(ROUNDS * 0.9) - 1] * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms (target < {CREATE_TARGET_S * 1000:.0f} ms): {'OK' if create_median < CREATE_TARGET_S else 'OVER TARGET'}")
    print(f"  ListProjects over {LISTED + ROUNDS + 1} projects, pages of 100, {len(pages)} pages: median {page_median:.1f} ms, "
          f"max {max(pages) * 1000:.1f} ms (target < {PAGE_TARGET_MS:.0f} ms): {'OK' if page_median < PAGE_TARGET_MS else 'OVER TARGET'}")
    return {"create_median_ms": create_median * 1000, "list_page_median_ms": page_median}


if __name__ == "__main__":
    run()
