"""AWS Lambda: functions, versions, aliases, resource policies, tags, and invocations run in local
Python worker processes (:mod:`seedbed.runtime.lambda_`)."""
