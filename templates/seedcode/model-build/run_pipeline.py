"""Upsert a SageMaker pipeline from a module's ``get_pipeline(**kwargs)``, start it and wait.

The model-build buildspec runs this on every push, so the pipeline definition in the repository
is always the one that runs. Exits non-zero when the execution does not succeed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--module-name", required=True, help="module with get_pipeline(**kwargs)")
    parser.add_argument("--role-arn", required=True, help="role the pipeline runs as")
    parser.add_argument("--tags", default="[]", help="JSON list of {Key, Value} for the pipeline")
    parser.add_argument("--kwargs", default="{}", help="JSON object of get_pipeline arguments")
    parser.add_argument("--no-wait", action="store_true", help="start and return at once")
    args = parser.parse_args()

    module = importlib.import_module(args.module_name)
    pipeline = module.get_pipeline(**json.loads(args.kwargs))
    print(f"Upserting pipeline {pipeline.name}")
    pipeline.upsert(role_arn=args.role_arn, tags=json.loads(args.tags))
    execution = pipeline.start()
    print(f"Started execution {execution.arn}")
    if args.no_wait:
        return 0
    try:
        execution.wait(delay=2, max_attempts=1800)
    except Exception as exc:  # the waiter raises when the execution fails
        print(f"The execution did not succeed: {exc}")
    steps = execution.list_steps()
    for step in reversed(steps):
        reason = f" ({step['FailureReason']})" if step.get("FailureReason") else ""
        print(f"  {step['StepName']}: {step['StepStatus']}{reason}")
    status = execution.describe()["PipelineExecutionStatus"]
    print(f"Execution {status}")
    return 0 if status == "Succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
