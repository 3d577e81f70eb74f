"""Big keys for the scale tests: every hash and list of the surface holds `n` entries.

Written in fullon_cache's exact layout (the demo writer's own value builders, ``json.dumps``
defaults, ISO write times) but through one pipeline, so a few thousand entries take a round
trip or two instead of one per entry.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import redis
from starlette.applications import Starlette

from fullon_cache_api import Settings, create_app
from fullon_cache_api.demo.writer import order_value, ticker_value

from .apps import in_process
from .surface import TRADE

__all__ = ["KEYS", "app_client", "seed_big"]

# Keys of each kind found by SCAN (order hashes, queues, series...), besides the big ones.
KEYS = 45


def seed_big(port: int, n: int) -> None:
    """`n` entries in every hash and list the surface reads, and KEYS more keys of each kind."""
    now = time.time()
    first = datetime.now(UTC) - timedelta(seconds=n)
    stamp = first.isoformat()
    ids = [str(100 + i) for i in range(n)]
    with redis.Redis(port=port) as admin, admin.pipeline(transaction=False) as pipe:
        pipe.hset(
            "tickers:binance",
            mapping={
                f"S{i:04d}/USDT": ticker_value("binance", f"S{i:04d}/USDT", price=1.0 + i, time=now)
                for i in range(n)
            },
        )
        orders = (
            order_value(
                {"ex_order_id": f"O{i:04d}", "ex_id": 1, "status": "open", "symbol": "BTC/USDT"},
                (first + timedelta(seconds=i)).isoformat(),
            )
            for i in range(n)
        )
        pipe.hset("order_status:binance", mapping=dict(orders))
        balances = {"USDT": {"free": 1.0, "used": 0.0, "total": 1.0}, "date": stamp}
        pipe.hset("accounts", mapping={ex_id: json.dumps(balances) for ex_id in ids})
        position = {"cost": 1.0, "volume": 0.1, "fee": 0.0, "count": 1.0, "price": 10.0}
        document = {"BTC/USDT": {**position, "timestamp": now}, "timestamp": stamp}
        pipe.hset("account_positions", mapping={ex_id: json.dumps(document) for ex_id in ids})
        bot = {"feed_1": {"status": "running", "timestamp": stamp}, "name": "bot"}
        pipe.hset("bot_status", mapping={bot_id: json.dumps(bot) for bot_id in ids})
        pipe.hset("block_exchange", mapping={f"{i}:S/USDT": i for i in ids})
        pipe.hset("opening_position", mapping={f"{i}:S/USDT": f"{i}:{stamp}" for i in ids})
        trades = [json.dumps({**TRADE, "trade_id": 100 + i}) for i in range(n)]
        pipe.rpush("trades:binance:BTCUSDT", *trades)
        pipe.rpush("user_trades:7:binance", *trades)
        bars = (json.dumps([1717584000 + 60 * i, 1, 2, 0.5, 1.5, 10.0]) for i in range(n))
        pipe.rpush("ohlcv:BTC/USDT:1m", *bars)
        for i in range(n):
            process_id = f"tick:c{i:04d}:{now}"
            body = {"process_type": "tick", "component": f"c{i:04d}", "params": {}}
            body |= {"status": "running", "created_at": stamp, "updated_at": stamp}
            pipe.set(f"process:data:{process_id}", json.dumps({**body, "heartbeat": stamp}))
            pipe.hset("process:active:tick", process_id, stamp)
        for i in range(KEYS):
            pipe.hset(f"order_status:{1000 + i}", *order_value({"ex_order_id": "X", "ex_id": 1}))
            pipe.rpush(f"new_orders:L{i}", "X")
            pipe.hset(f"tickers:ex{i}", "A/B", ticker_value(f"ex{i}", "A/B", time=now))
            pipe.rpush(f"ohlcv:K{i}/USDT:1m", json.dumps([1717584000, 1, 2, 0.5, 1.5, 1.0]))
            pipe.rpush(f"trades:ex{i}:BTCUSDT", json.dumps(TRADE))
            pipe.set(f"TRADE:STATUS:ex{i}", stamp)
        pipe.execute()


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Starlette]]:
    """A client of an app built from `settings` (authentication off), and the app, its lifespan
    run."""
    app = create_app(settings=settings, auth=False)
    async with in_process(app) as http:
        yield http, app
