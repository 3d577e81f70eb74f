"""What each stream watches: the two kinds of spec, and the pub/sub specs (tickers, process
broadcasts). The poll specs are in `_polled`.

A spec is a frozen dataclass, so it is its own key: clients asking for equal specs share one
source. Channel specs name the channel or pattern, load the snapshot and decode a message
once for every client. Poll specs `probe` the raw state with read commands only (its digest
decides whether anything changed) and `load` the value through the same readers as HTTP. A
poll spec's `source` is what its poller reads, nothing of the caller: streams that differ only
in a limit share one poller, and each sees its `view` of the value the poller loaded once.

A spec over a key that may be big keeps state between polls (`polling`): its probe reads a
bounded part of the key per interval (see `_probes`), its load only what changed where it can.
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .._errors import CorruptEntry, NotFound
from ..backend import CacheClient
from ..data import (
    CacheReader,
    Undecodable,
    decode,
    decode_ticker,  # one decoder for stored and published tickers
    to_datetime,
)
from ._events import NULL, Event, ProcessBroadcast, encode
from ._pubsub import Topic

__all__ = [
    "ChannelSpec",
    "PollSpec",
    "Polling",
    "ProcessBroadcasts",
    "TickerExchange",
    "TickerSymbol",
    "load_event",
]

_GLOB = re.compile(r"([\\*?\[\]])")


async def load_event(load: Callable[[], Awaitable[Any]]) -> Event:
    """A snapshot of `load()`: JSON null when absent, a `problem` when the entry is corrupt.

    CacheUnavailable / CacheTimeout propagate: the caller retries after a reconnect.
    """
    try:
        value = await load()
    except NotFound:
        return Event("snapshot", NULL)
    except CorruptEntry as exc:
        return Event("problem", encode(exc.problem()))
    return Event("snapshot", encode(value))


class ChannelSpec(ABC):
    """A stream fed by Redis pub/sub."""

    @property
    @abstractmethod
    def topic(self) -> Topic:
        """The channel or pattern to hold."""

    @abstractmethod
    async def snapshot(self, reader: CacheReader) -> Event:
        """The current value (see `load_event`)."""

    @abstractmethod
    def decode(self, channel: str, data: bytes) -> Event | None:
        """The update a message carries; None for a message that does not decode."""


class PollSpec(ABC):
    """A stream fed by a shared poller (the domain is not published by fullon_cache).

    The hub keeps one poller per `source`: the spec of what is read from Redis. A spec that
    carries the caller's rights or a limit names a source without them, and narrows the
    source's value in `view` when it is delivered, in memory.
    """

    @property
    def source(self) -> PollSpec:
        """The spec of the poller serving this stream (its key in the hub): the spec itself
        unless it carries something of the caller."""
        return self

    async def probe(self, redis: CacheClient) -> bytes:
        """The raw state, read with read commands only; equal bytes mean nothing changed.
        (A spec whose `polling` keeps state has no stateless probe.)"""
        raise NotImplementedError

    @abstractmethod
    async def load(self, reader: CacheReader) -> Any:
        """The value clients receive, read through the data layer (NotFound when absent)."""

    def polling(self, reader: CacheReader, entries: int) -> Polling:
        """What this source's poller runs each interval: by default `probe` and `load`. A spec
        over a key that may be big returns one keeping state between polls, reading at most
        `entries` entries of the key per probe."""
        return Polling(self.probe, self.load)

    def view(self, shared: Any) -> Any:
        """What this stream's clients see of `shared`, the value its `source` loaded (raise
        NotFound for nothing). Runs without I/O, once per distinct view and change."""
        return shared


class Polling:
    """The probe and load one poller runs, with whatever state they keep between polls."""

    def __init__(
        self,
        probe: Callable[[CacheClient], Awaitable[bytes]],
        load: Callable[[CacheReader], Awaitable[Any]],
    ) -> None:
        self.probe = probe
        self.load = load


# -- pub/sub ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TickerSymbol(ChannelSpec):
    """One ticker: SUBSCRIBE ``ticker_updates:{exchange}:{symbol}``; snapshot HGET."""

    exchange: str
    symbol: str

    @property
    def topic(self) -> Topic:
        return ("channel", f"ticker_updates:{self.exchange}:{self.symbol}")

    async def snapshot(self, reader: CacheReader) -> Event:
        return await load_event(lambda: reader.tickers.one(self.exchange, self.symbol))

    def decode(self, channel: str, data: bytes) -> Event | None:
        return _ticker_update(self.exchange, self.symbol, data)


@dataclass(frozen=True)
class TickerExchange(ChannelSpec):
    """Every ticker of an exchange: PSUBSCRIBE ``ticker_updates:{exchange}:*``; snapshot
    HGETALL. The exchange is glob-escaped in the pattern (the path pattern forbids globs too)."""

    exchange: str

    @property
    def topic(self) -> Topic:
        escaped = _GLOB.sub(r"\\\1", self.exchange)
        return ("pattern", f"ticker_updates:{escaped}:*")

    async def snapshot(self, reader: CacheReader) -> Event:
        return await load_event(lambda: reader.tickers.all(self.exchange))

    def decode(self, channel: str, data: bytes) -> Event | None:
        prefix = f"ticker_updates:{self.exchange}:"
        if not channel.startswith(prefix) or len(channel) == len(prefix):
            return None
        return _ticker_update(self.exchange, channel[len(prefix) :], data)


@dataclass(frozen=True)
class ProcessBroadcasts(ChannelSpec):
    """Process broadcasts: PSUBSCRIBE ``process:broadcast:*``; snapshot = active processes."""

    @property
    def topic(self) -> Topic:
        return ("pattern", "process:broadcast:*")

    async def snapshot(self, reader: CacheReader) -> Event:
        return await load_event(reader.processes.active)

    def decode(self, channel: str, data: bytes) -> Event | None:
        try:
            body = decode(data, dict[str, Any])
        except Undecodable:
            return None
        message = body.get("message")
        broadcast = ProcessBroadcast(
            process_type=channel.removeprefix("process:broadcast:"),
            message=message if isinstance(message, str) else None,
            data=body.get("data"),
            timestamp=to_datetime(body.get("timestamp")),
        )
        return Event("update", encode(broadcast))


def _ticker_update(exchange: str, symbol: str, data: bytes) -> Event | None:
    # The channel names the symbol, as the hash field does; the JSON is the hash value.
    try:
        ticker = decode_ticker(exchange, symbol, data, time.time())
    except Undecodable:
        return None
    return Event("update", encode(ticker), key=symbol)
