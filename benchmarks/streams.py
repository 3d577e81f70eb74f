"""1,000 SSE clients on one ticker: delivery latency and Redis pub/sub connections.

``python -m benchmarks.streams [--clients 1000] [--rate 100] [--seconds 10] [--warmup 2]
[--workers 1] [--gc default|tuned] [--server uvicorn|granian] [--protocol sse|ws]``

``--server`` picks the gateway's server (``serve --server``); ``--protocol ws`` holds WebSocket
streams (``/ws/v2``, `benchmarks._ws_clients`) instead of SSE ones.

A private redis-server and one gateway process (uvicorn, uvloop + httptools, authentication on,
default settings) on 127.0.0.1. Client processes hold the SSE connections
(``/tickers/binance/BTC/USDT/stream``) over raw sockets; the benchmark process publishes the
ticker the way fullon_cache does (HSET, SET, PUBLISH) `rate` times a second, stamping the send
time in the ticker's ``time``. Latency is receive time minus that stamp, per delivered update.

Ticker streams conflate: a client that is behind receives the newest price rather than every
tick, so the report gives the share of ticks delivered next to the latency. It also counts the
gateway's Redis pub/sub connections in ``CLIENT LIST`` (there must be exactly one) and the
gateway's CPU use.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import multiprocessing
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from array import array
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any, cast

from redis.asyncio import Redis

from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.demo.server import free_port
from fullon_cache_api.streams import PUBSUB_CLIENT_NAME

from ._ws_clients import ws_worker

KEY = "bench-streams-key"
PATH = "/tickers/binance/BTC/USDT/stream"
CHANNEL = "ticker_updates:binance:BTC/USDT"

_SERVER = """
import gc, sys, uvicorn
from fullon_cache_api import Settings, create_app
from fullon_cache_api.security._auth import hash_api_key
from fullon_cache_api._settings import ApiKey, AuthConfig
from fullon_cache_api.streams import StreamSettings
port, url, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
admin = ApiKey(name="bench", sha256=hash_api_key(key), admin=True)
# Every client uses the one key: lift the per-identity stream limit (default 100) for it.
streams = StreamSettings(max_per_identity=1_000_000)
settings = Settings(redis_url=url, auth=AuthConfig(api_keys=(admin,)))
app = create_app(settings=settings, streams=streams)
if sys.argv[4] == "tuned":  # an operator's choice for the whole process, not the library's
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
if sys.argv[5] == "granian":  # as `serve --server granian` runs it
    import socket, uvloop
    from fullon_cache_api.server._granian_server import serve_granian
    sock = socket.create_server(("127.0.0.1", port), backlog=4096)
    uvloop.run(serve_granian(app, sock, "warning", 2))
else:
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", backlog=4096,
        timeout_graceful_shutdown=2,
    )
"""


# -- client processes ----------------------------------------------------------------------
def client_worker(port: int, clients: int, pipe: Connection) -> None:
    """A process holding `clients` SSE connections; reports latencies when told to stop."""
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(_worker(port, clients, pipe))


async def _worker(port: int, clients: int, pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    latencies = array("d")
    ready = asyncio.Semaphore(0)
    protocols: list[_SseClient] = []
    for n in range(clients):
        _, protocol = await loop.create_connection(
            lambda: _SseClient(latencies, ready), "127.0.0.1", port
        )
        protocols.append(protocol)
        if n % 50 == 49:
            await asyncio.sleep(0.05)  # connect in waves, not one SYN flood
    for _ in range(clients):
        await ready.acquire()
    pipe.send(("ready", clients))
    await loop.run_in_executor(None, pipe.recv)  # "stop"
    failed = sum(1 for protocol in protocols if protocol.failed)
    for protocol in protocols:
        protocol.close()
    pipe.send(("done", latencies.tobytes(), failed))


class _SseClient(asyncio.Protocol):
    """One SSE connection, kept lean (a Protocol, no stream objects): the clients share the
    machine with the gateway, and every microsecond they spend is one the gateway loses.

    Frames never straddle a chunk of the chunked encoding (each send is whole frames), so
    the chunk-size lines are simply skipped while scanning for complete frames.
    """

    def __init__(self, latencies: array[float], ready: asyncio.Semaphore) -> None:
        # (send stamp, latency in ms) pairs, flat: the warm-up is filtered out by its stamps
        self.latencies = latencies
        self.ready = ready
        self.buffer = b""
        self.started = False  # past the response head
        self.subscribed = False  # the snapshot came
        self.failed = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport = transport
        request = f"GET {PATH} HTTP/1.1\r\nHost: bench\r\nX-API-Key: {KEY}\r\n\r\n"
        transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self.buffer + data
        if not self.started:
            if b"\r\n\r\n" not in buffer:
                self.buffer = buffer
                return
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            self.failed = b" 200 " not in head.split(b"\r\n", 1)[0]
        *frames, self.buffer = buffer.split(b"\n\n")
        for frame in frames:
            at = frame.find(b"event: ")
            if frame.startswith(b"update", at + 7):
                stamp = _stamp(frame)
                self.latencies.extend((stamp, (now - stamp) * 1000.0))
            elif frame.startswith(b"snapshot", at + 7) and not self.subscribed:
                self.subscribed = True
                self.ready.release()
        self.started = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.failed = self.failed or exc is not None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _stamp(frame: bytes) -> float:
    start = frame.index(b'"time":"') + 8
    return datetime.fromisoformat(frame[start : frame.index(b'"', start)].decode()).timestamp()


# -- the benchmark process -----------------------------------------------------------------
def _receive(pipe: Connection, within: float) -> Any:
    """The next message of a client process, or an error after `within` seconds."""
    if not pipe.poll(within):
        raise RuntimeError(f"a client process said nothing for {within} s")
    return pipe.recv()


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


def _start_gateway(port: int, redis_url: str, gc_mode: str, server: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", _SERVER, str(port), redis_url, KEY, gc_mode, server]
    return subprocess.Popen(command)


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_healthy(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        time.sleep(0.05)
    raise RuntimeError("the gateway did not start")


async def _publish(writer: CacheWriter, rate: int, seconds: float) -> int:
    """`rate` ticks a second for `seconds`, on a fixed schedule (no drift)."""
    period, started, sent = 1.0 / rate, time.monotonic(), 0
    while sent < rate * seconds:
        await writer.set_ticker("binance", "BTC/USDT", price=float(sent), time=time.time())
        sent += 1
        await asyncio.sleep(max(0.0, started + sent * period - time.monotonic()))
    return sent


async def run(
    clients: int,
    rate: int,
    seconds: float,
    workers: int = 1,
    warmup: float = 2.0,
    gc_mode: str = "default",
    server: str = "uvicorn",
    protocol: str = "sse",
) -> dict[str, Any]:
    """Run the benchmark once; returns the measurements of the `seconds` after a `warmup`."""
    _raise_fd_limit(2 * clients + 512)
    result: dict[str, Any] = {
        "server": server,
        "protocol": protocol,
        "clients": clients,
        "cpus": os.cpu_count(),
        "gc": gc_mode,
    }
    with RedisServer() as redis_server:
        redis = Redis(port=redis_server.port)
        writer = CacheWriter(redis)
        await writer.set_ticker("binance", "BTC/USDT", price=0.0, time=time.time())
        port = free_port()
        gateway = _start_gateway(port, redis_server.url, gc_mode, server)
        context = multiprocessing.get_context("spawn")
        pipes, procs = [], []
        try:
            _wait_healthy(port, time.monotonic() + 20)
            for index in range(workers):
                ours, theirs = context.Pipe()
                share = clients // workers + (1 if index < clients % workers else 0)
                if protocol == "ws":
                    proc = context.Process(target=ws_worker, args=(port, share, KEY, theirs))
                else:
                    proc = context.Process(target=client_worker, args=(port, share, theirs))
                proc.start()
                pipes.append(ours)
                procs.append(proc)
            result["connected"] = sum(_receive(pipe, 120)[1] for pipe in pipes)
            result.update(await _subscriptions(redis))
            pids = [gateway.pid, *(proc.pid for proc in procs if proc.pid is not None)]
            await _publish(writer, rate, warmup)  # not measured: let the heap settle
            cpu_before = [_cpu_seconds(pid) for pid in pids]
            measured_from = time.time()
            started = time.monotonic()
            sent = await _publish(writer, rate, seconds)
            elapsed = time.monotonic() - started
            cpu = [_cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
            await asyncio.sleep(1.0)  # let the last ticks arrive
            for pipe in pipes:
                pipe.send("stop")
            latencies: list[float] = []
            failed = 0
            for pipe in pipes:
                _, raw, worker_failed = _receive(pipe, 60)
                pairs = array("d", raw)
                latencies.extend(
                    pairs[i + 1] for i in range(0, len(pairs), 2) if pairs[i] >= measured_from
                )
                failed += worker_failed
        finally:
            for proc in procs:
                proc.join(10)
                if proc.is_alive():
                    proc.kill()
            gateway.terminate()
            try:
                gateway.wait(10)
            except subprocess.TimeoutExpired:
                gateway.kill()
                gateway.wait()
            await redis.aclose()
    result.update(
        failed_clients=failed,
        ticks_published=sent,
        publish_rate_per_s=round(sent / elapsed, 1),
        gateway_cpu_share=round(cpu[0] / elapsed, 2),
        clients_cpu_share=round(sum(cpu[1:]) / elapsed, 2),
    )
    result.update(_latency(latencies, sent * clients))
    return result


async def _subscriptions(redis: Redis) -> dict[str, int]:
    """Pub/sub connections in CLIENT LIST (by the link's name, and by having any
    subscription) and the subscribers of the ticker channel (PUBSUB NUMSUB)."""
    clients = await redis.client_list()
    return {
        "pubsub_connections_named": sum(c.get("name") == PUBSUB_CLIENT_NAME for c in clients),
        "pubsub_connections_subscribed": sum(
            int(c.get("sub", 0)) + int(c.get("psub", 0)) > 0 for c in clients
        ),
        "channel_subscribers": (await redis.pubsub_numsub(CHANNEL))[0][1],
    }


def _latency(latencies: list[float], possible: int) -> dict[str, Any]:
    latencies.sort()
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "updates_delivered": len(latencies),
        "delivered_share": round(len(latencies) / max(1, possible), 4),
        "latency_ms_p50": round(quantiles[49], 2),
        "latency_ms_p90": round(quantiles[89], 2),
        "latency_ms_p99": round(quantiles[98], 2),
        "latency_ms_max": round(latencies[-1], 2) if latencies else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.streams", description=__doc__)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=100, help="ticks published per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured publishing")
    parser.add_argument("--warmup", type=float, default=2.0, help="publishing not measured")
    parser.add_argument("--workers", type=int, default=1, help="client processes")
    parser.add_argument("--server", choices=["uvicorn", "granian"], default="uvicorn")
    parser.add_argument("--protocol", choices=["sse", "ws"], default="sse")
    parser.add_argument(
        "--gc",
        choices=["default", "tuned"],
        default="default",
        help="tuned: gc.freeze() and gc.set_threshold(100000, 50, 100) in the gateway process",
    )
    args = parser.parse_args(argv)
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so the servers are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    result = asyncio.run(
        run(
            args.clients,
            args.rate,
            args.seconds,
            args.workers,
            args.warmup,
            args.gc,
            args.server,
            args.protocol,
        )
    )
    width = max(map(len, result))
    for name, value in result.items():
        print(f"{name:<{width}}  {value}")
    ok = result["pubsub_connections_named"] == 1 and result["channel_subscribers"] == 1
    return 0 if ok and result["failed_clients"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
