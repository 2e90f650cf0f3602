"""SageMaker: the model registry: model package groups and model packages (issue #8)."""
