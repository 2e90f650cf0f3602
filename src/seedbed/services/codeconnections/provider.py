"""CodeConnections and CodeStar Connections: connections, hosts and their tags.

Both botocore services (``codeconnections``, CBOR; ``codestar-connections``, JSON) share one store:
a connection made through either is read, listed and deleted through both. Seedbed's own git
server plays the provider (GitHub, Bitbucket, GitLab, GitHub Enterprise Server), so there is no
OAuth handshake: a new connection is ``AVAILABLE`` at once. Repositories behind a connection are
named ``owner/repo``, live in the connection's account and region, are created by their first push
and are cloned from ``<endpoint>/git-http/<account>/<region>/<connection-id>/<owner>/<repo>.git``
(AWS's own path on ``codestar-connections.<region>.amazonaws.com``). Repository links and sync
configurations are not implemented.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from seedbed.errors import ServiceError
from seedbed.server.context import RequestContext
from seedbed.services.base import Provider
from seedbed.services.codeconnections import store
from seedbed.state import arns, ids

MAX_TAGS = 200


def _not_found(what: str) -> ServiceError:
    return ServiceError(what, code="ResourceNotFoundException", status=400)


def _page(items: list[Any], params: dict[str, Any], default: int) -> tuple[list[Any], str | None]:
    start = 0
    if params.get("NextToken"):
        try:
            start = int(base64.b64decode(params["NextToken"]).decode())
        except (ValueError, UnicodeDecodeError):
            raise ServiceError("The next token is not valid.", code="ValidationException") from None
    end = start + int(params.get("MaxResults") or default)
    return items[start:end], (base64.b64encode(str(end).encode()).decode() if end < len(items) else None)


def clone_url(endpoint: str, connection: dict[str, Any], full_name: str) -> str:
    return (f"{endpoint}/git-http/{connection['account_id']}/{connection['region']}/"
            f"{connection['connection_id']}/{full_name}.git")


class CodeConnectionsProvider(Provider):
    service = "codeconnections"

    # -- plumbing ---------------------------------------------------------------------------------

    def _arn(self, row: dict[str, Any], kind: str = "connection") -> str:
        ident = row["connection_id"] if kind == "connection" else row["host_id"]
        return arns.build(row["service"], f"{kind}/{ident}", row["account_id"], row["region"])

    def connection_by_id(self, connection_id: str) -> dict[str, Any] | None:
        """For the git server: the connection (with its ``arn``), or None."""
        with self.backend.db.connect() as conn:
            row = store.get_connection(conn, connection_id)
        if row is not None:
            row["arn"] = self._arn(row)
        return row

    def _parse(self, ctx: RequestContext, arn: str, kind: str) -> str:
        try:
            parsed = arns.parse(arn)
        except ValueError:
            raise ServiceError(f"{arn} is not a valid ARN.", code="ValidationException") from None
        if (parsed.service not in ("codeconnections", "codestar-connections") or parsed.resource_type != kind
                or parsed.account != ctx.account_id or parsed.region != ctx.region):
            raise _not_found(f"Resource not found: {arn}")
        return parsed.resource_id

    def _connection(self, ctx: RequestContext, arn: str) -> dict[str, Any]:
        connection_id = self._parse(ctx, arn, "connection")
        with self.backend.db.connect() as conn:
            row = store.get_connection(conn, connection_id)
        if row is None or row["account_id"] != ctx.account_id or row["region"] != ctx.region:
            raise _not_found(f"Connection {arn} does not exist")
        ctx.resources.append(self._arn(row))
        return row

    def _host(self, ctx: RequestContext, arn: str) -> dict[str, Any]:
        host_id = self._parse(ctx, arn, "host")
        with self.backend.db.connect() as conn:
            row = store.get_host(conn, ctx.account_id, ctx.region, host_id)
        if row is None:
            raise _not_found(f"Host {arn} does not exist")
        return row

    def _connection_out(self, row: dict[str, Any]) -> dict[str, Any]:
        out = {
            "ConnectionName": row["name"], "ConnectionArn": self._arn(row), "ProviderType": row["provider_type"],
            "OwnerAccountId": row["account_id"], "ConnectionStatus": row["status"],
        }
        if row["host_arn"]:
            out["HostArn"] = row["host_arn"]
        return out

    @staticmethod
    def _check_tags(tags: list[dict[str, str]]) -> None:
        if len(tags) > MAX_TAGS:
            raise ServiceError(f"At most {MAX_TAGS} tags are allowed.", code="LimitExceededException")

    # -- connections ------------------------------------------------------------------------------

    def create_connection(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        provider_type = params.get("ProviderType")
        host_arn = params.get("HostArn")
        if host_arn:
            host = self._host(ctx, host_arn)
            provider_type = host["provider_type"]
        elif not provider_type:
            raise ServiceError("Either ProviderType or HostArn is required.", code="ValidationException")
        elif provider_type in ("GitHubEnterpriseServer", "GitLabSelfManaged"):
            raise ServiceError(f"A {provider_type} connection needs a HostArn.", code="ValidationException")
        tags = list(params.get("Tags") or [])
        self._check_tags(tags)
        row = {
            "connection_id": str(uuid.uuid4()), "account_id": ctx.account_id, "region": ctx.region,
            "service": self.service, "name": params["ConnectionName"], "provider_type": provider_type,
            "host_arn": host_arn, "status": "AVAILABLE", "tags": tags, "created": store.now(),
        }
        with self.backend.db.begin() as conn:
            store.add_connection(conn, **row)
        return {"ConnectionArn": self._arn(row), "Tags": tags}

    def get_connection(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Connection": self._connection_out(self._connection(ctx, params["ConnectionArn"]))}

    def list_connections(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = store.list_connections(conn, ctx.account_id, ctx.region)
        if params.get("ProviderTypeFilter"):
            rows = [r for r in rows if r["provider_type"] == params["ProviderTypeFilter"]]
        if params.get("HostArnFilter"):
            rows = [r for r in rows if r["host_arn"] == params["HostArnFilter"]]
        page, token = _page(rows, params, 50)
        return {"Connections": [self._connection_out(r) for r in page], **({"NextToken": token} if token else {})}

    def delete_connection(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._connection(ctx, params["ConnectionArn"])
        with self.backend.db.begin() as conn:
            store.remove_connection(conn, row["connection_id"])
        return {}

    # -- hosts ------------------------------------------------------------------------------------

    def create_host(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tags = list(params.get("Tags") or [])
        self._check_tags(tags)
        row = {
            "account_id": ctx.account_id, "region": ctx.region, "host_id": f"{params['Name']}-{ids.hex_id(8)}",
            "service": self.service, "name": params["Name"], "provider_type": params["ProviderType"],
            "endpoint": params["ProviderEndpoint"], "vpc": params.get("VpcConfiguration"),
            "status": "AVAILABLE", "tags": tags, "created": store.now(),
        }
        with self.backend.db.begin() as conn:
            store.add_host(conn, **row)
        return {"HostArn": self._arn(row, "host"), "Tags": tags}

    def _host_out(self, row: dict[str, Any], with_arn: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"Name": row["name"], "Status": row["status"], "ProviderType": row["provider_type"],
                               "ProviderEndpoint": row["endpoint"]}
        if row["vpc"]:
            out["VpcConfiguration"] = row["vpc"]
        if with_arn:
            out["HostArn"] = self._arn(row, "host")
        return out

    def get_host(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._host_out(self._host(ctx, params["HostArn"]), with_arn=False)

    def list_hosts(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.db.connect() as conn:
            rows = store.list_hosts(conn, ctx.account_id, ctx.region)
        page, token = _page(rows, params, 50)
        return {"Hosts": [self._host_out(r, with_arn=True) for r in page], **({"NextToken": token} if token else {})}

    def update_host(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._host(ctx, params["HostArn"])
        values: dict[str, Any] = {}
        if params.get("ProviderEndpoint"):
            values["endpoint"] = params["ProviderEndpoint"]
        if "VpcConfiguration" in params:
            values["vpc"] = params["VpcConfiguration"]
        if values:
            with self.backend.db.begin() as conn:
                store.set_host(conn, ctx.account_id, ctx.region, row["host_id"], **values)
        return {}

    def delete_host(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        row = self._host(ctx, params["HostArn"])
        with self.backend.db.begin() as conn:
            store.remove_host(conn, ctx.account_id, ctx.region, row["host_id"])
        return {}

    # -- tags -------------------------------------------------------------------------------------

    def _tagged(self, ctx: RequestContext, arn: str) -> tuple[str, dict[str, Any]]:
        kind = arn.split(":", 5)[-1].split("/", 1)[0] if arn.count(":") >= 5 else ""
        if kind == "host":
            return "host", self._host(ctx, arn)
        return "connection", self._connection(ctx, arn)

    def _save_tags(self, ctx: RequestContext, kind: str, row: dict[str, Any], tags: list[dict[str, str]]) -> None:
        self._check_tags(tags)
        with self.backend.db.begin() as conn:
            if kind == "host":
                store.set_host(conn, ctx.account_id, ctx.region, row["host_id"], tags=tags)
            else:
                store.set_connection(conn, row["connection_id"], tags=tags)

    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        kind, row = self._tagged(ctx, params["ResourceArn"])
        merged = {t["Key"]: t["Value"] for t in row["tags"]}
        merged.update({t["Key"]: t["Value"] for t in params["Tags"]})
        self._save_tags(ctx, kind, row, [{"Key": k, "Value": v} for k, v in merged.items()])
        return {}

    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        kind, row = self._tagged(ctx, params["ResourceArn"])
        gone = set(params["TagKeys"])
        self._save_tags(ctx, kind, row, [t for t in row["tags"] if t["Key"] not in gone])
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Tags": self._tagged(ctx, params["ResourceArn"])[1]["tags"]}


class CodeStarConnectionsProvider(CodeConnectionsProvider):
    """The same connections through the ``codestar-connections`` API (ARNs created here say
    ``codestar-connections``, as on AWS)."""

    service = "codestar-connections"
