"""OHLCV: ``ohlcv:{symbol}:{timeframe}`` lists of JSON bars."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from fullon_cache_api.data import ohlcv
from fullon_cache_api.demo import CacheWriter

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"
BARS = [
    [1717584000, 1, 2, 0.5, 1.5, 10.0],
    [1717584060, 1.5, 2.5, 1.0, 2.0, 11.0],
    [1717584120, 2.0, 3.0, 1.5, 2.5, 12.5, 99],
]


def _strict(response: httpx.Response) -> Any:
    """The body parsed by a strict JSON parser (NaN/Infinity tokens would fail here)."""
    return msgspec.json.decode(response.content)


async def test_bars_exact(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Bars come back oldest first with their stored numbers (ints stay ints)."""
    await writer.update_ohlcv_bars("BTC/USDT", "1m", BARS)
    response = await client.get("/ohlcv/BTC/USDT/1m")
    assert response.status_code == 200
    assert _strict(response) == {
        "symbol": "BTC/USDT",
        "timeframe": "1m",
        "key": "ohlcv:BTC/USDT:1m",
        "length": 3,
        "count": 3,
        "skipped": 0,
        "bars": BARS,
    }
    # Clean bars are passed through as stored, not re-encoded.
    assert b"[1717584000, 1, 2, 0.5, 1.5, 10.0]" in response.content


async def test_bars_are_not_consumed(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Reading bars leaves the list as it was."""
    await writer.update_ohlcv_bars("BTC/USDT", "1m", BARS)
    before = await writer.redis.lrange("ohlcv:BTC/USDT:1m", 0, -1)
    for _ in range(2):
        assert (await client.get("/ohlcv/BTC/USDT/1m?limit=2")).json()["count"] == 2
    assert await writer.redis.lrange("ohlcv:BTC/USDT:1m", 0, -1) == before


async def test_limit_keeps_newest(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """`limit` keeps the newest bars, oldest first; `length` is the whole list."""
    await writer.update_ohlcv_bars("BTC/USDT", "1m", BARS)
    body = (await client.get("/ohlcv/BTC/USDT/1m", params={"limit": 2})).json()
    assert (body["length"], body["count"]) == (3, 2)
    assert body["bars"] == BARS[1:]


async def test_slashless_spelling_is_found(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A series written as BTCUSDT is found when asked as BTC/USDT, and as itself."""
    await writer.update_ohlcv_bars("BTCUSDT", "1h", BARS[:1])
    for path in ("/ohlcv/BTC/USDT/1h", "/ohlcv/BTCUSDT/1h"):
        body = (await client.get(path)).json()
        assert body["key"] == "ohlcv:BTCUSDT:1h", path
        assert body["bars"] == BARS[:1]
    assert (await client.get("/ohlcv/BTC/USDT/1h")).json()["symbol"] == "BTC/USDT"


async def test_slash_spelling_wins(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """When both spellings exist the symbol as asked is used."""
    await writer.update_ohlcv_bars("BTCUSDT", "1m", BARS[:1])
    await writer.update_ohlcv_bars("BTC/USDT", "1m", BARS[1:])
    body = (await client.get("/ohlcv/BTC/USDT/1m")).json()
    assert (body["key"], body["bars"]) == ("ohlcv:BTC/USDT:1m", BARS[1:])


async def test_ccxt_symbol_with_colon(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A symbol holding ':' is read back and listed with the timeframe split at the last ':'."""
    await writer.update_ohlcv_bars("BTC/USDT:USDT", "15m", BARS)
    body = (await client.get("/ohlcv/BTC/USDT:USDT/15m")).json()
    assert (body["key"], body["count"]) == ("ohlcv:BTC/USDT:USDT:15m", 3)
    series = (await client.get("/ohlcv")).json()["series"]
    assert [(item["symbol"], item["timeframe"]) for item in series] == [("BTC/USDT:USDT", "15m")]


async def test_nan_bar_is_valid_json(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A bar holding NaN/Infinity is re-encoded with null, keeping the other numbers."""
    await writer.update_ohlcv_bars(
        "ETH/USD", "1d", [[1717545600000, 3800, float("nan"), 3700.5, float("inf"), 0]]
    )
    response = await client.get("/ohlcv/ETH/USD/1d")
    assert _strict(response)["bars"] == [[1717545600000, 3800, None, 3700.5, None, 0]]


async def test_corrupt_bars_are_skipped(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Elements that are not JSON arrays of 6+ numbers are skipped and counted."""
    await writer.update_ohlcv_bars("BTC/USDT", "5m", BARS[:1])
    await writer.redis.rpush(
        "ohlcv:BTC/USDT:5m",
        "garbage",
        "[1, 2, 3]",
        '{"ts": 1}',
        "[true, 1, 2, 3, 4, 5]",
        "[[1], 1, 2, 3, 4, 5]",
        "[1717584300, 1, 2, 3, 4, null]",
    )
    body = _strict(await client.get("/ohlcv/BTC/USDT/5m"))
    assert body == {
        "symbol": "BTC/USDT",
        "timeframe": "5m",
        "key": "ohlcv:BTC/USDT:5m",
        "length": 7,
        "count": 2,
        "skipped": 5,
        "bars": [BARS[0], [1717584300, 1, 2, 3, 4, None]],
    }


async def test_missing_series_is_404(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """No key under either spelling (or another timeframe only) answers a problem 404."""
    await writer.update_ohlcv_bars("BTC/USDT", "1m", BARS)
    for path in ("/ohlcv/BTC/USDT/5m", "/ohlcv/ETH/USDT/1m", "/ohlcv/BTCUSDT/1m"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM


async def test_invalid_input_is_422(client: httpx.AsyncClient) -> None:
    """Glob characters, bad timeframes and out-of-range limits are rejected before Redis."""
    for path in (
        "/ohlcv/BTC*/1m",
        "/ohlcv/BTC/US%3FDT/1m",
        "/ohlcv/BTC/USDT/1x",
        "/ohlcv/BTC/USDT/minute",
        "/ohlcv/BTC/USDT/1m?limit=0",
        "/ohlcv/BTC/USDT/1m?limit=10001",
        "/ohlcv/BTC/USDT/1m?limit=-5",
    ):
        response = await client.get(path)
        assert response.status_code == 422, path
        assert response.headers["content-type"] == PROBLEM


async def test_wrong_key_type_is_502(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A bar key that is not a list is a corrupt entry."""
    await writer.redis.set("ohlcv:BTC/USDT:1m", "[1, 2, 3, 4, 5, 6]")
    response = await client.get("/ohlcv/BTC/USDT/1m")
    assert response.status_code == 502
    assert response.headers["content-type"] == PROBLEM


async def test_series_exact(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Every list series with bar count, stored end timestamps (s or ms) and their times."""
    await writer.update_ohlcv_bars("BTC/USDT", "1m", BARS)
    await writer.update_ohlcv_bars("BTCUSD", "1h", [[1717584000000, 1, 2, 3, 4, 5]])
    await writer.redis.rpush("ohlcv:ETH/USDT:4h", "bad", "[1717588800.5, 1, 2, 3, 4, 5]")
    await writer.redis.set("ohlcv:XRP/USDT:1m", "not a list")
    for path in ("/ohlcv", "/ohlcv/"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.json() == {
            "count": 3,
            "skipped": 1,  # the string ohlcv:XRP/USDT:1m
            "series": [
                {
                    "symbol": "BTC/USDT",
                    "timeframe": "1m",
                    "bars": 3,
                    "first": 1717584000,
                    "last": 1717584120,
                    "first_time": "2024-06-05T10:40:00Z",
                    "last_time": "2024-06-05T10:42:00Z",
                },
                {
                    "symbol": "BTCUSD",
                    "timeframe": "1h",
                    "bars": 1,
                    "first": 1717584000000,
                    "last": 1717584000000,
                    "first_time": "2024-06-05T10:40:00Z",
                    "last_time": "2024-06-05T10:40:00Z",
                },
                {
                    "symbol": "ETH/USDT",
                    "timeframe": "4h",
                    "bars": 2,
                    "first": None,
                    "last": 1717588800.5,
                    "first_time": None,
                    "last_time": "2024-06-05T12:00:00.500000Z",
                },
            ],
        }
    assert await writer.redis.llen("ohlcv:BTC/USDT:1m") == 3


async def test_series_of_empty_cache(client: httpx.AsyncClient) -> None:
    """With no bar keys the listing is empty, not a 404."""
    response = await client.get("/ohlcv")
    assert response.json() == {"count": 0, "skipped": 0, "series": []}


async def test_window_changes_are_seen(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Bars appended, rewritten or damaged after a read are served as they are now."""
    await writer.update_ohlcv_bars("BTC/USDT", "1m", BARS)
    assert _strict(await client.get("/ohlcv/BTC/USDT/1m"))["bars"] == BARS
    await writer.redis.rpush("ohlcv:BTC/USDT:1m", "[1717584180, 3, 4, 2, 3.5, 1]")
    await writer.redis.lset("ohlcv:BTC/USDT:1m", 0, "[1717584000, 9, 9, 9, 9, NaN]")
    await writer.redis.lset("ohlcv:BTC/USDT:1m", 1, "[1717584060, 1.5")
    body = _strict(await client.get("/ohlcv/BTC/USDT/1m"))
    assert (body["count"], body["skipped"]) == (3, 1)
    assert body["bars"] == [[1717584000, 9, 9, 9, 9, None], BARS[2], [1717584180, 3, 4, 2, 3.5, 1]]


async def test_corrupt_bars_skipped_every_time(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Reading a damaged window again skips and re-encodes the same bars, with other limits too."""
    await writer.update_ohlcv_bars("BTC/USDT", "1m", BARS)
    await writer.redis.rpush("ohlcv:BTC/USDT:1m", "[1, 2, 3]", "[1717584180, 1, 2, 3, 4, NaN]")
    answers = [_strict(await client.get(f"/ohlcv/BTC/USDT/1m?limit={n}")) for n in (5, 2, 5)]
    assert [(body["count"], body["skipped"]) for body in answers] == [(4, 1), (1, 1), (4, 1)]
    assert answers[0] == answers[2]
    assert answers[0]["bars"][-1] == [1717584180, 1, 2, 3, 4, None]


def test_known_bars_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remembered bars stay within the per-series cap and the total budget, oldest series first."""
    monkeypatch.setattr(ohlcv, "_SERIES_CAP", 4)
    monkeypatch.setattr(ohlcv, "_BUDGET", 6)
    known = ohlcv._KnownBars()
    known.learn("a", [b"1", b"2", b"3"])
    known.learn("a", [b"2", b"3", b"4"])
    assert known.of("a") == {b"1", b"2", b"3", b"4"}
    known.learn("a", [b"4", b"5"])  # over the series cap: only the current window is kept
    assert known.of("a") == {b"4", b"5"}
    known.learn("b", [b"6", b"7", b"8"])
    known.learn("c", [b"9", b"10"])  # over the budget: "a", read longest ago, is forgotten
    assert known.of("a") == set()
    assert (known.of("b"), known.of("c")) == ({b"6", b"7", b"8"}, {b"9", b"10"})
