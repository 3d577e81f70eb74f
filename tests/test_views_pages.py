"""The derived views answer pages: `limit` entries, a `next_cursor` to the rest, totals of the
page; following the cursors lists every entry once, and a small answer is unchanged."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
import redis

from fullon_cache_api import Settings
from fullon_cache_api.demo import RedisServer

from .support.big_keys import KEYS, app_client, seed_big

pytestmark = pytest.mark.anyio

ENTRIES = 30
LIMIT = 10
CHUNK = 5
# A page ends with the SCAN or HSCAN reply that reaches its limit (a reply holds whole buckets).
SLACK = 2 * CHUNK

# path -> (list field, the field(s) naming an entry, the totals that sum over the pages)
VIEWS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "/tickers/status": (("exchanges", ("exchange",)),),
    "/ohlcv/status": (("series", ("symbol", "timeframe")),),
    "/orders/stats": (("keys", ("key",)), ("queues", ("local_oid",))),
    "/trades/stats": (("queues", ("key",)), ("statuses", ("key",))),
    "/trades/queue/status": (("queues", ("key",)), ("statuses", ("key",))),
    "/bots/activity": (("bots", ("bot_id",)),),
    "/accounts/summary": (("accounts", ("ex_id",)),),
}
TOTALS = {
    "/tickers/status": ("count", "symbols"),
    "/ohlcv/status": ("count",),
    "/orders/stats": ("count", "orders", "queue_count", "queued"),
    "/trades/stats": ("count", "trades"),
    "/trades/queue/status": ("count",),
    "/bots/activity": ("count",),
    "/accounts/summary": ("count",),
}


def seed(port: int) -> None:
    """seed_big's keys, plus bots that hold marks without a status document, and accounts with
    positions but no balances."""
    seed_big(port, ENTRIES)
    with redis.Redis(port=port) as admin:
        stamp = "2025-06-05T12:00:00+00:00"
        admin.hset("block_exchange", mapping={f"{i}:X/USDT": i for i in range(900, 925)})
        admin.hset(
            "opening_position", mapping={f"{i}:Y/USDT": f"{i}:{stamp}" for i in range(920, 940)}
        )
        document = {"BTC/USDT": {"volume": 1.0, "price": 2.0}, "timestamp": stamp}
        admin.hset(
            "account_positions", mapping={str(i): json.dumps(document) for i in range(700, 725)}
        )


def chunked(settings: Settings) -> Settings:
    """`settings` with a read chunk of CHUNK (SCAN and HSCAN COUNT) and no near cache."""
    return msgspec.structs.replace(settings, read_chunk=CHUNK, near_cache_ttl=0.0)


def names(body: dict[str, Any], field: str, naming: tuple[str, ...]) -> list[tuple[Any, ...]]:
    return [tuple(entry[name] for name in naming) for entry in body[field]]


@pytest.mark.parametrize("path", sorted(VIEWS))
async def test_a_view_pages_through_every_entry_once(
    settings: Settings, flushed: RedisServer, path: str
) -> None:
    """With `limit=10`, pages of about 10 entries and a next_cursor until the last; the pages
    list every entry of the whole answer once, and their totals add up to its totals."""
    seed(flushed.port)
    async with app_client(chunked(settings)) as (client, _):
        whole = (await client.get(path, params={"limit": 1000})).json()
        assert "next_cursor" not in whole  # everything fits: the answer is as before
        pages: list[dict[str, Any]] = []
        cursor = None
        for _ in range(60):  # bounded: a cursor that is not followed must not loop forever
            params: dict[str, Any] = {"limit": LIMIT} | ({"cursor": cursor} if cursor else {})
            response = await client.get(path, params=params)
            assert response.status_code == 200, response.text
            pages.append(response.json())
            cursor = pages[-1].get("next_cursor")
            if cursor is None:
                break
    assert cursor is None
    assert len(pages) >= 3, len(pages)
    for field, naming in VIEWS[path]:
        expected = names(whole, field, naming)
        listed = [name for page in pages for name in names(page, field, naming)]
        assert sorted(listed) == sorted(expected), field
        assert len(expected) >= KEYS // 2 if field != "bots" else len(expected) > ENTRIES
    for page in pages:
        entries = sum(len(page[field]) for field, _ in VIEWS[path])
        assert entries <= LIMIT + SLACK, entries
        assert page["partial"] is False
    for total in TOTALS[path]:
        assert sum(page[total] for page in pages) == whole[total], total


async def test_bots_with_marks_only_come_after_the_documents(
    settings: Settings, flushed: RedisServer
) -> None:
    """/bots/activity lists the bots with a status document first, then those holding marks
    only (`known` false) by bot id, with every mark they hold."""
    seed(flushed.port)
    async with app_client(chunked(settings)) as (client, _):
        known: list[dict[str, Any]] = []
        unknown: list[dict[str, Any]] = []
        cursor = None
        for _ in range(60):
            params: dict[str, Any] = {"limit": 7} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/bots/activity", params=params)).json()
            for bot in page["bots"]:
                (known if bot["known"] else unknown).append(bot)
                assert not (bot["known"] and unknown), "a known bot after the unknown ones"
            if (cursor := page.get("next_cursor")) is None:
                break
    assert len(known) == ENTRIES
    assert [bot["bot_id"] for bot in unknown] == [str(i) for i in range(900, 940)]
    marks = {bot["bot_id"]: (len(bot["blocks"]), len(bot["opening_positions"])) for bot in unknown}
    assert marks["900"] == (1, 0) and marks["922"] == (1, 1) and marks["939"] == (0, 1)
