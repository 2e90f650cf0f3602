"""The pieces of local SageMaker jobs without a server: image mapping, the container contract,
the runner with its /opt/ml sandbox and path shim, metrics, transform filters."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from seedbed.runtime.jobs import container, shim_site, transform
from seedbed.services.sagemaker.jobs import contract, images, instances
from seedbed.services.sagemaker.jobs.metrics import MetricReader, xgboost_definitions


def test_images_match_on_repository_and_tag_in_any_account_or_region() -> None:
    xgb = images.resolve("246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1")
    assert xgb is not None and xgb.runtime == "xgboost" and xgb.model_format == "ubj"
    legacy = images.resolve("811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1")
    assert legacy is not None and legacy.runtime == "xgboost"
    old = images.resolve("683313688378.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.0-1-cpu-py3")
    assert old is not None and old.model_format == "pickle"
    sk = images.resolve("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3")
    assert sk is not None and sk.runtime == "python"
    assert images.resolve("763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:2.1-cpu-py310").runtime == "python"  # type: ignore[union-attr]
    assert images.resolve("236514542706.dkr.ecr.us-east-1.amazonaws.com/sagemaker-base-python-310:1.0") is not None
    assert images.resolve("173754725891.dkr.ecr.us-east-1.amazonaws.com/sagemaker-spark-processing:3.3") is None
    assert "sagemaker-spark-processing" in images.no_runtime_reason("x.dkr.ecr.us-east-1.amazonaws.com/sagemaker-spark-processing:3.3")


def test_instance_types_map_to_resources() -> None:
    assert instances.resources("ml.m5.xlarge") == instances.Resources(4, 16384, 0)
    assert instances.resources("ml.g4dn.xlarge").gpus == 1
    assert instances.resources("ml.m6i.8xlarge").cpus == 32


def test_training_contract_sets_the_framework_environment() -> None:
    runtime = images.resolve("x.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3")
    assert runtime is not None
    request = {
        "TrainingJobName": "j", "AlgorithmSpecification": {"TrainingImage": runtime.image, "TrainingInputMode": "File"},
        "HyperParameters": {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": '"s3://b/src/sourcedir.tar.gz"',
                            "alpha": "0.5", "layers": "[1, 2]", "name": '"abc"',
                            "_tuning_objective_metric": "validation:rmse"},  # added to tuning trials, not an argument
        "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv",
                             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/train"}}}],
        "OutputDataConfig": {"S3OutputPath": "s3://b/out/"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 1},
    }
    spec = contract.training(request, runtime, {"AWS_REGION": "us-east-1"}, "arn:j")
    env = spec["env"]
    assert spec["command"] == [sys.executable, "/opt/ml/code/train.py", "--alpha", "0.5", "--layers", "[1, 2]", "--name", "abc"]
    assert spec["cwd"] == "/opt/ml/code" and spec["model_uri"] == "s3://b/out/j/output/model.tar.gz"
    assert env["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train" and json.loads(env["SM_CHANNELS"]) == ["train"]
    assert json.loads(env["SM_HPS"]) == {"alpha": 0.5, "layers": [1, 2], "name": "abc"}
    assert env["SM_HP_ALPHA"] == "0.5" and env["SM_HP_NAME"] == "abc" and env["SM_MODEL_DIR"] == "/opt/ml/model"
    assert json.loads(env["SM_HOSTS"]) == ["algo-1", "algo-2"] and env["SM_NUM_GPUS"] == "0"
    hosts = spec["hosts"]
    assert [h["env"]["SM_CURRENT_HOST"] for h in hosts] == ["algo-1", "algo-2"]
    assert json.loads(hosts[1]["env"]["SM_TRAINING_ENV"])["is_master"] is False
    assert json.loads(hosts[1]["files"]["input/config/resourceconfig.json"])["current_host"] == "algo-2"
    assert json.loads(spec["files"]["input/config/inputdataconfig.json"])["train"]["ContentType"] == "text/csv"
    assert {"s3": "s3://b/src/sourcedir.tar.gz", "path": "code", "type": "S3Prefix", "unpack": True} in spec["inputs"]


def test_processing_paths_must_be_under_opt_ml() -> None:
    runtime = images.resolve("x/sagemaker-scikit-learn:1.2-1-cpu-py3")
    request = {"ProcessingJobName": "p", "AppSpecification": {"ImageUri": "x", "ContainerEntrypoint": ["/usr/bin/python3", "a.py"]},
               "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.t3.medium", "VolumeSizeInGB": 1}},
               "ProcessingInputs": [{"InputName": "i", "S3Input": {"S3Uri": "s3://b/k", "LocalPath": "/data/in"}}]}
    with pytest.raises(contract.ContractError, match="must be under /opt/ml"):
        contract.processing(request, runtime, {}, "arn")  # type: ignore[arg-type]
    request["ProcessingInputs"] = []
    assert contract.processing(request, runtime, {}, "arn")["command"] == [sys.executable, "a.py"]  # type: ignore[arg-type]


def test_s3_object_names_under_a_prefix() -> None:
    assert container.relative_name("data/train", "data/train/a.csv") == "a.csv"
    assert container.relative_name("data/train/", "data/train/sub/a.csv") == "sub/a.csv"
    assert container.relative_name("data/train.csv", "data/train.csv") == "train.csv"
    assert container.relative_name("data/tr", "data/train/a.csv") == "train/a.csv"


def test_metric_definitions_read_the_xgboost_log() -> None:
    reader = MetricReader(xgboost_definitions() + [{"Name": "bad", "Regex": "(["}])
    when = datetime.now(UTC)
    reader.feed("[0]#011train-rmse:3.10000#011validation-rmse:3.2", when)
    reader.feed("[1]#011train-rmse:2.5#011validation-rmse:2.75", when)
    values = {m["MetricName"]: m["Value"] for m in reader.final()}
    assert values == {"train:rmse": 2.5, "validation:rmse": 2.75}


def test_transform_filters() -> None:
    assert transform.select(["1", "2", "3"], "$[1:]") == ["2", "3"]
    assert transform.select(["1", "2", "3"], "$[0,-1]") == ["1", "3"]
    assert transform.select({"a": {"b": 1}}, "$.a.b") == 1
    assert transform.batches(["aa", "bb", "cc"], "MultiRecord", 6) == [["aa", "bb"], ["cc"]]


def test_shim_maps_opt_ml_paths(tmp_path: Path) -> None:
    assert shim_site.map_text("--model-dir=/opt/ml/model", "/x") == "--model-dir=/x/model"
    assert shim_site.map_text("/opt/mlflow", "/x") == "/opt/mlflow"
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "a.txt").write_text("hello")
    code = ("import os, pathlib; print(open('/opt/ml/input/a.txt').read(), os.listdir('/opt/ml/input'), "
            "pathlib.Path('/opt/ml/input/a.txt').exists()); os.makedirs('/opt/ml/model/sub'); "
            "pathlib.Path('/opt/ml/model/sub/m').write_text('m')")
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    (shim_dir / "sitecustomize.py").write_text(Path(shim_site.__file__).read_text())
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(shim_dir), "SEEDBED_OPT_ML": str(tmp_path)})
    assert out.stdout.split() == ["hello", "['a.txt']", "True"]
    assert (tmp_path / "model" / "sub" / "m").read_text() == "m"


def run_runner(spec: dict) -> tuple[list[str], dict]:  # type: ignore[type-arg]
    out = subprocess.run([sys.executable, "-m", "seedbed.runtime.jobs.container"], input=json.dumps(spec),
                         capture_output=True, text=True, check=True, timeout=120)
    lines = out.stdout.rstrip("\n").split("\n")
    result = json.loads(lines[-1][1:])
    return [line.split("\t", 1)[1] for line in lines if "\t" in line], result


@pytest.mark.parametrize("sandbox", ["auto", "shim"])
def test_runner_gives_each_instance_its_opt_ml(tmp_path: Path, sandbox: str) -> None:
    code = ("import json; c = json.load(open('/opt/ml/input/config/resourceconfig.json')); "
            "open('/opt/ml/model/who', 'w').write(c['current_host']); print('host', c['current_host'])")
    hosts = [{"name": f"algo-{i}", "files": {"input/config/resourceconfig.json": json.dumps({"current_host": f"algo-{i}"})}} for i in (1, 2)]
    spec = {"work_dir": str(tmp_path), "hosts": hosts, "dirs": ["model"], "command": [sys.executable, "-c", code], "sandbox": sandbox}
    lines, result = run_runner(spec)
    assert result["exit_codes"] == [0, 0] and sorted(lines) == ["host algo-1", "host algo-2"]  # no shim notice
    assert (tmp_path / "algo-2" / "model" / "who").read_text() == "algo-2"


def test_runner_reports_failure_file_and_max_runtime(tmp_path: Path) -> None:
    code = "open('/opt/ml/output/failure', 'w').write('nope'); raise SystemExit(4)"
    spec = {"work_dir": str(tmp_path / "a"), "hosts": [{"name": "algo-1"}], "dirs": ["output"], "command": [sys.executable, "-c", code]}
    _, result = run_runner(spec)
    assert result["exit_codes"] == [4] and result["failure"] == "nope"
    spec = {"work_dir": str(tmp_path / "b"), "hosts": [{"name": "algo-1"}], "command": [sys.executable, "-c", "import time; time.sleep(30)"],
            "max_runtime": 1, "stop_grace": 1}
    _, result = run_runner(spec)
    assert result["timed_out"] is True and result["exit_codes"] != [0]


def test_xgboost_algorithm_and_batch_transform_in_the_runner(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((200, 3))
    data = np.column_stack([x @ [3.0, 1.0, 2.0], x])
    host = tmp_path / "algo-1"
    (host / "input" / "data" / "train").mkdir(parents=True)
    np.savetxt(host / "input" / "data" / "train" / "train.csv", data, delimiter=",")
    files = {"input/config/hyperparameters.json": json.dumps({"num_round": "5", "max_depth": "3", "eta": "0.5", "objective": "reg:squarederror"}),
             "input/config/inputdataconfig.json": json.dumps({"train": {"ContentType": "text/csv"}})}
    spec = {"work_dir": str(tmp_path), "hosts": [{"name": "algo-1"}], "files": files, "dirs": ["model", "output"],
            "command": [sys.executable, "-m", "seedbed.runtime.jobs.xgboost_algo"], "env": {"SEEDBED_XGBOOST_MODEL_FORMAT": "pickle"}}
    lines, result = run_runner(spec)
    assert result["exit_codes"] == [0], lines
    assert lines[-1].startswith("[4]#011train-rmse:")
    assert (host / "model" / "xgboost-model").read_bytes()[:1] == b"\x80"  # pickled, as 1.0-1 wrote it
    (host / "transform" / "input").mkdir(parents=True)
    np.savetxt(host / "transform" / "input" / "rows.csv", data[:10], delimiter=",")
    config = {"runtime": "xgboost", "content_type": "text/csv", "split_type": "Line", "assemble_with": "Line",
              "input_filter": "$[1:]", "join_source": "Input", "output_filter": "$[0,-1]"}
    spec = {"work_dir": str(tmp_path), "hosts": [{"name": "algo-1"}], "command": [sys.executable, "-m", "seedbed.runtime.jobs.transform"],
            "env": {"SEEDBED_TRANSFORM": json.dumps(config)}}
    lines, result = run_runner(spec)
    assert result["exit_codes"] == [0], lines
    rows = (host / "transform" / "output" / "rows.csv.out").read_text().splitlines()
    assert len(rows) == 10 and all(len(r.split(",")) == 2 for r in rows)
