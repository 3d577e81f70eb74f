"""A minimal asyncio + hiredis Redis reader: the "client of our own" candidate.

A prototype to measure, not the gateway's client: no AUTH, TLS, DB select or reconnect logic.
Each connection is an `asyncio.Protocol` feeding a `hiredis.Reader`; replies are matched to
requests by a FIFO of futures, so a cancelled caller never desynchronises the connection (its
reply is still consumed, then dropped). Two modes:

- pooled: one command in flight per connection, idle connections kept LIFO, at most `size`;
- multiplexed: every command written to one connection, pipelined (no checkout at all).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, cast

import hiredis

__all__ = ["HiredisPool", "HiredisShim"]


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self._reader = hiredis.Reader()
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a cancelled caller: its reply is dropped here
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectionError("Redis closed the connection"))

    def send(self, packed: bytes) -> asyncio.Future[Any]:
        if self._transport is None or self.closed:
            raise ConnectionError("connection is closed")
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._transport.write(packed)
        return waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class HiredisPool:
    """Connections to one Redis on loopback; `execute` sends one command and returns its reply."""

    def __init__(self, host: str, port: int, *, size: int = 50, multiplexed: bool = False) -> None:
        self.host, self.port, self.size, self.multiplexed = host, port, size, multiplexed
        self._idle: list[_Connection] = []
        self._open = 0
        self._wanting: deque[asyncio.Future[_Connection]] = deque()
        self._shared: _Connection | None = None
        self._dialing: asyncio.Lock | None = None

    async def execute(self, *args: str | bytes | int | float) -> Any:
        """Send one command; an error reply is raised as `hiredis.ReplyError`."""
        packed = hiredis.pack_command(args)  # type: ignore[arg-type]  # stub: 1-tuple
        if self.multiplexed:
            reply = await (await self._shared_connection()).send(packed)
        else:
            connection = await self._checkout()
            try:
                reply = await connection.send(packed)
            finally:
                self._checkin(connection)
        if isinstance(reply, hiredis.ReplyError):
            raise reply
        return reply

    async def _shared_connection(self) -> _Connection:
        if self._shared is not None and not self._shared.closed:
            return self._shared
        self._dialing = self._dialing or asyncio.Lock()
        async with self._dialing:
            if self._shared is None or self._shared.closed:
                self._shared = await self._dial()
        return self._shared

    async def _checkout(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
            self._open -= 1
        if self._open < self.size:
            self._open += 1
            try:
                return await self._dial()
            except BaseException:
                self._open -= 1
                raise
        waiter: asyncio.Future[_Connection] = asyncio.get_running_loop().create_future()
        self._wanting.append(waiter)
        return await waiter

    def _checkin(self, connection: _Connection) -> None:
        if connection.closed:
            self._open -= 1
            return
        while self._wanting:
            waiter = self._wanting.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    async def _dial(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Connection, self.host, self.port)
        return protocol

    async def aclose(self) -> None:
        """Close every connection."""
        for connection in [*self._idle, *filter(None, [self._shared])]:
            connection.close()
        self._idle.clear()
        self._shared = None


class HiredisShim:
    """The few redis-py methods the single-key endpoints call, over a `HiredisPool`.

    Lets the real gateway (`create_app(redis=...)`) run on the candidate client, so the
    projected gain is measured on the gateway's own code path, not guessed.
    """

    def __init__(self, pool: HiredisPool) -> None:
        self.pool = pool

    async def hget(self, name: str, key: str) -> bytes | None:
        reply: bytes | None = await self.pool.execute("HGET", name, key)
        return reply

    async def hgetall(self, name: str) -> dict[bytes, bytes]:
        flat: list[bytes] = await self.pool.execute("HGETALL", name)
        return dict(zip(flat[::2], flat[1::2], strict=True))

    async def ping(self) -> bool:
        return bool(await self.pool.execute("PING") == b"PONG")

    async def aclose(self) -> None:
        await self.pool.aclose()
