"""Credentials for code that a service runs under a role: a SageMaker job's execution role, a
Lambda function's role, a build's service role.

As on AWS, the service assumes the role (its trust policy must admit the service principal) and the
user code gets temporary credentials in the usual environment variables, with ``AWS_ENDPOINT_URL``
pointing back at Seedbed so that unmodified boto3 inside the code reaches it.

The SageMaker Python SDK in that code would also send usage telemetry straight to an AWS S3 host
(outside ``AWS_ENDPOINT_URL``): Seedbed runs no code that reaches AWS, so it hands the SDK an admin
defaults file that opts out (``SAGEMAKER_ADMIN_CONFIG_OVERRIDE``; a user's own SDK config still
applies on top of it) and names the default bucket (see :data:`DEFAULT_BUCKET`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seedbed.server.backend import Backend
    from seedbed.server.context import Principal


@dataclass(frozen=True)
class RoleSession:
    """Temporary credentials for a role, and the principal they resolve to."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    principal: Principal

    def environment(self, backend: Backend, region: str) -> dict[str, str]:
        """The variables user code needs to call Seedbed as this role."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
            "AWS_ENDPOINT_URL": backend.settings.endpoint_url,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(sdk_defaults(backend.settings.data_dir, self.principal.account_id, region)),
        }


SDK_DEFAULTS = """SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""

#: The SDK names its default bucket after the account it reads from STS at a fixed AWS address
#: (``https://sts.<region>.amazonaws.com``, which ``AWS_ENDPOINT_URL`` cannot redirect); the
#: defaults name the same bucket instead, so ``Session().default_bucket()`` works unchanged.
DEFAULT_BUCKET = """      Session:
        DefaultS3Bucket: sagemaker-{region}-{account}
"""


_written: set[Path] = set()


def sdk_defaults(data_dir: Path, account: str | None = None, region: str | None = None) -> Path:
    """The SageMaker SDK admin defaults file for code Seedbed runs, for the account and region
    it runs in when given (written once per process)."""
    scoped = bool(account and region)
    path = Path(data_dir) / (f"sagemaker-sdk-defaults-{account}-{region}.yaml" if scoped else "sagemaker-sdk-defaults.yaml")
    if path not in _written:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(SDK_DEFAULTS + (DEFAULT_BUCKET.format(account=account, region=region) if scoped else ""))
        tmp.replace(path)
        _written.add(path)
    return path


def assume_for_service(
    backend: Backend,
    role_arn: str,
    service_principal: str,
    session_name: str,
    duration: int = 3600,
    source_account: str | None = None,
    source_arn: str | None = None,
) -> RoleSession:
    """Assume ``role_arn`` as ``service_principal`` (e.g. ``lambda.amazonaws.com``); raises the
    STS ``AccessDenied`` ServiceError when the role's trust policy does not admit the service."""
    sts = backend.provider("sts")
    session = sts.assume_role_for_service(  # type: ignore[union-attr]
        role_arn, service_principal, session_name[:64], duration,
        source_account=source_account, source_arn=source_arn,
    )
    cred = backend.credentials.resolve(session.access_key_id)
    assert cred is not None, "a session STS just issued resolves"
    return RoleSession(session.access_key_id, session.secret_access_key, session.session_token, cred.principal)
