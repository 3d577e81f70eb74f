"""Large payloads: decode + re-encode versus passing the stored JSON through (``msgspec.Raw``).

One plain Starlette app (no gateway middleware, so only the body strategy differs), over the
gateway's own client (`build_client`) and readers (`CacheReader`):

- ``/decoded/...``   tickers: the gateway's reader (a value unchanged since the last read is
                     not decoded again: its prepared answer gets a fresh age);
                     ohlcv: every bar decoded to numbers, then encoded again;
- ``/cold/...``      tickers: the gateway's reader with nothing prepared (a new reader per
                     request): what a read costs when every ticker changed since the last one;
- ``/current/...``   ohlcv: the gateway's reader (bars validated once and remembered, the
                     window sent as the stored bytes joined);
- ``/validated/...`` tickers: each value strict-decoded to validate it, sent as stored bytes;
- ``/raw/...``       stored bytes spliced in unchecked (the upper bound of passthrough);
- ``/plain/ticker/...`` the gateway's one-ticker read without middleware (cost of the stack).

Served as ``uvicorn benchmarks.payloads:create --factory`` (``REDIS_URL`` from the environment).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fullon_cache_api import Settings
from fullon_cache_api.backend._redis import build_client
from fullon_cache_api.data import CacheReader
from fullon_cache_api.data.tickers import TickerReader
from fullon_cache_api.http._responses import MsgspecResponse

__all__ = ["create"]


class _StoredTick(msgspec.Struct):
    price: float | None = None
    volume: float | None = None
    bid: float | None = None
    ask: float | None = None
    last: float | None = None
    time: float | str | None = None


class RawTickers(msgspec.Struct, frozen=True, kw_only=True):
    """Tickers as stored (``Tick.to_dict()`` JSON), spliced into the body."""

    exchange: str
    count: int
    tickers: list[msgspec.Raw]


class Bars(msgspec.Struct, frozen=True, kw_only=True):
    """Bars of one series, either re-encoded numbers or the stored arrays."""

    symbol: str
    timeframe: str
    count: int
    bars: list[Any]


_check_tick = msgspec.json.Decoder(_StoredTick).decode
_decode_bar = msgspec.json.Decoder(list[int | float | None]).decode


def _reader(request: Request) -> CacheReader:
    reader: CacheReader = request.app.state.reader
    return reader


async def decoded_tickers(request: Request) -> Response:
    reader = _reader(request)
    return MsgspecResponse(await reader.tickers.all(request.path_params["exchange"]))


async def cold_tickers(request: Request) -> Response:
    reader = TickerReader(_reader(request).redis)
    return MsgspecResponse(await reader.all(request.path_params["exchange"]))


async def validated_tickers(request: Request) -> Response:
    exchange = request.path_params["exchange"]
    stored = await _reader(request).redis.hgetall(f"tickers:{exchange}")
    tickers = []
    for field in sorted(stored):
        _check_tick(stored[field])
        tickers.append(msgspec.Raw(stored[field]))
    return MsgspecResponse(RawTickers(exchange=exchange, count=len(tickers), tickers=tickers))


async def raw_tickers(request: Request) -> Response:
    exchange = request.path_params["exchange"]
    stored = await _reader(request).redis.hgetall(f"tickers:{exchange}")
    tickers = [msgspec.Raw(stored[field]) for field in sorted(stored)]
    return MsgspecResponse(RawTickers(exchange=exchange, count=len(tickers), tickers=tickers))


async def _stored_bars(request: Request) -> tuple[str, str, list[bytes]]:
    symbol, timeframe = request.path_params["symbol"], request.path_params["timeframe"]
    limit = int(request.query_params.get("limit", "100"))
    async with _reader(request).redis.pipeline(transaction=False) as pipe:
        pipe.llen(f"ohlcv:{symbol}:{timeframe}")
        pipe.lrange(f"ohlcv:{symbol}:{timeframe}", -limit, -1)
        _, rows = await pipe.execute()
    return symbol, timeframe, rows


async def decoded_bars(request: Request) -> Response:
    symbol, timeframe, rows = await _stored_bars(request)
    bars = [_decode_bar(row) for row in rows]
    return MsgspecResponse(Bars(symbol=symbol, timeframe=timeframe, count=len(bars), bars=bars))


async def current_bars(request: Request) -> Response:
    symbol, timeframe = request.path_params["symbol"], request.path_params["timeframe"]
    limit = int(request.query_params.get("limit", "100"))
    return MsgspecResponse(await _reader(request).ohlcv.bars(symbol, timeframe, limit))


async def raw_bars(request: Request) -> Response:
    symbol, timeframe, rows = await _stored_bars(request)
    bars = [msgspec.Raw(row) for row in rows]
    return MsgspecResponse(Bars(symbol=symbol, timeframe=timeframe, count=len(bars), bars=bars))


async def plain_ticker(request: Request) -> Response:
    params = request.path_params
    return MsgspecResponse(await _reader(request).tickers.one(params["exchange"], params["symbol"]))


def create() -> Starlette:
    """The payload-strategy app over the gateway's client and readers."""
    reader = CacheReader(build_client(Settings.from_env()))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await reader.redis.aclose()

    app = Starlette(
        routes=[
            Route("/decoded/tickers/{exchange}", decoded_tickers),
            Route("/cold/tickers/{exchange}", cold_tickers),
            Route("/validated/tickers/{exchange}", validated_tickers),
            Route("/raw/tickers/{exchange}", raw_tickers),
            Route("/decoded/ohlcv/{symbol:path}/{timeframe}", decoded_bars),
            Route("/current/ohlcv/{symbol:path}/{timeframe}", current_bars),
            Route("/raw/ohlcv/{symbol:path}/{timeframe}", raw_bars),
            Route("/plain/ticker/{exchange}/{symbol:path}", plain_ticker),
        ],
        lifespan=lifespan,
    )
    app.state.reader = reader
    return app
