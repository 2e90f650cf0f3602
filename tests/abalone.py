"""The abalone model-build pipeline of the reference seed code (``templates/seedcode/model-build``),
importable from tests and benchmarks: they run exactly what a project's repository runs."""

from __future__ import annotations

import sys
from typing import Any

from seedbed.cli.bootstrap import SEED_CODE

MODEL_BUILD = SEED_CODE / "model-build"
MONITORED = SEED_CODE / "model-build-monitored"


def get_pipeline(**kwargs: Any) -> Any:
    """``pipelines.abalone.pipeline.get_pipeline(**kwargs)`` of the seed code."""
    if str(MODEL_BUILD) not in sys.path:
        sys.path.insert(0, str(MODEL_BUILD))
    from pipelines.abalone.pipeline import get_pipeline as build

    return build(**kwargs)


def get_monitored_pipeline(**kwargs: Any) -> Any:
    """``pipelines.abalone_monitored.pipeline.get_pipeline(**kwargs)``: the monitored build (the
    plain seed code plus its overlay, as the mm-clarify bundle combines them)."""
    if str(MODEL_BUILD) not in sys.path:
        sys.path.insert(0, str(MODEL_BUILD))
    import pipelines

    overlay = str(MONITORED / "pipelines")
    if overlay not in pipelines.__path__:
        pipelines.__path__.append(overlay)
    from pipelines.abalone_monitored.pipeline import get_pipeline as build

    return build(**kwargs)
