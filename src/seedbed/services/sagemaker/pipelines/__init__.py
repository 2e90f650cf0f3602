"""SageMaker: SageMaker Pipelines: definitions, executions and the step interpreter (issue #7)."""
