"""`Exchange`: the gateway's one wrapper of ``send`` for an HTTP request.

It records what the middleware needs after the answer (the status, whether it was an event
stream, whether anything was sent), and puts a `Responder` (ETag, 304, gzip) in front of
answers that did not negotiate HTTP caching themselves.
"""

from __future__ import annotations

from starlette.types import Message, Scope, Send

from ._http_cache import DONE, HTTP_CACHE_SCOPE_KEY, Responder, wants_responder

__all__ = ["Exchange", "is_event_stream"]


class Exchange:
    """The one wrapper of ``send``: it sees the status, whether the answer is an event
    stream, and puts a `Responder` in front of answers that did not negotiate caching."""

    __slots__ = ("downstream", "responder", "scope", "started", "status", "streamed")

    def __init__(self, scope: Scope, send: Send) -> None:
        self.scope = scope
        self.downstream = send
        self.responder: Responder | None = None
        self.started = False
        self.status = 500  # what is logged when nothing was sent (an unexpected error)
        self.streamed = False

    async def send(self, message: Message) -> None:
        if self.responder is not None:
            await self.responder.send(message)
            return
        if message["type"] == "http.response.start":
            self.started = True
            self.status = message["status"]
            if self.scope.get(HTTP_CACHE_SCOPE_KEY) != DONE:
                if is_event_stream(message):
                    self.streamed = True
                elif wants_responder(message):
                    self.responder = Responder(self.scope, self._forward)
                    await self.responder.send(message)
                    return
        await self.downstream(message)

    async def _forward(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]  # a 304 once validated
        await self.downstream(message)


def is_event_stream(start: Message) -> bool:
    """Whether a response start announces ``text/event-stream`` (a stream: no caching)."""
    for name, value in start.get("headers", []):
        if name.lower() == b"content-type":
            return bytes(value).startswith(b"text/event-stream")
    return False
