"""The local SageMaker Clarify runtime."""
