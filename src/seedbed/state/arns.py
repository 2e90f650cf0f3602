"""The one place ARNs are built and taken apart."""

from __future__ import annotations

from dataclasses import dataclass

PARTITION = "aws"

#: Services whose ARNs carry no region (global services).
GLOBAL_SERVICES = frozenset({"iam", "sts", "s3", "organizations", "route53", "cloudfront"})


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def resource_type(self) -> str:
        for sep in ("/", ":"):
            if sep in self.resource:
                return self.resource.split(sep, 1)[0]
        return ""

    @property
    def resource_id(self) -> str:
        for sep in ("/", ":"):
            if sep in self.resource:
                return self.resource.split(sep, 1)[1]
        return self.resource


def build(service: str, resource: str, account: str = "", region: str = "") -> str:
    """``arn:aws:{service}:{region}:{account}:{resource}``; region is dropped for global services."""
    if service in GLOBAL_SERVICES:
        region = ""
    return str(Arn(PARTITION, service, region, account, resource))


def parse(arn: str) -> Arn:
    """Split an ARN; raises ValueError on anything that is not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2]:
        raise ValueError(f"not an ARN: {arn!r}")
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def iam(account: str, resource_type: str, name: str, path: str = "/") -> str:
    """IAM ARNs keep the path: ``arn:aws:iam::123:role/service-role/Name``."""
    return build("iam", f"{resource_type}{path}{name}", account)


def root(account: str) -> str:
    return build("iam", "root", account)


def assumed_role(account: str, role_name: str, session_name: str) -> str:
    return build("sts", f"assumed-role/{role_name}/{session_name}", account)


def sagemaker(account: str, region: str, resource_type: str, name: str) -> str:
    """SageMaker lower-cases names in ARNs."""
    return build("sagemaker", f"{resource_type}/{name.lower()}", account, region)
