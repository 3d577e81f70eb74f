"""Server-Sent Events over the hub, framed by hand (a dozen lines, see `frame`).

One response is one client: a bounded queue, one feed per watched source, and one writer (this
response's own task) that drains the queue in batches, so a burst costs one send. A second task
waits for ``http.disconnect``; a send that fails or is cancelled ends the stream too, which is
how disconnects are noticed under ``BaseHTTPMiddleware`` (where ``is_disconnected()`` is not
reliable). A send stuck for `send_timeout` seconds (a client that reads nothing) is cancelled
by the hub's housekeeping, which cuts the client off.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import anyio
from anyio import CancelScope
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ._events import Event
from ._hub import Hub, Spec
from ._queue import ClientClosed, ClientQueue, Feed

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
        hub = self.hub
        queue: ClientQueue[Event] = hub.open_queue()
        queue.label = f"SSE {scope.get('path')}"
        watches = [hub.watch(spec, Feed(queue, None)) for spec in self.specs]
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async with anyio.create_task_group() as group:
                queue.on_stall = group.cancel_scope.cancel  # the hub cuts off a stuck send
                group.start_soon(_until_disconnect, receive, group.cancel_scope)
                await _pump(queue, send, scope)
                group.cancel_scope.cancel()
        finally:
            for watch in watches:
                watch.close()
            hub.close_queue(queue)


async def _until_disconnect(receive: Receive, scope: CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


async def _pump(queue: ClientQueue[Event], send: Send, scope: Scope) -> None:
    """Send batches until the client leaves or the queue is closed (cut-off, shutdown)."""
    seq = 0
    body = PREAMBLE
    while await _send(queue, send, body):
        try:
            slots = await queue.get()
        except ClientClosed as closed:
            if b"slow_consumer" in closed.event.data:
                _log.warning("cut off a slow client (%s): %s", queue.label, closed)
            if await _send(queue, send, frame(closed.event, seq + 1)):
                await _send(queue, send, b"", more=False)
            return
        chunks = []
        for slot in slots:
            event: Event = slot.item
            if event.kind == "heartbeat":
                chunks.append(HEARTBEAT)
            else:
                seq += 1
                chunks.append(frame(event, seq))
        body = b"".join(chunks)


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
