"""The examples, run against a real `fullon-cache-api demo` (sample data and live feed)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.exceptions import ConnectionClosedError

from examples import client as client_example
from examples import master_host, sse_consumer, ws_consumer
from fullon_cache_api import Settings
from fullon_cache_api.client import AsyncCacheClient, Close, Snapshot, Update
from fullon_cache_api.demo.server import free_port

from .support.apps import in_process
from .support.processes import CLI, ROOT, interrupted_at_exit, wait_until_up

SECRET = "example-secret-for-tests-only-32b"
ADMIN, TRADER = master_host.USERS[1], master_host.USERS[2]


@dataclass(frozen=True)
class Demo:
    """A running demo: the gateway's URL and its Redis URL."""

    url: str
    redis_url: str

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")


def start_demo(port: int) -> tuple[subprocess.Popen[bytes], str]:
    """`fullon-cache-api demo` on `port`, and its Redis URL from the banner."""
    proc = subprocess.Popen(
        [*CLI, "demo", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline().decode()
        found = re.search(r"Redis: (redis://127\.0\.0\.1:\d+/0)", banner)
        assert found and "live feed on" in banner, banner
        wait_until_up(f"http://127.0.0.1:{port}/tickers", proc, timeout=30)
    except BaseException:
        with proc:
            proc.kill()
        raise
    return proc, found.group(1)


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    """`fullon-cache-api demo` on a free port for this module; stopped with Ctrl-C after."""
    port = free_port()
    proc, redis_url = start_demo(port)
    with proc:
        try:
            yield Demo(url=f"http://127.0.0.1:{port}", redis_url=redis_url)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


@pytest.mark.anyio
async def test_client_example(demo: Demo) -> None:
    """The client example reads live tickers (every page of exchanges, then Structs) and
    revalidates bars to a bodiless 304."""
    async with client_example.connect(demo.url) as http:
        seen = await client_example.tour(http)
        if seen["revalidated"] != 304:  # a new bar landed between the two reads: once a minute
            seen = await client_example.tour(http)
    assert seen["exchanges"] == ["binance", "kraken"]
    assert seen["ticker"].age_seconds < 5  # the live feed keeps it fresh
    assert len(seen["bars"]) == 5
    assert seen["revalidated"] == 304


def test_client_example_script(demo: Demo) -> None:
    """``python examples/client.py URL`` prints what it read and exits 0."""
    done = subprocess.run(
        [sys.executable, "examples/client.py", demo.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "exchanges: binance, kraken" in done.stdout and "revalidation answered" in done.stdout


@pytest.fixture
async def host(demo: Demo) -> AsyncIterator[httpx.AsyncClient]:
    """The master host example over the demo's Redis, with its lifespan run."""
    app = master_host.build_host(
        secret=SECRET, admin_mail=ADMIN.mail, settings=Settings(redis_url=demo.redis_url)
    )
    async with (
        in_process(app) as http,
    ):
        yield http


def bearer(user: master_host.User) -> dict[str, str]:
    return {"Authorization": f"Bearer {master_host.issue_token(user, SECRET)}"}


@pytest.mark.anyio
async def test_master_host_example(host: httpx.AsyncClient) -> None:
    """Under the host: no token is a 401; a user reads only what the hook grants; admin all."""
    cache = master_host.MOUNT
    assert (await host.get("/me", headers=bearer(TRADER))).json() == {"user": TRADER.mail}
    refused = await host.get(f"{cache}/accounts")
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    trader = (await host.get(f"{cache}/accounts", headers=bearer(TRADER))).json()
    assert [account["ex_id"] for account in trader["accounts"]] == ["1"]
    assert (await host.get(f"{cache}/accounts/2", headers=bearer(TRADER))).status_code == 404
    admin = (await host.get(f"{cache}/accounts", headers=bearer(ADMIN))).json()
    assert [account["ex_id"] for account in admin["accounts"]] == ["1", "2"]
    tickers = await host.get(f"{cache}/tickers/binance/BTC/USDT", headers=bearer(TRADER))
    assert tickers.status_code == 200 and tickers.json()["age_seconds"] < 5


@pytest.mark.anyio
async def test_master_host_reads_through_the_client_in_process(host: httpx.AsyncClient) -> None:
    """The host's own route reads the gateway with AsyncCacheClient over ASGITransport, with
    the caller's token: each user gets what the hook grants; no token is the gateway's 401."""
    trader = (await host.get("/me/cache", headers=bearer(TRADER))).json()
    assert trader == {"uid": "2", "bots": 1, "accounts": ["1"]}
    admin = (await host.get("/me/cache", headers=bearer(ADMIN))).json()
    assert admin["accounts"] == ["1", "2"]
    refused = await host.get("/me/cache")
    assert refused.status_code == 401


@pytest.mark.anyio
async def test_sse_consumer_example(demo: Demo) -> None:
    """The SSE consumer (the client's stream) gets the exchange's snapshot as a TickerPage,
    then live ticker updates as Tickers."""
    async with asyncio.timeout(15):
        events = await sse_consumer.follow(demo.url, "binance", limit=4)
    first = events[0]
    assert isinstance(first, Snapshot) and first.data is not None
    assert first.data.exchange == "binance" and first.data.count == 6
    updates = [event.data for event in events[1:] if isinstance(event, Update)]
    assert updates and all(update.exchange == "binance" for update in updates)
    assert [getattr(event, "id", None) for event in events] == [1, 2, 3, 4]
    assert sse_consumer.describe(first) == "snapshot: 6 tickers of binance"


@pytest.mark.anyio
async def test_ws_consumer_example(demo: Demo) -> None:
    """The WebSocket consumer's stream_tickers is confirmed, then ticker_update frames flow."""
    async with asyncio.timeout(15):
        confirmation, updates = await ws_consumer.stream_tickers(
            demo.ws_url, "binance", ["BTC/USDT"], limit=3
        )
    assert confirmation["success"] is True and confirmation["request_id"] == "tickers-1"
    assert len(updates) == 3
    assert all(frame["result"]["symbol"] == "BTC/USDT" for frame in updates)


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """uvicorn on a free loopback port in this event loop; yields its ws:// URL."""
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110  # uvicorn has no started event
                await asyncio.sleep(0.01)
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


@pytest.mark.anyio
async def test_ws_consumer_through_the_host(demo: Demo) -> None:
    """Through the host, the socket is authenticated by the subprotocols ``bearer, <token>``;
    without a token it is closed with 1008."""
    app = master_host.build_host(
        secret=SECRET, admin_mail=ADMIN.mail, settings=Settings(redis_url=demo.redis_url)
    )
    token = master_host.issue_token(TRADER, SECRET)
    async with served(app) as url, asyncio.timeout(20):
        base = url + master_host.MOUNT
        _, updates = await ws_consumer.stream_tickers(
            base, "binance", ["ETH/USDT"], limit=2, token=token
        )
        assert [frame["result"]["symbol"] for frame in updates] == ["ETH/USDT", "ETH/USDT"]
        with pytest.raises(ConnectionClosedError) as refused:
            await ws_consumer.stream_tickers(base, "binance", ["ETH/USDT"], limit=1)
        assert refused.value.rcvd is not None and refused.value.rcvd.code == 1008


@pytest.mark.slow
@pytest.mark.anyio
async def test_ctrl_c_ends_open_streams_cleanly() -> None:
    """Ctrl-C on `demo` with an SSE client attached: the client gets ``close`` (shutdown) and
    the demo exits 0 within seconds, its redis-server stopped."""
    port = free_port()
    proc, redis_url = await asyncio.to_thread(start_demo, port)
    with proc:
        try:
            kinds = []
            async with (
                asyncio.timeout(15),
                AsyncCacheClient(f"http://127.0.0.1:{port}") as cache,
            ):
                async for event in cache.stream_ticker("binance", "BTC/USDT"):
                    kinds.append(type(event).__name__)
                    if len(kinds) == 2:
                        proc.send_signal(signal.SIGINT)
                        signalled = time.monotonic()
                    if isinstance(event, Close):
                        assert event.reason == "shutdown"
                assert await asyncio.to_thread(proc.wait, 15) == 0
            assert time.monotonic() - signalled < 5
            assert kinds[:2] == ["Snapshot", "Update"] and kinds[-1] == "Close"
        finally:
            if proc.poll() is None:
                proc.kill()
    redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", redis_port), timeout=2).close()


@pytest.mark.slow
def test_master_host_script_logs_no_token(demo: Demo, tmp_path: Path) -> None:
    """``python examples/master_host.py`` as the README runs it: after the tokens it prints on
    purpose, its log (uvicorn's WebSocket and access lines) holds none of them."""
    port = free_port()
    env = {**os.environ, "REDIS_URL": demo.redis_url, "JWT_SECRET_KEY": SECRET}
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    command = [sys.executable, "examples/master_host.py", "--port", str(port)]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
        with interrupted_at_exit(proc):
            wait_until_up(f"http://127.0.0.1:{port}{master_host.MOUNT}/health", proc, 30)
            token = master_host.issue_token(TRADER, SECRET)
            base = f"ws://127.0.0.1:{port}{master_host.MOUNT}"
            asyncio.run(
                asyncio.wait_for(
                    ws_consumer.stream_tickers(base, "binance", ["BTC/USDT"], limit=1, token=token),
                    20,
                )
            )
            sse = f"http://127.0.0.1:{port}{master_host.MOUNT}/tickers/binance/stream"
            with httpx.stream("GET", sse, params={"token": token}, timeout=5) as response:
                assert response.status_code == 200
    printed, *logged = out.read_text().split("/docs\n", 1)  # the banner ends at the docs URL
    log = "".join(logged) + err.read_text()
    assert "WebSocket /api/v1/cache/ws/tickers/" in log and "token=[redacted]" in log, log
    secret_parts = [part for value in (token,) for part in value.split(".")[1:]]
    assert not any(part in log for part in secret_parts), log
    assert "token:" in printed  # the example prints its tokens on purpose, before serving
