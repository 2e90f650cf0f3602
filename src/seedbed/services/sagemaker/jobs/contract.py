"""The container contract, server side: a job request becomes the runner's spec
(:mod:`seedbed.runtime.jobs.container`): the ``/opt/ml`` layout, the config files, the ``SM_*``
environment, the inputs and outputs to stage, and the command that plays the image.

**No installs.** A job's Python is Seedbed's own interpreter (see :mod:`.images`), so a job must
never change it, and local jobs must not depend on the internet. Yet containers routinely run
``pip install``: the SDK's remote-function runner (``@step`` and ``@remote``) always ships a
requirements file (at least ``sagemaker>=2.256.0,<3``) that its bootstrap installs with
``pip install -r ... -U``, and framework processors and pre-execution commands do the same. Every
processing and training job therefore runs with pip configured (:data:`NO_INSTALL_ENV`, applied
after the request's own Environment) to check, not install: no index (``PIP_NO_INDEX``), no
configuration files (``PIP_CONFIG_FILE`` is the null device, so no site ``find-links`` either),
and ``PIP_DRY_RUN``. A requirement the interpreter already satisfies passes as "Requirement
already satisfied"; one it lacks fails the job with pip's own "No matching distribution found"
error in the log and the FailureReason. Conda environments (``job_conda_env``, ``.yml``
dependencies) need a ``conda`` or ``mamba`` on the machine's PATH; without one the job fails with
the SDK's "Neither conda nor mamba is installed" message, and with one it runs offline
(``CONDA_OFFLINE``), so only packages already in its cache can be used.

Kept free of heavy imports: it runs in the server process.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

from seedbed.services.sagemaker.jobs import instances
from seedbed.services.sagemaker.jobs.images import ImageRuntime

OPT_ML = "/opt/ml"
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")

#: pip in a job checks requirements against the interpreter and installs nothing (module docstring).
NO_INSTALL_ENV = {
    "PIP_NO_INDEX": "1", "PIP_DRY_RUN": "1", "PIP_CONFIG_FILE": os.devnull,
    "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "CONDA_OFFLINE": "true",
}

#: The hyperparameter SageMaker adds to each trial of a tuning job: its objective metric.
TUNING_OBJECTIVE = "_tuning_objective_metric"


class ContractError(Exception):
    """The request asks for something the local runtime cannot do (the job fails with this)."""


def rel(local_path: str, what: str) -> str:
    path = os.path.normpath(local_path)
    if path != OPT_ML and not path.startswith(OPT_ML + "/"):
        raise ContractError(f"{what} {local_path} must be under /opt/ml")
    return path[len(OPT_ML):].lstrip("/")


def pythonize(argv: list[str]) -> list[str]:
    """Any ``python``/``python3.x`` (bare or with a path) becomes Seedbed's interpreter."""
    if argv and _PYTHON.match(os.path.basename(argv[0])):
        return [sys.executable, *argv[1:]]
    return list(argv)


def host_names(count: int) -> list[str]:
    return [f"algo-{i + 1}" for i in range(max(1, count))]


def local_resources(instance_type: str | None) -> dict[str, int]:
    res = instances.resources(instance_type)
    return {"cpus": min(res.cpus, os.cpu_count() or 1), "gpus": 0, "memory_mb": res.memory_mb,
            "requested_cpus": res.cpus, "requested_gpus": res.gpus}


def _resource_config(hosts: list[str], current: str, instance_type: str) -> dict[str, Any]:
    return {
        "current_host": current, "current_instance_type": instance_type, "current_group_name": "homogeneousCluster",
        "hosts": hosts, "instance_groups": [{"instance_group_name": "homogeneousCluster",
                                             "instance_type": instance_type, "hosts": hosts}],
        "network_interface_name": "eth0",
    }


def _s3_input(source: dict[str, Any], path: str, **extra: Any) -> dict[str, Any]:
    return {"s3": source["S3Uri"], "path": path, "type": source.get("S3DataType") or "S3Prefix",
            "distribution": source.get("S3DataDistributionType") or "FullyReplicated", **extra}


# -- processing ------------------------------------------------------------------------------------


def processing(request: dict[str, Any], runtime: ImageRuntime, env: dict[str, str], arn: str) -> dict[str, Any]:
    cluster = request["ProcessingResources"]["ClusterConfig"]
    hosts = host_names(int(cluster.get("InstanceCount") or 1))
    app = request["AppSpecification"]
    entrypoint = list(app.get("ContainerEntrypoint") or runtime.entrypoint)
    if not entrypoint:
        raise ContractError(
            f"The image {runtime.image} runs its own entry point in a container; locally a processing job needs "
            "AppSpecification.ContainerEntrypoint (ScriptProcessor and the framework processors set it)"
        )
    inputs, outputs, dirs = [], [], ["output", "config"]
    for item in request.get("ProcessingInputs") or []:
        s3 = item.get("S3Input")
        if s3 is None:
            raise ContractError(f"ProcessingInput {item['InputName']}: DatasetDefinition (Athena, Redshift) inputs are not available locally")
        path = rel(s3["LocalPath"], f"ProcessingInput {item['InputName']} LocalPath")
        inputs.append(_s3_input(s3, path))
        dirs.append(path)
    for item in (request.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
        s3 = item.get("S3Output")
        if s3 is None:
            raise ContractError(f"ProcessingOutput {item['OutputName']}: FeatureStoreOutput is not available locally")
        path = rel(s3["LocalPath"], f"ProcessingOutput {item['OutputName']} LocalPath")
        outputs.append({"path": path, "s3": s3["S3Uri"]})
        dirs.append(path)
    job_config = {**request, "ProcessingJobArn": arn}
    job_config.pop("Tags", None)
    res = local_resources(cluster.get("InstanceType"))
    return {
        "kind": "ProcessingJob", "name": request["ProcessingJobName"], "hosts": [
            {"name": h, "files": {"config/resourceconfig.json": json.dumps(_resource_config(hosts, h, cluster.get("InstanceType", "")))}}
            for h in hosts
        ],
        "files": {"config/processingjobconfig.json": json.dumps(job_config, default=str)},
        "dirs": dirs, "inputs": inputs, "outputs": outputs,
        "command": pythonize(entrypoint + list(app.get("ContainerArguments") or [])),
        "env": {**env, **(request.get("Environment") or {}), **NO_INSTALL_ENV},
        "max_runtime": (request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds") or 86400,
        "resources": res, "instance_count": len(hosts),
    }


# -- training --------------------------------------------------------------------------------------


def decode_hp(value: str) -> Any:
    try:
        return json.loads(value)
    except (ValueError, TypeError):
        return value


def cli_args(hps: dict[str, Any]) -> list[str]:
    """The toolkit's ``to_cmd_args``: ``--name value`` per user hyperparameter, sorted."""
    out: list[str] = []
    for name in sorted(hps):
        value = hps[name]
        out += [f"--{name}", value if isinstance(value, str) else json.dumps(value) if isinstance(value, (list, dict)) else str(value)]
    return out


def training(request: dict[str, Any], runtime: ImageRuntime, env: dict[str, str], arn: str) -> dict[str, Any]:
    name = request["TrainingJobName"]
    algo = request["AlgorithmSpecification"]
    if algo.get("AlgorithmName"):
        raise ContractError(
            f"AlgorithmName {algo['AlgorithmName']}: algorithm resources and Marketplace algorithms are not available locally; give a TrainingImage"
        )
    resource = request["ResourceConfig"]
    instance_type = resource.get("InstanceType") or (resource.get("InstanceGroups") or [{}])[0].get("InstanceType", "ml.m5.large")
    count = int(resource.get("InstanceCount") or sum(g.get("InstanceCount", 1) for g in resource.get("InstanceGroups") or []) or 1)
    hosts = host_names(count)
    raw_hps: dict[str, str] = dict(request.get("HyperParameters") or {})
    decoded = {k: decode_hp(v) for k, v in raw_hps.items()}
    # The framework's own hyperparameters, and the one SageMaker adds to a tuning job's trials, are
    # not the script's arguments.
    user_hps = {k: v for k, v in decoded.items() if not k.startswith("sagemaker_") and k != TUNING_OBJECTIVE}
    program = decoded.get("sagemaker_program")
    submit = decoded.get("sagemaker_submit_directory")
    channels = request.get("InputDataConfig") or []
    data_config: dict[str, Any] = {}
    inputs, dirs = [], ["model", "output/data", "output/intermediate", "input/config", "code"]
    for channel in channels:
        ch = channel["ChannelName"]
        source = channel["DataSource"]
        if "S3DataSource" not in source:
            raise ContractError(f"Channel {ch}: only S3 data sources are available locally")
        inputs.append(_s3_input(source["S3DataSource"], f"input/data/{ch}"))
        dirs.append(f"input/data/{ch}")
        data_config[ch] = {
            "TrainingInputMode": "File", "S3DistributionType": source["S3DataSource"].get("S3DataDistributionType") or "FullyReplicated",
            "RecordWrapperType": channel.get("RecordWrapperType") or "None",
            **({"ContentType": channel["ContentType"]} if channel.get("ContentType") else {}),
            **({"CompressionType": channel["CompressionType"]} if channel.get("CompressionType") else {}),
        }
    if isinstance(submit, str) and submit.startswith("s3://"):
        inputs.append({"s3": submit, "path": "code", "type": "S3Prefix", "unpack": True})
    checkpoint = request.get("CheckpointConfig")
    outputs: list[dict[str, Any]] = []
    if checkpoint:
        path = rel(checkpoint.get("LocalPath") or "/opt/ml/checkpoints", "CheckpointConfig LocalPath")
        inputs.append({"s3": checkpoint["S3Uri"], "path": path, "type": "S3Prefix", "required": False})
        outputs.append({"path": path, "s3": checkpoint["S3Uri"], "on_stop": True})
        dirs.append(path)
    out_path = request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    model_uri = f"{out_path}/{name}/output/model.tar.gz"
    archives = [
        {"path": "model", "s3": model_uri, "on_stop": True},
        {"path": "output/data", "s3": f"{out_path}/{name}/output/output.tar.gz", "skip_empty": True, "on_stop": True},
    ]
    cwd = None
    if algo.get("ContainerEntrypoint"):
        command = pythonize(list(algo["ContainerEntrypoint"]) + list(algo.get("ContainerArguments") or []))
    elif program:
        script = f"{OPT_ML}/code/{program}"
        command = (["/bin/sh", script] if str(program).endswith(".sh") else [sys.executable, script]) + cli_args(user_hps)
        cwd = f"{OPT_ML}/code"
    elif runtime.runtime == "xgboost":
        command = [sys.executable, "-m", "seedbed.runtime.jobs.xgboost_algo"]
    else:
        raise ContractError(
            f"The image {runtime.image} has no local training entry point: give the estimator an entry_point "
            "(the sagemaker_program hyperparameter) or AlgorithmSpecification.ContainerEntrypoint"
        )
    res = local_resources(instance_type)
    module = os.path.splitext(os.path.basename(str(program)))[0] if program else ""
    base_env = {
        "SM_MODEL_DIR": f"{OPT_ML}/model", "SM_INPUT_DIR": f"{OPT_ML}/input", "SM_INPUT_CONFIG_DIR": f"{OPT_ML}/input/config",
        "SM_OUTPUT_DIR": f"{OPT_ML}/output", "SM_OUTPUT_DATA_DIR": f"{OPT_ML}/output/data",
        "SM_OUTPUT_INTERMEDIATE_DIR": f"{OPT_ML}/output/intermediate",
        "SM_CHANNELS": json.dumps(sorted(data_config)), "SM_HPS": json.dumps(user_hps),
        "SM_NUM_CPUS": str(res["cpus"]), "SM_NUM_GPUS": str(res["gpus"]), "SM_NUM_NEURONS": "0",
        "SM_HOSTS": json.dumps(hosts), "SM_NETWORK_INTERFACE_NAME": "eth0", "SM_CURRENT_INSTANCE_TYPE": instance_type,
        "SM_CURRENT_INSTANCE_GROUP": "homogeneousCluster", "SM_INPUT_DATA_CONFIG": json.dumps(data_config),
        "SM_USER_ENTRY_POINT": str(program or ""), "SM_MODULE_NAME": module, "SM_MODULE_DIR": str(submit or ""),
        "SM_USER_ARGS": json.dumps(cli_args(user_hps)), "SM_FRAMEWORK_PARAMS": json.dumps({k: v for k, v in decoded.items() if k.startswith("sagemaker_")}),
        "SM_LOG_LEVEL": "20", "SM_MASTER_ADDR": hosts[0], "SM_MASTER_PORT": "7777",
        "TRAINING_JOB_NAME": name, "TRAINING_JOB_ARN": arn, "SEEDBED_XGBOOST_MODEL_FORMAT": runtime.model_format,
        "PYTHONPATH": f"{OPT_ML}/code",
    }
    for ch in data_config:
        base_env[f"SM_CHANNEL_{ch.upper()}"] = f"{OPT_ML}/input/data/{ch}"
    for key, value in user_hps.items():
        base_env[f"SM_HP_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    host_specs = []
    for index, host in enumerate(hosts):
        rc = _resource_config(hosts, host, instance_type)
        training_env = {
            "channel_input_dirs": {ch: f"{OPT_ML}/input/data/{ch}" for ch in data_config}, "current_host": host,
            "current_instance_type": instance_type, "hosts": hosts, "hyperparameters": user_hps,
            "input_config_dir": f"{OPT_ML}/input/config", "input_data_config": data_config, "input_dir": f"{OPT_ML}/input",
            "is_master": index == 0, "job_name": name, "log_level": 20, "master_hostname": hosts[0],
            "model_dir": f"{OPT_ML}/model", "module_dir": submit or "", "module_name": module,
            "network_interface_name": "eth0", "num_cpus": res["cpus"], "num_gpus": res["gpus"], "num_neurons": 0,
            "output_data_dir": f"{OPT_ML}/output/data", "output_dir": f"{OPT_ML}/output",
            "output_intermediate_dir": f"{OPT_ML}/output/intermediate", "resource_config": rc,
            "user_entry_point": program or "", "framework_module": None, "additional_framework_parameters": {},
        }
        host_specs.append({
            "name": host,
            "env": {"SM_CURRENT_HOST": host, "SM_RESOURCE_CONFIG": json.dumps(rc), "SM_TRAINING_ENV": json.dumps(training_env),
                    "SM_IS_MASTER": "true" if index == 0 else "false"},
            "files": {"input/config/resourceconfig.json": json.dumps(rc)},
        })
    files = {
        "input/config/hyperparameters.json": json.dumps(raw_hps),
        "input/config/inputdataconfig.json": json.dumps(data_config),
    }
    if checkpoint:
        files["input/config/checkpointconfig.json"] = json.dumps(checkpoint)
    return {
        "kind": "TrainingJob", "name": name, "hosts": host_specs, "files": files, "dirs": dirs, "inputs": inputs,
        "outputs": outputs, "archives": archives, "command": command, "cwd": cwd,
        "env": {**env, **base_env, **(request.get("Environment") or {}), **NO_INSTALL_ENV},
        "max_runtime": (request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds") or 86400,
        "resources": res, "instance_count": len(hosts), "model_uri": model_uri,
    }


# -- transform -------------------------------------------------------------------------------------


def transform(request: dict[str, Any], container: dict[str, Any], runtime: ImageRuntime, env: dict[str, str]) -> dict[str, Any]:
    """``container`` is the model's container (Image, ModelDataUrl, Environment)."""
    source = request["TransformInput"]["DataSource"].get("S3DataSource")
    if source is None:
        raise ContractError("TransformInput: only S3 data sources are available locally")
    resources = request["TransformResources"]
    hosts = host_names(int(resources.get("InstanceCount") or 1))
    model_env = dict(container.get("Environment") or {})
    inputs = [{**_s3_input(source, "transform/input"), "distribution": "ShardedByS3Key"}]
    model_data = container.get("ModelDataUrl") or (((container.get("ModelDataSource") or {}).get("S3DataSource") or {}).get("S3Uri"))
    if model_data:
        inputs.append({"s3": model_data, "path": "model", "type": "S3Prefix", "unpack": model_data.endswith((".tar.gz", ".tgz"))})
    submit = model_env.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    if submit.startswith("s3://"):
        inputs.append({"s3": submit, "path": "code", "type": "S3Prefix", "unpack": True})
    tin, tout = request["TransformInput"], request["TransformOutput"]
    processing_cfg = request.get("DataProcessing") or {}
    config = {
        "runtime": runtime.runtime, "content_type": tin.get("ContentType"), "split_type": tin.get("SplitType"),
        "batch_strategy": request.get("BatchStrategy"), "assemble_with": tout.get("AssembleWith"), "accept": tout.get("Accept"),
        "max_payload_mb": request.get("MaxPayloadInMB"), "input_filter": processing_cfg.get("InputFilter"),
        "output_filter": processing_cfg.get("OutputFilter"), "join_source": processing_cfg.get("JoinSource"),
    }
    res = local_resources(resources.get("InstanceType"))
    return {
        "kind": "TransformJob", "name": request["TransformJobName"], "hosts": [{"name": h} for h in hosts],
        "dirs": ["model", "code", "transform/input", "transform/output", "output"], "inputs": inputs,
        "outputs": [{"path": "transform/output", "s3": tout["S3OutputPath"]}],
        "command": [sys.executable, "-m", "seedbed.runtime.jobs.transform"],
        "env": {**env, **model_env, **(request.get("Environment") or {}), "SEEDBED_TRANSFORM": json.dumps(config),
                "SEEDBED_XGBOOST_MODEL_FORMAT": runtime.model_format},
        "max_runtime": 86400, "resources": res, "instance_count": len(hosts),
    }
