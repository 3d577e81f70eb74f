"""SIGTERM in every mode the gateway runs in: ``serve``, ``serve --workers 2``, plain
``uvicorn fullon_cache_api.main:app`` and mounted in a host. Open SSE streams get ``close``
(reason ``shutdown``) and WebSockets close with 1001 at once, the process exits, and requests
in flight on a frozen Redis answer problem documents (503/504), never a plain 500."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager

import httpx
import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from examples import master_host
from fullon_cache_api._settings import Settings
from fullon_cache_api.demo import RedisServer
from fullon_cache_api.demo.server import free_port
from fullon_cache_api.server import grace_period

from .support.processes import (
    CLI,
    UVICORN,
    Running,
    exited_by_sigterm,
    running,
    sockets,
    workers_of,
)
from .support.streams import SseReader, sse

pytestmark = [pytest.mark.anyio]

AUTH_OFF = {"FULLON_CACHE_API_AUTH": "off", "LOG_LEVEL": "warning"}
STREAMS = (
    "/tickers/binance/stream",
    "/tickers/binance/BTC/USDT/stream",
    "/ohlcv/BTC/USDT/1m/stream",
)
SECRET = "shutdown-test-secret-of-32-bytes!"
WAIT = 15  # seconds: the bound of every wait on a stream, a socket or a process


class Clients:
    """SSE streams and one streaming WebSocket, opened on a running gateway."""

    def __init__(self, stack: AsyncExitStack, http: httpx.AsyncClient) -> None:
        self.stack = stack
        self.http = http
        self.streams: list[SseReader] = []
        self.sockets: list[ClientConnection] = []

    async def open_sse(self, path: str) -> None:
        stream = await self.stack.enter_async_context(sse(self.http, path))
        assert (await stream.next(WAIT)).event == "snapshot"
        self.streams.append(stream)

    async def open_ws(self, url: str) -> None:
        ws = await self.stack.enter_async_context(connect(url, open_timeout=WAIT))
        params = {"exchange": "binance", "symbols": ["BTC/USDT"]}
        await ws.send(json.dumps({"action": "stream_tickers", "request_id": "1", "params": params}))
        assert json.loads(await asyncio.wait_for(ws.recv(), WAIT))["success"] is True
        assert json.loads(await asyncio.wait_for(ws.recv(), WAIT))["snapshot"] is True
        self.sockets.append(ws)

    async def ends(self) -> tuple[list[str], list[int | None]]:
        """The reason of each stream's ``close`` event, and each socket's close code."""
        reasons = [(await stream.until("close", WAIT)).data["reason"] for stream in self.streams]
        codes = [await close_code(ws) for ws in self.sockets]
        return reasons, codes


async def close_code(ws: ClientConnection) -> int | None:
    """Read `ws` until it closes (bounded); the close code the server sent."""
    async with asyncio.timeout(WAIT):
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                pass
    return ws.close_code


async def terminate(process: subprocess.Popen[str], times: int = 1) -> int:
    """SIGTERM (`times` times, 0.5 s apart), and the exit status (within the bound)."""
    for n in range(times):
        if n:
            await asyncio.sleep(0.5)
        process.send_signal(signal.SIGTERM)
    return await asyncio.to_thread(process.wait, WAIT)


async def check_shutdown(gateway: Running, ws_query: str = "", **headers: str) -> int:
    """Open a stream of each kind and a WebSocket stream, SIGTERM: all end with reason
    shutdown / 1001; returns the exit status."""
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=gateway.url, headers=headers, timeout=WAIT)
        )
        streams = Clients(stack, http)
        for path in STREAMS:
            await streams.open_sse(path)
        await streams.open_ws(f"{gateway.ws_url}/ws/v2/tickers/c1{ws_query}")
        status = await terminate(gateway.process)
        reasons, codes = await streams.ends()
    assert reasons == ["shutdown"] * len(STREAMS)
    assert codes == [1001]
    return status


@pytest.fixture
def redis_url(flushed: RedisServer) -> str:
    return flushed.url


SERVERS = ("uvicorn", "granian")


@pytest.mark.parametrize("server", SERVERS)
async def test_serve_ends_streams_on_sigterm(redis_url: str, server: str) -> None:
    """`serve` (either server): SIGTERM ends every SSE stream with ``close`` (shutdown), every
    WebSocket with 1001, and the process exits 0."""
    env = {**AUTH_OFF, "REDIS_URL": redis_url}
    with running([*CLI, "serve", "--port", "0", "--server", server], env) as gateway:
        assert await check_shutdown(gateway) == 0


async def test_plain_uvicorn_ends_streams_on_sigterm(redis_url: str) -> None:
    """Plain ``uvicorn fullon_cache_api.main:app`` (no grace period: it would wait forever):
    SIGTERM ends the streams, so the server exits."""
    port = free_port()
    command = [*UVICORN, "fullon_cache_api.main:app", "--port", str(port), "--log-level", "warning"]
    env = {**AUTH_OFF, "REDIS_URL": redis_url}
    with running(command, env, url=f"http://127.0.0.1:{port}", banner_lines=0) as gateway:
        assert exited_by_sigterm(await check_shutdown(gateway))


@pytest.mark.slow
async def test_mounted_in_a_host_ends_streams_on_sigterm(redis_url: str) -> None:
    """examples/master_host.py (FastAPI mounting the gateway, run by ``uvicorn.run``): the
    gateway's streams under the mount end on SIGTERM, authenticated by the host's JWT."""
    port = free_port()
    env = {"REDIS_URL": redis_url, "JWT_SECRET_KEY": SECRET}
    command = [sys.executable, "examples/master_host.py", "--port", str(port)]
    url = f"http://127.0.0.1:{port}{master_host.MOUNT}"
    with running(command, env, url=url, banner_lines=1) as gateway:
        token = gateway.banner[0].split("admin token: ")[1].strip()
        status = await check_shutdown(
            gateway, ws_query=f"?token={token}", Authorization=f"Bearer {token}"
        )
        assert exited_by_sigterm(status)


@pytest.mark.slow
@pytest.mark.parametrize("server", SERVERS)
async def test_workers_end_streams_on_sigterm(redis_url: str, server: str) -> None:
    """`serve --workers 2` (either server) with streams held by both workers: SIGTERM to the
    supervisor ends every stream in every worker (SSE ``close``, WebSocket 1001), exit 0."""
    env = {**AUTH_OFF, "REDIS_URL": redis_url}
    command = [*CLI, "serve", "--workers", "2", "--port", "0", "--server", server]
    with running(command, env) as gateway:
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(
                httpx.AsyncClient(base_url=gateway.url, timeout=WAIT)
            )
            streams = Clients(stack, http)
            held = await spread(gateway, streams)
            assert len(held) == 2 and min(held) >= 1, held
            await streams.open_ws(f"{gateway.ws_url}/ws/v2/tickers/c1")
            assert await terminate(gateway.process) == 0
            reasons, codes = await streams.ends()
        assert reasons == ["shutdown"] * len(streams.streams)
        assert codes == [1001]


async def spread(gateway: Running, streams: Clients) -> list[int]:
    """Open streams four at a time until both workers hold some (the kernel picks the worker
    that accepts; the second may still be starting): the streams each worker holds."""
    held: list[int] = []
    async with asyncio.timeout(WAIT):
        while len(streams.streams) < 60:
            await asyncio.gather(*(streams.open_sse(path) for path in (*STREAMS, STREAMS[0])))
            workers = workers_of(gateway.process.pid)
            held = [sockets(pid, local_port=gateway.port) for pid in workers]
            if len(held) == 2 and min(held) >= 1:
                break
            await asyncio.sleep(0.1)
    return held


@contextmanager
def frozen_redis() -> Iterator[tuple[RedisServer, int]]:
    """A redis-server of its own, and its pid (SIGSTOP it to freeze it; resumed after)."""
    with RedisServer() as server:
        with redis.Redis(port=server.port) as client:
            pid = int(client.info("server")["process_id"])
        try:
            yield server, pid
        finally:
            os.kill(pid, signal.SIGCONT)


async def answers_while_frozen(
    gateway: Running, redis_pid: int, redis_port: int, signals: int = 1
) -> list[httpx.Response]:
    """Freeze Redis, send five reads, SIGTERM (`signals` times) once all five wait on Redis:
    their answers."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=WAIT) as http:
        assert (await http.get("/tickers/binance")).status_code == 404  # the pool is up
        os.kill(redis_pid, signal.SIGSTOP)
        reads = [asyncio.create_task(http.get("/tickers/binance")) for _ in range(5)]
        try:
            async with asyncio.timeout(WAIT):  # each read holds a connection to Redis
                while sockets(gateway.process.pid, remote_port=redis_port) < 5:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            await terminate(gateway.process, signals)
            return await asyncio.gather(*reads)
        finally:
            for read in reads:
                read.cancel()


@pytest.mark.slow
@pytest.mark.parametrize("server", SERVERS)
async def test_serve_grace_outlasts_the_redis_timeout(server: str) -> None:
    """`serve` (either server) with a frozen Redis and REDIS_SOCKET_TIMEOUT=4 (over the old
    3 s grace): on SIGTERM every read in flight ends with its own 504 problem, exit 0."""
    with frozen_redis() as (store, redis_pid):
        env = {
            **AUTH_OFF,
            "REDIS_URL": store.url,
            "REDIS_SOCKET_TIMEOUT": "4",
            "FULLON_CACHE_API_NEAR_CACHE_TTL": "0",  # every read goes to Redis
        }
        command = [*CLI, "serve", "--port", "0", "--server", server]
        with running(command, env) as gateway:
            answers = await answers_while_frozen(gateway, redis_pid, store.port)
            assert gateway.process.returncode == 0
    assert [answer.status_code for answer in answers] == [504] * 5
    assert {answer.headers["content-type"] for answer in answers} == {"application/problem+json"}
    assert grace_period(Settings(redis_socket_timeout=4)) > 4


@pytest.mark.slow
async def test_cancelled_by_a_short_grace_answers_503() -> None:
    """Plain uvicorn with ``--timeout-graceful-shutdown 1`` under REDIS_SOCKET_TIMEOUT=4:
    reads still waiting on a frozen Redis when the grace ends answer a 503 problem, not
    uvicorn's plain-text 500."""
    port = free_port()
    with frozen_redis() as (server, pid):
        env = {
            **AUTH_OFF,
            "REDIS_URL": server.url,
            "REDIS_SOCKET_TIMEOUT": "4",
            "FULLON_CACHE_API_NEAR_CACHE_TTL": "0",
        }
        command = [
            *UVICORN,
            "fullon_cache_api.main:app",
            "--port",
            str(port),
            "--log-level",
            "critical",  # uvicorn logs each cancelled request with its traceback
            "--timeout-graceful-shutdown",
            "1",
        ]
        with running(command, env, url=f"http://127.0.0.1:{port}", banner_lines=0) as gateway:
            answers = await answers_while_frozen(gateway, pid, server.port)
            assert exited_by_sigterm(gateway.process.returncode)
    assert [answer.status_code for answer in answers] == [503] * 5
    assert {answer.headers["content-type"] for answer in answers} == {"application/problem+json"}
    assert all(answer.headers["retry-after"] == "1" for answer in answers)


@pytest.mark.slow
async def test_granian_second_signal_cancels_reads_with_503() -> None:
    """`serve --server granian`, a frozen Redis and REDIS_SOCKET_TIMEOUT=4: a second SIGTERM
    does not wait for the reads in flight (they would answer 504 after the timeout): each is
    cancelled and answers a 503 problem, and the process exits 0."""
    with frozen_redis() as (store, redis_pid):
        env = {
            **AUTH_OFF,
            "REDIS_URL": store.url,
            "REDIS_SOCKET_TIMEOUT": "4",
            "FULLON_CACHE_API_NEAR_CACHE_TTL": "0",
        }
        command = [*CLI, "serve", "--port", "0", "--server", "granian"]
        with running(command, env) as gateway:
            answers = await answers_while_frozen(gateway, redis_pid, store.port, signals=2)
            assert gateway.process.returncode == 0
    assert [answer.status_code for answer in answers] == [503] * 5
    assert {answer.headers["content-type"] for answer in answers} == {"application/problem+json"}
    assert all(answer.headers["retry-after"] == "1" for answer in answers)
