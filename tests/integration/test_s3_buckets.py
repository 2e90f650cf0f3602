"""S3 buckets through boto3: naming, regions, listing, deletion, and the configuration documents
(tagging, versioning, CORS with real preflights, policy with anonymous access, public access
block, default encryption, lifecycle, ACLs)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from collections.abc import Iterator

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveServer
from tests.integration.test_s3_support import code, empty_bucket, status

STUDIO_ORIGIN = "https://d-abc123xyz.studio.us-east-1.sagemaker.aws"
CORS_RULES = [
    {
        "AllowedHeaders": ["*"],
        "AllowedMethods": ["POST", "PUT", "GET", "HEAD", "DELETE"],
        "AllowedOrigins": ["https://*.sagemaker.aws"],
        "ExposeHeaders": ["ETag", "x-amz-delete-marker", "x-amz-id-2", "x-amz-request-id", "x-amz-server-side-encryption", "x-amz-version-id"],
        "MaxAgeSeconds": 3000,
    }
]


@pytest.fixture
def s3(server: LiveServer):  # type: ignore[no-untyped-def]
    return server.client("s3")


@pytest.fixture
def bucket(s3) -> Iterator[str]:  # type: ignore[no-untyped-def]
    name = f"bkt-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    empty_bucket(s3, name)


# --- lifecycle of buckets ------------------------------------------------------------------


def test_create_head_list_delete(s3) -> None:
    name = f"life-{uuid.uuid4().hex[:10]}"
    created = s3.create_bucket(Bucket=name)
    assert created["Location"] == f"/{name}"
    head = s3.head_bucket(Bucket=name)
    assert head["BucketRegion"] == "us-east-1"
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=name)
    assert code(exc) == "BucketAlreadyOwnedByYou" and status(exc) == 409
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=name)
    assert code(exc) == "BucketNotEmpty" and status(exc) == 409
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=name)
    assert code(exc) == "404"
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=name)
    assert code(exc) == "NoSuchBucket" and exc.value.response["Error"]["BucketName"] == name


def test_region_constraint(server: LiveServer) -> None:
    west = server.client("s3", region_name="eu-west-1")
    name = f"euw-{uuid.uuid4().hex[:10]}"
    west.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    try:
        assert west.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
        assert west.head_bucket(Bucket=name)["BucketRegion"] == "eu-west-1"
        listed = {b["Name"]: b for b in west.list_buckets(BucketRegion="eu-west-1")["Buckets"]}
        assert listed[name]["BucketRegion"] == "eu-west-1"
    finally:
        west.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as exc:
        west.create_bucket(Bucket=name)
    assert code(exc) == "IllegalLocationConstraintException"
    with pytest.raises(ClientError) as exc:
        server.client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    assert code(exc) == "InvalidLocationConstraint"


@pytest.mark.parametrize("name", ["ab", "UPPER", "under_score", "a..b", "192.168.1.1", "-leading", "x" * 64, "xn--punycode"])
def test_invalid_bucket_names(s3, name: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=name)
    assert code(exc) == "InvalidBucketName"


def test_list_buckets_pagination(s3) -> None:
    names = [f"page-{uuid.uuid4().hex[:8]}-{i}" for i in range(3)]
    for name in names:
        s3.create_bucket(Bucket=name)
    try:
        seen: list[str] = []
        kwargs: dict = {"MaxBuckets": 1, "Prefix": "page-"}
        while True:
            page = s3.list_buckets(**kwargs)
            seen += [b["Name"] for b in page["Buckets"]]
            if "ContinuationToken" not in page:
                break
            kwargs["ContinuationToken"] = page["ContinuationToken"]
        assert set(names) <= set(seen)
    finally:
        for name in names:
            s3.delete_bucket(Bucket=name)


# --- configuration documents ---------------------------------------------------------------


def test_bucket_tagging(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code(exc) == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "project", "Value": "abalone"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "project", "Value": "abalone"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError) as exc:  # the document's checksum is checked too
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}, ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
    assert code(exc) == "BadDigest"


def test_versioning_configuration(s3, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


def test_default_encryption_and_kms(s3, bucket: str) -> None:
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"x")["ServerSideEncryption"] == "AES256"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", SSEKMSKeyId="alias/aws/s3")
    assert code(exc) == "InvalidArgument"
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/project-missing"}, "BucketKeyEnabled": True}]
        },
    )
    stored = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert stored["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/project-missing"}
    assert stored["BucketKeyEnabled"] is True
    with pytest.raises(ClientError) as exc:  # the default names a KMS key that does not exist
        s3.put_object(Bucket=bucket, Key="k2", Body=b"x")
    assert code(exc) == "KMS.NotFoundException" and status(exc) == 400
    s3.delete_bucket_encryption(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k2", Body=b"x")


def test_bytes_on_disk_are_encrypted(server: LiveServer, s3, bucket: str) -> None:
    secret = b"a very recognisable plaintext marker " * 50
    s3.put_object(Bucket=bucket, Key="secret", Body=secret)
    blobs = server.data_dir / "s3" / "blobs"
    if not blobs.exists():
        pytest.skip("this server keeps object bytes in an external store")
    for path in blobs.rglob("*"):
        if path.is_file():
            assert b"recognisable plaintext" not in path.read_bytes()


def test_lifecycle_is_stored(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert code(exc) == "NoSuchLifecycleConfiguration"
    rules = [{"ID": "expire-tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 7}}]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == rules
    dated = [{"ID": "on-a-day", "Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Date": datetime(2030, 1, 1, tzinfo=timezone.utc)}}]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": dated})
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]["Expiration"]["Date"].year == 2030
    s3.delete_bucket_lifecycle(Bucket=bucket)


def test_acls_are_owner_only(s3, bucket: str) -> None:
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    assert acl["Grants"][0]["Grantee"]["ID"] == acl["Owner"]["ID"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
    assert code(exc) == "AccessControlListNotSupported"
    assert s3.get_object_acl(Bucket=bucket, Key="k")["Owner"] == acl["Owner"]


# --- CORS ----------------------------------------------------------------------------------


def test_cors_configuration_and_preflight(server: LiveServer, s3, bucket: str) -> None:
    url = f"{server.endpoint}/{bucket}/templates/project.yaml"
    preflight_headers = {"Origin": STUDIO_ORIGIN, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type,x-amz-date"}
    response = httpx.options(url, headers=preflight_headers)
    assert response.status_code == 403 and "CORS is not enabled" in response.text
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_cors(Bucket=bucket)
    assert code(exc) == "NoSuchCORSConfiguration"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": CORS_RULES})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == CORS_RULES

    response = httpx.options(url, headers=preflight_headers)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == STUDIO_ORIGIN
    assert "PUT" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "content-type, x-amz-date"
    assert response.headers["access-control-max-age"] == "3000"
    assert "ETag" in response.headers["access-control-expose-headers"]
    assert response.headers["access-control-allow-credentials"] == "true"

    denied = httpx.options(url, headers=dict(preflight_headers, Origin="https://evil.example.com"))
    assert denied.status_code == 403 and "AccessForbidden" in denied.text
    assert httpx.options(url, headers={"Access-Control-Request-Method": "GET"}).status_code == 400

    # An ordinary signed request from that origin gets the CORS headers too.
    s3.put_object(Bucket=bucket, Key="templates/project.yaml", Body=b"x")
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "templates/project.yaml"})
    got = httpx.get(get_url, headers={"Origin": STUDIO_ORIGIN})
    assert got.status_code == 200
    assert got.headers["access-control-allow-origin"] == STUDIO_ORIGIN
    assert "x-amz-version-id" in got.headers["access-control-expose-headers"]
    other = httpx.get(get_url, headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers

    s3.delete_bucket_cors(Bucket=bucket)
    assert httpx.options(url, headers=preflight_headers).status_code == 403


def test_cors_validation(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{"AllowedMethods": ["PATCH"], "AllowedOrigins": ["*"]}]})
    assert code(exc) == "InvalidRequest"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]})


def test_preflight_for_missing_bucket(server: LiveServer) -> None:
    response = httpx.options(f"{server.endpoint}/no-such-bucket-here/k", headers={"Origin": STUDIO_ORIGIN, "Access-Control-Request-Method": "GET"})
    assert response.status_code == 403


# --- policy, public access, anonymous callers ----------------------------------------------


def public_read(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/public/*"}],
        }
    )


def test_anonymous_access_follows_the_bucket_policy(server: LiveServer, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="public/readme.txt", Body=b"hello world")
    s3.put_object(Bucket=bucket, Key="private/secret.txt", Body=b"secret")
    url = f"{server.endpoint}/{bucket}/public/readme.txt"
    assert httpx.get(url).status_code == 403
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))
    assert code(exc) == "AccessDenied"
    s3.delete_public_access_block(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.get_public_access_block(Bucket=bucket)
    assert code(exc) == "NoSuchPublicAccessBlockConfiguration"
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(public_read(bucket))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == b"hello world"
    assert httpx.get(f"{server.endpoint}/{bucket}/private/secret.txt").status_code == 403
    assert httpx.put(f"{server.endpoint}/{bucket}/public/new.txt", content=b"x").status_code == 403
    assert httpx.get(f"{server.endpoint}/{bucket}?list-type=2").status_code == 403
    # RestrictPublicBuckets makes the public statement grant nothing.
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": True},
    )
    assert httpx.get(url).status_code == 403
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_policy(Bucket=bucket)
    assert code(exc) == "NoSuchBucketPolicy"


def test_malformed_policy(s3, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_policy(Bucket=bucket, Policy="not json")
    assert code(exc) == "MalformedPolicy"


def test_users_of_the_owning_account_need_an_iam_grant(server: LiveServer, s3, bucket: str) -> None:
    """Within the bucket's account, IAM decides: a user with no policy is denied, one allowed
    ``s3:GetObject`` on the bucket reads."""
    iam = server.client("iam")
    name = f"reader-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    user = server.client("s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        user.get_object(Bucket=bucket, Key="k")
    assert code(exc) == "AccessDenied"
    iam.put_user_policy(
        UserName=name,
        PolicyName="read",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}
        ),
    )
    assert user.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
