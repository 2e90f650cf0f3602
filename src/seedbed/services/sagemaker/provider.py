"""The SageMaker API: one provider composed of one class per area.

Today: domains and user profiles (:mod:`.domains`), tags on every SageMaker ARN (:mod:`.tags`) and
projects from S3 templates (:mod:`.projects`); the template catalog is :mod:`.catalog`. Pipelines,
jobs, the model registry and hosting join as further mixins.
"""

from __future__ import annotations

import asyncio
from typing import Any

from seedbed.services.base import Provider
from seedbed.services.sagemaker.domains import DomainOperations
from seedbed.services.sagemaker.projects import ProjectOperations
from seedbed.services.sagemaker.tags import TagOperations


class SageMakerProvider(DomainOperations, TagOperations, ProjectOperations, Provider):
    service = "sagemaker"

    def __init__(self, backend: Any) -> None:
        super().__init__(backend)
        self._watchers: dict[str, asyncio.Task[None]] = {}
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:  # loaded by a request: follow what a crashed process left running
            loop.create_task(self.resume_projects())

    def close(self) -> None:
        for task in list(self._watchers.values()):
            task.cancel()
