"""Secrets Manager: secrets with versions and staging labels, encrypted at rest through KMS.

Every secret value is sealed with its own KMS data key (``kms:GenerateDataKey`` with the context
``{"SecretARN", "SecretVersionId"}``, as AWS does), under the secret's KmsKeyId or
``alias/aws/secretsmanager``; the database holds only the sealed bytes and the wrapped data key.
Rotation is not implemented yet: RotateSecret answers a clear NotImplemented error.
"""
