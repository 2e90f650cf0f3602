"""SageMaker hosting as boto3, CloudFormation and the SageMaker SDK meet it: a tiny XGBoost model
trained here is deployed, answers the predictions xgboost itself gives, is replaced blue/green under
a steady stream of requests without a failure, captures data to S3, and reports model errors."""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
import uuid

import numpy as np
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError

from tests.conftest import LiveServer

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _train(seed: int, rounds: int = 8) -> tuple[xgb.Booster, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((300, 8))
    y = x[:, 0] * (3 + seed) + x[:, 1]
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 3}, xgb.DMatrix(x, y), rounds)
    return booster, x


def _model_bytes(booster: xgb.Booster) -> bytes:
    return bytes(booster.save_raw("ubj"))


@pytest.fixture(scope="module")
def setup(server: LiveServer):  # type: ignore[no-untyped-def]
    iam, s3 = server.client("iam"), server.client("s3")
    suffix = uuid.uuid4().hex[:8]
    role = iam.create_role(RoleName=f"sm-exec-{suffix}", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=f"sm-exec-{suffix}", PolicyName="s3", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    bucket = f"hosting-{suffix}"
    s3.create_bucket(Bucket=bucket)
    boosters = {}
    for seed in (1, 2):
        booster, x = _train(seed)
        boosters[seed] = (booster, x)
        s3.put_object(Bucket=bucket, Key=f"m{seed}/model.tar.gz",
                      Body=_tarball({"xgboost-model": _model_bytes(booster)}))
    return {"role": role, "bucket": bucket, "boosters": boosters, "suffix": suffix}


def _wait(sm, name: str, want: str = "InService", timeout: float = 90) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        out = sm.describe_endpoint(EndpointName=name)
        if out["EndpointStatus"] not in ("Creating", "Updating", "RollingBack") or time.monotonic() > deadline:
            assert out["EndpointStatus"] == want, out
            return out
        time.sleep(0.25)


def _deploy(sm, setup, name: str, seed: int, **config) -> str:  # type: ignore[no-untyped-def]
    model = f"{name}-m{seed}"
    sm.create_model(ModelName=model, ExecutionRoleArn=setup["role"], PrimaryContainer={
        "Image": IMAGE, "ModelDataUrl": f"s3://{setup['bucket']}/m{seed}/model.tar.gz"})
    cfg = f"{name}-c{seed}"
    variant = {"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1,
               "InstanceType": "ml.m5.large"}
    sm.create_endpoint_config(EndpointConfigName=cfg, ProductionVariants=[variant], **config)
    return cfg


def _csv(rows: np.ndarray) -> str:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows)


def test_deploy_and_invoke_matches_xgboost(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]
    sm, rt = server.client("sagemaker"), server.client("sagemaker-runtime")
    name = f"ep-{setup['suffix']}-a"
    cfg = _deploy(sm, setup, name, 1)
    arn = sm.create_endpoint(EndpointName=name, EndpointConfigName=cfg, Tags=[{"Key": "t", "Value": "1"}])["EndpointArn"]
    assert arn.endswith(f":endpoint/{name}")
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Creating"
    described = _wait(sm, name)
    variant = described["ProductionVariants"][0]
    assert variant["VariantName"] == "AllTraffic" and variant["CurrentInstanceCount"] == 1
    assert variant["CurrentWeight"] == 1.0 and variant["DeployedImages"][0]["SpecifiedImage"] == IMAGE
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "t", "Value": "1"}]
    booster, x = setup["boosters"][1]
    rows = x[:5]
    expected = booster.predict(xgb.DMatrix(rows))
    out = rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=_csv(rows))
    assert out["ContentType"] == "text/csv" and out["InvokedProductionVariant"] == "AllTraffic"
    got = [float(v) for v in out["Body"].read().decode().split(",")]
    assert np.allclose(got, expected, rtol=1e-5)
    out = rt.invoke_endpoint(EndpointName=name, ContentType="application/json", Accept="application/json",
                             Body=json.dumps({"instances": rows[:2].tolist()}))
    scores = [p["score"] for p in json.loads(out["Body"].read())["predictions"]]
    assert np.allclose(scores, expected[:2], rtol=1e-5)
    out = rt.invoke_endpoint(EndpointName=name, ContentType="text/libsvm",
                             Body=" ".join(f"{i}:{v!r}" for i, v in enumerate(rows[0].tolist())))
    assert np.isclose(float(out["Body"].read()), expected[0], rtol=1e-5)
    names = [e["EndpointName"] for e in sm.list_endpoints(NameContains=name)["Endpoints"]]
    assert names == [name]
    with pytest.raises(ClientError) as err:
        rt.invoke_endpoint(EndpointName=name, ContentType="application/x-recordio-protobuf", Body=b"xx")
    assert err.value.response["Error"]["Code"] == "ModelError"
    assert err.value.response["OriginalStatusCode"] == 415
    with pytest.raises(ClientError) as err:
        rt.invoke_endpoint(EndpointName="no-such-endpoint", ContentType="text/csv", Body="1")
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert "Endpoint no-such-endpoint of account" in err.value.response["Error"]["Message"]
    sm.delete_endpoint(EndpointName=name)
    with pytest.raises(ClientError):
        sm.describe_endpoint(EndpointName=name)


def _score(rt, name: str, row: str) -> float:  # type: ignore[no-untyped-def]
    return float(rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=row)["Body"].read())


def test_blue_green_update_under_steady_traffic(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]
    sm, rt = server.client("sagemaker"), server.client("sagemaker-runtime")
    name = f"ep-{setup['suffix']}-bg"
    cfg1 = _deploy(sm, setup, name, 1)
    cfg2 = _deploy(sm, setup, name, 2)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=cfg1)
    _wait(sm, name)
    row = _csv(setup["boosters"][1][1][:1])
    old, new = _score(rt, name, row), None
    results: list[float] = []
    failures: list[str] = []
    stop = threading.Event()
    client = server.client("sagemaker-runtime")

    def stream() -> None:
        while not stop.is_set():
            try:
                results.append(_score(client, name, row))
            except Exception as exc:  # noqa: BLE001 - every failure counts
                failures.append(repr(exc))

    thread = threading.Thread(target=stream)
    thread.start()
    time.sleep(0.5)
    sm.update_endpoint(EndpointName=name, EndpointConfigName=cfg2)
    during = sm.describe_endpoint(EndpointName=name)
    assert during["EndpointStatus"] == "Updating"
    assert during["PendingDeploymentSummary"]["EndpointConfigName"] == cfg2
    described = _wait(sm, name)
    time.sleep(0.5)
    stop.set()
    thread.join()
    new = _score(rt, name, row)
    assert described["EndpointConfigName"] == cfg2 and "PendingDeploymentSummary" not in described
    assert old != new
    assert not failures, failures[:3]
    assert set(results) <= {old, new}
    first_new = results.index(new)
    assert first_new > 0 and all(r == new for r in results[first_new:]), "an old answer came after a new one"
    sm.delete_endpoint(EndpointName=name)


def test_weights_target_variant_and_capacity(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]
    sm, rt = server.client("sagemaker"), server.client("sagemaker-runtime")
    name = f"ep-{setup['suffix']}-w"
    models = []
    for seed in (1, 2):
        models.append(f"{name}-m{seed}")
        sm.create_model(ModelName=models[-1], ExecutionRoleArn=setup["role"], PrimaryContainer={
            "Image": IMAGE, "ModelDataUrl": f"s3://{setup['bucket']}/m{seed}/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "A", "ModelName": models[0], "InitialInstanceCount": 1, "InstanceType": "ml.m5.large",
         "InitialVariantWeight": 1.0},
        {"VariantName": "B", "ModelName": models[1], "InitialInstanceCount": 1, "InstanceType": "ml.m5.large",
         "InitialVariantWeight": 0.0}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    _wait(sm, name)
    body = _csv(setup["boosters"][1][1][:1])
    seen = {rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=body)["InvokedProductionVariant"]
            for _ in range(10)}
    assert seen == {"A"}
    out = rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=body, TargetVariant="B")
    assert out["InvokedProductionVariant"] == "B"
    sm.update_endpoint_weights_and_capacities(EndpointName=name, DesiredWeightsAndCapacities=[
        {"VariantName": "A", "DesiredWeight": 0.0}, {"VariantName": "B", "DesiredWeight": 1.0,
                                                     "DesiredInstanceCount": 2}])
    described = _wait(sm, name)
    variants = {v["VariantName"]: v for v in described["ProductionVariants"]}
    assert variants["B"]["CurrentInstanceCount"] == 2 and variants["B"]["CurrentWeight"] == 1.0
    assert variants["A"]["CurrentWeight"] == 0.0
    seen = {rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=body)["InvokedProductionVariant"]
            for _ in range(10)}
    assert seen == {"B"}
    with pytest.raises(ClientError) as err:
        rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=body, TargetModel="m.tar.gz")
    assert err.value.response["Error"]["Code"] == "ValidationError"
    sm.delete_endpoint(EndpointName=name)


def test_data_capture_at_the_sampling_rate(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]
    sm, rt, s3 = server.client("sagemaker"), server.client("sagemaker-runtime"), server.client("s3")
    name = f"ep-{setup['suffix']}-dc"
    dest = f"s3://{setup['bucket']}/capture"
    cfg = _deploy(sm, setup, name, 1, DataCaptureConfig={
        "EnableCapture": True, "InitialSamplingPercentage": 50, "DestinationS3Uri": dest,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]})
    sm.create_endpoint(EndpointName=name, EndpointConfigName=cfg)
    described = _wait(sm, name)
    assert described["DataCaptureConfig"] == {"EnableCapture": True, "CaptureStatus": "Started",
                                              "CurrentSamplingPercentage": 50, "DestinationS3Uri": dest}
    body = _csv(setup["boosters"][1][1][:1])
    for _ in range(200):
        rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=body)
    records: list[dict] = []
    keys: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        listed = s3.list_objects_v2(Bucket=setup["bucket"], Prefix=f"capture/{name}/").get("Contents", [])
        keys = [o["Key"] for o in listed]
        records = [json.loads(line) for k in keys
                   for line in s3.get_object(Bucket=setup["bucket"], Key=k)["Body"].read().decode().splitlines()]
        if len(records) > 50:
            time.sleep(3)  # let the last batch land
            break
        time.sleep(0.5)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=setup["bucket"], Prefix=f"capture/{name}/")["Contents"]]
    records = [json.loads(line) for k in keys
               for line in s3.get_object(Bucket=setup["bucket"], Key=k)["Body"].read().decode().splitlines()]
    assert 60 <= len(records) <= 140, len(records)
    parts = keys[0].split("/")
    assert parts[:3] == ["capture", name, "AllTraffic"] and len(parts) == 8 and parts[-1].endswith(".jsonl")
    assert [len(p) for p in parts[3:7]] == [4, 2, 2, 2]
    first = records[0]
    assert first["eventVersion"] == "0" and first["eventMetadata"]["eventId"]
    assert first["captureData"]["endpointInput"] == {"observedContentType": "text/csv", "mode": "INPUT",
                                                      "data": body, "encoding": "CSV"}
    assert first["captureData"]["endpointOutput"]["mode"] == "OUTPUT"
    sm.delete_endpoint(EndpointName=name)


FAILING_SCRIPT = b'''
def model_fn(model_dir):
    return "model"

def predict_fn(data, model):
    print("about to fail on", data)
    raise ValueError("the model cannot score this")
'''


def test_model_error_from_a_model_that_raises(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]
    sm, rt, s3, logs = (server.client(s) for s in ("sagemaker", "sagemaker-runtime", "s3", "logs"))
    name = f"ep-{setup['suffix']}-err"
    s3.put_object(Bucket=setup["bucket"], Key="bad/model.tar.gz",
                  Body=_tarball({"code/inference.py": FAILING_SCRIPT, "model.joblib": b"x"}))
    sm.create_model(ModelName=name, ExecutionRoleArn=setup["role"], PrimaryContainer={
        "Image": SKLEARN_IMAGE, "ModelDataUrl": f"s3://{setup['bucket']}/bad/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "ServerlessConfig": {"MemorySizeInMB": 1024,
                                                                             "MaxConcurrency": 1}}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    described = _wait(sm, name)
    assert described["ProductionVariants"][0]["CurrentServerlessConfig"]["MaxConcurrency"] == 1
    with pytest.raises(ClientError) as err:
        rt.invoke_endpoint(EndpointName=name, ContentType="application/json", Body="[[1, 2]]")
    response = err.value.response
    assert response["Error"]["Code"] == "ModelError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == 500
    assert "the model cannot score this" in response["OriginalMessage"]
    assert response["LogStreamArn"].endswith(f":log-group:/aws/sagemaker/Endpoints/{name}")
    group = f"/aws/sagemaker/Endpoints/{name}"
    deadline, text = time.monotonic() + 10, ""
    while time.monotonic() < deadline and "ValueError" not in text:
        streams = logs.describe_log_streams(logGroupName=group).get("logStreams", []) if \
            logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] else []
        text = "".join(e["message"] for s in streams for e in logs.get_log_events(
            logGroupName=group, logStreamName=s["logStreamName"])["events"])
        time.sleep(0.3)
    assert "ValueError" in text and streams[0]["logStreamName"].startswith("AllTraffic/i-")
    sm.delete_endpoint(EndpointName=name)


def test_failed_endpoint_and_validation(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]
    sm, s3 = server.client("sagemaker"), server.client("s3")
    name = f"ep-{setup['suffix']}-bad"
    s3.put_object(Bucket=setup["bucket"], Key="garbage/model.tar.gz", Body=_tarball({"xgboost-model": b"nonsense"}))
    sm.create_model(ModelName=name, ExecutionRoleArn=setup["role"], PrimaryContainer={
        "Image": IMAGE, "ModelDataUrl": f"s3://{setup['bucket']}/garbage/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    failed = _wait(sm, name, want="Failed")
    assert "did not pass the ping health check" in failed["FailureReason"]
    with pytest.raises(ClientError) as err:
        sm.create_model(ModelName=f"{name}-x", ExecutionRoleArn=setup["role"], PrimaryContainer={
            "Image": IMAGE, "ModelDataUrl": f"s3://{setup['bucket']}/missing/model.tar.gz"})
    assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as err:
        sm.create_endpoint_config(EndpointConfigName=f"{name}-x", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "no-such-model", "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large"}])
    assert "Could not find model" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        sm.update_endpoint(EndpointName=name, EndpointConfigName=name)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    sm.delete_endpoint(EndpointName=name)
    sm.delete_endpoint_config(EndpointConfigName=name)
    sm.delete_model(ModelName=name)
    with pytest.raises(ClientError):
        sm.describe_model(ModelName=name)


def test_seed_template_deploys_staging_and_prod_from_a_model_package(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]
    """The model-deploy seed code's endpoint template, once per stage, for a registered package."""
    from tests.conftest import REPO

    sm, rt, cfn = server.client("sagemaker"), server.client("sagemaker-runtime"), server.client("cloudformation")
    group = f"abalone-{setup['suffix']}"
    sm.create_model_package_group(ModelPackageGroupName=group)
    package = sm.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": IMAGE,
                                                "ModelDataUrl": f"s3://{setup['bucket']}/m1/model.tar.gz"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
    )["ModelPackageArn"]
    template = (REPO / "templates/seedcode/model-deploy/endpoint-config-template.yml").read_text()
    project = f"proj{setup['suffix']}"
    for stage in ("staging", "prod"):
        cfn.create_stack(StackName=f"{project}-deploy-{stage}", TemplateBody=template, Parameters=[
            {"ParameterKey": "SageMakerProjectName", "ParameterValue": project},
            {"ParameterKey": "SageMakerProjectId", "ParameterValue": "p-abc123"},
            {"ParameterKey": "ModelPackageName", "ParameterValue": package},
            {"ParameterKey": "ModelExecutionRoleArn", "ParameterValue": setup["role"]},
            {"ParameterKey": "StageName", "ParameterValue": stage},
            {"ParameterKey": "EndpointInstanceCount", "ParameterValue": "1"}])
    booster, x = setup["boosters"][1]
    expected = booster.predict(xgb.DMatrix(x[:3]))
    for stage in ("staging", "prod"):
        cfn.get_waiter("stack_create_complete").wait(StackName=f"{project}-deploy-{stage}",
                                                     WaiterConfig={"Delay": 1, "MaxAttempts": 90})
        stack = cfn.describe_stacks(StackName=f"{project}-deploy-{stage}")["Stacks"][0]
        endpoint = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["EndpointName"]
        assert endpoint == f"{project}-{stage}"
        assert sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"
        body = rt.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=_csv(x[:3]))["Body"].read()
        assert np.allclose([float(v) for v in body.decode().split(",")], expected, rtol=1e-5)
    cfn.delete_stack(StackName=f"{project}-deploy-staging")
    cfn.get_waiter("stack_delete_complete").wait(StackName=f"{project}-deploy-staging",
                                                 WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    with pytest.raises(ClientError):
        sm.describe_endpoint(EndpointName=f"{project}-staging")


def test_sagemaker_sdk_predictor(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]
    import boto3
    from sagemaker.deserializers import CSVDeserializer
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer
    from sagemaker.session import Session

    sm = server.client("sagemaker")
    name = f"ep-{setup['suffix']}-sdk"
    cfg = _deploy(sm, setup, name, 2)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=cfg)
    _wait(sm, name)
    session = boto3.session.Session(aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
                                    region_name=server.region)
    sdk = Session(boto_session=session, sagemaker_client=sm,
                  sagemaker_runtime_client=server.client("sagemaker-runtime"))
    predictor = Predictor(name, sagemaker_session=sdk, serializer=CSVSerializer(), deserializer=CSVDeserializer())
    booster, x = setup["boosters"][2]
    got = predictor.predict(x[:2].tolist())
    assert np.allclose([float(v) for v in got[0]], booster.predict(xgb.DMatrix(x[:2])), rtol=1e-5)
    predictor.delete_endpoint(delete_endpoint_config=True)
    with pytest.raises(ClientError):
        sm.describe_endpoint(EndpointName=name)


def test_canary_rolls_back_when_an_alarm_fires(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]
    sm, rt, cw = server.client("sagemaker"), server.client("sagemaker-runtime"), server.client("cloudwatch")
    name = f"ep-{setup['suffix']}-canary"
    cfg1, cfg2 = _deploy(sm, setup, name, 1), _deploy(sm, setup, name, 2)
    alarm = f"{name}-errors"
    cw.put_metric_alarm(AlarmName=alarm, Namespace="Custom", MetricName="Errors", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=cfg1)
    _wait(sm, name)
    row = _csv(setup["boosters"][1][1][:1])
    old = _score(rt, name, row)
    deployment = {"BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 30,
                                        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50}},
        "TerminationWaitInSeconds": 0},
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]}}
    sm.update_endpoint(EndpointName=name, EndpointConfigName=cfg2, DeploymentConfig=deployment)
    deadline = time.monotonic() + 30
    while sm.describe_endpoint(EndpointName=name)["PendingDeploymentSummary"]["ProductionVariants"][0][
            "VariantStatus"][0]["Status"] != "ActivatingTraffic":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    seen = {_score(rt, name, row) for _ in range(40)}
    assert len(seen) == 2 and old in seen  # half the traffic on the canary
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test")
    described = _wait(sm, name)
    assert described["EndpointConfigName"] == cfg1
    assert alarm in described["FailureReason"]
    assert {_score(rt, name, row) for _ in range(10)} == {old}
    sm.delete_endpoint(EndpointName=name)


def test_async_inference_writes_results_to_s3(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]
    sm, rt, s3 = server.client("sagemaker"), server.client("sagemaker-runtime"), server.client("s3")
    name = f"ep-{setup['suffix']}-async"
    out_path = f"s3://{setup['bucket']}/async-out"
    cfg = _deploy(sm, setup, name, 1, AsyncInferenceConfig={"OutputConfig": {
        "S3OutputPath": out_path, "S3FailurePath": f"s3://{setup['bucket']}/async-fail"}})
    sm.create_endpoint(EndpointName=name, EndpointConfigName=cfg)
    assert _wait(sm, name)["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"] == out_path
    booster, x = setup["boosters"][1]
    s3.put_object(Bucket=setup["bucket"], Key="async-in/rows.csv", Body=_csv(x[:4]))
    out = rt.invoke_endpoint_async(EndpointName=name, ContentType="text/csv",
                                   InputLocation=f"s3://{setup['bucket']}/async-in/rows.csv")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert out["OutputLocation"] == f"{out_path}/{out['InferenceId']}.out"
    key = out["OutputLocation"].split("/", 3)[3]
    deadline = time.monotonic() + 15
    while True:
        try:
            body = s3.get_object(Bucket=setup["bucket"], Key=key)["Body"].read()
            break
        except ClientError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert np.allclose([float(v) for v in body.decode().split(",")], booster.predict(xgb.DMatrix(x[:4])), rtol=1e-5)
    sm.delete_endpoint(EndpointName=name)


def test_endpoint_state_change_events_match_rules_written_for_aws(server: LiveServer, setup) -> None:  # type: ignore[no-untyped-def]
    """Rules in AWS's own templates match ``"EndpointStatus": ["IN_SERVICE"]`` (upper snake case)."""
    sm, events, logs = server.client("sagemaker"), server.client("events"), server.client("logs")
    name = f"ep-{setup['suffix']}-ev"
    group = f"/aws/events/{name}"
    logs.create_log_group(logGroupName=group)
    events.put_rule(Name=f"{name}-in-service", EventPattern=json.dumps({
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker Endpoint State Change"],
        "detail": {"EndpointName": [name], "EndpointStatus": ["IN_SERVICE"]}}))
    events.put_targets(Rule=f"{name}-in-service", Targets=[{
        "Id": "log", "Arn": f"arn:aws:logs:{server.region}:000000000000:log-group:{group}"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=_deploy(sm, setup, name, 1))
    _wait(sm, name)
    deadline = time.monotonic() + 30
    while not (found := logs.filter_log_events(logGroupName=group)["events"]):
        assert time.monotonic() < deadline, "no IN_SERVICE event reached the rule's target"
        time.sleep(0.25)
    detail = json.loads(found[0]["message"])["detail"]
    assert detail["EndpointName"] == name and detail["EndpointStatus"] == "IN_SERVICE"
    sm.delete_endpoint(EndpointName=name)
