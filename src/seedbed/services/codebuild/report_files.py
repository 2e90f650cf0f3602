"""Report files a build leaves, read as CodeBuild reads them: JUnit XML test results (what
``pytest --junitxml`` writes) and Cobertura XML code coverage (what ``coverage xml`` writes).

Other formats CodeBuild reads (Cucumber JSON, TestNG, NUnit, Visual Studio TRX, Clover, JaCoCo,
SimpleCov) raise :class:`UnreadableReport` naming the format, so the build log says so.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

TEST_FORMATS = ("JUNITXML", "CUCUMBERJSON", "TESTNGXML", "NUNITXML", "NUNIT3XML", "VISUALSTUDIOTRX")
COVERAGE_FORMATS = ("CLOVERXML", "COBERTURAXML", "JACOCOXML", "SIMPLECOV")
READ = ("JUNITXML", "COBERTURAXML")
MESSAGE_LIMIT = 5000


class UnreadableReport(ValueError):
    """A report file Seedbed cannot read; the message says which and why."""


def _parse(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise UnreadableReport(f"{path.name}: not a readable XML file ({exc})") from None


def _nanos(seconds: str | None) -> int:
    try:
        return int(float(seconds or 0) * 1_000_000_000)
    except ValueError:
        return 0


def junit_cases(path: Path, raw_path: str) -> list[dict[str, Any]]:
    """The TestCase items of a JUnit XML file (``<testsuites>`` or a single ``<testsuite>``)."""
    root = _parse(path)
    if root.tag not in ("testsuites", "testsuite"):
        raise UnreadableReport(f"{path.name}: not JUnit XML (root element <{root.tag}>)")
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    cases = []
    for suite in suites:
        for case in suite.findall("testcase"):
            status, message = "SUCCEEDED", ""
            for tag, meaning in (("failure", "FAILED"), ("error", "ERROR"), ("skipped", "SKIPPED")):
                found = case.find(tag)
                if found is not None:
                    status = meaning
                    message = "\n".join(p for p in (found.get("message") or "", (found.text or "").strip()) if p)
                    break
            item = {"testRawDataPath": raw_path, "prefix": case.get("classname") or "", "name": case.get("name") or "",
                    "status": status, "durationInNanoSeconds": _nanos(case.get("time")),
                    "testSuiteName": suite.get("name") or ""}
            if message:
                item["message"] = message[:MESSAGE_LIMIT]
            cases.append(item)
    return cases


_CONDITIONS = re.compile(r"\((\d+)/(\d+)\)")


def cobertura_files(path: Path) -> list[dict[str, Any]]:
    """The CodeCoverage items (one per source file) of a Cobertura XML file."""
    root = _parse(path)
    if root.tag != "coverage":
        raise UnreadableReport(f"{path.name}: not Cobertura XML (root element <{root.tag}>)")
    by_file: dict[str, dict[int, tuple[bool, int, int]]] = {}
    for cls in root.iter("class"):
        lines = by_file.setdefault(cls.get("filename") or cls.get("name") or "", {})
        for line in cls.iter("line"):
            number = int(line.get("number") or 0)
            hit = int(line.get("hits") or 0) > 0
            covered = total = 0
            match = _CONDITIONS.search(line.get("condition-coverage") or "")
            if line.get("branch") == "true" and match:
                covered, total = int(match.group(1)), int(match.group(2))
            seen = lines.get(number)
            if seen is not None:  # a line listed by two classes of the file counts once
                hit, covered, total = hit or seen[0], max(covered, seen[1]), max(total, seen[2])
            lines[number] = (hit, covered, total)
    items = []
    for file_path, lines in sorted(by_file.items()):
        covered_lines = sum(1 for hit, _, _ in lines.values() if hit)
        branches_covered = sum(c for _, c, _ in lines.values())
        branches = sum(t for _, _, t in lines.values())
        items.append(summary(covered_lines, len(lines) - covered_lines, branches_covered, branches - branches_covered)
                     | {"filePath": file_path})
    return items


def summary(lines_covered: int, lines_missed: int, branches_covered: int, branches_missed: int) -> dict[str, Any]:
    """A CodeCoverageReportSummary (or the counting part of a CodeCoverage item)."""
    def percent(covered: int, missed: int) -> float:
        return round(100.0 * covered / (covered + missed), 2) if covered + missed else 0.0

    return {"lineCoveragePercentage": percent(lines_covered, lines_missed), "linesCovered": lines_covered,
            "linesMissed": lines_missed, "branchCoveragePercentage": percent(branches_covered, branches_missed),
            "branchesCovered": branches_covered, "branchesMissed": branches_missed}


def check_format(file_format: str) -> None:
    """Raise :class:`UnreadableReport` unless files in ``file_format`` can be read here."""
    if file_format in READ:
        return
    if file_format in TEST_FORMATS or file_format in COVERAGE_FORMATS:
        raise UnreadableReport(f"Seedbed reads JUNITXML test reports and COBERTURAXML coverage reports; "
                               f"{file_format} is not read")
    raise UnreadableReport(f"unknown report file-format {file_format}")


def read(path: Path, raw_path: str, file_format: str) -> list[dict[str, Any]]:
    """The items of one report file in ``file_format``."""
    check_format(file_format)
    return junit_cases(path, raw_path) if file_format == "JUNITXML" else cobertura_files(path)
