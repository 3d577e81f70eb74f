"""WebSocket actions read like the HTTP routes: pages bounded by the route's maximum, cursors
on /ws/v2, and one HGET for ``is_blocked``, whatever the size of a key."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import connect

from fullon_cache_api import Settings
from fullon_cache_api.demo import RedisServer

from .support.big_keys import seed_big
from .support.credentials import ADMIN_KEY
from .support.monitor import monitored
from .support.streams import Gateway, serve
from .support.ws_surface import frame

pytestmark = pytest.mark.anyio

BIG = 1200  # more than the original actions' old default pages (100 and 1000)
# A hash page ends with the HSCAN reply that reaches its limit: a reply may hold a few more
# fields (Redis returns whole buckets).
SLACK = 10
IDENTITY = {"tickers": "symbol", "bots": "bot_id", "positions": "ex_id", "processes": "process_id"}
# What a new connection sends before the first command.
_HANDSHAKE = {"CLIENT", "HELLO", "SELECT", "AUTH", "READONLY"}


@pytest.fixture
async def gateway(settings: Settings, flushed: RedisServer) -> AsyncIterator[Gateway]:
    seed_big(flushed.port, BIG)
    async with serve(settings) as running:
        yield running


async def ask(gateway: Gateway, dialect: str, domain: str, action: str, **params: Any) -> Any:
    """One action on a fresh socket of `dialect` (``v2`` or ``original``): its result."""
    base = "/ws/v2" if dialect == "v2" else "/ws"
    async with connect(f"{gateway.ws_url}{base}/{domain}/c?token={ADMIN_KEY}", max_size=None) as ws:
        await ws.send(json.dumps({"action": action, "request_id": "r", "params": params}))
        reply = await frame(ws)
    assert reply["success"] is True, reply
    return reply["result"]


@pytest.mark.parametrize("dialect", ["v2", "original"])
async def test_is_blocked_reads_one_field(
    gateway: Gateway, flushed: RedisServer, dialect: str
) -> None:
    """is_blocked over 1,200 blocks: one HGET of its field (no walk of the hash), and a block
    past any page of the listing is found."""
    with monitored(flushed.port) as commands:
        found = await ask(gateway, dialect, "bots", "is_blocked", exchange="1299", symbol="S/USDT")
        missing = await ask(gateway, dialect, "bots", "is_blocked", exchange="1", symbol="S/USDT")
    assert (found["is_blocked"], found["blocked_by"]) == (True, "1299")
    assert (missing["is_blocked"], missing["blocked_by"]) == (False, None)
    assert sorted(name for _, name in commands if name not in _HANDSHAKE) == ["HGET", "HGET"]


async def test_original_everything_actions_answer_the_largest_page(gateway: Gateway) -> None:
    """The original's "every" actions keep their shape and answer one page of the route's
    maximum: 1,200 tickers (maximum 10,000), about 1,000 of 1,200 bots and accounts (maximum
    1,000)."""
    tickers = await ask(gateway, "original", "tickers", "get_all_tickers", exchange="binance")
    bots = await ask(gateway, "original", "bots", "get_bots")
    positions = await ask(gateway, "original", "accounts", "get_positions", user_id="1")
    assert len(tickers["tickers"]) == BIG
    assert 1000 <= len(bots["bots"]) <= 1000 + SLACK
    assert 1000 <= positions["count"] == len(positions["positions"]) <= 1000 + SLACK


@pytest.mark.parametrize(
    ("domain", "action", "params", "items", "limit"),
    [
        ("tickers", "get_all_tickers", {"exchange": "binance"}, "tickers", 500),
        ("bots", "get_bots", {}, "bots", 500),
        ("accounts", "get_positions", {}, "positions", 500),
        ("process", "get_active_processes", {"since_minutes": 60}, "processes", 500),
    ],
)
async def test_v2_list_actions_page_with_limit_and_cursor(
    gateway: Gateway,
    domain: str,
    action: str,
    params: dict[str, Any],
    items: str,
    limit: int,
) -> None:
    """A /ws/v2 list action answers `limit` entries and a next_cursor; following the cursors
    reads every entry once."""
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    for _ in range(10):  # bounded: a cursor that is not followed must not loop forever
        pages += 1
        page_params = {**params, "limit": limit} | ({"cursor": cursor} if cursor else {})
        page = await ask(gateway, "v2", domain, action, **page_params)
        assert len(page[items]) <= limit + SLACK
        seen.extend(str(entry[IDENTITY[items]]) for entry in page[items])
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    assert cursor is None
    assert pages >= 3
    assert len(seen) == len(set(seen)) == BIG


async def test_v2_trades_and_bars_continue_with_a_cursor(gateway: Gateway) -> None:
    """get_trades and get_latest_ohlcv_bars take the cursor of their page: the next page holds
    the entries just older."""
    market = {"exchange": "binance", "symbol": "BTC/USDT", "count": 5}
    newest = await ask(gateway, "v2", "trades", "get_trades", **market)
    older = await ask(gateway, "v2", "trades", "get_trades", **market, cursor=newest["next_cursor"])
    assert [t["trade_id"] for t in newest["trades"]] == list(range(100 + BIG - 5, 100 + BIG))
    assert [t["trade_id"] for t in older["trades"]] == list(range(100 + BIG - 10, 100 + BIG - 5))
    bars = {"symbol": "BTC/USDT", "timeframe": "1m", "count": 5}
    first = await ask(gateway, "v2", "ohlcv", "get_latest_ohlcv_bars", **bars)
    second = await ask(
        gateway, "v2", "ohlcv", "get_latest_ohlcv_bars", **bars, cursor=first["next_cursor"]
    )
    assert second["bars"][-1][0] == first["bars"][0][0] - 60


async def test_original_bot_stream_of_one_bot_reads_that_field(
    gateway: Gateway, flushed: RedisServer
) -> None:
    """The original stream_bot_status with a bot_id, over 1,200 bots: the push holds that bot
    (wherever HSCAN would page it), and its poller reads that one field (HMGET), no walk."""
    url = f"{gateway.ws_url}/ws/bots/c?token={ADMIN_KEY}"
    with monitored(flushed.port) as commands:
        async with connect(url, max_size=None) as ws:
            request = {
                "action": "stream_bot_status",
                "request_id": "s",
                "params": {"bot_id": "1234"},
            }
            await ws.send(json.dumps(request))
            assert (await frame(ws))["success"] is True
            push = await frame(ws)
    assert list(push["result"]["bots"]) == ["1234"]
    names = {name for _, name in commands if name not in _HANDSHAKE}
    assert names == {"HMGET"}, names
