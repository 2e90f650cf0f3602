"""SageMaker: code repositories (CreateCodeRepository and its family) (issue #10)."""
