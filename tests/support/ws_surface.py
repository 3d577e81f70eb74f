"""The whole WebSocket surface: a sample call of every action of both dialects, for the data
`surface.seed_surface` writes, and a crawl that answers each (a stream: its confirmation and
first push, i.e. its first snapshot).

`WS_SAMPLES` is keyed ``{dialect}/{domain}/{action}`` (a ``#variant`` when the parameters
change what is read); `test_ws_surface.py` checks that every action has one, so an action added
later is crawled by the tests built on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from websockets.asyncio.client import connect

from .credentials import ADMIN_KEY

MARKET = {"exchange": "binance", "symbol": "BTC/USDT"}
BARS = {"symbol": "BTC/USDT", "timeframe": "1m"}

WS_SAMPLES: dict[str, dict[str, Any]] = {
    # /ws/v2: the richer shapes.
    "v2//ping": {},
    "v2//health_check": {},
    "v2/tickers/get_ticker": MARKET,
    "v2/tickers/get_all_tickers": {"exchange": "binance"},
    "v2/tickers/stream_tickers": {"exchange": "binance"},
    "v2/tickers/stream_tickers#symbols": {"exchange": "binance", "symbols": ["BTC/USDT"]},
    "v2/accounts/get_balance": {"ex_id": "1", "currency": "USDT"},
    "v2/accounts/get_positions": {},
    "v2/accounts/get_positions#one": {"ex_id": "1"},
    "v2/accounts/stream_positions": {"ex_id": "1"},
    "v2/orders/get_order_status": {"exchange": "binance", "order_id": "EX_1"},
    "v2/orders/get_queue_length": {"exchange": "binance"},
    "v2/orders/stream_order_queue": {"exchange": "binance"},
    "v2/bots/get_bot_status": {"bot_id": "42"},
    "v2/bots/is_blocked": {"exchange": "1", "symbol": "BTC/USDT"},
    "v2/bots/get_bots": {},
    "v2/bots/stream_bot_status": {},
    "v2/bots/stream_bot_status#one": {"bot_id": "42"},
    "v2/trades/get_trades": MARKET,
    "v2/trades/stream_trade_updates": MARKET,
    "v2/ohlcv/get_latest_ohlcv_bars": BARS,
    "v2/ohlcv/stream_ohlcv": BARS,
    "v2/process/get_system_health": {},
    "v2/process/get_active_processes": {"since_minutes": 60},
    "v2/process/stream_process_health": {},
    # /ws: the original's shapes.
    "original//ping": {},
    "original//health_check": {},
    "original/tickers/get_ticker": MARKET,
    "original/tickers/get_all_tickers": {"exchange": "binance"},
    "original/tickers/stream_tickers": {"exchange": "binance"},
    "original/accounts/get_balance": {"user_id": "1", "currency": "USDT"},
    "original/accounts/get_positions": {"user_id": "1"},
    "original/accounts/get_positions#one": {"exchange": "1"},
    "original/accounts/stream_positions": {"user_id": "1"},
    "original/accounts/stream_positions#one": {"exchange": "1"},
    "original/orders/get_order_status": {"exchange": "binance", "order_id": "EX_1"},
    "original/orders/get_queue_length": {"exchange": "binance"},
    "original/orders/stream_order_queue": {"exchange": "binance"},
    "original/bots/get_bot_status": {"bot_id": "42"},
    "original/bots/is_blocked": {"exchange": "1", "symbol": "BTC/USDT"},
    "original/bots/get_bots": {},
    "original/bots/stream_bot_status": {},
    "original/trades/get_trades": MARKET,
    "original/trades/stream_trade_updates": MARKET,
    "original/ohlcv/get_latest_ohlcv_bars": BARS,
    "original/ohlcv/stream_ohlcv": BARS,
    "original/process/get_system_health": {},
    "original/process/get_active_processes": {"since_minutes": 60},
    "original/process/stream_process_health": {},
}


def parts(sample: str) -> tuple[str, str, str]:
    """(dialect, domain, action) of a sample key."""
    dialect, domain, action = sample.split("/")
    return dialect, domain, action.partition("#")[0]


async def frame(ws: Any, within: float = 20.0) -> Any:
    """The next frame, decoded."""
    return json.loads(await asyncio.wait_for(ws.recv(), within))


async def call(
    ws_url: str, sample: str, key: str = ADMIN_KEY, *, empty_within: float | None = None
) -> list[Any]:
    """One sample on a fresh socket: the reply; a stream's confirmation and first push.

    An original-dialect stream pushes one frame per result object, so an empty answer pushes
    nothing: with `empty_within`, its first push is waited for that long only (then absent).
    """
    dialect, domain, action = parts(sample)
    base = "/ws" if dialect == "original" else "/ws/v2"
    path = f"{base}/{domain}/crawl" if domain else base
    async with connect(f"{ws_url}{path}?token={key}", max_size=None) as ws:
        request = {"action": action, "request_id": "c", "params": WS_SAMPLES[sample]}
        await ws.send(json.dumps(request))
        frames = [await frame(ws)]
        if action.startswith("stream_") and frames[0].get("success"):
            if dialect == "original" and empty_within is not None:
                with contextlib.suppress(TimeoutError):  # nothing to push
                    frames.append(await frame(ws, empty_within))
            else:
                frames.append(await frame(ws))
    return frames


async def crawl(ws_url: str, *, empty_within: float | None = None) -> dict[str, list[Any]]:
    """Every sample's frames, by sample key."""
    return {sample: await call(ws_url, sample, empty_within=empty_within) for sample in WS_SAMPLES}


def result(frames: list[Any]) -> Any:
    """What a sample answered: the reply's result, or a stream's first push's result."""
    return frames[-1].get("result")
