"""Real-time inference: InvokeEndpoint on an XGBoost abalone model against `mlflow models serve`
on the same model.

Seedbed deploys the model with CreateModel/CreateEndpointConfig/CreateEndpoint (one instance); the
baseline serves the same Booster with `mlflow models serve --env-manager local` (MLflow is
pip-installed into the running virtualenv when missing, never a Seedbed dependency; if it
cannot be installed, a minimal Starlette/uvicorn app that loads the model with xgboost stands in,
and the output says so). One lean client (http.client, keep-alive, ``TCP_NODELAY``, requests
signed before the clock starts) drives both with single-row requests, in interleaved rounds; a
second run uses 4 client threads for throughput. boto3's own median for one InvokeEndpoint call
is printed too (boto3 costs about 1 ms per call by itself).

Targets (issue 9): single-row median under 2 ms end to end with boto3, and at least 2x MLflow's
throughput.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import boto3
import botocore.auth
import botocore.credentials
from botocore.awsrequest import AWSRequest
from botocore.config import Config

from bench.harness import Server, Stats, free_port, measure, start_seedbed, wait_for

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "seedbed" / "data" / "abalone-dataset.csv"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
MEDIAN_TARGET_MS = 2.0
THROUGHPUT_TARGET = 2.0
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def train(workdir: Path) -> tuple[Path, list[float]]:
    """An abalone regressor (rings from the numeric measurements), saved as SageMaker names it."""
    import numpy as np
    import xgboost as xgb

    rows = [line.split(",") for line in DATA.read_text().splitlines() if line.strip()]
    x = np.asarray([[float(v) for v in r[1:8]] for r in rows])
    y = np.asarray([float(r[8]) for r in rows])
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 5, "eta": 0.2}, xgb.DMatrix(x, y), 50)
    path = workdir / "xgboost-model"
    path.write_bytes(bytes(booster.save_raw("ubj")))
    return path, x[0].tolist()


def deploy(port: int, creds: dict[str, str], model_file: Path) -> str:
    session = boto3.session.Session(aws_access_key_id=creds["aws_access_key_id"],
                                    aws_secret_access_key=creds["aws_secret_access_key"], region_name=creds["region"])
    url = f"http://127.0.0.1:{port}"
    iam, s3, sm = (session.client(s, endpoint_url=url) for s in ("iam", "s3", "sagemaker"))
    role = iam.create_role(RoleName="bench-exec", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName="bench-exec", PolicyName="s3", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    s3.create_bucket(Bucket="bench-models")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(model_file, arcname="xgboost-model")
    s3.put_object(Bucket="bench-models", Key="abalone/model.tar.gz", Body=buf.getvalue())
    sm.create_model(ModelName="abalone", ExecutionRoleArn=role, PrimaryContainer={
        "Image": IMAGE, "ModelDataUrl": "s3://bench-models/abalone/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName="abalone", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "abalone", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName="abalone", EndpointConfigName="abalone")
    deadline = time.monotonic() + 120
    while sm.describe_endpoint(EndpointName="abalone")["EndpointStatus"] == "Creating":
        if time.monotonic() > deadline:
            raise RuntimeError("endpoint did not come up in 120 s")
        time.sleep(0.2)
    status = sm.describe_endpoint(EndpointName="abalone")
    if status["EndpointStatus"] != "InService":
        raise RuntimeError(f"endpoint failed: {status.get('FailureReason')}")
    return "abalone"


def seedbed_requests(port: int, creds: dict[str, str], endpoint: str, body: bytes, count: int) -> list:
    signer = botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(creds["aws_access_key_id"], creds["aws_secret_access_key"]),
        "sagemaker", creds["region"])
    path = f"/endpoints/{endpoint}/invocations"
    out = []
    for _ in range(count):
        request = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}{path}", data=body,
                             headers={"Content-Type": "text/csv", "Accept": "text/csv"})
        signer.add_auth(request)
        out.append(("POST", path, body, dict(request.headers.items())))
    return out


def boto3_median(port: int, creds: dict[str, str], endpoint: str, body: bytes, count: int) -> float:
    client = boto3.client("sagemaker-runtime", endpoint_url=f"http://127.0.0.1:{port}", region_name=creds["region"],
                          aws_access_key_id=creds["aws_access_key_id"],
                          aws_secret_access_key=creds["aws_secret_access_key"],
                          config=Config(retries={"max_attempts": 1}))
    times = []
    for i in range(count + 100):
        start = time.perf_counter()
        client.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=body)["Body"].read()
        if i >= 100:
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def concurrent(port: int, requests: list, threads: int = 4) -> float:
    """Requests per second with ``threads`` keep-alive clients sharing the prepared requests."""
    chunks = [requests[i::threads] for i in range(threads)]
    errors: list[str] = []

    def run(chunk: list) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for method, path, body, headers in chunk:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(str(response.status))
        conn.close()

    workers = [threading.Thread(target=run, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests ({errors[0]})")
    return len(requests) / (time.perf_counter() - start)


# -- the baseline -------------------------------------------------------------------------------


def mlflow_python() -> Path | None:
    """Seedbed's own Python once it has MLflow (pip-installed here, only for the benchmark, when
    missing), or None if pip cannot install it."""
    check = [sys.executable, "-c", "import mlflow.xgboost, xgboost"]
    if subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return Path(sys.executable)
    try:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "mlflow"], check=True,
                       capture_output=True, timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"  (could not install MLflow for the baseline: {exc})")
        return None
    return Path(sys.executable) if subprocess.run(check, capture_output=True, check=False).returncode == 0 else None


FALLBACK_APP = '''
import os, xgboost as xgb, numpy as np
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
booster = xgb.Booster(); booster.load_model(bytearray(open(os.environ["MODEL"], "rb").read()))
async def invocations(request):
    body = (await request.body()).decode()
    rows = np.asarray([[float(v) for v in l.split(",")] for l in body.splitlines() if l], dtype=np.float32)
    return Response(",".join(map(str, booster.inplace_predict(rows).tolist())), media_type="text/csv")
async def ping(request):
    return Response("")
app = Starlette(routes=[Route("/invocations", invocations, methods=["POST"]), Route("/ping", ping)])
'''


def start_baseline(model_file: Path, workdir: Path, row: list[float]) -> tuple[Server, str, list]:
    port = free_port()
    python = mlflow_python()
    if python is not None:
        model_dir = workdir / "mlflow-model"
        subprocess.run([str(python), "-c", (
            "import sys, xgboost as xgb, mlflow.xgboost\n"
            "b = xgb.Booster(); b.load_model(bytearray(open(sys.argv[1], 'rb').read()))\n"
            "mlflow.xgboost.save_model(b, sys.argv[2])\n"), str(model_file), str(model_dir)],
            check=True, capture_output=True)
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"file://{workdir}/mlruns",
               "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        proc = subprocess.Popen([str(python), "-m", "mlflow", "models", "serve", "-m", str(model_dir),
                                 "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        name = "mlflow models serve"
        body = json.dumps({"inputs": [row]}).encode()
        headers = {"Content-Type": "application/json"}
    else:
        app = workdir / "baseline_app.py"
        app.write_text(FALLBACK_APP)
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "baseline_app:app", "--port", str(port),
                                 "--log-level", "warning", "--no-access-log"], cwd=workdir,
                                env={**os.environ, "MODEL": str(model_file)}, stdout=subprocess.DEVNULL)
        name = "starlette+xgboost (MLflow not installable)"
        body = ",".join(map(repr, row)).encode()
        headers = {"Content-Type": "text/csv"}
    wait_for(f"http://127.0.0.1:{port}/ping", timeout=120)
    requests = [("POST", "/invocations", body, dict(headers)) for _ in range(1)]
    return Server(proc, port), name, requests


def run(count: int = 2000) -> dict[str, float | Stats]:
    workdir = Path(tempfile.mkdtemp(prefix="seedbed-bench-hosting-"))
    model_file, row = train(workdir)
    body = ",".join(map(repr, row)).encode()
    seedbed, creds = start_seedbed()
    baseline: Server | None = None
    try:
        endpoint = deploy(seedbed.port, creds, model_file)
        baseline, baseline_name, template = start_baseline(model_file, workdir, row)
        base_requests = template * count
        seed_requests = seedbed_requests(seedbed.port, creds, endpoint, body, count)
        seed_runs, base_runs = [], []
        for _ in range(3):
            base_runs.append(measure(baseline.port, base_requests))
            seed_runs.append(measure(seedbed.port, seed_requests))
        seed_tp = max(concurrent(seedbed.port, seed_requests) for _ in range(2))
        base_tp = max(concurrent(baseline.port, base_requests) for _ in range(2))
        boto_ms = boto3_median(seedbed.port, creds, endpoint, body, count)
        rss = seedbed.rss_mb()
    finally:
        seedbed.stop()
        if baseline is not None:
            baseline.stop()
    best_seed = min(seed_runs, key=lambda s: s.median_ms)
    best_base = min(base_runs, key=lambda s: s.median_ms)
    ratio_seq = best_seed.per_second / best_base.per_second
    ratio_tp = seed_tp / base_tp
    print(f"Hosting: single-row XGBoost InvokeEndpoint vs {baseline_name} (same model, same client)")
    print("  " + best_base.row(baseline_name[:34]))
    print("  " + best_seed.row("seedbed InvokeEndpoint"))
    print(f"  throughput, 4 client threads: seedbed {seed_tp:.0f} req/s, baseline {base_tp:.0f} req/s")
    verdict = "OK" if min(ratio_seq, ratio_tp) >= THROUGHPUT_TARGET else "UNDER TARGET"
    print(f"  throughput ratio {ratio_seq:.2f}x at one client, {ratio_tp:.2f}x at four "
          f"(target >= {THROUGHPUT_TARGET}x): {verdict}")
    verdict = "OK" if boto_ms < MEDIAN_TARGET_MS else "OVER TARGET"
    print(f"  boto3 invoke_endpoint median {boto_ms:.3f} ms (target < {MEDIAN_TARGET_MS} ms): {verdict}; "
          f"server RSS {rss:.0f} MB")
    return {"seedbed": best_seed, "baseline": best_base, "ratio": ratio_seq, "ratio_concurrent": ratio_tp,
            "boto3_median_ms": boto_ms}


if __name__ == "__main__":
    run()
