"""HTTP caching and compression: strong ETag, 304, Cache-Control, gzip; streams untouched."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.http._http_cache import HttpCacheMiddleware, etag_of
from fullon_cache_api.http._responses import MsgspecResponse

pytestmark = pytest.mark.anyio

IDENTITY = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}


BARS = "/ohlcv/BTC/USDT/1m?limit=1000"


async def bars(writer: CacheWriter, count: int, first: int = 1717584000) -> None:
    """`count` one-minute bars; ~60 of them make a body over the 1 KB gzip threshold.

    Bars carry no age (unlike tickers, whose ``age_seconds`` changes every request), so an
    unchanged series has an unchanged body and ETag.
    """
    rows = [[first + 60 * n, 1.0 + n, 2.0 + n, 0.5 + n, 1.5 + n, 10.0] for n in range(count)]
    await writer.update_ohlcv_bars("BTC/USDT", "1m", rows)


async def test_etag_is_a_hash_of_the_body(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A 200 JSON GET carries a quoted BLAKE2b-128 ETag of its bytes, private no-cache, Vary."""
    await bars(writer, 2)
    response = await client.get(BARS, headers=IDENTITY)
    assert response.status_code == 200
    digest = hashlib.blake2b(response.content, digest_size=16).hexdigest()
    assert response.headers["etag"] == f'"{digest}"' == etag_of(response.content)
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in response.headers


@pytest.mark.parametrize(
    "if_none_match",
    ["{tag}", "W/{tag}", '"other", {tag}', '"a",W/{tag} , "b"', "*"],
    ids=["exact", "weak", "list", "weak-in-list", "star"],
)
async def test_if_none_match_answers_304(
    client: httpx.AsyncClient, writer: CacheWriter, if_none_match: str
) -> None:
    """A matching If-None-Match (exact, W/, in a list, or *) answers 304 with no body."""
    await bars(writer, 2)
    tag = (await client.get(BARS, headers=IDENTITY)).headers["etag"]
    header = if_none_match.format(tag=tag)
    response = await client.get(BARS, headers={**IDENTITY, "If-None-Match": header})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == tag
    assert response.headers["cache-control"] == "private, no-cache"
    assert "content-type" not in response.headers and "content-length" not in response.headers


async def test_other_tags_get_the_body(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """A stale or unrelated ETag gets a full 200."""
    await bars(writer, 2)
    response = await client.get(BARS, headers={"If-None-Match": '"0123", W/"abcd"'})
    assert response.status_code == 200 and response.json()["count"] == 2


async def test_change_in_redis_changes_the_etag(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Revalidating after a new bar landed in Redis gives 200 and a new ETag."""
    await bars(writer, 2)
    first = await client.get(BARS, headers=IDENTITY)
    revalidate = {**IDENTITY, "If-None-Match": first.headers["etag"]}
    assert (await client.get(BARS, headers=revalidate)).status_code == 304
    await bars(writer, 1, first=1717584120)
    second = await client.get(BARS, headers=revalidate)
    assert second.status_code == 200
    assert second.json()["count"] == 3
    assert second.headers["etag"] == etag_of(second.content) != first.headers["etag"]


async def test_head_has_the_get_etag(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """HEAD carries the same ETag as GET and revalidates to 304 too."""
    await writer.set_ticker("binance", "BTC/USDT", price=1.0, time=1717584000.0)
    tag = (await client.get("/tickers", headers=IDENTITY)).headers["etag"]
    head = await client.head("/tickers", headers=IDENTITY)
    assert head.status_code == 200 and head.headers["etag"] == tag
    again = await client.head("/tickers", headers={**IDENTITY, "If-None-Match": tag})
    assert again.status_code == 304


async def test_errors_are_not_validated(client: httpx.AsyncClient) -> None:
    """A 404 problem document gets no ETag and never a 304."""
    response = await client.get("/tickers/nowhere", headers={"If-None-Match": "*"})
    assert response.status_code == 404
    assert "etag" not in response.headers


async def test_large_bodies_are_gzipped(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Over 1 KB with gzip accepted: gzip body, its own ETag, and either tag revalidates."""
    await bars(writer, 200)
    plain = await client.get(BARS, headers=IDENTITY)
    assert len(plain.content) > 1024 and "content-encoding" not in plain.headers
    async with client.stream("GET", BARS, headers=GZIP) as packed:
        raw = b"".join([chunk async for chunk in packed.aiter_raw()])
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert int(packed.headers["content-length"]) == len(raw) < len(plain.content) / 3
    assert gzip.decompress(raw) == plain.content
    assert packed.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    for tag in (plain.headers["etag"], packed.headers["etag"]):
        revalidated = await client.get(BARS, headers={**GZIP, "If-None-Match": tag})
        assert revalidated.status_code == 304
        assert revalidated.headers["etag"] == packed.headers["etag"]


async def test_gzip_refused_or_small_is_identity(
    client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """gzip;q=0 or a body under 1 KB is sent uncompressed (still with Vary)."""
    await bars(writer, 200)
    refused = await client.get(BARS, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers and refused.json()["count"] == 200
    small = await client.get("/ohlcv", headers=GZIP)
    assert len(small.content) < 1024 and "content-encoding" not in small.headers
    assert small.headers["vary"] == "Accept-Encoding"


def _app() -> Starlette:
    """A bare app with streaming, large and WebSocket endpoints behind the middleware."""

    async def events(request: Request) -> Response:
        async def stream() -> AsyncIterator[bytes]:
            yield b"data: " + b"x" * 4000 + b"\n\n"
            await request.app.state.release.wait()
            yield b"data: last\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")

    async def big(request: Request) -> Response:
        return Response(b'{"a": "' + b"y" * 400_000 + b'"}', media_type="application/json")

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    app = Starlette(
        routes=[Route("/events", events), Route("/big", big), WebSocketRoute("/ws", echo)]
    )
    app.add_middleware(HttpCacheMiddleware)
    app.state.release = anyio.Event()
    return app


def _scope(kind: str, path: str) -> dict[str, object]:
    return {
        "type": kind,
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"accept-encoding", b"gzip")],
        "http_version": "1.1",
        "scheme": "http" if kind == "http" else "ws",
        "server": ("test", 80),
        "asgi": {"version": "3.0", "spec_version": "2.4"},
    }


async def test_event_streams_pass_unbuffered_and_uncompressed() -> None:
    """An SSE answer's first event reaches the client before the stream ends, never gzipped."""
    app = _app()
    sent: list[dict[str, object]] = []
    first_event = anyio.Event()

    async def receive() -> dict[str, object]:
        await anyio.sleep_forever()
        raise AssertionError

    async def send(message: dict[str, object]) -> None:
        sent.append(message)
        if len(sent) == 2:
            first_event.set()

    async with anyio.create_task_group() as group:
        group.start_soon(app, _scope("http", "/events"), receive, send)
        with anyio.fail_after(5):
            await first_event.wait()
        start, first = sent[0], sent[1]
        assert b"content-encoding" not in dict(start["headers"])  # type: ignore[call-overload]
        assert first["body"].startswith(b"data: xxx") and first["more_body"]  # type: ignore[attr-defined]
        app.state.release.set()
    assert sent[2]["body"] == b"data: last\n\n"


async def test_very_large_bodies_compress_off_the_event_loop() -> None:
    """A 400 KB JSON body is gzipped (in a worker thread) and decompresses intact."""
    transport = httpx.ASGITransport(app=_app())
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://t") as http,
        http.stream("GET", "/big", headers=GZIP) as response,
    ):
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.headers["content-encoding"] == "gzip"
    body = gzip.decompress(raw)
    assert len(body) == 400_009 and len(raw) < 10_000
    assert response.headers["etag"] == etag_of(body)[:-1] + '-gzip"'


async def test_websockets_pass_through() -> None:
    """A WebSocket behind the middleware is accepted, echoed and closed unchanged."""
    incoming = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "ping"},
    ]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    with anyio.fail_after(5):
        await _app()(_scope("websocket", "/ws"), receive, send)
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert sent[1]["text"] == "ping"


def _msgspec_app(*, cached: bool) -> Starlette:
    """A plain app answering one MsgspecResponse, with or without the caching middleware."""

    async def bars_like(request: Request) -> Response:
        return MsgspecResponse({"bars": [[n, 1.5, 2.5] for n in range(200)]})

    app = Starlette(routes=[Route("/data", bars_like)])
    if cached:
        app.add_middleware(HttpCacheMiddleware)
    return app


async def test_msgspec_responses_negotiate_once_behind_the_middleware() -> None:
    """Behind HttpCacheMiddleware a MsgspecResponse validates and compresses itself (one
    Vary, one ETag); in an app without it, it is sent exactly as built."""
    for cached in (True, False):
        transport = httpx.ASGITransport(app=_msgspec_app(cached=cached))
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://t") as http,
            http.stream("GET", "/data", headers=GZIP) as response,
        ):
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        vary = response.headers.get_list("vary")
        if cached:
            assert vary == ["Accept-Encoding"] and response.headers["content-encoding"] == "gzip"
            assert response.headers["etag"] == etag_of(gzip.decompress(raw))[:-1] + '-gzip"'
        else:
            assert vary == [] and "etag" not in response.headers
            assert "content-encoding" not in response.headers and raw.startswith(b'{"bars"')


async def test_headers_added_after_construction_are_merged() -> None:
    """A Vary or Cache-Control set on a MsgspecResponse after it was built is kept and
    merged with the caching headers, never duplicated."""

    async def tuned(request: Request) -> Response:
        response = MsgspecResponse({"a": 1})
        response.headers["Vary"] = "Origin"
        response.headers["Cache-Control"] = "no-store"
        return response

    app = Starlette(routes=[Route("/tuned", tuned)])
    app.add_middleware(HttpCacheMiddleware)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/tuned")
    assert response.headers.get_list("vary") == ["Origin, Accept-Encoding"]
    assert response.headers.get_list("cache-control") == ["no-store"]
    assert response.headers["etag"] == etag_of(response.content)
