"""Network types with no local meaning, recorded declaratively.

A VPC, subnet, security group, route table, VPC endpoint or NAT gateway does nothing on one
machine, but templates reference them (a subnet's ``VpcId``, a policy's ``aws:SourceVpce``). These
types are *declarative*: creating one only records it in the stack, with an id in AWS's format
(``vpc-0a1b...``) and the attributes the schema promises, so ``Ref`` and ``Fn::GetAtt`` work and
updates and deletes behave. No traffic is filtered or routed. :func:`vpc_endpoints` lists the
recorded endpoint ids, for IAM condition keys such as ``aws:SourceVpce``.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from seedbed.cloudformation.types import Provisioned, ResourceContext, ResourceType, resource_type

if TYPE_CHECKING:
    from seedbed.server.backend import Backend


def _hex(ctx: ResourceContext, salt: str = "", length: int = 17) -> str:
    return hashlib.sha256(f"{ctx.request_token}{salt}".encode()).hexdigest()[:length]


def _id(prefix: str) -> Callable[[ResourceContext, dict[str, Any]], str]:
    return lambda ctx, props: f"{prefix}-{_hex(ctx)}"


def _vpc_attrs(ctx: ResourceContext, props: dict[str, Any], pid: str) -> dict[str, Any]:
    return {
        "VpcId": pid, "CidrBlock": props.get("CidrBlock", "10.0.0.0/16"),
        "CidrBlockAssociations": [f"vpc-cidr-assoc-{_hex(ctx, 'assoc')}"],
        "DefaultNetworkAcl": f"acl-{_hex(ctx, 'acl')}", "DefaultSecurityGroup": f"sg-{_hex(ctx, 'sg')}",
        "Ipv6CidrBlocks": [],
    }


def _subnet_attrs(ctx: ResourceContext, props: dict[str, Any], pid: str) -> dict[str, Any]:
    return {
        "SubnetId": pid, "VpcId": props.get("VpcId"), "CidrBlock": props.get("CidrBlock"),
        "AvailabilityZone": props.get("AvailabilityZone") or f"{ctx.region}a",
        "AvailabilityZoneId": f"use1-az{int(_hex(ctx, 'az', 2), 16) % 6 + 1}",
        "NetworkAclAssociationId": f"aclassoc-{_hex(ctx, 'aclassoc')}", "Ipv6CidrBlocks": [],
        "OutpostArn": "",
    }


def _sg_attrs(ctx: ResourceContext, props: dict[str, Any], pid: str) -> dict[str, Any]:
    return {"GroupId": pid, "Id": pid, "VpcId": props.get("VpcId") or f"vpc-{_hex(ctx, 'defaultvpc')}"}


def _endpoint_attrs(ctx: ResourceContext, props: dict[str, Any], pid: str) -> dict[str, Any]:
    service = str(props.get("ServiceName", ""))
    return {
        "Id": pid, "CreationTimestamp": "1970-01-01T00:00:00Z",
        "DnsEntries": [f"{pid}.{service.split('.')[-1]}.{ctx.region}.vpce.amazonaws.com"] if service else [],
        "NetworkInterfaceIds": [f"eni-{_hex(ctx, 'eni')}"],
    }


def _nat_attrs(ctx: ResourceContext, props: dict[str, Any], pid: str) -> dict[str, Any]:
    return {"NatGatewayId": pid, "EniId": f"eni-{_hex(ctx, 'eni')}", "AutoProvisionZones": "", "AutoScalingIps": "", "RouteTableId": ""}


def _eip_attrs(ctx: ResourceContext, props: dict[str, Any], pid: str) -> dict[str, Any]:
    raw = int(_hex(ctx, "ip", 8), 16)
    ip = str(ipaddress.IPv4Address(0x0A000000 | (raw & 0x00FFFFFF)))
    return {"PublicIp": ip, "AllocationId": f"eipalloc-{_hex(ctx, 'alloc')}"}


def _simple(key: str) -> Callable[[ResourceContext, dict[str, Any], str], dict[str, Any]]:
    return lambda ctx, props, pid: {key: pid}


#: type -> (physical id maker, attributes maker, Ref override)
DECLARATIVE: dict[str, tuple[Callable[..., str], Callable[..., dict[str, Any]]]] = {
    "AWS::EC2::VPC": (_id("vpc"), _vpc_attrs),
    "AWS::EC2::Subnet": (_id("subnet"), _subnet_attrs),
    "AWS::EC2::SecurityGroup": (_id("sg"), _sg_attrs),
    "AWS::EC2::SecurityGroupIngress": (_id("sgr"), _simple("Id")),
    "AWS::EC2::SecurityGroupEgress": (_id("sgr"), _simple("Id")),
    "AWS::EC2::RouteTable": (_id("rtb"), _simple("RouteTableId")),
    "AWS::EC2::Route": (lambda ctx, props: f"rtb-{_hex(ctx)}|{props.get('DestinationCidrBlock', '0.0.0.0/0')}", _simple("CidrBlock")),
    "AWS::EC2::SubnetRouteTableAssociation": (_id("rtbassoc"), _simple("Id")),
    "AWS::EC2::InternetGateway": (_id("igw"), _simple("InternetGatewayId")),
    "AWS::EC2::VPCGatewayAttachment": (lambda ctx, props: f"IGW|{props.get('VpcId')}", _simple("AttachmentType")),
    "AWS::EC2::VPCEndpoint": (_id("vpce"), _endpoint_attrs),
    "AWS::EC2::NatGateway": (_id("nat"), _nat_attrs),
    "AWS::EC2::EIP": (lambda ctx, props: _eip_attrs(ctx, props, "")["PublicIp"], _eip_attrs),
    "AWS::EC2::NetworkAcl": (_id("acl"), _simple("Id")),
    "AWS::EC2::NetworkAclEntry": (_id("aclentry"), _simple("Id")),
    "AWS::EC2::SubnetNetworkAclAssociation": (_id("aclassoc"), _simple("AssociationId")),
}


def _make(type_name: str, make_id: Callable[..., str], make_attrs: Callable[..., dict[str, Any]]) -> type[ResourceType]:
    class Declarative(ResourceType):
        __doc__ = f"{type_name}: recorded with generated ids (declarative, no local effect)."

        def intended_id(self, ctx: ResourceContext, props: dict[str, Any]) -> str | None:
            return make_id(ctx, props)

        async def create(self, ctx: ResourceContext, props: dict[str, Any]) -> Provisioned:
            pid = make_id(ctx, props)
            return Provisioned(pid, make_attrs(ctx, props, pid))

        async def update(self, ctx: ResourceContext, physical_id: str, old: dict[str, Any], new: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
            return {**attributes, **{k: v for k, v in make_attrs(ctx, new, physical_id).items() if k in ("CidrBlock", "VpcId")}}

        async def delete(self, ctx: ResourceContext, physical_id: str, props: dict[str, Any], attributes: dict[str, Any]) -> None:
            return None

    Declarative.type_name = type_name
    Declarative.__name__ = Declarative.__qualname__ = type_name.split("::")[-1]
    return Declarative


for _type, (_make_id, _make_attrs) in DECLARATIVE.items():
    resource_type(_make(_type, _make_id, _make_attrs))


def vpc_endpoints(backend: Backend, account: str, region: str) -> dict[str, dict[str, Any]]:
    """Recorded VPC endpoints of live stacks: id -> {VpcId, ServiceName} (for aws:SourceVpce)."""
    from sqlalchemy import and_, select

    from seedbed.services.cloudformation import store

    query = (
        select(store.resources.c.physical_id, store.resources.c.properties)
        .join(store.stacks, store.stacks.c.stack_id == store.resources.c.stack_id)
        .where(and_(store.resources.c.type == "AWS::EC2::VPCEndpoint", store.stacks.c.account_id == account,
                    store.stacks.c.region == region, store.resources.c.status.in_(("CREATE_COMPLETE", "UPDATE_COMPLETE"))))
    )
    with backend.db.connect() as conn:
        rows = list(conn.execute(query))
    return {r.physical_id: {"VpcId": (r.properties or {}).get("VpcId"), "ServiceName": (r.properties or {}).get("ServiceName")} for r in rows if r.physical_id}
