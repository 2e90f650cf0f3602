"""Seedbed: SageMaker AI Projects with S3-based templates, and the AWS services they use, run locally."""

__version__ = "0.1.0"
