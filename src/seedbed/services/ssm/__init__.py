"""SSM Parameter Store: String, StringList and SecureString parameters in ``/`` hierarchies, with
versions, labels, tiers and tags.

SecureString values are encrypted through KMS as the caller (key ``alias/aws/ssm`` unless the
parameter names one), bound to the encryption context ``{"PARAMETER_ARN": arn}`` as on AWS.
Parameter policies (expiration, notifications) are stored and returned but not acted on.
"""
