"""SageMaker: processing, training and transform jobs run locally under the container contract.

The operations are a mixin of :class:`seedbed.services.sagemaker.provider.SageMakerProvider`.
"""

from __future__ import annotations

from typing import Any


class JobOperations:
    backend: Any

    async def resume_jobs(self) -> None:
        """Pick up what a crash interrupted (called once at start-up)."""
