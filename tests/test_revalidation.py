"""Answers with ages (tickers, processes, views) revalidate: their weak ETag leaves the ages
out, so a poll answers 304 while the cached data behind it is unchanged, and 200 once it
changes."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import msgspec
import pytest

from fullon_cache_api import Settings, create_app
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.http._http_cache import etag_of, weak_etag_of
from fullon_cache_api.http._openapi import build_openapi
from fullon_cache_api.routes._common import ApiRoute

from .support.surface import SAMPLES, seed_surface

pytestmark = pytest.mark.anyio
EVENT_STREAM = "text/event-stream"

# Every route whose answer carries an age, with the sample path the crawls use.
AGED = [
    "/tickers/{exchange}",
    "/tickers/{exchange}/{symbol:path}",
    "/processes",
    "/processes/{process_id:path}",
    "/accounts/summary",
    "/accounts/{ex_id}/summary",
    "/tickers/status",
    "/ohlcv/status",
    "/trades/stats",
    "/bots/activity",
    "/processes/metrics",
    "/processes/status",
    "/trades/queue/status",
]


@pytest.fixture
async def seeded(writer: CacheWriter) -> CacheWriter:
    await seed_surface(writer)
    return writer


async def fetch(client: httpx.AsyncClient, path: str, tag: str | None = None) -> httpx.Response:
    headers = {"If-None-Match": tag} if tag else {}
    return await client.get(path, headers=headers)


@pytest.mark.parametrize("template", AGED)
async def test_aged_answers_revalidate_while_data_is_unchanged(
    client: httpx.AsyncClient, seeded: CacheWriter, template: str
) -> None:
    """Two polls of an answer with ages, the clock moved between them: the second is a 304
    with the same weak ETag (before, every poll was a 200 with a new tag)."""
    first = await fetch(client, SAMPLES[template])
    assert first.status_code == 200 and "age_seconds" in first.text
    tag = first.headers["etag"]
    assert tag.startswith('W/"')
    await asyncio.sleep(0.02)  # every age in the answer moves on by 20 ms
    second = await fetch(client, SAMPLES[template], tag)
    assert second.status_code == 304, second.text
    assert second.headers["etag"] == tag and second.content == b""
    assert (await fetch(client, SAMPLES[template])).headers["etag"] == tag


async def test_a_new_value_gets_a_new_tag(client: httpx.AsyncClient, seeded: CacheWriter) -> None:
    """A ticker written again (new price, new time) answers 200 with another tag."""
    path = "/tickers/binance/BTC/USDT"
    tag = (await fetch(client, path)).headers["etag"]
    await seeded.set_ticker("binance", "BTC/USDT", price=50001.0, volume=1.0, time=time.time())
    changed = await fetch(client, path, tag)
    assert changed.status_code == 200 and changed.json()["price"] == 50001.0
    assert changed.headers["etag"] != tag
    assert (await fetch(client, path, changed.headers["etag"])).status_code == 304


async def test_gzip_variant_revalidates_too(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A list large enough to be gzipped: its tag is W/"<hash>-gzip", and it revalidates."""
    for n in range(20):
        await writer.set_ticker(
            "binance", f"C{n}/USDT", price=1.0 + n, volume=1.0, time=time.time()
        )
    headers = {"Accept-Encoding": "gzip"}
    first = await client.get("/tickers/binance", headers=headers)
    assert first.headers["content-encoding"] == "gzip"
    tag = first.headers["etag"]
    assert tag.startswith('W/"') and tag.endswith('-gzip"')
    await asyncio.sleep(0.02)
    second = await client.get("/tickers/binance", headers={**headers, "If-None-Match": tag})
    assert second.status_code == 304


async def test_answers_without_ages_keep_strong_tags(
    client: httpx.AsyncClient, seeded: CacheWriter
) -> None:
    """Bars, orders, bots and lists without ages keep a strong ETag over the whole body."""
    for path in ("/ohlcv/BTC/USDT/1m", "/orders/binance", "/bots", "/tickers"):
        response = await client.get(path)
        assert response.headers["etag"] == etag_of(response.content), path


def encoded(**fields: Any) -> bytes:
    return msgspec.json.encode(fields)


def test_weak_tag_leaves_out_ages_only() -> None:
    """The weak tag ignores every ``…age_seconds`` value (numbers, null, negative) and nothing
    else: a flag derived from the clock, a price, or an age-like text inside a string
    changes it."""
    base = {"price": 1.5, "stale": False, "message": 'x "age_seconds":1'}
    ages = {"age_seconds": 0.5, "heartbeat_age_seconds": None, "oldest_age_seconds": -2.0}
    tag = weak_etag_of(encoded(**base, **ages))
    moved = {"age_seconds": 9.75, "heartbeat_age_seconds": 3.0, "oldest_age_seconds": 1e-05}
    assert weak_etag_of(encoded(**base, **moved)) == tag
    for change in ({"stale": True}, {"price": 1.6}, {"message": 'x "age_seconds":2'}):
        assert weak_etag_of(encoded(**{**base, **change}, **ages)) != tag


def _has_ages(schema: Any, components: dict[str, Any], seen: set[str]) -> bool:
    """Whether `schema` (resolving $refs into `components`) has an ``…age_seconds`` property."""
    if isinstance(schema, list):
        return any(_has_ages(item, components, seen) for item in schema)
    if not isinstance(schema, dict):
        return False
    ref = schema.get("$ref", "")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            return False
        seen.add(name)
        return _has_ages(components[name], components, seen)
    if any(key.endswith("age_seconds") for key in schema.get("properties", {})):
        return True
    return any(_has_ages(value, components, seen) for value in schema.values())


def test_routes_declare_ages_exactly_when_their_answers_hold_some() -> None:
    """`ApiRoute(ages=True)` is set on every JSON route whose response schema has an age, and
    on no other: a new route cannot be left with a tag that changes on every poll."""
    app = create_app(settings=Settings())
    document = build_openapi(app.routes)
    components = document["components"]["schemas"]
    declared, found = set(), set()
    for route in app.routes:
        if not isinstance(route, ApiRoute) or getattr(route, "media_type", "") == EVENT_STREAM:
            continue
        path = re.sub(r"\{(\w+)(?::\w+)?\}", r"{\1}", route.path)
        schema = document["paths"][path]["get"]["responses"]["200"]["content"]
        if _has_ages(schema["application/json"]["schema"], components, set()):
            found.add(route.path)
        if route.ages:
            declared.add(route.path)
    assert declared == found
    assert set(AGED) == found
    asyncio.run(app.state.reader.redis.aclose())
