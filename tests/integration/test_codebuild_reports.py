"""CodeBuild reports on a live server: a build runs pytest with ``--junitxml`` and leaves a
Cobertura coverage file; its buildspec's ``reports`` make a test report (even though a test
failed the build) and a coverage report, read back with boto3 and the AWS CLI."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.conftest import BIN, LiveServer
from tests.integration.test_codebuild import build_log, make_role, wait_build, zip_bytes

TESTS = '''
import pytest

def test_adds():
    assert 1 + 1 == 2

def test_breaks():
    assert "seed" == "bed", "words differ"

@pytest.mark.skip(reason="not today")
def test_later():
    pass
'''

COBERTURA = '''<?xml version="1.0" ?>
<coverage version="7.4" timestamp="1" lines-valid="6" lines-covered="4" line-rate="0.6667" branches-covered="1"
          branches-valid="2" branch-rate="0.5" complexity="0">
  <packages><package name="app" line-rate="0.6667" branch-rate="0.5" complexity="0"><classes>
    <class name="model.py" filename="app/model.py" complexity="0" line-rate="0.75" branch-rate="0.5"><lines>
      <line number="1" hits="1"/><line number="2" hits="1"/>
      <line number="3" hits="1" branch="true" condition-coverage="50% (1/2)" missing-branches="5"/>
      <line number="5" hits="0"/>
    </lines></class>
    <class name="util.py" filename="app/util.py" complexity="0" line-rate="0.5" branch-rate="0"><lines>
      <line number="1" hits="1"/><line number="2" hits="0"/>
    </lines></class>
  </classes></package></packages>
</coverage>
'''

BUILDSPEC = '''
version: 0.2
phases:
  build:
    commands:
      - python -m pytest -q -p no:cacheprovider --junitxml=out/tests/junit.xml test_app.py
reports:
  unit:
    files:
      - '**/*.xml'
    base-directory: out/tests
  coverage:
    files:
      - coverage.xml
    file-format: COBERTURAXML
  {group_arn}:
    files:
      - out/tests/junit.xml
'''


@pytest.fixture(scope="module")
def built(server: LiveServer) -> dict:
    tag = uuid.uuid4().hex[:8]
    cb, s3 = server.client("codebuild"), server.client("s3")
    bucket = f"cbr-{tag}"
    s3.create_bucket(Bucket=bucket)
    export = {"exportConfigType": "S3", "s3Destination": {"bucket": bucket, "path": "exported", "packaging": "NONE"}}
    named = cb.create_report_group(name=f"shared-{tag}", type="TEST", exportConfig=export)["reportGroup"]
    s3.put_object(Bucket=bucket, Key="src.zip", Body=zip_bytes({
        "test_app.py": TESTS, "coverage.xml": COBERTURA, "buildspec.yml": BUILDSPEC.replace("{group_arn}", named["arn"])}))
    name = f"reports-{tag}"
    cb.create_project(name=name, source={"type": "S3", "location": f"{bucket}/src.zip"}, artifacts={"type": "NO_ARTIFACTS"},
                      environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                                   "computeType": "BUILD_GENERAL1_SMALL"},
                      serviceRole=make_role(server, f"cbr-role-{tag}"))
    build = wait_build(cb, cb.start_build(projectName=name)["build"]["id"], timeout=120)
    return {"tag": tag, "bucket": bucket, "project": name, "build": build, "named": named}


def test_a_failed_build_still_reports_its_tests(server: LiveServer, built: dict) -> None:
    cb, build = server.client("codebuild"), built["build"]
    assert build["buildStatus"] == "FAILED"  # one test failed
    assert len(build["reportArns"]) == 3, build_log(server, build)
    reports = {r["reportGroupArn"].rsplit("/", 1)[1]: r for r in cb.batch_get_reports(reportArns=build["reportArns"])["reports"]}
    unit = reports[f"{built['project']}-unit"]
    assert unit["type"] == "TEST" and unit["status"] == "FAILED" and unit["executionId"] == build["arn"]
    assert unit["testSummary"]["total"] == 3
    assert unit["testSummary"]["statusCounts"] == {"SUCCEEDED": 1, "FAILED": 1, "SKIPPED": 1}
    assert unit["arn"].endswith(":" + build["id"].split(":", 1)[1])

    cases = {c["name"]: c for c in cb.describe_test_cases(reportArn=unit["arn"])["testCases"]}
    assert cases["test_adds"]["status"] == "SUCCEEDED" and cases["test_adds"]["prefix"] == "test_app"
    assert cases["test_breaks"]["status"] == "FAILED" and "words differ" in cases["test_breaks"]["message"]
    assert cases["test_later"]["status"] == "SKIPPED" and cases["test_breaks"]["testRawDataPath"] == "junit.xml"
    failed = cb.describe_test_cases(reportArn=unit["arn"], filter={"status": "FAILED"})["testCases"]
    assert [c["name"] for c in failed] == ["test_breaks"]

    groups = cb.batch_get_report_groups(reportGroupArns=[unit["reportGroupArn"]])["reportGroups"]
    assert groups[0]["type"] == "TEST" and groups[0]["name"] == f"{built['project']}-unit"
    assert "Report" in build_log(server, build)


def test_coverage_report_and_its_files(server: LiveServer, built: dict) -> None:
    cb = server.client("codebuild")
    coverage_group = next(a for a in cb.list_report_groups()["reportGroups"] if a.endswith(f"{built['project']}-coverage"))
    [arn] = cb.list_reports_for_report_group(reportGroupArn=coverage_group)["reports"]
    report = cb.batch_get_reports(reportArns=[arn])["reports"][0]
    assert report["type"] == "CODE_COVERAGE" and report["status"] == "SUCCEEDED"
    assert report["codeCoverageSummary"] == {"lineCoveragePercentage": 66.67, "linesCovered": 4, "linesMissed": 2,
                                             "branchCoveragePercentage": 50.0, "branchesCovered": 1, "branchesMissed": 1}
    files = cb.describe_code_coverages(reportArn=arn, sortBy="FILE_PATH")["codeCoverages"]
    assert [(f["filePath"], f["linesCovered"], f["linesMissed"]) for f in files] == [("app/model.py", 3, 1), ("app/util.py", 1, 1)]
    low = cb.describe_code_coverages(reportArn=arn, maxLineCoveragePercentage=60)["codeCoverages"]
    assert [f["filePath"] for f in low] == ["app/util.py"]
    trend = cb.get_report_group_trend(reportGroupArn=coverage_group, trendField="LINE_COVERAGE")
    assert trend["stats"] == {"average": "66.67", "max": "66.67", "min": "66.67"}
    with pytest.raises(ClientError) as wrong:
        cb.describe_test_cases(reportArn=arn)
    assert wrong.value.response["Error"]["Code"] == "InvalidInputException"


def test_a_named_group_exports_its_files_and_is_deleted_with_the_cli(server: LiveServer, built: dict) -> None:
    cb, s3 = server.client("codebuild"), server.client("s3")
    named = built["named"]
    [arn] = cb.list_reports_for_report_group(reportGroupArn=named["arn"])["reports"]
    exported = s3.list_objects_v2(Bucket=built["bucket"], Prefix="exported/")["Contents"]
    assert [o["Key"] for o in exported] == [f"exported/{arn.rsplit('/', 1)[1]}/out/tests/junit.xml"]
    trend = cb.get_report_group_trend(reportGroupArn=named["arn"], trendField="PASS_RATE")
    assert trend["rawData"] == [{"reportArn": arn, "data": "33.33"}]

    with pytest.raises(ClientError) as busy:
        cb.delete_report_group(arn=named["arn"])
    assert busy.value.response["Error"]["Code"] == "InvalidInputException"
    out = subprocess.run([str(BIN / "aws"), "codebuild", "delete-report-group", "--arn", named["arn"], "--delete-reports"],
                         env=server.env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    gone = cb.batch_get_report_groups(reportGroupArns=[named["arn"]])
    assert gone["reportGroupsNotFound"] == [named["arn"]]
    assert cb.batch_get_reports(reportArns=[arn])["reportsNotFound"] == [arn]


def test_report_group_errors(server: LiveServer, built: dict) -> None:
    cb = server.client("codebuild")
    name = f"dup-{built['tag']}"
    cb.create_report_group(name=name, type="CODE_COVERAGE", exportConfig={"exportConfigType": "NO_EXPORT"})
    with pytest.raises(ClientError) as twice:
        cb.create_report_group(name=name, type="TEST", exportConfig={"exportConfigType": "NO_EXPORT"})
    assert twice.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as missing:
        cb.update_report_group(arn=f"arn:aws:codebuild:{server.region}:000000000000:report-group/none-{built['tag']}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert json.loads(json.dumps(cb.list_reports(filter={"status": "FAILED"})["reports"]))


def test_report_group_as_a_cloudformation_resource(server: LiveServer, built: dict) -> None:
    cfn, cb = server.client("cloudformation"), server.client("codebuild")
    stack = f"reports-{built['tag']}"
    template = {"Resources": {"Group": {"Type": "AWS::CodeBuild::ReportGroup", "Properties": {
        "Type": "TEST", "ExportConfig": {"ExportConfigType": "NO_EXPORT"}, "DeleteReports": True,
        "Tags": [{"Key": "team", "Value": "ml"}]}}},
        "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Group", "Arn"]}}, "Ref": {"Value": {"Ref": "Group"}}}}
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}
    assert outputs["Arn"] == outputs["Ref"]
    [group] = cb.batch_get_report_groups(reportGroupArns=[outputs["Arn"]])["reportGroups"]
    assert group["type"] == "TEST" and {"key": "team", "value": "ml"} in group["tags"]
    cfn.delete_stack(StackName=stack)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert cb.batch_get_report_groups(reportGroupArns=[outputs["Arn"]])["reportGroupsNotFound"] == [outputs["Arn"]]
