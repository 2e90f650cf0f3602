"""What the SDK's remote-function runner (``@step``, ``@remote``) needs from a local job: pip that
checks instead of installing, and shell scripts that see ``/opt/ml`` under the path shim."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from seedbed.services.sagemaker.jobs import contract, images

IMAGE = "236514542706.dkr.ecr.us-east-1.amazonaws.com/sagemaker-base-python-311:1.0"


def _training(environment: dict[str, str] | None = None) -> dict:
    request = {
        "TrainingJobName": "rf", "RoleArn": "arn:aws:iam::000000000000:role/r",
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                   "ContainerEntrypoint": ["/bin/bash", "/opt/ml/input/data/sagemaker_remote_function_bootstrap/job_driver.sh"],
                                   "ContainerArguments": ["--region", "us-east-1"]},
        "OutputDataConfig": {"S3OutputPath": "s3://b/out"}, "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "Environment": environment or {},
    }
    runtime = images.resolve(IMAGE)
    assert runtime is not None and runtime.runtime == "python"
    return contract.training(request, runtime, {"AWS_REGION": "us-east-1"}, "arn:j")


def test_jobs_run_pip_as_a_check_that_installs_nothing(tmp_path: Path) -> None:
    spec = _training({"PIP_INDEX_URL": "https://example.invalid/simple", "PIP_DRY_RUN": "0"})
    env = spec["env"]
    # The request's own Environment cannot turn installing back on.
    assert env["PIP_NO_INDEX"] == "1" and env["PIP_DRY_RUN"] == "1" and env["PIP_CONFIG_FILE"] == os.devnull
    assert spec["command"][:2] == ["/bin/bash", "/opt/ml/input/data/sagemaker_remote_function_bootstrap/job_driver.sh"]
    processing = contract.processing({
        "ProcessingJobName": "p", "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large"}},
        "AppSpecification": {"ImageUri": IMAGE, "ContainerEntrypoint": ["python3", "/opt/ml/processing/code/a.py"]},
    }, images.resolve(IMAGE), {}, "arn:p")  # type: ignore[arg-type]
    assert processing["env"]["PIP_DRY_RUN"] == "1"

    # What the SDK's bootstrap runs (pip install -r requirements.txt -U), in the job's environment.
    requirements = tmp_path / "requirements.txt"
    pip_env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
               **{k: v for k, v in env.items() if k.startswith("PIP_")}}
    requirements.write_text("sagemaker>=2.256.0,<3.0.0\n")
    ok = subprocess.run([sys.executable, "-m", "pip", "install", "-r", str(requirements), "-U"], check=False, env=pip_env,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "Requirement already satisfied: sagemaker" in ok.stdout
    requirements.write_text("seedbed-no-such-package-4711\n")
    missing = subprocess.run([sys.executable, "-m", "pip", "install", "-r", str(requirements), "-U"], check=False, env=pip_env,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "No matching distribution found for seedbed-no-such-package-4711" in missing.stderr


def test_shell_scripts_see_opt_ml_under_the_path_shim(tmp_path: Path) -> None:
    """The remote-function ``job_driver.sh`` pattern: the shell reads config with ``cat``, runs
    ``python /opt/ml/...`` (which opens its script before any shim), then sources a file that
    Python wrote under /opt/ml."""
    script = (
        "set -eu\n"
        "cat /opt/ml/input/config/resourceconfig.json\n"
        "python /opt/ml/input/data/scripts/write_env.py\n"
        "source /opt/ml/input/sm_training.env\n"
        "printf 'host=%s\\n' \"$SM_CURRENT_HOST\"\n"
    )
    writer = "open('/opt/ml/input/sm_training.env', 'w').write(\"export SM_CURRENT_HOST='algo-1'\\n\")\n"
    spec = {
        "work_dir": str(tmp_path), "sandbox": "shim", "dirs": ["input/data/scripts", "input/config"],
        "hosts": [{"name": "algo-1", "files": {"input/config/resourceconfig.json": json.dumps({"current_host": "algo-1"})}}],
        "files": {"input/data/scripts/job_driver.sh": script, "input/data/scripts/write_env.py": writer},
        "command": ["/bin/bash", "/opt/ml/input/data/scripts/job_driver.sh", "--region", "us-east-1"],
    }
    out = subprocess.run([sys.executable, "-m", "seedbed.runtime.jobs.container"], input=json.dumps(spec),
                         capture_output=True, text=True, check=True, timeout=120)
    lines = [line.split("\t", 1)[1] for line in out.stdout.splitlines() if "\t" in line]
    result = json.loads(out.stdout.rstrip("\n").split("\n")[-1][1:])
    assert result["exit_codes"] == [0], lines
    assert "\n".join(lines) == "{\"current_host\": \"algo-1\"}host=algo-1"  # cat, then the sourced variable
    # The job's own copy of the script is untouched; the mapped copy is the runner's.
    assert (tmp_path / "algo-1" / "input/data/scripts/job_driver.sh").read_text() == script


def test_the_job_user_is_root_under_either_sandbox(tmp_path: Path) -> None:
    """The remote-function bootstrap runs ``sudo chmod -R 777 ... /tmp`` for a non-root user; a
    local job is its container's root under the namespace (uid 0) and says so under the shim."""
    for sandbox in ("auto", "shim"):
        spec = {"work_dir": str(tmp_path / sandbox), "sandbox": sandbox, "hosts": [{"name": "algo-1"}],
                "command": [sys.executable, "-c", "import getpass; print('user', getpass.getuser())"]}
        out = subprocess.run([sys.executable, "-m", "seedbed.runtime.jobs.container"], input=json.dumps(spec),
                             capture_output=True, text=True, check=True, timeout=120)
        assert [line for line in out.stdout.splitlines() if line.startswith("0\tuser ")] == ["0\tuser root"], sandbox
