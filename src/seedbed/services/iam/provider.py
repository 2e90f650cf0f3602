"""The IAM provider: every implemented IAM operation, assembled from its parts.

- :mod:`~seedbed.services.iam.entities`: users and access keys, groups, roles (trust policies,
  paths, session durations, tags, permissions boundaries), instance profiles, service-linked roles;
- :mod:`~seedbed.services.iam.policies`: inline policies, customer managed policies and their
  versions, AWS managed policies, attachments;
- :mod:`~seedbed.services.iam.simulate`: the policy simulator and GetAccountAuthorizationDetails.

Policy documents are validated by :mod:`seedbed.iam.document` (MalformedPolicyDocument with the
reason); every write tells the authorizer to recompile the policies it has cached.
"""

from __future__ import annotations

from seedbed.services.iam.common import (  # noqa: F401  (re-exported: the errors IAM raises)
    DeleteConflict,
    EntityAlreadyExists,
    LimitExceeded,
    MalformedPolicyDocument,
    NoSuchEntity,
)
from seedbed.services.iam.entities import EntityOperations
from seedbed.services.iam.policies import PolicyOperations
from seedbed.services.iam.simulate import SimulationOperations


class IamProvider(EntityOperations, PolicyOperations, SimulationOperations):
    service = "iam"
