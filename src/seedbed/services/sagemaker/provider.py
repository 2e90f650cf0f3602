"""The SageMaker API: one provider composed of one class per area.

Domains and user profiles (:mod:`.domains`), tags on every SageMaker ARN (:mod:`.tags`), projects
from S3 templates (:mod:`.projects`, with the template catalog in :mod:`.catalog`), the model
registry (:mod:`.registry`), processing/training/transform jobs (:mod:`.jobs`), hyperparameter
tuning jobs (:mod:`.tuning`), pipelines
(:mod:`.pipelines`), hosting (:mod:`.hosting`), code repositories (:mod:`.coderepos`) and model
monitoring (:mod:`.monitoring`). Each area
is a package with its operations mixin, its own tables and its CloudFormation resource types.
"""

from __future__ import annotations

import asyncio
from typing import Any

from seedbed.services.base import Provider
from seedbed.services.sagemaker.coderepos.operations import CodeRepositoryOperations
from seedbed.services.sagemaker.domains import DomainOperations
from seedbed.services.sagemaker.hosting.operations import HostingOperations
from seedbed.services.sagemaker.jobs.operations import JobOperations
from seedbed.services.sagemaker.monitoring.operations import MonitoringOperations
from seedbed.services.sagemaker.pipelines.operations import PipelineOperations
from seedbed.services.sagemaker.projects import ProjectOperations
from seedbed.services.sagemaker.registry.operations import ModelRegistryOperations
from seedbed.services.sagemaker.tags import TagOperations
from seedbed.services.sagemaker.tuning.operations import TuningOperations


class SageMakerProvider(
    DomainOperations,
    TagOperations,
    ProjectOperations,
    ModelRegistryOperations,
    JobOperations,
    TuningOperations,
    PipelineOperations,
    HostingOperations,
    CodeRepositoryOperations,
    MonitoringOperations,
    Provider,
):
    service = "sagemaker"

    def __init__(self, backend: Any) -> None:
        super().__init__(backend)
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._resumed = False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:  # loaded by a request: follow what a crashed process left running
            loop.create_task(self.resume())

    async def resume(self) -> None:
        """Follow what a crashed process left running: projects, jobs, pipelines, endpoints."""
        if self._resumed:
            return
        self._resumed = True
        await self.resume_projects()
        await self.resume_jobs()
        await self.resume_tuning()
        await self.resume_pipelines()
        await self.resume_hosting()
        await self.resume_registry()
        await self.resume_coderepos()
        await self.resume_monitoring()

    def close(self) -> None:
        for task in list(self._watchers.values()):
            task.cancel()
        for area in (JobOperations, PipelineOperations, HostingOperations, MonitoringOperations):
            closer = getattr(area, "close_area", None)
            if closer is not None:
                closer(self)
