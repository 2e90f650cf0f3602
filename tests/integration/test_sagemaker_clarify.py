"""SageMaker Clarify as the unmodified SageMaker SDK v2 meets it: SageMakerClarifyProcessor runs the
``sagemaker-clarify-processing`` image's analysis locally. Pre-training bias on the abalone data
(facet Sex=M, label rings > 10) gives the metrics computed by hand; post-training bias and SHAP
get their predictions from a shadow endpoint of a small XGBoost model, which is gone afterwards;
SHAP values exist per feature and add up to each prediction."""

from __future__ import annotations

import csv
import io
import json
import tarfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from tests.conftest import LiveServer

ABALONE = Path(__file__).resolve().parents[2] / "src" / "seedbed" / "data" / "abalone-dataset.csv"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
#: What Clarify's role needs: the data and results, and the shadow endpoint's lifecycle.
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "logs:*", "sagemaker:*"],
                                                  "Resource": "*"}]}
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
FEATURES = ["length", "diameter", "height", "whole_weight", "shucked_weight", "viscera_weight", "shell_weight"]
HEADERS = ["sex", *FEATURES, "old"]


def abalone() -> pd.DataFrame:
    frame = pd.read_csv(ABALONE, header=None, names=["sex", *FEATURES, "rings"])
    frame["old"] = (frame["rings"] > 10).astype(int)
    return frame[HEADERS]


def _tarball(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _csv(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, header=False, index=False, quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue().encode()


@pytest.fixture(scope="module")
def env(server: LiveServer):  # type: ignore[no-untyped-def]
    iam, s3, sm = server.client("iam"), server.client("s3"), server.client("sagemaker")
    name = f"clarify-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(POLICY))
    s3.create_bucket(Bucket=name)
    data = abalone()
    s3.put_object(Bucket=name, Key="data/abalone.csv", Body=_csv(data))
    sample = data.sample(n=60, random_state=7).reset_index(drop=True)
    s3.put_object(Bucket=name, Key="sample/abalone.csv", Body=_csv(sample))
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3},
                        xgb.DMatrix(data[FEATURES].to_numpy(), data["old"].to_numpy()), 20)
    s3.put_object(Bucket=name, Key="model/model.tar.gz", Body=_tarball("xgboost-model", bytes(booster.save_raw("ubj"))))
    sm.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={
        "Image": XGBOOST, "ModelDataUrl": f"s3://{name}/model/model.tar.gz"})
    with server.sagemaker_session(name) as session:
        from sagemaker import clarify

        processor = clarify.SageMakerClarifyProcessor(role=role, instance_count=1, instance_type="ml.m5.xlarge",
                                                      max_runtime_in_seconds=900, sagemaker_session=session)
        yield {"name": name, "role": role, "s3": s3, "sm": sm, "data": data, "sample": sample, "booster": booster,
               "processor": processor, "clarify": clarify}


def wait_job(sm, name: str, timeout: float = 300) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = sm.describe_processing_job(ProcessingJobName=name)
        if out["ProcessingJobStatus"] in ("Completed", "Failed", "Stopped"):
            return out
        time.sleep(0.3)
    raise AssertionError(f"processing job {name} did not finish")


def _run(env, method: str, prefix: str, **kwargs) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    """Run one of the processor's methods and return (the job, its analysis.json)."""
    getattr(env["processor"], method)(wait=False, logs=False, **kwargs)
    job = wait_job(env["sm"], env["processor"].latest_job.job_name)
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    body = env["s3"].get_object(Bucket=env["name"], Key=f"{prefix}/analysis.json")["Body"].read()
    return job, json.loads(body)


def _metrics(section: dict, facet: str) -> tuple[str, dict[str, float]]:
    (entry,) = section["facets"][facet]
    return entry["value_or_threshold"], {m["name"]: m["value"] for m in entry["metrics"]}


def test_pre_training_bias_on_abalone(env) -> None:  # type: ignore[no-untyped-def]
    clarify = env["clarify"]
    data_config = clarify.DataConfig(s3_data_input_path=f"s3://{env['name']}/data/abalone.csv",
                                     s3_output_path=f"s3://{env['name']}/pre", label="old", headers=HEADERS,
                                     dataset_type="text/csv")
    bias_config = clarify.BiasConfig(label_values_or_threshold=[1], facet_name="sex", facet_values_or_threshold=["M"],
                                     group_name="height")
    job, analysis = _run(env, "run_pre_training_bias", "pre", data_config=data_config, data_bias_config=bias_config)
    assert "sagemaker-clarify-processing" in job["AppSpecification"]["ImageUri"]
    section = analysis["pre_training_bias_metrics"]
    assert section["label"] == "old" and section["label_value_or_threshold"] == "1"
    value, got = _metrics(section, "sex")
    assert value == "M" and sorted(got) == ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]
    frame = env["data"]
    d = frame["sex"] == "M"
    qa, qd = frame.loc[~d, "old"].mean(), frame.loc[d, "old"].mean()
    pa, pd_ = np.array([1 - qa, qa]), np.array([1 - qd, qd])
    assert got["CI"] == pytest.approx(((~d).sum() - d.sum()) / len(frame))
    assert got["DPL"] == pytest.approx(qa - qd)
    assert got["KL"] == pytest.approx(float(np.sum(pa * np.log(pa / pd_))))
    assert got["TVD"] == pytest.approx(abs(qa - qd)) and got["KS"] == pytest.approx(abs(qa - qd))
    assert got["LP"] == pytest.approx(np.sqrt(2) * abs(qa - qd))
    assert 0 < got["JS"] < got["KL"]
    assert isinstance(got["CDDL"], float)
    assert "constraint_violations.json" not in [o["Key"].rsplit("/", 1)[-1] for o in
                                                env["s3"].list_objects_v2(Bucket=env["name"], Prefix="pre/")["Contents"]]


def _shadow_endpoints(sm) -> list[str]:  # type: ignore[no-untyped-def]
    names = [e["EndpointName"] for e in sm.list_endpoints(NameContains="sm-clarify")["Endpoints"]]
    names += [c["EndpointConfigName"] for c in sm.list_endpoint_configs(NameContains="sm-clarify")["EndpointConfigs"]]
    return names


def _model_config(env):  # type: ignore[no-untyped-def]
    return env["clarify"].ModelConfig(model_name=env["name"], instance_type="ml.m5.xlarge", instance_count=1,
                                      content_type="text/csv", accept_type="text/csv")


def test_post_training_bias_uses_a_shadow_endpoint(env) -> None:  # type: ignore[no-untyped-def]
    clarify = env["clarify"]
    data_config = clarify.DataConfig(s3_data_input_path=f"s3://{env['name']}/sample/abalone.csv",
                                     s3_output_path=f"s3://{env['name']}/post", label="old", headers=HEADERS,
                                     excluded_columns=["sex"], dataset_type="text/csv")
    bias_config = clarify.BiasConfig(label_values_or_threshold=[1], facet_name="sex", facet_values_or_threshold=["M"])
    _, analysis = _run(env, "run_post_training_bias", "post", data_config=data_config, data_bias_config=bias_config,
                       model_config=_model_config(env),
                       model_predicted_label_config=clarify.ModelPredictedLabelConfig(probability_threshold=0.5))
    assert _shadow_endpoints(env["sm"]) == []
    value, got = _metrics(analysis["post_training_bias_metrics"], "sex")
    assert value == "M"
    assert {"AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "RD", "TE"} <= set(got)
    sample = env["sample"]
    predicted = env["booster"].predict(xgb.DMatrix(sample[FEATURES].to_numpy())) > 0.5
    d = (sample["sex"] == "M").to_numpy()
    label = sample["old"].to_numpy() == 1
    qa, qd = predicted[~d].mean(), predicted[d].mean()
    assert got["DPPL"] == pytest.approx(qa - qd)
    assert got["DI"] == pytest.approx(qd / qa)
    accuracy = (predicted == label)
    assert got["AD"] == pytest.approx(accuracy[~d].mean() - accuracy[d].mean())


def test_explainability_gives_shap_values_per_feature(env) -> None:  # type: ignore[no-untyped-def]
    clarify = env["clarify"]
    sample = env["sample"].head(25)
    env["s3"].put_object(Bucket=env["name"], Key="explain/data/abalone.csv", Body=_csv(sample))
    data_config = clarify.DataConfig(s3_data_input_path=f"s3://{env['name']}/explain/data/abalone.csv",
                                     s3_output_path=f"s3://{env['name']}/explain/out", label="old", headers=HEADERS,
                                     excluded_columns=["sex"], dataset_type="text/csv")
    baseline = env["data"][FEATURES].mean().round(4).tolist()
    shap_config = clarify.SHAPConfig(baseline=[baseline], agg_method="mean_abs", save_local_shap_values=True, seed=3)
    _, analysis = _run(env, "run_explainability", "explain/out", data_config=data_config,
                       model_config=_model_config(env), explainability_config=shap_config)
    assert _shadow_endpoints(env["sm"]) == []
    explained = analysis["explanations"]["kernel_shap"]["label0"]
    assert list(explained["global_shap_values"]) == FEATURES
    assert all(v >= 0 for v in explained["global_shap_values"].values())
    assert max(explained["global_shap_values"].values()) > 0
    booster = env["booster"]
    assert explained["expected_value"] == pytest.approx(float(booster.predict(xgb.DMatrix(np.array([baseline])))[0]),
                                                        abs=1e-5)
    body = env["s3"].get_object(Bucket=env["name"], Key="explain/out/explanations_shap/out.csv")["Body"].read()
    local = pd.read_csv(io.BytesIO(body))
    assert list(local.columns) == FEATURES and len(local) == len(sample)
    predictions = booster.predict(xgb.DMatrix(sample[FEATURES].to_numpy()))
    assert (local.sum(axis=1) + explained["expected_value"]).to_numpy() == pytest.approx(predictions, abs=1e-4)
    assert explained["global_shap_values"]["shell_weight"] == pytest.approx(local["shell_weight"].abs().mean())


def test_an_unsupported_option_fails_the_job_by_name(env) -> None:  # type: ignore[no-untyped-def]
    clarify = env["clarify"]
    data_config = clarify.DataConfig(s3_data_input_path=f"s3://{env['name']}/sample/abalone.csv",
                                     s3_output_path=f"s3://{env['name']}/pdp", label="old", headers=HEADERS,
                                     excluded_columns=["sex"], dataset_type="text/csv")
    env["processor"].run_explainability(data_config=data_config, model_config=_model_config(env),
                                        explainability_config=clarify.PDPConfig(features=["length"]),
                                        wait=False, logs=False)
    job = wait_job(env["sm"], env["processor"].latest_job.job_name)
    assert job["ProcessingJobStatus"] == "Failed"
    assert "methods.pdp" in job["FailureReason"] and "not supported" in job["FailureReason"]
    assert _shadow_endpoints(env["sm"]) == []
