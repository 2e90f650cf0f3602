"""Per-request overhead of the server core: STS GetCallerIdentity against the HTTP floor.

Both servers run on uvicorn in their own process; one lean client (http.client, keep-alive,
requests signed with botocore's SigV4 signer before the clock starts) drives each in turn.
Target (issue 2): Seedbed's median no more than 2x the floor's.
"""

from __future__ import annotations

import botocore.auth
import botocore.credentials
from botocore.awsrequest import AWSRequest

from bench.harness import Stats, measure, start_floor, start_seedbed

BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
TARGET_RATIO = 2.0
REST_RSS_LIMIT_MB = 250.0


def signed_requests(port: int, creds: dict[str, str], count: int) -> list[tuple[str, str, bytes, dict[str, str]]]:
    signer = botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(creds["aws_access_key_id"], creds["aws_secret_access_key"]),
        "sts",
        creds["region"],
    )
    out = []
    for _ in range(count):
        request = AWSRequest(
            method="POST",
            url=f"http://127.0.0.1:{port}/",
            data=BODY,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        signer.add_auth(request)
        out.append(("POST", "/", BODY, dict(request.headers.items())))
    return out


def run(count: int = 3000) -> dict[str, Stats | float]:
    seedbed, creds = start_seedbed()
    floor = start_floor()
    try:
        rss_at_rest = seedbed.rss_mb()
        seedbed_requests = signed_requests(seedbed.port, creds, count)
        floor_requests = signed_requests(floor.port, creds, count)
        # Interleave rounds so that machine noise hits both alike.
        seedbed_runs, floor_runs = [], []
        for _ in range(3):
            floor_runs.append(measure(floor.port, floor_requests))
            seedbed_runs.append(measure(seedbed.port, seedbed_requests))
            if len(seedbed_runs) == 1:
                rss_after_first = seedbed.rss_mb()
        rss_after_all = seedbed.rss_mb()
    finally:
        seedbed.stop()
        floor.stop()
    best_seedbed = min(seedbed_runs, key=lambda s: s.median_ms)
    best_floor = min(floor_runs, key=lambda s: s.median_ms)
    ratio = best_seedbed.median_ms / best_floor.median_ms
    print("Server core: GetCallerIdentity vs the HTTP floor (same uvicorn, same client)")
    print("  " + best_floor.row("floor (bare ASGI, fixed bytes)"))
    print("  " + best_seedbed.row("seedbed sts:GetCallerIdentity"))
    verdict = "OK" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(f"  ratio {ratio:.2f}x (target <= {TARGET_RATIO}x): {verdict}")
    rest_verdict = "OK" if rss_at_rest <= REST_RSS_LIMIT_MB else "OVER LIMIT"
    print(
        f"  memory: {rss_at_rest:.0f} MB resident at rest (limit {REST_RSS_LIMIT_MB:.0f} MB: {rest_verdict}); "
        f"{rss_after_first:.0f} MB after {count} requests, {rss_after_all:.0f} MB after {3 * count} "
        f"(growth over the last {2 * count}: {rss_after_all - rss_after_first:+.1f} MB)"
    )
    return {"floor": best_floor, "seedbed": best_seedbed, "ratio": ratio, "rss_at_rest_mb": rss_at_rest}


if __name__ == "__main__":
    run()
