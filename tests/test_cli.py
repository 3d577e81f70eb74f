"""The command line and the demo's sample data: seeding, `demo` end to end, `serve` errors."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import redis

from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.demo._cli import _check_loopback
from fullon_cache_api.demo.seed import SeedSummary, seed
from fullon_cache_api.demo.server import free_port

from .support.processes import CLI, ROOT, wait_until_up

# key -> Redis type, for every domain the seed writes
SEEDED_KEYS = {
    "tickers:binance": "hash",
    "tickers:kraken": "hash",
    "ticker_time:binance:BTC/USDT": "string",
    "accounts": "hash",
    "account_positions": "hash",
    "order_status:binance": "hash",
    "order_status:1": "hash",
    "new_orders:bot_1": "list",
    "bot_status": "hash",
    "block_exchange": "hash",
    "opening_position": "hash",
    "trades:binance:BTCUSDT": "list",
    "trades:binance:ETHUSDT": "list",
    "TRADE:STATUS:binance": "string",
    "user_trades:1:binance": "list",
    "USER_TRADE:STATUS:1:binance": "string",
    "ohlcv:BTC/USDT:1m": "list",
    "ohlcv:ETHUSDT:1h": "list",
    "process:components": "hash",
    "process:active:tick": "hash",
    "process:active:crawler": "hash",
}


@pytest.mark.anyio
async def test_seed_writes_every_domain(writer: CacheWriter, flushed: RedisServer) -> None:
    """The seed writes all seven domains in fullon_cache's key layout and types."""
    started = time.time()
    summary = await seed(writer)
    assert summary == SeedSummary(
        tickers=10,
        accounts=2,
        positions=3,
        orders=7,
        bots=3,
        trades=4,
        ohlcv_bars=468,
        processes=7,
    )
    with redis.Redis(port=flushed.port, decode_responses=True) as r:
        types = {key: r.type(key) for key in SEEDED_KEYS}
        assert types == SEEDED_KEYS
        assert "BTC/USDT:USDT" in r.hkeys("tickers:binance")
        tick = json.loads(r.hget("tickers:binance", "BTC/USDT"))
        assert isinstance(tick["time"], float) and abs(tick["time"] - started) < 60
        assert json.loads(r.hget("accounts", "1"))["USDT"] == {
            "free": 25000.0,
            "used": 5000.0,
            "total": 30000.0,
        }
        positions = json.loads(r.hget("account_positions", "2"))
        assert set(positions) == {"BTC/USD", "timestamp"}
        statuses = {json.loads(v)["status"] for v in r.hvals("order_status:binance")}
        assert statuses == {"open", "filled", "partially_filled", "cancelled"}
        assert r.ttl("order_status:binance") == -1  # no "canceled": the hash does not expire
        assert r.lrange("new_orders:bot_1", 0, -1) == ["8231974401", "8231974406"]
        assert r.hget("block_exchange", "1:BTC/USDT") == "1"
        assert r.hget("opening_position", "1:BTC/USDT").startswith("1:")
        assert r.llen("trades:binance:BTCUSDT") == 3
        bars = [json.loads(bar) for bar in r.lrange("ohlcv:BTC/USDT:1m", 0, -1)]
        assert len(bars) == 300 and all(len(bar) == 6 for bar in bars)
        assert all(b[0] - a[0] == 60 for a, b in itertools.pairwise(bars))
        assert bars[-1][0] % 60 == 0 and 0 <= time.time() - bars[-1][0] < 120
        data_keys = list(r.scan_iter("process:data:*"))
        assert len(data_keys) == 7 and all(0 < r.ttl(key) <= 86400 for key in data_keys)
        states = [json.loads(r.get(key))["status"] for key in data_keys]
        assert states.count("error") == 1


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_demo_serves_and_stops_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    """`demo` serves seeded data; Ctrl-C or SIGTERM exits 0 with its redis-server stopped."""
    port = free_port()
    with (
        (tmp_path / "stderr.log").open("wb") as log,
        subprocess.Popen(
            [*CLI, "demo", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=log
        ) as proc,
    ):
        try:
            tickers = wait_until_up(f"http://127.0.0.1:{port}/tickers", proc, timeout=30)
            assert "binance" in {item["exchange"] for item in tickers["exchanges"]}
            proc.send_signal(stop)
            out, _ = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
        banner = out.decode()
        assert proc.returncode == 0, (tmp_path / "stderr.log").read_text()
    assert f"serving on http://127.0.0.1:{port}" in banner
    assert "authentication off" in banner.splitlines()[0]
    assert f"Docs: http://127.0.0.1:{port}/docs" in banner.splitlines()
    found = re.search(r"Redis: redis://127\.0\.0\.1:(\d+)/0", banner)
    assert found, banner
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(found.group(1))), timeout=2).close()


def test_serve_rejects_invalid_environment() -> None:
    """`serve` with REDIS_PORT=abc exits 2 with a one-line error naming the variable."""
    env = {**os.environ, "REDIS_PORT": "abc"}
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [*CLI, "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "REDIS_PORT" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "example.com"])
def test_demo_refuses_a_non_loopback_host(host: str) -> None:
    """`demo` serves without authentication: any --host but loopback exits 1 with one line
    saying why, before a socket or a redis-server is opened."""
    done = subprocess.run(
        [*CLI, "demo", "--host", host, "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert "without authentication" in done.stderr and "loopback" in done.stderr
    assert repr(host) in done.stderr and done.stdout == ""


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_demo_accepts_loopback_hosts(host: str) -> None:
    """Loopback addresses, v4 and v6, and the name localhost are allowed."""
    assert _check_loopback(host) is None  # returns: no CLIError


@pytest.mark.slow
def test_serve_binds_loopback_by_default(flushed: RedisServer, tmp_path: Path) -> None:
    """`serve` without --host listens on 127.0.0.1 (and says so), and answers there."""
    env = {**os.environ, "REDIS_URL": flushed.url}
    with (
        (tmp_path / "stderr.log").open("wb") as log,
        subprocess.Popen(
            [*CLI, "serve", "--port", "0"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log
        ) as proc,
    ):
        try:
            assert proc.stdout is not None
            banner = proc.stdout.readline().decode()
            found = re.search(r"serving on http://([^:]+):(\d+) ", banner)
            assert found, (tmp_path / "stderr.log").read_text()
            assert found.group(1) == "127.0.0.1"
            health = httpx.get(f"http://127.0.0.1:{found.group(2)}/health", timeout=5)
            assert health.json() == {"status": "ok"}
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_demo_on_a_busy_port_is_a_clear_error() -> None:
    """`demo` on a port already in use exits 1 and says so, without a traceback."""
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*CLI, "demo", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 1
    assert "already in use" in done.stderr and "Traceback" not in done.stderr
