"""`make demo` runs `seedbed demo`: it must finish cleanly and show the project it made."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import BIN


def test_demo_runs_the_walk_and_stops_its_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [str(BIN / "seedbed"), "demo", "--data-dir", str(tmp_path / "data")],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "arn:aws:iam::000000000000:root" in out
    assert "SignatureDoesNotMatch" in out
    assert "'ProjectStatus': 'CreateCompleted'" in out
    assert "Demo finished." in out
