"""Which AWS services Seedbed answers for, and where their providers live.

Every service in :data:`KNOWN_SERVICES` is routed and parsed from its botocore model; one without a
provider (or an operation its provider lacks) answers a clear "not implemented" error instead of a
500. Providers are imported lazily so that an unused service costs no start-up time.
"""

from __future__ import annotations

import importlib

#: botocore service name -> "module:Class" of its provider.
PROVIDERS: dict[str, str] = {
    "sts": "seedbed.services.sts.provider:StsProvider",
    "iam": "seedbed.services.iam.provider:IamProvider",
    "cloudtrail": "seedbed.services.cloudtrail.provider:CloudTrailProvider",
    "s3": "seedbed.services.s3.provider:S3Provider",
    "cloudformation": "seedbed.services.cloudformation.provider:CloudFormationProvider",
    "kms": "seedbed.services.kms.provider:KmsProvider",
    "secretsmanager": "seedbed.services.secretsmanager.provider:SecretsManagerProvider",
    "ssm": "seedbed.services.ssm.provider:SsmProvider",
    "sagemaker": "seedbed.services.sagemaker.provider:SageMakerProvider",
    "sagemaker-runtime": "seedbed.services.sagemaker_runtime.provider:SageMakerRuntimeProvider",
    "lambda": "seedbed.services.awslambda.provider:LambdaProvider",
    "events": "seedbed.services.events.provider:EventsProvider",
    "logs": "seedbed.services.logs.provider:LogsProvider",
    "cloudwatch": "seedbed.services.cloudwatch.provider:CloudWatchProvider",
    "codecommit": "seedbed.services.codecommit.provider:CodeCommitProvider",
    "codeconnections": "seedbed.services.codeconnections.provider:CodeConnectionsProvider",
    "codestar-connections": "seedbed.services.codeconnections.provider:CodeStarConnectionsProvider",
    "codebuild": "seedbed.services.codebuild.provider:CodeBuildProvider",
    "codepipeline": "seedbed.services.codepipeline.provider:CodePipelineProvider",
}

#: Services whose provider has ``async resume()``: called in this order at start-up to pick up the
#: long operations (stacks, projects, jobs, pipelines, builds, event deliveries and schedules)
#: that a crash interrupted, and the timers (alarm evaluation, log retention) that run on their own.
RESUMABLE: tuple[str, ...] = (
    "cloudformation", "sagemaker", "codebuild", "codepipeline", "events", "logs", "cloudwatch",
)

#: Services routed even before they have a provider: what SageMaker project templates use.
KNOWN_SERVICES: tuple[str, ...] = (
    "s3",
    "sts",
    "iam",
    "cloudtrail",
    "sagemaker",
    "sagemaker-runtime",
    "cloudformation",
    "events",
    "lambda",
    "codebuild",
    "codepipeline",
    "codecommit",
    "codeconnections",
    "codestar-connections",
    "kms",
    "secretsmanager",
    "ssm",
    "logs",
    "cloudwatch",
    "servicecatalog",
)


def load_provider_class(service: str) -> type | None:
    target = PROVIDERS.get(service)
    if target is None:
        return None
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:  # a provider not built yet answers "not implemented"
        if exc.name is not None and module_name.startswith(exc.name):
            return None
        raise
    return getattr(module, class_name)


def import_all_stores() -> None:
    """Import every service's ``store`` module so that all tables are declared on the metadata
    (used by schema checks; the server itself imports stores as providers load)."""
    import pkgutil

    import seedbed.services as services

    for info in pkgutil.walk_packages(services.__path__, "seedbed.services."):
        if info.ispkg:
            try:
                importlib.import_module(f"{info.name}.store")
            except ModuleNotFoundError as exc:
                if exc.name != f"{info.name}.store":
                    raise
