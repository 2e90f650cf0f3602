"""S3 throughput: Seedbed against a moto server process, same boto3 client, same run.

Measured:

- 1 KiB PUT and GET throughput through boto3 (one client thread, then eight);
- 64 MiB upload and download through boto3's managed transfers (multipart, parallel ranges);
- 1 KiB PUT and GET median latency with the lean client of ``bench_core`` against the HTTP floor
  (the same bare uvicorn app), which removes boto3's own ~1 ms per call from the ratio.

Targets (issue 3): small-object throughput at least 3x moto's; median latency within 2x of the
HTTP floor. A PUT here is durable before it is acknowledged (fsync of the blob and its directory),
so its floor ratio includes the disk's flush time; the fsync cost is measured and shown too.
"""

from __future__ import annotations

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

from bench.harness import BIN, Server, free_port, measure, start_floor, start_seedbed, wait_for

SMALL = os.urandom(1024)
BIG_MIB = 64
SMALL_TARGET = 3.0
FLOOR_TARGET = 2.0


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
    seedbed, creds = start_seedbed()
    moto = start_moto()
    floor = start_floor()
    try:
        ours = throughput(client(seedbed.port, creds["aws_access_key_id"], creds["aws_secret_access_key"]), "bench-seedbed", count)
        theirs = throughput(client(moto.port, "testing", "testing"), "bench-moto", count)
        gets = signed(seedbed.port, creds, "GET", "/bench-seedbed/small/1", b"", 2000)
        puts = signed(seedbed.port, creds, "PUT", "/bench-seedbed/lean/key", SMALL, 2000)
        floor_requests = signed(floor.port, creds, "GET", "/", b"", 2000)
        floor_runs, get_runs, put_runs = [], [], []
        for _ in range(3):
            floor_runs.append(measure(floor.port, floor_requests))
            get_runs.append(measure(seedbed.port, gets))
            put_runs.append(measure(seedbed.port, puts))
        disk = fsync_ms(seedbed.data_dir or Path(tempfile.gettempdir()))
    finally:
        seedbed.stop()
        moto.stop()
        floor.stop()
    best = lambda runs: min(runs, key=lambda s: s.median_ms)  # noqa: E731
    floor_stats, get_stats, put_stats = best(floor_runs), best(get_runs), best(put_runs)
    small_ratio = min(ours.put_1 / theirs.put_1, ours.get_1 / theirs.get_1)
    get_floor = get_stats.median_ms / floor_stats.median_ms
    put_floor = put_stats.median_ms / floor_stats.median_ms
    put_floor_less_disk = max(put_stats.median_ms - disk, 0.0) / floor_stats.median_ms

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
    print("S3: lean client vs the HTTP floor")
    print("  " + floor_stats.row("floor (bare ASGI)"))
    print("  " + get_stats.row("seedbed GET 1 KiB"))
    print("  " + put_stats.row("seedbed PUT 1 KiB (durable)"))
    print(f"  durable write on this disk (write+fsync+rename+fsync dir): {disk:.3f} ms")
    verdict = "OK" if get_floor <= FLOOR_TARGET else "OVER TARGET"
    print(f"  GET ratio {get_floor:.2f}x (target <= {FLOOR_TARGET}x): {verdict}")
    print(f"  PUT ratio {put_floor:.2f}x; without the disk's fsync time {put_floor_less_disk:.2f}x")
    return {
        "seedbed": ours,
        "moto": theirs,
        "small_ratio": small_ratio,
        "get_floor_ratio": get_floor,
        "put_floor_ratio": put_floor,
        "fsync_ms": disk,
        "floor": floor_stats,
        "get": get_stats,
        "put": put_stats,
    }


if __name__ == "__main__":
    run()
