"""The baseline a typical user would write: FastAPI, pydantic response models, redis.asyncio.

Same endpoints and data as the gateway's single-key and bulk cases, written idiomatically:
one client built in the lifespan and reached through a dependency, ``json.loads`` of the stored
value, models validated by FastAPI's ``response_model``. Served as
``uvicorn benchmarks.fastapi_app:create --factory`` (``REDIS_URL`` from the environment).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel
from redis.asyncio import Redis

__all__ = ["create"]


class RedisHealth(BaseModel):
    reachable: bool
    latency_ms: float


class Health(BaseModel):
    status: str
    redis: RedisHealth


class Ticker(BaseModel):
    exchange: str
    symbol: str
    price: float | None = None
    volume: float | None = None
    bid: float | None = None
    ask: float | None = None
    last: float | None = None
    time: float | None = None


class TickerList(BaseModel):
    exchange: str
    count: int
    tickers: list[Ticker]


class Order(BaseModel):
    order_id: str
    ex_order_id: str | None = None
    exchange: str | None = None
    symbol: str | None = None
    order_type: str | None = None
    side: str | None = None
    status: str | None = None
    command: str | None = None
    reason: str | None = None
    volume: float | None = None
    final_volume: float | None = None
    price: float | None = None
    plimit: float | None = None
    leverage: float | None = None
    futures: bool | None = None
    timestamp: str | None = None
    bot_id: int | str | None = None
    uid: int | str | None = None
    ex_id: int | str | None = None
    tick: float | None = None


class Bot(BaseModel):
    bot_id: str
    status: dict[str, Any]


class OhlcvBars(BaseModel):
    symbol: str
    timeframe: str
    count: int
    bars: list[list[float | None]]


def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


RedisDep = Annotated[Redis, Depends(get_redis)]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.redis = Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    yield
    await app.state.redis.aclose()


def create() -> FastAPI:
    """The FastAPI + pydantic implementation of the benchmarked endpoints."""
    app = FastAPI(lifespan=lifespan)

    @app.get("/health", response_model=Health)
    async def health(redis: RedisDep) -> Health:
        started = time.perf_counter()
        await redis.ping()
        latency = (time.perf_counter() - started) * 1000
        return Health(status="ok", redis=RedisHealth(reachable=True, latency_ms=latency))

    @app.get("/tickers/{exchange}", response_model=TickerList)
    async def all_tickers(exchange: str, redis: RedisDep) -> TickerList:
        stored = await redis.hgetall(f"tickers:{exchange}")
        if not stored:
            raise HTTPException(status_code=404, detail="Exchange not found")
        tickers = [Ticker(**json.loads(stored[symbol])) for symbol in sorted(stored)]
        return TickerList(exchange=exchange, count=len(tickers), tickers=tickers)

    @app.get("/tickers/{exchange}/{symbol:path}", response_model=Ticker)
    async def one_ticker(exchange: str, symbol: str, redis: RedisDep) -> Ticker:
        raw = await redis.hget(f"tickers:{exchange}", symbol)
        if raw is None:
            raise HTTPException(status_code=404, detail="Ticker not found")
        return Ticker(**json.loads(raw))

    @app.get("/orders/{account}/{order_id:path}", response_model=Order)
    async def one_order(account: str, order_id: str, redis: RedisDep) -> Order:
        raw = await redis.hget(f"order_status:{account}", order_id)
        if raw is None:
            raise HTTPException(status_code=404, detail="Order not found")
        return Order(**json.loads(raw))

    @app.get("/bots/{bot_id}", response_model=Bot)
    async def one_bot(bot_id: str, redis: RedisDep) -> Bot:
        raw = await redis.hget("bot_status", bot_id)
        if raw is None:
            raise HTTPException(status_code=404, detail="Bot not found")
        return Bot(bot_id=bot_id, status=json.loads(raw))

    @app.get("/ohlcv/{symbol:path}/{timeframe}", response_model=OhlcvBars)
    async def ohlcv(symbol: str, timeframe: str, redis: RedisDep, limit: int = 100) -> OhlcvBars:
        rows = await redis.lrange(f"ohlcv:{symbol}:{timeframe}", -limit, -1)
        if not rows:
            raise HTTPException(status_code=404, detail="No bars")
        bars = [json.loads(row) for row in rows]
        return OhlcvBars(symbol=symbol, timeframe=timeframe, count=len(bars), bars=bars)

    return app
