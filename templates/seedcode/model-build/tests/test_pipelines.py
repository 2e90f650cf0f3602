"""The pipeline definition builds (run with `python -m pytest tests` in the repository)."""

import json
import os

from pipelines.abalone.pipeline import get_pipeline


def test_definition_has_the_four_steps() -> None:
    pipeline = get_pipeline(region=os.environ.get("AWS_REGION", "us-east-1"),
                            role="arn:aws:iam::000000000000:role/Example", default_bucket="example-bucket")
    steps = [step["Name"] for step in json.loads(pipeline.definition())["Steps"]]
    assert steps == ["PreprocessAbaloneData", "TrainAbaloneModel", "EvaluateAbaloneModel", "CheckAbaloneMSE"]
