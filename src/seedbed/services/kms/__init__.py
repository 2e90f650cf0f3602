"""KMS: symmetric keys, aliases, key policies, rotation, and envelope encryption for other services.

Key material is stored only wrapped by the data dir's master key (``kms-master.key``, see
:mod:`~seedbed.services.kms.crypto`). Other services use KMS through
:mod:`~seedbed.services.kms.envelope`; IAM reads key policies through
:func:`seedbed.services.kms.policy.key_policy`.
"""
