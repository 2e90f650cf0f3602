"""SageMaker: models, endpoint configs and endpoints.

The operations are a mixin of :class:`seedbed.services.sagemaker.provider.SageMakerProvider`.
"""

from __future__ import annotations

from typing import Any


class HostingOperations:
    backend: Any

    async def resume_hosting(self) -> None:
        """Pick up what a crash interrupted (called once at start-up)."""
