"""``serve --server uvicorn|granian``: the choice, what happens without granian, and the HTTP
surface of the real process under each server (every request logged at the default level,
ETag / 304, gzip, HEAD, problem documents)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.demo.server import free_port
from fullon_cache_api.server._servers import DEFAULT_SERVER, SERVERS

from .support.processes import CLI, ROOT, wait_until_up

WAIT = 15  # seconds: the bound of every wait on a process


def test_help_names_both_servers_and_the_default() -> None:
    """``serve --help`` offers uvicorn and granian and says which is the default."""
    done = subprocess.run(
        [*CLI, "serve", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=WAIT
    )
    assert done.returncode == 0
    assert "--server {granian,uvicorn}" in done.stdout
    assert f"(default: {DEFAULT_SERVER})" in " ".join(done.stdout.split())
    assert set(SERVERS) == {"uvicorn", "granian"}


def test_granian_missing_is_one_line_before_listening(tmp_path: Path) -> None:
    """Without an importable granian, ``serve --server granian`` says how to get it (or to
    use uvicorn) and exits 1, without a traceback and before it binds the port."""
    shadow = tmp_path / "granian"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('not installed (test)')\n")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "FULLON_CACHE_API_AUTH": "off"}
    done = subprocess.run(
        [*CLI, "serve", "--server", "granian", "--port", str(port)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 1
    assert "pip install 'granian>=2.8,<2.9'" in done.stderr and "--server uvicorn" in done.stderr
    assert "Traceback" not in done.stderr and "serving on" not in done.stdout


@pytest.fixture
def seeded(flushed: RedisServer) -> RedisServer:
    """The test Redis with 20 tickers (a list over gzip's minimum size)."""

    async def write() -> None:
        client = Redis(port=flushed.port)
        try:
            writer = CacheWriter(client)
            for n, base in enumerate(["BTC", *(f"C{n}" for n in range(19))]):
                await writer.set_ticker("binance", f"{base}/USDT", price=1.0 + n, time=time.time())
        finally:
            await client.aclose()

    asyncio.run(write())
    return flushed


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_serve_surface_and_request_log(seeded: RedisServer, tmp_path: Path, server: str) -> None:
    """Under each server: 30 reads, 30 request lines at the default level; a 304 for a
    matching ETag, gzip when asked, HEAD without a body, a 404 problem document."""
    stderr_path = tmp_path / "stderr.log"
    env = {**os.environ, "REDIS_URL": seeded.url, "FULLON_CACHE_API_AUTH": "off"}
    for name in ("LOG_LEVEL", "LOG_FORMAT", "LOG_FILE_PATH"):
        env.pop(name, None)
    command = [*CLI, "serve", "--port", "0", "--server", server]
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        try:
            assert process.stdout is not None
            found = re.search(r"serving on (http://\S+)", process.stdout.readline())
            assert found
            url = found.group(1)
            wait_until_up(f"{url}/health", process, timeout=30)
            _exercise(url)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=WAIT) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=WAIT)
            if process.stdout is not None:
                process.stdout.close()
    lines = stderr_path.read_text().splitlines()
    btc = "one_ticker {'exchange': 'binance', 'symbol': 'BTC/USDT'}"
    ticker_lines = [line for line in lines if btc in line]
    assert len(ticker_lines) == 30 + 3  # the 30 reads, the ETag read, its 304, the HEAD
    assert sum("-> 304 in" in line for line in ticker_lines) == 1


def _exercise(url: str) -> None:
    path = "/tickers/binance/BTC/USDT"
    with httpx.Client(base_url=url, timeout=WAIT) as http:
        for _ in range(30):
            assert http.get(path).status_code == 200
        tag = http.get(path).headers["etag"]
        assert http.get(path, headers={"If-None-Match": tag}).status_code == 304
        head = http.head(path)
        assert head.status_code == 200 and head.content == b""
        listing = http.get("/tickers/binance", headers={"Accept-Encoding": "gzip"})
        assert listing.headers["content-encoding"] == "gzip" and listing.json()["count"] == 20
        missing = http.get("/tickers/binance/ETH/USDT")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
