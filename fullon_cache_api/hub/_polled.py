"""Poll specs: change streams of the domains fullon_cache does not publish.

`probe` reads the raw state with read commands only (the shared poller compares its digest,
so nothing is decoded while nothing changes); `load` reads the value through the same readers
as HTTP, with the caller's `Ownership` where the domain is shared between owners.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from .._auth import Ownership
from .._redis import CacheClient, translate_errors
from ..data import CacheReader
from ..data._base import SCAN_COUNT
from ._specs import PollSpec

__all__ = [
    "Balances",
    "BotStatus",
    "Bots",
    "Ohlcv",
    "Orders",
    "Positions",
    "ProcessHealth",
    "Trades",
]


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
class Orders(PollSpec):
    """Orders under one key, as `only` may see them: probe HGETALL ``order_status:{key}``."""

    account: str
    limit: int
    only: Ownership | None

    async def probe(self, redis: CacheClient) -> bytes:
        key = f"order_status:{self.account}"
        with translate_errors(key):
            return _digest_hash(await redis.hgetall(key))

    async def load(self, reader: CacheReader) -> Any:
        return await reader.orders.all(
            self.account, status=None, symbol=None, limit=self.limit, only=self.only
        )


@dataclass(frozen=True)
class Bots(PollSpec):
    """Every bot status document `only` may see: probe HGETALL ``bot_status``."""

    only: Ownership | None

    async def probe(self, redis: CacheClient) -> bytes:
        with translate_errors("bot_status"):
            return _digest_hash(await redis.hgetall("bot_status"))

    async def load(self, reader: CacheReader) -> Any:
        return await reader.bots.all(only=self.only)


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
class Trades(PollSpec):
    """The newest trades of a queue, never consumed: probe LLEN + LRANGE -1 -1."""

    exchange: str
    symbol: str
    limit: int
    only: Ownership | None

    async def probe(self, redis: CacheClient) -> bytes:
        return await _tails(redis, [f"trades:{self.exchange}:{self.symbol.replace('/', '')}"])

    async def load(self, reader: CacheReader) -> Any:
        return await reader.trades.queue(self.exchange, self.symbol, self.limit, only=self.only)


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
