"""SageMaker: processing, training and transform jobs run locally under the container contract (issue #7)."""
