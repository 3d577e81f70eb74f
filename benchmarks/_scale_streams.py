"""The scale benchmark's streams: a change stream held open on each big key while the probe runs.

For each stream (an SSE stream of the order hash, an SSE stream of the bot hash, a WebSocket
stream of the trade queue) the driver opens it, waits for its snapshot, then holds it for
`seconds` while a writer changes the key once a second the way fullon_cache does (an order
updated in place, a bot document rewritten, a trade pushed). The row gives the time to the
snapshot and its size, the updates received, the probe's p99 / worst latency over the hold
(the stall the poller causes others), and what the shared poller cost Redis: read commands
per second and Redis's output bytes per second (INFO deltas; the probe's own HGETs and the
writer's commands are left out).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import redis
from websockets.sync.client import connect

from fullon_cache_api.demo.writer import order_value

from ._scale_seed import BOTS_KEY, EXCHANGE, ORDERS_KEY, TRADES_KEY, bot_value, order_fields

__all__ = ["STREAMS", "StreamRow", "hold_streams", "stream_table"]

STREAMS = ("orders stream", "bots stream", "trades stream")
# Commands a poller sends (the probe's HGET, the writer's writes and INFO are not counted).
_POLL_COMMANDS = {
    "hgetall", "hscan", "hlen", "hmget", "hstrlen", "llen", "lrange", "scan", "type", "ttl",
    "mget", "get", "exists",
}  # fmt: skip
_SNAPSHOT_TIMEOUT = 120.0


@dataclass
class StreamRow:
    """One stream held on one gateway at one size."""

    size: int
    gateway: str
    stream: str
    snapshot_ms: float = 0.0
    snapshot_bytes: int = 0
    updates: int = 0
    seconds: float = 0.0
    commands_per_s: float = 0.0
    out_kb_per_s: float = 0.0
    commands: dict[str, int] = field(default_factory=dict)
    probe_p99_ms: float = 0.0
    probe_max_ms: float = 0.0
    probe_samples: int = 0
    rss_mb: float = 0.0
    error: str = ""


class _Reader(threading.Thread):
    """Reads a stream until closed: the time its snapshot completed, its size, the updates."""

    def __init__(self, receive: Any, snapshot_done: Any) -> None:
        super().__init__(daemon=True)
        self.receive = receive
        self.snapshot_done = snapshot_done
        self.snapshot_at: float | None = None
        self.snapshot_bytes = 0
        self.updates = 0
        self.got = threading.Event()

    def run(self) -> None:
        buffer = b""
        try:
            while True:
                data = self.receive()
                if not data:
                    return
                if self.snapshot_at is None:
                    buffer += data
                    done = self.snapshot_done(buffer)
                    if done is not None:
                        self.snapshot_at, self.snapshot_bytes = time.monotonic(), done
                        self.updates = _updates(buffer[done:])
                        buffer = b""
                        self.got.set()
                else:
                    self.updates += _updates(data)
        except (OSError, ValueError, RuntimeError):
            return
        finally:
            self.got.set()


def _updates(data: bytes) -> int:
    return data.count(b"event: update") + data.count(b'"snapshot":false')


def _sse_snapshot(buffer: bytes) -> int | None:
    """Where the snapshot event ends in `buffer` (its byte count), None before it ends."""
    start = max(buffer.find(b"event: snapshot"), buffer.find(b"event: problem"))
    end = buffer.find(b"\n\n", start) if start >= 0 else -1
    return None if end < 0 else end + 2


def _ws_snapshot(buffer: bytes) -> int | None:
    return len(buffer) if b'"snapshot":true' in buffer else None


class _Stream:
    """One open stream and its reader."""

    def __init__(self, base: str, key: str, name: str) -> None:
        self.closers: list[Any] = []
        parts = urlsplit(base)
        host, port = parts.hostname or "", parts.port or 80
        if name == "trades stream":
            ws = connect(
                f"ws://{host}:{port}/ws/v2/trades/bench",
                additional_headers={"X-API-Key": key},
                max_size=None,
                open_timeout=30,
            )
            action = {"action": "stream_trade_updates", "request_id": "t"}
            ws.send(json.dumps({**action, "params": {"exchange": EXCHANGE, "symbol": "BTC/USDT",
                                                     "count": 10}}))  # fmt: skip
            self.closers.append(ws.close)
            self.reader = _Reader(lambda: _text(ws.recv()), _ws_snapshot)
        else:
            path = (
                f"/orders/{EXCHANGE}/stream?limit=10" if name == "orders stream" else "/bots/stream"
            )
            sock = socket.create_connection((host, port), timeout=_SNAPSHOT_TIMEOUT)
            request = f"GET {path} HTTP/1.0\r\nHost: {host}\r\nX-API-Key: {key}\r\n\r\n"
            sock.sendall(request.encode())
            self.closers.append(sock.close)
            self.reader = _Reader(lambda: sock.recv(1 << 20), _sse_snapshot)
        self.opened = time.monotonic()
        self.reader.start()

    def close(self) -> None:
        for close in self.closers:
            with contextlib.suppress(OSError):
                close()
        self.reader.join(10)


def _text(message: Any) -> bytes:
    return message.encode() if isinstance(message, str) else bytes(message)


def _write(client: redis.Redis, name: str, tick: int) -> None:
    """One change of the stream's key, as fullon_cache writes it."""
    stamp = datetime.now(UTC).isoformat()
    if name == "orders stream":
        order = {**order_fields(tick), "status": ("open", "filled")[tick % 2]}
        client.hset(ORDERS_KEY, *order_value(order, stamp))
    elif name == "bots stream":
        client.hset(BOTS_KEY, str(1 + tick), bot_value(tick, stamp))
    else:
        trade = {"trade_id": 10**9 + tick, "symbol": "BTC/USDT", "side": "buy", "volume": 0.1,
                 "price": 60000.0, "time": time.time()}  # fmt: skip
        client.rpush(TRADES_KEY, json.dumps(trade))


def _stats(client: redis.Redis) -> tuple[dict[str, int], int]:
    commands = {
        name.removeprefix("cmdstat_"): int(value["calls"])
        for name, value in client.info("commandstats").items()
    }
    return commands, int(client.info("stats")["total_net_output_bytes"])


def hold_streams(
    base: str, key: str, client: redis.Redis, size: int, gateway: str, seconds: float
) -> list[tuple[StreamRow, float, float]]:
    """Each stream opened and held `seconds` (the key written once a second); the rows and the
    time window of each hold."""
    found: list[tuple[StreamRow, float, float]] = []
    for name in STREAMS:
        row = StreamRow(size=size, gateway=gateway, stream=name)
        stream = _Stream(base, key, name)
        start = end = time.monotonic()
        try:
            stream.reader.got.wait(_SNAPSHOT_TIMEOUT)
            if stream.reader.snapshot_at is None:
                row.error = "no snapshot"
                continue
            row.snapshot_ms = (stream.reader.snapshot_at - stream.opened) * 1000
            row.snapshot_bytes = stream.reader.snapshot_bytes
            before, out_before = _stats(client)
            start = time.monotonic()
            tick = 0
            while time.monotonic() - start < seconds:
                _write(client, name, tick)
                tick += 1
                time.sleep(max(0.0, start + tick - time.monotonic()))
            end = time.monotonic()
            after, out_after = _stats(client)
            row.seconds = end - start
            row.updates = stream.reader.updates
            row.commands = {
                command: after.get(command, 0) - before.get(command, 0)
                for command in sorted(_POLL_COMMANDS)
                if after.get(command, 0) - before.get(command, 0)
            }
            row.commands_per_s = sum(row.commands.values()) / row.seconds
            row.out_kb_per_s = (out_after - out_before) / 1024 / row.seconds
        finally:
            stream.close()
            found.append((row, start, end))
    return found


def stream_table(rows: list[StreamRow]) -> str:
    """The stream rows as a Markdown table."""
    lines = [
        "| size | stream | gateway | snapshot ms | snapshot bytes | updates | probe p99 ms | "
        "probe max ms | poller Redis cmds/s | Redis out KB/s | RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row.error:
            lines.append(
                f"| {row.size:,} | {row.stream} | {row.gateway} | {row.error} |" + " |" * 7
            )
            continue
        lines.append(
            f"| {row.size:,} | {row.stream} | {row.gateway} | {row.snapshot_ms:,.0f} | "
            f"{row.snapshot_bytes:,} | {row.updates} | {row.probe_p99_ms:,.1f} | "
            f"{row.probe_max_ms:,.1f} | {row.commands_per_s:,.1f} | {row.out_kb_per_s:,.0f} | "
            f"{row.rss_mb:,.0f} |"
        )
    return "\n".join(lines)
