"""Server-Sent Events over the hub, framed by hand (a dozen lines, see `frame`).

One response is one client: a bounded queue and one feed per watched source. Its frames are
sent by the hub's `Flusher`, which drains every client with something queued in one pass
(a burst costs one send per client, and a tick one task wake-up for all clients); a send that
has to wait is finished by the response's own task, so one send at most is in flight. A second
task waits for ``http.disconnect``; a send that fails or is cancelled ends the stream too,
which is how disconnects are noticed under ``BaseHTTPMiddleware`` (where ``is_disconnected()``
is not reliable). A send stuck for `send_timeout` seconds (a client that reads nothing) is
cancelled by the hub's housekeeping, which cuts the client off.

Before anything is sent the stream is admitted (`Hub.admit`: past a limit, `TooManyStreams`
answers 429); a stream opened with a JWT is closed at the token's expiry (`_lifetime`).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import types
from collections.abc import Generator, Sequence
from typing import Any

import anyio
from anyio import CancelScope
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..security import IDENTITY_SCOPE_KEY
from ._events import Event
from ._hub import Hub, Spec
from ._lifetime import close_at_expiry
from ._queue import ClientQueue, Feed, Flusher

__all__ = ["EventStream", "frame"]

_log = logging.getLogger("fullon.api.cache.streams")

HEARTBEAT = b": heartbeat\n\n"
# Sent first: EventSource clients wait 2 s before reconnecting, and the headers go out at once.
PREAMBLE = b"retry: 2000\n\n"
_PREFIX = {
    kind: b"event: " + kind.encode()
    for kind in ("snapshot", "update", "status", "problem", "close")
}


def frame(event: Event, seq: int) -> bytes:
    """``event:``, ``id:`` and a single ``data:`` line (msgspec's JSON has no newline)."""
    return b"%b\nid: %d\ndata: %b\n\n" % (_PREFIX[event.kind], seq, event.data)


class EventStream(Response):
    """A ``text/event-stream`` response: a snapshot per source, then their updates."""

    media_type = "text/event-stream"

    def __init__(self, hub: Hub, specs: Sequence[Spec]) -> None:
        # Like StreamingResponse: no body, so no Content-Length.
        self.hub = hub
        self.specs = list(specs)
        self.status_code = 200
        self.background = None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") == "HEAD":  # the headers only: never subscribe for a HEAD
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": b""})
            return
        # Past a stream limit this raises TooManyStreams before anything is sent: a 429.
        ticket = self.hub.admit(scope.get(IDENTITY_SCOPE_KEY), self.specs)
        try:
            await self._stream(scope, receive, send)
        finally:
            ticket.close()

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub = self.hub
        queue: ClientQueue[Event] = hub.open_queue()
        queue.label = f"SSE {scope.get('path')}"
        expiry = close_at_expiry(queue, scope)
        watches = [hub.watch(spec, Feed(queue, None)) for spec in self.specs]
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async with anyio.create_task_group() as group:
                queue.on_stall = group.cancel_scope.cancel  # the hub cuts off a stuck send
                group.start_soon(_until_disconnect, receive, group.cancel_scope)
                await _pump(_Writer(queue, send), hub.flusher)
                group.cancel_scope.cancel()
        finally:
            if expiry is not None:
                expiry.cancel()
            for watch in watches:
                watch.close()
            hub.close_queue(queue)


async def _until_disconnect(receive: Receive, scope: CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


async def _pump(writer: _Writer, flusher: Flusher) -> None:
    """Send the preamble, then let the flusher send; finish what it hands over, and the end."""
    queue = writer.queue
    if not await _send(queue, writer.send, PREAMBLE):
        return
    queue.notify = functools.partial(flusher.add, writer.flush)
    try:
        writer.schedule()  # what was queued during the preamble
        while True:
            if writer.held is not None:
                if not await writer.finish():
                    return
                writer.schedule()  # what was queued meanwhile
            elif writer.failed:
                return
            elif queue.closed is not None:
                await _end(writer, queue.closed)
                return
            else:
                await queue.park()
    finally:
        queue.notify = None
        writer.abandon()


async def _end(writer: _Writer, event: Event) -> None:
    """The last event (`close`), then the end of the body."""
    queue = writer.queue
    if b"slow_consumer" in event.data:
        _log.warning("cut off a slow client (%s): %s", queue.label, event.data.decode())
    if await _send(queue, writer.send, frame(event, writer.seq + 1)):
        await _send(queue, writer.send, b"", more=False)


class _Writer:
    """One client's frames, sent by the hub's `Flusher` calling `flush` in its own task.

    The ASGI send is stepped in place: to a healthy client it completes without waiting. A
    send that has to wait (a full socket buffer, or middleware that yields) is held for the
    response's own task to finish (`finish`), so one send at most is ever in flight, and the
    stall watchdog sees it through `sending` / `sent` exactly as before.
    """

    __slots__ = ("context", "failed", "held", "queue", "send", "seq")

    def __init__(self, queue: ClientQueue[Event], send: Send) -> None:
        self.queue = queue
        self.send = send
        self.seq = 0
        self.context = contextvars.copy_context()  # sends run in the request's context
        self.held: tuple[Generator[Any, None, Any], Any] | None = None
        self.failed = False

    def schedule(self) -> None:
        """Ask the flusher for a pass if something is queued."""
        queue = self.queue
        if len(queue) and not queue.notified and queue.notify is not None:
            queue.notified = True
            queue.notify()

    def flush(self) -> None:
        """Send everything queued as one chunk (the flusher's call)."""
        queue = self.queue
        queue.notified = False
        if self.held is not None or self.failed or queue.closed is not None:
            return  # the response's own task is sending, or ending the stream
        slots = queue.take()
        if not slots:
            return
        if len(slots) == 1:
            body = self._frame(slots[0].item)
        else:
            body = b"".join([self._frame(slot.item) for slot in slots])
        message = {"type": "http.response.body", "body": body, "more_body": True}
        steps = self.send(message).__await__()
        try:
            yielded = self.context.run(steps.send, None)
        except StopIteration:
            queue.sent()
            return
        except (Exception, asyncio.CancelledError) as exc:  # the server or a middleware says
            _log.debug("SSE send failed, the client is gone: %r", exc)  # the client is gone
            self.failed = True
        else:
            queue.sending()  # only a send still going on can stall (the watchdog's mark)
            self.held = (steps, yielded)
        queue.wake()

    def _frame(self, event: Event) -> bytes:
        if event.kind == "heartbeat":
            return HEARTBEAT
        self.seq += 1
        return frame(event, self.seq)

    async def finish(self) -> bool:
        """Finish the held send in this task; False when the client is gone."""
        assert self.held is not None
        try:
            await _resume(*self.held)
        except Exception as exc:
            _log.debug("SSE send failed, the client is gone: %r", exc)
            return False
        finally:
            self.held = None
        self.queue.sent()
        return True

    def abandon(self) -> None:
        """The response ends: a held send is closed, and later flushes do nothing."""
        self.failed = True
        held, self.held = self.held, None
        if held is not None:
            held[0].close()


@types.coroutine
def _resume(steps: Generator[Any, None, Any], yielded: Any) -> Generator[Any, None, None]:
    """Drive the rest of a send begun outside this task (what ``await`` would have done)."""
    value = yielded
    while True:
        try:
            yield value
        except GeneratorExit:
            steps.close()
            raise
        except BaseException as exc:  # e.g. this task is cancelled: the send is
            try:
                value = steps.throw(exc)
            except StopIteration:
                return
            continue
        try:
            value = steps.send(None)
        except StopIteration:
            return


async def _send(queue: ClientQueue[Any], send: Send, body: bytes, *, more: bool = True) -> bool:
    """Send one chunk; False when the client is gone (a failed send)."""
    queue.sending()
    try:
        await send({"type": "http.response.body", "body": body, "more_body": more})
    except Exception as exc:  # the server or a wrapping middleware says the client is gone
        _log.debug("SSE send failed, the client is gone: %r", exc)
        return False
    queue.sent()
    return True
