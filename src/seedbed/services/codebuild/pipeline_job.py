"""How CodePipeline hands a build its artifacts.

CodePipeline's Build action calls ``StartBuild`` like any client (as the pipeline's role, so IAM
and the audit trail see it), with this context variable set for the duration of the call: the
build then takes its source from the input artifacts (type ``CODEPIPELINE``) and writes its output
artifacts where the pipeline says.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ArtifactLocation:
    name: str
    bucket: str
    key: str


@dataclass(frozen=True)
class PipelineJob:
    pipeline_name: str
    execution_id: str
    inputs: list[ArtifactLocation] = field(default_factory=list)
    outputs: list[ArtifactLocation] = field(default_factory=list)
    primary_source: str | None = None

    def to_json(self) -> dict:
        return {
            "pipeline": self.pipeline_name, "execution": self.execution_id, "primary": self.primary_source,
            "inputs": [a.__dict__ for a in self.inputs], "outputs": [a.__dict__ for a in self.outputs],
        }


CURRENT: ContextVar[PipelineJob | None] = ContextVar("codebuild_pipeline_job", default=None)
