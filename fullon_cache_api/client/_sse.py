"""Server-Sent Events parsing (the WHATWG framing, line by line) and typed decoding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from .events import Close, Problem, Snapshot, Status, StreamClosed, StreamStatus, Update

__all__ = ["RawEvent", "SseParser", "decode_event"]

S = TypeVar("S")
U = TypeVar("U")


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One event as framed: its kind (``message`` when unnamed), data and id."""

    event: str
    data: str
    id: str | None


class SseParser:
    """Feed it lines (without their ending); it returns an event at each blank line."""

    def __init__(self) -> None:
        self.comments = 0  # heartbeats seen
        self.retry: int | None = None  # the server's reconnection time (ms), if it sent one
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str) -> RawEvent | None:
        """The event `line` completes, if it completes one."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self.retry = int(value)
        return None

    def _dispatch(self) -> RawEvent | None:
        event, data = self._event or "message", self._data
        self._event, self._data = "", []
        if not data:
            return None
        return RawEvent(event, "\n".join(data), self._id)


def decode_event(
    raw: RawEvent, snapshot: type[S], update: type[U]
) -> Snapshot[S] | Update[U] | Status | Problem | Close | None:
    """The typed event of `raw` (None for a kind this client does not know)."""
    rank = int(raw.id) if raw.id is not None and raw.id.isdigit() else None
    data = raw.data.encode()
    if raw.event == "snapshot":
        value = None if raw.data == "null" else msgspec.json.decode(data, type=snapshot)
        return Snapshot(value, rank)
    if raw.event == "update":
        return Update(msgspec.json.decode(data, type=update), rank)
    if raw.event == "status":
        status = msgspec.json.decode(data, type=StreamStatus)
        return Status(status.state, status.detail, "gateway", rank)
    if raw.event == "problem":
        return Problem(msgspec.json.decode(data, type=dict[str, Any]), rank)
    if raw.event == "close":
        closed = msgspec.json.decode(data, type=StreamClosed)
        return Close(closed.reason, closed.detail, rank)
    return None
