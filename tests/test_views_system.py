"""Bot activity, process metrics and cache status views; routing, scoping and read-only guard."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis
from redis.asyncio import Redis
from starlette.routing import Match

from fullon_cache_api import Settings, create_app
from fullon_cache_api._app import all_routes
from fullon_cache_api._settings import ApiKey, AuthConfig
from fullon_cache_api.data.views import ViewReader
from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.routes import views
from fullon_cache_api.security._auth import Identity, Ownership, hash_api_key

from .support.apps import in_process
from .support.surface import seed_surface

pytestmark = pytest.mark.anyio

VIEW_PATHS = [
    "/status", "/accounts/summary", "/accounts/1/summary", "/tickers/status", "/ohlcv/status",
    "/orders/stats", "/trades/stats", "/bots/activity", "/processes/metrics",
]  # fmt: skip


def near(seconds: float) -> Any:
    """An age measured at request time, a moment after seeding."""
    return pytest.approx(seconds, abs=3)


def iso_ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def test_view_paths_win_over_domain_parameters() -> None:
    """``/tickers/status`` etc. reach the views, not the domain routes' path parameters."""
    view_templates = {route.path for route in views.routes}
    for path in VIEW_PATHS:
        scope = {"type": "http", "method": "GET", "path": path}
        hit = next(r for r in all_routes() if r.matches(scope)[0] is Match.FULL)
        assert getattr(hit, "path", None) in view_templates, path


async def seed_bots(writer: CacheWriter) -> None:
    await writer.update_bot(42, {"feed_1": {"status": "running"}, "feed_2": {}, "name": "a"})
    # A feed stamped five minutes ago (fullon_cache stamps each feed at write time).
    old = {"feed_1": {"status": "running", "timestamp": iso_ago(300)}}
    await writer.redis.hset("bot_status", "43", json.dumps(old))
    await writer.redis.hset("bot_status", "45", "{corrupt")
    await writer.update_bot(46, {"name": "no feeds"})
    await writer.block_exchange(1, "BTC/USDT", 42)
    await writer.block_exchange("binance", "ETH/USDT", 42)
    await writer.block_exchange(2, "SOL/USDT", 44)  # a bot with no status document
    await writer.mark_opening_position(1, "BTC/USDT", 42)


async def test_bot_activity(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Per bot: feeds with ages, blocks held, opening marks; stale beyond 60 s or unknown."""
    await seed_bots(writer)
    body = (await client.get("/bots/activity")).json()
    assert {k: body[k] for k in ("stale_after", "count", "stale", "skipped")} == {
        "stale_after": 60, "count": 4, "stale": 3, "skipped": 1,
    }  # fmt: skip
    summary = {
        bot["bot_id"]: (bot["known"], bot["stale"], [f["name"] for f in bot["feeds"]])
        for bot in body["bots"]
    }
    assert summary == {
        "42": (True, False, ["feed_1", "feed_2"]),
        "43": (True, True, ["feed_1"]),
        "44": (False, True, []),
        "46": (True, True, []),
    }
    first = body["bots"][0]
    assert first["age_seconds"] == near(0)
    assert [(b["ex_id"], b["symbol"], b["since"]) for b in first["blocks"]] == [
        ("1", "BTC/USDT", None), ("binance", "ETH/USDT", None),
    ]  # fmt: skip
    [mark] = first["opening_positions"]
    assert (mark["ex_id"], mark["symbol"], mark["age_seconds"]) == ("1", "BTC/USDT", near(0))
    old_feed = body["bots"][1]["feeds"][0]
    assert (old_feed["name"], old_feed["age_seconds"], old_feed["stale"]) == (
        "feed_1", near(300), True,
    )  # fmt: skip
    relaxed = (await client.get("/bots/activity?stale_after=600")).json()
    assert [bot["stale"] for bot in relaxed["bots"]] == [False, False, True, True]


async def test_process_metrics(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """get_metrics' totals (SCAN data, HLEN active per type, HLEN components) plus statuses
    and the oldest heartbeat."""
    now = datetime.now(UTC)
    await writer.register_process("tick", "binance:BTC/USDT", status="running", now=now)
    old = await writer.register_process(
        "tick", "kraken:ETH/USD", status="error", now=now - timedelta(hours=2)
    )
    await writer.register_process("bot", "arb", now=now)
    await writer.redis.hset("process:active:ohlcv", "ohlcv:gone:1.0", now.isoformat())  # expired
    await writer.redis.hset("process:active:custom", "custom:x:1.0", now.isoformat())
    await writer.redis.set("process:data:crawler:c:1.0", "nope")
    body = (await client.get("/processes/metrics")).json()
    zero = dict.fromkeys(
        ["account", "bot_status_service", "crawler", "order", "user_trades_service"], 0
    )
    assert body == {
        "total_processes": 4,
        "active_processes": 5,
        "components": 3,
        "active_by_type": zero | {"tick": 2, "bot": 1, "ohlcv": 1, "custom": 1},
        "by_status": {"error": 1, "running": 1, "starting": 1},
        "oldest_heartbeat": body["oldest_heartbeat"],
        "oldest_heartbeat_age_seconds": near(7200),
        "oldest_heartbeat_process": old,
        "skipped": 1,
        "partial": False,
    }
    assert datetime.fromisoformat(body["oldest_heartbeat"]) == now - timedelta(hours=2)


async def test_cache_status(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """INFO fields, and keys counted per fullon_cache domain by a complete SCAN."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=time.time())  # 2 keys
    await writer.upsert_user_account(1, {"USDT": {"total": 1.0}})
    await writer.save_order("binance", {"ex_order_id": "X"})
    await writer.push_open_order("X", "L1")
    await writer.update_bot(1, {"name": "b"})
    await writer.push_trade("binance", {"symbol": "BTC/USDT"})  # queue and TRADE:STATUS
    await writer.update_ohlcv_bars("BTC/USDT", "1m", [[1, 1, 1, 1, 1, 1]])
    await writer.register_process("tick", "c")  # data, active, components
    await writer.redis.set("symbols_list:binance", "{}")  # a legacy key
    body = (await client.get("/status")).json()
    assert body["keys_by_domain"] == {
        "tickers": 2, "accounts": 1, "orders": 2, "bots": 1, "trades": 2, "ohlcv": 1,
        "processes": 3, "other": 1,
    }  # fmt: skip
    assert (body["scanned"], body["partial"]) == (13, False)
    assert 0 < body["budget_ms"] <= 2000 and body["elapsed_ms"] < body["budget_ms"]
    info = body["redis"]
    assert re.fullmatch(r"[0-9]+\.[0-9]+(\.[0-9]+)?", info["version"])
    assert info["uptime_seconds"] >= 0 and info["used_memory"] > 0
    assert info["connected_clients"] >= 1 and info["ops_per_second"] >= 0
    assert info["keyspace"] == {"db0": 13}


async def test_cache_status_budget_makes_it_partial(flushed: RedisServer) -> None:
    """With the budget spent, the SCAN stops after one step and says partial."""
    client = Redis(port=flushed.port)
    try:
        await client.mset({f"k{n}": "1" for n in range(3000)})
        status = await ViewReader(client).cache_status(budget=0.0)
        assert status.partial and 0 < status.scanned < 3000
        assert status.keys_by_domain["other"] == status.scanned
        full = await ViewReader(client).cache_status(budget=5.0)
        assert (full.partial, full.scanned) == (False, 3000)
    finally:
        await client.aclose()


# Every view with a time budget, called on a ViewReader with `budget` seconds, and what its
# answer counts (an answer cut short before any read counts 0).
BUDGETED_VIEWS: dict[str, tuple[Any, Any]] = {
    "portfolio": (
        lambda views, budget: views.portfolio(quote="USDT", exchange=None, budget=budget),
        lambda found: found.count,
    ),
    "ticker_status": (
        lambda views, budget: views.ticker_status(60, budget=budget),
        lambda found: found.symbols,
    ),
    "ohlcv_status": (lambda views, budget: views.ohlcv_status(budget=budget), lambda f: f.count),
    "order_stats": (
        lambda views, budget: views.order_stats(budget=budget),
        lambda found: found.orders + found.queued,
    ),
    "trade_stats": (
        lambda views, budget: views.trade_stats(budget=budget),
        lambda found: found.trades + len(found.statuses),
    ),
    "bot_activity": (
        lambda views, budget: views.bot_activity(60, budget=budget),
        lambda f: f.count,
    ),
    "process_metrics": (
        lambda views, budget: views.process_metrics(budget=budget),
        lambda found: found.total_processes,
    ),
}


@pytest.mark.parametrize("view", sorted(BUDGETED_VIEWS))
async def test_views_stop_when_their_budget_is_spent(
    writer: CacheWriter, flushed: RedisServer, view: str
) -> None:
    """A spent budget: the view reads no more and answers what it has, with partial true."""
    await seed_surface(writer)
    call, counted = BUDGETED_VIEWS[view]
    client = Redis(port=flushed.port)
    try:
        cut = await call(ViewReader(client), 0.0)
        full = await call(ViewReader(client), 5.0)
    finally:
        await client.aclose()
    assert (cut.partial, counted(cut)) == (True, 0)
    assert full.partial is False and counted(full) >= 1


async def test_account_summary_budget_spent_in_the_order_search(
    writer: CacheWriter, flushed: RedisServer
) -> None:
    """One account: a spent budget stops the search of its orders for its exchange."""
    await seed_surface(writer)
    client = Redis(port=flushed.port)
    try:
        views = ViewReader(client)
        cut = await views.account_summary("1", quote="USDT", exchange=None, budget=0.0)
        full = await views.account_summary("1", quote="USDT", exchange=None, budget=5.0)
        given = await views.account_summary("1", quote="USDT", exchange="binance", budget=0.0)
    finally:
        await client.aclose()
    assert (cut.partial, cut.exchange) == (True, None)
    assert (full.partial, full.exchange) == (False, "binance")
    assert (given.partial, given.exchange) == (False, "binance")  # nothing to search


def digest(server: RedisServer) -> dict[str, tuple[str, str, int]]:
    """Every key's type, content digest (DUMP) and TTL presence."""
    with redis.Redis(port=server.port) as admin:
        return {
            key.decode(): (
                admin.type(key).decode(),
                hashlib.sha256(admin.dump(key) or b"").hexdigest(),
                admin.ttl(key) > 0,
            )
            for key in admin.scan_iter(count=1000)
        }


async def test_views_never_change_the_cache(
    client: httpx.AsyncClient, writer: CacheWriter, flushed: RedisServer
) -> None:
    """Every view, called twice over queues and hashes, leaves every key as it was."""
    await seed_bots(writer)
    await writer.push_open_order("EX_1", "L1")
    await writer.push_trade("binance", {"symbol": "BTC/USDT", "side": "buy", "volume": 1.0})
    await writer.push_user_trade(7, "binance", {"symbol": "BTC/USDT", "side": "sell"})
    await writer.upsert_positions(1, [{"symbol": "BTC/USDT", "volume": 1.0, "cost": 1.0}])
    await writer.register_process("tick", "c")
    before = digest(flushed)
    for path in VIEW_PATHS * 2:
        assert (await client.get(path)).status_code in {200, 404}, path
    assert digest(flushed) == before
    assert {"new_orders:L1", "trades:binance:BTCUSDT", "user_trades:7:binance"} <= set(before)


@pytest.fixture
async def owner_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client authenticated by a non-admin key granted ex_id 1, bot 42 and uid 7."""

    async def hook(identity: Identity) -> Ownership:
        return Ownership(ex_ids=frozenset({"1"}), bot_ids=frozenset({"42"}), uids=frozenset({"7"}))

    auth = AuthConfig(api_keys=(ApiKey(name="svc", sha256=hash_api_key("svc-key")),))
    app = create_app(settings=Settings(redis_url=settings.redis_url, auth=auth), ownership=hook)
    async with (
        in_process(app, headers={"X-API-Key": "svc-key"}) as http,
    ):
        yield http


async def test_private_views_are_scoped(owner_app: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A non-admin's views cover only its accounts, orders, trades and bots."""
    for ex_id, uid in ((1, 7), (2, 8)):
        ids = {"ex_id": ex_id, "uid": uid}
        await writer.upsert_user_account(ex_id, {"USDT": {"total": 1.0}})
        await writer.save_order("binance", {"ex_order_id": f"O{ex_id}", "status": "open", **ids})
        await writer.push_trade("binance", {"symbol": "BTC/USDT", "side": "buy", **ids})
        await writer.push_user_trade(uid, "binance", {"symbol": "BTC/USDT", **ids})
    await writer.push_open_order("O1", "L1")
    await seed_bots(writer)
    portfolio = (await owner_app.get("/accounts/summary")).json()
    assert [a["ex_id"] for a in portfolio["accounts"]] == ["1"]
    assert (await owner_app.get("/accounts/2/summary")).status_code == 404
    orders = (await owner_app.get("/orders/stats")).json()
    assert [(k["key"], k["orders"]) for k in orders["keys"]] == [("binance", 1)]
    assert orders["queues"] == []
    trades = (await owner_app.get("/trades/stats")).json()
    assert [(q["key"], q["length"]) for q in trades["queues"]] == [
        ("trades:binance:BTCUSDT", 1), ("user_trades:7:binance", 1),
    ]  # fmt: skip
    assert trades["statuses"] == []
    # Bot 42's blocks on ex_id 1 and on the exchange name binance are its own; 44's are not.
    bots = (await owner_app.get("/bots/activity")).json()
    assert [(b["bot_id"], len(b["blocks"])) for b in bots["bots"]] == [("42", 2)]
