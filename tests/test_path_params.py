"""Path parameters are validated once, by the route (`ApiRoute`), from the patterns it declares:
a route whose parameter has no pattern cannot be built, and an endpoint never sees a value
its pattern refuses."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response

from fullon_cache_api import Settings, create_app
from fullon_cache_api._errors import InvalidInput
from fullon_cache_api.http import EX_ID
from fullon_cache_api.routes._common import ApiRoute

pytestmark = pytest.mark.anyio

seen: list[dict[str, Any]] = []


async def echo(request: Request) -> Response:
    """Records the path parameters it was called with."""
    seen.append(dict(request.path_params))
    return Response("ok")


def test_a_parameter_without_a_pattern_fails_at_build() -> None:
    """A route whose path parameter has no declared pattern is refused when it is built."""
    with pytest.raises(ValueError, match="'widget' has no pattern"):
        ApiRoute("/widgets/{widget}", echo, response=None)


def test_every_app_route_has_a_pattern_per_parameter() -> None:
    """Each ApiRoute of the app knows the pattern of each of its path parameters."""
    app = create_app(settings=Settings(redis_url="redis://127.0.0.1:1/0"))
    routes = [route for route in app.routes if isinstance(route, ApiRoute)]
    assert routes
    for route in routes:
        assert sorted(route.path_patterns) == sorted(route.param_convertors), route.path


async def call(route: ApiRoute, params: dict[str, str]) -> None:
    """Handle one GET on `route` with `params`, as the router would after matching."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [],
        "query_string": b"",
        "path_params": params,
    }
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await route.handle(scope, receive, send)


async def test_the_route_refuses_a_bad_value_before_the_endpoint() -> None:
    """A value outside its declared pattern is refused by the route; the endpoint never runs."""
    route = ApiRoute("/accounts/{ex_id}/x", echo, response=None)
    seen.clear()
    with pytest.raises(InvalidInput, match="ex_id"):
        await call(route, {"ex_id": "12a"})
    assert seen == []
    await call(route, {"ex_id": "12"})
    assert seen == [{"ex_id": "12"}]


async def test_a_route_may_declare_its_own_shape() -> None:
    """A route's own pattern replaces the default one for that parameter."""
    route = ApiRoute("/things/{thing}", echo, response=None, path_patterns={"thing": EX_ID})
    seen.clear()
    with pytest.raises(InvalidInput, match="thing"):
        await call(route, {"thing": "abc"})
    await call(route, {"thing": "7"})
    assert seen == [{"thing": "7"}]
