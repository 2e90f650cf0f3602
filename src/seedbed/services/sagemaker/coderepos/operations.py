"""SageMaker: code repositories (CreateCodeRepository and its family).

The operations are a mixin of :class:`seedbed.services.sagemaker.provider.SageMakerProvider`.
"""

from __future__ import annotations

from typing import Any


class CodeRepositoryOperations:
    backend: Any

    async def resume_coderepos(self) -> None:
        """Pick up what a crash interrupted (called once at start-up)."""
