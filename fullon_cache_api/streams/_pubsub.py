"""The app's one Redis pub/sub connection.

Sources `acquire` a channel or pattern and `release` it; a sync task keeps the connection's
subscriptions equal to the set of topics somebody holds (SUBSCRIBE on the first holder,
UNSUBSCRIBE after the last), so 1,000 clients of one ticker cost one subscription. A reader
task dispatches messages and sends PING after `keepalive` seconds of silence; no answer within
another `keepalive` means the link is dead. When the link fails, every listener hears
`on_down` once; the link reconnects with exponential backoff, subscribes everything again and
then tells listeners `on_up` so they send fresh snapshots.

The connection is made from the client's own pool settings (``make_connection``) but is not
taken from the pool, so it never competes with request traffic; it is named
``fullon_cache_api.pubsub`` in ``CLIENT LIST``. Only SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE,
PUNSUBSCRIBE and PING are ever sent on it. Both clients' connections drive it (`LinkConnection`):
our own `_resp.Connection` and an injected redis-py client's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any, Literal, Protocol, cast

from redis import exceptions as redis_errors

from ..backend import CacheClient, stop_if_cancelled
from ..data import text
from ._settings import StreamSettings

__all__ = ["PUBSUB_CLIENT_NAME", "Listener", "PubSubLink", "Topic"]

PUBSUB_CLIENT_NAME = "fullon_cache_api.pubsub"

Topic = tuple[Literal["channel", "pattern"], str]

_log = logging.getLogger("fullon.api.cache.streams")
_FIRST_BACKOFF = 0.1
_LINK_ERRORS = (redis_errors.RedisError, OSError, TimeoutError)


class Listener(Protocol):
    """A holder of topics: told about messages and about the link going down and up."""

    def on_message(self, channel: str, data: bytes) -> None: ...

    def on_down(self, detail: str) -> None: ...

    def on_up(self) -> None: ...


class LinkConnection(Protocol):
    """What the link needs of a connection: redis-py's connection interface, in part."""

    client_name: str | None
    socket_timeout: float | None

    async def connect(self) -> None: ...

    async def send_command(self, *args: Any) -> None: ...

    async def read_response(
        self,
        disable_decoding: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109  # redis-py's signature
        *,
        disconnect_on_error: bool = True,
        push_request: bool = False,
    ) -> Any: ...

    async def disconnect(self, nowait: bool = False) -> None: ...


class PubSubLink:
    """One pub/sub connection, refcounted subscriptions, reconnect with backoff."""

    def __init__(self, redis: CacheClient, settings: StreamSettings) -> None:
        self._redis = redis
        self._settings = settings
        self._listeners: dict[Topic, set[Listener]] = {}
        self._confirmed: dict[Topic, asyncio.Event] = {}
        self._active: set[Topic] = set()  # subscribed on the current connection
        self._unacked: Counter[Topic] = Counter()  # SUBSCRIBEs sent, not yet confirmed
        self._task: asyncio.Task[None] | None = None
        self._dirty: asyncio.Event | None = None
        self._send_lock: asyncio.Lock | None = None
        self.down_detail: str | None = None  # set while the link is down
        self.connects = 0

    # -- holders --------------------------------------------------------------------------
    def acquire(self, topic: Topic, listener: Listener) -> None:
        """Hold `topic` for `listener`; the first holder makes the link subscribe to it."""
        self._listeners.setdefault(topic, set()).add(listener)
        self._confirmed.setdefault(topic, asyncio.Event())
        self._start().set()

    def release(self, topic: Topic, listener: Listener) -> None:
        """Stop holding `topic`; after the last holder the link unsubscribes from it."""
        holders = self._listeners.get(topic)
        if holders is None:
            return
        holders.discard(listener)
        if not holders:
            del self._listeners[topic]
            if self._dirty is not None:
                self._dirty.set()

    async def confirmed(self, topic: Topic) -> None:
        """Wait until Redis confirmed the subscription to `topic` on a live connection."""
        event = self._confirmed.get(topic)
        if event is not None:
            await event.wait()

    def counts(self) -> tuple[int, int]:
        """Channels and patterns subscribed on the current connection."""
        channels = sum(1 for kind, _ in self._active if kind == "channel")
        return channels, len(self._active) - channels

    async def aclose(self) -> None:
        """Stop the link and close its connection."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._listeners.clear()
        self._confirmed.clear()

    # -- the link task --------------------------------------------------------------------
    def _start(self) -> asyncio.Event:
        if self._dirty is None or self._send_lock is None:
            self._dirty = asyncio.Event()
            self._send_lock = asyncio.Lock()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="fullon-cache-api-pubsub")
        return self._dirty

    async def _run(self) -> None:
        backoff = _FIRST_BACKOFF
        while True:
            if not self._listeners:
                assert self._dirty is not None
                self._dirty.clear()
                await self._dirty.wait()
                continue
            try:
                conn = await self._connect()
            except _LINK_ERRORS as exc:
                stop_if_cancelled()
                self._fail(f"cannot connect to Redis: {exc}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._settings.max_backoff)
                continue
            backoff = _FIRST_BACKOFF
            try:
                await self._serve(conn)
            except _LINK_ERRORS as exc:
                stop_if_cancelled()
                self._fail(f"lost the Redis pub/sub connection: {exc}")
            finally:
                with contextlib.suppress(*_LINK_ERRORS):
                    await conn.disconnect(nowait=True)
            await asyncio.sleep(backoff)

    async def _connect(self) -> LinkConnection:
        conn = cast(LinkConnection, self._redis.connection_pool.make_connection())
        conn.client_name = PUBSUB_CLIENT_NAME
        # No socket timeout: reads pass their own (keepalive), and redis-py then sends without
        # wrapping the send in wait_for, which cannot be safely cancelled on Python 3.11.
        conn.socket_timeout = None
        try:
            async with asyncio.timeout(self._settings.max_backoff + 5.0):
                await conn.connect()
        except BaseException:
            with contextlib.suppress(*_LINK_ERRORS):
                await conn.disconnect(nowait=True)
            raise
        # Skip redis-py's default push handler: it formats a debug line for every message.
        set_handler = getattr(getattr(conn, "_parser", None), "set_pubsub_push_handler", None)
        if set_handler is not None:
            set_handler(_as_is)
        self.connects += 1
        return conn

    async def _serve(self, conn: LinkConnection) -> None:
        """Subscribe everything, announce the link is up, then read and sync until it fails."""
        self._active.clear()
        self._unacked.clear()
        await self._sync(conn)
        if self.down_detail is not None:
            self.down_detail = None
            _log.warning(
                "pub/sub link to Redis is up again; resubscribed %d topics", len(self._active)
            )
            for listener in self._all_listeners():
                listener.on_up()
        tasks = [
            asyncio.create_task(self._read(conn), name="fullon-cache-api-pubsub-read"),
            asyncio.create_task(self._sync_forever(conn), name="fullon-cache-api-pubsub-sync"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raises the link error
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _sync_forever(self, conn: LinkConnection) -> None:
        assert self._dirty is not None
        while True:
            await self._dirty.wait()
            await self._sync(conn)

    async def _sync(self, conn: LinkConnection) -> None:
        """Make the connection's subscriptions equal to the topics somebody holds."""
        assert self._dirty is not None and self._send_lock is not None
        self._dirty.clear()
        wanted = set(self._listeners)
        added, dropped = wanted - self._active, self._active - wanted
        # Book-keeping before sending: a confirmation may be read while the send yields.
        self._active = wanted
        self._unacked.update(added)
        for topic in dropped:  # a new holder will wait for a new confirmation
            self._confirmed.pop(topic, None)
        commands = [
            ("SUBSCRIBE", _names(added, "channel")),
            ("PSUBSCRIBE", _names(added, "pattern")),
            ("UNSUBSCRIBE", _names(dropped, "channel")),
            ("PUNSUBSCRIBE", _names(dropped, "pattern")),
        ]
        async with self._send_lock:
            for command, names in commands:
                if names:  # with no names, UNSUBSCRIBE would drop everything
                    await conn.send_command(command, *names)

    async def _read(self, conn: LinkConnection) -> None:
        assert self._send_lock is not None
        ping_pending = False
        while True:
            # push_request: over RESP3 (redis-py's default from 8.0) messages are pushes.
            reply = await conn.read_response(
                timeout=self._settings.keepalive, disconnect_on_error=False, push_request=True
            )
            if reply is None:  # silence: probe the link, and give up after a second silence
                if ping_pending:
                    raise redis_errors.ConnectionError("no answer to PING")
                async with self._send_lock:
                    await conn.send_command("PING")
                ping_pending = True
                continue
            ping_pending = False
            self._dispatch(reply)

    def _dispatch(self, reply: Any) -> None:
        if not isinstance(reply, list) or len(reply) < 2:
            return  # a PONG outside subscribed mode
        kind = text(reply[0])
        if kind == "pmessage" and len(reply) == 4:
            self._deliver(("pattern", text(reply[1])), text(reply[2]), reply[3])
        elif kind == "message" and len(reply) == 3:
            self._deliver(("channel", text(reply[1])), text(reply[1]), reply[2])
        elif kind in {"subscribe", "psubscribe"}:
            topic: Topic = ("channel" if kind == "subscribe" else "pattern", text(reply[1]))
            self._acknowledge(topic)

    def _acknowledge(self, topic: Topic) -> None:
        self._unacked[topic] -= 1
        if self._unacked[topic] > 0:
            return
        del self._unacked[topic]
        event = self._confirmed.get(topic)
        if event is not None and topic in self._active:
            event.set()

    def _deliver(self, topic: Topic, channel: str, data: bytes) -> None:
        for listener in list(self._listeners.get(topic, ())):
            try:
                listener.on_message(channel, data)
            except Exception:  # one faulty source must not take the link down
                _log.exception("stream source failed on a message of %s", channel)

    def _fail(self, detail: str) -> None:
        self._active.clear()
        self._unacked.clear()
        self._confirmed = {
            topic: event for topic, event in self._confirmed.items() if topic in self._listeners
        }
        for event in self._confirmed.values():
            event.clear()
        if self.down_detail is None:
            self.down_detail = detail
            _log.warning("pub/sub link down (%s); reconnecting with backoff", detail)
            for listener in self._all_listeners():
                listener.on_down(detail)

    def _all_listeners(self) -> list[Listener]:
        return list({listener for holders in self._listeners.values() for listener in holders})


async def _as_is(response: Any) -> Any:
    return response


def _names(topics: set[Topic], kind: str) -> list[str]:
    return sorted(name for topic_kind, name in topics if topic_kind == kind)
