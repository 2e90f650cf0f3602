"""CodePipeline's error codes (HTTP 400, as the model says)."""

from __future__ import annotations

from seedbed.errors import ServiceError


def _make(name: str, code: str) -> type[ServiceError]:
    return type(name, (ServiceError,), {"code": code})


Validation = _make("Validation", "ValidationException")
PipelineNameInUse = _make("PipelineNameInUse", "PipelineNameInUseException")
PipelineNotFound = _make("PipelineNotFound", "PipelineNotFoundException")
PipelineVersionNotFound = _make("PipelineVersionNotFound", "PipelineVersionNotFoundException")
PipelineExecutionNotFound = _make("PipelineExecutionNotFound", "PipelineExecutionNotFoundException")
PipelineExecutionNotStoppable = _make("PipelineExecutionNotStoppable", "PipelineExecutionNotStoppableException")
DuplicatedStopRequest = _make("DuplicatedStopRequest", "DuplicatedStopRequestException")
InvalidStructure = _make("InvalidStructure", "InvalidStructureException")
InvalidStageDeclaration = _make("InvalidStageDeclaration", "InvalidStageDeclarationException")
InvalidActionDeclaration = _make("InvalidActionDeclaration", "InvalidActionDeclarationException")
StageNotFound = _make("StageNotFound", "StageNotFoundException")
ActionNotFound = _make("ActionNotFound", "ActionNotFoundException")
InvalidApprovalToken = _make("InvalidApprovalToken", "InvalidApprovalTokenException")
ApprovalAlreadyCompleted = _make("ApprovalAlreadyCompleted", "ApprovalAlreadyCompletedException")
StageNotRetryable = _make("StageNotRetryable", "StageNotRetryableException")
NotLatestPipelineExecution = _make("NotLatestPipelineExecution", "NotLatestPipelineExecutionException")
Conflict = _make("Conflict", "ConflictException")
JobNotFound = _make("JobNotFound", "JobNotFoundException")
InvalidJobState = _make("InvalidJobState", "InvalidJobStateException")
ResourceNotFound = _make("ResourceNotFound", "ResourceNotFoundException")
InvalidArn = _make("InvalidArn", "InvalidArnException")
