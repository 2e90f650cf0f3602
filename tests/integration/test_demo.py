"""`make demo` runs `seedbed demo`: the whole flow, phase by phase, ending with predictions and a
summary; with --no-keep it stops its server."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import BIN


def test_demo_runs_the_whole_flow_and_stops_its_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    env["COLUMNS"] = "200"
    data = tmp_path / "data"
    result = subprocess.run(
        [str(BIN / "seedbed"), "demo", "--no-keep", "--data-dir", str(data)],
        env=env, capture_output=True, text=True, timeout=600,
    )
    out = result.stdout
    assert result.returncode == 0, out[-4000:] + result.stderr[-3000:]
    for phase in ("seedbed bootstrap", "List the templates", "Create the project", "Model build",
                  "Registered model and its metrics", "Approve: deploy to staging", "Approve production",
                  "Invoke production", "CreateProject to the first production prediction"):
        assert phase in out, phase
    assert out.count("predicted") == 5
    assert "arn:aws:iam::000000000000:user/seedbed-data-scientist" in out
    assert "Demo finished." in out
    pid = json.loads((data / "server.json").read_text())["pid"]
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
