"""Soak: mixed load on a real gateway process, with Redis restarted twice in the middle.

``python -m benchmarks.soak --minutes 10`` (``nox -s soak``). Everything runs on 127.0.0.1: a
private redis-server, ``fullon-cache-api serve`` as a subprocess (so its RSS and open file
descriptors are its own), HTTP clients cycling over the domain routes, Server-Sent Events
clients, and a feeder publishing tickers as fullon_cache does. Redis is killed at 1/3 and 2/3
of the run, kept down for ``--outage`` seconds, restarted empty and re-seeded.

The report: requests served by status, errors that are not 503/504 (target 0), p50/p99
latency outside the outage windows, stream events and reconnects, and the gateway's RSS and
open file descriptors after warm-up and at the end (growth target < 10%).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import subprocess
import sys
import time
from collections import Counter

from redis.asyncio import Redis

from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.demo.seed import seed
from fullon_cache_api.security._auth import hash_api_key

from ._soak_load import (
    RawHttp,
    Run,
    feeder,
    http_client,
    resources_of,
    sample_resources,
    stream_client,
)

PATHS = [
    "/health",
    "/tickers",
    "/tickers/binance",
    "/tickers/binance/BTC/USDT",
    "/accounts",
    "/accounts/1/positions",
    "/orders",
    "/orders/binance",
    "/bots",
    "/trades/binance/BTC/USDT",
    "/ohlcv/BTC/USDT/1m",
    "/processes",
]
STREAMS = ["/tickers/binance/stream", "/tickers/binance/BTC/USDT/stream"]
GRACE = 2.0  # seconds after the data is back that still count as the outage window


async def restarts(server: RedisServer, run: Run, at: list[float], outage: float) -> None:
    """Kill Redis at each moment of `at`, keep it down `outage` s, restart it and re-seed."""
    for moment in at:
        await asyncio.sleep(max(0.0, moment - time.monotonic()))
        killed = time.monotonic()
        server.kill()
        print(f"  redis killed at {killed - run.begin:.0f} s", flush=True)
        await asyncio.sleep(outage)
        await asyncio.to_thread(server.start)
        await seed_redis(server.port)
        back = time.monotonic()
        run.outages.append((killed, back + GRACE))
        print(f"  redis back and seeded after {back - killed:.1f} s", flush=True)


async def seed_redis(port: int) -> None:
    """The demo's sample data, in fullon_cache's layout."""
    client = Redis(port=port)
    try:
        await seed(CacheWriter(client))
    finally:
        await client.aclose()


def start_gateway(redis_url: str, key: str, timeout: float) -> tuple[subprocess.Popen[str], str]:
    """``fullon-cache-api serve --port 0`` on `redis_url`; returns the process and its URL."""
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "REDIS_SOCKET_TIMEOUT": str(timeout),
        "FULLON_CACHE_API_KEYS": f"soak:{hash_api_key(key)}:admin",
        "LOG_LEVEL": "error",
    }
    command = [sys.executable, "-m", "fullon_cache_api", "serve", "--port", "0"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    found = re.search(r"serving on (http://\S+)", process.stdout.readline())
    if not found:
        process.kill()
        raise SystemExit("the gateway did not start")
    return process, found.group(1)


async def soak(args: argparse.Namespace) -> Run:
    """Run the whole soak and return its measurements."""
    run = Run()
    key = secrets.token_urlsafe(16)
    with RedisServer() as server:
        await seed_redis(server.port)
        gateway, url = start_gateway(server.url, key, args.timeout)
        try:
            await measure(args, run, server, gateway.pid, url, key)
        finally:
            gateway.terminate()
            gateway.wait(timeout=30)
            if gateway.stdout is not None:
                gateway.stdout.close()
    return run


async def measure(
    args: argparse.Namespace, run: Run, server: RedisServer, pid: int, url: str, key: str
) -> None:
    """Warm up, then run every load task until the end of the soak."""
    found = re.fullmatch(r"http://([\d.]+):(\d+)", url)
    assert found, url
    address = (found.group(1), int(found.group(2)))
    probe = RawHttp(address, key)
    for _ in range(100):  # wait until the gateway answers
        if await probe.get("/health") == 200:
            break
        await asyncio.sleep(0.1)
    await probe.close()
    run.idle_before = resources_of(pid)
    own_cpu = time.process_time()
    now = run.begin = time.monotonic()
    until = now + args.minutes * 60
    at = [now + args.minutes * 60 * k / (args.restarts + 1) for k in range(1, args.restarts + 1)]
    tasks = [
        feeder(server.port, until),
        restarts(server, run, at, args.outage),
        sample_resources(pid, run, until),
        *(
            http_client(RawHttp(address, key), run, PATHS, n, until)
            for n in range(args.http_clients)
        ),
        *(
            stream_client(RawHttp(address, key), run, STREAMS[n % 2], until)
            for n in range(args.streams)
        ),
    ]
    await asyncio.gather(*tasks)
    run.client_cpu = (time.process_time() - own_cpu) / (time.monotonic() - now)
    await asyncio.sleep(2.0)  # let the gateway notice the closed streams
    run.idle_after = resources_of(pid)


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` quantile of `values` (nearest rank), in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000.0


def report(args: argparse.Namespace, run: Run) -> str:
    """The soak report, as text."""
    inside: Counter[int] = Counter()
    outside: Counter[int] = Counter()
    normal: list[float] = []
    for started, latency, status in zip(run.started, run.latency, run.status, strict=True):
        if run.in_outage(started, latency):
            inside[status] += 1
        else:
            outside[status] += 1
            normal.append(latency)
    statuses = inside + outside
    # 404 inside a window: the restarted Redis is empty until re-seeded (a true answer).
    errors = sum(n for status, n in statuses.items() if status not in (200, 503, 504))
    errors -= inside[404]
    warm = next((r for r in run.resources if r[0] - run.begin >= args.warmup), None)
    start, end = warm or run.resources[0], run.resources[-1]
    growth = (end[1] - start[1]) / start[1] * 100 if start[1] else float("nan")
    cpu = (end[3] - start[3]) / (end[0] - start[0]) * 100 if end[0] > start[0] else 0.0
    return "\n".join(
        [
            f"soak: {args.minutes:g} min, {args.http_clients} HTTP clients, {args.streams} SSE "
            f"clients, {len(run.outages)} Redis restarts ({args.outage:g} s down each), "
            f"REDIS_SOCKET_TIMEOUT={args.timeout:g}",
            f"requests served: {len(run.status)}  by status: {dict(sorted(statuses.items()))}"
            "  (0 = transport error)",
            f"  inside outage windows: {dict(sorted(inside.items()))}",
            f"errors other than 503/504: {errors}"
            f"  (not counted: {inside[404]} 404s from the empty Redis right after a restart)",
            f"503/504 outside outage windows: {outside[503] + outside[504]}",
            f"latency outside outages: p50 {percentile(normal, 0.5):.2f} ms, "
            f"p99 {percentile(normal, 0.99):.2f} ms, max {percentile(normal, 1.0):.2f} ms"
            f" over {len(normal)} requests",
            f"streams: opens by status {dict(sorted(run.stream_opens.items()))}, "
            f"events {dict(sorted(run.events.items()))}",
            f"gateway RSS under load: {start[1] / 1024:.1f} MiB at {start[0] - run.begin:.0f} s"
            f" -> {end[1] / 1024:.1f} MiB at {end[0] - run.begin:.0f} s ({growth:+.1f}%);"
            f" idle: {run.idle_before[1] / 1024:.1f} MiB before, "
            f"{run.idle_after[1] / 1024:.1f} MiB after",
            f"gateway open fds under load: {start[2]} -> {end[2]}; idle: "
            f"{run.idle_before[2]} before, {run.idle_after[2]} after",
            f"CPU: gateway {cpu:.0f}% of one core, load generator {run.client_cpu * 100:.0f}%",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, soak, print the report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--http-clients", type=int, default=20)
    parser.add_argument("--streams", type=int, default=200, help="SSE clients (0: none)")
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--outage", type=float, default=3.0, help="seconds Redis stays down")
    parser.add_argument("--timeout", type=float, default=1.0, help="REDIS_SOCKET_TIMEOUT")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before RSS start")
    args = parser.parse_args(argv)
    run = asyncio.run(soak(args))
    print(report(args, run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
