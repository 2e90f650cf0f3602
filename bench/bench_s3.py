"""S3 throughput: Seedbed against a moto server process, same boto3 client, same run.

Measured:

- 1 KiB PUT and GET throughput through boto3 (one client thread, then eight);
- 64 MiB upload and download through boto3's managed transfers (multipart, parallel ranges);
- 1 KiB GET and PUT median latency through the same boto3 client against the S3 floor: a bare
  ASGI app on the same uvicorn stack (:func:`s3_floor_app`) that answers every GET with a fixed,
  valid 1 KiB GetObject response and every PUT with a valid PutObject response. Both sides pay
  boto3's own ~1 ms per call, so this ratio is what a boto3 user sees;
- the same GET and PUT with the lean client of ``bench_core`` (requests signed before the clock
  starts) against the same S3 floor app, which removes boto3's cost and shows the server's share.

Targets (issue 3): small-object throughput at least 3x moto's; median latency within 2x of the
HTTP floor. A PUT here is durable before it is acknowledged (fsync of the blob and its directory),
so its floor ratio includes the disk's flush time; the fsync cost is measured and shown too.
"""

from __future__ import annotations

import hashlib
import io
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import boto3
import botocore.auth
import botocore.credentials
from boto3.s3.transfer import TransferConfig
from botocore.awsrequest import AWSRequest
from botocore.config import Config

from bench.harness import BIN, Server, Stats, free_port, measure, start_seedbed, wait_for

SMALL = os.urandom(1024)
BIG_MIB = 64
SMALL_TARGET = 3.0
FLOOR_TARGET = 2.0


_FLOOR_HEADERS = [
    (b"content-type", b"binary/octet-stream"),
    (b"etag", b'"' + hashlib.md5(SMALL).hexdigest().encode() + b'"'),
    (b"last-modified", b"Mon, 23 Nov 2026 10:00:00 GMT"),
    (b"accept-ranges", b"bytes"),
    (b"x-amz-server-side-encryption", b"AES256"),
    (b"x-amz-request-id", b"0000000000000000"),
]


async def s3_floor_app(scope, receive, send):  # type: ignore[no-untyped-def]
    """The S3 floor: fixed, valid GetObject (1 KiB) and PutObject answers, nothing else done.
    It honours ``Expect: 100-continue`` the way uvicorn does for any app (by reading the body)."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    if scope["method"] == "GET":
        headers = _FLOOR_HEADERS + [(b"content-length", str(len(SMALL)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": SMALL})
    else:
        headers = _FLOOR_HEADERS[1:2] + _FLOOR_HEADERS[4:] + [(b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def start_s3_floor() -> Server:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "python"), "-m", "uvicorn", "bench.bench_s3:s3_floor_app", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        stdout=subprocess.DEVNULL,
    )
    wait_for(f"http://127.0.0.1:{port}/")
    return Server(proc, port)


def boto3_latency(s3, bucket: str, key: str, method: str, count: int, warmup: int = 100) -> Stats:  # type: ignore[no-untyped-def]
    """Median and p90 of one boto3 call after another (the same client as the throughput runs)."""
    times = []
    for i in range(count + warmup):
        start = time.perf_counter()
        if method == "GET":
            s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        else:
            s3.put_object(Bucket=bucket, Key=key, Body=SMALL)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    times.sort()
    return Stats(statistics.median(times) * 1000, times[int(len(times) * 0.9)] * 1000, len(times) / sum(times))


def start_moto() -> Server:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(f"http://127.0.0.1:{port}/moto-api/")
    return Server(proc, port)


def client(port: int, key: str, secret: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=16, s3={"addressing_style": "path"}),
    )


@dataclass
class Throughput:
    put_1: float
    get_1: float
    put_8: float
    get_8: float
    upload_mb_s: float
    download_mb_s: float


def _ops_per_second(fn, count: int, threads: int) -> float:  # type: ignore[no-untyped-def]
    if threads == 1:
        start = time.perf_counter()
        for i in range(count):
            fn(i)
        return count / (time.perf_counter() - start)
    with ThreadPoolExecutor(threads) as pool:
        start = time.perf_counter()
        list(pool.map(fn, range(count)))
        return count / (time.perf_counter() - start)


def throughput(s3, bucket: str, count: int) -> Throughput:  # type: ignore[no-untyped-def]
    s3.create_bucket(Bucket=bucket)
    keys = [f"small/{i % 100}" for i in range(count)]

    def put(i: int) -> None:
        s3.put_object(Bucket=bucket, Key=keys[i], Body=SMALL)

    def get(i: int) -> None:
        s3.get_object(Bucket=bucket, Key=keys[i])["Body"].read()

    for i in range(50):  # warm up connections and code paths
        put(i)
        get(i)
    put_1 = _ops_per_second(put, count, 1)
    get_1 = _ops_per_second(get, count, 1)
    put_8 = _ops_per_second(put, count, 8)
    get_8 = _ops_per_second(get, count, 8)
    big = os.urandom(BIG_MIB * 1024 * 1024)
    config = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, max_concurrency=8)
    start = time.perf_counter()
    s3.upload_fileobj(io.BytesIO(big), bucket, "big.bin", Config=config)
    upload = BIG_MIB / (time.perf_counter() - start)
    sink = io.BytesIO()
    start = time.perf_counter()
    s3.download_fileobj(bucket, "big.bin", sink, Config=config)
    download = BIG_MIB / (time.perf_counter() - start)
    assert sink.getvalue() == big
    return Throughput(put_1, get_1, put_8, get_8, upload, download)


def signed(port: int, creds: dict[str, str], method: str, path: str, body: bytes, count: int) -> list[tuple[str, str, bytes, dict[str, str]]]:
    signer = botocore.auth.S3SigV4Auth(
        botocore.credentials.Credentials(creds["aws_access_key_id"], creds["aws_secret_access_key"]), "s3", creds["region"]
    )
    out = []
    for _ in range(count):
        request = AWSRequest(method=method, url=f"http://127.0.0.1:{port}{path}", data=body)
        signer.add_auth(request)
        out.append((method, path, body, dict(request.headers.items())))
    return out


def fsync_ms(directory: Path, count: int = 200) -> float:
    """What one durable small write costs on this disk: write, fsync, rename, fsync the dir."""
    dir_fd = os.open(directory, os.O_RDONLY)
    times = []
    for _ in range(count):
        name = directory / uuid.uuid4().hex
        start = time.perf_counter()
        fd = os.open(f"{name}.tmp", os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, SMALL)
        os.fsync(fd)
        os.close(fd)
        os.rename(f"{name}.tmp", name)
        os.fsync(dir_fd)
        times.append(time.perf_counter() - start)
        os.unlink(name)
    os.close(dir_fd)
    return statistics.median(times) * 1000


def run(count: int = 1000) -> dict[str, object]:
    load = os.getloadavg()
    seedbed, creds = start_seedbed()
    moto = start_moto()
    floor = start_s3_floor()
    try:
        ours_client = client(seedbed.port, creds["aws_access_key_id"], creds["aws_secret_access_key"])
        floor_client = client(floor.port, creds["aws_access_key_id"], creds["aws_secret_access_key"])
        ours = throughput(ours_client, "bench-seedbed", count)
        theirs = throughput(client(moto.port, "testing", "testing"), "bench-moto", count)
        gets = signed(seedbed.port, creds, "GET", "/bench-seedbed/small/1", b"", 2000)
        puts = signed(seedbed.port, creds, "PUT", "/bench-seedbed/lean/key", SMALL, 2000)
        floor_gets = signed(floor.port, creds, "GET", "/bench-seedbed/small/1", b"", 2000)
        floor_puts = signed(floor.port, creds, "PUT", "/bench-seedbed/lean/key", SMALL, 2000)
        runs: dict[str, list[Stats]] = {name: [] for name in ("bf_get", "b_get", "bf_put", "b_put", "lf_get", "l_get", "lf_put", "l_put")}
        for _ in range(3):  # interleaved rounds: machine noise hits both sides alike
            runs["bf_get"].append(boto3_latency(floor_client, "bench-seedbed", "small/1", "GET", 500))
            runs["b_get"].append(boto3_latency(ours_client, "bench-seedbed", "small/1", "GET", 500))
            runs["bf_put"].append(boto3_latency(floor_client, "bench-seedbed", "lean/boto3", "PUT", 500))
            runs["b_put"].append(boto3_latency(ours_client, "bench-seedbed", "lean/boto3", "PUT", 500))
            runs["lf_get"].append(measure(floor.port, floor_gets))
            runs["l_get"].append(measure(seedbed.port, gets))
            runs["lf_put"].append(measure(floor.port, floor_puts))
            runs["l_put"].append(measure(seedbed.port, puts))
        disk = fsync_ms(seedbed.data_dir or Path(tempfile.gettempdir()))
    finally:
        seedbed.stop()
        moto.stop()
        floor.stop()
    best = {name: min(values, key=lambda s: s.median_ms) for name, values in runs.items()}
    small_ratio = min(ours.put_1 / theirs.put_1, ours.get_1 / theirs.get_1)
    ratio = lambda a, b: best[a].median_ms / best[b].median_ms  # noqa: E731
    get_floor, put_floor = ratio("b_get", "bf_get"), ratio("b_put", "bf_put")
    lean_get, lean_put = ratio("l_get", "lf_get"), ratio("l_put", "lf_put")
    put_less_disk = max(best["b_put"].median_ms - disk, 0.0) / best["bf_put"].median_ms

    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")
    print("S3: Seedbed vs moto (boto3, same client settings)")
    print(f"  {'':<30}{'seedbed':>12}{'moto':>12}{'ratio':>9}")
    for name, a, b, unit in [
        ("1 KiB PUT, 1 thread", ours.put_1, theirs.put_1, "req/s"),
        ("1 KiB GET, 1 thread", ours.get_1, theirs.get_1, "req/s"),
        ("1 KiB PUT, 8 threads", ours.put_8, theirs.put_8, "req/s"),
        ("1 KiB GET, 8 threads", ours.get_8, theirs.get_8, "req/s"),
        (f"{BIG_MIB} MiB upload", ours.upload_mb_s, theirs.upload_mb_s, "MB/s"),
        (f"{BIG_MIB} MiB download", ours.download_mb_s, theirs.download_mb_s, "MB/s"),
    ]:
        print(f"  {name:<30}{a:>9.0f} {unit:<5}{b:>6.0f} {unit:<5}{a / b:>6.1f}x")
    verdict = "OK" if small_ratio >= SMALL_TARGET else "UNDER TARGET"
    print(f"  small-object ratio (worst of PUT/GET, 1 thread) {small_ratio:.1f}x (target >= {SMALL_TARGET}x): {verdict}")
    print("S3: the same boto3 client against the S3 floor (bare ASGI, fixed valid GetObject/PutObject)")
    print("  " + best["bf_get"].row("floor GetObject (boto3)"))
    print("  " + best["b_get"].row("seedbed GetObject 1 KiB (boto3)"))
    print("  " + best["bf_put"].row("floor PutObject (boto3)"))
    print("  " + best["b_put"].row("seedbed PutObject 1 KiB, durable"))
    verdict = "OK" if get_floor <= FLOOR_TARGET else "OVER TARGET"
    print(f"  GET ratio {get_floor:.2f}x (target <= {FLOOR_TARGET}x): {verdict}")
    print(f"  PUT ratio {put_floor:.2f}x; without the disk's fsync time {put_less_disk:.2f}x")
    print("S3: lean client (signed in advance) against the same S3 floor: the server's own share")
    print("  " + best["lf_get"].row("floor GET"))
    print("  " + best["l_get"].row("seedbed GET 1 KiB"))
    print("  " + best["lf_put"].row("floor PUT"))
    print("  " + best["l_put"].row("seedbed PUT 1 KiB (durable)"))
    print(f"  durable write on this disk (write+fsync+rename+fsync dir): {disk:.3f} ms")
    print(f"  GET ratio {lean_get:.2f}x, PUT ratio {lean_put:.2f}x")
    return {
        "seedbed": ours,
        "moto": theirs,
        "small_ratio": small_ratio,
        "get_floor_ratio": get_floor,
        "put_floor_ratio": put_floor,
        "lean_get_floor_ratio": lean_get,
        "lean_put_floor_ratio": lean_put,
        "fsync_ms": disk,
        "load_average": load,
        "stats": best,
    }


if __name__ == "__main__":
    run()
