"""SageMaker processing, training and transform jobs as boto3 and the SageMaker SDK v2 meet them:
scripts see /opt/ml, get the role's credentials, write outputs to S3; the built-in XGBoost
algorithm trains on the abalone data with metrics; failures carry the failure file; stop works."""

from __future__ import annotations

import io
import json
import tarfile
import time
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LiveServer

ABALONE = Path(__file__).resolve().parents[2] / "src" / "seedbed" / "data" / "abalone-dataset.csv"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "kms:Decrypt", "kms:GenerateDataKey", "sts:GetCallerIdentity", "logs:*"], "Resource": "*"}]}
IMAGE_SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@pytest.fixture(scope="module")
def env(server: LiveServer):  # type: ignore[no-untyped-def]
    iam, s3 = server.client("iam"), server.client("s3")
    name = f"jobs-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(POLICY))
    s3.create_bucket(Bucket=name)
    return {"role": role, "bucket": name, "sm": server.client("sagemaker"), "s3": s3}


def wait(sm, kind: str, name: str, timeout: float = 120) -> dict:  # type: ignore[no-untyped-def]
    describe = getattr(sm, f"describe_{kind}_job")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = describe(**{f"{kind.capitalize()}JobName": name})
        if out[f"{kind.capitalize()}JobStatus"] in ("Completed", "Failed", "Stopped"):
            return out
        time.sleep(0.2)
    raise AssertionError(f"{kind} job {name} did not finish")


def log_lines(server: LiveServer, group: str, prefix: str) -> list[str]:
    """The job's CloudWatch log lines (skips while the Logs service is not there)."""
    logs = server.client("logs")
    try:
        streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=prefix)["logStreams"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NotImplemented":
            pytest.skip("CloudWatch Logs is not implemented in this build")
        raise
    return [e["message"] for s in streams for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"]]


def processing(env, name: str, code: str, inputs=(), outputs=(), count: int = 1, image: str = IMAGE_SKLEARN):  # type: ignore[no-untyped-def]
    key = f"code/{name}.py"
    env["s3"].put_object(Bucket=env["bucket"], Key=key, Body=code.encode())
    ins = [{"InputName": "code", "S3Input": {"S3Uri": f"s3://{env['bucket']}/{key}", "LocalPath": "/opt/ml/processing/input/code",
                                              "S3DataType": "S3Prefix", "S3InputMode": "File"}}]
    ins += [{"InputName": n, "S3Input": {"S3Uri": u, "LocalPath": p, "S3DataType": "S3Prefix", "S3InputMode": "File"}} for n, u, p in inputs]
    request = {
        "ProcessingJobName": name, "RoleArn": env["role"], "ProcessingInputs": ins,
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": count, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
        "AppSpecification": {"ImageUri": image, "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/code/{name}.py"],
                             "ContainerArguments": ["--flag", "yes"]},
        "Environment": {"MY_SETTING": "42"}, "Tags": [{"Key": "team", "Value": "ml"}],
    }
    if outputs:
        request["ProcessingOutputConfig"] = {"Outputs": [
            {"OutputName": n, "S3Output": {"S3Uri": u, "LocalPath": p, "S3UploadMode": "EndOfJob"}} for n, u, p in outputs]}
    env["sm"].create_processing_job(**request)
    return wait(env["sm"], "processing", name)


SCRIPT = """
import json, os, sys, boto3
rows = open('/opt/ml/processing/input/data/rows.csv').read().splitlines()
os.makedirs('/opt/ml/processing/output/out', exist_ok=True)
host = json.load(open('/opt/ml/config/resourceconfig.json'))['current_host']
ident = boto3.client('sts').get_caller_identity()['Arn']
with open(f'/opt/ml/processing/output/out/{host}.txt', 'w') as fh:
    fh.write(json.dumps({'rows': len(rows), 'argv': sys.argv[1:], 'env': os.environ['MY_SETTING'], 'who': ident}))
print('processed', len(rows), 'rows on', host)
"""


def test_processing_job_sees_opt_ml_and_uploads_outputs(env, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    name = f"proc-{uuid.uuid4().hex[:8]}"
    b = env["bucket"]
    env["s3"].put_object(Bucket=b, Key="in/rows.csv", Body=b"1,2\n3,4\n5,6\n")
    out = processing(env, name, SCRIPT, inputs=[("data", f"s3://{b}/in", "/opt/ml/processing/input/data")],
                     outputs=[("out", f"s3://{b}/out/{name}", "/opt/ml/processing/output/out")], count=2)
    assert out["ProcessingJobStatus"] == "Completed", out.get("FailureReason")
    assert out["ProcessingStartTime"] <= out["ProcessingEndTime"]
    assert out["ProcessingJobArn"].endswith(f":processing-job/{name}")
    assert out["Environment"] == {"MY_SETTING": "42"}
    for host in ("algo-1", "algo-2"):
        body = json.loads(env["s3"].get_object(Bucket=b, Key=f"out/{name}/{host}.txt")["Body"].read())
        assert body["rows"] == 3 and body["argv"] == ["--flag", "yes"] and body["env"] == "42"
        assert ":assumed-role/" in body["who"] and env["role"].split("/")[-1] in body["who"]
    tags = env["sm"].list_tags(ResourceArn=out["ProcessingJobArn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "ml"}]
    listed = env["sm"].list_processing_jobs(NameContains=name)["ProcessingJobSummaries"]
    assert [s["ProcessingJobName"] for s in listed] == [name]
    assert env["sm"].list_processing_jobs(NameContains=name, StatusEquals="Failed")["ProcessingJobSummaries"] == []
    with pytest.raises(ClientError) as exc:
        processing(env, name, SCRIPT)
    assert exc.value.response["Error"]["Code"] == "ResourceInUse"
    time.sleep(0.7)  # log lines are flushed in batches
    lines = log_lines(server, "/aws/sagemaker/ProcessingJobs", f"{name}/algo-")
    assert "processed 3 rows on algo-1" in lines and "processed 3 rows on algo-2" in lines


def test_failing_script_reports_its_failure_file(env) -> None:  # type: ignore[no-untyped-def]
    name = f"fail-{uuid.uuid4().hex[:8]}"
    code = "open('/opt/ml/output/failure', 'w').write('bad input: column 3 is empty')\nraise SystemExit(3)\n"
    out = processing(env, name, code)
    assert out["ProcessingJobStatus"] == "Failed"
    assert "bad input: column 3 is empty" in out["FailureReason"]
    assert out["ExitMessage"] == "bad input: column 3 is empty"
    name = f"crash-{uuid.uuid4().hex[:8]}"
    out = processing(env, name, "print('about to fail')\nraise ValueError('no rows')\n")
    assert out["ProcessingJobStatus"] == "Failed"
    assert "exit code 1" in out["FailureReason"] and "ValueError: no rows" in out["FailureReason"]


def test_unknown_image_and_missing_input_fail_with_reason(env) -> None:  # type: ignore[no-untyped-def]
    name = f"img-{uuid.uuid4().hex[:8]}"
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-spark-thing:3.1"
    out = processing(env, name, "print(1)", image=image)
    assert out["ProcessingJobStatus"] == "Failed" and image in out["FailureReason"]
    name = f"noin-{uuid.uuid4().hex[:8]}"
    out = processing(env, name, "print(1)", inputs=[("data", f"s3://{env['bucket']}/nothing-here", "/opt/ml/processing/input/data")])
    assert out["ProcessingJobStatus"] == "Failed" and "No S3 objects found" in out["FailureReason"]


def test_errors_for_unknown_jobs_and_roles(env) -> None:  # type: ignore[no-untyped-def]
    sm = env["sm"]
    with pytest.raises(ClientError) as exc:
        sm.describe_training_job(TrainingJobName="nope-" + uuid.uuid4().hex[:6])
    assert exc.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ClientError) as exc:
        sm.stop_processing_job(ProcessingJobName="nope-" + uuid.uuid4().hex[:6])
    assert exc.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ClientError) as exc:
        sm.create_processing_job(
            ProcessingJobName="norole-" + uuid.uuid4().hex[:6], RoleArn="arn:aws:iam::000000000000:role/missing",
            ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
            AppSpecification={"ImageUri": IMAGE_SKLEARN, "ContainerEntrypoint": ["python3", "-c", "pass"]},
        )
    assert exc.value.response["Error"]["Code"] == "ValidationException" and "Could not assume role" in str(exc.value)


def test_training_stop_and_distributed_environment(env) -> None:  # type: ignore[no-untyped-def]
    sm, b = env["sm"], env["bucket"]
    name = f"stop-{uuid.uuid4().hex[:8]}"
    code = ("import json, os, time\nprint('host', os.environ['SM_CURRENT_HOST'], json.loads(os.environ['SM_HOSTS']), flush=True)\n"
            "open(os.path.join(os.environ['SM_MODEL_DIR'], os.environ['SM_CURRENT_HOST']), 'w').write('m')\ntime.sleep(60)\n")
    env["s3"].put_object(Bucket=b, Key=f"code/{name}.py", Body=code.encode())
    sm.create_training_job(
        TrainingJobName=name, RoleArn=env["role"],
        AlgorithmSpecification={"TrainingImage": IMAGE_SKLEARN, "TrainingInputMode": "File",
                                "ContainerEntrypoint": ["python3", f"/opt/ml/input/data/code/{name}.py"]},
        InputDataConfig=[{"ChannelName": "code", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{b}/code/{name}.py"}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{b}/models"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    deadline = time.monotonic() + 30
    while sm.describe_training_job(TrainingJobName=name)["SecondaryStatus"] != "Training":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(1)
    sm.stop_training_job(TrainingJobName=name)
    out = wait(sm, "training", name)
    assert out["TrainingJobStatus"] == "Stopped" and out["SecondaryStatus"] == "Stopped"
    statuses = [t["Status"] for t in out["SecondaryStatusTransitions"]]
    assert statuses[:3] == ["Starting", "Downloading", "Training"] and statuses[-2:] == ["Stopping", "Stopped"]
    model = env["s3"].get_object(Bucket=b, Key=f"models/{name}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(model)) as tar:
        assert tar.getnames() == ["algo-1"]
    with pytest.raises(ClientError) as exc:
        sm.stop_training_job(TrainingJobName=name)
    assert exc.value.response["Error"]["Code"] == "ValidationException"


PREPROCESS = '''
import argparse, os
import numpy as np
import pandas as pd

if __name__ == "__main__":
    df = pd.read_csv("/opt/ml/processing/input/abalone-dataset.csv", header=None)
    df.columns = ["sex", "length", "diameter", "height", "whole", "shucked", "viscera", "shell", "rings"]
    df = pd.get_dummies(df, columns=["sex"], dtype=float)
    y = df.pop("rings")
    data = pd.concat([y, df], axis=1).sample(frac=1, random_state=0).to_numpy()
    train, validation, test = np.split(data, [int(0.7 * len(data)), int(0.85 * len(data))])
    for name, part in (("train", train), ("validation", validation), ("test", test)):
        os.makedirs(f"/opt/ml/processing/{name}", exist_ok=True)
        pd.DataFrame(part).to_csv(f"/opt/ml/processing/{name}/{name}.csv", header=False, index=False)
    print("split", len(train), len(validation), len(test))
'''

TRAIN_SCRIPT = '''
import argparse, glob, json, os
import joblib, pandas as pd
from sklearn.linear_model import Ridge

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float)
parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
args = parser.parse_args()
frame = pd.concat(pd.read_csv(f, header=None) for f in glob.glob(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "*.csv")))
model = Ridge(alpha=args.alpha).fit(frame.iloc[:, 1:], frame.iloc[:, 0])
joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
print(f"score={model.score(frame.iloc[:, 1:], frame.iloc[:, 0]):.4f}", json.loads(os.environ["SM_HPS"]))
'''


def test_sdk_sklearn_processing_then_xgboost_and_framework_training(env, server: LiveServer, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in server.env.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    import boto3
    import sagemaker
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn.estimator import SKLearn
    from sagemaker.sklearn.processing import SKLearnProcessor

    b = env["bucket"]
    session = sagemaker.Session(boto3.Session(region_name=server.region), default_bucket=b)
    env["s3"].upload_file(str(ABALONE), b, "data/abalone-dataset.csv")
    script = tmp_path / "preprocess.py"
    script.write_text(PREPROCESS)
    processor = SKLearnProcessor(framework_version="1.2-1", role=env["role"], instance_type="ml.m5.xlarge",
                                 instance_count=1, sagemaker_session=session, base_job_name="abalone-pre")
    processor.run(
        code=str(script), inputs=[ProcessingInput(source=f"s3://{b}/data/abalone-dataset.csv", destination="/opt/ml/processing/input")],
        outputs=[ProcessingOutput(output_name=n, source=f"/opt/ml/processing/{n}", destination=f"s3://{b}/abalone/{n}")
                 for n in ("train", "validation", "test")],
        wait=False, logs=False,
    )
    # The SDK's own wait polls every few seconds; Describe is polled here to keep the test quick.
    assert wait(env["sm"], "processing", processor.latest_job.job_name)["ProcessingJobStatus"] == "Completed"
    image = sagemaker.image_uris.retrieve("xgboost", server.region, "1.7-1")
    xgb = Estimator(image_uri=image, role=env["role"], instance_count=1, instance_type="ml.m5.xlarge",
                    output_path=f"s3://{b}/xgb", sagemaker_session=session, base_job_name="abalone-xgb")
    xgb.set_hyperparameters(objective="reg:squarederror", num_round=8, max_depth=4, eta=0.3, gamma=4,
                            min_child_weight=6, subsample=0.8, silent=0)
    xgb.fit({"train": TrainingInput(f"s3://{b}/abalone/train", content_type="text/csv"),
             "validation": TrainingInput(f"s3://{b}/abalone/validation", content_type="text/csv")}, wait=False)
    job = wait(env["sm"], "training", xgb.latest_training_job.name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert 0 < metrics["validation:rmse"] < 4 and "train:rmse" in metrics
    assert job["BillableTimeInSeconds"] >= 1 and job["TrainingTimeInSeconds"] >= 1
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{b}/xgb/{job['TrainingJobName']}/output/model.tar.gz"
    archive = env["s3"].get_object(Bucket=b, Key=f"xgb/{job['TrainingJobName']}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert tar.getnames() == ["xgboost-model"]
        (tmp_path / "xgboost-model").write_bytes(tar.extractfile("xgboost-model").read())  # type: ignore[union-attr]
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(str(tmp_path / "xgboost-model"))
    assert booster.num_boosted_rounds() == 8
    lines = log_lines(server, "/aws/sagemaker/TrainingJobs", f"{job['TrainingJobName']}/algo-1-")
    assert any(line.startswith("[7]#011train-rmse:") and "#011validation-rmse:" in line for line in lines)
    batch_transform(env, image, job["ModelArtifacts"]["S3ModelArtifacts"])

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(TRAIN_SCRIPT)
    sk = SKLearn(entry_point="train.py", source_dir=str(tmp_path / "src"), framework_version="1.2-1", role=env["role"],
                 instance_type="ml.m5.large", hyperparameters={"alpha": 0.5}, sagemaker_session=session,
                 output_path=f"s3://{b}/sk", base_job_name="abalone-sk")
    sk.fit({"train": f"s3://{b}/abalone/train"}, wait=False)
    job = wait(env["sm"], "training", sk.latest_training_job.name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    archive = env["s3"].get_object(Bucket=b, Key=f"sk/{job['TrainingJobName']}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert tar.getnames() == ["model.joblib"]


def batch_transform(env, image: str, model_data: str) -> None:  # type: ignore[no-untyped-def]
    """Batch transform of the test split with the trained model: the label is filtered out of the
    input, joined back, and each output line is `label,prediction`."""
    sm, b = env["sm"], env["bucket"]
    model = f"abalone-{uuid.uuid4().hex[:8]}"
    try:
        sm.create_model(ModelName=model, ExecutionRoleArn=env["role"], PrimaryContainer={"Image": image, "ModelDataUrl": model_data})
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NotImplemented":
            pytest.skip("CreateModel (SageMaker hosting) is not implemented in this build")
        raise
    name = f"transform-{uuid.uuid4().hex[:8]}"
    sm.create_transform_job(
        TransformJobName=name, ModelName=model, BatchStrategy="MultiRecord",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{b}/abalone/test"}},
                        "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": f"s3://{b}/predictions/{name}", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    out = wait(sm, "transform", name)
    assert out["TransformJobStatus"] == "Completed", out.get("FailureReason")
    assert out["TransformStartTime"] <= out["TransformEndTime"]
    body = env["s3"].get_object(Bucket=b, Key=f"predictions/{name}/test.csv.out")["Body"].read().decode()
    rows = [line.split(",") for line in body.splitlines()]
    assert len(rows) > 500 and all(len(r) == 2 for r in rows)
    errors = [abs(float(label) - float(pred)) for label, pred in rows]
    assert sum(errors) / len(errors) < 3
