"""Report files as CodeBuild reads them: JUnit XML from several writers, Cobertura coverage, and
the buildspec's ``reports`` section."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedbed.services.codebuild import buildspec, report_files

JUNIT_ONE_SUITE = """<testsuite name="unit" tests="4">
  <testcase classname="pkg.Test" name="ok" time="0.25"/>
  <testcase classname="pkg.Test" name="bad" time="1"><failure message="expected 2">trace here</failure></testcase>
  <testcase classname="pkg.Test" name="boom"><error message="KeyError"/></testcase>
  <testcase classname="pkg.Test" name="later"><skipped/></testcase>
</testsuite>"""


def test_junit_cases_with_every_status(tmp_path: Path) -> None:
    path = tmp_path / "r.xml"
    path.write_text(JUNIT_ONE_SUITE)
    cases = report_files.read(path, "reports/r.xml", "JUNITXML")
    assert [(c["name"], c["status"]) for c in cases] == [("ok", "SUCCEEDED"), ("bad", "FAILED"), ("boom", "ERROR"), ("later", "SKIPPED")]
    assert cases[0]["durationInNanoSeconds"] == 250_000_000 and cases[0]["prefix"] == "pkg.Test"
    assert cases[1]["message"] == "expected 2\ntrace here" and cases[1]["testSuiteName"] == "unit"
    assert all(c["testRawDataPath"] == "reports/r.xml" for c in cases)
    path.write_text(f"<testsuites>{JUNIT_ONE_SUITE}{JUNIT_ONE_SUITE.replace('unit', 'again')}</testsuites>")
    assert len(report_files.read(path, "r.xml", "JUNITXML")) == 8


def test_cobertura_counts_lines_and_branches_per_file(tmp_path: Path) -> None:
    path = tmp_path / "coverage.xml"
    path.write_text("""<coverage><packages><package><classes>
      <class filename="a.py"><lines><line number="1" hits="2"/><line number="2" hits="0" branch="true" condition-coverage="0% (0/2)"/></lines></class>
      <class filename="a.py"><lines><line number="2" hits="1" branch="true" condition-coverage="50% (1/2)"/></lines></class>
      <class filename="b.py"><lines/></class>
    </classes></package></packages></coverage>""")
    files = {f["filePath"]: f for f in report_files.read(path, "coverage.xml", "COBERTURAXML")}
    assert files["a.py"] == {"filePath": "a.py", "lineCoveragePercentage": 100.0, "linesCovered": 2, "linesMissed": 0,
                             "branchCoveragePercentage": 50.0, "branchesCovered": 1, "branchesMissed": 1}
    assert files["b.py"]["lineCoveragePercentage"] == 0.0 and files["b.py"]["linesMissed"] == 0


@pytest.mark.parametrize(("text", "file_format", "message"), [
    ("<coverage/>", "JUNITXML", "not JUnit XML"),
    ("<testsuite/>", "COBERTURAXML", "not Cobertura XML"),
    ("<testsuite", "JUNITXML", "not a readable XML file"),
    ("{}", "CUCUMBERJSON", "CUCUMBERJSON is not read"),
    ("<x/>", "JACOCOXML", "JACOCOXML is not read"),
    ("<x/>", "PDF", "unknown report file-format"),
])
def test_unreadable_reports_say_why(tmp_path: Path, text: str, file_format: str, message: str) -> None:
    path = tmp_path / "r"
    path.write_text(text)
    with pytest.raises(report_files.UnreadableReport, match=message):
        report_files.read(path, "r", file_format)


def test_buildspec_reports_section() -> None:
    spec = buildspec.parse("""
version: 0.2
phases: {build: {commands: [echo]}}
reports:
  unit:
    files: '**/*.xml'
    base-directory: out
    discard-paths: yes
  arn:aws:codebuild:us-east-1:000000000000:report-group/cov:
    files: [coverage.xml]
    file-format: coberturaxml
""")
    assert [(r.group, r.files, r.base_directory, r.discard_paths, r.file_format) for r in spec.reports] == [
        ("unit", ["**/*.xml"], "out", True, "JUNITXML"),
        ("arn:aws:codebuild:us-east-1:000000000000:report-group/cov", ["coverage.xml"], None, False, "COBERTURAXML")]
    with pytest.raises(buildspec.BuildspecError, match="reports"):
        buildspec.parse("version: 0.2\nreports: [a]\n")
