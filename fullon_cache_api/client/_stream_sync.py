"""An SSE stream of `CacheClient`: typed events, reconnecting after a dropped connection."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Generator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

import httpx

from ._reconnect import HEADERS, Drop, Reconnecting, drop_of, reopen
from ._request import Request
from ._sse import SseParser, decode_event
from .errors import error_from_response
from .events import Close, Problem, Snapshot, Status, Update

if TYPE_CHECKING:
    from ._session import SyncSession

__all__ = ["SyncStream"]

S = TypeVar("S")
U = TypeVar("U")


class SyncStream(Generic[S, U]):
    """``for event in stream``: `Snapshot`, `Update`, `Status`, `Problem`, and `Close` (then
    the iteration ends; `closed` keeps it). Use it as ``with`` to close the connection when
    leaving early."""

    def __init__(self, client: SyncSession, request: Request[S], update: type[U]) -> None:
        self.client = client
        self.request = request
        self.update = update
        self.closed: Close | None = None
        self.reconnections = 0
        self.heartbeats = 0
        self._events: Generator[Event[S, U], None, None] | None = None

    def __iter__(self) -> Iterator[Event[S, U]]:
        if self._events is None:
            self._events = self._run()
        return self._events

    def __enter__(self) -> SyncStream[S, U]:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (the iteration ends)."""
        if self._events is not None:
            self._events.close()

    def _run(self) -> Generator[Event[S, U], None, None]:
        state = Reconnecting(self.client.reconnect)
        while True:
            try:
                with contextlib.closing(self._connection(state)) as events:
                    for event in events:
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
            time.sleep(delay)

    def _connection(self, state: Reconnecting) -> Generator[Event[S, U], None, None]:
        client, request = self.client, self.request
        with client.http.stream(
            "GET",
            request.path,
            params=request.params,
            headers=HEADERS,
            timeout=client.stream_timeout,
        ) as response:
            if response.status_code != 200:
                state.refused(error_from_response(response, response.read()))
                return
            parser = SseParser()
            for line in response.iter_lines():
                raw = parser.feed(line)
                self.heartbeats = parser.comments
                event = raw and decode_event(raw, request.response, self.update)
                if event:
                    if isinstance(event, Snapshot):
                        state.connected()
                    yield event


Event = Snapshot[S] | Update[U] | Status | Problem | Close
