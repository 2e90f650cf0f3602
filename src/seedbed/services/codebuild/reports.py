"""CodeBuild test and code coverage reports: report groups, the reports builds write into them
(buildspec ``reports``), and the API that reads them.

A build's ``reports`` entry names a report group by ARN, or by a name that becomes
``<project>-<name>``; a group that does not exist is created with the build role's credentials
(``codebuild:CreateReportGroup``, checked by IAM). In UPLOAD_ARTIFACTS, even after a failed
BUILD phase, the entry's files are read (:mod:`.report_files`), the report is stored with its
summary, exported to S3 when the group says so, and its ARN goes into the build's ``reportArns``.
A report that cannot be made is explained in the build log and does not fail the build.
The per-report permissions (``codebuild:CreateReport``, ``BatchPutTestCases``, ...) are not
checked: they belong to no public operation.
"""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedbed.errors import ServiceError
from seedbed.runtime.builds import artifacts as files
from seedbed.server.context import RequestContext
from seedbed.services.codebuild import report_files, store
from seedbed.services.codebuild.buildspec import ReportSpec
from seedbed.services.codebuild.errors import InvalidInput, ResourceAlreadyExists, ResourceNotFound
from seedbed.services.codebuild.paging import listing
from seedbed.state import arns

if TYPE_CHECKING:
    from seedbed.services.codebuild.builder import BuildRun

NO_EXPORT = {"exportConfigType": "NO_EXPORT"}


def group_arn(account: str, region: str, name: str) -> str:
    return arns.build("codebuild", f"report-group/{name}", account, region)


def _group_out(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "created": store.out_time(doc["created"]), "lastModified": store.out_time(doc["lastModified"])}


def _report_out(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "created": store.out_time(doc["created"])}


class ReportOperations:
    backend: Any

    # -- report groups ---------------------------------------------------------------------------

    def _group(self, arn: str) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            doc = store.get_report_group(conn, arn)
        if doc is None:
            raise ResourceNotFound(f"Report group {arn} does not exist")
        return doc

    def create_report_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["name"]
        arn = group_arn(ctx.account_id, ctx.region, name)
        when = store.epoch()
        doc = {"arn": arn, "name": name, "type": params["type"], "exportConfig": params.get("exportConfig") or NO_EXPORT,
               "created": when, "lastModified": when, "tags": params.get("tags") or [], "status": "ACTIVE"}
        _check_export(doc["exportConfig"])
        with self.backend.db.begin() as conn:
            if store.get_report_group(conn, arn) is not None:
                raise ResourceAlreadyExists(f"Report group with name {name} already exists")
            store.insert_report_group(conn, ctx.account_id, ctx.region, doc)
        ctx.resources.append(arn)
        return {"reportGroup": _group_out(doc)}

    def update_report_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._group(params["arn"])
        if params.get("exportConfig") is not None:
            _check_export(params["exportConfig"])
            doc["exportConfig"] = params["exportConfig"]
        if params.get("tags") is not None:
            doc["tags"] = params["tags"]
        doc["lastModified"] = store.epoch()
        with self.backend.db.begin() as conn:
            store.save_report_group(conn, doc)
        return {"reportGroup": _group_out(doc)}

    def delete_report_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._group(params["arn"])
        with self.backend.db.begin() as conn:
            if store.count_reports(conn, doc["arn"]) and not params.get("deleteReports"):
                raise InvalidInput(f"Report group {doc['arn']} has reports; delete them first or set deleteReports")
            store.delete_report_group(conn, doc["arn"])
        return {}

    def batch_get_report_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, missing = [], []
        with self.backend.db.connect() as conn:
            for arn in params["reportGroupArns"]:
                doc = store.get_report_group(conn, arn)
                (found.append(_group_out(doc)) if doc is not None else missing.append(arn))
        return {"reportGroups": found, "reportGroupsNotFound": missing}

    def list_report_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            groups = store.list_report_groups(conn, ctx.account_id, ctx.region)
        key = {"NAME": "name", "LAST_MODIFIED_TIME": "lastModified"}.get(params.get("sortBy") or "", "created")
        groups.sort(key=lambda g: (g[key], g["name"]), reverse=(params.get("sortOrder") or "DESCENDING") == "DESCENDING")
        return listing("reportGroups", [g["arn"] for g in groups], params)

    # -- reports ---------------------------------------------------------------------------------

    def _report(self, arn: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        with self.backend.db.connect() as conn:
            found = store.get_report(conn, arn)
        if found is None:
            raise ResourceNotFound(f"Report {arn} does not exist")
        return found

    def _list_reports(self, ctx: RequestContext, params: dict[str, Any], group: str | None) -> dict[str, Any]:
        status = (params.get("filter") or {}).get("status")
        with self.backend.db.connect() as conn:
            docs = store.list_reports(conn, ctx.account_id, ctx.region, group, status,
                                      (params.get("sortOrder") or "DESCENDING") == "DESCENDING")
        return listing("reports", [d["arn"] for d in docs], params)

    def list_reports(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_reports(ctx, params, None)

    def list_reports_for_report_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_reports(ctx, params, self._group(params["reportGroupArn"])["arn"])

    def batch_get_reports(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, missing = [], []
        with self.backend.db.connect() as conn:
            for arn in params["reportArns"]:
                report = store.get_report(conn, arn)
                (found.append(_report_out(report[0])) if report is not None else missing.append(arn))
        return {"reports": found, "reportsNotFound": missing}

    def delete_report(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.begin() as conn:
            store.delete_report(conn, params["arn"])  # deleting a report that is gone succeeds, as on AWS
        return {}

    def describe_test_cases(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc, items = self._report(params["reportArn"])
        if doc["type"] != "TEST":
            raise InvalidInput(f"Report {doc['arn']} is a {doc['type']} report, not a test report")
        wanted = params.get("filter") or {}
        keyword = (wanted.get("keyword") or "").lower()
        cases = [c for c in items if (not wanted.get("status") or c["status"] == wanted["status"])
                 and (not keyword or keyword in f"{c.get('prefix', '')} {c['name']}".lower())]
        return listing("testCases", [{**c, "reportArn": doc["arn"]} for c in cases], params, 50)

    def describe_code_coverages(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc, items = self._report(params["reportArn"])
        if doc["type"] != "CODE_COVERAGE":
            raise InvalidInput(f"Report {doc['arn']} is a {doc['type']} report, not a code coverage report")
        low, high = params.get("minLineCoveragePercentage"), params.get("maxLineCoveragePercentage")
        chosen = [c for c in items if (low is None or c["lineCoveragePercentage"] >= low)
                  and (high is None or c["lineCoveragePercentage"] <= high)]
        key = "filePath" if params.get("sortBy") == "FILE_PATH" else "lineCoveragePercentage"
        chosen.sort(key=lambda c: (c[key], c["filePath"]), reverse=params.get("sortOrder") == "DESCENDING")
        return listing("codeCoverages", [{**c, "reportARN": doc["arn"]} for c in chosen], params)

    def get_report_group_trend(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = self._group(params["reportGroupArn"])
        with self.backend.db.connect() as conn:
            docs = store.list_reports(conn, ctx.account_id, ctx.region, group["arn"], None, True)
        docs = docs[:max(1, min(int(params.get("numOfReports") or 100), 100))]
        field = params["trendField"]
        raw = [(d["arn"], value) for d in docs if (value := _trend_value(d, field)) is not None]
        stats = {}
        if raw:
            values = [v for _, v in raw]
            stats = {"average": _number(statistics.fmean(values)), "max": _number(max(values)), "min": _number(min(values))}
        return {"stats": stats, "rawData": [{"reportArn": arn, "data": _number(value)} for arn, value in raw]}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _trend_value(doc: dict[str, Any], field: str) -> float | None:
    tests, coverage = doc.get("testSummary"), doc.get("codeCoverageSummary")
    if field in ("PASS_RATE", "DURATION", "TOTAL"):
        if not tests:
            return None
        if field == "TOTAL":
            return float(tests["total"])
        if field == "DURATION":
            return float(tests["durationInNanoSeconds"])
        return 100.0 * tests["statusCounts"].get("SUCCEEDED", 0) / tests["total"] if tests["total"] else 0.0
    if not coverage:
        return None
    key = {"LINE_COVERAGE": "lineCoveragePercentage", "LINES_COVERED": "linesCovered", "LINES_MISSED": "linesMissed",
           "BRANCH_COVERAGE": "branchCoveragePercentage", "BRANCHES_COVERED": "branchesCovered",
           "BRANCHES_MISSED": "branchesMissed"}[field]
    return float(coverage[key])


def _check_export(config: dict[str, Any]) -> None:
    kind = config.get("exportConfigType")
    if kind == "S3" and not (config.get("s3Destination") or {}).get("bucket"):
        raise InvalidInput("exportConfig of type S3 needs s3Destination.bucket")
    if kind not in ("S3", "NO_EXPORT"):
        raise InvalidInput(f"Invalid exportConfigType {kind}")


# -- what a build writes -----------------------------------------------------------------------------


async def write_reports(run: BuildRun) -> None:
    """Every ``reports`` entry of the build's buildspec as a report (see the module docstring)."""
    assert run.spec is not None
    for spec in run.spec.reports:
        try:
            arn = await _write_report(run, spec)
        except (report_files.UnreadableReport, ServiceError) as exc:
            text = exc.message if isinstance(exc, ServiceError) else str(exc)
            run.log.container(f"Report {spec.group} was not created: {text}")
            continue
        if arn:
            run.doc.setdefault("reportArns", []).append(arn)


async def _resolve_group(run: BuildRun, spec: ReportSpec, kind: str) -> dict[str, Any]:
    account, region = run.row.account_id, run.row.region
    if spec.group.startswith("arn:"):
        with run.backend.db.connect() as conn:
            doc = store.get_report_group(conn, spec.group)
        if doc is None:
            raise report_files.UnreadableReport(f"report group {spec.group} does not exist")
        return doc
    name = f"{run.row.project_name}-{spec.group}"
    with run.backend.db.connect() as conn:
        doc = store.get_report_group(conn, group_arn(account, region, name))
    if doc is not None:
        return doc
    assert run.role is not None
    try:
        out = await run.backend.call(run.role.principal, "codebuild", "CreateReportGroup",
                                     {"name": name, "type": kind, "exportConfig": NO_EXPORT}, region)
    except ResourceAlreadyExists:  # created by a build running beside this one
        with run.backend.db.connect() as conn:
            found = store.get_report_group(conn, group_arn(account, region, name))
        assert found is not None
        return found
    with run.backend.db.connect() as conn:
        created = store.get_report_group(conn, out["reportGroup"]["arn"])
    assert created is not None
    return created


async def _write_report(run: BuildRun, spec: ReportSpec) -> str | None:
    kind = "CODE_COVERAGE" if spec.file_format in report_files.COVERAGE_FORMATS else "TEST"
    report_files.check_format(spec.file_format)
    selected = run.select_files(spec.files, spec.base_directory, spec.discard_paths)
    if not selected:
        run.log.container(f"Report {spec.group}: no matching report paths found")
        return None
    group = await _resolve_group(run, spec, kind)
    if group["type"] != kind:
        raise report_files.UnreadableReport(f"report group {group['name']} is a {group['type']} group; "
                                            f"{spec.file_format} files make {kind} reports")
    items: list[dict[str, Any]] = []
    for path, raw in selected:
        try:
            items += await asyncio.to_thread(report_files.read, path, raw, spec.file_format)
        except report_files.UnreadableReport as exc:
            run.log.container(f"Report {spec.group}: skipped {exc}")
    build_uuid = run.row.build_id.rsplit(":", 1)[-1]
    doc: dict[str, Any] = {
        "arn": arns.build("codebuild", f"report/{group['name']}:{build_uuid}", run.row.account_id, run.row.region),
        "type": kind, "name": group["name"], "reportGroupArn": group["arn"], "created": store.epoch(),
        "executionId": run.doc["arn"], "exportConfig": group["exportConfig"], "truncated": False,
    }
    if kind == "TEST":
        counts: dict[str, int] = {}
        for case in items:
            counts[case["status"]] = counts.get(case["status"], 0) + 1
        doc["testSummary"] = {"total": len(items), "statusCounts": counts,
                              "durationInNanoSeconds": sum(c["durationInNanoSeconds"] for c in items)}
        doc["status"] = "FAILED" if counts.get("FAILED") or counts.get("ERROR") else "SUCCEEDED"
    else:
        items = [{**item, "id": f"{build_uuid}-{i}"} for i, item in enumerate(items)]
        doc["codeCoverageSummary"] = report_files.summary(*(sum(i[k] for i in items) for k in (
            "linesCovered", "linesMissed", "branchesCovered", "branchesMissed")))
        doc["status"] = "SUCCEEDED"
    await _export(run, group["exportConfig"], doc["arn"], selected)
    with run.backend.db.begin() as conn:
        store.insert_report(conn, run.row.account_id, run.row.region, doc, items)
    counted = doc.get("testSummary") or doc["codeCoverageSummary"]
    run.log.container(f"Report {group['name']}: {doc['status']} {counted}")
    return str(doc["arn"])


async def _export(run: BuildRun, config: dict[str, Any], report_arn: str, selected: list[tuple[Path, str]]) -> None:
    """The report's raw files to the group's S3 destination, as the build role."""
    if config.get("exportConfigType") != "S3":
        return
    target = config["s3Destination"]
    prefix = "/".join(p for p in ((target.get("path") or "").strip("/"), report_arn.rsplit("/", 1)[-1]) if p)
    if target.get("packaging") == "ZIP":
        zipped = run.root / "out" / "report.zip"
        await asyncio.to_thread(files.write_zip, selected, zipped)
        await run.put_object(target["bucket"], f"{prefix}.zip", await asyncio.to_thread(zipped.read_bytes))
        return
    for path, name in selected:
        await run.put_object(target["bucket"], f"{prefix}/{name}", await asyncio.to_thread(path.read_bytes))
