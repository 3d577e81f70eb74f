"""The soak's load: a light HTTP/1.1 client, SSE readers, a ticker feeder, /proc sampling."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis

from fullon_cache_api.demo import CacheWriter

__all__ = [
    "RawHttp",
    "Resources",
    "Run",
    "feeder",
    "http_client",
    "resources_of",
    "sample_resources",
    "stream_client",
]

KINDS = (b"snapshot", b"update", b"status", b"problem", b"close")

Resources = tuple[float, int, int, float]


@dataclass
class Run:
    """Everything measured during one soak."""

    started: array[float] = field(default_factory=lambda: array("d"))
    latency: array[float] = field(default_factory=lambda: array("d"))
    status: array[int] = field(default_factory=lambda: array("H"))  # 0: transport error
    outages: list[tuple[float, float]] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)
    stream_opens: Counter[int] = field(default_factory=Counter)
    # (t, RSS KiB, open fds, CPU seconds) of the gateway: every 5 s under load
    resources: list[Resources] = field(default_factory=list)
    idle_before: Resources = (0.0, 0, 0, 0.0)
    idle_after: Resources = (0.0, 0, 0, 0.0)
    begin: float = 0.0
    client_cpu: float = 0.0  # share of one core the load generator itself used

    def in_outage(self, started: float, latency: float) -> bool:
        """Whether a request overlaps an outage window (it may have met the outage)."""
        return any(started <= end and started + latency >= start for start, end in self.outages)


class RawHttp:
    """A minimal keep-alive HTTP/1.1 GET client over asyncio streams.

    A general-purpose client (httpx) costs more CPU per request than the gateway does, so on
    a small machine it would measure itself; this one parses only the status and the length.
    """

    def __init__(self, address: tuple[str, int], key: str) -> None:
        self.address = address
        self.extra = f"Host: soak\r\nX-API-Key: {key}\r\n\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self, path: str) -> tuple[asyncio.StreamReader, bytes]:
        """Send a GET on the open connection (or a new one); return the reader and the head."""
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(*self.address)
        self.writer.write(f"GET {path} HTTP/1.1\r\n".encode() + self.extra)
        return self.reader, await self.reader.readuntil(b"\r\n\r\n")

    async def get(self, path: str) -> int:
        """The status of GET `path` (0 when the connection failed), body read and dropped."""
        try:
            reader, head = await self.open(path)
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if length is None:
                raise ValueError("no Content-Length")
            await reader.readexactly(int(length.group(1)))
            return int(head[9:12])
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            await self.close()
            return 0

    async def close(self) -> None:
        """Drop the connection."""
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def http_client(
    client: RawHttp, run: Run, paths: list[str], offset: int, until: float
) -> None:
    """One HTTP client: cycle over `paths` until `until`, recording every answer."""
    index = offset
    try:
        while time.monotonic() < until:
            started = time.monotonic()
            status = await client.get(paths[index % len(paths)])
            run.started.append(started)
            run.latency.append(time.monotonic() - started)
            run.status.append(status)
            index += 1
            await asyncio.sleep(0.002)
    finally:
        await client.close()


async def stream_client(client: RawHttp, run: Run, path: str, until: float) -> None:
    """One SSE client: count events; when the stream ends or fails, reconnect after 1 s."""
    while time.monotonic() < until:
        try:
            reader, head = await client.open(path)
            run.stream_opens[int(head[9:12])] += 1
            await count_events(reader, run, until)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            run.events["(connection lost)"] += 1
        await client.close()
        if time.monotonic() < until:
            await asyncio.sleep(1.0)


async def count_events(reader: asyncio.StreamReader, run: Run, until: float) -> None:
    """Count complete frames by kind with bytes.count (in C) until the stream or soak ends."""
    pending = b""
    while time.monotonic() < until:
        try:
            chunk = await asyncio.wait_for(reader.read(65536), until - time.monotonic())
        except TimeoutError:
            return
        if not chunk:
            raise ValueError("the stream ended")
        pending += chunk
        cut = pending.rfind(b"\n\n") + 2
        complete, pending = pending[:cut], pending[cut:]
        for kind in KINDS:
            run.events[kind.decode()] += complete.count(b"event: " + kind + b"\n")


async def feeder(port: int, until: float) -> None:
    """Publish ticker updates as fullon_cache does, riding out the restarts."""
    client = Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
    writer = CacheWriter(client)
    try:
        while time.monotonic() < until:
            with contextlib.suppress(Exception):  # Redis down: try again shortly
                for symbol in ("BTC/USDT", "ETH/USDT"):
                    price = 60000 + secrets.randbelow(1000)
                    await writer.set_ticker("binance", symbol, price=price, time=time.time())
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()


async def sample_resources(pid: int, run: Run, until: float) -> None:
    """RSS and open file descriptors of the gateway, every 5 s."""
    while time.monotonic() < until:
        run.resources.append(resources_of(pid))
        await asyncio.sleep(5.0)


def resources_of(pid: int) -> Resources:
    """(now, VmRSS in KiB, open file descriptors, user+system CPU seconds) of process `pid`."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+)", status)
    ticks = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]
    cpu = sum(int(tick) for tick in ticks) / os.sysconf("SC_CLK_TCK")
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return (time.monotonic(), int(found.group(1)) if found else 0, fds, cpu)
