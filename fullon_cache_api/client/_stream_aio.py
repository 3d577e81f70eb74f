"""An SSE stream of `AsyncCacheClient`: typed events, reconnecting after a dropped connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

import httpx

from ._reconnect import HEADERS, Drop, Reconnecting, drop_of, reopen
from ._request import Request
from ._sse import SseParser, decode_event
from .errors import error_from_response
from .events import Close, Problem, Snapshot, Status, Update

if TYPE_CHECKING:
    from ._session import AsyncSession

__all__ = ["AsyncStream"]

S = TypeVar("S")
U = TypeVar("U")


class AsyncStream(Generic[S, U]):
    """``async for event in stream``: `Snapshot`, `Update`, `Status`, `Problem`, and `Close`
    (then the iteration ends; `closed` keeps it). Use it as ``async with`` to close the
    connection when leaving early."""

    def __init__(self, client: AsyncSession, request: Request[S], update: type[U]) -> None:
        self.client = client
        self.request = request
        self.update = update
        self.closed: Close | None = None
        self.reconnections = 0
        self.heartbeats = 0
        self._events: AsyncGenerator[Event[S, U], None] | None = None

    def __aiter__(self) -> AsyncIterator[Event[S, U]]:
        if self._events is None:
            self._events = self._run()
        return self._events

    async def __aenter__(self) -> AsyncStream[S, U]:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection (the iteration ends)."""
        if self._events is not None:
            await self._events.aclose()

    async def _run(self) -> AsyncGenerator[Event[S, U], None]:
        state = Reconnecting(self.client.reconnect)
        while True:
            try:
                async with contextlib.aclosing(self._connection(state)) as events:
                    async for event in events:
                        yield event
                        if isinstance(event, Close):
                            self.closed = event
                            return
                drop = Drop("the gateway ended the stream without a close event")
            except httpx.TransportError as exc:
                drop = drop_of(exc)
            self.reconnections += 1
            drop, delay = state.failed(drop)  # raises when no more attempts are allowed
            yield reopen(drop, delay)
            await asyncio.sleep(delay)

    async def _connection(self, state: Reconnecting) -> AsyncGenerator[Event[S, U], None]:
        client, request = self.client, self.request
        async with client.http.stream(
            "GET",
            request.path,
            params=request.params,
            headers=HEADERS,
            timeout=client.stream_timeout,
        ) as response:
            if response.status_code != 200:
                state.refused(error_from_response(response, await response.aread()))
                return
            parser = SseParser()
            async for line in response.aiter_lines():
                raw = parser.feed(line)
                self.heartbeats = parser.comments
                event = raw and decode_event(raw, request.response, self.update)
                if event:
                    if isinstance(event, Snapshot):
                        state.connected()
                    yield event


Event = Snapshot[S] | Update[U] | Status | Problem | Close
