"""Tickers: ``tickers:{exchange}`` hashes."""

from __future__ import annotations

import math
import time
from typing import Any

import anyio
import httpx
import msgspec
import pytest

from fullon_cache_api.data.tickers import TickerReader
from fullon_cache_api.demo import CacheWriter, RedisServer

pytestmark = pytest.mark.anyio

NOW = time.time()


class RawListing(msgspec.Struct):
    """A ticker list with each ticker kept as the bytes the gateway sent."""

    tickers: list[msgspec.Raw]


def _strict(response: httpx.Response) -> Any:
    """The body parsed by a strict JSON parser (NaN/Infinity tokens would fail here)."""
    assert response.status_code == 200, response.text
    return msgspec.json.decode(response.content)


def _unaged(body: bytes) -> bytes:
    """A ticker's JSON without its age value (the only part that moves with the clock)."""
    head, marker, _ = body.rpartition(b'"age_seconds":')
    assert marker, body
    return head


def _prices(response: httpx.Response) -> dict[str, Any]:
    """Symbol -> price of a list answer."""
    return {item["symbol"]: item["price"] for item in _strict(response)["tickers"]}


async def test_one_ticker_with_age(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A ticker comes back with RFC 3339 time and its age."""
    await writer.set_ticker(
        "binance",
        "BTC/USDT",
        price=50000.0,
        volume=12.5,
        time=1717584000.25,
        bid=49999.0,
        ask=50001.0,
        last=50000.0,
    )
    response = await client.get("/tickers/binance/BTC/USDT")
    assert response.status_code == 200
    body = response.json()
    assert body["symbol"] == "BTC/USDT" and body["exchange"] == "binance"
    assert body["price"] == 50000.0
    assert body["time"] == "2024-06-05T10:40:00.250000Z"
    assert body["age_seconds"] > 0


async def test_missing_ticker_is_404(client: httpx.AsyncClient) -> None:
    """A symbol not in the cache answers a problem 404."""
    response = await client.get("/tickers/binance/BTC/USDT")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_list_with_trailing_slash(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Collections answer with and without a trailing slash."""
    await writer.set_ticker("kraken", "ETH/USD", price=float("nan"), time=1717584000.0)
    for path in ("/tickers", "/tickers/"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.json() == {
            "count": 1, "skipped": 0, "exchanges": [{"exchange": "kraken", "tickers": 1}]
        }  # fmt: skip
    response = await client.get("/tickers/kraken")
    assert response.json()["tickers"][0]["price"] is None


async def test_list_items_are_the_single_answers(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Each listed ticker is byte for byte the one-ticker answer, up to its age (now - time)."""
    for n, symbol in enumerate(("SOL/USDT", "BTC/USDT", "ETH/USDT")):
        await writer.set_ticker("binance", symbol, price=10.0 + n, bid=None, time=NOW - n)
    for _ in range(2):  # the second read is served from the prepared entries
        response = await client.get("/tickers/binance")
        listed = msgspec.json.decode(response.content, type=RawListing)
        symbols = [msgspec.json.decode(raw)["symbol"] for raw in listed.tickers]
        assert symbols == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
        for raw, n in zip(listed.tickers, (1, 2, 0), strict=True):
            item = msgspec.json.decode(raw)
            one = await client.get(f"/tickers/binance/{item['symbol']}")
            assert _unaged(bytes(raw)) == _unaged(one.content)
            assert abs(item["age_seconds"] - (time.time() - (NOW - n))) < 2


async def test_list_follows_changes(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Values rewritten, fields added and removed between two reads are all seen."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=NOW)
    await writer.set_ticker("binance", "ETH/USDT", price=2.0, time=NOW)
    assert _prices(await client.get("/tickers/binance")) == {"BTC/USDT": 1.0, "ETH/USDT": 2.0}
    await writer.set_ticker("binance", "BTC/USDT", price=1.5, time=NOW)
    await writer.set_ticker("binance", "ADA/USDT", price=3.0, time=NOW)
    await writer.redis.hdel("tickers:binance", "ETH/USDT")
    assert _prices(await client.get("/tickers/binance")) == {"ADA/USDT": 3.0, "BTC/USDT": 1.5}


async def test_ages_move_with_the_clock(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Reading an unchanged hash again gives the same tickers, older by the time elapsed."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=NOW)
    first = (await client.get("/tickers/binance")).json()["tickers"][0]
    await anyio.sleep(0.05)
    second = (await client.get("/tickers/binance")).json()["tickers"][0]
    assert second["age_seconds"] - first["age_seconds"] >= 0.05
    assert {**second, "age_seconds": 0} == {**first, "age_seconds": 0}


async def test_mixed_timestamps_in_a_list(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Epoch s, epoch ms, ISO with offset, naive ISO and numeric text all give one UTC time;
    a time that is no timestamp gives null time and age, and the ticker is still listed."""
    stamps: dict[str, object] = {
        "A/S": 1717584000.25,
        "B/MS": 1717584000250,
        "C/ISO": "2024-06-05T12:40:00.250+02:00",
        "D/NAIVE": "2024-06-05T10:40:00.250",
        "E/TEXT": "1717584000.25",
        "F/BAD": "yesterday",
        "G/NAN": math.nan,
    }
    for symbol, stamp in stamps.items():
        await writer.set_ticker("mixed", symbol, price=1.0, time=stamp)
    for _ in range(2):  # the second read is served from the prepared entries
        body = _strict(await client.get("/tickers/mixed"))
        times = {item["symbol"]: item["time"] for item in body["tickers"]}
        assert times == {
            **dict.fromkeys(list(stamps)[:5], "2024-06-05T10:40:00.250000Z"),
            "F/BAD": None,
            "G/NAN": None,
        }
        ages = {item["symbol"]: item["age_seconds"] for item in body["tickers"]}
        assert ages["F/BAD"] is None and ages["G/NAN"] is None
        assert len({ages[symbol] for symbol in list(stamps)[:5]}) == 1  # one clock per request


async def test_corrupt_ticker_skipped_every_time(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """A corrupt value is skipped and counted on every read, and listed again once repaired."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=NOW)
    good = await writer.set_ticker("binance", "ETH/USDT", price=2.0, time=NOW)
    await writer.redis.hset("tickers:binance", "ETH/USDT", good[:20])
    for _ in range(2):
        body = (await client.get("/tickers/binance")).json()
        assert (body["count"], body["skipped"]) == (1, 1)
    await writer.redis.hset("tickers:binance", "ETH/USDT", good)
    assert _prices(await client.get("/tickers/binance")) == {"BTC/USDT": 1.0, "ETH/USDT": 2.0}


async def test_non_finite_numbers_listed_as_null(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """NaN and ±Infinity (json.dumps output) are listed as null, in strict JSON, every time."""
    await writer.set_ticker(
        "binance", "BTC/USDT", price=math.nan, volume=math.inf, ask=-math.inf, last=2.5, time=NOW
    )
    for _ in range(2):
        (item,) = _strict(await client.get("/tickers/binance"))["tickers"]
        assert (item["price"], item["volume"], item["ask"], item["last"]) == (None, None, None, 2.5)


async def test_prepared_tickers_are_bounded(writer: CacheWriter, flushed: RedisServer) -> None:
    """The reader keeps prepared tickers of at most 64 exchanges, only current fields, and no
    value over 4 KiB."""
    reader = TickerReader(writer.redis)
    for n in range(70):
        await writer.set_ticker(f"ex{n}", "BTC/USDT", price=1.0, time=NOW)
        await reader.all(f"ex{n}")
    assert reader._books is not None and len(reader._books) == 64
    for n in range(50):
        await writer.set_ticker("ex69", f"C{n}/USDT", price=1.0, time=NOW)
    await reader.all("ex69")
    await writer.redis.delete("tickers:ex69")
    await writer.set_ticker("ex69", "ETH/USDT", price=1.0, time=NOW)
    assert (await reader.all("ex69")).count == 1
    assert list(reader._books["ex69"].prepared) == [b"ETH/USDT"]
    padded = '{"pad": "' + "x" * 5000 + '", "price": 7.0}'
    await writer.redis.hset("tickers:ex69", "BIG/USDT", padded)
    assert (await reader.all("ex69")).count == 2
    assert list(reader._books["ex69"].prepared) == [b"ETH/USDT"]
