"""S3 response documents carry S3's own root element names, in S3's namespace."""

from __future__ import annotations

from xml.etree import ElementTree

import botocore.session
import pytest
from botocore.parsers import create_parser

from seedbed.protocol import rest_xml

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
MODEL = botocore.session.get_session().get_service_model("s3")


@pytest.mark.parametrize(
    ("operation", "output", "root"),
    [
        ("ListObjectsV2", {"Name": "b", "KeyCount": 0, "IsTruncated": False}, "ListBucketResult"),
        ("ListObjects", {"Name": "b", "IsTruncated": False}, "ListBucketResult"),
        ("ListObjectVersions", {"Name": "b", "IsTruncated": False}, "ListVersionsResult"),
        ("ListBuckets", {"Buckets": [{"Name": "b"}]}, "ListAllMyBucketsResult"),
        ("GetBucketTagging", {"TagSet": [{"Key": "k", "Value": "v"}]}, "Tagging"),
        ("DeleteObjects", {"Deleted": [{"Key": "k"}]}, "DeleteResult"),
        ("CreateMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "u"}, "InitiateMultipartUploadResult"),
        ("CompleteMultipartUpload", {"Bucket": "b", "Key": "k", "ETag": '"e"'}, "CompleteMultipartUploadResult"),
        ("GetBucketVersioning", {"Status": "Enabled"}, "VersioningConfiguration"),
        ("GetBucketCors", {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}, "CORSConfiguration"),
        ("GetObjectAcl", {"Owner": {"ID": "x"}, "Grants": []}, "AccessControlPolicy"),
        ("UploadPartCopy", {"CopyPartResult": {"ETag": '"e"'}}, "CopyPartResult"),
        ("GetPublicAccessBlock", {"PublicAccessBlockConfiguration": {"BlockPublicAcls": True}}, "PublicAccessBlockConfiguration"),
        ("GetBucketPolicyStatus", {"PolicyStatus": {"IsPublic": False}}, "PolicyStatus"),
        ("GetObjectAttributes", {"ETag": "e"}, "GetObjectAttributesResponse"),
    ],
)
def test_root_element_names(operation: str, output: dict, root: str) -> None:
    model = MODEL.operation_model(operation)
    response = rest_xml.serialize_response(model, dict(output), "req-1")
    element = ElementTree.fromstring(response.body)
    assert element.tag == NS + root
    parsed = create_parser("rest-xml").parse(
        {"status_code": 200, "headers": dict(response.headers), "body": response.body}, model.output_shape
    )
    first = next(iter(output))
    assert parsed[first] == output[first] or parsed[first]
