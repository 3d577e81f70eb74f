"""One WebSocket speaking the original protocol: a reader, ONE writer, and its streams.

Replies and pushes go through the socket's bounded queue to a single writer task, so nothing
ever sends on the socket concurrently. Actions are handled in order by the reader; stream
pushes come from the hub. A client that stops reading is cut off (close code 1013, with the
reason, when the close frame still gets through); the gateway shutting down closes with 1001.

Session lifecycle: a new socket whose identity (or the gateway) already holds its maximum of
streams is closed with 1013; each stream action takes an admission ticket (past a limit: an
error frame), given back when the stream ends; a socket opened with a JWT is closed with 1008
when the token expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import anyio
import msgspec
from anyio import CancelScope
from starlette.websockets import WebSocket

from .._errors import CacheAPIError, TooManyStreams
from ..security import IDENTITY_SCOPE_KEY, Authenticator, Identity, Ownership
from ._admission import Ticket
from ._calls import Call, Domain, Params, StreamStart
from ._dialects import RICH, Dialect, Frames, OriginalStart, Stream
from ._events import Event
from ._hub import Watch, hub_from
from ._lifetime import close_at_expiry
from ._protocol import INVALID_OPERATION, INVALID_PARAMS, ActionError, Request
from ._queue import ClientClosed, ClientQueue, Feed

__all__ = ["Session"]

_log = logging.getLogger("fullon.api.cache.ws")
# Try Again Later, Going Away, Policy Violation
_CLOSE_CODES = {b"slow_consumer": 1013, b"shutdown": 1001, b"token_expired": 1008}
TOO_MANY_STREAMS = "TOO_MANY_STREAMS"  # the error code of a stream action past a limit


class Session:
    """The reader, the writer and the streams of one WebSocket."""

    def __init__(
        self, websocket: WebSocket, domain: Domain, connection_id: str, dialect: Dialect = RICH
    ) -> None:
        self.websocket = websocket
        self.domain = domain
        self.connection_id = connection_id
        self.dialect = dialect  # the envelope and result shapes (see `_dialects`)
        self.hub = hub_from(websocket)
        self.queue: ClientQueue[Any] = self.hub.open_queue(heartbeats=False)
        self.queue.label = f"WebSocket {websocket.url.path} {connection_id}"
        self.streams: dict[str, list[Watch]] = {}
        self.tickets: dict[str, Ticket] = {}  # stream key -> its admission

    async def run(self) -> None:
        """Serve the socket until the client leaves or is cut off."""
        expiry = None
        try:
            await self.websocket.accept()
            if await self._refused():
                return
            expiry = close_at_expiry(self.queue, self.websocket.scope)
            async with anyio.create_task_group() as group:
                self.queue.on_stall = group.cancel_scope.cancel  # the hub cuts off a stuck send
                group.start_soon(self._write, group.cancel_scope)
                await self._read()
                group.cancel_scope.cancel()
        finally:
            if expiry is not None:
                expiry.cancel()
            for key in {*self.streams, *self.tickets}:
                self._stop(key)
            self.hub.close_queue(self.queue)

    async def _refused(self) -> bool:
        """Close a new socket with 1013 when its identity, or the gateway, holds its maximum
        of streams already: it could open none."""
        refused = self.hub.admission.refusal(self._identity())
        if refused is None:
            return False
        self.hub.admission.refused += 1
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.hub.settings.send_timeout):
                await self.websocket.close(1013, refused[:120])
        return True

    def _identity(self) -> Identity | None:
        identity: Identity | None = self.websocket.scope.get(IDENTITY_SCOPE_KEY)
        return identity

    # -- reading ---------------------------------------------------------------------------
    async def _read(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None:
                raw = (message.get("bytes") or b"").decode("utf-8", "replace")
            await self._handle(raw)

    async def _handle(self, raw: str) -> None:
        parsed = self.dialect.parse(raw)
        if isinstance(parsed, bytes):  # not a request: the error frame answering it
            self.queue.put(parsed)
            return
        request, frames = parsed
        if request.action == "unsubscribe":
            self._unsubscribe(request, frames)
            return
        handler = self.domain.actions.get(request.action)
        if handler is None:
            error = ActionError(INVALID_OPERATION, f"Operation {request.action!r} not implemented")
            self.queue.put(frames.error(request, error, self.domain.not_found))
            return
        call = Call(
            Params(request.params), self.hub.reader, self._ownership, self.hub.settings.max_symbols
        )
        try:
            result = await handler(call)
        except Exception as exc:
            if not isinstance(exc, ActionError | CacheAPIError):
                _log.exception("WebSocket action %s failed", request.action)
            self.queue.put(frames.error(request, exc, self.domain.not_found))
            return
        if isinstance(result, StreamStart):
            self._start(request, result, frames)
        else:
            self.queue.put(frames.reply(request, result))

    def _start(self, request: Request, start: StreamStart, frames: Frames) -> None:
        key = f"{self.connection_id}:{request.request_id}"
        self._stop(key)  # the same request id again replaces its stream
        if len(self.streams) >= self.hub.settings.max_streams:
            error = ActionError(
                INVALID_OPERATION, f"at most {self.hub.settings.max_streams} streams per socket"
            )
            self.queue.put(frames.error(request, error, self.domain.not_found))
            return
        ticket = self._admit(request, start, frames)
        if ticket is None:
            return
        self.tickets[key] = ticket
        self.queue.put(frames.confirmation(request, start.message, key))  # before the snapshot
        absent = start.absent if isinstance(start, OriginalStart) else list
        stream = Stream(request.request_id, key, start.update, absent)
        feed = Feed(self.queue, (stream, frames))
        self.streams[key] = [self.hub.watch(spec, feed) for spec in start.specs]

    def _admit(self, request: Request, start: StreamStart, frames: Frames) -> Ticket | None:
        """The stream's admission ticket; None (and an error frame) past a stream limit."""
        try:
            return self.hub.admit(self._identity(), start.specs)
        except TooManyStreams as exc:
            error = ActionError(TOO_MANY_STREAMS, exc.detail)
            self.queue.put(frames.error(request, error, self.domain.not_found))
            return None

    def _unsubscribe(self, request: Request, frames: Frames) -> None:
        wanted = Params(request.params).raw.get("stream_key")
        if wanted is not None and wanted not in self.streams:
            error = ActionError(INVALID_PARAMS, f"no stream {wanted!r} on this socket")
            self.queue.put(frames.error(request, error, self.domain.not_found))
            return
        keys = [wanted] if wanted is not None else list(self.streams)
        for key in keys:
            self._stop(key)
        self.queue.put(frames.reply(request, {"unsubscribed": keys}))

    def _stop(self, key: str) -> None:
        for watch in self.streams.pop(key, []):
            watch.close()
        ticket = self.tickets.pop(key, None)
        if ticket is not None:
            ticket.close()

    async def _ownership(self) -> Ownership | None:
        identity: Identity | None = self.websocket.scope.get(IDENTITY_SCOPE_KEY)
        if identity is None:
            raise ActionError(INVALID_OPERATION, "Not authenticated")
        authenticator: Authenticator = self.websocket.app.state.authenticator
        return await authenticator.ownership(identity)

    # -- writing ---------------------------------------------------------------------------
    async def _write(self, scope: CancelScope) -> None:
        """The only code that sends on the socket; ends the session when it stops."""
        queue = self.queue
        try:
            while True:
                try:
                    slots = await queue.get()
                except ClientClosed as closed:
                    await self._close(closed.event)
                    return
                for slot in slots:
                    tag: tuple[Stream, Frames] | None = slot.tag
                    texts = [slot.item] if tag is None else tag[1].pushes(tag[0], slot.item)
                    for text in texts:
                        queue.sending()
                        try:
                            await self.websocket.send(
                                {"type": "websocket.send", "text": text.decode()}
                            )
                        except Exception:  # the client is gone
                            return
                        queue.sent()
        finally:
            scope.cancel()

    async def _close(self, event: Event) -> None:
        code = next((code for reason, code in _CLOSE_CODES.items() if reason in event.data), 1011)
        if code == 1013:
            _log.warning("cut off a slow client (%s): %s", self.queue.label, event.data.decode())
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.hub.settings.send_timeout):
                await self.websocket.close(code, _reason(event))


def _reason(event: Event) -> str:
    detail = msgspec.json.decode(event.data).get("detail", "")
    return str(detail)[:120]  # a close reason is at most 123 bytes
