"""SageMaker: SageMaker Pipelines: definitions, executions and the step interpreter.

The operations are a mixin of :class:`seedbed.services.sagemaker.provider.SageMakerProvider`.
"""

from __future__ import annotations

from typing import Any


class PipelineOperations:
    backend: Any

    async def resume_pipelines(self) -> None:
        """Pick up what a crash interrupted (called once at start-up)."""
