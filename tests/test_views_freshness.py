"""Freshness views: ``/tickers/status`` and ``/ohlcv/status``, hand-computed."""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from fullon_cache_api.data.views.freshness import interval_seconds
from fullon_cache_api.demo import CacheWriter

pytestmark = pytest.mark.anyio

NAN = float("nan")


def near(seconds: float) -> Any:
    """An age measured at request time, a moment after seeding."""
    return pytest.approx(seconds, abs=3)


def test_interval_seconds() -> None:
    """Timeframes map to seconds per bar; unknown shapes and zero give None."""
    cases = {"1s": 1, "1m": 60, "5m": 300, "4h": 14400, "1d": 86400, "1w": 604800}
    cases |= {"1M": 2592000, "1y": 31536000, "0m": None, "hourly": None, "1min": None}
    assert {tf: interval_seconds(tf) for tf in cases} == cases


async def seed_tickers(writer: CacheWriter, now: float) -> None:
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=now - 5)
    await writer.set_ticker("binance", "ETH/USDT", price=1.0, time=now - 120)  # stale
    await writer.set_ticker("binance", "ADA/USDT", price=1.0, time=NAN)  # undated
    await writer.redis.hset("tickers:binance", "XRP/USDT", "not json")  # corrupt
    await writer.set_ticker("kraken", "BTC/USD", price=1.0, time=(now - 1) * 1000)  # ms


async def test_ticker_status(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Per exchange: symbols, newest/oldest age, stale beyond 60 s, undated and corrupt."""
    now = time.time()
    await seed_tickers(writer, now)
    body = (await client.get("/tickers/status")).json()
    assert {k: body[k] for k in ("stale_after", "count", "symbols", "stale")} == {
        "stale_after": 60, "count": 2, "symbols": 5, "stale": 1,
    }  # fmt: skip
    binance, kraken = body["exchanges"]
    stamps = {name: binance.pop(name) for name in ("newest_time", "oldest_time")}
    assert binance == {
        "exchange": "binance", "symbols": 4, "stale": 1, "undated": 1, "skipped": 1,
        "newest_age_seconds": near(5), "oldest_age_seconds": near(120),
        "stale_symbols": ["ETH/USDT"],
    }  # fmt: skip
    assert {name: datetime.fromisoformat(v).timestamp() for name, v in stamps.items()} == {
        "newest_time": pytest.approx(now - 5, abs=1e-3),
        "oldest_time": pytest.approx(now - 120, abs=1e-3),
    }
    assert (kraken["symbols"], kraken["stale"], kraken["newest_age_seconds"]) == (1, 0, near(1))


async def test_ticker_status_threshold(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """?stale_after=3 also counts the 5 s old ticker as stale; the 1 s old one stays fresh."""
    now = time.time()
    await seed_tickers(writer, now)
    body = (await client.get("/tickers/status?stale_after=3")).json()
    assert [(e["exchange"], e["stale"]) for e in body["exchanges"]] == [
        ("binance", 2), ("kraken", 0),
    ]  # fmt: skip
    assert body["exchanges"][0]["stale_symbols"] == ["BTC/USDT", "ETH/USDT"]


async def test_ticker_status_large_hash(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A hash above the HSCAN threshold is read in pages: every symbol counted once."""
    now = time.time()
    for n in range(1500):
        await writer.set_ticker(
            "bybit", f"C{n:04d}/USDT", price=1.0, time=now - (600 if n % 5 == 0 else 1)
        )
    [bybit] = (await client.get("/tickers/status")).json()["exchanges"]
    assert (bybit["symbols"], bybit["stale"]) == (1500, 300)
    assert bybit["stale_symbols"] == [f"C{n:04d}/USDT" for n in range(0, 500, 5)]


async def test_ticker_status_empty(client: httpx.AsyncClient) -> None:
    """No tickers: no exchanges, zero counts."""
    body = (await client.get("/tickers/status")).json()
    assert body == {
        "stale_after": 60, "count": 0, "symbols": 0, "stale": 0, "skipped": 0, "partial": False,
        "exchanges": [],
    }  # fmt: skip


async def test_ohlcv_status(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Per series: last bar, age, interval from the timeframe, closed bars missing, stale."""
    now = math.floor(time.time())
    bar = [1.0, 2.0, 0.5, 1.5, 10.0]
    await writer.update_ohlcv_bars("BTC/USDT", "1m", [[now - 210, *bar], [now - 150, *bar]])
    await writer.update_ohlcv_bars("ETHUSDT", "1h", [[(now - 1800) * 1000, *bar]])
    await writer.update_ohlcv_bars("BTC/USDT", "1d", [[now - 3 * 86400 - 3600, *bar]])
    await writer.update_ohlcv_bars("X", "hourly", [[now - 10, *bar]])
    await writer.update_ohlcv_bars("BTC/USDT", "5m", [[NAN, *bar]])
    body = (await client.get("/ohlcv/status")).json()
    assert (body["count"], body["stale"]) == (5, 2)
    got = {
        f"{s['symbol']}:{s['timeframe']}": (
            s["bars"],
            s["unit"],
            s["interval_seconds"],
            s["missing_bars"],
            s["stale"],
        )
        for s in body["series"]
    }
    assert got == {
        # age 150 s: floor(150 / 60) - 1 = 1 closed bar missing.
        "BTC/USDT:1m": (2, "s", 60, 1, True),
        # age 3 d 1 h: floor(3.04) - 1 = 2.
        "BTC/USDT:1d": (1, "s", 86400, 2, True),
        # a NaN timestamp: nothing known.
        "BTC/USDT:5m": (1, None, 300, None, None),
        # ms stamp, age 30 min of a 1 h bar: still the current bar.
        "ETHUSDT:1h": (1, "ms", 3600, 0, False),
        # a timeframe that is not {n}{unit}.
        "X:hourly": (1, "s", None, None, None),
    }
    assert [s["symbol"] for s in body["series"]] == [
        "BTC/USDT", "BTC/USDT", "BTC/USDT", "ETHUSDT", "X",
    ]  # fmt: skip
    minute = body["series"][1]
    assert (minute["timeframe"], minute["last"], minute["age_seconds"]) == (
        "1m", now - 150, near(150),
    )  # fmt: skip


@pytest.mark.parametrize("value", ["0", "86401", "-5", "1.5", "abc", "9" * 13])
async def test_stale_after_out_of_bounds_is_422(client: httpx.AsyncClient, value: str) -> None:
    """stale_after must be an integer from 1 to 86400."""
    for path in ("/tickers/status", "/bots/activity"):
        response = await client.get(f"{path}?stale_after={value}")
        assert response.status_code == 422, (path, value)
        assert response.headers["content-type"] == "application/problem+json"
