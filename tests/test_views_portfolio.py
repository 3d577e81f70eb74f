"""Portfolio views: ``/accounts/summary`` and ``/accounts/{ex_id}/summary``, hand-computed."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from fullon_cache_api.demo import CacheWriter

pytestmark = pytest.mark.anyio

NAN = float("nan")
NOW = time.time()
NO_EXCHANGE_1 = "no ticker exchange known for account 2 (pass ?exchange=)"
NO_EXCHANGE_3 = "orders of account 3 name several exchanges (binance, kraken)"


async def seed(writer: CacheWriter) -> None:
    """Account 1 (binance, through its orders), 2 (no exchange known), 3 (two exchanges)."""
    tick = writer.set_ticker
    await tick("binance", "BTC/USDT", price=60000.0, last=60000.5, time=NOW)
    # last is NaN: the mid of bid and ask (3000.0) is used.
    await tick("binance", "ETH/USDT", price=NAN, last=NAN, bid=2999.5, ask=3000.5, time=NOW)
    await tick("binance", "ADA/USDT", price=NAN, last=NAN, time=NOW)  # no usable price
    await tick("binance", "USDT/EUR", price=0.8, last=0.8, time=NOW)  # EUR via the inverse
    await tick("binance", "BTC/EUR", price=50000.0, last=50000.0, time=NOW - 3600)
    await writer.upsert_user_account(
        1,
        {
            "USDT": {"free": 10.1, "used": 0.2},  # no total: free + used, exactly 10.3
            "BTC": {"free": 0.5, "used": 0.25, "total": 0.75},
            "ETH": {"free": 2.0, "used": 0.0, "total": 2.0},
            "EUR": {"total": 10.0},
            "DOGE": {"total": 100.0},  # no DOGE ticker
            "XRP": {"free": 1.0, "total": NAN},
        },
    )
    await writer.upsert_positions(
        1,
        [
            {"symbol": "BTC/USDT", "volume": 0.75, "cost": 30000.0},
            {"symbol": "ETH/USDT", "volume": 2.0, "cost": 7000.0},
            {"symbol": "SOL/USDT", "volume": 10.0, "cost": 1000.0},  # no ticker
            {"symbol": "ADA/USDT", "volume": 5.0, "cost": 2.0},
            {"symbol": "BTC/EUR", "volume": 0.1, "cost": 5000.0},
        ],
    )
    await writer.save_order(1, {"ex_order_id": "O1", "ex_id": 1, "exchange": "binance"})
    await writer.upsert_user_account(2, {"USDT": {"free": 5.0, "used": 0.0, "total": 5.0}})
    await writer.upsert_positions(2, [{"symbol": "BTC/USDT", "volume": 1.0, "cost": 50000.0}])
    await writer.upsert_user_account(3, {"BTC": {"total": 1.0}})
    await writer.save_order("binance", {"ex_order_id": "O3", "ex_id": 3})
    await writer.save_order("kraken", {"ex_order_id": "O4", "ex_id": 3})


def balance(currency: str, *values: Any) -> dict[str, Any]:
    """A balance entry: free, used, total, rate, value, reason (in that order)."""
    names = ("free", "used", "total", "rate", "value", "reason")
    return {"currency": currency, **dict(zip(names, values, strict=True))}


def strip_ages(body: dict[str, Any]) -> dict[str, Any]:
    """The body with each position's ticker age replaced by whether it is known."""
    for position in body["positions"]:
        age = position.pop("ticker_age_seconds")
        position["aged"] = age is not None
    body.pop("updated_at")
    return body


ACCOUNT_1 = {
    "ex_id": "1",
    "quote": "USDT",
    "exchange": "binance",
    "exchange_source": "orders",
    "balances": [
        balance("BTC", 0.5, 0.25, 0.75, 60000.5, 45000.375, None),
        balance(
            "DOGE",
            None,
            None,
            100.0,
            None,
            None,
            "no usable DOGE/USDT or USDT/DOGE ticker on binance",
        ),
        balance("ETH", 2.0, 0.0, 2.0, 3000.0, 6000.0, None),
        balance("EUR", None, None, 10.0, 1.25, 12.5, None),
        balance("USDT", 10.1, 0.2, 10.3, 1.0, 10.3, None),
        balance(
            "XRP",
            1.0,
            None,
            None,
            None,
            None,
            "balance has no numeric total (nor free and used); "
            "no usable XRP/USDT or USDT/XRP ticker on binance",
        ),
    ],
    "positions": [
        {
            "symbol": "ADA/USDT",
            "currency": "USDT",
            "volume": 5.0,
            "cost": 2.0,
            "price": None,
            "price_source": None,
            "value": None,
            "unrealized_pnl": None,
            "rate": 1.0,
            "reason": "ticker ADA/USDT on binance has no usable price",
            "aged": False,
        },
        {
            "symbol": "BTC/EUR",
            "currency": "EUR",
            "volume": 0.1,
            "cost": 5000.0,
            "price": 50000.0,
            "price_source": "last",
            "value": 5000.0,
            "unrealized_pnl": 0.0,
            "rate": 1.25,
            "reason": None,
            "aged": True,
        },
        {
            "symbol": "BTC/USDT",
            "currency": "USDT",
            "volume": 0.75,
            "cost": 30000.0,
            "price": 60000.5,
            "price_source": "last",
            "value": 45000.375,
            "unrealized_pnl": 15000.375,
            "rate": 1.0,
            "reason": None,
            "aged": True,
        },
        {
            "symbol": "ETH/USDT",
            "currency": "USDT",
            "volume": 2.0,
            "cost": 7000.0,
            "price": 3000.0,
            "price_source": "mid",
            "value": 6000.0,
            "unrealized_pnl": -1000.0,
            "rate": 1.0,
            "reason": None,
            "aged": True,
        },
        {
            "symbol": "SOL/USDT",
            "currency": "USDT",
            "volume": 10.0,
            "cost": 1000.0,
            "price": None,
            "price_source": None,
            "value": None,
            "unrealized_pnl": None,
            "rate": 1.0,
            "reason": "no ticker SOL/USDT on binance",
            "aged": False,
        },
    ],
    # 45000.375 + 6000 + 12.5 + 10.3
    "balances_value": 51023.175,
    # 45000.375 + 6000 + 5000 * 1.25
    "positions_value": 57250.375,
    # 15000.375 - 1000 + 0 * 1.25
    "unrealized_pnl": 14000.375,
    "unvalued": 4,
    "partial": False,
}


async def test_account_summary_values_every_entry(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Balances and positions are valued with the exchange the account's orders name; a
    NaN last falls back to the mid, a missing ticker or NaN price is listed with a reason."""
    await seed(writer)
    response = await client.get("/accounts/1/summary")
    assert response.status_code == 200, response.text
    assert strip_ages(response.json()) == ACCOUNT_1


async def test_sums_are_exact_decimals(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """free 10.1 + used 0.2 answers 10.3, where float addition gives 10.299999999999999."""
    assert 10.1 + 0.2 != 10.3
    await writer.upsert_user_account(5, {"USDT": {"free": 10.1, "used": 0.2}})
    body = (await client.get("/accounts/5/summary")).json()
    assert (body["balances"][0]["total"], body["balances_value"]) == (10.3, 10.3)


async def test_account_without_known_exchange(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Without ?exchange= and without orders, only the quote currency itself is valued."""
    await seed(writer)
    body = (await client.get("/accounts/2/summary")).json()
    assert (body["exchange"], body["exchange_source"]) == (None, None)
    assert body["balances"] == [balance("USDT", 5.0, 0.0, 5.0, 1.0, 5.0, None)]
    [position] = body["positions"]
    # The position is in USDT, the quote itself (rate 1), but has no price without tickers.
    assert (position["value"], position["rate"], position["reason"]) == (None, 1.0, NO_EXCHANGE_1)
    assert (body["balances_value"], body["positions_value"], body["unvalued"]) == (5.0, 0.0, 1)


async def test_exchange_and_quote_parameters(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """?exchange= names the ticker exchange; ?quote=EUR converts USDT at the USDT/EUR price."""
    await seed(writer)
    body = (await client.get("/accounts/2/summary?exchange=binance&quote=EUR")).json()
    assert (body["exchange"], body["exchange_source"], body["quote"]) == (
        "binance", "query", "EUR",
    )  # fmt: skip
    assert body["balances"] == [balance("USDT", 5.0, 0.0, 5.0, 0.8, 4.0, None)]
    [position] = body["positions"]
    # 1.0 * 60000.5 = 60000.5 USDT, pnl 10000.5 USDT; both * 0.8 in EUR.
    assert (position["value"], position["unrealized_pnl"], position["rate"]) == (
        60000.5, 10000.5, 0.8,
    )  # fmt: skip
    assert (body["balances_value"], body["positions_value"], body["unrealized_pnl"]) == (
        4.0, 48000.4, 8000.4,
    )  # fmt: skip


async def test_all_accounts_summary(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Every account, by ex_id, with sums over all; a corrupt document is skipped, counted."""
    await seed(writer)
    await writer.redis.hset("accounts", "9", "not json")
    body = (await client.get("/accounts/summary")).json()
    assert [a["ex_id"] for a in body["accounts"]] == ["1", "2", "3"]
    assert strip_ages(body["accounts"][0]) == ACCOUNT_1
    third = body["accounts"][2]
    assert third["balances"] == [balance("BTC", None, None, 1.0, None, None, NO_EXCHANGE_3)]
    assert {k: body[k] for k in ("quote", "count", "skipped", "unvalued")} == {
        "quote": "USDT", "count": 3, "skipped": 1, "unvalued": 4 + 1 + 1,
    }  # fmt: skip
    # 51023.175 + 5.0 for balances; positions and PnL come from account 1 only.
    assert (body["balances_value"], body["positions_value"], body["unrealized_pnl"]) == (
        51028.175, 57250.375, 14000.375,
    )  # fmt: skip


async def test_summary_misses_and_corruption(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """An account with neither balances nor positions is a 404; a corrupt one a 502; an
    empty cache gives an empty summary."""
    empty = (await client.get("/accounts/summary")).json()
    assert (empty["count"], empty["accounts"], empty["balances_value"]) == (0, [], 0.0)
    assert (await client.get("/accounts/4/summary")).status_code == 404
    await writer.redis.hset("account_positions", "9", "[1, 2]")
    assert (await client.get("/accounts/9/summary")).status_code == 502


@pytest.mark.parametrize(
    "query",
    ["quote=US%2A", "quote=" + "X" * 21, "exchange=bin%2Ance", "exchange=-x", "quote=%20"],
)
async def test_bad_query_values_are_422(client: httpx.AsyncClient, query: str) -> None:
    """A quote or exchange that is not a plain name is refused before Redis is read."""
    for path in ("/accounts/summary", "/accounts/1/summary"):
        response = await client.get(f"{path}?{query}")
        assert response.status_code == 422, (path, query, response.text)
    assert (await client.get("/accounts/x1/summary")).status_code == 422


async def test_stale_ticker_age_is_measured(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """The BTC/EUR ticker was written an hour before NOW: its age is the request time minus
    its time (3600 s plus the moments since seeding), to the millisecond."""
    await seed(writer)
    before = time.time()
    body = (await client.get("/accounts/1/summary")).json()
    after = time.time()
    ages = {p["symbol"]: p["ticker_age_seconds"] for p in body["positions"]}
    written = NOW - 3600
    # Ages are whole milliseconds: allow one either way for the rounding of both times.
    assert before - written - 0.002 <= ages["BTC/EUR"] <= after - written + 0.002
    assert ages["BTC/EUR"] >= 3600
    assert 0 <= ages["BTC/USDT"] < ages["BTC/EUR"] - 3599
    assert ages["SOL/USDT"] is None  # no ticker


async def test_a_short_position_gains_when_the_price_falls(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Short 1.5 ETH entered at 3455.5 (cost stored as the positive notional 5183.25), now
    3382: value -5073, unrealised PnL +110.25 (not value - cost = -10256.25)."""
    await writer.set_ticker("binance", "ETH/USDT", price=3382.0, last=3382.0, time=NOW)
    await writer.upsert_user_account(6, {"USDT": {"free": 1.0, "used": 0.0, "total": 1.0}})
    await writer.upsert_positions(6, [{"symbol": "ETH/USDT", "volume": -1.5, "cost": 5183.25}])
    await writer.save_order(6, {"ex_order_id": "O6", "ex_id": 6, "exchange": "binance"})
    body = (await client.get("/accounts/6/summary")).json()
    (position,) = body["positions"]
    assert (position["value"], position["unrealized_pnl"]) == (-5073.0, 110.25)
