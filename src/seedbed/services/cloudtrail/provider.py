"""CloudTrail LookupEvents over Seedbed's audit trail (management events of the caller's account)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timezone
from typing import Any

from seedbed.errors import ServiceError
from seedbed.server.context import RequestContext
from seedbed.services.base import Provider
from seedbed.services.cloudtrail import store


class InvalidNextToken(ServiceError):
    code = "InvalidNextTokenException"


class InvalidLookupAttributes(ServiceError):
    code = "InvalidLookupAttributesException"


class InvalidTimeRange(ServiceError):
    code = "InvalidTimeRangeException"


def encode_token(event_time: datetime, event_id: str) -> str:
    """A NextToken: the position of the last event returned."""
    return base64.urlsafe_b64encode(f"{event_time.isoformat()}|{event_id}".encode()).decode()


def decode_token(token: str) -> tuple[datetime, str]:
    try:
        when, event_id = base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)
        return _aware(datetime.fromisoformat(when)), event_id
    except (ValueError, binascii.Error):
        raise InvalidNextToken("Invalid NextToken.") from None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _invoked_by(row: Any) -> bool:
    """Audit rows of service-made calls carry the service's name as address and agent."""
    source = row.source_ip or ""
    return source.endswith(".amazonaws.com") and row.user_agent == source


def cloudtrail_record(row: Any) -> dict[str, Any]:
    """The event as CloudTrail's JSON record (``CloudTrailEvent``)."""
    identity: dict[str, Any] = {}
    if row.principal_arn:
        identity = {
            "type": row.principal_type,
            "arn": row.principal_arn,
            "accountId": row.account_id,
            "accessKeyId": row.access_key_id,
        }
        if row.user_name:
            identity["userName"] = row.user_name
    elif row.access_key_id:
        identity = {"type": "Unknown", "accessKeyId": row.access_key_id}
    else:
        identity = {"type": "AWSAccount" if row.account_id else "Anonymous"}
    if _invoked_by(row):  # a service acting for the principal (or, with no principal, for itself)
        identity = {**identity, "invokedBy": row.source_ip} if row.principal_arn else {"type": "AWSService", "invokedBy": row.source_ip}
    record: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": _aware(row.event_time).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": row.event_source,
        "eventName": row.event_name,
        "awsRegion": row.aws_region,
        "sourceIPAddress": row.source_ip,
        "userAgent": row.user_agent,
        "requestParameters": json.loads(row.request_parameters) if row.request_parameters else None,
        "responseElements": None,
        "requestID": row.request_id,
        "eventID": row.event_id,
        "readOnly": row.read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": row.account_id,
    }
    if row.error_code:
        record["errorCode"] = row.error_code
        record["errorMessage"] = row.error_message
    return record


class CloudTrailProvider(Provider):
    service = "cloudtrail"

    def lookup_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        attributes = params.get("LookupAttributes") or []
        if len(attributes) > 1:
            raise InvalidLookupAttributes("You cannot specify more than one lookup attribute.")
        attribute = None
        if attributes:
            key = attributes[0]["AttributeKey"]
            if key not in store.LOOKUP_COLUMNS:
                raise InvalidLookupAttributes(f"Lookup attribute {key} is not supported by Seedbed.")
            attribute = (key, attributes[0]["AttributeValue"])
        start, end = params.get("StartTime"), params.get("EndTime")
        if start and end and start > end:
            raise InvalidTimeRange("Start time must be before end time.")
        limit = int(params.get("MaxResults") or 50)
        before = decode_token(params["NextToken"]) if params.get("NextToken") else None
        self.backend.audit.flush()
        admin = ctx.principal is not None and ctx.principal.access_key_id == self.backend.admin_key.access_key_id
        with self.backend.db.connect() as conn:
            rows = store.lookup(
                conn, ctx.account_id, ctx.region, admin, start, end, attribute, limit + 1, before
            )
        out: dict[str, Any] = {"Events": [self._event(r) for r in rows[:limit]]}
        if len(rows) > limit:
            last = rows[limit - 1]
            out["NextToken"] = encode_token(_aware(last.event_time), last.event_id)
        return out

    @staticmethod
    def _event(row: Any) -> dict[str, Any]:
        event: dict[str, Any] = {
            "EventId": row.event_id,
            "EventName": row.event_name,
            "ReadOnly": "true" if row.read_only else "false",
            "EventTime": _aware(row.event_time),
            "EventSource": row.event_source,
            "CloudTrailEvent": json.dumps(cloudtrail_record(row)),
        }
        if row.access_key_id:
            event["AccessKeyId"] = row.access_key_id
        if row.user_name:
            event["Username"] = row.user_name
        resources = json.loads(row.resources) if row.resources else []
        event["Resources"] = [
            {"ResourceType": _resource_type(arn), "ResourceName": arn} for arn in resources
        ]
        return event


def _resource_type(arn: str) -> str:
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return "Unknown"
    service = {"iam": "IAM", "s3": "S3", "sts": "STS"}.get(parts[2], parts[2].capitalize())
    kind = parts[5].split("/", 1)[0].split(":", 1)[0]
    return f"AWS::{service}::{kind[:1].upper() + kind[1:]}"
