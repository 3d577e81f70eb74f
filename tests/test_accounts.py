"""Accounts: ``accounts`` (balances) and ``account_positions`` hashes, keyed by ex_id."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from fullon_cache_api.demo import CacheWriter

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"
ISO = "2025-06-05T12:00:00.123456+00:00"
BTC = {
    "symbol": "BTC/USDT",
    "cost": 25000.0,
    "volume": 0.5,
    "fee": 25.0,
    "count": 1.0,
    "price": 50000.0,
    "timestamp": 1717584000.0,
}
ETH = {
    "symbol": "ETH/USDT",
    "cost": 3000.0,
    "volume": 1.0,
    "fee": 3.0,
    "count": 2.0,
    "price": 3000.0,
    "timestamp": 1717584000.5,
}


def position(ex_id: str, stored: dict[str, object], when: str) -> dict[str, object]:
    """The response form of a position written by `upsert_positions`."""
    fields = {k: v for k, v in stored.items() if k not in ("symbol", "timestamp")}
    return {"ex_id": ex_id, "symbol": stored["symbol"], **fields, "timestamp": when}


def assert_recent(stamp: str) -> None:
    """`stamp` is an RFC 3339 UTC time written moments ago."""
    assert stamp.endswith("Z")
    age = datetime.now(UTC) - datetime.fromisoformat(stamp)
    assert timedelta(0) <= age < timedelta(minutes=1)


# -- /accounts ---------------------------------------------------------------------------


async def test_all_accounts_sorted_by_ex_id(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Every account comes back, numerically sorted by ex_id, with normalised dates."""
    await writer.upsert_user_account(10, {"BTC": {"free": 1.0, "used": 0.5, "total": 1.5}}, ISO)
    await writer.upsert_user_account(
        2, {"USDT": {"balance": 10000.0, "available": 8000.0}}, "2024-01-15 10:30:00"
    )
    await writer.upsert_user_account(7, {}, "yesterday")
    for path in ("/accounts", "/accounts/"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.json() == {
            "count": 3,
            "skipped": 0,
            "accounts": [
                {
                    "ex_id": "2",
                    "updated_at": "2024-01-15T10:30:00Z",
                    "balances": {"USDT": {"balance": 10000.0, "available": 8000.0}},
                },
                {"ex_id": "7", "updated_at": None, "balances": {}},
                {
                    "ex_id": "10",
                    "updated_at": "2025-06-05T12:00:00.123456Z",
                    "balances": {"BTC": {"free": 1.0, "used": 0.5, "total": 1.5}},
                },
            ],
        }


async def test_all_accounts_empty(client: httpx.AsyncClient) -> None:
    """No ``accounts`` hash is an empty list, not an error."""
    response = await client.get("/accounts")
    assert response.status_code == 200
    assert response.json() == {"count": 0, "skipped": 0, "accounts": []}


async def test_all_accounts_skip_corrupt(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Non-JSON and non-object entries are left out and counted."""
    await writer.upsert_user_account(1, {"USDT": {"free": 5.0}}, ISO)
    await writer.redis.hset("accounts", "2", "{not json")
    await writer.redis.hset("accounts", "3", "[1, 2]")
    body = (await client.get("/accounts")).json()
    assert body["count"] == 1
    assert body["skipped"] == 2
    assert [account["ex_id"] for account in body["accounts"]] == ["1"]


async def test_all_accounts_wrong_type_is_502(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """An ``accounts`` key that is not a hash answers a problem 502."""
    await writer.redis.set("accounts", "oops")
    response = await client.get("/accounts")
    assert response.status_code == 502
    assert response.headers["content-type"] == PROBLEM


# -- /accounts/{ex_id} -------------------------------------------------------------------


async def test_one_account_with_iso_date(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """One account carries its balances as stored and its ISO date as RFC 3339."""
    await writer.upsert_user_account(7, {"USDT": {"free": 1000.0, "used": 0.0, "total": 1000.0}})
    response = await client.get("/accounts/7")
    assert response.status_code == 200
    body = response.json()
    assert body["ex_id"] == "7"
    assert body["balances"] == {"USDT": {"free": 1000.0, "used": 0.0, "total": 1000.0}}
    assert_recent(body["updated_at"])


async def test_one_account_non_iso_date(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A caller's "YYYY-MM-DD HH:MM:SS" date is read as UTC; free text becomes null."""
    await writer.upsert_user_account(3, {}, update_date="2024-01-15 10:30:00")
    await writer.upsert_user_account(4, {"USDT": {"free": 1.0}}, update_date="last tuesday")
    assert (await client.get("/accounts/3")).json() == {
        "ex_id": "3",
        "updated_at": "2024-01-15T10:30:00Z",
        "balances": {},
    }
    body = (await client.get("/accounts/4")).json()
    assert body["updated_at"] is None
    assert body["balances"] == {"USDT": {"free": 1.0}}


async def test_one_account_nan_balance(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """NaN and Infinity written by json.dumps are accepted and answered as null."""
    await writer.upsert_user_account(
        5, {"BTC": {"free": float("nan"), "used": float("inf"), "total": 2.0}}, ISO
    )
    assert b"NaN" in await writer.redis.hget("accounts", "5")
    response = await client.get("/accounts/5")
    assert response.status_code == 200
    assert response.json()["balances"] == {"BTC": {"free": None, "used": None, "total": 2.0}}


async def test_one_account_missing_is_404(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """An ex_id absent from ``accounts`` answers a problem 404."""
    await writer.upsert_user_account(1, {}, ISO)
    response = await client.get("/accounts/2")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 404


@pytest.mark.parametrize("ex_id", ["abc", "7a", "-1", "1" * 21])
async def test_invalid_ex_id_is_422(client: httpx.AsyncClient, ex_id: str) -> None:
    """An ex_id that is not 1-20 digits answers a problem 422 on both ex_id routes."""
    for path in (f"/accounts/{ex_id}", f"/accounts/{ex_id}/positions"):
        response = await client.get(path)
        assert response.status_code == 422, path
        assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("stored", ["{not json", "[1, 2]", '"text"', ""])
async def test_one_account_corrupt_is_502(
    client: httpx.AsyncClient, writer: CacheWriter, stored: str
) -> None:
    """A stored balance document that is not a JSON object answers a problem 502."""
    await writer.redis.hset("accounts", "9", stored)
    response = await client.get("/accounts/9")
    assert response.status_code == 502
    assert response.headers["content-type"] == PROBLEM


# -- /accounts/{ex_id}/positions ---------------------------------------------------------


async def test_account_positions_only_that_account(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Positions of one ex_id only, by symbol, epoch times as RFC 3339, root time as updated_at."""
    await writer.upsert_positions(7, [ETH, BTC])
    await writer.upsert_positions(8, [{**BTC, "cost": 1.0}])
    response = await client.get("/accounts/7/positions")
    assert response.status_code == 200
    body = response.json()
    assert_recent(body.pop("updated_at"))
    assert body == {
        "ex_id": "7",
        "count": 2,
        "skipped": 0,
        "positions": [
            position("7", BTC, "2024-06-05T10:40:00Z"),
            position("7", ETH, "2024-06-05T10:40:00.500000Z"),
        ],
    }


async def test_symbol_alongside_root_timestamp(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """The root ISO ``timestamp`` sitting among symbol keys is the update time, not a symbol."""
    stored = (
        '{"BTC/USDT": {"cost": 25000.0, "volume": 0.5, "fee": 25.0, "count": 0.0, '
        '"price": 50000.0, "timestamp": 1717584000.0}, '
        '"timestamp": "2025-06-05T12:00:00.975446+00:00"}'
    )
    await writer.redis.hset("account_positions", "7", stored)
    assert (await client.get("/accounts/7/positions")).json() == {
        "ex_id": "7",
        "updated_at": "2025-06-05T12:00:00.975446Z",
        "count": 1,
        "skipped": 0,
        "positions": [
            {
                "ex_id": "7",
                "symbol": "BTC/USDT",
                "cost": 25000.0,
                "volume": 0.5,
                "fee": 25.0,
                "count": 0.0,
                "price": 50000.0,
                "timestamp": "2024-06-05T10:40:00Z",
            }
        ],
    }


async def test_positions_tolerant_fields(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Odd values decode tolerantly: numeric text, NaN, missing keys, ISO and ms timestamps."""
    stored = {
        "A/USDT": {
            "cost": "12.5",
            "volume": float("nan"),
            "price": True,
            "extra": 1,
            "timestamp": "2024-06-05T10:40:00+00:00",
        },
        "B/USDT": {"cost": 1.0, "timestamp": 1717584000250},
        "C/USDT": {"cost": 2, "timestamp": "soon"},
    }
    await writer.redis.hset("account_positions", "3", json.dumps(stored))
    body = (await client.get("/accounts/3/positions")).json()
    assert body["updated_at"] is None
    assert body["positions"] == [
        {
            "ex_id": "3",
            "symbol": "A/USDT",
            "cost": 12.5,
            "volume": None,
            "fee": None,
            "count": None,
            "price": None,
            "timestamp": "2024-06-05T10:40:00Z",
        },
        {
            "ex_id": "3",
            "symbol": "B/USDT",
            "cost": 1.0,
            "volume": None,
            "fee": None,
            "count": None,
            "price": None,
            "timestamp": "2024-06-05T10:40:00.250000Z",
        },
        {
            "ex_id": "3",
            "symbol": "C/USDT",
            "cost": 2.0,
            "volume": None,
            "fee": None,
            "count": None,
            "price": None,
            "timestamp": None,
        },
    ]


async def test_positions_skip_non_object_symbol(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """A per-symbol value that is not an object is left out and counted."""
    stored = {
        "BTC/USDT": {"cost": 1.0},
        "ETH/USDT": "garbage",
        "XRP/USDT": [1, 2],
        "timestamp": ISO,
    }
    await writer.redis.hset("account_positions", "7", json.dumps(stored))
    body = (await client.get("/accounts/7/positions")).json()
    assert body["count"] == 1
    assert body["skipped"] == 2
    assert body["positions"][0]["symbol"] == "BTC/USDT"


async def test_account_positions_missing_is_404(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """An ex_id without positions answers a problem 404 even when others have some."""
    await writer.upsert_positions(8, [BTC])
    await writer.upsert_user_account(7, {}, ISO)
    response = await client.get("/accounts/7/positions")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("stored", ["{not json", "[1, 2]", "null"])
async def test_account_positions_corrupt_is_502(
    client: httpx.AsyncClient, writer: CacheWriter, stored: str
) -> None:
    """A positions document that is not a JSON object answers a problem 502."""
    await writer.redis.hset("account_positions", "7", stored)
    response = await client.get("/accounts/7/positions")
    assert response.status_code == 502
    assert response.headers["content-type"] == PROBLEM


# -- /positions --------------------------------------------------------------------------


async def test_all_positions_flattened(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Every account's positions, flattened and sorted by (ex_id, symbol), each with its ex_id."""
    await writer.upsert_positions(10, [BTC])
    await writer.upsert_positions(2, [ETH, BTC])
    for path in ("/positions", "/positions/"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.json() == {
            "count": 3,
            "skipped": 0,
            "positions": [
                position("2", BTC, "2024-06-05T10:40:00Z"),
                position("2", ETH, "2024-06-05T10:40:00.500000Z"),
                position("10", BTC, "2024-06-05T10:40:00Z"),
            ],
        }


async def test_all_positions_empty(client: httpx.AsyncClient) -> None:
    """No ``account_positions`` hash is an empty list, not an error."""
    response = await client.get("/positions")
    assert response.status_code == 200
    assert response.json() == {"count": 0, "skipped": 0, "positions": []}


async def test_all_positions_skip_corrupt(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Corrupt ex_id documents and non-object symbols are left out and counted."""
    await writer.upsert_positions(1, [BTC])
    await writer.redis.hset("account_positions", "2", "{not json")
    await writer.redis.hset("account_positions", "3", "42")
    await writer.redis.hset("account_positions", "4", json.dumps({"ETH/USDT": None}))
    body = (await client.get("/positions")).json()
    assert body["count"] == 1
    assert body["skipped"] == 3
    assert body["positions"] == [position("1", BTC, "2024-06-05T10:40:00Z")]


async def test_reads_leave_hashes_unchanged(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Reading every accounts route leaves both hashes exactly as they were."""
    await writer.upsert_user_account(7, {"USDT": {"free": 1.0}}, ISO)
    await writer.upsert_positions(7, [BTC, ETH])
    before = [await writer.redis.hgetall(key) for key in ("accounts", "account_positions")]
    for path in ("/accounts", "/accounts/7", "/accounts/7/positions", "/positions"):
        assert (await client.get(path)).status_code == 200, path
    after = [await writer.redis.hgetall(key) for key in ("accounts", "account_positions")]
    assert after == before
