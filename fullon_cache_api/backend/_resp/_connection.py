"""One Redis connection: an `asyncio.Protocol` feeding a `hiredis.Reader` (RESP2).

Requests are written at once and their replies matched to them in order (a FIFO of
`_Pending`), so a connection never needs a task of its own. A caller cancelled while waiting
leaves its entry in the FIFO: the reply is still read when it comes, then dropped, and the
replies behind it go to their own callers. A reply later than `socket_timeout` closes the
connection (aborted: nothing late can be misread) and fails every request on it with
`redis.exceptions.TimeoutError`.

The same class is the hub's pub/sub link (`send_command` / `read_response`): replies that no
request waits for are kept in an inbox for `read_response`, in subscriber mode only.

And the near cache's invalidation link, which opts in to two things: `connect(handshake=False)`
dials only (the link sends its own RESP3 ``HELLO 3`` with ``CLIENT TRACKING`` in one round
trip), and `on_push` receives RESP3 push replies synchronously, inside `data_received`, before
any reply read after them reaches its caller. `on_lost` runs first thing in `connection_lost`,
before any waiting request fails.

hiredis's reader grows its buffer to the largest reply it parsed and frees it only on a later
feed; after `_RESET_AFTER` bytes the reader is replaced as soon as every requested reply has
been read (nothing is half-parsed then), so an idle pooled connection never keeps a big
reply's buffer (50 MB for a 50 MB value) alive.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, cast

import hiredis
from redis import exceptions as redis_errors

from ..._redis_url import Options
from ._replies import reply_error

__all__ = ["ClosedByServer", "Connection", "pack", "reply_error"]

_RESET_AFTER = 1024 * 1024


class ClosedByServer(redis_errors.ConnectionError):
    """The server closed the connection (restart, kill, idle timeout): worth one retry."""


def pack(args: tuple[Any, ...]) -> bytes:
    """One command in RESP; a value Redis cannot take is redis-py's DataError."""
    try:
        packed: bytes = hiredis.pack_command(args)
    except TypeError as exc:
        raise redis_errors.DataError(str(exc)) from None
    return packed


class _Pending:
    """A request on the wire: `count` replies expected, delivered together to `future`."""

    __slots__ = ("count", "future", "replies", "timer")

    def __init__(self, future: asyncio.Future[Any], count: int) -> None:
        self.future = future
        self.count = count
        self.replies: list[Any] = []
        self.timer: asyncio.TimerHandle | None = None


class Connection(asyncio.Protocol):
    """A connection to the Redis of `options`; `connect()` dials it and sets the session up."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.client_name = options.client_name  # the pub/sub link renames its connection
        self.socket_timeout = options.socket_timeout
        self.closed = False
        self._transport: asyncio.Transport | None = None
        self._reader = hiredis.Reader()
        self._fed = 0  # bytes fed to `_reader`
        self._pending: deque[_Pending] = deque()
        self._inbox: deque[Any] = deque()  # subscriber mode: replies nobody requested
        self._inbox_waiter: asyncio.Future[None] | None = None
        self._subscriber = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.on_lost: Callable[[Connection], None] | None = None  # the pool forgets it
        # RESP3 pushes (after HELLO 3); without it a push is read as a reply, as RESP2 has none.
        self.on_push: Callable[[Any], None] | None = None

    # -- set-up -----------------------------------------------------------------------------
    async def connect(self, *, handshake: bool = True) -> None:
        """Dial, then AUTH / SELECT / CLIENT SETNAME in one round trip (only those needed);
        without `handshake` the caller sets the session up itself."""
        options = self.options
        self._loop = loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(options.connect_timeout):
                if options.path is not None:
                    await loop.create_unix_connection(lambda: self, options.path, ssl=options.ssl)
                else:
                    await loop.create_connection(
                        lambda: self, options.host, options.port, ssl=options.ssl
                    )
        except TimeoutError:
            self.abort()
            raise redis_errors.TimeoutError(f"Timeout connecting to {options.address}") from None
        except OSError as exc:
            self.abort()
            raise redis_errors.ConnectionError(
                f"Error {exc.errno} connecting to {options.address}. {exc.strerror or exc}."
            ) from exc
        if not handshake:
            return
        try:
            await self._handshake()
        except BaseException:
            self.abort()
            raise

    async def _handshake(self) -> None:
        options = self.options
        commands: list[tuple[Any, ...]] = []
        if options.password is not None:
            credentials = (options.username, options.password) if options.username else ()
            commands.append(("AUTH", *(credentials or (options.password,))))
        if options.db:
            commands.append(("SELECT", options.db))
        if self.client_name:
            commands.append(("CLIENT", "SETNAME", self.client_name))
        if not commands:
            return
        async with asyncio.timeout(options.connect_timeout):
            replies = await self.request(b"".join(map(pack, commands)), len(commands))
        for reply in replies if len(commands) > 1 else [replies]:
            if isinstance(reply, hiredis.ReplyError):
                raise reply_error(reply)

    # -- requests ---------------------------------------------------------------------------
    def request(self, packed: bytes, count: int) -> asyncio.Future[Any]:
        """Write `packed` (`count` commands); the future gets the reply, or the list of them."""
        if self.closed or self._transport is None:
            raise ClosedByServer(f"Connection to {self.options.address} is closed.")
        loop = self._loop or asyncio.get_running_loop()
        pending = _Pending(loop.create_future(), count)
        if self.socket_timeout is not None:
            pending.timer = loop.call_later(self.socket_timeout, self._timed_out)
        self._pending.append(pending)
        self._transport.write(packed)
        return pending.future

    def _timed_out(self) -> None:
        error = redis_errors.TimeoutError(f"Timeout reading from {self.options.address}")
        self._shut(error)
        if self._transport is not None:
            self._transport.abort()

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        self._fed += len(data)
        pending = self._pending
        while True:
            try:
                reply = reader.gets()
            except hiredis.ProtocolError as exc:
                self._broken(f"Protocol error from {self.options.address}: {exc}")
                return
            if reply is False:
                # Every reply requested was read and nothing is buffered: no reply is half
                # parsed (the reader's own `has_data` misses a half-read array), so a fresh
                # reader loses nothing, and the old one's buffer goes.
                idle = not pending and not self._subscriber and not reader.has_data()
                if idle and self._fed > _RESET_AFTER:
                    self._reader, self._fed = hiredis.Reader(), 0
                return
            if self.on_push is not None and type(reply) is hiredis.PushNotification:
                self.on_push(reply)  # now, not in a task: its effect precedes the next reply
                continue
            if not pending:
                self._unrequested(reply)
                continue
            head = pending[0]
            if head.count != 1:
                head.replies.append(reply)
                if len(head.replies) < head.count:
                    continue
                reply = head.replies
            pending.popleft()
            if head.timer is not None:
                head.timer.cancel()
            if not head.future.done():  # done: its caller was cancelled; the reply is dropped
                head.future.set_result(reply)

    def eof_received(self) -> bool | None:
        self.closed = True  # no request is written after the server said goodbye
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.on_lost is not None:  # first: the near cache stops serving before anyone wakes
            self.on_lost(self)
        self._shut(ClosedByServer(f"Connection closed by server ({self.options.address})."))

    def _unrequested(self, reply: Any) -> None:
        if not self._subscriber:  # out of step with our requests: never guess, drop the link
            self._broken(f"Unexpected reply from {self.options.address}")
            return
        self._inbox.append(reply)
        self._wake_reader()

    def _broken(self, detail: str) -> None:
        self._shut(redis_errors.ConnectionError(detail))
        if self._transport is not None:
            self._transport.abort()

    def _shut(self, error: Exception) -> None:
        """Mark closed and fail every request still waiting (the first error wins)."""
        self.closed = True
        while self._pending:
            pending = self._pending.popleft()
            if pending.timer is not None:
                pending.timer.cancel()
            if not pending.future.done():
                pending.future.set_exception(error)
        self._wake_reader()

    def _wake_reader(self) -> None:
        waiter = self._inbox_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- subscriber mode (the hub's pub/sub link; redis-py's connection interface) -----------
    async def send_command(self, *args: Any) -> None:
        """Write one command whose replies `read_response` returns (subscriber mode)."""
        if self.closed or self._transport is None:
            raise ClosedByServer(f"Connection to {self.options.address} is closed.")
        self._subscriber = True
        self._transport.write(pack(args))

    async def read_response(
        self,
        disable_decoding: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109  # redis-py's signature
        *,
        disconnect_on_error: bool = True,
        push_request: bool = False,
    ) -> Any:
        """The next unrequested reply; None when `timeout` passes first."""
        if not self._inbox and not self.closed:
            waiter = self._inbox_waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await waiter
            except TimeoutError:
                return None
            finally:
                self._inbox_waiter = None
        if not self._inbox:
            raise ClosedByServer(f"Connection closed by server ({self.options.address}).")
        reply = self._inbox.popleft()
        if isinstance(reply, hiredis.ReplyError):
            raise reply_error(reply)
        return reply

    async def disconnect(self, nowait: bool = False) -> None:
        """Close the connection (requests still waiting fail)."""
        self.abort()

    def abort(self) -> None:
        """Close at once: whatever is in flight is lost, so the connection is never reused."""
        self._shut(redis_errors.ConnectionError(f"Connection to {self.options.address} closed."))
        if self._transport is not None:
            self._transport.abort()
