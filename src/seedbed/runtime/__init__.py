"""Running user code without Docker: SageMaker jobs, Lambda invocations, builds and model servers.

Each kind has its own subpackage; what they share (role credentials for the code they run, log
lines into CloudWatch Logs) lives here.
"""
