"""The invalidation link: one RESP3 connection on which Redis says which keys changed.

Hand-shake (checked against redis-server 6.2), one round trip: ``HELLO 3 [AUTH ...] SETNAME``
and ``CLIENT TRACKING on BCAST PREFIX ...``. In BCAST mode Redis reports every write to a key
under a prefix, whichever connection made or read it, batched per event-loop turn, as an
``invalidate`` push on this same connection; FLUSHDB/FLUSHALL arrives as a null key list.
RESP2 would need ``REDIRECT`` to a connection subscribed to ``__redis__:invalidate`` (a
connection may redirect to itself), but that subscription shows in ``PUBSUB CHANNELS`` next
to the hub's and needs SUBSCRIBE in the ACL; the RESP3 push needs neither. Only when tracking
is accepted does the store turn `active`.

The connection is the client's `Connection` (one RESP implementation), opted in to pushes:
they are parsed in `data_received`, inside the event loop's I/O callback, not in a task:
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
from collections.abc import Sequence
from typing import Any

import hiredis
from redis import exceptions as redis_errors

from .._aio import stop_if_cancelled
from .._resp import Connection, Options, pack  # one RESP implementation: the client's
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
        connection, lost = await self._connect()
        try:
            await self._serve(connection, lost)
        finally:
            self._store.active = False
            self._store.flush()
            connection.abort()
            # Let the transport finish closing (its socket is closed in a later callback).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await asyncio.shield(lost)

    async def _serve(self, connection: Connection, lost: asyncio.Future[None]) -> None:
        tracking = ["CLIENT", "TRACKING", "on", "BCAST"]
        for prefix in self._prefixes:
            tracking += ["PREFIX", prefix]
        await self._ask(connection, self._hello(), tracking)
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
                    await asyncio.shield(lost)
                raise _Lost("connection closed by Redis")
            await self._ask(connection, ("PING",))

    async def _connect(self) -> tuple[Connection, asyncio.Future[None]]:
        """Dial; the future is resolved when the connection is lost (after the store flush)."""
        lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        connection = Connection(self._options)
        connection.socket_timeout = None  # `_ask` times its waits, and its warning says how long
        connection.on_push = self._pushed
        connection.on_lost = lambda _: self._dropped(lost)
        async with asyncio.timeout(self._options.connect_timeout or self._timeout):
            await connection.connect(handshake=False)  # the hand-shake is `_serve`'s
        return connection, lost

    def _pushed(self, push: Any) -> None:
        """An ``invalidate`` push, applied at once (inside the connection's `data_received`)."""
        if len(push) == 2 and push[0] == b"invalidate":
            keys = push[1]
            if keys is None:
                self._store.flush()
            else:
                self._store.invalidate([key.decode("utf-8", "replace") for key in keys])

    def _dropped(self, lost: asyncio.Future[None]) -> None:
        # Synchronous, before any other callback: nothing is served from the store from now on.
        self._store.active = False
        self._store.flush()
        if not lost.done():
            lost.set_result(None)

    def _hello(self) -> list[str]:
        options = self._options
        hello = ["HELLO", "3"]
        if options.password is not None:
            hello += ["AUTH", options.username or "default", options.password]
        return [*hello, "SETNAME", LINK_CLIENT_NAME]

    async def _ask(self, connection: Connection, *commands: Sequence[str | int]) -> Any:
        """Send `commands` in one write, wait for every reply; the last one is returned."""
        packed = b"".join(pack(tuple(command)) for command in commands)
        if connection.closed:
            raise _Lost("connection closed")
        try:
            async with asyncio.timeout(self._timeout):
                reply = await connection.request(packed, len(commands))
        except redis_errors.ConnectionError:
            raise _Lost("connection lost") from None
        replies = reply if len(commands) > 1 else [reply]
        for reply in replies:
            if isinstance(reply, hiredis.ReplyError):
                message = str(reply)
                if message.startswith(("NOPERM", "ERR")):
                    raise _Refused(message)
                raise _Lost(message)  # LOADING, WRONGPASS...: try again later
        return replies[-1]
