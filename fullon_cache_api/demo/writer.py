"""Writes sample data exactly as fullon_cache 0.5.x does (keys, fields, JSON style, TTLs).

Each method is named after the fullon_cache method it reproduces and follows
``fullon_cache_layout.md``: ``json.dumps`` defaults (so NaN stays a bare token), ISO UTC
timestamps with ``+00:00``, epoch floats where the library writes them. It is the only code in
the package that writes to Redis, and only the demo and the tests use it; the gateway never
imports it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

__all__ = ["CacheWriter", "iso_now", "order_value", "ticker_value"]

_OHLCV_MAX_BARS = 10000
_PROCESS_TTL = 86400
_CANCELED_TTL = 3600


def iso_now() -> str:
    """The write time as fullon_cache formats it (``datetime.now(UTC).isoformat()``)."""
    return datetime.now(UTC).isoformat()


def ticker_value(exchange: str, symbol: str, **tick: Any) -> str:
    """The JSON ``set_ticker`` stores in ``tickers:{ex}`` for `symbol` (``Tick.to_dict()``)."""
    body = {
        "symbol": symbol,
        "exchange": exchange,
        "price": tick.get("price", 0.0),
        "volume": tick.get("volume", 0.0),
        "time": tick["time"],
        "bid": tick.get("bid"),
        "ask": tick.get("ask"),
        "last": tick.get("last"),
    }
    return json.dumps(body)


def order_value(order: Mapping[str, Any], timestamp: str | None = None) -> tuple[str, str]:
    """The hash field and JSON ``save_order`` stores for `order` (written at `timestamp`)."""
    field = str(order.get("ex_order_id") or order.get("order_id"))
    return field, json.dumps({**order, "order_id": field, "timestamp": timestamp or iso_now()})


class CacheWriter:
    """fullon_cache's write side, for seeding a Redis the gateway then reads."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    # -- TickCache ------------------------------------------------------------------------
    async def set_ticker(self, exchange: str, symbol: str, **tick: Any) -> str:
        """HSET ``tickers:{ex}``, SET ``ticker_time:{ex}:{symbol}``, PUBLISH; returns the JSON."""
        value = ticker_value(exchange, symbol, **tick)
        await self.redis.hset(f"tickers:{exchange}", symbol, value)
        await self.redis.set(f"ticker_time:{exchange}:{symbol}", str(tick["time"]))
        await self.redis.publish(f"ticker_updates:{exchange}:{symbol}", value)
        return value

    # -- AccountCache ---------------------------------------------------------------------
    async def upsert_user_account(
        self, ex_id: int | str, account: Mapping[str, Any], update_date: str = ""
    ) -> None:
        """HSET ``accounts`` field ex_id: the caller's dict plus ``date``."""
        body = {**account, "date": update_date or iso_now()}
        await self.redis.hset("accounts", str(ex_id), json.dumps(body))

    async def upsert_positions(
        self, ex_id: int | str, positions: Sequence[Mapping[str, Any]]
    ) -> None:
        """HSET ``account_positions`` field ex_id (symbol objects plus a root ISO timestamp)."""
        if not positions:
            await self.redis.hdel("account_positions", str(ex_id))
            return
        body: dict[str, Any] = {}
        for position in positions:
            body[position["symbol"]] = {
                "cost": position.get("cost", 0.0),
                "volume": position.get("volume", 0.0),
                "fee": position.get("fee", 0.0),
                "count": position.get("count", 0.0),
                "price": position.get("price", 0.0),
                "timestamp": position.get("timestamp", 0.0),
            }
        body["timestamp"] = iso_now()
        await self.redis.hset("account_positions", str(ex_id), json.dumps(body))

    # -- OrdersCache ----------------------------------------------------------------------
    async def save_order(self, key: str | int, order: Mapping[str, Any]) -> str:
        """HSET ``order_status:{key}`` (exchange name for save_order, ex_id for save_order_data).

        The field is ``str(ex_order_id or order_id)`` (``"None"`` when neither is set); the
        stored ``order_id`` is that field and ``timestamp`` the write time. A ``canceled``
        status makes the whole hash expire in an hour, as in fullon_cache.
        """
        field, value = order_value(order)
        name = f"order_status:{key}"
        await self.redis.hset(name, field, value)
        if order.get("status") == "canceled":
            await self.redis.expire(name, _CANCELED_TTL)
        return field

    async def push_open_order(self, oid: str, local_oid: str) -> None:
        """RPUSH ``new_orders:{local_oid}``."""
        await self.redis.rpush(f"new_orders:{local_oid}", oid)

    # -- BotCache -------------------------------------------------------------------------
    async def block_exchange(self, ex_id: str | int, symbol: str, bot_id: str | int) -> None:
        """HSET ``block_exchange`` field ``{ex_id}:{symbol}`` to the bot id."""
        await self.redis.hset("block_exchange", f"{ex_id}:{symbol}", str(bot_id))

    async def mark_opening_position(self, ex_id: str | int, symbol: str, bot_id: str | int) -> None:
        """HSET ``opening_position`` field ``{ex_id}:{symbol}`` to ``{bot_id}:{ISO}``."""
        await self.redis.hset("opening_position", f"{ex_id}:{symbol}", f"{bot_id}:{iso_now()}")

    async def update_bot(self, bot_id: str | int, bot: Mapping[str, Any]) -> None:
        """HSET ``bot_status`` field bot_id; every dict value (a feed) gets an ISO timestamp."""
        body = {
            name: {**value, "timestamp": iso_now()} if isinstance(value, dict) else value
            for name, value in bot.items()
        }
        await self.redis.hset("bot_status", str(bot_id), json.dumps(body))

    # -- TradesCache ----------------------------------------------------------------------
    async def push_trade(self, exchange: str, trade: Mapping[str, Any]) -> None:
        """RPUSH ``trades:{ex}:{symbol without /}`` and SET ``TRADE:STATUS:{ex}``."""
        symbol = str(trade["symbol"]).replace("/", "")
        await self.redis.rpush(f"trades:{exchange}:{symbol}", json.dumps(dict(trade)))
        await self.update_trade_status(exchange)

    async def update_trade_status(self, key: str) -> None:
        """SET ``TRADE:STATUS:{key}`` to now (ISO)."""
        await self.redis.set(f"TRADE:STATUS:{key}", iso_now())

    async def push_user_trade(
        self, uid: str | int, exchange: str, trade: Mapping[str, Any]
    ) -> None:
        """RPUSH ``user_trades:{uid}:{ex}``."""
        await self.redis.rpush(f"user_trades:{uid}:{exchange}", json.dumps(dict(trade)))

    async def update_user_trade_status(self, key: str) -> None:
        """SET ``USER_TRADE:STATUS:{key}`` to now (ISO)."""
        await self.redis.set(f"USER_TRADE:STATUS:{key}", iso_now())

    # -- OHLCVCache -----------------------------------------------------------------------
    async def update_ohlcv_bars(
        self, symbol: str, timeframe: str, bars: Sequence[Sequence[float | int]]
    ) -> None:
        """RPUSH bars of 6+ items to ``ohlcv:{symbol}:{tf}``, then LTRIM to the newest 10000."""
        key = f"ohlcv:{symbol}:{timeframe}"
        rows = [json.dumps(list(bar)) for bar in bars if len(bar) >= 6]
        if rows:
            await self.redis.rpush(key, *rows)
            await self.redis.ltrim(key, -_OHLCV_MAX_BARS, -1)

    # -- ProcessCache ---------------------------------------------------------------------
    async def register_process(
        self,
        process_type: str,
        component: str,
        params: Mapping[str, Any] | None = None,
        message: str | None = None,
        status: str = "starting",
        now: datetime | None = None,
    ) -> str:
        """SET ``process:data:{id}`` (24 h TTL), HSET active and components; returns the id."""
        moment = now or datetime.now(UTC)
        process_id = f"{process_type}:{component}:{moment.timestamp()}"
        stamp = moment.isoformat()
        body = {
            "process_id": process_id,
            "process_type": process_type,
            "component": component,
            "params": dict(params or {}),
            "status": status,
            "message": message or f"Process {component} registered",
            "created_at": stamp,
            "updated_at": stamp,
            "heartbeat": stamp,
        }
        await self.redis.set(f"process:data:{process_id}", json.dumps(body), ex=_PROCESS_TTL)
        await self.redis.hset(f"process:active:{process_type}", process_id, stamp)
        await self.redis.hset("process:components", component, process_id)
        return process_id

    async def update_process(
        self,
        process_id: str,
        status: str | None = None,
        message: str | None = None,
        params: Mapping[str, Any] | None = None,
        heartbeat: bool = True,
    ) -> bool:
        """Re-SET the process document (fresh TTL); False when it is gone.

        As in fullon_cache: status and message apply only when truthy, params merge into the
        stored params, and ``heartbeat=False`` leaves the heartbeat time unchanged.
        """
        raw = await self.redis.get(f"process:data:{process_id}")
        if raw is None:
            return False
        body = json.loads(raw)
        stamp = iso_now()
        body["updated_at"] = stamp
        if heartbeat:
            body["heartbeat"] = stamp
        if status:
            body["status"] = status
        if message:
            body["message"] = message
        if params:
            body["params"] = {**body.get("params", {}), **params}
        await self.redis.set(f"process:data:{process_id}", json.dumps(body), ex=_PROCESS_TTL)
        await self.redis.hset(f"process:active:{body['process_type']}", process_id, stamp)
        return True

    async def broadcast_message(self, process_type: str, message: str, data: Any = None) -> None:
        """PUBLISH ``process:broadcast:{type}``."""
        body = {"message": message, "data": data, "timestamp": iso_now()}
        await self.redis.publish(f"process:broadcast:{process_type}", json.dumps(body))
