"""Pipeline code the tests and benchmarks build with the SageMaker Python SDK and run on Seedbed."""
