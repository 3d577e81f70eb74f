"""At most `max_connections` connections to one Redis, idle ones reused last-in first-out.

When every connection is busy a caller waits up to `timeout` for one to come back, then gets
redis-py's "No connection available." (`ConnectionError`): redis-py's BlockingConnectionPool
semantics. A request that finds its reused connection closed by the server (a restart) is
retried once on a fresh connection; reads are idempotent. A timeout is never retried.

Connections belong to the event loop they were dialled on: the first request on another loop
starts afresh, and a loop shutting down closes its connections (see `_loops`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from redis import exceptions as redis_errors

from ..._redis_url import Options
from .._loops import LoopBinding
from ._connection import ClosedByServer, Connection

__all__ = ["ConnectionPool"]


class ConnectionPool:
    """Connections for request/reply traffic; `make_connection` makes one outside the pool."""

    def __init__(
        self, options: Options, *, max_connections: int = 50, timeout: float | None = 5.0
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.options = options
        self.max_connections = max_connections
        self.timeout = timeout
        # redis-py's pool attribute, mirrored for code that reads a pool either way (tests).
        self.connection_kwargs: dict[str, Any] = {
            "host": options.host,
            "port": options.port,
            "path": options.path,
            "db": options.db,
            "socket_timeout": options.socket_timeout,
            "client_name": options.client_name,
        }
        self._idle: list[Connection] = []
        self._in_use_connections: set[Connection] = set()  # redis-py's name: tests read it
        self._dialing = 0  # slots reserved by callers that are connecting
        self._waiters: deque[asyncio.Future[Connection | None]] = deque()
        self._binding = LoopBinding()

    def make_connection(self) -> Connection:
        """A new, unconnected connection with the pool's options (the pub/sub link's)."""
        return Connection(self.options)

    @property
    def open_connections(self) -> int:
        """Connections open or being opened."""
        return len(self._idle) + len(self._in_use_connections) + self._dialing

    async def request(self, packed: bytes, count: int) -> Any:
        """Send `count` packed commands on one connection; their reply (or list of replies)."""
        if self._binding.rebind(self._loop_exit):
            self._forget_all()  # made on another loop: unusable here
        connection = self._take_idle()
        if connection is None:
            connection = await self._acquire()
        try:
            return await connection.request(packed, count)
        except ClosedByServer:
            pass  # a pooled socket Redis closed: dial a fresh one below, once
        finally:
            self._release(connection)
        connection = await self._acquire(fresh=True)
        try:
            return await connection.request(packed, count)
        finally:
            self._release(connection)

    async def aclose(self) -> None:
        """Close every connection; busy ones are closed now and dropped when returned."""
        self._close_all()

    def _close_all(self) -> None:
        for connection in [*self._idle, *self._in_use_connections]:
            connection.abort()
        self._idle.clear()
        self._in_use_connections.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(redis_errors.ConnectionError("Connection pool closed."))

    def _loop_exit(self) -> None:
        """The loop of the connections shuts down: close them while it still can."""
        self._close_all()
        self._dialing = 0

    def _forget_all(self) -> None:
        """Drop what another loop made without touching it (that loop may be closed)."""
        self._idle.clear()
        self._in_use_connections.clear()
        self._waiters.clear()
        self._dialing = 0

    # -- checkout ---------------------------------------------------------------------------
    def _take_idle(self) -> Connection | None:
        idle = self._idle
        while idle:
            connection = idle.pop()
            if not connection.closed:
                self._in_use_connections.add(connection)
                return connection
        return None

    async def _acquire(self, *, fresh: bool = False) -> Connection:
        if not fresh and (connection := self._take_idle()) is not None:
            return connection
        if self.open_connections < self.max_connections:
            self._dialing += 1
            return await self._dial()
        waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        timer = None
        if self.timeout is not None:
            timer = asyncio.get_running_loop().call_later(self.timeout, _expire, waiter)
        try:
            got = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._hand_back(waiter.result())  # handed over just as we were cancelled
            raise
        finally:
            if timer is not None:
                timer.cancel()
        return got if got is not None else await self._dial()  # None: a slot to dial into

    async def _dial(self) -> Connection:
        """Connect in a slot already counted in `_dialing`."""
        connection = Connection(self.options)
        try:
            await connection.connect()
        except BaseException:
            self._dialing -= 1
            self._offer_slot()
            raise
        self._dialing -= 1
        self._in_use_connections.add(connection)
        connection.on_lost = self._forget
        return connection

    def _forget(self, connection: Connection) -> None:
        """An idle connection Redis closed (restart, idle timeout) leaves the pool at once."""
        if connection in self._idle:
            self._idle.remove(connection)
            self._offer_slot()

    def _hand_back(self, connection: Connection | None) -> None:
        if connection is None:  # a reserved dialing slot nobody will use
            self._dialing -= 1
            self._offer_slot()
        else:
            self._release(connection)

    def _release(self, connection: Connection) -> None:
        if connection not in self._in_use_connections:
            connection.abort()  # taken before `aclose`: the pool no longer knows it
            return
        self._in_use_connections.discard(connection)
        if connection.closed:
            self._offer_slot()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._in_use_connections.add(connection)
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    def _offer_slot(self) -> None:
        """A connection closed: let the first waiter dial a new one in its place."""
        while self._waiters and self.open_connections < self.max_connections:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._dialing += 1
                waiter.set_result(None)
                return


def _expire(waiter: asyncio.Future[Connection | None]) -> None:
    if not waiter.done():
        waiter.set_exception(redis_errors.ConnectionError("No connection available."))
