"""IAM: users, roles and access keys (the API); the policy engine lives in ``seedbed.iam``."""
