"""The invalidation link: one RESP3 connection on which Redis says which keys changed.

Hand-shake (checked against redis-server 6.2), one round trip: ``HELLO 3 [AUTH ...] SETNAME``
and ``CLIENT TRACKING on BCAST PREFIX ...``. In BCAST mode Redis reports every write to a key
under a prefix, whichever connection made or read it, batched per event-loop turn, as an
``invalidate`` push on this same connection; FLUSHDB/FLUSHALL arrives as a null key list.
RESP2 would need ``REDIRECT`` to a connection subscribed to ``__redis__:invalidate`` (a
connection may redirect to itself), but that subscription shows in ``PUBSUB CHANNELS`` next
to the hub's and needs SUBSCRIBE in the ACL; the RESP3 push needs neither. Only when tracking
is accepted does the store turn `active`.

Replies are parsed in `data_received`, inside the event loop's I/O callback, not in a task:
on loopback Redis has written a key's invalidation before the writer's own reply, so by the
time anyone can ask the gateway for the new value the cache has already dropped the old one.
FLUSHDB's push may leave just after the writer's reply (observed with redis 6.2): there the
old values go within a loop turn or two, well inside the store's `ttl`.

When the connection drops (Redis restart, ``CLIENT KILL``, a PING left unanswered) the store
is flushed and bypassed at once, and the link reconnects with exponential backoff. A Redis
that refuses the hand-shake for good (NOPERM under an ACL without ``+client|tracking``, or no
HELLO / CLIENT TRACKING before Redis 6) turns the near cache off with one warning.

The loss is one warning with its reason (a wait that ran out says which and how long), and the
return one warning too, with how long the link was down: whoever sees one sees the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, cast

import hiredis

from .._aio import stop_if_cancelled
from .._resp import Options, pack  # one RESP encoder: the client's
from ._store import Store

__all__ = ["LINK_CLIENT_NAME", "InvalidationLink"]

LINK_CLIENT_NAME = "fullon_cache_api.near"
_FIRST_BACKOFF = 0.05
_MAX_BACKOFF = 5.0
_log = logging.getLogger("fullon.api.cache.near")


class _Refused(Exception):
    """Redis refused tracking in a way retrying will not fix."""


class _Lost(Exception):
    """The connection went away, or stopped answering."""


class _Protocol(asyncio.Protocol):
    """RESP3 over one transport: replies go to waiters in order, pushes to the store."""

    def __init__(self, store: Store, lost: asyncio.Future[None]) -> None:
        self._store = store
        self._reader = hiredis.Reader()
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self.lost = lost
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have the interface without subclassing asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        try:
            while (reply := self._reader.gets()) is not False:
                self._dispatch(reply)
        except hiredis.ProtocolError:
            self.close()

    def _dispatch(self, reply: Any) -> None:
        if type(reply) is hiredis.PushNotification:
            if len(reply) == 2 and reply[0] == b"invalidate":
                keys = reply[1]
                if keys is None:
                    self._store.flush()
                else:
                    self._store.invalidate([key.decode("utf-8", "replace") for key in keys])
            return
        if self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        # Synchronous, before any other callback: nothing is served from the store from now on.
        self._store.active = False
        self._store.flush()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(_Lost("connection lost"))
        if not self.lost.done():
            self.lost.set_result(None)

    def call(self, *commands: Sequence[str | int]) -> list[asyncio.Future[Any]]:
        """Send `commands` in one write; one future per reply."""
        if self.transport is None or self.transport.is_closing():
            raise _Lost("connection closed")
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in commands]
        self._waiters.extend(futures)
        self.transport.write(b"".join(pack(tuple(command)) for command in commands))
        return futures

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class InvalidationLink:
    """Keeps one tracking connection up, with backoff; `aclose` stops it and closes it."""

    def __init__(
        self,
        store: Store,
        options: Options,
        prefixes: Sequence[str],
        *,
        keepalive: float = 1.0,
    ) -> None:
        self._store = store
        self._options = options  # the app client's: same server, TLS and credentials
        self._prefixes = tuple(prefixes)
        self._keepalive = keepalive
        self._timeout = options.socket_timeout or 5.0
        self._task: asyncio.Task[None] | None = None
        self._protocol: _Protocol | None = None
        self._up = False
        self._lost_at: float | None = None  # monotonic time of the last loss, until back
        self.refused = False
        self.connects = 0

    def start(self) -> None:
        """Start the link task unless it runs or Redis refused tracking (needs a loop).

        A task that ended (cancelled when its event loop shut down) or belongs to another
        loop is replaced: each loop gets its own link (see `_loops`)."""
        task = self._task
        if task is not None and (task.done() or task.get_loop() is not asyncio.get_running_loop()):
            self._task = task = None
            self._store.active = False
            self._store.flush()
        if task is None and not self.refused:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="fullon-cache-api-near-link"
            )

    async def aclose(self) -> None:
        """Stop the link task and close its connection; the store is flushed and bypassed."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._store.active = False
        self._store.flush()

    async def _run(self) -> None:
        backoff = _FIRST_BACKOFF
        while True:
            try:
                await self._session()
            except _Refused as exc:
                self.refused = True
                _log.warning("near cache off: Redis refused client tracking (%s)", exc)
                return
            except Exception as exc:  # lost, or anything unforeseen: the link must go on
                stop_if_cancelled()
                if self._up:
                    self._lost_at = time.monotonic()
                    _log.warning(
                        "near cache bypassed: invalidation link lost (%s)", self._reason(exc)
                    )
                    backoff = _FIRST_BACKOFF  # it worked: try again soon
                self._up = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)

    def _reason(self, exc: Exception) -> str:
        """Why the link went down, never empty (a timeout's message is)."""
        if isinstance(exc, TimeoutError) and not str(exc):
            return f"Redis did not answer within {self._timeout:g} s"
        detail = " ".join(str(exc).split())
        return detail or type(exc).__name__

    async def _session(self) -> None:
        protocol = await self._connect()
        self._protocol = protocol
        try:
            await self._serve(protocol)
        finally:
            self._store.active = False
            self._store.flush()
            self._protocol = None
            protocol.close()
            # Let the transport finish closing (its socket is closed in a later callback).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await asyncio.shield(protocol.lost)

    async def _serve(self, protocol: _Protocol) -> None:
        tracking = ["CLIENT", "TRACKING", "on", "BCAST"]
        for prefix in self._prefixes:
            tracking += ["PREFIX", prefix]
        await self._ask(protocol, self._hello(), tracking)
        self._store.flush()  # nothing read before tracking began may be kept
        self._store.active = True
        self.connects += 1
        if self._lost_at is not None:
            down = time.monotonic() - self._lost_at
            self._lost_at = None
            _log.warning(
                "near cache on again: invalidation link re-established (it was lost for %.1f s)",
                down,
            )
        self._up = True
        while True:  # PING after each quiet `keepalive`; no answer in time means lost
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._keepalive):
                    await asyncio.shield(protocol.lost)
                raise _Lost("connection closed by Redis")
            await self._ask(protocol, ("PING",))

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        protocol = _Protocol(self._store, loop.create_future())
        options = self._options
        async with asyncio.timeout(options.connect_timeout or self._timeout):
            if options.path is not None:
                await loop.create_unix_connection(lambda: protocol, options.path, ssl=options.ssl)
            else:
                await loop.create_connection(
                    lambda: protocol, options.host, options.port, ssl=options.ssl
                )
        return protocol

    def _hello(self) -> list[str]:
        options = self._options
        hello = ["HELLO", "3"]
        if options.password is not None:
            hello += ["AUTH", options.username or "default", options.password]
        return [*hello, "SETNAME", LINK_CLIENT_NAME]

    async def _ask(self, protocol: _Protocol, *commands: Sequence[str | int]) -> Any:
        """Send `commands`, wait for every reply; the last one is returned."""
        async with asyncio.timeout(self._timeout):
            replies = await asyncio.gather(*protocol.call(*commands))
        for reply in replies:
            if isinstance(reply, hiredis.ReplyError):
                message = str(reply)
                if message.startswith(("NOPERM", "ERR")):
                    raise _Refused(message)
                raise _Lost(message)  # LOADING, WRONGPASS...: try again later
        return replies[-1]
