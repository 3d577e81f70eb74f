"""Poll specs: change streams of the domains fullon_cache does not publish.

`probe` reads the raw state with read commands only (the shared poller compares its digest,
so nothing is decoded while nothing changes); `load` reads the value through the same readers
as HTTP. Orders, bots and trades are shared between owners: their specs carry the caller's
`Ownership` (and a limit) but name a `source` that reads everything once, as an admin would
(`OrderHash`, `BotHash`, `TradeWindow`); each caller's `view` then applies the data layer's
rules to that value in memory, so callers with different rights share one poller.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from .._access import may_hold, read_fields, sees, sees_corrupt
from .._auth import Ownership
from .._codec import Undecodable
from .._errors import NotFound
from .._redis import CacheClient, translate_errors
from ..data import CacheReader
from ..data._base import SCAN_COUNT, text
from ..data.bots import _natural, _remembered_bot  # one decoder for HTTP and streams
from ..data.orders import ORDER_PAGE, next_order_cursor, sees_order
from ..data.trades import OWNED_WINDOW, TradeReader, _trade
from ..structs.bots import Bot, BotList
from ..structs.orders import OrderList
from ..structs.trades import Trade, TradeList
from ._specs import PollSpec

__all__ = [
    "Balances",
    "BotHash",
    "BotStatus",
    "Bots",
    "Ohlcv",
    "OrderHash",
    "Orders",
    "Positions",
    "ProcessHealth",
    "TradeWindow",
    "Trades",
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
    """Every order under one key, as an admin sees them: probe HGETALL ``order_status:{key}``."""

    account: str

    async def probe(self, redis: CacheClient) -> bytes:
        key = f"order_status:{self.account}"
        with translate_errors(key):
            return _digest_hash(await redis.hgetall(key))

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
class BotTable:
    """Every bot status document decoded (natural id order), and the ids that do not decode."""

    bots: list[Bot]
    corrupt: frozenset[str]


@dataclass(frozen=True)
class BotHash(PollSpec):
    """Every bot status document, decoded once for every caller: HGETALL ``bot_status``."""

    async def probe(self, redis: CacheClient) -> bytes:
        with translate_errors("bot_status"):
            return _digest_hash(await redis.hgetall("bot_status"))

    async def load(self, reader: CacheReader) -> BotTable:
        # `BotReader.all` for an admin, keeping which ids were skipped: a non-admin's
        # `skipped` counts only its own corrupt documents.
        stored = await read_fields(reader.redis, "bot_status", None)
        bots: list[Bot] = []
        corrupt: set[str] = set()
        for field in sorted(stored, key=lambda raw: _natural(text(raw))):
            bot_id = text(field)
            try:
                bots.append(_remembered_bot(bot_id, stored[field]))
            except Undecodable as exc:
                reader.bots.skipped(bot_id, "bot_status", exc)
                corrupt.add(bot_id)
        return BotTable(bots, frozenset(corrupt))


@dataclass(frozen=True)
class Bots(_View):
    """Every bot status document `only` may see (`BotHash`, narrowed)."""

    only: Ownership | None

    @property
    def source(self) -> BotHash:
        return BotHash()

    def view(self, shared: BotTable) -> BotList:
        # `BotReader.all`'s rules: a non-admin reads only the bot ids it owns.
        if self.only is None:
            bots, skipped = shared.bots, len(shared.corrupt)
        else:
            owned = self.only.bot_ids
            bots = [bot for bot in shared.bots if bot.bot_id in owned]
            skipped = len(shared.corrupt & owned)
        return BotList(count=len(bots), skipped=skipped, bots=bots)


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


class TradeQueueWindow:
    """The newest `OWNED_WINDOW` entries of a trade queue and its length; each entry is
    decoded at most once, when a view first needs it."""

    __slots__ = ("_decoded", "_reader", "key", "length", "raws")

    def __init__(self, reader: TradeReader, key: str, length: int, raws: list[bytes]) -> None:
        self._reader = reader
        self.key = key
        self.length = length
        self.raws = raws
        self._decoded: dict[int, Trade | None] = {}

    def trades(self, start: int) -> list[Trade | None]:
        """The entries from `start` on, oldest first; None for one that does not decode."""
        return [self._trade(index) for index in range(max(start, 0), len(self.raws))]

    def _trade(self, index: int) -> Trade | None:
        if index not in self._decoded:
            try:
                self._decoded[index] = _trade(self.raws[index])
            except Undecodable as exc:
                self._reader.skipped(f"trade #{index} of the window", self.key, exc)
                self._decoded[index] = None
        return self._decoded[index]


@dataclass(frozen=True)
class TradeWindow(PollSpec):
    """The newest trades of a queue, never consumed: probe LLEN + LRANGE -1 -1."""

    exchange: str
    symbol: str

    @property
    def key(self) -> str:
        return f"trades:{self.exchange}:{self.symbol.replace('/', '')}"

    async def probe(self, redis: CacheClient) -> bytes:
        return await _tails(redis, [self.key])

    async def load(self, reader: CacheReader) -> TradeQueueWindow:
        # LLEN and LRANGE only, in one pipeline: the queue stays as it was for its consumer.
        with translate_errors(self.key):
            async with reader.redis.pipeline(transaction=False) as pipe:
                pipe.llen(self.key)
                pipe.lrange(self.key, -OWNED_WINDOW, -1)
                length, raws = await pipe.execute()
        return TradeQueueWindow(reader.trades, self.key, int(length), list(raws))


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


@dataclass(frozen=True)
class ProcessHealth(PollSpec):
    """System health: probe SCAN ``process:active:*`` (hash) + HGETALL of each."""

    async def probe(self, redis: CacheClient) -> bytes:
        with translate_errors("process:active hashes"):
            keys = sorted(
                [
                    key
                    async for key in redis.scan_iter(
                        match="process:active:*", count=SCAN_COUNT, _type="hash"
                    )
                ]
            )
            async with redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hgetall(key)
                hashes = await pipe.execute()
        return b"".join(_digest_hash(entries) for entries in hashes)

    async def load(self, reader: CacheReader) -> Any:
        return await reader.processes.system_health()


async def _hget(redis: CacheClient, key: str, field: str) -> bytes:
    with translate_errors(key):
        raw = await redis.hget(key, field)
    return b"\x00absent" if raw is None else b"=" + _bytes(raw)


async def _tails(redis: CacheClient, keys: list[str]) -> bytes:
    """LLEN and the last element of each list: enough to see a push, a trim or a pop."""
    with translate_errors(keys[0]):
        async with redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.llen(key)
                pipe.lrange(key, -1, -1)
            replies = await pipe.execute()
    return repr(replies).encode()


def _digest_hash(entries: dict[Any, Any]) -> bytes:
    """An order-independent digest of a hash's fields and values."""
    digest = hashlib.blake2b(digest_size=20)
    for field in sorted(entries):
        for part in (_bytes(field), _bytes(entries[field])):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.digest()


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
