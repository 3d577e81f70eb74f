"""Bounded answers: every list is a page of at most about `limit` entries, and following its
``next_cursor`` returns every entry once, also while the key changes between pages (as far as
Redis's SCAN guarantees go for hashes; exactly for lists, which lose entries only at the head).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, get_args

import httpx
import msgspec
import pytest
import redis

from fullon_cache_api import Settings, create_app
from fullon_cache_api._app import all_routes
from fullon_cache_api._settings import ApiKey, AuthConfig
from fullon_cache_api.demo import RedisServer
from fullon_cache_api.demo.writer import ticker_value
from fullon_cache_api.http._params import CURSOR, Bound
from fullon_cache_api.routes._common import ApiRoute
from fullon_cache_api.routes.streams import StreamRoute
from fullon_cache_api.security._auth import Identity, Ownership, hash_api_key

from .support.apps import in_process
from .support.big_keys import KEYS, app_client, seed_big
from .support.surface import TRADE

pytestmark = pytest.mark.anyio

CHUNK = 25
ENTRIES = 600


def paged(settings: Settings, **limits: object) -> Settings:
    """`settings` with the near cache off and a chunk of CHUNK (and `limits`)."""
    return msgspec.structs.replace(settings, near_cache_ttl=0.0, read_chunk=CHUNK, **limits)


async def pages(client: httpx.AsyncClient, path: str, limit: int) -> list[dict[str, Any]]:
    """Every page of `path`, following next_cursor to the end (at most 200 pages)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(200):
        query = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(f"{path}{'&' if '?' in path else '?'}{query}")
        assert response.status_code == 200, response.text[:300]
        found.append(response.json())
        cursor = found[-1].get("next_cursor")
        if cursor is None:
            return found
    raise AssertionError(f"{path}: more than 200 pages")


async def test_ticker_pages_cover_a_changing_hash_once(
    settings: Settings, flushed: RedisServer
) -> None:
    """600 tickers in pages of 100: each page sorted and about `limit` long; tickers present
    from the first page to the last come exactly once although 50 were added and 20 removed
    after the first page."""
    seed_big(flushed.port, ENTRIES)
    async with app_client(paged(settings)) as (client, _):
        first = (await client.get("/tickers/binance?limit=100")).json()
        seen = [ticker["symbol"] for ticker in first["tickers"]]
        removed = [f"S{i:04d}/USDT" for i in range(ENTRIES) if f"S{i:04d}/USDT" not in seen][:20]
        with redis.Redis(port=flushed.port) as admin:
            added = {
                f"N{i}/USDT": ticker_value("binance", f"N{i}/USDT", time=1.0) for i in range(50)
            }
            admin.hset("tickers:binance", mapping=added)
            admin.hdel("tickers:binance", *removed)
        rest = await pages(client, f"/tickers/binance?cursor={first['next_cursor']}", 100)
    found = [first, *rest]
    for page in found:
        symbols = [ticker["symbol"] for ticker in page["tickers"]]
        assert symbols == sorted(symbols)
        assert len(symbols) <= 100 + 2 * CHUNK
    counts = Counter(ticker["symbol"] for page in found for ticker in page["tickers"])
    stable = {f"S{i:04d}/USDT" for i in range(ENTRIES)} - set(removed)
    assert {symbol: counts[symbol] for symbol in stable} == dict.fromkeys(stable, 1)
    assert max(counts.values()) == 1
    assert len(found) >= ENTRIES // 100


async def test_orders_are_paged_newest_first_and_partial_past_the_budget(
    settings: Settings, flushed: RedisServer
) -> None:
    """600 orders in pages of 40 come newest first, each once, across every page; with a read
    budget too small for the hash the answer says `partial` and ranks what it read."""
    seed_big(flushed.port, ENTRIES)
    newest_first = [f"O{i:04d}" for i in reversed(range(ENTRIES))]
    async with app_client(paged(settings)) as (client, _):
        found = await pages(client, "/orders/binance", 40)
        top = (await client.get("/orders/binance?limit=10")).json()
    assert [order["order_id"] for page in found for order in page["orders"]] == newest_first
    assert {page["matched"] for page in found} == {ENTRIES}
    assert not any(page.get("partial") for page in found)
    assert [order["order_id"] for order in top["orders"]] == newest_first[:10]
    async with app_client(paged(settings, read_budget=1e-9)) as (client, _):
        cut = (await client.get("/orders/binance?limit=10")).json()
    assert cut["partial"] is True
    assert cut["count"] == 10 and CHUNK <= cut["matched"] < ENTRIES
    ids = [order["order_id"] for order in cut["orders"]]
    assert ids == sorted(ids, reverse=True)


def trade_ids(found: list[dict[str, Any]]) -> list[int]:
    """Trade ids of every page, newest page first, each page oldest first: as one list."""
    return [trade["trade_id"] for page in found for trade in page["trades"]]


async def test_trade_pages_follow_a_queue_popped_and_trimmed_between_pages(
    settings: Settings, flushed: RedisServer
) -> None:
    """Pages of 60 of a 250-trade queue continue exactly below the previous page while trades
    are pushed at the tail, popped and trimmed at the head; a cursor whose trade left the queue
    is refused (422)."""
    key = "trades:binance:BTCUSDT"
    with redis.Redis(port=flushed.port) as admin:
        admin.rpush(key, *(json.dumps({**TRADE, "trade_id": i}) for i in range(250)))
    async with app_client(paged(settings)) as (client, _):
        path = "/trades/binance/BTC/USDT?limit=60"
        first = (await client.get(path)).json()
        with redis.Redis(port=flushed.port) as admin:
            admin.lpop(key, 3)
            admin.rpush(key, *(json.dumps({**TRADE, "trade_id": 1000 + i}) for i in range(5)))
        second = (await client.get(f"{path}&cursor={first['next_cursor']}")).json()
        with redis.Redis(port=flushed.port) as admin:
            admin.ltrim(key, -200, -1)  # drops trades 3..54 at the head
        rest = await pages(client, f"/trades/binance/BTC/USDT?cursor={second['next_cursor']}", 60)
        with redis.Redis(port=flushed.port) as admin:
            admin.delete(key)
            admin.rpush(key, json.dumps({**TRADE, "trade_id": 5000}))
        gone = await client.get(f"{path}&cursor={first['next_cursor']}")
    pages_in_order = [first, second, *rest]
    assert [trade_ids([page]) for page in pages_in_order[:2]] == [
        list(range(190, 250)),
        list(range(130, 190)),
    ]
    found = [trade for page in reversed(pages_in_order) for trade in trade_ids([page])]
    assert found == list(range(55, 250))
    assert gone.status_code == 422


async def test_bar_and_user_trade_pages_cover_every_element_once(
    settings: Settings, flushed: RedisServer
) -> None:
    """A 600-bar series and a 600-trade user queue, in pages of 70: every element once, the
    concatenated pages in stored order."""
    seed_big(flushed.port, ENTRIES)
    async with app_client(paged(settings)) as (client, _):
        bars = await pages(client, "/ohlcv/BTC/USDT/1m", 70)
        trades = await pages(client, "/trades/users/7/binance", 70)
    stamps = [bar[0] for page in reversed(bars) for bar in page["bars"]]
    assert stamps == [1717584000 + 60 * i for i in range(ENTRIES)]
    ids = [trade for page in reversed(trades) for trade in trade_ids([page])]
    assert ids == [100 + i for i in range(ENTRIES)]
    assert max(len(page["bars"]) for page in bars) == 70


# List endpoint -> (the list in its answer, how an entry is named).
KEY_LISTINGS = {
    "/tickers": ("exchanges", "exchange"),
    "/orders": ("hashes", "key"),
    "/orders/queues": ("queues", "local_oid"),
    "/ohlcv": ("series", "symbol"),
    "/accounts": ("accounts", "ex_id"),
    "/positions": ("positions", "ex_id"),
    "/bots": ("bots", "bot_id"),
    "/bots/blocks": ("blocks", "ex_id"),
    "/bots/opening-positions": ("opening_positions", "ex_id"),
    "/processes?since_minutes=60": ("processes", "process_id"),
}
# Lists of one hash's fields (the others list keys).
HASH_LISTS = {"accounts", "positions", "bots", "blocks", "opening_positions", "processes"}


@pytest.mark.parametrize("path", sorted(KEY_LISTINGS))
async def test_listings_cover_every_entry_once(
    settings: Settings, flushed: RedisServer, path: str
) -> None:
    """Key listings (SCAN) and hash listings (HSCAN, newest-first top-k for processes) in small
    pages: the pages together hold every entry exactly once."""
    seed_big(flushed.port, ENTRIES)
    field, name = KEY_LISTINGS[path]
    async with app_client(paged(settings)) as (client, _):
        most = 1000 if path in ("/accounts", "/positions", "/bots") else 10000
        whole = (await client.get(f"{path}{'&' if '?' in path else '?'}limit={most}")).json()
        found = await pages(client, path, 70 if field in HASH_LISTS else 13)
    assert whole.get("next_cursor") is None
    expected = Counter(entry[name] for entry in whole[field])
    assert sum(expected.values()) >= KEYS
    assert Counter(entry[name] for page in found for entry in page[field]) == expected
    assert len(found) > 1


async def test_trade_overview_pages_queues_then_statuses(
    settings: Settings, flushed: RedisServer
) -> None:
    """/trades pages run through the queue keys, then the status keys: each once."""
    seed_big(flushed.port, 10)
    async with app_client(paged(settings)) as (client, _):
        found = await pages(client, "/trades", 7)
    queues = Counter(f"{q['exchange']}:{q['symbol_key']}" for p in found for q in p["queues"])
    statuses = Counter(status["key"] for page in found for status in page["statuses"])
    assert set(queues.values()) == {1} and len(queues) == KEYS + 1
    assert set(statuses.values()) == {1} and len(statuses) == KEYS


@asynccontextmanager
async def user_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A non-admin API key owning ex_id 1 and uid 7 (not 8)."""

    async def ownership(identity: Identity) -> Ownership:
        return Ownership(ex_ids=frozenset({"1"}), uids=frozenset({"7"}))

    key = ApiKey(name="user", sha256=hash_api_key("user-key"))
    app = create_app(
        settings=msgspec.structs.replace(paged(settings), auth=AuthConfig(api_keys=(key,))),
        ownership=ownership,
    )
    async with (
        in_process(app, headers={"X-API-Key": "user-key"}) as http,
    ):
        yield http


async def test_a_shared_queue_is_paged_through_the_callers_trades(
    settings: Settings, flushed: RedisServer
) -> None:
    """In a shared trade queue a non-admin pages through its own trades (every other one),
    newest first, each once; `length` counts its trades."""
    key = "trades:binance:BTCUSDT"
    with redis.Redis(port=flushed.port) as admin:
        trades = [{**TRADE, "trade_id": i, "uid": 7 if i % 2 else 8} for i in range(300)]
        admin.rpush(key, *(json.dumps(trade) for trade in trades))
    async with user_client(settings) as client:
        found = await pages(client, "/trades/binance/BTC/USDT", 40)
    assert {page["length"] for page in found} == {150}
    assert [t for page in reversed(found) for t in trade_ids([page])] == list(range(1, 300, 2))


@pytest.mark.parametrize(
    "path",
    [
        "/orders/binance?cursor=WyJoIiwwXQ",  # a cursor of a hash listing (["h",0])
        "/tickers/binance?cursor=bm90LWpzb24",  # not JSON
        "/ohlcv/BTC/USDT/1m?cursor=WyJsIiwiYSJd",  # ["l","a"]: not a position
        "/bots?cursor=a*b",  # not a cursor at all
    ],
)
async def test_foreign_or_malformed_cursors_are_refused(
    client: httpx.AsyncClient, path: str
) -> None:
    """A cursor of another listing, or one that does not decode, is a 422 problem."""
    response = await client.get(path)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def paged_routes() -> list[ApiRoute]:
    """The routes whose answer is a page (its Struct has a `next_cursor`)."""
    found = []
    for route in all_routes():
        if isinstance(route, ApiRoute) and not isinstance(route, StreamRoute):
            types = get_args(route.response) or (route.response,)
            if any("next_cursor" in getattr(kind, "__struct_fields__", ()) for kind in types):
                found.append(route)
    return found


def test_every_page_has_a_documented_size_and_cursor() -> None:
    """Every list route takes `limit` (a default and a maximum, both documented) and `cursor`
    (the test of the OpenAPI document checks each appears there with its bounds)."""
    routes = paged_routes()
    assert len(routes) >= 16
    for route in routes:
        assert isinstance(route.query.get("limit"), Bound), route.path
        assert route.query.get("cursor") is CURSOR, route.path
        limit = route.query["limit"]
        assert isinstance(limit, Bound) and limit.default <= limit.maximum <= 10000
