"""Evaluation cases built from the AWS documentation, each with the decision AWS documents.

Sources (by section of the IAM User Guide): "Policy evaluation logic" (identity, resource-based,
permissions boundaries, session policies, explicit deny, cross-account), "IAM JSON policy
elements: Condition operators" (every operator's examples, ...IfExists, Null), "Single-valued vs.
multivalued context keys" (ForAnyValue/ForAllValues, missing and empty keys), "IAM policy
elements: Variables and tags", "NotAction", "NotResource", "NotPrincipal", "Principal", and the
S3 / KMS / role trust examples. A case is a plain dict so the table reads like the docs.
"""

from __future__ import annotations

from typing import Any

A = "000000000000"  # the account of the callers
B = "111122223333"  # another account
ALICE = f"arn:aws:iam::{A}:user/alice"
BOB_B = f"arn:aws:iam::{B}:user/bob"
ROLE = f"arn:aws:iam::{A}:role/Launch"
SESSION = f"arn:aws:sts::{A}:assumed-role/Launch/ds"
ROLE_B = f"arn:aws:iam::{B}:role/Partner"
SESSION_B = f"arn:aws:sts::{B}:assumed-role/Partner/s"
BUCKET = "arn:aws:s3:::bucket"
OBJ = "arn:aws:s3:::bucket/home/alice/file.txt"

# callers: (kind, arn, account, role_arn)
USER = ("user", ALICE, A, None)
USER_B = ("user", BOB_B, B, None)
ROLE_SESSION = ("role-session", SESSION, A, ROLE)
ROLE_SESSION_B = ("role-session", SESSION_B, B, ROLE_B)
ROOT = ("root", f"arn:aws:iam::{A}:root", A, None)
ROOT_B = ("root", f"arn:aws:iam::{B}:root", B, None)
ANON = ("anonymous", "anonymous", "", None)
SAGEMAKER = ("service", "sagemaker.amazonaws.com", "", None)
LAMBDA_SVC = ("service", "lambda.amazonaws.com", "", None)


def stmt(effect: str, action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": effect}
    if isinstance(action, tuple):  # ("Not", [...]) for NotAction
        out["NotAction"] = action[1]
    else:
        out["Action"] = action
    if isinstance(resource, tuple):
        out["NotResource"] = resource[1]
    elif resource is not None:
        out["Resource"] = resource
    for key, value in extra.items():
        out[key] = value
    return out


def allow(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return stmt("Allow", action, resource, **extra)


def deny(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return stmt("Deny", action, resource, **extra)


def pol(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def cond(op: str, key: str, value: Any) -> dict[str, Any]:
    return {op: {key: value}}


def case(name: str, expect: str, action: str, resource: str = "*", **kw: Any) -> dict[str, Any]:
    return {"name": name, "expect": expect, "action": action, "resource": resource, **kw}


ALLOW, DENY, IMPLICIT = "Allow", "ExplicitDeny", "ImplicitDeny"

CASES: list[dict[str, Any]] = []
add = CASES.append

# --- 1. Identity-based policies: Action, Resource, wildcards (evaluation logic basics) ----------
for name, policy, action, resource, expect in [
    ("no policy at all is an implicit deny", None, "s3:GetObject", OBJ, IMPLICIT),
    ("exact action and resource", allow("s3:GetObject", OBJ), "s3:GetObject", OBJ, ALLOW),
    ("action names are case-insensitive", allow("S3:getobject", OBJ), "s3:GetObject", OBJ, ALLOW),
    ("action wildcard suffix", allow("s3:Get*", OBJ), "s3:GetObject", OBJ, ALLOW),
    ("action wildcard does not match other verbs", allow("s3:Get*", OBJ), "s3:PutObject", OBJ, IMPLICIT),
    ("action wildcard in the middle", allow("s3:*Object", OBJ), "s3:DeleteObject", OBJ, ALLOW),
    ("action ? wildcard", allow("iam:?etRole", ROLE), "iam:GetRole", ROLE, ALLOW),
    ("service wildcard", allow("s3:*"), "s3:CreateBucket", BUCKET, ALLOW),
    ("other service is not matched", allow("s3:*"), "iam:CreateUser", f"arn:aws:iam::{A}:user/x", IMPLICIT),
    ("star action", allow("*"), "sagemaker:CreateProject", "*", ALLOW),
    ("action list", allow(["s3:GetObject", "s3:PutObject"], OBJ), "s3:PutObject", OBJ, ALLOW),
    ("action list miss", allow(["s3:GetObject", "s3:PutObject"], OBJ), "s3:DeleteObject", OBJ, IMPLICIT),
    ("resource wildcard in key", allow("s3:GetObject", "arn:aws:s3:::bucket/*"), "s3:GetObject", OBJ, ALLOW),
    ("bucket ARN does not cover objects", allow("s3:GetObject", BUCKET), "s3:GetObject", OBJ, IMPLICIT),
    ("object pattern does not cover the bucket", allow("s3:ListBucket", "arn:aws:s3:::bucket/*"), "s3:ListBucket", BUCKET, IMPLICIT),
    ("resource is case-sensitive", allow("s3:GetObject", "arn:aws:s3:::BUCKET/*"), "s3:GetObject", OBJ, IMPLICIT),
    ("resource ? wildcard", allow("s3:GetObject", "arn:aws:s3:::bucke?/*"), "s3:GetObject", OBJ, ALLOW),
    ("resource list", allow("s3:GetObject", ["arn:aws:s3:::other/*", "arn:aws:s3:::bucket/*"]), "s3:GetObject", OBJ, ALLOW),
    ("region wildcard segment", allow("sagemaker:CreateProject", f"arn:aws:sagemaker:*:{A}:project/*"), "sagemaker:CreateProject", f"arn:aws:sagemaker:us-east-1:{A}:project/p1", ALLOW),
    ("account must match", allow("sagemaker:CreateProject", f"arn:aws:sagemaker:*:{B}:project/*"), "sagemaker:CreateProject", f"arn:aws:sagemaker:us-east-1:{A}:project/p1", IMPLICIT),
    ("wildcard account and resource segments", allow("iam:GetRole", "arn:aws:iam::*:*"), "iam:GetRole", ROLE, ALLOW),
    ("glob inside the account segment", allow("iam:GetRole", "arn:aws:iam::0*0:role/Launch"), "iam:GetRole", ROLE, ALLOW),
    ("wildcard service segment does not cover another partition", allow("*", "arn:aws-cn:*:*:*:*"), "iam:GetRole", ROLE, IMPLICIT),
    ("resource part wildcard spans slashes", allow("iam:GetRole", f"arn:aws:iam::{A}:role/*"), "iam:GetRole", f"arn:aws:iam::{A}:role/service-role/X", ALLOW),
    ("role path must match when given", allow("iam:PassRole", f"arn:aws:iam::{A}:role/service-role/*"), "iam:PassRole", ROLE, IMPLICIT),
    ("role path match", allow("iam:PassRole", f"arn:aws:iam::{A}:role/service-role/*"), "iam:PassRole", f"arn:aws:iam::{A}:role/service-role/AmazonSageMakerProjectsLaunchRole", ALLOW),
    ("all-segment wildcard ARN", allow("*", "arn:aws:*:*:*:*"), "lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{A}:function:f", ALLOW),
    ("resource star", allow("lambda:InvokeFunction", "*"), "lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{A}:function:f", ALLOW),
    ("resource-less action needs *", allow("s3:ListAllMyBuckets", "arn:aws:s3:::*"), "s3:ListAllMyBuckets", "*", IMPLICIT),
    ("resource-less action with *", allow("s3:ListAllMyBuckets", "*"), "s3:ListAllMyBuckets", "*", ALLOW),
    ("lambda function qualifier", allow("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{A}:function:f*"), "lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{A}:function:f:1", ALLOW),
    ("colon in resource part", allow("logs:PutLogEvents", f"arn:aws:logs:us-east-1:{A}:log-group:/aws/lambda/*"), "logs:PutLogEvents", f"arn:aws:logs:us-east-1:{A}:log-group:/aws/lambda/f:log-stream:x", ALLOW),
]:
    add(case(name, expect, action, resource, identity=[pol(policy)] if policy else []))

# --- 2. NotAction / NotResource --------------------------------------------------------------
for name, policy, action, resource, expect in [
    ("NotAction allows everything else", allow(("Not", "iam:*")), "s3:GetObject", OBJ, ALLOW),
    ("NotAction does not allow the listed", allow(("Not", "iam:*")), "iam:CreateUser", "*", IMPLICIT),
    ("NotAction list", allow(("Not", ["iam:*", "organizations:*"])), "organizations:ListAccounts", "*", IMPLICIT),
    ("NotAction with resource", allow(("Not", "s3:DeleteObject"), "arn:aws:s3:::bucket/*"), "s3:PutObject", OBJ, ALLOW),
    ("NotAction with resource, other resource", allow(("Not", "s3:DeleteObject"), "arn:aws:s3:::bucket/*"), "s3:PutObject", "arn:aws:s3:::other/x", IMPLICIT),
    ("NotResource allows everything else", allow("s3:*", ("Not", "arn:aws:s3:::secret/*")), "s3:GetObject", OBJ, ALLOW),
    ("NotResource excludes", allow("s3:*", ("Not", "arn:aws:s3:::bucket/*")), "s3:GetObject", OBJ, IMPLICIT),
    ("NotResource list", allow("s3:*", ("Not", ["arn:aws:s3:::a/*", "arn:aws:s3:::bucket/*"])), "s3:GetObject", OBJ, IMPLICIT),
]:
    add(case(name, expect, action, resource, identity=[pol(policy)]))

add(case("deny NotAction: everything but IAM is denied", DENY, "s3:GetObject", OBJ,
         identity=[pol(allow("*"), deny(("Not", "iam:*")))]))
add(case("deny NotAction leaves the listed service allowed", ALLOW, "iam:GetUser", ALICE,
         identity=[pol(allow("*"), deny(("Not", "iam:*")))]))
add(case("deny NotResource: only the home bucket", DENY, "s3:GetObject", "arn:aws:s3:::other/x",
         identity=[pol(allow("s3:*"), deny("s3:*", ("Not", ["arn:aws:s3:::bucket", "arn:aws:s3:::bucket/*"])))]))
add(case("deny NotResource spares its resources", ALLOW, "s3:GetObject", OBJ,
         identity=[pol(allow("s3:*"), deny("s3:*", ("Not", ["arn:aws:s3:::bucket", "arn:aws:s3:::bucket/*"])))]))
add(case("deny NotAction+NotResource (MFA-style guard)", DENY, "ec2:RunInstances", "*",
         identity=[pol(allow("*"), deny(("Not", ["iam:*", "sts:*"]), ("Not", f"arn:aws:iam::{A}:user/alice")))]))

# --- 3. Explicit deny wins --------------------------------------------------------------------
for name, statements, action, resource, expect in [
    ("deny beats allow in one policy", [allow("s3:*"), deny("s3:DeleteObject")], "s3:DeleteObject", OBJ, DENY),
    ("deny of another action leaves allow", [allow("s3:*"), deny("s3:DeleteObject")], "s3:GetObject", OBJ, ALLOW),
    ("deny with wildcard", [allow("*"), deny("s3:Delete*")], "s3:DeleteBucket", BUCKET, DENY),
    ("deny on a resource only", [allow("s3:*"), deny("s3:*", "arn:aws:s3:::bucket/home/*")], "s3:GetObject", OBJ, DENY),
    ("deny on another resource", [allow("s3:*"), deny("s3:*", "arn:aws:s3:::secret/*")], "s3:GetObject", OBJ, ALLOW),
    ("deny alone is still a deny", [deny("s3:GetObject")], "s3:GetObject", OBJ, DENY),
    ("deny star", [allow("s3:GetObject", OBJ), deny("*")], "s3:GetObject", OBJ, DENY),
]:
    add(case(name, expect, action, resource, identity=[pol(*statements)]))
add(case("deny in a second policy wins", DENY, "s3:GetObject", OBJ,
         identity=[pol(allow("s3:*")), pol(deny("s3:GetObject"))]))
add(case("allow in either of two policies", ALLOW, "s3:PutObject", OBJ,
         identity=[pol(allow("s3:GetObject")), pol(allow("s3:PutObject"))]))
add(case("deny in a group policy (second set) wins", DENY, "sagemaker:CreateTrainingJob", "*",
         identity=[pol(allow("sagemaker:*")), pol(deny("sagemaker:CreateTrainingJob"))]))

# --- 4. Condition operators (the Condition operators reference, one by one) ------------------
C = "aws:PrincipalTag/job-category"
for name, condition, context, expect in [
    # String
    ("StringEquals match", cond("StringEquals", C, "iamuser-admin"), {C: "iamuser-admin"}, ALLOW),
    ("StringEquals is case-sensitive", cond("StringEquals", C, "iamuser-admin"), {C: "IAMUSER-ADMIN"}, IMPLICIT),
    ("StringEquals missing key", cond("StringEquals", C, "iamuser-admin"), {}, IMPLICIT),
    ("StringEquals any of the values", cond("StringEquals", C, ["a", "iamuser-admin"]), {C: "iamuser-admin"}, ALLOW),
    ("condition key names are case-insensitive", cond("StringEquals", "AWS:PRINCIPALTAG/JOB-CATEGORY", "x"), {C: "x"}, ALLOW),
    ("StringNotEquals differs", cond("StringNotEquals", C, "admin"), {C: "dev"}, ALLOW),
    ("StringNotEquals equal", cond("StringNotEquals", C, "admin"), {C: "admin"}, IMPLICIT),
    ("StringNotEquals missing key is true", cond("StringNotEquals", C, "admin"), {}, ALLOW),
    ("StringNotEquals none of the values", cond("StringNotEquals", C, ["a", "b"]), {C: "b"}, IMPLICIT),
    ("StringEqualsIgnoreCase", cond("StringEqualsIgnoreCase", C, "ADMIN"), {C: "admin"}, ALLOW),
    ("StringEqualsIgnoreCase miss", cond("StringEqualsIgnoreCase", C, "ADMIN"), {C: "admins"}, IMPLICIT),
    ("StringNotEqualsIgnoreCase", cond("StringNotEqualsIgnoreCase", C, "ADMIN"), {C: "admin"}, IMPLICIT),
    ("StringNotEqualsIgnoreCase differs", cond("StringNotEqualsIgnoreCase", C, "ADMIN"), {C: "dev"}, ALLOW),
    ("StringLike star", cond("StringLike", "s3:prefix", "home/*"), {"s3:prefix": "home/alice/"}, ALLOW),
    ("StringLike empty prefix", cond("StringLike", "s3:prefix", ["", "home/"]), {"s3:prefix": ""}, ALLOW),
    ("StringLike ? wildcard", cond("StringLike", C, "dev?"), {C: "dev1"}, ALLOW),
    ("StringLike ? needs one char", cond("StringLike", C, "dev?"), {C: "dev"}, IMPLICIT),
    ("StringLike is case-sensitive", cond("StringLike", C, "Dev*"), {C: "dev1"}, IMPLICIT),
    ("StringLike star matches slashes", cond("StringLike", "s3:prefix", "home/*"), {"s3:prefix": "home/a/b/c"}, ALLOW),
    ("StringNotLike", cond("StringNotLike", "s3:prefix", "secret/*"), {"s3:prefix": "home/"}, ALLOW),
    ("StringNotLike match", cond("StringNotLike", "s3:prefix", "secret/*"), {"s3:prefix": "secret/x"}, IMPLICIT),
    ("StringNotLike missing key", cond("StringNotLike", "s3:prefix", "secret/*"), {}, ALLOW),
    # Numeric
    ("NumericLessThanEquals", cond("NumericLessThanEquals", "s3:max-keys", "10"), {"s3:max-keys": "10"}, ALLOW),
    ("NumericLessThanEquals over", cond("NumericLessThanEquals", "s3:max-keys", "10"), {"s3:max-keys": "11"}, IMPLICIT),
    ("NumericLessThan", cond("NumericLessThan", "s3:max-keys", "10"), {"s3:max-keys": "10"}, IMPLICIT),
    ("NumericGreaterThan", cond("NumericGreaterThan", "s3:max-keys", "10"), {"s3:max-keys": "11"}, ALLOW),
    ("NumericGreaterThanEquals", cond("NumericGreaterThanEquals", "s3:max-keys", "10"), {"s3:max-keys": "10"}, ALLOW),
    ("NumericEquals", cond("NumericEquals", "s3:max-keys", "10"), {"s3:max-keys": "10.0"}, ALLOW),
    ("NumericNotEquals", cond("NumericNotEquals", "s3:max-keys", "10"), {"s3:max-keys": "5"}, ALLOW),
    ("NumericNotEquals equal", cond("NumericNotEquals", "s3:max-keys", "10"), {"s3:max-keys": "10"}, IMPLICIT),
    ("Numeric with a JSON number", cond("NumericLessThan", "sagemaker:MaxRuntimeInSeconds", 3600), {"sagemaker:MaxRuntimeInSeconds": "600"}, ALLOW),
    ("Numeric not a number", cond("NumericEquals", "s3:max-keys", "10"), {"s3:max-keys": "ten"}, IMPLICIT),
    ("Numeric missing key", cond("NumericLessThan", "s3:max-keys", "10"), {}, IMPLICIT),
    # Date
    ("DateGreaterThan", cond("DateGreaterThan", "aws:TokenIssueTime", "2020-01-01T00:00:01Z"), {"aws:TokenIssueTime": "2024-05-01T10:00:00Z"}, ALLOW),
    ("DateGreaterThan before", cond("DateGreaterThan", "aws:TokenIssueTime", "2020-01-01T00:00:01Z"), {"aws:TokenIssueTime": "2019-05-01T10:00:00Z"}, IMPLICIT),
    ("DateLessThan", cond("DateLessThan", "aws:CurrentTime", "2030-06-30T00:00:00Z"), {"aws:CurrentTime": "2029-01-01T00:00:00Z"}, ALLOW),
    ("DateLessThanEquals same instant", cond("DateLessThanEquals", "aws:CurrentTime", "2030-06-30T00:00:00Z"), {"aws:CurrentTime": "2030-06-30T00:00:00Z"}, ALLOW),
    ("DateGreaterThanEquals", cond("DateGreaterThanEquals", "aws:CurrentTime", "2030-06-30"), {"aws:CurrentTime": "2030-06-30T00:00:00Z"}, ALLOW),
    ("DateEquals with different zone", cond("DateEquals", "aws:CurrentTime", "2030-06-30T02:00:00+02:00"), {"aws:CurrentTime": "2030-06-30T00:00:00Z"}, ALLOW),
    ("DateNotEquals", cond("DateNotEquals", "aws:CurrentTime", "2030-06-30T00:00:00Z"), {"aws:CurrentTime": "2030-06-30T00:00:01Z"}, ALLOW),
    ("Date as epoch seconds", cond("DateGreaterThan", "aws:EpochTime", "1700000000"), {"aws:EpochTime": "1800000000"}, ALLOW),
    ("Date epoch vs ISO", cond("DateLessThan", "aws:CurrentTime", "1893456000"), {"aws:CurrentTime": "2029-01-01T00:00:00Z"}, ALLOW),
    # Bool
    ("Bool true", cond("Bool", "aws:SecureTransport", "true"), {"aws:SecureTransport": "true"}, ALLOW),
    ("Bool false vs true", cond("Bool", "aws:SecureTransport", "true"), {"aws:SecureTransport": "false"}, IMPLICIT),
    ("Bool JSON boolean", cond("Bool", "aws:MultiFactorAuthPresent", True), {"aws:MultiFactorAuthPresent": "true"}, ALLOW),
    ("Bool case-insensitive value", cond("Bool", "aws:SecureTransport", "TRUE"), {"aws:SecureTransport": "true"}, ALLOW),
    ("Bool missing key", cond("Bool", "aws:MultiFactorAuthPresent", "true"), {}, IMPLICIT),
    # Binary
    ("BinaryEquals", cond("BinaryEquals", "aws:binary-key", "QmluYXJ5VmFsdWVJbkJhc2U2NA=="), {"aws:binary-key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}, ALLOW),
    ("BinaryEquals differs", cond("BinaryEquals", "aws:binary-key", "QmluYXJ5VmFsdWVJbkJhc2U2NA=="), {"aws:binary-key": "b3RoZXI="}, IMPLICIT),
    # IP
    ("IpAddress in range", cond("IpAddress", "aws:SourceIp", "203.0.113.0/24"), {"aws:SourceIp": "203.0.113.7"}, ALLOW),
    ("IpAddress out of range", cond("IpAddress", "aws:SourceIp", "203.0.113.0/24"), {"aws:SourceIp": "198.51.100.7"}, IMPLICIT),
    ("IpAddress single address", cond("IpAddress", "aws:SourceIp", "127.0.0.1"), {"aws:SourceIp": "127.0.0.1"}, ALLOW),
    ("IpAddress IPv6 range", cond("IpAddress", "aws:SourceIp", "2001:DB8:1234:5678::/64"), {"aws:SourceIp": "2001:db8:1234:5678::1"}, ALLOW),
    ("IpAddress list", cond("IpAddress", "aws:SourceIp", ["10.0.0.0/8", "203.0.113.0/24"]), {"aws:SourceIp": "10.1.2.3"}, ALLOW),
    ("NotIpAddress outside", cond("NotIpAddress", "aws:SourceIp", "203.0.113.0/24"), {"aws:SourceIp": "198.51.100.7"}, ALLOW),
    ("NotIpAddress inside", cond("NotIpAddress", "aws:SourceIp", "203.0.113.0/24"), {"aws:SourceIp": "203.0.113.9"}, IMPLICIT),
    ("IpAddress missing key (internal call)", cond("IpAddress", "aws:SourceIp", "0.0.0.0/0"), {}, IMPLICIT),
    ("IpAddress not an address", cond("IpAddress", "aws:SourceIp", "0.0.0.0/0"), {"aws:SourceIp": "seedbed.internal"}, IMPLICIT),
    # ARN
    ("ArnLike", cond("ArnLike", "aws:SourceArn", f"arn:aws:sns:*:{A}:*"), {"aws:SourceArn": f"arn:aws:sns:us-east-1:{A}:topic"}, ALLOW),
    ("ArnLike wrong account", cond("ArnLike", "aws:SourceArn", f"arn:aws:sns:*:{A}:*"), {"aws:SourceArn": f"arn:aws:sns:us-east-1:{B}:topic"}, IMPLICIT),
    ("ArnEquals exact", cond("ArnEquals", "aws:SourceArn", f"arn:aws:sns:us-east-1:{A}:topic"), {"aws:SourceArn": f"arn:aws:sns:us-east-1:{A}:topic"}, ALLOW),
    ("ArnEquals with wildcard behaves like ArnLike", cond("ArnEquals", "aws:SourceArn", f"arn:aws:sns:*:{A}:*"), {"aws:SourceArn": f"arn:aws:sns:eu-west-1:{A}:t"}, ALLOW),
    ("ArnLike segment wildcard does not span colons", cond("ArnLike", "aws:SourceArn", "arn:aws:sns:*:topic"), {"aws:SourceArn": f"arn:aws:sns:us-east-1:{A}:topic"}, IMPLICIT),
    ("ArnNotEquals", cond("ArnNotEquals", "aws:PrincipalArn", ROLE), {"aws:PrincipalArn": ALICE}, ALLOW),
    ("ArnNotLike match", cond("ArnNotLike", "aws:PrincipalArn", f"arn:aws:iam::{A}:role/*"), {"aws:PrincipalArn": ROLE}, IMPLICIT),
    ("ArnNotLike missing key", cond("ArnNotLike", "aws:PrincipalArn", f"arn:aws:iam::{A}:role/*"), {}, ALLOW),
    # Null
    ("Null true and key absent", cond("Null", "aws:TokenIssueTime", "true"), {}, ALLOW),
    ("Null true and key present", cond("Null", "aws:TokenIssueTime", "true"), {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}, IMPLICIT),
    ("Null false and key present", cond("Null", "aws:TokenIssueTime", "false"), {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}, ALLOW),
    ("Null false and key absent", cond("Null", "aws:TokenIssueTime", "false"), {}, IMPLICIT),
    ("Null with JSON boolean", cond("Null", "sagemaker:VpcSubnets", True), {}, ALLOW),
    ("Null on an empty multivalued key", cond("Null", "sagemaker:VpcSubnets", "true"), {"sagemaker:VpcSubnets": []}, ALLOW),
    # IfExists
    ("StringEqualsIfExists absent", cond("StringEqualsIfExists", "ec2:InstanceType", ["t1.*", "t2.*"]), {}, ALLOW),
    ("StringLikeIfExists present and matching", cond("StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*"]), {"ec2:InstanceType": "t2.micro"}, ALLOW),
    ("StringLikeIfExists present not matching", cond("StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*"]), {"ec2:InstanceType": "m5.large"}, IMPLICIT),
    ("NumericLessThanIfExists absent", cond("NumericLessThanIfExists", "s3:max-keys", "10"), {}, ALLOW),
    ("BoolIfExists absent", cond("BoolIfExists", "aws:MultiFactorAuthPresent", "false"), {}, ALLOW),
    ("ArnLikeIfExists present", cond("ArnLikeIfExists", "aws:SourceArn", "arn:aws:s3:::*"), {"aws:SourceArn": "arn:aws:sns:us-east-1:1:x"}, IMPLICIT),
    ("IpAddressIfExists absent", cond("IpAddressIfExists", "aws:SourceIp", "10.0.0.0/8"), {}, ALLOW),
    ("DateLessThanIfExists present", cond("DateLessThanIfExists", "aws:CurrentTime", "2000-01-01T00:00:00Z"), {"aws:CurrentTime": "2024-01-01T00:00:00Z"}, IMPLICIT),
]:
    add(case(f"condition: {name}", expect, "s3:ListBucket", BUCKET, identity=[pol(allow("s3:ListBucket", BUCKET, Condition=condition))], context=context))

# several operators and keys: AND; values: OR
MULTI = {"StringEquals": {"aws:PrincipalTag/team": ["ml", "data"], "aws:RequestedRegion": "us-east-1"}, "Bool": {"aws:SecureTransport": "true"}}
for name, context, expect in [
    ("all blocks and keys hold", {"aws:PrincipalTag/team": "data", "aws:RequestedRegion": "us-east-1", "aws:SecureTransport": "true"}, ALLOW),
    ("one key fails", {"aws:PrincipalTag/team": "data", "aws:RequestedRegion": "eu-west-1", "aws:SecureTransport": "true"}, IMPLICIT),
    ("one operator fails", {"aws:PrincipalTag/team": "ml", "aws:RequestedRegion": "us-east-1", "aws:SecureTransport": "false"}, IMPLICIT),
    ("one key missing", {"aws:RequestedRegion": "us-east-1", "aws:SecureTransport": "true"}, IMPLICIT),
]:
    add(case(f"condition block AND/OR: {name}", expect, "sagemaker:ListProjects", "*", identity=[pol(allow("sagemaker:*", Condition=MULTI))], context=context))

# --- 5. Set operators ------------------------------------------------------------------------
TK = "aws:TagKeys"
for name, op, values, context, expect in [
    ("ForAllValues subset", "ForAllValues:StringEquals", ["environment", "cost-center"], {TK: ["environment"]}, ALLOW),
    ("ForAllValues exact set", "ForAllValues:StringEquals", ["environment", "cost-center"], {TK: ["environment", "cost-center"]}, ALLOW),
    ("ForAllValues extra key", "ForAllValues:StringEquals", ["environment", "cost-center"], {TK: ["environment", "owner"]}, IMPLICIT),
    ("ForAllValues missing key is true", "ForAllValues:StringEquals", ["environment"], {}, ALLOW),
    ("ForAllValues empty set is true", "ForAllValues:StringEquals", ["environment"], {TK: []}, ALLOW),
    ("ForAllValues StringLike", "ForAllValues:StringLike", ["env*", "cost*"], {TK: ["environment", "cost-center"]}, ALLOW),
    ("ForAllValues StringNotEquals none listed", "ForAllValues:StringNotEquals", ["secret"], {TK: ["a", "b"]}, ALLOW),
    ("ForAllValues StringNotEquals one listed", "ForAllValues:StringNotEquals", ["secret"], {TK: ["a", "secret"]}, IMPLICIT),
    ("ForAnyValue one match", "ForAnyValue:StringEquals", ["environment", "cost-center"], {TK: ["owner", "environment"]}, ALLOW),
    ("ForAnyValue no match", "ForAnyValue:StringEquals", ["environment", "cost-center"], {TK: ["owner"]}, IMPLICIT),
    ("ForAnyValue missing key is false", "ForAnyValue:StringEquals", ["environment"], {}, IMPLICIT),
    ("ForAnyValue empty set is false", "ForAnyValue:StringEquals", ["environment"], {TK: []}, IMPLICIT),
    ("ForAnyValue StringLike", "ForAnyValue:StringLike", ["team-*"], {TK: ["x", "team-a"]}, ALLOW),
    ("ForAnyValue StringNotEquals one differs", "ForAnyValue:StringNotEquals", ["a"], {TK: ["a", "b"]}, ALLOW),
    ("ForAnyValue StringNotEquals all equal", "ForAnyValue:StringNotEquals", ["a"], {TK: ["a"]}, IMPLICIT),
    ("ForAnyValue case-insensitive qualifier", "foranyvalue:StringEquals", ["a"], {TK: ["a"]}, ALLOW),
    ("ForAllValues ...IfExists absent", "ForAllValues:StringEqualsIfExists", ["a"], {}, ALLOW),
    ("ForAnyValue ...IfExists absent", "ForAnyValue:StringEqualsIfExists", ["a"], {}, ALLOW),
    ("ForAnyValue StringEqualsIgnoreCase", "ForAnyValue:StringEqualsIgnoreCase", ["ENV"], {TK: ["env"]}, ALLOW),
    ("multivalued key without qualifier: any", "StringEquals", ["subnet-1"], {"sagemaker:VpcSubnets": ["subnet-2", "subnet-1"]}, ALLOW),
]:
    key = "sagemaker:VpcSubnets" if "sagemaker:VpcSubnets" in context else TK
    add(case(f"set operator: {name}", expect, "sagemaker:CreateTrainingJob", "*",
             identity=[pol(allow("sagemaker:CreateTrainingJob", Condition={op: {key: values}}))], context=context))

# --- 6. Deny with conditions: the secure-environment preventive controls --------------------
VPC_GUARD = pol(
    allow("sagemaker:*"),
    deny(["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob", "sagemaker:CreateModel"],
         Condition=cond("Null", "sagemaker:VpcSubnets", "true")),
)
for name, action, context, expect in [
    ("training job without a VPC is denied", "sagemaker:CreateTrainingJob", {}, DENY),
    ("training job with subnets is allowed", "sagemaker:CreateTrainingJob", {"sagemaker:VpcSubnets": ["subnet-1"], "sagemaker:VpcSecurityGroupIds": ["sg-1"]}, ALLOW),
    ("processing job without a VPC is denied", "sagemaker:CreateProcessingJob", {}, DENY),
    ("model without a VPC is denied", "sagemaker:CreateModel", {}, DENY),
    ("other actions are not affected", "sagemaker:CreateProject", {}, ALLOW),
]:
    add(case(f"secure env: {name}", expect, action, "*", identity=[VPC_GUARD], context=context))
KMS_GUARD = pol(allow("sagemaker:*"), deny("sagemaker:CreateTrainingJob", Condition=cond("Null", "sagemaker:VolumeKmsKey", "true")))
add(case("secure env: training without a volume key is denied", DENY, "sagemaker:CreateTrainingJob", identity=[KMS_GUARD]))
add(case("secure env: training with a volume key is allowed", ALLOW, "sagemaker:CreateTrainingJob", identity=[KMS_GUARD], context={"sagemaker:VolumeKmsKey": "arn:aws:kms:us-east-1:1:key/k"}))
SUBNET_GUARD = pol(allow("sagemaker:*"), deny("sagemaker:CreateTrainingJob", Condition={"ForAnyValue:StringNotEquals": {"sagemaker:VpcSubnets": ["subnet-a", "subnet-b"]}}))
add(case("secure env: an unapproved subnet is denied", DENY, "sagemaker:CreateTrainingJob", identity=[SUBNET_GUARD], context={"sagemaker:VpcSubnets": ["subnet-a", "subnet-x"]}))
add(case("secure env: approved subnets are allowed", ALLOW, "sagemaker:CreateTrainingJob", identity=[SUBNET_GUARD], context={"sagemaker:VpcSubnets": ["subnet-a", "subnet-b"]}))
SG_GUARD = pol(allow("sagemaker:*"), deny("sagemaker:CreateTrainingJob", Condition={"ForAllValues:StringNotEquals": {"sagemaker:VpcSecurityGroupIds": ["sg-ok"]}}))
add(case("secure env: no approved security group is denied", DENY, "sagemaker:CreateTrainingJob", identity=[SG_GUARD], context={"sagemaker:VpcSecurityGroupIds": ["sg-1", "sg-2"]}))
add(case("secure env: with the approved security group allowed", ALLOW, "sagemaker:CreateTrainingJob", identity=[SG_GUARD], context={"sagemaker:VpcSecurityGroupIds": ["sg-1", "sg-ok"]}))
ISO_GUARD = pol(allow("sagemaker:*"), deny("sagemaker:CreateTrainingJob", Condition=cond("Bool", "sagemaker:NetworkIsolation", "false")))
add(case("secure env: network isolation off is denied", DENY, "sagemaker:CreateTrainingJob", identity=[ISO_GUARD], context={"sagemaker:NetworkIsolation": "false"}))
add(case("secure env: network isolation on is allowed", ALLOW, "sagemaker:CreateTrainingJob", identity=[ISO_GUARD], context={"sagemaker:NetworkIsolation": "true"}))
TLS = pol(allow("s3:*"), deny("s3:*", Condition=cond("Bool", "aws:SecureTransport", "false")))
add(case("deny plain HTTP", DENY, "s3:GetObject", OBJ, identity=[TLS], context={"aws:SecureTransport": "false"}))
add(case("allow TLS", ALLOW, "s3:GetObject", OBJ, identity=[TLS], context={"aws:SecureTransport": "true"}))
IPG = pol(allow("*"), deny("*", Condition=cond("NotIpAddress", "aws:SourceIp", ["192.0.2.0/24", "203.0.113.0/24"])))
add(case("deny outside the office range", DENY, "s3:GetObject", OBJ, identity=[IPG], context={"aws:SourceIp": "198.51.100.1"}))
add(case("allow inside the office range", ALLOW, "s3:GetObject", OBJ, identity=[IPG], context={"aws:SourceIp": "192.0.2.10"}))
add(case("deny NotIpAddress with no source IP (a call via a service) still denies", DENY, "s3:GetObject", OBJ, identity=[IPG], context={}))
IPG2 = pol(allow("*"), deny("*", Condition={"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}, "Bool": {"aws:ViaAWSService": "false"}}))
add(case("deny NotIpAddress spares calls via a service (ViaAWSService)", ALLOW, "s3:GetObject", OBJ, identity=[IPG2], context={"aws:ViaAWSService": "true"}))
add(case("deny NotIpAddress with ViaAWSService false applies", DENY, "s3:GetObject", OBJ, identity=[IPG2], context={"aws:ViaAWSService": "false", "aws:SourceIp": "198.51.100.1"}))
REGION = pol(allow("*"), deny(("Not", ["iam:*", "sts:*"]), Condition=cond("StringNotEquals", "aws:RequestedRegion", ["us-east-1", "eu-west-1"])))
add(case("region guard: other region denied", DENY, "sagemaker:CreateProject", identity=[REGION], context={"aws:RequestedRegion": "ap-south-1"}))
add(case("region guard: allowed region", ALLOW, "sagemaker:CreateProject", identity=[REGION], context={"aws:RequestedRegion": "us-east-1"}))
add(case("region guard: global services exempt", ALLOW, "iam:GetRole", ROLE, identity=[REGION], context={"aws:RequestedRegion": "ap-south-1"}))

# --- 7. Tags: aws:RequestTag, aws:ResourceTag, aws:PrincipalTag, s3:ExistingObjectTag ---------
TAGGED = pol(allow("sagemaker:CreateProject", Condition=cond("StringEquals", "aws:RequestTag/team", "ml")))
add(case("RequestTag present", ALLOW, "sagemaker:CreateProject", identity=[TAGGED], context={"aws:RequestTag/team": "ml", TK: ["team"]}))
add(case("RequestTag wrong value", IMPLICIT, "sagemaker:CreateProject", identity=[TAGGED], context={"aws:RequestTag/team": "web"}))
add(case("RequestTag absent", IMPLICIT, "sagemaker:CreateProject", identity=[TAGGED], context={}))
ABAC = pol(allow("sagemaker:*", Condition=cond("StringEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/team}")))
add(case("ABAC: resource tag equals principal tag", ALLOW, "sagemaker:DescribeProject", identity=[ABAC], context={"aws:ResourceTag/team": "ml", "aws:PrincipalTag/team": "ml"}))
add(case("ABAC: tags differ", IMPLICIT, "sagemaker:DescribeProject", identity=[ABAC], context={"aws:ResourceTag/team": "ml", "aws:PrincipalTag/team": "web"}))
add(case("ABAC: principal untagged", IMPLICIT, "sagemaker:DescribeProject", identity=[ABAC], context={"aws:ResourceTag/team": "ml"}))
VISIBLE = pol(allow("s3:GetObject", "arn:aws:s3:::bucket/*", Condition=cond("StringEquals", "s3:ExistingObjectTag/sagemaker:studio-visibility", "true")))
add(case("object tag visible", ALLOW, "s3:GetObject", OBJ, identity=[VISIBLE], context={"s3:ExistingObjectTag/sagemaker:studio-visibility": "true"}))
add(case("object tag hidden", IMPLICIT, "s3:GetObject", OBJ, identity=[VISIBLE], context={"s3:ExistingObjectTag/sagemaker:studio-visibility": "false"}))
add(case("object untagged", IMPLICIT, "s3:GetObject", OBJ, identity=[VISIBLE], context={}))
TAGKEYS = pol(allow("iam:TagRole", Condition={"ForAllValues:StringEquals": {TK: ["project", "team"]}, "StringEqualsIfExists": {"aws:RequestTag/team": ["ml", "data"]}}))
add(case("tag keys limited and values checked", ALLOW, "iam:TagRole", ROLE, identity=[TAGKEYS], context={TK: ["team"], "aws:RequestTag/team": "ml"}))
add(case("tag keys: a forbidden key", IMPLICIT, "iam:TagRole", ROLE, identity=[TAGKEYS], context={TK: ["owner"], "aws:RequestTag/owner": "x"}))
add(case("tag keys: a forbidden value", IMPLICIT, "iam:TagRole", ROLE, identity=[TAGKEYS], context={TK: ["team"], "aws:RequestTag/team": "web"}))

# --- 8. Policy variables ---------------------------------------------------------------------
HOME = pol(allow("s3:*", "arn:aws:s3:::bucket/home/${aws:username}/*"))
add(case("variable in resource", ALLOW, "s3:GetObject", OBJ, identity=[HOME], context={"aws:username": "alice"}))
add(case("variable for another user", IMPLICIT, "s3:GetObject", OBJ, identity=[HOME], context={"aws:username": "bob"}))
add(case("variable with no value does not match", IMPLICIT, "s3:GetObject", OBJ, identity=[HOME], context={}))
add(case("variable key is case-insensitive", ALLOW, "s3:GetObject", OBJ, identity=[pol(allow("s3:*", "arn:aws:s3:::bucket/home/${AWS:UserName}/*"))], context={"aws:username": "alice"}))
add(case("variable with default value", ALLOW, "s3:GetObject", "arn:aws:s3:::bucket/home/anonymous/x", identity=[pol(allow("s3:*", "arn:aws:s3:::bucket/home/${aws:username, 'anonymous'}/*"))], context={}))
add(case("variables are literal in version 2008-10-17", IMPLICIT, "s3:GetObject", OBJ, identity=[{"Version": "2008-10-17", "Statement": [allow("s3:*", "arn:aws:s3:::bucket/home/${aws:username}/*")]}], context={"aws:username": "alice"}))
add(case("no Version means 2008-10-17", IMPLICIT, "s3:GetObject", OBJ, identity=[{"Statement": [allow("s3:*", "arn:aws:s3:::bucket/home/${aws:username}/*")]}], context={"aws:username": "alice"}))
add(case("${*} is a literal star", ALLOW, "s3:GetObject", "arn:aws:s3:::bucket/*literal", identity=[pol(allow("s3:*", "arn:aws:s3:::bucket/${*}literal"))]))
add(case("${*} does not act as a wildcard", IMPLICIT, "s3:GetObject", "arn:aws:s3:::bucket/xliteral", identity=[pol(allow("s3:*", "arn:aws:s3:::bucket/${*}literal"))]))
PREFIX = pol(allow("s3:ListBucket", BUCKET, Condition=cond("StringLike", "s3:prefix", ["", "home/", "home/${aws:username}/*"])))
add(case("variable in a StringLike condition", ALLOW, "s3:ListBucket", BUCKET, identity=[PREFIX], context={"aws:username": "alice", "s3:prefix": "home/alice/docs/"}))
add(case("variable in condition for another prefix", IMPLICIT, "s3:ListBucket", BUCKET, identity=[PREFIX], context={"aws:username": "alice", "s3:prefix": "home/bob/"}))
add(case("variable in condition, top level", ALLOW, "s3:ListBucket", BUCKET, identity=[PREFIX], context={"aws:username": "alice", "s3:prefix": "home/"}))
add(case("principal tag variable in resource", ALLOW, "sagemaker:DescribeProject", f"arn:aws:sagemaker:us-east-1:{A}:project/ml-x", identity=[pol(allow("sagemaker:*", "arn:aws:sagemaker:*:*:project/${aws:PrincipalTag/team}-*"))], context={"aws:PrincipalTag/team": "ml"}))
add(case("aws:userid variable", ALLOW, "s3:GetObject", "arn:aws:s3:::bucket/AIDAEXAMPLE/x", identity=[pol(allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:userid}/*"))], context={"aws:userid": "AIDAEXAMPLE"}))
add(case("variable in StringEquals", ALLOW, "iam:CreateAccessKey", ALICE, identity=[pol(allow("iam:*AccessKey*", Condition=cond("StringEquals", "aws:PrincipalArn", "arn:aws:iam::" + A + ":user/${aws:username}")))], context={"aws:username": "alice", "aws:PrincipalArn": ALICE}))

# --- 9. Permissions boundaries (the documented boundary examples) ---------------------------
BOUNDARY = pol(allow(["s3:*", "cloudwatch:*", "ec2:*"]))
for name, identity, action, expect in [
    ("allowed by both", pol(allow("s3:*")), "s3:GetObject", ALLOW),
    ("identity allows, boundary does not", pol(allow("iam:*")), "iam:CreateUser", "ImplicitDeny"),
    ("boundary allows, identity does not", pol(allow("s3:*")), "ec2:RunInstances", IMPLICIT),
    ("admin identity limited by boundary", pol(allow("*")), "sagemaker:CreateProject", IMPLICIT),
    ("admin identity within boundary", pol(allow("*")), "cloudwatch:PutMetricData", ALLOW),
]:
    add(case(f"boundary: {name}", expect, action, "*", identity=[identity], boundary=BOUNDARY))
add(case("boundary: explicit deny in the boundary", DENY, "s3:DeleteBucket", BUCKET, identity=[pol(allow("*"))], boundary=pol(allow("*"), deny("s3:DeleteBucket"))))
add(case("boundary: deny-by-condition in the boundary", DENY, "iam:CreateRole", "*", identity=[pol(allow("*"))], boundary=pol(allow("*"), deny("iam:CreateRole", Condition=cond("StringNotEquals", "iam:PermissionsBoundary", f"arn:aws:iam::{A}:policy/Boundary")))))
add(case("boundary: the required boundary is passed", ALLOW, "iam:CreateRole", "*", identity=[pol(allow("*"))], boundary=pol(allow("*"), deny("iam:CreateRole", Condition=cond("StringNotEquals", "iam:PermissionsBoundary", f"arn:aws:iam::{A}:policy/Boundary"))), context={"iam:PermissionsBoundary": f"arn:aws:iam::{A}:policy/Boundary"}))
add(case("boundary: applies to role sessions too", IMPLICIT, "iam:CreateUser", "*", caller=ROLE_SESSION, identity=[pol(allow("*"))], boundary=BOUNDARY))
add(case("boundary: root is not limited", ALLOW, "iam:CreateUser", "*", caller=ROOT, identity=[], boundary=BOUNDARY))

# --- 10. Session policies --------------------------------------------------------------------
SESS = [pol(allow("s3:GetObject"))]
add(case("session: intersection allows", ALLOW, "s3:GetObject", OBJ, caller=ROLE_SESSION, identity=[pol(allow("s3:*"))], session=SESS))
add(case("session: role allows, session does not", IMPLICIT, "s3:PutObject", OBJ, caller=ROLE_SESSION, identity=[pol(allow("s3:*"))], session=SESS))
add(case("session: session allows, role does not", IMPLICIT, "s3:GetObject", OBJ, caller=ROLE_SESSION, identity=[pol(allow("ec2:*"))], session=SESS))
add(case("session: explicit deny in the session policy", DENY, "s3:GetObject", OBJ, caller=ROLE_SESSION, identity=[pol(allow("s3:*"))], session=[pol(allow("*"), deny("s3:GetObject"))]))
add(case("session: union of inline and managed session policies", ALLOW, "s3:PutObject", OBJ, caller=ROLE_SESSION, identity=[pol(allow("s3:*"))], session=[pol(allow("s3:GetObject")), pol(allow("s3:PutObject"))]))
add(case("session: empty session set allows nothing", IMPLICIT, "s3:GetObject", OBJ, caller=ROLE_SESSION, identity=[pol(allow("s3:*"))], session=[]))
add(case("session: with a boundary, all three must allow", IMPLICIT, "s3:GetObject", OBJ, caller=ROLE_SESSION, identity=[pol(allow("s3:*"))], session=SESS, boundary=pol(allow("ec2:*"))))
add(case("session: with a boundary, all three allow", ALLOW, "s3:GetObject", OBJ, caller=ROLE_SESSION, identity=[pol(allow("s3:*"))], session=SESS, boundary=pol(allow("s3:*"))))

# --- 11. Resource-based policies within one account ------------------------------------------
def rp(*statements: dict[str, Any]) -> dict[str, Any]:
    return pol(*statements)


def P(value: Any) -> dict[str, Any]:
    return {"Principal": value}


add(case("resource policy naming the user allows without identity policy", ALLOW, "s3:GetObject", OBJ, resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": ALICE})))))
add(case("resource policy naming the session allows", ALLOW, "s3:GetObject", OBJ, caller=ROLE_SESSION, resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": SESSION})))))
add(case("resource policy naming the role allows (no identity policy)", ALLOW, "s3:GetObject", OBJ, caller=ROLE_SESSION, resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": ROLE})))))
add(case("resource policy naming the role is limited by a boundary", IMPLICIT, "s3:GetObject", OBJ, caller=ROLE_SESSION, boundary=pol(allow("ec2:*")), resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": ROLE})))))
add(case("resource policy naming the session is not limited by a boundary", ALLOW, "s3:GetObject", OBJ, caller=ROLE_SESSION, boundary=pol(allow("ec2:*")), resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": SESSION})))))
add(case("resource policy naming the user is not limited by a boundary", ALLOW, "s3:GetObject", OBJ, boundary=pol(allow("ec2:*")), resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": ALICE})))))
add(case("resource policy naming the role is limited by session policy", IMPLICIT, "s3:GetObject", OBJ, caller=ROLE_SESSION, session=[pol(allow("ec2:*"))], resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": ROLE})))))
add(case("resource policy naming the session ignores session policy", ALLOW, "s3:GetObject", OBJ, caller=ROLE_SESSION, session=[pol(allow("ec2:*"))], resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": SESSION})))))
add(case("resource policy naming the account delegates to IAM", IMPLICIT, "s3:GetObject", OBJ, resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": f"arn:aws:iam::{A}:root"})))))
add(case("account principal plus identity allow", ALLOW, "s3:GetObject", OBJ, identity=[pol(allow("s3:GetObject"))], resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": A})))))
add(case("identity allow alone suffices in one account", ALLOW, "s3:GetObject", OBJ, identity=[pol(allow("s3:GetObject"))], resource_policy=rp(allow("s3:PutObject", OBJ, **P({"AWS": "*"})))))
add(case("resource policy explicit deny beats identity allow", DENY, "s3:GetObject", OBJ, identity=[pol(allow("s3:*"))], resource_policy=rp(deny("s3:*", "arn:aws:s3:::bucket/*", **P("*")))))
add(case("resource policy deny for another principal", ALLOW, "s3:GetObject", OBJ, identity=[pol(allow("s3:*"))], resource_policy=rp(deny("s3:*", "arn:aws:s3:::bucket/*", **P({"AWS": BOB_B})))))
add(case("resource policy principal star allows", ALLOW, "s3:GetObject", OBJ, resource_policy=rp(allow("s3:GetObject", "arn:aws:s3:::bucket/*", **P("*")))))
add(case("resource policy AWS star allows", ALLOW, "s3:GetObject", OBJ, resource_policy=rp(allow("s3:GetObject", "arn:aws:s3:::bucket/*", **P({"AWS": "*"})))))
add(case("resource policy for another user does not allow", IMPLICIT, "s3:GetObject", OBJ, resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": f"arn:aws:iam::{A}:user/bob"})))))
add(case("resource policy wrong action", IMPLICIT, "s3:PutObject", OBJ, resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": ALICE})))))
add(case("resource policy wrong resource", IMPLICIT, "s3:GetObject", "arn:aws:s3:::bucket/other", resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": ALICE})))))
add(case("resource policy with condition satisfied", ALLOW, "s3:GetObject", OBJ, resource_policy=rp(allow("s3:GetObject", OBJ, Principal="*", Condition=cond("IpAddress", "aws:SourceIp", "127.0.0.0/8"))), context={"aws:SourceIp": "127.0.0.1"}))
add(case("resource policy with condition not satisfied", IMPLICIT, "s3:GetObject", OBJ, resource_policy=rp(allow("s3:GetObject", OBJ, Principal="*", Condition=cond("IpAddress", "aws:SourceIp", "10.0.0.0/8"))), context={"aws:SourceIp": "127.0.0.1"}))
VPCE = rp(deny("s3:*", ["arn:aws:s3:::bucket", "arn:aws:s3:::bucket/*"], Principal="*", Condition=cond("StringNotEquals", "aws:SourceVpce", "vpce-1a2b3c4d")))
add(case("SourceVpce deny blocks a client outside the endpoint", DENY, "s3:GetObject", OBJ, identity=[pol(allow("s3:*"))], resource_policy=VPCE))
add(case("SourceVpce deny lets the endpoint through", ALLOW, "s3:GetObject", OBJ, identity=[pol(allow("s3:*"))], resource_policy=VPCE, context={"aws:SourceVpce": "vpce-1a2b3c4d"}))
add(case("SourceVpce deny blocks even the root user", DENY, "s3:GetObject", OBJ, caller=ROOT, resource_policy=VPCE))
add(case("SourceVpce deny, wrong endpoint", DENY, "s3:GetObject", OBJ, identity=[pol(allow("s3:*"))], resource_policy=VPCE, context={"aws:SourceVpce": "vpce-other"}))
ORG = rp(deny("s3:*", "arn:aws:s3:::bucket/*", Principal="*", Condition=cond("StringNotEquals", "aws:PrincipalAccount", A)))
add(case("PrincipalAccount guard: own account", ALLOW, "s3:GetObject", OBJ, identity=[pol(allow("s3:*"))], resource_policy=ORG, context={"aws:PrincipalAccount": A}))
PA = rp(deny("s3:*", "arn:aws:s3:::bucket/*", Principal="*", Condition=cond("ArnNotLike", "aws:PrincipalArn", [f"arn:aws:iam::{A}:role/service-role/*"])))
add(case("PrincipalArn guard: another principal denied", DENY, "s3:GetObject", OBJ, identity=[pol(allow("s3:*"))], resource_policy=PA, context={"aws:PrincipalArn": ALICE}))
add(case("PrincipalArn guard: the service role passes", ALLOW, "s3:GetObject", OBJ, caller=ROLE_SESSION, identity=[pol(allow("s3:*"))], resource_policy=PA, context={"aws:PrincipalArn": f"arn:aws:iam::{A}:role/service-role/AmazonSageMakerProjectsUseRole"}))

# NotPrincipal
NP = rp(deny("s3:*", "arn:aws:s3:::bucket/*", NotPrincipal={"AWS": [ALICE, f"arn:aws:iam::{A}:root"]}))
add(case("NotPrincipal deny spares the listed user", ALLOW, "s3:GetObject", OBJ, identity=[pol(allow("s3:*"))], resource_policy=NP))
add(case("NotPrincipal deny hits everyone else", DENY, "s3:GetObject", OBJ, caller=ROLE_SESSION, identity=[pol(allow("s3:*"))], resource_policy=NP))
add(case("NotPrincipal deny hits anonymous callers", DENY, "s3:GetObject", OBJ, caller=ANON, resource_policy=rp(allow("s3:GetObject", OBJ, Principal="*"), deny("s3:*", "arn:aws:s3:::bucket/*", NotPrincipal={"AWS": ALICE}))))

# Root and anonymous
add(case("root is not limited by (absent) identity policies", ALLOW, "s3:CreateBucket", BUCKET, caller=ROOT))
add(case("root with a resource policy that does not mention it", ALLOW, "s3:GetObject", OBJ, caller=ROOT, resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": ALICE})))))
add(case("anonymous without a resource policy", IMPLICIT, "s3:GetObject", OBJ, caller=ANON))
add(case("anonymous with public read", ALLOW, "s3:GetObject", OBJ, caller=ANON, resource_policy=rp(allow("s3:GetObject", "arn:aws:s3:::bucket/*", Principal="*"))))
add(case("anonymous with public read cannot write", IMPLICIT, "s3:PutObject", OBJ, caller=ANON, resource_policy=rp(allow("s3:GetObject", "arn:aws:s3:::bucket/*", Principal="*"))))
add(case("anonymous not matched by an account principal", IMPLICIT, "s3:GetObject", OBJ, caller=ANON, resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": A})))))
add(case("anonymous denied explicitly", DENY, "s3:GetObject", OBJ, caller=ANON, resource_policy=rp(allow("s3:GetObject", OBJ, Principal="*"), deny("s3:GetObject", OBJ, Principal="*"))))

# --- 12. Cross-account -----------------------------------------------------------------------
XB = {"owner": B}
add(case("cross-account: identity alone is not enough", IMPLICIT, "s3:GetObject", OBJ, identity=[pol(allow("s3:*"))], **XB))
add(case("cross-account: resource policy alone is not enough", IMPLICIT, "s3:GetObject", OBJ, resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": ALICE}))), **XB))
add(case("cross-account: both allow", ALLOW, "s3:GetObject", OBJ, identity=[pol(allow("s3:GetObject"))], resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": ALICE}))), **XB))
add(case("cross-account: account principal and identity allow", ALLOW, "s3:GetObject", OBJ, identity=[pol(allow("s3:GetObject"))], resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": A}))), **XB))
add(case("cross-account: resource policy for another account", IMPLICIT, "s3:GetObject", OBJ, identity=[pol(allow("s3:GetObject"))], resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": "444455556666"}))), **XB))
add(case("cross-account: deny in the resource policy", DENY, "s3:GetObject", OBJ, identity=[pol(allow("s3:*"))], resource_policy=rp(allow("s3:*", "arn:aws:s3:::bucket/*", **P({"AWS": A})), deny("s3:GetObject", OBJ, **P("*"))), **XB))
add(case("cross-account: the other root needs the resource policy", IMPLICIT, "s3:GetObject", OBJ, caller=ROOT, **XB))
add(case("cross-account: the other root with the resource policy", ALLOW, "s3:GetObject", OBJ, caller=ROOT, resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": A}))), **XB))
add(case("cross-account: session with a boundary", IMPLICIT, "s3:GetObject", OBJ, caller=ROLE_SESSION, identity=[pol(allow("s3:*"))], boundary=pol(allow("ec2:*")), resource_policy=rp(allow("s3:GetObject", OBJ, **P({"AWS": SESSION}))), **XB))
add(case("cross-account: KMS key policy with account root and identity allow", ALLOW, "kms:Decrypt", f"arn:aws:kms:us-east-1:{B}:key/k", identity=[pol(allow("kms:Decrypt", f"arn:aws:kms:*:{B}:key/*"))], resource_policy=rp(allow("kms:*", "*", **P({"AWS": f"arn:aws:iam::{A}:root"}))), owner=B))
add(case("same account KMS: key policy delegates to IAM", ALLOW, "kms:Decrypt", f"arn:aws:kms:us-east-1:{A}:key/k", identity=[pol(allow("kms:Decrypt"))], resource_policy=rp(allow("kms:*", "*", **P({"AWS": f"arn:aws:iam::{A}:root"}))), required=True))
add(case("same account KMS: delegation without an identity allow", IMPLICIT, "kms:Decrypt", f"arn:aws:kms:us-east-1:{A}:key/k", resource_policy=rp(allow("kms:*", "*", **P({"AWS": f"arn:aws:iam::{A}:root"}))), required=True))
add(case("same account KMS: a key policy without the IAM statement blocks identity allows", IMPLICIT, "kms:Decrypt", f"arn:aws:kms:us-east-1:{A}:key/k", identity=[pol(allow("kms:Decrypt"))], resource_policy=rp(allow("kms:*", "*", **P({"AWS": ROLE}))), required=True))
add(case("same account KMS: key policy naming the role", ALLOW, "kms:Decrypt", f"arn:aws:kms:us-east-1:{A}:key/k", caller=ROLE_SESSION, resource_policy=rp(allow("kms:*", "*", **P({"AWS": ROLE}))), required=True))
add(case("same account KMS: no key policy at all", IMPLICIT, "kms:Decrypt", f"arn:aws:kms:us-east-1:{A}:key/k", identity=[pol(allow("kms:*"))], required=True))
add(case("Lambda resource policy lets a service invoke", ALLOW, "lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{A}:function:f", caller=("service", "events.amazonaws.com", "", None), resource_policy=rp(allow("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{A}:function:f", **P({"Service": "events.amazonaws.com"})))))
add(case("Lambda resource policy for another service", IMPLICIT, "lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{A}:function:f", caller=("service", "s3.amazonaws.com", "", None), resource_policy=rp(allow("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{A}:function:f", **P({"Service": "events.amazonaws.com"})))))
add(case("Lambda resource policy with SourceArn condition", ALLOW, "lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{A}:function:f", caller=("service", "events.amazonaws.com", "", None), resource_policy=rp(allow("lambda:InvokeFunction", "*", Principal={"Service": "events.amazonaws.com"}, Condition=cond("ArnLike", "aws:SourceArn", f"arn:aws:events:us-east-1:{A}:rule/*"))), context={"aws:SourceArn": f"arn:aws:events:us-east-1:{A}:rule/r"}))

# --- 13. Role trust policies ----------------------------------------------------------------
def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return pol(*statements)


def tallow(principal: Any, action: Any = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, **extra}


T = {"trust": True}
add(case("trust: account principal needs the identity allow", IMPLICIT, "sts:AssumeRole", ROLE, resource_policy=trust(tallow({"AWS": A})), **T))
add(case("trust: account principal with identity allow", ALLOW, "sts:AssumeRole", ROLE, identity=[pol(allow("sts:AssumeRole", ROLE))], resource_policy=trust(tallow({"AWS": f"arn:aws:iam::{A}:root"})), **T))
add(case("trust: naming the user directly", ALLOW, "sts:AssumeRole", ROLE, resource_policy=trust(tallow({"AWS": ALICE})), **T))
add(case("trust: identity allow without trust", IMPLICIT, "sts:AssumeRole", ROLE, identity=[pol(allow("sts:AssumeRole"))], resource_policy=trust(tallow({"AWS": f"arn:aws:iam::{A}:user/bob"})), **T))
add(case("trust: no role at all", IMPLICIT, "sts:AssumeRole", ROLE, identity=[pol(allow("sts:AssumeRole"))], **T))
add(case("trust: root of the account named", ALLOW, "sts:AssumeRole", ROLE, caller=ROOT, resource_policy=trust(tallow({"AWS": f"arn:aws:iam::{A}:root"})), **T))
add(case("trust: root not named", IMPLICIT, "sts:AssumeRole", ROLE, caller=ROOT, resource_policy=trust(tallow({"Service": "sagemaker.amazonaws.com"})), **T))
add(case("trust: service principal sagemaker", ALLOW, "sts:AssumeRole", ROLE, caller=SAGEMAKER, resource_policy=trust(tallow({"Service": "sagemaker.amazonaws.com"})), **T))
add(case("trust: service principal list", ALLOW, "sts:AssumeRole", ROLE, caller=("service", "cloudformation.amazonaws.com", "", None), resource_policy=trust(tallow({"Service": ["sagemaker.amazonaws.com", "cloudformation.amazonaws.com"]})), **T))
add(case("trust: another service", IMPLICIT, "sts:AssumeRole", ROLE, caller=LAMBDA_SVC, resource_policy=trust(tallow({"Service": "sagemaker.amazonaws.com"})), **T))
add(case("trust: service with SourceAccount condition", ALLOW, "sts:AssumeRole", ROLE, caller=SAGEMAKER, resource_policy=trust(tallow({"Service": "sagemaker.amazonaws.com"}, Condition=cond("StringEquals", "aws:SourceAccount", A))), context={"aws:SourceAccount": A}, **T))
add(case("trust: service with the wrong SourceAccount", IMPLICIT, "sts:AssumeRole", ROLE, caller=SAGEMAKER, resource_policy=trust(tallow({"Service": "sagemaker.amazonaws.com"}, Condition=cond("StringEquals", "aws:SourceAccount", A))), context={"aws:SourceAccount": B}, **T))
add(case("trust: cross-account user named, identity allows", ALLOW, "sts:AssumeRole", ROLE, caller=USER_B, identity=[pol(allow("sts:AssumeRole", ROLE))], resource_policy=trust(tallow({"AWS": BOB_B})), **T))
add(case("trust: cross-account user named, no identity allow", IMPLICIT, "sts:AssumeRole", ROLE, caller=USER_B, resource_policy=trust(tallow({"AWS": BOB_B})), **T))
add(case("trust: cross-account account named", ALLOW, "sts:AssumeRole", ROLE, caller=USER_B, identity=[pol(allow("sts:AssumeRole"))], resource_policy=trust(tallow({"AWS": B})), **T))
add(case("trust: cross-account other account named", IMPLICIT, "sts:AssumeRole", ROLE, caller=USER_B, identity=[pol(allow("sts:AssumeRole"))], resource_policy=trust(tallow({"AWS": "444455556666"})), **T))
add(case("trust: ExternalId matches", ALLOW, "sts:AssumeRole", ROLE, caller=USER_B, identity=[pol(allow("sts:AssumeRole"))], resource_policy=trust(tallow({"AWS": B}, Condition=cond("StringEquals", "sts:ExternalId", "abc"))), context={"sts:ExternalId": "abc"}, **T))
add(case("trust: ExternalId missing", IMPLICIT, "sts:AssumeRole", ROLE, caller=USER_B, identity=[pol(allow("sts:AssumeRole"))], resource_policy=trust(tallow({"AWS": B}, Condition=cond("StringEquals", "sts:ExternalId", "abc"))), **T))
add(case("trust: role chaining, trust names the role", ALLOW, "sts:AssumeRole", f"arn:aws:iam::{A}:role/Use", caller=ROLE_SESSION, resource_policy=trust(tallow({"AWS": ROLE})), **T))
add(case("trust: deny statement in the trust policy", DENY, "sts:AssumeRole", ROLE, resource_policy=trust(tallow({"AWS": ALICE}), {"Effect": "Deny", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole", "Condition": cond("Bool", "aws:MultiFactorAuthPresent", "false")}), context={"aws:MultiFactorAuthPresent": "false"}, **T))
add(case("trust: TagSession allowed", ALLOW, "sts:TagSession", ROLE, resource_policy=trust(tallow({"AWS": ALICE}, ["sts:AssumeRole", "sts:TagSession"])), **T))
add(case("trust: TagSession not allowed", IMPLICIT, "sts:TagSession", ROLE, resource_policy=trust(tallow({"AWS": ALICE})), **T))
add(case("trust: session tags restricted by condition", ALLOW, "sts:TagSession", ROLE, resource_policy=trust(tallow({"AWS": ALICE}, "sts:TagSession", Condition=cond("StringLike", "aws:RequestTag/project", "*"))), context={"aws:RequestTag/project": "p1"}, **T))
add(case("trust: identity deny on AssumeRole beats a direct trust", DENY, "sts:AssumeRole", ROLE, identity=[pol(deny("sts:AssumeRole"))], resource_policy=trust(tallow({"AWS": ALICE})), **T))
add(case("trust: wildcard principal with a PrincipalArn condition", ALLOW, "sts:AssumeRole", ROLE, resource_policy=trust(tallow({"AWS": "*"}, Condition=cond("ArnLike", "aws:PrincipalArn", f"arn:aws:iam::{A}:user/*"))), context={"aws:PrincipalArn": ALICE}, **T))

# --- 14. PassRole ---------------------------------------------------------------------------
LAUNCH = f"arn:aws:iam::{A}:role/service-role/AmazonSageMakerProjectsLaunchRole"
PASS = pol(allow("iam:PassRole", LAUNCH, Condition=cond("StringEquals", "iam:PassedToService", "servicecatalog.amazonaws.com")))
add(case("PassRole to the named service", ALLOW, "iam:PassRole", LAUNCH, identity=[PASS], context={"iam:PassedToService": "servicecatalog.amazonaws.com"}))
add(case("PassRole to another service", IMPLICIT, "iam:PassRole", LAUNCH, identity=[PASS], context={"iam:PassedToService": "lambda.amazonaws.com"}))
add(case("PassRole of another role", IMPLICIT, "iam:PassRole", ROLE, identity=[PASS], context={"iam:PassedToService": "servicecatalog.amazonaws.com"}))
add(case("PassRole with StringLike service", ALLOW, "iam:PassRole", LAUNCH, identity=[pol(allow("iam:PassRole", "*", Condition=cond("StringLike", "iam:PassedToService", "*.amazonaws.com")))], context={"iam:PassedToService": "sagemaker.amazonaws.com"}))
add(case("PassRole wildcard action iam:Pass*", ALLOW, "iam:PassRole", LAUNCH, identity=[pol(allow("iam:Pass*", LAUNCH))]))
add(case("PassRole is not implied by iam:Get*", IMPLICIT, "iam:PassRole", LAUNCH, identity=[pol(allow("iam:Get*"))]))

# --- 15. Least privilege for SageMaker projects ---------------------------------------------
DS = pol(allow("sagemaker:CreateProject"), allow("iam:PassRole", LAUNCH))
add(case("data scientist may create a project", ALLOW, "sagemaker:CreateProject", f"arn:aws:sagemaker:us-east-1:{A}:project/p", identity=[DS]))
add(case("data scientist may pass the launch role", ALLOW, "iam:PassRole", LAUNCH, identity=[DS]))
add(case("data scientist may not create a bucket", IMPLICIT, "s3:CreateBucket", BUCKET, identity=[DS]))
add(case("data scientist may not pass another role", IMPLICIT, "iam:PassRole", ROLE, identity=[DS]))
add(case("data scientist may not delete a project", IMPLICIT, "sagemaker:DeleteProject", f"arn:aws:sagemaker:us-east-1:{A}:project/p", identity=[DS]))
