"""What the SageMaker modules share: ARNs, ids, who-did-it records and page tokens."""

from __future__ import annotations

import base64
import json
from typing import Any

from seedbed.server.context import Principal, RequestContext
from seedbed.services.sagemaker.errors import SageMakerValidation
from seedbed.state import arns, ids


def domain_id() -> str:
    return "d-" + ids.alnum_lower(12)


def project_id() -> str:
    return "p-" + ids.alnum_lower(12)


def arn(ctx: RequestContext, resource_type: str, name: str) -> str:
    return arns.sagemaker(ctx.account_id, ctx.region, resource_type, name)


def iam_identity(principal: Principal | None) -> dict[str, str]:
    if principal is None:
        return {}
    return {"Arn": principal.arn, "PrincipalId": principal.user_id}


def encode_token(offset: int, query: dict[str, Any]) -> str:
    """A page token carries the offset and the query it belongs to (a token from another query
    is refused, as on AWS)."""
    raw = json.dumps({"o": offset, "q": query}, sort_keys=True, default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_token(token: str | None, query: dict[str, Any]) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data["q"] != json.loads(json.dumps(query, sort_keys=True, default=str)):
            raise ValueError
        return max(0, int(data["o"]))
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise SageMakerValidation("The NextToken is invalid for this request.") from None


def max_results(params: dict[str, Any], default: int, top: int = 100) -> int:
    value = params.get("MaxResults")
    return default if value is None else max(1, min(int(value), top))
