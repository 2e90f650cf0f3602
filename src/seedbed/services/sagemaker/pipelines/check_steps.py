"""QualityCheck and ClarifyCheck steps: a baseline calculated from the step's dataset, and a
drift check of that dataset against the previous baseline, as SageMaker Pipelines runs them.

The step's Arguments are a processing job request for the Model Monitor analyzer image
(QualityCheck: ``DATA_QUALITY``, ``MODEL_QUALITY``) or the Clarify image (ClarifyCheck:
``DATA_BIAS``, ``MODEL_BIAS``, ``MODEL_EXPLAINABILITY``); Seedbed plays both images
(:mod:`seedbed.runtime.monitoring`, :mod:`seedbed.runtime.clarify`). The step-level fields decide
the rest:

- the previous baseline is ``SuppliedBaselineConstraints`` (and ``...Statistics``), else the
  ``DriftCheckBaselines`` of the newest Approved package in ``ModelPackageGroupName``;
- ``SkipCheck`` false: the previous baseline must exist; it is staged into the job
  (``/opt/ml/processing/baseline/...``, named by the ``baseline_constraints`` and
  ``baseline_statistics`` variables, as monitoring schedules pass it) and the job also writes
  ``constraint_violations.json``; any violation fails the step when ``FailOnViolation`` (the default);
- ``RegisterNewBaseline`` true: ``BaselineUsedForDriftCheck*`` are the newly calculated files, else
  the previous ones (which must then exist).

The calculated baseline is the job's output: ``constraints.json`` and ``statistics.json`` (Model
Monitor) or ``analysis.json`` (Clarify).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seedbed.errors import ServiceError
from seedbed.services.sagemaker.pipelines import definition as defn

if TYPE_CHECKING:
    from seedbed.services.sagemaker.pipelines.interpreter import ExecutionRunner

BASELINE_DIR = "/opt/ml/processing/baseline"
#: CheckType -> (DriftCheckBaselines section, its constraints member, its statistics member or None).
BASELINES: dict[str, tuple[str, str, str | None]] = {
    "DATA_QUALITY": ("ModelDataQuality", "Constraints", "Statistics"),
    "MODEL_QUALITY": ("ModelQuality", "Constraints", "Statistics"),
    "DATA_BIAS": ("Bias", "PreTrainingConstraints", None),
    "MODEL_BIAS": ("Bias", "PostTrainingConstraints", None),
    "MODEL_EXPLAINABILITY": ("Explainability", "Constraints", None),
}


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _staged(name: str, uri: str) -> tuple[dict[str, Any], str]:
    """A processing input that stages one S3 file, and the path the job finds it at."""
    folder = f"{BASELINE_DIR}/{name}"
    return ({"InputName": f"seedbed_baseline_{name}", "AppManaged": False, "S3Input": {
        "S3Uri": uri, "LocalPath": folder, "S3DataType": "S3Prefix", "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated"}}, f"{folder}/{uri.rstrip('/').rsplit('/', 1)[-1]}")


async def _registered_baseline(runner: ExecutionRunner, group: str | None, check: str) -> tuple[str | None, str | None]:
    """(constraints, statistics) S3 URIs of the newest Approved package's drift check baseline."""
    if not group:
        return None, None
    section, constraints_key, statistics_key = BASELINES[check]
    try:
        listed = await runner.backend.call(runner.principal, "sagemaker", "ListModelPackages", {
            "ModelPackageGroupName": group, "ModelApprovalStatus": "Approved", "SortBy": "CreationTime",
            "SortOrder": "Descending", "MaxResults": 1}, runner.row.region, runner.row.account_id)
        packages = listed.get("ModelPackageSummaryList") or []
        if not packages:
            return None, None
        package = await runner.backend.call(runner.principal, "sagemaker", "DescribeModelPackage", {
            "ModelPackageName": packages[0]["ModelPackageArn"]}, runner.row.region, runner.row.account_id)
    except ServiceError as exc:
        if exc.code in ("ResourceNotFound", "ValidationException"):
            return None, None
        from seedbed.services.sagemaker.pipelines.interpreter import StepFailure

        raise StepFailure(f"Reading the drift check baselines of model package group {group}: {exc.code}: {exc.message}",
                          "ClientError") from None
    baseline = (package.get("DriftCheckBaselines") or {}).get(section) or {}
    constraints = (baseline.get(constraints_key) or {}).get("S3Uri")
    statistics = (baseline.get(statistics_key) or {}).get("S3Uri") if statistics_key else None
    return constraints, statistics


def _output_uri(described: dict[str, Any]) -> str:
    outputs = (described.get("ProcessingOutputConfig") or {}).get("Outputs") or []
    for output in outputs:
        uri = (output.get("S3Output") or {}).get("S3Uri")
        if uri:
            return uri.rstrip("/")
    raise defn.DefinitionError("The check job has no S3 output for its results.")


async def run(runner: ExecutionRunner, step: defn.Step, resuming: bool) -> None:
    from seedbed.services.sagemaker.pipelines.interpreter import StepFailure

    raw = step.raw
    resolved = {k: await defn.resolve(raw.get(k), runner.scope) for k in (
        "CheckType", "ModelPackageGroupName", "SkipCheck", "FailOnViolation", "RegisterNewBaseline",
        "SuppliedBaselineConstraints", "SuppliedBaselineStatistics")}
    check = str(resolved["CheckType"] or ("DATA_QUALITY" if step.type == "QualityCheck" else "DATA_BIAS"))
    if check not in BASELINES:
        raise StepFailure(f"Unknown CheckType {check} for {step.type} step {step.name}.")
    clarify = step.type == "ClarifyCheck"
    skip = _flag(resolved["SkipCheck"], False)
    register_new = _flag(resolved["RegisterNewBaseline"], False)
    fail_on_violation = _flag(resolved["FailOnViolation"], True)
    group = resolved["ModelPackageGroupName"] or None
    previous_constraints = resolved["SuppliedBaselineConstraints"] or None
    previous_statistics = None if clarify else (resolved["SuppliedBaselineStatistics"] or None)
    if previous_constraints is None:
        previous_constraints, registered_statistics = await _registered_baseline(runner, group, check)
        previous_statistics = previous_statistics or registered_statistics
    if previous_constraints is None and not (skip and register_new):
        needs = "SkipCheck is False" if not skip else "RegisterNewBaseline is False"
        raise StepFailure(
            f"Step {step.name}: {needs}, so a previous {check} baseline is required, but none was supplied and "
            f"model package group {group or '(none given)'} has no Approved package with drift check baselines. "
            "Run it first with skip_check=True and register_new_baseline=True.", "ClientError")

    async def add_baseline(request: dict[str, Any]) -> dict[str, Any]:
        if skip:
            return request
        inputs = list(request.get("ProcessingInputs") or [])
        environment = dict(request.get("Environment") or {})
        staged, path = _staged("constraints", str(previous_constraints))
        inputs.append(staged)
        environment["baseline_constraints"] = path
        if previous_statistics:
            staged, path = _staged("statistics", str(previous_statistics))
            inputs.append(staged)
            environment["baseline_statistics"] = path
        if not clarify:
            environment["seedbed_suggest_constraints"] = "Enabled"  # check and calculate at once
        return {**request, "ProcessingInputs": inputs, "Environment": environment}

    basis = {"check": check, "skip": skip, "register_new": register_new, "fail_on_violation": fail_on_violation,
             "constraints": previous_constraints, "statistics": previous_statistics}
    described = await runner.run_job(step, "ProcessingJob", resuming, add_baseline, cache_extra=basis)
    if described is None:  # a cached run: its properties were taken over
        return
    output = _output_uri(described)
    calculated = {"CalculatedBaselineConstraints": f"{output}/{'analysis.json' if clarify else 'constraints.json'}"}
    if not clarify:
        calculated["CalculatedBaselineStatistics"] = f"{output}/statistics.json"
    if register_new:
        used_constraints, used_statistics = calculated["CalculatedBaselineConstraints"], calculated.get("CalculatedBaselineStatistics")
    else:
        used_constraints, used_statistics = previous_constraints, previous_statistics
    properties: dict[str, Any] = {**calculated, "BaselineUsedForDriftCheckConstraints": used_constraints or ""}
    if not clarify:
        properties["BaselineUsedForDriftCheckStatistics"] = used_statistics or ""
    metadata_key = "ClarifyCheck" if clarify else "QualityCheck"
    metadata = {metadata_key: {
        "CheckType": check, **properties, "CheckJobArn": described.get("ProcessingJobArn"),
        "SkipCheck": skip, "RegisterNewBaseline": register_new,
        **({"ModelPackageGroupName": group} if group else {}),
    }}
    if not skip:
        report = f"{output}/constraint_violations.json"
        violations = (await runner.s3_json(report)).get("violations") or []
        if violations:
            metadata[metadata_key]["ViolationReport"] = report
            if fail_on_violation:
                first = violations[0]
                detail = first.get("description") or first.get("constraint_check_type") or ""
                raise StepFailure(
                    f"ClientError: {len(violations)} violation(s) of the {check} baseline "
                    f"{previous_constraints} found (report {report}); the first: {detail}", "ClientError", metadata)
    runner.succeed(step, metadata, properties)
