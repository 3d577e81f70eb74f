"""Poll specs: change streams of the domains fullon_cache does not publish.

`probe` reads the raw state with read commands only (the shared poller compares its digest,
so nothing is decoded while nothing changes); `load` reads the value through the same readers
as HTTP. Orders and trades are shared between owners: their specs carry the caller's
`Ownership` (and a limit) but name a `source` that reads as an admin would (`OrderHash`,
`TradeWindow`); each caller's `view` then applies the data layer's rules to that value in
memory, so callers with different rights share one poller. Bot documents are keyed by owner:
an admin's stream reads the hash (`BotHash`), anyone else's only its own fields (`OwnedBots`).

Big keys are never read whole per interval (see `_probes`): the order and bot hashes and the
process hashes are probed at most `poll_entries` entries per poll; the trade window is read in
LRANGE windows of `chunk`, and after a push only the new trades (`_trade_window`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._errors import NotFound
from ..backend import CacheClient, translate_errors
from ..data import DOCUMENT_PAGE, CacheReader
from ..data.orders import ORDER_PAGE, next_order_cursor, sees_order
from ..data.processes import DEFAULT_WINDOW_MINUTES
from ..data.trades import OWNED_WINDOW
from ..data.views.status import PROCESS_TYPES
from ..security import Ownership, may_hold, sees, sees_corrupt
from ..structs.bots import BotList
from ..structs.orders import OrderList
from ..structs.trades import TradeList
from ._probes import FieldsProbe, HashesProbe, HashProbe
from ._specs import Polling, PollSpec
from ._trade_window import TradeQueueWindow, TradeTail

__all__ = [
    "ActiveProcesses",
    "Balances",
    "BotHash",
    "BotStatus",
    "Bots",
    "Ohlcv",
    "OrderHash",
    "Orders",
    "OwnedBots",
    "Positions",
    "ProcessHealth",
    "TradeWindow",
    "Trades",
    "active_hashes",
]

# The newest orders a shared order poller keeps: every stream's `?limit=` is at most this.
_ALL = ORDER_PAGE.maximum


class _View(PollSpec):
    """A caller's view of a poller shared by every caller: `source` reads, `view` narrows."""

    @property
    def source(self) -> PollSpec:
        raise NotImplementedError

    async def probe(self, redis: CacheClient) -> bytes:
        return await self.source.probe(redis)

    async def load(self, reader: CacheReader) -> Any:
        return self.view(await self.source.load(reader))


@dataclass(frozen=True)
class Balances(PollSpec):
    """One account's balances: probe HGET ``accounts`` {ex_id}."""

    ex_id: str

    async def probe(self, redis: CacheClient) -> bytes:
        return await _hget(redis, "accounts", self.ex_id)

    async def load(self, reader: CacheReader) -> Any:
        return await reader.accounts.one(self.ex_id)


@dataclass(frozen=True)
class Positions(PollSpec):
    """One account's positions: probe HGET ``account_positions`` {ex_id}."""

    ex_id: str

    async def probe(self, redis: CacheClient) -> bytes:
        return await _hget(redis, "account_positions", self.ex_id)

    async def load(self, reader: CacheReader) -> Any:
        return await reader.accounts.positions(self.ex_id)


@dataclass(frozen=True)
class OrderHash(PollSpec):
    """The newest orders under one key, as an admin sees them (a top-k of the hash within the
    read budget): probed by a `HashProbe` of ``order_status:{key}``."""

    account: str

    def polling(self, reader: CacheReader, entries: int) -> Polling:
        probe = HashProbe(f"order_status:{self.account}", reader.limits, entries)
        return Polling(probe.probe, self.load)

    async def load(self, reader: CacheReader) -> OrderList:
        return await reader.orders.all(
            self.account, status=None, symbol=None, limit=_ALL, only=None
        )


@dataclass(frozen=True)
class Orders(_View):
    """The newest `limit` orders under one key that `only` may see (`OrderHash`, narrowed)."""

    account: str
    limit: int
    only: Ownership | None

    @property
    def source(self) -> OrderHash:
        return OrderHash(self.account)

    def view(self, shared: OrderList) -> OrderList:
        # `OrderReader.all`'s rules, on the admin's list (already newest first).
        missing = NotFound(f"no orders cached under {self.account!r}")
        if not may_hold(self.only, self.account):
            raise missing
        orders = [order for order in shared.orders if sees_order(self.only, order)]
        skipped = shared.skipped if sees_corrupt(self.only, self.account) else 0
        if not orders and not skipped:
            raise missing
        kept = orders[: self.limit]
        # The shared read keeps the newest ORDER_PAGE.maximum: an admin's count is the hash's.
        matched = shared.matched if self.only is None else len(orders)
        return OrderList(
            key=shared.key,
            ttl_seconds=shared.ttl_seconds,
            count=len(kept),
            matched=matched,
            skipped=skipped,
            partial=shared.partial,
            next_cursor=next_order_cursor(kept, matched),
            orders=kept,
        )


@dataclass(frozen=True)
class BotHash(PollSpec):
    """An admin's bot status documents: the first page of ``bot_status`` (at most
    DOCUMENT_PAGE.maximum, with its ``next_cursor``), probed by a `HashProbe`."""

    def polling(self, reader: CacheReader, entries: int) -> Polling:
        return Polling(HashProbe("bot_status", reader.limits, entries).probe, self.load)

    async def load(self, reader: CacheReader) -> BotList:
        return await reader.bots.all(limit=DOCUMENT_PAGE.maximum)


@dataclass(frozen=True)
class OwnedBots(PollSpec):
    """The status documents of `bot_ids` (a non-admin's, at most DOCUMENT_PAGE.maximum of
    them): probe and load HMGET those fields only."""

    bot_ids: frozenset[str]

    def polling(self, reader: CacheReader, entries: int) -> Polling:
        probe = FieldsProbe("bot_status", self._ids(), reader.limits)
        return Polling(probe.probe, self.load)

    async def load(self, reader: CacheReader) -> BotList:
        only = Ownership(bot_ids=frozenset(self._ids()))
        return await reader.bots.all(only=only, limit=DOCUMENT_PAGE.maximum)

    def _ids(self) -> list[str]:
        return sorted(self.bot_ids)[: DOCUMENT_PAGE.maximum]


@dataclass(frozen=True)
class Bots(_View):
    """The bot status documents `only` may see: an admin's `BotHash`, anyone else's
    `OwnedBots` (streams of the same bot ids share one poller)."""

    only: Ownership | None

    @property
    def source(self) -> BotHash | OwnedBots:
        return BotHash() if self.only is None else OwnedBots(self.only.bot_ids)

    def view(self, shared: BotList) -> BotList:
        return shared


@dataclass(frozen=True)
class BotStatus(PollSpec):
    """One bot's status document: probe HGET ``bot_status`` {bot_id}."""

    bot_id: str

    async def probe(self, redis: CacheClient) -> bytes:
        return await _hget(redis, "bot_status", self.bot_id)

    async def load(self, reader: CacheReader) -> Any:
        return await reader.bots.one(self.bot_id)


@dataclass(frozen=True)
class Ohlcv(PollSpec):
    """The newest `limit` bars of a series: probe LLEN + LRANGE -1 -1 on both spellings."""

    symbol: str
    timeframe: str
    limit: int

    async def probe(self, redis: CacheClient) -> bytes:
        keys = [f"ohlcv:{self.symbol}:{self.timeframe}"]
        if "/" in self.symbol:
            keys.append(f"ohlcv:{self.symbol.replace('/', '')}:{self.timeframe}")
        return await _tails(redis, keys)

    async def load(self, reader: CacheReader) -> Any:
        return await reader.ohlcv.bars(self.symbol, self.timeframe, self.limit)


@dataclass(frozen=True)
class TradeWindow(PollSpec):
    """The newest trades of a queue, never consumed: probe LLEN + LRANGE -1 -1; loads read
    the window once, then the pushed trades only (`TradeTail`)."""

    exchange: str
    symbol: str

    @property
    def key(self) -> str:
        return f"trades:{self.exchange}:{self.symbol.replace('/', '')}"

    async def probe(self, redis: CacheClient) -> bytes:
        return await _tails(redis, [self.key])

    def polling(self, reader: CacheReader, entries: int) -> Polling:
        return Polling(self.probe, TradeTail(self.key).load)

    async def load(self, reader: CacheReader) -> TradeQueueWindow:
        return await TradeTail(self.key).load(reader)


@dataclass(frozen=True)
class Trades(_View):
    """The newest `limit` trades of a queue that `only` may see (`TradeWindow`, narrowed)."""

    exchange: str
    symbol: str
    limit: int
    only: Ownership | None

    @property
    def source(self) -> TradeWindow:
        return TradeWindow(self.exchange, self.symbol)

    def view(self, shared: TradeQueueWindow) -> TradeList:
        # `TradeReader.queue`'s rules: an admin gets the newest `limit` entries (corrupt ones
        # counted), anyone else its own trades among the newest `OWNED_WINDOW`.
        only = self.only
        if only is None:
            window = shared.trades(len(shared.raws) - min(self.limit, OWNED_WINDOW))
            trades = [trade for trade in window if trade is not None]
            length, skipped = shared.length, len(window) - len(trades)
        else:
            mine = [
                trade
                for trade in shared.trades(0)
                if trade is not None
                and sees(only, ex_id=trade.ex_id, uid=trade.uid, bot_id=trade.bot_id)
            ]
            length, trades, skipped = len(mine), mine[-self.limit :], 0
        if not length:
            raise NotFound(f"no trade queue for {self.symbol!r} on {self.exchange!r}")
        return TradeList(
            exchange=self.exchange,
            symbol=self.symbol,
            key=shared.key,
            length=length,
            count=len(trades),
            skipped=skipped,
            trades=trades,
        )


def active_hashes(reader: CacheReader, entries: int) -> HashesProbe:
    """A probe of every ``process:active:*`` hash (fullon_cache's eight types at once)."""
    known = [f"process:active:{process_type}" for process_type in PROCESS_TYPES]
    return HashesProbe("process:active:*", known, reader.limits, entries)


@dataclass(frozen=True)
class ProcessHealth(PollSpec):
    """System health: the ``process:active:*`` hashes probed by `active_hashes`."""

    def polling(self, reader: CacheReader, entries: int) -> Polling:
        return Polling(active_hashes(reader, entries).probe, self.load)

    async def load(self, reader: CacheReader) -> Any:
        return await reader.processes.system_health()


@dataclass(frozen=True)
class ActiveProcesses(PollSpec):
    """Processes active in the last five minutes (``get_active_processes``' default)."""

    def polling(self, reader: CacheReader, entries: int) -> Polling:
        return Polling(active_hashes(reader, entries).probe, self.load)

    async def load(self, reader: CacheReader) -> Any:
        return await reader.processes.active(since_minutes=DEFAULT_WINDOW_MINUTES)


async def _hget(redis: CacheClient, key: str, field: str) -> bytes:
    with translate_errors(key):
        raw = await redis.hget(key, field)
    if raw is None:
        return b"\x00absent"
    return b"=" + (raw if isinstance(raw, bytes) else raw.encode())


async def _tails(redis: CacheClient, keys: list[str]) -> bytes:
    """LLEN and the last element of each list: enough to see a push, a trim or a pop."""
    with translate_errors(keys[0]):
        async with redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.llen(key)
                pipe.lrange(key, -1, -1)
            replies = await pipe.execute()
    return repr(replies).encode()
