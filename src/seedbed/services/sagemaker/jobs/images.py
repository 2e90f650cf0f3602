"""Which local runtime stands in for a SageMaker container image.

Image URIs are matched on the repository name and tag only, so the URI of any account, region or
partition domain (``683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1``,
``...amazonaws.com.cn/...``, a private mirror) finds the same runtime. A runtime says how the job
runs without the container:

- ``python``: a generic Python script runner. The container entry point is run as given, with any
  ``python``/``python3`` executable replaced by Seedbed's interpreter (which has scikit-learn,
  pandas, xgboost and the SageMaker SDK); training jobs follow the framework containers'
  ``sagemaker_program`` / ``sagemaker_submit_directory`` convention. Scikit-learn, PyTorch,
  TensorFlow, Hugging Face and MXNet framework images, the SDK's remote-function base images and
  SageMaker Distribution all map here (a script needing a library the environment lacks fails
  with its ImportError in the log).
- ``xgboost``: the built-in XGBoost algorithm (``sagemaker-xgboost`` and the legacy ``xgboost``
  repository) when no ``sagemaker_program`` is given, otherwise the framework mode of ``python``.
  The model is written in the format the image version writes: a pickled Booster for 0.90-x,
  1.0-1 and 1.2-1, ``Booster.save_model`` (UBJSON, the closest format that current XGBoost still
  writes and that every XGBoost >= 1.7 loads) for 1.3-1 and later.

- ``model-monitor``: the Model Monitor analyzer (``sagemaker-model-monitor-analyzer``), played by
  :mod:`seedbed.runtime.monitoring`; a processing job without a ContainerEntrypoint runs it (the
  image's own entry point), as ``DefaultModelMonitor.suggest_baseline`` and monitoring executions do.
- ``clarify``: the SageMaker Clarify processing image (``sagemaker-clarify-processing``), played by
  :mod:`seedbed.runtime.clarify`: bias metrics and Kernel SHAP from the job's
  ``analysis_config.json``, with predictions from a shadow endpoint the job creates and deletes, as
  ``SageMakerClarifyProcessor`` and pipeline ClarifyCheck steps run it.

Anything else (Spark, custom images) has no local runtime: the job fails
with a FailureReason that names the image. ``SEEDBED_JOB_IMAGES`` may add mappings as JSON
(``{"my-repo": "python"}``, matched on the repository name).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

#: Repository name (or prefix ending in "*") -> runtime.
REPOSITORIES: dict[str, str] = {
    "sagemaker-scikit-learn": "python",
    "sagemaker-xgboost": "xgboost",
    "xgboost": "xgboost",
    "pytorch-training": "python",
    "pytorch-inference": "python",
    "sagemaker-pytorch": "python",
    "tensorflow-training": "python",
    "tensorflow-inference": "python",
    "sagemaker-tensorflow*": "python",
    "huggingface-*": "python",
    "mxnet-training": "python",
    "mxnet-inference": "python",
    "sagemaker-base-python*": "python",
    "sagemaker-distribution*": "python",
    "sagemaker-data-science*": "python",
    "python": "python",
    "sagemaker-model-monitor-analyzer": "model-monitor",
    "sagemaker-clarify-processing": "clarify",
}

#: Runtime -> the entry point of its image, for requests that give none.
ENTRYPOINTS: dict[str, tuple[str, ...]] = {
    "model-monitor": ("python3", "-m", "seedbed.runtime.monitoring"),
    "clarify": ("python3", "-m", "seedbed.runtime.clarify"),
}

PICKLE_VERSIONS = ("0.72", "0.90", "1.0-1", "1.2-1")
_URI = re.compile(r"^(?:(?P<registry>[^/]+\.[^/]+|localhost(?::\d+)?)/)?(?P<repo>[^:@]+)(?::(?P<tag>[^@]+))?(?:@.*)?$")


@dataclass(frozen=True)
class ImageRuntime:
    """What the runner needs to know about an image."""

    image: str
    runtime: str
    repository: str
    tag: str
    #: xgboost only: "pickle" or "ubj" (see the module docstring).
    model_format: str = "ubj"
    #: The image's own entry point, when Seedbed plays it (see :data:`ENTRYPOINTS`).
    entrypoint: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, str]:
        return {"image": self.image, "runtime": self.runtime, "repository": self.repository,
                "tag": self.tag, "model_format": self.model_format}


def parse(image: str) -> tuple[str, str]:
    """(repository name, tag) of an image URI; the repository's last path segment only."""
    match = _URI.match(image.strip())
    if match is None:
        return image, "latest"
    repo = match.group("repo").rsplit("/", 1)[-1]
    return repo, match.group("tag") or "latest"


def _table() -> dict[str, str]:
    extra = os.environ.get("SEEDBED_JOB_IMAGES")
    if not extra:
        return REPOSITORIES
    try:
        return {**REPOSITORIES, **{str(k): str(v) for k, v in json.loads(extra).items()}}
    except (ValueError, AttributeError):
        return REPOSITORIES


def resolve(image: str) -> ImageRuntime | None:
    """The local runtime for ``image``, or None when Seedbed has none."""
    repo, tag = parse(image)
    table = _table()
    runtime = table.get(repo)
    if runtime is None:
        for pattern, name in table.items():
            if pattern.endswith("*") and repo.startswith(pattern[:-1]):
                runtime = name
                break
    if runtime is None:
        return None
    model_format = "pickle" if any(tag.startswith(v) for v in PICKLE_VERSIONS) else "ubj"
    return ImageRuntime(image, runtime, repo, tag, model_format, ENTRYPOINTS.get(runtime, ()))


def no_runtime_reason(image: str) -> str:
    repo, tag = parse(image)
    return (
        f"ClientError: Seedbed has no local runtime for the image {image} (repository {repo}, tag {tag}). "
        "Jobs run without Docker on local runtimes for the scikit-learn, XGBoost, PyTorch/TensorFlow "
        "(generic Python) and SDK remote-function images; map other repositories with SEEDBED_JOB_IMAGES."
    )
