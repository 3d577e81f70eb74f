"""Stream pieces that need no server: settings, SSE framing, pattern escaping, no-lifespan use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from fullon_cache_api import Settings, SettingsError, create_app
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.streams import Event, StreamSettings
from fullon_cache_api.streams._specs import TickerExchange
from fullon_cache_api.streams._sse import frame

from .support.credentials import HEADERS
from .support.streams import fast_streams, serve_asgi, sse

pytestmark = pytest.mark.anyio


def test_stream_settings_from_environment() -> None:
    """FULLON_CACHE_API_STREAM_* set the stream settings; unset ones keep their defaults."""
    settings = StreamSettings.from_env(
        {"FULLON_CACHE_API_STREAM_HEARTBEAT": "3", "FULLON_CACHE_API_STREAM_QUEUE_SIZE": " 64 "}
    )
    assert (settings.heartbeat, settings.queue_size) == (3.0, 64)
    assert settings.poll_interval == 1.0 == StreamSettings().poll_interval
    with pytest.raises(SettingsError, match="FULLON_CACHE_API_STREAM_HEARTBEAT='0' is invalid"):
        StreamSettings.from_env({"FULLON_CACHE_API_STREAM_HEARTBEAT": "0"})


def test_create_app_takes_stream_settings(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`streams=` wins; explicit `settings` ignore the environment; none read it."""
    monkeypatch.setenv("FULLON_CACHE_API_STREAM_HEARTBEAT", "7")
    assert create_app(settings=settings).state.hub.settings.heartbeat == 15.0
    given = StreamSettings(heartbeat=2.0)
    assert create_app(settings=settings, streams=given).state.hub.settings is given
    monkeypatch.setenv("REDIS_URL", settings.redis_url or "")
    assert create_app().state.hub.settings.heartbeat == 7.0  # all from the environment


def test_sse_frame_is_event_id_and_one_data_line() -> None:
    """A frame: ``event:``, ``id:``, one ``data:`` line, a blank line."""
    event = Event("update", b'{"price":1.5}')
    assert frame(event, 12) == b'event: update\nid: 12\ndata: {"price":1.5}\n\n'


def test_exchange_pattern_escapes_glob_characters() -> None:
    """An exchange name is escaped in its PSUBSCRIBE pattern (the path pattern forbids
    globs too, this is defence in depth)."""
    assert TickerExchange("binance").topic == ("pattern", "ticker_updates:binance:*")
    assert TickerExchange("a*b?[c]\\").topic == (
        "pattern",
        "ticker_updates:a\\*b\\?\\[c\\]\\\\:*",
    )


async def test_streams_work_when_mounted_without_our_lifespan(
    settings: Settings, writer: CacheWriter
) -> None:
    """Mounted in a host that never runs our lifespan: the hub starts on the first stream."""
    await writer.set_ticker("binance", "BTC/USDT", price=5.0, time=1.0)
    cache = create_app(settings=settings, streams=fast_streams())

    @asynccontextmanager
    async def host_lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:  # the host's own clean-up, not ours: only what the test must close
            await cache.state.hub.aclose()
            await cache.state.reader.redis.aclose()

    host = Starlette(routes=[Mount("/api/v1/cache", app=cache)], lifespan=host_lifespan)
    async with (
        serve_asgi(host) as url,
        httpx.AsyncClient(base_url=f"{url}/api/v1/cache", headers=HEADERS) as http,
        sse(http, "/tickers/binance/BTC/USDT/stream") as stream,
    ):
        assert (await stream.next()).data["price"] == 5.0
        await writer.set_ticker("binance", "BTC/USDT", price=6.0, time=1.0)
        assert (await stream.next()).data["price"] == 6.0
