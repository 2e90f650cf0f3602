"""SageMaker: models, endpoint configs and endpoints (issue #9)."""
