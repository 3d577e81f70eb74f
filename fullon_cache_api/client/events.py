"""What a stream yields: `Snapshot`, `Update`, `Status`, `Problem`, and `Close` (the last).

The gateway's framing (see the README's "Server-Sent Events"): a stream opens with
``retry: 2000``; then each event has ``event:`` (its kind), ``id:`` (its rank in the stream)
and one ``data:`` line of JSON; ``: heartbeat`` comments keep an idle connection open.
A ``snapshot`` comes first, and again after every reconnection; it is ``null`` when the key is
not cached. ``status`` tells of the gateway's Redis link; a `Status` with ``source="client"``
is this client's own: the connection dropped and it is reconnecting (a fresh snapshot follows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

import msgspec

__all__ = [
    "Close",
    "Event",
    "Problem",
    "ProcessBroadcast",
    "Snapshot",
    "Status",
    "StreamClosed",
    "StreamStatus",
    "Update",
]

S = TypeVar("S")
U = TypeVar("U")


class StreamStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The ``data:`` of a ``status`` event (the gateway's `StreamStatus`)."""

    state: Literal["live", "reconnecting"]
    detail: str


class StreamClosed(msgspec.Struct, frozen=True, kw_only=True):
    """The ``data:`` of a ``close`` event (the gateway's `StreamClosed`)."""

    reason: str  # slow_consumer, shutdown, token_expired (a newer gateway may add some)
    detail: str


class ProcessBroadcast(msgspec.Struct, frozen=True, kw_only=True):
    """An update of ``/processes/stream``: a message of fullon_cache's ``broadcast_message``."""

    process_type: str
    message: str | None
    data: Any
    timestamp: datetime | None


@dataclass(frozen=True, slots=True)
class Snapshot(Generic[S]):
    """The current value (None when the key is not cached); first, and after a reconnection."""

    data: S | None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Update(Generic[U]):
    """A change: the new value (a whole answer, or one ticker / broadcast)."""

    data: U
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Status:
    """`reconnecting` (updates paused) or `live` again. `source`: ``gateway`` when the
    gateway lost its Redis link, ``client`` when this client lost the gateway."""

    state: Literal["live", "reconnecting"]
    detail: str
    source: Literal["gateway", "client"] = "gateway"
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """A stored value did not decode (an RFC 9457 document); the stream goes on."""

    problem: dict[str, Any]
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Close:
    """The gateway ended the stream: `reason` is ``shutdown``, ``slow_consumer`` or
    ``token_expired``. The last event: the stream does not reconnect after it."""

    reason: str
    detail: str
    id: int | None = None


Event = Snapshot[S] | Update[U] | Status | Problem | Close
