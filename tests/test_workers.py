"""``serve --workers N``: several gateway processes on one port, each with its own pool."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from fullon_cache_api.demo import RedisServer
from fullon_cache_api.server._startup import crowded_workers

from .support.processes import CLI, alive, sockets, stop, workers_of

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="reads /proc (Linux)")


@pytest.fixture(params=["uvicorn", "granian"])
def served(
    flushed: RedisServer, request: pytest.FixtureRequest
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`serve --workers 2 --port 0` on the test Redis, under each server; stopped with
    SIGTERM afterwards."""
    env = {**os.environ, "REDIS_URL": flushed.url, "FULLON_CACHE_API_AUTH": "off"}
    command = [*CLI, "serve", "--workers", "2", "--port", "0", "--log-level", "warning"]
    process = subprocess.Popen(
        [*command, "--server", request.param],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed before any worker starts
        found = re.search(r"serving on (http://\S+) with 2 workers", line)
        assert found, line
        yield process, found.group(1)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.slow
@pytest.mark.anyio
async def test_two_workers_both_answer(
    served: tuple[subprocess.Popen[str], str], flushed: RedisServer
) -> None:
    """Both workers serve requests (each opens its own Redis connection); SIGTERM stops all."""
    process, url = served
    workers = await _both_serving(process, url, flushed)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert not alive(workers)


@pytest.mark.slow
@pytest.mark.anyio
async def test_connections_are_spread_over_the_workers(
    served: tuple[subprocess.Popen[str], str], flushed: RedisServer
) -> None:
    """32 keep-alive connections opened at once (as a load generator or a proxy's pool opens
    them) land on both workers, not all on whichever accepted first. Each worker listens on a
    socket of its own, which the kernel gives a share by a hash of the addresses (granian: 1/2
    each; uvicorn: 1/3 each, plus the shared socket's third): the odds that a worker holds
    none of the 32 are under 1 in 10^5."""
    process, url = served
    port = int(url.rsplit(":", 1)[1])
    workers = await _both_serving(process, url, flushed)
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=5) as http:
        statuses: set[int] = set()
        gate = anyio.Event()

        async def get() -> None:
            await gate.wait()  # every request starts at once: 32 connections
            await _get(http, statuses)

        async with anyio.create_task_group() as group:
            for _ in range(32):
                group.start_soon(get)
            gate.set()
        held = [sockets(pid, local_port=port) for pid in workers]
    assert statuses == {200}
    assert sum(held) == 32, held
    assert min(held) >= 1, held


async def _both_serving(
    process: subprocess.Popen[str], url: str, flushed: RedisServer
) -> list[int]:
    """The two workers, once each has served a request (each holds a Redis connection);
    every answer until then was a 200."""
    deadline = time.monotonic() + 20
    limits = httpx.Limits(max_keepalive_connections=0)  # a new connection per request
    statuses: set[int] = set()
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=5) as http:
        while time.monotonic() < deadline:
            workers = workers_of(process.pid)
            if len(workers) == 2 and all(sockets(pid, remote_port=flushed.port) for pid in workers):
                assert statuses == {200}, statuses
                return workers
            try:
                async with anyio.create_task_group() as group:
                    for _ in range(20):
                        group.start_soon(_get, http, statuses)
            except* httpx.TransportError:
                await anyio.sleep(0.2)  # workers still starting
    pytest.fail(f"both workers did not serve within 20 s: {workers_of(process.pid)}")


async def _get(http: httpx.AsyncClient, statuses: set[int]) -> None:
    statuses.add((await http.get("/tickers")).status_code)


# Runs the command after it on one CPU (the affinity is inherited across exec).
_ON_ONE_CPU = [
    sys.executable,
    "-c",
    "import os, sys; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
    "os.execvp(sys.argv[1], sys.argv[1:])",
]


@pytest.mark.parametrize(
    ("server", "workers", "cpus", "advice"),
    [
        ("granian", 2, 2, "--workers 1"),
        ("granian", 2, 1, "--workers 1"),
        ("granian", 4, 4, "--workers 2"),
        ("granian", 4, 6, None),
        ("granian", 1, 1, None),
        ("uvicorn", 2, 2, None),
    ],
)
def test_crowded_granian_workers_are_named(
    server: str, workers: int, cpus: int, advice: str | None
) -> None:
    """More granian workers than the CPUs hold (1.5 each) get a warning naming the count
    that fits; uvicorn workers (one thread each) and fitting counts get none."""
    warning = crowded_workers(server, workers, cpus)
    if advice is None:
        assert warning is None
    else:
        assert warning is not None and advice in warning
        assert f"{workers} granian workers on {cpus} CPU" in warning


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="sets the CPU affinity")
def test_serve_warns_of_crowded_workers_and_refuses_a_shared_port() -> None:
    """`serve --workers 2` on one CPU logs the crowding warning before it listens; a port
    already listened on with SO_REUSEPORT (another `serve --workers`) is refused as in use,
    not silently shared."""
    with socket.create_server(("127.0.0.1", 0), reuse_port=True) as busy:
        port = busy.getsockname()[1]
        command = [*_ON_ONE_CPU, *CLI, "serve", "--workers", "2", "--port", str(port)]
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            _, stderr = process.communicate(timeout=60)
        finally:
            stop(process)  # its workers too, should it have served
            assert process.stderr is not None
            process.stderr.close()
    assert "2 granian workers on 1 CPU" in stderr, stderr
    assert process.returncode == 1, stderr
    assert "already in use" in stderr and "Traceback" not in stderr


def test_workers_must_be_positive() -> None:
    """--workers 0 is refused by the parser (exit status 2) before anything starts."""
    result = subprocess.run(
        [*CLI, "serve", "--workers", "0"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert "number of workers" in result.stderr


@pytest.mark.anyio
async def test_served_connections_get_tcp_nodelay() -> None:
    """The socket `serve` binds yields TCP_NODELAY connections (no 40 ms Nagle stalls)."""
    from fullon_cache_api.server import bind as _bind

    options: list[int] = []

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        options.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    listener = _bind("127.0.0.1", 0)
    server = await asyncio.start_server(accepted, sock=listener)
    async with server:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        for _ in range(100):
            if options:
                break
            await asyncio.sleep(0.01)
        writer.close()
        await writer.wait_closed()
    assert options and options[0] != 0
