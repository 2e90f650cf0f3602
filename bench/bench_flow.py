"""The whole flow on the reference build-train-deploy template, as `make demo` runs it.

Measured on a fresh server after `seedbed bootstrap`, with the data scientist's credentials:

- CreateProject to CreateCompleted for the reference build-train-deploy template (repositories
  from S3 seed code, build projects, pipelines, event rules), median of ``ROUNDS`` projects, each
  created after the previous one's first model build finished (issue 6's target: under 1 s);
- CreateProject to the first production prediction: the model-build pipeline (processing,
  XGBoost training, evaluation, registration), approval, the deploy pipeline to a staging
  endpoint, the manual approval and the production endpoint (issue 11's target: under 60 s).

The baseline is AWS itself, which cannot run here: the same flow there takes tens of minutes
(each job waits minutes for an instance, each endpoint about five to ten minutes to come up), so
the figures are printed beside their targets.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import boto3

from bench.harness import start_seedbed
from seedbed.cli.bootstrap import run_bootstrap
from seedbed.cli.flow import Flow
from seedbed.cli.templates import Clients

ROUNDS = 5
CREATE_TARGET_S = 1.0
FLOW_TARGET_S = 60.0


def run(rounds: int = ROUNDS) -> dict[str, Any]:
    server, creds = start_seedbed()
    try:
        endpoint = f"http://127.0.0.1:{server.port}"
        admin = Clients(endpoint, creds["region"], boto3.Session(
            aws_access_key_id=creds["aws_access_key_id"], aws_secret_access_key=creds["aws_secret_access_key"]))
        setup = run_bootstrap(admin, server.data_dir)
        key = json.loads((server.data_dir / "data-scientist.json").read_text())
        scientist = Clients(endpoint, creds["region"], boto3.Session(
            aws_access_key_id=key["aws_access_key_id"], aws_secret_access_key=key["aws_secret_access_key"]))

        flow = Flow(scientist, setup.roles["Launch"], setup.domain_id, lambda text: None)
        started = time.monotonic()
        result = flow.run("bench-flow")
        whole = time.monotonic() - started - sum(s for name, s in result.timings if name == "List the templates")

        template = flow.pick_template()
        creates = []
        for index in range(rounds):
            probe = Flow(scientist, setup.roles["Launch"], setup.domain_id, lambda text: None)
            begin = time.monotonic()
            probe.create_project(f"bench-create-{index}", template)
            creates.append(time.monotonic() - begin)
            probe.wait_model_build()  # the project's first build, so the next create starts on a quiet machine
    finally:
        server.stop()
    create = statistics.median(creates)
    print("Projects: the whole flow on the reference build-train-deploy template (AWS: tens of minutes)")
    for name, seconds in result.timings:
        print(f"  {name:<58} {seconds:6.1f} s")
    print(f"  CreateProject to the first production prediction         {whole:6.1f} s   "
          f"(target < {FLOW_TARGET_S:.0f} s: {'OK' if whole < FLOW_TARGET_S else 'OVER TARGET'}, "
          f"{whole / FLOW_TARGET_S:.2f}x of the target)")
    print(f"  CreateProject to CreateCompleted, median of {rounds}            {create:6.2f} s   "
          f"(target < {CREATE_TARGET_S:.0f} s: {'OK' if create < CREATE_TARGET_S else 'OVER TARGET'}; "
          f"min {min(creates):.2f}, max {max(creates):.2f})")
    return {"flow_s": whole, "create_median_s": create}


if __name__ == "__main__":
    run()
