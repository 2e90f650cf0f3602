"""Shared pieces: start servers as subprocesses, a lean keep-alive HTTP client, statistics."""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error status means it is up
                return
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    data_dir: Path | None = None

    def rss_mb(self) -> float:
        """Resident memory of the server process, from /proc (Linux)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_seedbed() -> tuple[Server, dict[str, str]]:
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="seedbed-bench-"))
    proc = subprocess.Popen(
        [str(BIN / "seedbed"), "up", "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
    )
    wait_for(f"http://127.0.0.1:{port}/_seedbed/health")
    creds = json.loads((data_dir / "credentials.json").read_text())
    return Server(proc, port, data_dir), creds


def start_floor() -> Server:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "python"), "-m", "uvicorn", "bench.floor_app:app", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        stdout=subprocess.DEVNULL,
    )
    wait_for(f"http://127.0.0.1:{port}/")
    return Server(proc, port)


@dataclass
class Stats:
    median_ms: float
    p90_ms: float
    per_second: float

    def row(self, name: str) -> str:
        return f"{name:<34} median {self.median_ms:7.3f} ms   p90 {self.p90_ms:7.3f} ms   {self.per_second:8.0f} req/s"


def measure(port: int, requests: list[tuple[str, str, bytes, dict[str, str]]], warmup: int = 200) -> Stats:
    """Send prepared requests one after another on one keep-alive connection (``TCP_NODELAY``)."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times: list[float] = []
    for i, (method, path, body, headers) in enumerate(requests):
        start = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise RuntimeError(f"request failed: {response.status} {payload[:300]!r}")
        if i >= warmup:
            times.append(elapsed)
    conn.close()
    times.sort()
    return Stats(
        median_ms=statistics.median(times) * 1000,
        p90_ms=times[int(len(times) * 0.9)] * 1000,
        per_second=len(times) / sum(times),
    )
