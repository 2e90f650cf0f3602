"""CloudTrail: the audit trail of every request, readable with LookupEvents."""
