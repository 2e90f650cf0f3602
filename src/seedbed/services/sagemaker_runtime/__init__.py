"""The SageMaker Runtime API: InvokeEndpoint and InvokeEndpointAsync against hosted endpoints."""
