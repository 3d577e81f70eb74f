"""The client against a real gateway in-process (httpx.ASGITransport) over a real Redis:
every method decodes its route's answer, problems become exceptions, retries are bounded and
honour Retry-After, pages are followed, and the poller yields changes only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import msgspec
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from fullon_cache_api import Settings, create_app, lifespan
from fullon_cache_api._settings import AuthConfig
from fullon_cache_api.client import (
    AsyncCacheClient,
    BarPage,
    CacheApiError,
    CorruptEntry,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Retry,
    TickerPage,
    Timeout,
    Unauthorized,
    Unavailable,
)
from fullon_cache_api.client._endpoints import Endpoint
from fullon_cache_api.client.errors import error_from_response
from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.structs.tickers import Ticker, TickerList

from .support.client_endpoints import client_endpoints, sample_request
from .support.credentials import ADMIN_KEY
from .support.surface import seed_surface

pytestmark = pytest.mark.anyio

WAIT = 10  # seconds: the bound of every wait in this module


class Counting(httpx.AsyncBaseTransport):
    """A transport passing every request to a real one, noting each answer's status."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.statuses: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.statuses.append(response.status_code)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def served(app: Starlette) -> AsyncIterator[Counting]:
    """The app's lifespan entered, and a counting in-process transport to it."""
    async with app.router.lifespan_context(app):
        yield Counting(httpx.ASGITransport(app=app))


def cache_client(transport: httpx.AsyncBaseTransport, **options: Any) -> AsyncCacheClient:
    return AsyncCacheClient("http://gateway", transport=transport, **options)


async def test_every_method_decodes_its_routes_answer(
    served: Counting, writer: CacheWriter
) -> None:
    """Each HTTP method, called for the surface's seeded data, answers its Struct."""
    await seed_surface(writer)
    async with cache_client(served, api_key=ADMIN_KEY) as cache:
        for name, endpoint in client_endpoints().items():
            if isinstance(endpoint, Endpoint):
                answer = await cache.send(sample_request(name, endpoint))
                assert isinstance(answer, endpoint.response), name
        ticker = await cache.ticker("binance", "BTC/USDT")
        page = await cache.tickers("binance")
        bars = await cache.ohlcv("BTC/USDT", "1m")
        assert isinstance(ticker, Ticker) and ticker.price == 50000.0
        assert isinstance(page, TickerList) and isinstance(page.tickers[0], Ticker)
        assert page.tickers[0].price == 50000.0
        assert isinstance(bars, BarPage) and bars.bars == [[1717584000, 1, 2, 0.5, 1.5, 10.0]]
        assert "paths" in await cache.openapi()
        assert "# TYPE" in await cache.metrics()  # Prometheus text, not JSON
    assert set(served.statuses) == {200}


async def test_base_url_under_a_hosts_mount(settings: Settings, writer: CacheWriter) -> None:
    """`base_url` may name the gateway under a host's mount (``/api/v1/cache``)."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.5, time=time.time())
    gateway = create_app(settings=settings)
    host = Starlette(routes=[Mount("/api/v1/cache", app=gateway)])
    async with (
        lifespan(gateway),
        AsyncCacheClient(
            "http://host/api/v1/cache/",
            api_key=ADMIN_KEY,
            transport=httpx.ASGITransport(app=host),
        ) as cache,
    ):
        assert (await cache.ticker("binance", "BTC/USDT")).price == 1.5


async def test_token_authenticates_as_the_jwt_user(settings: Settings, writer: CacheWriter) -> None:
    """`token=` is sent as a bearer JWT: the admin named by it reads private data."""
    secret = "client-test-secret-with-enough-length-for-hs256"
    auth = AuthConfig(jwt_secret_key=secret, admin_mail="admin@fullon.test")
    app = create_app(settings=Settings(redis_url=settings.redis_url, auth=auth))
    claims = {"sub": "admin@fullon.test", "user_id": 1, "exp": int(time.time()) + 600}
    await writer.upsert_user_account(1, {"USDT": {"free": 1.0, "used": 0.0, "total": 1.0}})
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with cache_client(transport, token=jwt.encode(claims, secret)) as cache:
            assert (await cache.account(1)).ex_id == "1"
        async with cache_client(transport, token="not-a-jwt") as cache:
            with pytest.raises(Unauthorized):
                await cache.account(1)
    with pytest.raises(ValueError, match="not both"):
        AsyncCacheClient(token="t", api_key="k")


async def test_problems_become_exceptions(served: Counting) -> None:
    """401, 404 and 422 problem documents raise their exceptions with the whole document."""
    async with cache_client(served) as anonymous:
        with pytest.raises(Unauthorized) as refused:
            await anonymous.accounts()
    assert refused.value.status == 401 and refused.value.title == "Not authenticated"
    assert refused.value.type == "urn:fullon-cache-api:problem:not-authenticated"
    async with cache_client(served, api_key=ADMIN_KEY) as cache:
        with pytest.raises(NotFound) as missing:
            await cache.ticker("binance", "NOPE/USDT")
        with pytest.raises(InvalidInput) as invalid:
            await cache.tickers("binance", cursor="not-a-cursor")
    assert missing.value.status == 404 and "NOPE/USDT" in missing.value.detail
    assert missing.value.problem["status"] == 404
    assert invalid.value.status == 422 and isinstance(invalid.value, CacheApiError)


async def test_retry_is_opt_in_and_bounded(served: Counting, flushed: RedisServer) -> None:
    """Redis down (503, Retry-After: 1): without retry one request; with 3 attempts three,
    then Unavailable carrying the Retry-After; the wait is capped by `max_wait`."""
    flushed.stop()
    async with cache_client(served, api_key=ADMIN_KEY) as cache:
        with pytest.raises(Unavailable) as once:
            await cache.exchanges()
    assert served.statuses == [503] and once.value.retry_after == 1.0
    retry = Retry(attempts=3, max_wait=0.01)
    async with cache_client(served, api_key=ADMIN_KEY, retry=retry) as cache:
        async with asyncio.timeout(WAIT):
            with pytest.raises(Unavailable):
                await cache.exchanges()
    assert served.statuses == [503] * 4


async def test_retry_succeeds_once_redis_is_back(served: Counting, flushed: RedisServer) -> None:
    """A call retried while Redis restarts answers 200 after some 503s."""
    flushed.stop()
    retry = Retry(attempts=200, max_wait=0.02)
    async with cache_client(served, api_key=ADMIN_KEY, retry=retry) as cache:
        call = asyncio.create_task(cache.exchanges())
        async with asyncio.timeout(WAIT):
            while len(served.statuses) < 2:  # noqa: ASYNC110  # polling a counter
                await asyncio.sleep(0.01)
            await asyncio.to_thread(flushed.start)
            answer = await call
    assert answer.count == 0
    assert served.statuses[-1] == 200 and served.statuses.count(503) >= 2


def test_retry_waits_what_retry_after_says() -> None:
    """The wait is Retry-After when given (seconds or HTTP date), else the doubling backoff,
    never beyond `max_wait`."""
    from fullon_cache_api.client.errors import retry_after

    retry = Retry(attempts=5, backoff=0.5, max_wait=4.0)
    assert [retry.wait(n, None) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert retry.wait(1, 3.0) == 3.0 and retry.wait(1, 60.0) == 4.0
    assert retry_after("7") == 7.0 and retry_after(None) is None and retry_after("soon") is None
    assert retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now=90.0) == 10.0


async def test_pages_and_items_follow_next_cursor(served: Counting, writer: CacheWriter) -> None:
    """``.pages()`` follows ``next_cursor`` to the last page; ``.items()`` yields every item."""
    bars = [[1717584000 + 60 * n, 1, 2, 0.5, 1.5, float(n)] for n in range(5)]
    await writer.update_ohlcv_bars("BTC/USDT", "1m", bars)
    for exchange in ("binance", "kraken", "bybit"):
        await writer.set_ticker(exchange, "BTC/USDT", price=1.0, time=time.time())
    async with cache_client(served, api_key=ADMIN_KEY) as cache:
        pages = [page async for page in cache.ohlcv.pages("BTC/USDT", "1m", limit=2)]
        items = [bar async for bar in cache.ohlcv.items("BTC/USDT", "1m", limit=2)]
        exchanges = [e.exchange async for e in cache.exchanges.items(limit=1)]
    assert [page.count for page in pages] == [2, 2, 1]
    assert sorted(items) == bars  # newest page first, each oldest first
    assert sorted(exchanges) == ["binance", "bybit", "kraken"]


async def test_poll_yields_changes_only(served: Counting, writer: CacheWriter) -> None:
    """The poller revalidates with If-None-Match: unchanged answers are 304s and yield
    nothing; a new price yields the new ticker."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=time.time())
    seen: list[float | None] = []

    async def until(check: Any) -> None:
        while not check():  # noqa: ASYNC110  # polling a counter
            await asyncio.sleep(0.01)

    async with cache_client(served, api_key=ADMIN_KEY) as cache:
        request = cache.ticker.request("binance", "BTC/USDT")

        async def follow() -> None:
            async for ticker in cache.poll(request, interval=0.01):
                seen.append(ticker.price)

        task = asyncio.create_task(follow())
        try:
            async with asyncio.timeout(WAIT):
                await until(lambda: seen and served.statuses.count(304) >= 3)
                await writer.set_ticker("binance", "BTC/USDT", price=2.0, time=time.time())
                await until(lambda: len(seen) == 2)
                await until(lambda: served.statuses.count(304) >= 6)  # unchanged again
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert seen == [1.0, 2.0]
    assert served.statuses.count(304) >= 3 and served.statuses.count(200) == 2


def test_ticker_pages_decode_as_the_gateways_struct() -> None:
    """`TickerPage` is a `TickerList` whose tickers are `Ticker` Structs."""
    body = b'{"exchange":"b","count":1,"skipped":0,"tickers":[{"exchange":"b","symbol":"X",'
    body += b'"price":1.0,"volume":null,"bid":null,"ask":null,"last":null,"time":null,'
    body += b'"age_seconds":null}]}'
    page = msgspec.json.decode(body, type=TickerPage)
    assert isinstance(page, TickerList) and isinstance(page.tickers[0], Ticker)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, InvalidInput),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (414, InvalidInput),
        (422, InvalidInput),
        (429, RateLimited),
        (502, CorruptEntry),
        (503, Unavailable),
        (504, Timeout),
        (500, CacheApiError),
    ],
)
def test_each_status_raises_its_exception(status: int, kind: type[CacheApiError]) -> None:
    """A problem document of each status becomes its exception, with the document's members
    and the Retry-After; a body that is not a problem still gives the status and reason."""
    problem = {"type": "urn:x", "title": "T", "status": status, "detail": "D"}
    response = httpx.Response(status, json=problem, headers={"Retry-After": "2"})
    error = error_from_response(response, response.content)
    assert type(error) is kind and isinstance(error, CacheApiError)
    assert (error.status, error.type, error.title, error.detail) == (status, "urn:x", "T", "D")
    assert error.problem == problem and error.retry_after == 2.0
    bare = httpx.Response(status, text="<html>oops</html>")
    error = error_from_response(bare, bare.content)
    assert type(error) is kind and error.title == bare.reason_phrase and error.problem == {}
