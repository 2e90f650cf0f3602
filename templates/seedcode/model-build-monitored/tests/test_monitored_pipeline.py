"""The monitored pipeline definition builds (run with `python -m pytest tests` in the repository)."""

import json
import os

from pipelines.abalone_monitored.pipeline import get_pipeline


def test_definition_adds_the_checks_and_registers_their_baselines() -> None:
    pipeline = get_pipeline(region=os.environ.get("AWS_REGION", "us-east-1"),
                            role="arn:aws:iam::000000000000:role/Example", default_bucket="example-bucket",
                            first_run=True)
    definition = json.loads(pipeline.definition())
    types = {step["Name"]: step["Type"] for step in definition["Steps"]}
    assert types["CheckDataQuality"] == "QualityCheck"
    assert types["CheckModelQuality"] == "QualityCheck"
    assert types["CheckDataBias"] == "ClarifyCheck"
    condition = next(step for step in definition["Steps"] if step["Name"] == "CheckAbaloneMSE")
    register = condition["Arguments"]["IfSteps"][0]["Arguments"]
    assert "ModelDataQuality" in register["DriftCheckBaselines"]
    assert "ModelDataQuality" in register["ModelMetrics"]
