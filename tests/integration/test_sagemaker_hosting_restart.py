"""An endpoint in service survives a server restart: its fleet comes back and answers the same."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import isolated_database_url, start_server, stop_server
from tests.integration.test_sagemaker_hosting import (
    IMAGE,
    TRUST,
    _csv,
    _model_bytes,
    _tarball,
    _train,
)


@pytest.fixture
def data_dir(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return tmp_path_factory.mktemp("hosting-restart") / "data"


def test_endpoint_serves_again_after_restart(data_dir) -> None:  # type: ignore[no-untyped-def]
    database = isolated_database_url()
    live = start_server(data_dir, database)
    try:
        iam, s3, sm = live.client("iam"), live.client("s3"), live.client("sagemaker")
        role = iam.create_role(RoleName="exec", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        iam.put_role_policy(RoleName="exec", PolicyName="s3", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
        s3.create_bucket(Bucket="models")
        booster, x = _train(3)
        s3.put_object(Bucket="models", Key="m/model.tar.gz", Body=_tarball({"xgboost-model": _model_bytes(booster)}))
        sm.create_model(ModelName="m", ExecutionRoleArn=role, PrimaryContainer={
            "Image": IMAGE, "ModelDataUrl": "s3://models/m/model.tar.gz"})
        sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
        sm.create_endpoint(EndpointName="e", EndpointConfigName="c")
        while sm.describe_endpoint(EndpointName="e")["EndpointStatus"] == "Creating":
            time.sleep(0.2)
        before = live.client("sagemaker-runtime").invoke_endpoint(
            EndpointName="e", ContentType="text/csv", Body=_csv(x[:2]))["Body"].read()
    finally:
        stop_server(live)
    port = int(live.endpoint.rsplit(":", 1)[1])
    live = start_server(data_dir, database, port=port)
    try:
        assert live.client("sagemaker").describe_endpoint(EndpointName="e")["EndpointStatus"] == "InService"
        # The first request waits while the fleet starts again.
        after = live.client("sagemaker-runtime").invoke_endpoint(
            EndpointName="e", ContentType="text/csv", Body=_csv(x[:2]))["Body"].read()
        assert after == before
    finally:
        stop_server(live)
