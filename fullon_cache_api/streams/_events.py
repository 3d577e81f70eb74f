"""What streams carry: `Event` (encoded once, shared by every client) and its payload Structs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import msgspec

from ..structs.streams import CloseReason, StreamClosed, StreamStatus

__all__ = [
    "HEARTBEAT",
    "NULL",
    "CloseReason",
    "Event",
    "ProcessBroadcast",
    "StreamClosed",
    "StreamStatus",
    "encode",
    "status_event",
]

encode = msgspec.json.Encoder().encode

# The payload of a snapshot of a key that is not in the cache (yet).
NULL = b"null"

# Event kinds: `snapshot` (the current value; JSON null when the key is absent), `update` (a
# change), `status` (the Redis link behind the stream), `problem` (a stored value that does not
# decode, as an RFC 9457 document; the stream goes on), `close` (the last event); and
# `heartbeat`, sent as an SSE comment to keep an idle connection open.
Kind = Literal["snapshot", "update", "status", "problem", "close", "heartbeat"]


@dataclass(frozen=True, slots=True)
class Event:
    """One event: its kind, its JSON payload, and a key under which newer values replace older
    ones still queued for a slow client (tickers conflate per symbol)."""

    kind: Kind
    data: bytes
    key: str | None = None


class ProcessBroadcast(msgspec.Struct, frozen=True, kw_only=True):
    """A message published by fullon_cache's ``ProcessCache.broadcast_message``."""

    process_type: str
    message: str | None
    data: Any
    timestamp: datetime | None


HEARTBEAT = Event("heartbeat", b"")


def status_event(state: Literal["live", "reconnecting"], detail: str) -> Event:
    """A `status` event."""
    return Event("status", encode(StreamStatus(state=state, detail=detail)))
