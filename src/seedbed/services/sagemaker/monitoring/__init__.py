"""SageMaker model monitoring (Model Monitor): job definitions, schedules, executions."""
