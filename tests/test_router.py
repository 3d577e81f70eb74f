"""SegmentRouter: only the routes of a request's first segment are tried, with Starlette's
first-match order, mounts, WebSocket routes, 404/405 and url_path_for kept."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from starlette.types import Scope
from starlette.websockets import WebSocket

from fullon_cache_api._app import all_routes
from fullon_cache_api.http._router import _MAX_REMEMBERED, SegmentRouter, first_segment

pytestmark = pytest.mark.anyio


def answer(path: str) -> Route:
    """A GET route answering its own template, and named after it."""

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(path)

    return Route(path, endpoint, name=path)


async def say(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("ws")
    await websocket.close()


def routes() -> list[BaseRoute]:
    """Static and parameter-first routes interleaved, a mount and a WebSocket route."""

    async def by_param(request: Request) -> Response:
        return PlainTextResponse(f"param:{request.path_params['first']}")

    async def posted(request: Request) -> Response:
        return PlainTextResponse("posted")

    inner = Starlette(routes=[answer("/inside")])
    return [
        answer("/a/static"),
        Route("/{first}/static", by_param),  # a parameter first: tried for every segment
        answer("/a/{x}"),
        answer("/b"),
        Route("/c", posted, methods=["POST"]),
        Mount("/m", app=inner),
        WebSocketRoute("/w/socket", say),
    ]


async def get(app: Starlette, path: str, method: str = "GET") -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return await c.request(method, path)


def apps() -> tuple[Starlette, Starlette]:
    """The same routes behind Starlette's Router and behind ours."""
    theirs = Starlette(routes=routes())
    ours = Starlette(routes=routes())
    ours.router = SegmentRouter(ours.routes)
    return theirs, ours


PATHS = [
    ("/a/static", "GET"),  # the static route before the parameter route wins
    ("/z/static", "GET"),  # only the parameter route matches
    ("/a/other", "GET"),
    ("/b", "GET"),
    ("/c", "GET"),  # 405: path matched, method not
    ("/m/inside", "GET"),
    ("/nowhere", "GET"),
    ("/", "GET"),
]


@pytest.mark.parametrize(("path", "method"), PATHS)
async def test_answers_like_starlettes_router(path: str, method: str) -> None:
    """Every path gets the answer Starlette's Router gives (status and body)."""
    theirs, ours = apps()
    expected, found = await get(theirs, path, method), await get(ours, path, method)
    assert (found.status_code, found.text) == (expected.status_code, expected.text)


def test_first_segments() -> None:
    """Static first segments index a route; parameters, root mounts and hosts do not."""
    built = routes()
    assert [first_segment(route) for route in built] == ["a", None, "a", "b", "c", "m", "w"]
    assert first_segment(Mount("", app=Router())) is None


async def test_websocket_routes_are_found() -> None:
    """A WebSocket route is reached through the index like an HTTP one."""
    _, ours = apps()
    sent: list[dict[str, object]] = []
    incoming = [{"type": "websocket.connect"}]

    async def receive() -> dict[str, object]:
        return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/w/socket", "root_path": "", "headers": []}
    await ours(scope, receive, send)
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]


async def test_routes_added_later_are_seen() -> None:
    """A route appended after the first request is matched (the index follows the list)."""
    _, ours = apps()
    assert (await get(ours, "/late")).status_code == 404
    ours.routes.append(answer("/late"))
    response = await get(ours, "/late")
    assert response.status_code == 200 and response.text == "/late"


def test_url_path_for_and_routes_are_starlettes() -> None:
    """url_path_for and the route list are unchanged."""
    _, ours = apps()
    assert ours.url_path_for("/b") == "/b"
    assert ours.url_path_for("/a/{x}", x="q") == "/a/q"
    assert len(ours.routes) == 7


def _first_match(candidates: list[BaseRoute], scope: Scope) -> BaseRoute | None:
    return next((r for r in candidates if r.matches(scope)[0] is Match.FULL), None)


def test_gateway_routes_match_as_before() -> None:
    """For every route of the gateway, its own sample path finds the same route through the
    index as through a full scan."""
    table = all_routes()
    router = SegmentRouter(table)
    for route in table:
        path = getattr(route, "path", "")
        sample = path.replace("{symbol:path}", "BTC/USDT").replace("{", "").replace("}", "")
        kind = "websocket" if isinstance(route, WebSocketRoute) else "http"
        scope = {"type": kind, "path": sample, "root_path": "", "method": "GET"}
        candidates = [candidate for candidate, _ in router._candidates(sample)]
        assert _first_match(candidates, scope) is _first_match(table, scope), sample


async def test_repeated_paths_answer_as_the_first_time() -> None:
    """A path asked again (remembered match) answers as Starlette would, per method, with
    its own parameters; a route inserted earlier in the list takes over at once."""
    theirs, ours = apps()
    for _ in range(3):
        for path, method in [*PATHS, ("/z/static", "HEAD"), ("/y/static", "GET")]:
            expected, found = await get(theirs, path, method), await get(ours, path, method)
            assert (found.status_code, found.text) == (expected.status_code, expected.text)
    ours.routes.insert(0, answer("/z/{anything}"))
    assert (await get(ours, "/z/static")).text == "/z/{anything}"


async def test_remembered_paths_are_bounded() -> None:
    """Distinct paths never grow the remembered matches past their bound."""
    _, ours = apps()
    assert isinstance(ours.router, SegmentRouter)
    for n in range(_MAX_REMEMBERED + 10):
        assert (await get(ours, f"/p{n}/static")).text == f"param:p{n}"
    assert 0 < len(ours.router._remembered) <= _MAX_REMEMBERED
