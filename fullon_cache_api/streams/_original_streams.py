"""Streams in the original gateway's push shapes: the hub's specs, reshaped.

Each spec here wraps one of the hub's specs (same channel or poller, so original-shape and
richer clients of one key share the Redis work) and turns its value into the list of
``result`` objects the original pushed for it: one per ticker, one per position, the newest
trade, the newest bar, a queue length, the bots document, a process count. The socket's
writer sends one frame per object, with ``stream_key`` spliced in (see `_dialects`). A value
that is not cached becomes the stream's `absent` results (an empty list, or a zero count).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import msgspec

from .._errors import NotFound
from ..backend import CacheClient
from ..data import DOCUMENT_PAGE, CacheReader
from ..security import Ownership
from ..structs.accounts import AccountPositions, PositionList
from ..structs.ohlcv import OhlcvBars
from ..structs.tickers import Ticker, TickerList
from . import _original_shapes as shapes
from ._events import Event, encode
from ._polled import ActiveProcesses, Bots, Ohlcv, Orders, Positions, Trades
from ._probes import FieldsProbe, HashProbe
from ._pubsub import Topic
from ._specs import ChannelSpec, Polling, PollSpec, TickerExchange, TickerSymbol

__all__ = [
    "ActiveProcesses",
    "AllPositions",
    "BotsPush",
    "OhlcvPush",
    "PositionPushes",
    "ProcessCountPush",
    "QueueLengthPush",
    "TickerPushes",
    "TradePush",
    "bots_update",
    "decode_ticker",
    "process_count",
    "queue_length",
]

decode_ticker = msgspec.json.Decoder(Ticker).decode
_decode_tickers = msgspec.json.Decoder(TickerList).decode
_decode_bars = msgspec.json.Decoder(list[list[Any]]).decode


def _results(values: list[Any]) -> bytes:
    return encode(values)


# -- tickers (pub/sub) --------------------------------------------------------------------
@dataclass(frozen=True)
class TickerPushes(ChannelSpec):
    """One push per ticker: the channel of `inner`, each ticker in the original shape."""

    inner: TickerSymbol | TickerExchange

    @property
    def topic(self) -> Topic:
        return self.inner.topic

    async def snapshot(self, reader: CacheReader) -> Event:
        return _tickers(await self.inner.snapshot(reader))

    def decode(self, channel: str, data: bytes) -> Event | None:
        event = self.inner.decode(channel, data)
        return None if event is None else _tickers(event)


def _tickers(event: Event) -> Event:
    if event.kind not in ("snapshot", "update"):
        return event
    body = msgspec.json.decode(event.data)
    if body is None:
        tickers: list[Ticker] = []
    elif "tickers" in body:
        tickers = [decode_ticker(raw) for raw in _decode_tickers(event.data).tickers]
    else:
        tickers = [decode_ticker(event.data)]
    return Event(event.kind, _results([shapes.ticker(t) for t in tickers]), key=event.key)


# -- polled -------------------------------------------------------------------------------
class _Reshaped(PollSpec):
    """A spec sharing the poller of `inner` and reshaping its view."""

    inner: PollSpec

    @property
    def source(self) -> PollSpec:
        return self.inner.source

    async def probe(self, redis: CacheClient) -> bytes:
        return await self.source.probe(redis)

    async def load(self, reader: CacheReader) -> Any:
        return self.view(await self.source.load(reader))

    def view(self, shared: Any) -> Any:
        return self.reshape(self.inner.view(shared))

    def reshape(self, value: Any) -> list[Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class AllPositions(PollSpec):
    """The positions of every account (`ex_ids` None: an admin's, the first page of at most
    DOCUMENT_PAGE.maximum accounts) or of the accounts `ex_ids` (HMGET of those only)."""

    ex_ids: frozenset[str] | None

    def polling(self, reader: CacheReader, entries: int) -> Polling:
        if self.ex_ids is None:
            probe = HashProbe("account_positions", reader.limits, entries).probe
        else:
            probe = FieldsProbe("account_positions", self._ids(), reader.limits).probe
        return Polling(probe, self.load)

    async def load(self, reader: CacheReader) -> PositionList:
        only = None if self.ex_ids is None else Ownership(ex_ids=frozenset(self._ids()))
        return await reader.accounts.all_positions(only=only, limit=DOCUMENT_PAGE.maximum)

    def _ids(self) -> list[str]:
        return sorted(self.ex_ids or ())[: DOCUMENT_PAGE.maximum]


@dataclass(frozen=True)
class PositionPushes(_Reshaped):
    """One push per position of an account (or of every account the caller sees)."""

    inner: Positions | AllPositions

    def reshape(self, value: AccountPositions | PositionList) -> list[Any]:
        updated = value.updated_at if isinstance(value, AccountPositions) else None
        return [shapes.position_update(p, updated) for p in value.positions]


@dataclass(frozen=True)
class QueueLengthPush(_Reshaped):
    """The number of orders under a key (the original's queue length)."""

    inner: Orders

    def view(self, shared: Any) -> Any:
        try:
            count = self.inner.view(shared).matched
        except NotFound:
            count = 0
        return [queue_length(self.inner.account, count)]


def queue_length(exchange: str, count: int) -> dict[str, Any]:
    """A ``queue_update`` result."""
    return {"exchange": exchange, "queue_length": count, "timestamp": time.time()}


@dataclass(frozen=True)
class BotsPush(_Reshaped):
    """Every bot's document by id, or only `bot_id`'s (``{}`` while it is absent)."""

    inner: Bots
    bot_id: str | None

    def reshape(self, value: Any) -> list[Any]:
        documents = {bot.bot_id: shapes.bot_document(bot) for bot in value.bots}
        return [bots_update(documents, self.bot_id)]


def bots_update(documents: dict[str, Any], bot_id: str | None) -> dict[str, Any]:
    """A ``bot_update`` result."""
    if bot_id is not None:
        documents = {bot_id: documents[bot_id]} if bot_id in documents else {}
    return {"bots": documents, "timestamp": time.time()}


@dataclass(frozen=True)
class TradePush(_Reshaped):
    """The newest trade of a queue (never consumed); nothing while the queue is empty."""

    inner: Trades

    def reshape(self, value: Any) -> list[Any]:
        inner = self.inner
        return [shapes.trade(t, inner.exchange, inner.symbol) for t in value.trades[-1:]]


@dataclass(frozen=True)
class OhlcvPush(_Reshaped):
    """The newest bar as six floats; nothing while the series is empty."""

    inner: Ohlcv

    def reshape(self, value: OhlcvBars) -> list[Any]:
        bars = _decode_bars(value.bars)
        if not bars:
            return []
        bar = [_float(x) for x in bars[-1][:6]]
        return [{"symbol": self.inner.symbol, "timeframe": self.inner.timeframe, "bar": bar}]


@dataclass(frozen=True)
class ProcessCountPush(_Reshaped):
    """How many processes are active."""

    inner: ActiveProcesses

    def reshape(self, value: Any) -> list[Any]:
        return [process_count(value.count)]


def process_count(count: int) -> dict[str, Any]:
    """A ``process_health_update`` result."""
    return {"active_processes": count, "timestamp": time.time()}


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
