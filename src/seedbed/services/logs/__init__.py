"""CloudWatch Logs: log groups, streams, events, retention, filter patterns."""
