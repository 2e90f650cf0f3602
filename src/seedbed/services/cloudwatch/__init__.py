"""CloudWatch metrics and metric alarms."""
