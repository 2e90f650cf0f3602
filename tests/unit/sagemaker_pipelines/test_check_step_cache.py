"""A cached check step is taken over only when what decides its outcome is the same: its job's
arguments, and also its flags and the baseline it checks against."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.unit.sagemaker_pipelines.conftest import BUCKET, World


def _definition(role: str, **flags: Any) -> dict[str, Any]:
    job = {
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}},
        "AppSpecification": {"ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"},
        "RoleArn": role, "Environment": {"dataset_format": '{"csv": {"header": true}}', "output_path": "/opt/ml/processing/output"},
        "ProcessingInputs": [{"InputName": "baseline_dataset_input", "S3Input": {
            "S3Uri": f"s3://{BUCKET}/data/train.csv", "LocalPath": "/opt/ml/processing/input/baseline_dataset_input",
            "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "quality_check_output", "S3Output": {
            "S3Uri": f"s3://{BUCKET}/check", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]},
    }
    step = {"Name": "DataQuality", "Type": "QualityCheck", "Arguments": job, "CheckType": "DATA_QUALITY",
            "CacheConfig": {"Enabled": True, "ExpireAfter": "PT1H"}, **flags}
    return {"Version": "2020-12-01", "Parameters": [], "Steps": [step]}


def test_check_step_cache_covers_its_flags_and_baseline(world: World) -> None:
    async def main() -> None:
        await world.setup()
        first = {"SkipCheck": True, "RegisterNewBaseline": True}
        await world.create("Checked", _definition(world.role, **first))
        assert (await world.run("Checked"))["PipelineExecutionStatus"] == "Succeeded"
        assert (await world.run("Checked"))["PipelineExecutionStatus"] == "Succeeded"
        assert len(world.jobs.created) == 1  # the second run took the first one's result

        # Same job arguments, but now checked against a baseline: a new job, not the cached skip.
        baseline = f"s3://{BUCKET}/baseline/constraints.json"
        await world.call("PutObject", "s3", Bucket=BUCKET, Key="baseline/constraints.json", Body=json.dumps({"features": []}).encode())
        await world.call("PutObject", "s3", Bucket=BUCKET, Key="check/constraint_violations.json", Body=b'{"violations": []}')
        checked = {"SkipCheck": False, "RegisterNewBaseline": False, "SuppliedBaselineConstraints": baseline}
        await world.call("UpdatePipeline", PipelineName="Checked", PipelineDefinition=json.dumps(_definition(world.role, **checked)))
        done = await world.run("Checked")
        assert done["PipelineExecutionStatus"] == "Succeeded", done.get("FailureReason")
        assert len(world.jobs.created) == 2
        request = world.jobs.created[1][1]
        assert request["Environment"]["baseline_constraints"].endswith("constraints.json")

    asyncio.run(main())
