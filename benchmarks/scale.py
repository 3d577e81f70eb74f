"""``python -m benchmarks.scale``: the gateway on production-sized keys, and what others feel.

Everything runs on 127.0.0.1: a private redis-server seeded in fullon_cache's layout (see
``_scale_seed``) with, per size (default 1k, 10k, 100k, 200k, 1M entries), a ticker hash, a hash
of corrupt tickers, an order hash, a bot hash, a trade queue and an OHLCV series; the gateway
as users run it (``fullon-cache-api serve`` with default settings, a real process, started
fresh per size); and a probe process asking for one cached ticker every 10 ms. For each
endpoint the report gives the latency of its requests, the answer's size and what it says
(count, skipped, partial, a next cursor), the gateway's resident memory after them and at its
peak, the log lines written, and the probe's p99 and worst latency while they ran: the stall
every other client sees.

With the probe still running, a change stream is then held on each big key (see
``_scale_streams``: the order and bot hashes over SSE, the trade queue over a WebSocket) while a
writer changes it once a second: the probe's p99 / worst latency, and the poller's Redis read
commands and output bytes per second.

Then, once per gateway: ten reads of a hash holding one 50 MB corrupt value, with the
gateway's RSS before and after. Last, the targets of issue 11: probe p99 < 50 ms and max
< 200 ms while keys of 200,000 entries or more are read, ``/orders/{exchange}?limit=10`` within
1 s (or ``partial``), RSS within +200 MB after the ten big reads.

``--gateway-src DIR`` (repeatable) measures other checkouts of the gateway side by side, e.g. the
commit before a change exported with ``git archive``: each runs against the same seeded data in
the same run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import redis

from fullon_cache_api.demo import RedisServer
from fullon_cache_api.security._auth import hash_api_key

from ._harness import ROOT, machine, source
from ._scale_seed import EXCHANGE, seed_size
from ._scale_streams import StreamRow, hold_streams, stream_table

__all__ = ["main"]

ENDPOINTS = {
    "tickers page": f"/tickers/{EXCHANGE}",
    "corrupt tickers": "/tickers/corrupt",
    "orders ?limit=10": f"/orders/{EXCHANGE}?limit=10",
    "trades ?limit=10000": f"/trades/{EXCHANGE}/BTC/USDT?limit=10000",
    "bars ?limit=10000": "/ohlcv/SCALE/USDT/1m?limit=10000",
    "/tickers/status": "/tickers/status",
    "/orders/stats": "/orders/stats",
    "/trades/stats": "/trades/stats",
}
PROBE_PATH = "/tickers/probe/BTC/USDT"
_TIMEOUT = 300.0
# Issue 11's targets.
_PROBE_P99_MS, _PROBE_MAX_MS, _ORDERS_MS, _RSS_GROWTH_MB = 50.0, 200.0, 1000.0, 200.0


@dataclass
class Row:
    """One endpoint measured on one gateway at one size."""

    size: int
    gateway: str
    endpoint: str
    statuses: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    bytes: int = 0
    facts: str = ""
    probe_p99_ms: float = 0.0
    probe_max_ms: float = 0.0
    probe_samples: int = 0
    rss_mb: float = 0.0
    peak_mb: float = 0.0
    log_lines: int = 0


@dataclass
class BigValue:
    """Ten reads of one 50 MB corrupt value: the gateway's RSS before and after."""

    gateway: str
    statuses: list[int]
    rss_before_mb: float
    rss_after_mb: float
    peak_mb: float


class Gateway:
    """``python -m fullon_cache_api serve`` (the console script's code) from `src`."""

    def __init__(self, name: str, src: Path, redis_url: str, key: str) -> None:
        self.name = name
        self.log = tempfile.NamedTemporaryFile(prefix="scale-gateway-", suffix=".log")  # noqa: SIM115
        env = {**os.environ, "REDIS_URL": redis_url}
        env["FULLON_CACHE_API_KEYS"] = f"scale:{hash_api_key(key)}:admin"
        env.pop("PYTHONPATH", None)
        command = [sys.executable, "-m", "fullon_cache_api", "serve", "--port", "0"]
        # cwd first on sys.path: `src`'s package is the one imported.
        self.process = subprocess.Popen(
            command, cwd=src, env=env, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        assert self.process.stdout is not None
        found = re.search(r"serving on (http://\S+)", self.process.stdout.readline())
        if not found:
            self.stop()
            raise SystemExit(f"the gateway from {src} did not start")
        self.url = found.group(1)

    def memory(self) -> tuple[float, float]:
        """VmRSS and VmHWM in MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        found = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
        return int(found["VmRSS"]) / 1024, int(found["VmHWM"]) / 1024

    def log_lines(self) -> int:
        """Lines about skipped entries the gateway has logged so far (not request lines)."""
        with open(self.log.name, "rb") as file:
            return sum(line.count(b"skipped") for line in file)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.log.close()


class Probe:
    """The probe process (``_probe``) on one gateway."""

    def __init__(self, url: str, key: str, interval: float) -> None:
        self.out = tempfile.NamedTemporaryFile(prefix="scale-probe-", suffix=".json")  # noqa: SIM115
        command = [sys.executable, "-m", "benchmarks._probe", url + PROBE_PATH, key]
        self.process = subprocess.Popen([*command, str(interval), self.out.name], cwd=ROOT)

    def samples(self) -> list[tuple[float, float, int]]:
        """Stop the probe; its samples (send time, latency s, status)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return []
        data = Path(self.out.name).read_bytes()
        self.out.close()
        return [tuple(sample) for sample in msgspec.json.decode(data)] if data else []


def get(url: str, key: str) -> tuple[int, bytes, float]:
    """One GET: status, body, seconds."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=_TIMEOUT)
    started = time.monotonic()
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                           headers={"X-API-Key": key})  # fmt: skip
        response = connection.getresponse()
        body = response.read()
        return response.status, body, time.monotonic() - started
    except (OSError, http.client.HTTPException):
        return 0, b"", time.monotonic() - started
    finally:
        connection.close()


def facts(body: bytes) -> str:
    """What an answer says of its own size: count, skipped, partial, a next cursor."""
    try:
        answer: Any = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return ""
    if not isinstance(answer, dict):
        return ""
    shown = []
    for name in ("count", "matched", "skipped", "symbols", "trades", "orders"):
        value = answer.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            shown.append(f"{name} {value}")
    if answer.get("partial"):
        shown.append("partial")
    if answer.get("next_cursor"):
        shown.append("next")
    return ", ".join(shown)


def measure(
    gateway: Gateway,
    key: str,
    size: int,
    repeat: int,
    interval: float,
    least: float,
    streams: tuple[redis.Redis, float] | None = None,
) -> tuple[list[Row], list[StreamRow]]:
    """Every endpoint `repeat` times (and for at least `least` seconds, at most 20 times),
    then (with `streams`: the seeded Redis and seconds per stream) each stream held, with the
    probe running; one row each."""
    probe = Probe(gateway.url, key, interval)
    held: list[tuple[StreamRow, float, float]] = []
    try:
        rows, windows = _requests(gateway, key, size, repeat, least)
        if streams is not None:
            held = hold_streams(gateway.url, key, streams[0], size, gateway.name, streams[1])
            for row, _, _ in held:
                row.rss_mb = gateway.memory()[0]
    finally:
        samples = probe.samples()
    for row, start, end in [*windows, *held]:
        inside = sorted(latency for sent, latency, _ in samples if start <= sent <= end)
        row.probe_samples = len(inside)
        if inside:
            row.probe_p99_ms = inside[min(len(inside) - 1, int(0.99 * len(inside)))] * 1000
            row.probe_max_ms = inside[-1] * 1000
    return rows, [row for row, _, _ in held]


def _requests(
    gateway: Gateway, key: str, size: int, repeat: int, least: float
) -> tuple[list[Row], list[tuple[Row, float, float]]]:
    """Every endpoint's requests: the rows and the time window of each."""
    time.sleep(1.0)  # the probe alone: its own baseline
    windows: list[tuple[Row, float, float]] = []
    idle = Row(size=size, gateway=gateway.name, endpoint="(probe alone)")
    windows.append((idle, time.monotonic() - 1.0, time.monotonic()))
    rows = [idle]
    for name, path in ENDPOINTS.items():
        row = Row(size=size, gateway=gateway.name, endpoint=name)
        lines = gateway.log_lines()
        started = time.monotonic()
        body = b""
        while len(row.statuses) < repeat or (
            time.monotonic() - started < least and len(row.statuses) < 20
        ):
            status, body, seconds = get(gateway.url + path, key)
            row.statuses.append(status)
            row.latencies_ms.append(seconds * 1000.0)
        windows.append((row, started, time.monotonic()))
        row.bytes, row.facts = len(body), facts(body)
        row.rss_mb, row.peak_mb = gateway.memory()
        row.log_lines = gateway.log_lines() - lines
        rows.append(row)
    return rows, windows


def big_value(
    gateways: list[tuple[str, Path]], client: redis.Redis, url: str, size: int
) -> list[BigValue]:
    """Ten reads of one `size`-byte corrupt ticker on a fresh gateway each, RSS before and
    after."""
    client.hset("tickers:big", "BIG/USDT", b"{" + b"x" * (size - 1))
    client.hset("tickers:big", "BTC/USDT", b'{"price": 1.0, "time": 1.0}')
    found = []
    for name, src in gateways:
        key = secrets.token_urlsafe(16)
        gateway = Gateway(name, src, url, key)
        try:
            get(gateway.url + PROBE_PATH, key)
            time.sleep(0.5)
            before, _ = gateway.memory()
            statuses = [get(gateway.url + "/tickers/big", key)[0] for _ in range(10)]
            time.sleep(0.5)
            after, peak = gateway.memory()
        finally:
            gateway.stop()
        found.append(BigValue(name, statuses, before, after, peak))
    client.delete("tickers:big")
    return found


def targets(rows: list[Row], big: list[BigValue]) -> list[str]:
    """Issue 11's targets, met or missed, per gateway."""
    lines = []
    for name in dict.fromkeys(row.gateway for row in rows):
        mine = [row for row in rows if row.gateway == name and row.size >= 200_000]
        probes = [row for row in mine if row.probe_samples]
        if probes:
            p99 = max(row.probe_p99_ms for row in probes)
            worst = max(row.probe_max_ms for row in probes)
            met = p99 < _PROBE_P99_MS and worst < _PROBE_MAX_MS
            lines.append(
                f"{name}: probe while keys of 200k+ are read: worst p99 {p99:.1f} ms, max "
                f"{worst:.1f} ms (target < {_PROBE_P99_MS:g} / < {_PROBE_MAX_MS:g}): "
                f"{'met' if met else 'MISSED'}"
            )
        for row in mine:
            if row.endpoint.startswith("orders"):
                slowest = max(row.latencies_ms, default=0.0)
                met = slowest < _ORDERS_MS or "partial" in row.facts
                lines.append(
                    f"{name}: /orders ?limit=10 over {row.size:,} orders: slowest "
                    f"{slowest:,.0f} ms{' (partial)' if 'partial' in row.facts else ''}: "
                    f"{'met' if met else 'MISSED'}"
                )
    for found in big:
        growth = found.rss_after_mb - found.rss_before_mb
        lines.append(
            f"{found.gateway}: RSS after 10 big corrupt reads {growth:+.0f} MB (target < "
            f"+{_RSS_GROWTH_MB:g}): {'met' if growth < _RSS_GROWTH_MB else 'MISSED'}"
        )
    return lines


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| size | endpoint | gateway | status | median ms | max ms | bytes | answer | "
        "probe p99 ms | probe max ms | RSS MB (peak) | log lines |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        statuses = ",".join(str(s) for s in sorted(set(row.statuses))) or "-"
        median = statistics.median(row.latencies_ms) if row.latencies_ms else 0.0
        worst = max(row.latencies_ms, default=0.0)
        lines.append(
            f"| {row.size:,} | {row.endpoint} | {row.gateway} | {statuses} | {median:,.1f} | "
            f"{worst:,.1f} | {row.bytes:,} | {row.facts} | {row.probe_p99_ms:,.1f} | "
            f"{row.probe_max_ms:,.1f} | {row.rss_mb:,.0f} ({row.peak_mb:,.0f}) | "
            f"{max(row.log_lines, 0):,} |"
        )
    return "\n".join(lines)


def _sizes(raw: str) -> list[int]:
    units = {"k": 1000, "m": 1_000_000}
    sizes = []
    for part in raw.split(","):
        part = part.strip().lower()
        sizes.append(int(float(part[:-1]) * units[part[-1]]) if part[-1] in units else int(part))
    return sizes


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, seed each size, measure every gateway, print the tables."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    parser.add_argument("--sizes", default="1k,10k,100k,200k,1M", help="entries per key")
    parser.add_argument("--repeat", type=int, default=3, help="requests per endpoint")
    parser.add_argument("--probe-interval", type=float, default=0.01, help="seconds")
    parser.add_argument(
        "--min-seconds", type=float, default=2.0, help="least time per endpoint (probe samples)"
    )
    parser.add_argument(
        "--big-value-mb", type=float, default=50.0, help="the corrupt value read ten times"
    )
    parser.add_argument(
        "--gateway-src",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also measure the gateway package found in DIR (e.g. a `git archive` export)",
    )
    parser.add_argument(
        "--others-up-to",
        type=int,
        default=None,
        metavar="N",
        help="measure the --gateway-src checkouts only at sizes up to N entries",
    )
    parser.add_argument(
        "--stream-seconds",
        type=float,
        default=5.0,
        help="how long each stream is held (0: no streams)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    gateways = [("this", ROOT)]
    for entry in args.gateway_src:
        name, _, directory = entry.rpartition("=")
        gateways.append((name or Path(directory).name, Path(directory).resolve()))
    rows: list[Row] = []
    stream_rows: list[StreamRow] = []
    print(f"scale benchmark: {machine()} {source()}", flush=True)
    with RedisServer() as server, redis.Redis(port=server.port) as client:
        for size in _sizes(args.sizes):
            seconds = seed_size(client, size)
            print(f"seeded {size:,} entries per key in {seconds:.1f} s", flush=True)
            for name, src in gateways:
                if name != "this" and args.others_up_to is not None and size > args.others_up_to:
                    continue
                key = secrets.token_urlsafe(16)
                gateway = Gateway(name, src, server.url, key)
                streams = (client, args.stream_seconds) if args.stream_seconds > 0 else None
                try:
                    found, held = measure(
                        gateway,
                        key,
                        size,
                        args.repeat,
                        args.probe_interval,
                        args.min_seconds,
                        streams,
                    )
                finally:
                    gateway.stop()
                print(table(found), flush=True)
                if held:
                    print(stream_table(held), flush=True)
                rows.extend(found)
                stream_rows.extend(held)
        client.flushall()
        big = big_value(gateways, client, server.url, int(args.big_value_mb * 2**20))
    print("\n" + table(rows))
    if stream_rows:
        print("\n" + stream_table(stream_rows))
    for found in big:
        print(
            f"\n10 reads of a {args.big_value_mb:g} MB corrupt value ({found.gateway}): statuses "
            f"{sorted(set(found.statuses))}, RSS {found.rss_before_mb:.0f} -> "
            f"{found.rss_after_mb:.0f} MB (peak {found.peak_mb:.0f} MB)"
        )
    print("\n" + "\n".join(targets(rows, big)))
    if args.json:
        document = {
            "machine": machine(),
            "source": source(),
            "rows": rows,
            "streams": stream_rows,
            "big_value": big,
        }
        Path(args.json).write_bytes(msgspec.json.encode(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
