"""Tickers: ``tickers:{exchange}`` hashes."""

from __future__ import annotations

import httpx
import pytest

from fullon_cache_api.demo import CacheWriter

pytestmark = pytest.mark.anyio


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
        assert response.json() == {"count": 1, "exchanges": [{"exchange": "kraken", "tickers": 1}]}
    response = await client.get("/tickers/kraken")
    assert response.json()["tickers"][0]["price"] is None
