"""The gateway's one pass (`GatewayMiddleware`) and its app class (`GatewayApp`): errors,
refusals, logging, user middleware and hosts behave as Starlette's layered stack did."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from fullon_cache_api import Settings, create_app
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.http._middleware import GatewayMiddleware
from fullon_cache_api.http._router import SegmentRouter
from fullon_cache_api.observability import log_request
from fullon_cache_api.security._auth import IDENTITY_SCOPE_KEY

from .support.credentials import ADMIN_KEY

pytestmark = pytest.mark.anyio

ADMIN = {"X-API-Key": ADMIN_KEY}


async def _boom(request: Request) -> Response:
    raise ZeroDivisionError("a bug in an endpoint")


@pytest.fixture
async def built(settings: Settings) -> AsyncIterator[Callable[..., Starlette]]:
    """create_app with a failing route added; every app built is closed at teardown."""
    apps: list[Starlette] = []

    def make(**kwargs: object) -> Starlette:
        app = create_app(settings=settings, **kwargs)  # type: ignore[arg-type]
        app.routes.append(Route("/boom", _boom))
        apps.append(app)
        return app

    yield make
    for app in apps:
        await app.state.reader.redis.aclose()


def open_client(app: ASGIApp, *, raise_errors: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_errors)
    return httpx.AsyncClient(transport=transport, base_url="http://g", headers=ADMIN)


async def test_the_stack_is_one_pass_around_the_router(built: Callable[..., Starlette]) -> None:
    """create_app returns a Starlette app whose stack is the one pass, then the router."""
    app = built()
    assert isinstance(app, Starlette)
    async with open_client(app) as http:
        assert (await http.get("/health")).status_code == 200
    assert isinstance(app.middleware_stack, GatewayMiddleware)
    assert isinstance(app.middleware_stack.app, SegmentRouter)


async def test_unexpected_error_is_a_logged_500_problem(
    built: Callable[..., Starlette], caplog: pytest.LogCaptureFixture
) -> None:
    """A bug answers a 500 problem, logs its traceback, and still reaches the server."""
    app = built()
    with caplog.at_level(logging.ERROR, logger="fullon.api.cache"):
        async with open_client(app, raise_errors=False) as http:
            response = await http.get("/boom")
        async with open_client(app) as http:
            with pytest.raises(ZeroDivisionError):
                await http.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "The gateway failed unexpectedly."
    assert "vary" not in response.headers  # sent as Starlette's outermost layer sent it
    failures = [r for r in caplog.records if r.exc_info and "/boom" in r.getMessage()]
    assert failures and failures[0].exc_info[0] is ZeroDivisionError  # type: ignore[index]


async def test_debug_shows_starlettes_traceback_page(built: Callable[..., Starlette]) -> None:
    """debug=True keeps Starlette's debug answer for unexpected errors."""
    app = built(debug=True)
    async with open_client(app, raise_errors=False) as http:
        response = await http.get("/boom", headers={"Accept": "text/html"})
    assert response.status_code == 500
    assert "ZeroDivisionError" in response.text and "<html>" in response.text.lower()


async def test_method_not_allowed_is_a_problem_with_allow(client: httpx.AsyncClient) -> None:
    """POST to a GET route: 405 problem naming the allowed methods."""
    response = await client.post("/tickers")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}


async def test_refusals_are_counted_and_logged(
    app: Starlette, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """401 and 414 refusals show in metrics and in the request log: a 401 on a real route
    under that route's template (streams and docs included), a 414 or an unknown path under
    ``unrouted``."""
    caplog.set_level(logging.INFO, logger="fullon.api.cache")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        assert (await c.get("/tickers")).status_code == 401
        assert (await c.get("/tickers/binance/BTC/USDT/stream")).status_code == 401
        assert (await c.get("/nowhere")).status_code == 401
        assert (await c.get("/tickers/" + "a" * 3000)).status_code == 414
    scraped = (await client.get("/metrics")).text
    assert 'requests_total{method="GET",route="/tickers",status="401"} 1.0' in scraped
    stream = "/tickers/{exchange}/{symbol:path}/stream"
    assert f'requests_total{{method="GET",route="{stream}",status="401"}} 1.0' in scraped
    assert 'requests_total{method="GET",route="unrouted",status="401"} 1.0' in scraped
    assert 'requests_total{method="GET",route="unrouted",status="414"} 1.0' in scraped
    logged = {(getattr(r, "route", None), getattr(r, "status", None)) for r in caplog.records}
    assert {("/tickers", 401), (stream, 401), ("unrouted", 401), ("unrouted", 414)} <= logged
    operations = {r.operation for r in caplog.records if getattr(r, "route", "") == "/tickers"}
    assert operations == {"list_exchanges"}


def test_log_fields_are_built_only_when_info_is_on() -> None:
    """With INFO off for the domain logger, the record's fields are never computed."""

    class Untouchable(dict[str, str]):
        def items(self) -> Iterator[tuple[str, str]]:  # type: ignore[override]
            raise AssertionError("fields built for a disabled logger")

    scope = {"path_params": Untouchable(), "endpoint": _boom}
    logger = logging.getLogger("fullon.api.cache.http")
    previous = logger.level
    logger.setLevel(logging.WARNING)
    try:
        log_request(scope, 200, 1.0)
        logger.setLevel(logging.INFO)
        with pytest.raises(AssertionError, match="disabled logger"):
            log_request(scope, 200, 1.0)
    finally:
        logger.setLevel(previous)


class Tagger:
    """A user middleware: it sees the identity the gateway attached, and tags the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = scope[IDENTITY_SCOPE_KEY].name.encode()

        async def tag(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-seen-by", name)]  # type: ignore[misc]
            await send(message)

        await self.app(scope, receive, tag)


async def test_user_middleware_runs_inside_the_pass(built: Callable[..., Starlette]) -> None:
    """app.add_middleware still works: between the gateway's pass and the router."""
    app = built()
    app.add_middleware(Tagger)
    async with open_client(app) as http:
        response = await http.get("/tickers")
    assert response.status_code == 200 and response.headers["x-seen-by"] == "tests"


class HostAuth(BaseHTTPMiddleware):
    """Like the master's JWT middleware: a BaseHTTPMiddleware in the host."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        return await call_next(request)


@pytest.mark.parametrize("host_kind", ["starlette", "fastapi"])
async def test_errors_stay_problems_under_a_host(
    host_kind: str, built: Callable[..., Starlette], writer: CacheWriter
) -> None:
    """Mounted under a host with BaseHTTPMiddleware (FastAPI's handlers included), unknown
    paths, missing docs assets and missing data are our problem documents, not the host's."""
    cache_app = built()
    host: Starlette
    if host_kind == "fastapi":
        host = FastAPI()
        host.add_middleware(HostAuth)
        host.mount("/api/v1/cache", cache_app)
    else:
        host = Starlette(routes=[Mount("/api/v1/cache", cache_app)])
        host.add_middleware(HostAuth)
    async with open_client(host) as http:
        for path in ("/nope", "/docs/assets/nope.js", "/tickers/binance/BTC/USDT"):
            response = await http.get("/api/v1/cache" + path)
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/problem+json", path
            assert response.json()["status"] == 404


async def test_openapi_document_is_still_validated_and_gzipped(
    client: httpx.AsyncClient,
) -> None:
    """A body no MsgspecResponse built (the OpenAPI document) gets ETag, gzip and 304."""
    async with client.stream("GET", "/openapi.json", headers={"Accept-Encoding": "gzip"}) as r:
        assert r.headers["content-encoding"] == "gzip"
        tag = r.headers["etag"]
    assert tag.endswith('-gzip"') and r.headers["vary"] == "Accept-Encoding"
    again = await client.get("/openapi.json", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""


async def test_head_is_answered_with_the_get_etag(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """HEAD on a data route: 200, the ETag of the GET body, no body."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=time.time())
    await writer.update_ohlcv_bars("BTC/USDT", "1m", [[1717584000, 1, 2, 0.5, 1.5, 10.0]])
    get = await client.get("/ohlcv/BTC/USDT/1m")
    head = await client.head("/ohlcv/BTC/USDT/1m")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
