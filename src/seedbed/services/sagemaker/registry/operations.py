"""SageMaker: the model registry: model package groups and model packages.

The operations are a mixin of :class:`seedbed.services.sagemaker.provider.SageMakerProvider`.
"""

from __future__ import annotations

from typing import Any


class ModelRegistryOperations:
    backend: Any

    async def resume_registry(self) -> None:
        """Pick up what a crash interrupted (called once at start-up)."""
