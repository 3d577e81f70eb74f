"""The client covers the gateway's surface: a method per route (checked both ways, with the
route's query parameters and answer type), paths built as the route table reads them, and an
import that does not load the server."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import types
from typing import Any

import httpx
import msgspec
import pytest
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route, WebSocketRoute

from fullon_cache_api import Settings, create_app
from fullon_cache_api._settings import AuthConfig
from fullon_cache_api.client import AsyncCacheClient, CacheClient, events
from fullon_cache_api.client._endpoints import Endpoint, StreamEndpoint
from fullon_cache_api.client._request import path_names

from .support.client_endpoints import Declared, client_endpoints, sample_request
from .support.surface import SAMPLES, STREAM_SAMPLES

# Browser pages (Swagger UI, ReDoc and their assets): HTML for people, not data for a client.
BROWSER_PAGES = {"/docs", "/redoc", "/docs/assets/{name}"}


def http_routes(app: Starlette) -> list[BaseRoute]:
    """The app's HTTP routes a client can call (no WebSockets, no browser pages)."""
    return [
        route
        for route in app.routes
        if not isinstance(route, WebSocketRoute) and getattr(route, "path", "") not in BROWSER_PAGES
    ]


def uncovered(app: Starlette, endpoints: dict[str, Declared]) -> tuple[set[str], set[str]]:
    """Routes without a client method, and client methods without a route."""
    routes = {getattr(route, "path", "") for route in http_routes(app)}
    declared = {endpoint.path for endpoint in endpoints.values()}
    return routes - declared, declared - routes


def query_names(endpoint: Declared) -> set[str]:
    """The query parameters the endpoint sends (its builder's named values not in the path)."""
    # Every argument given, so every name it maps to appears.
    arguments = dict.fromkeys(inspect.signature(endpoint.build).parameters, "x")
    sent = endpoint.build(**arguments)
    return set(sent) - set(path_names(endpoint.path))


def test_every_route_has_a_client_method_and_back() -> None:
    """Each HTTP route of `create_app()` has a client method, and each method a route."""
    missing, stray = uncovered(create_app(settings=Settings()), client_endpoints())
    assert missing == set(), f"routes without a client method: {sorted(missing)}"
    assert stray == set(), f"client methods without a route: {sorted(stray)}"


def test_a_new_route_without_a_method_is_found() -> None:
    """The check above fails for a route the client does not know (here: one added)."""

    async def endpoint(request: Any) -> Any:
        raise NotImplementedError

    app = create_app(settings=Settings())
    app.router.routes.append(Route("/tickers/{exchange}/depth", endpoint))
    missing, stray = uncovered(app, client_endpoints())
    assert missing == {"/tickers/{exchange}/depth"} and stray == set()


def test_methods_send_the_routes_query_and_decode_its_answer_type() -> None:
    """Per route: the client's query parameters are the route's, and the type it decodes is
    the route's answer Struct (or a subclass decoding its pre-encoded parts)."""
    by_path: dict[str, list[Declared]] = {}
    for endpoint in client_endpoints().values():
        by_path.setdefault(endpoint.path, []).append(endpoint)
    checked = 0
    for route in http_routes(create_app(settings=Settings())):
        response = getattr(route, "response", None)  # the ApiRoute's answer type
        if response is None:
            continue  # /metrics: Prometheus text
        endpoints = by_path[route.path]
        assert set().union(*map(query_names, endpoints)) == set(route.query), route.path
        answers = set(getattr(response, "__args__", (response,)))
        for endpoint in endpoints:
            if hasattr(route, "update"):  # a StreamRoute: snapshot and update types
                assert isinstance(endpoint, StreamEndpoint), route.path
                assert issubclass(endpoint.snapshot, response), route.path
                assert _same_schema(endpoint.update, route.update), route.path
            else:
                assert isinstance(endpoint, Endpoint), route.path
                assert any(issubclass(endpoint.response, answer) for answer in answers), route.path
            checked += 1
    assert checked == len(client_endpoints()) - 2  # all but /openapi.json and /metrics


def _same_schema(ours: type[Any], theirs: type[Any]) -> bool:
    """Our update type is theirs (or a subclass), or a mirror of it with the same fields."""
    if issubclass(ours, theirs):
        return True
    names = [field.name for field in msgspec.structs.fields(ours)]
    return ours.__name__ == theirs.__name__ and names == [
        field.name for field in msgspec.structs.fields(theirs)
    ]


@pytest.mark.anyio
async def test_stream_payloads_mirror_the_gateways_schemas() -> None:
    """The client's Structs for ``status``, ``close`` and process broadcast events have the
    fields of the schemas the gateway's OpenAPI document gives them, and every documented
    close reason is a string the client accepts."""
    app = create_app(settings=Settings(auth=AuthConfig(enabled=False)))
    async with AsyncCacheClient("http://gateway", transport=httpx.ASGITransport(app=app)) as c:
        schemas = (await c.openapi())["components"]["schemas"]
    for struct in (events.StreamStatus, events.StreamClosed, events.ProcessBroadcast):
        documented = list(schemas[struct.__name__]["properties"])
        assert [field.name for field in msgspec.structs.fields(struct)] == documented
    reasons = schemas["StreamClosed"]["properties"]["reason"]["enum"]
    for reason in reasons:
        closed = msgspec.json.decode(
            msgspec.json.encode({"reason": reason, "detail": ""}), type=events.StreamClosed
        )
        assert closed.reason == reason


def test_paths_are_built_as_the_samples_spell_them() -> None:
    """Each method's path for the sample arguments is the sample path of its route (symbols
    keep their slash, ids their colons)."""
    samples = {
        **SAMPLES,
        **STREAM_SAMPLES,
        "/openapi.json": "/openapi.json",
        "/metrics": "/metrics",
    }
    for name, endpoint in client_endpoints().items():
        expected = samples[endpoint.path].split("?")[0].lstrip("/")
        assert sample_request(name, endpoint).path == expected, name


def test_both_clients_expose_the_same_methods() -> None:
    """`CacheClient` has every method of `AsyncCacheClient`, bound to the blocking client."""
    client = CacheClient("http://127.0.0.1:9")
    try:
        for name in client_endpoints():
            bound = getattr(client, name)
            assert bound.client is client and bound.__doc__, name
    finally:
        client.close()


def test_import_loads_no_server_dependency() -> None:
    """``import fullon_cache_api.client`` loads neither Starlette, redis, uvicorn, granian nor
    the gateway's server modules (a fresh interpreter, inspected through sys.modules)."""
    script = (
        "import json, sys\nimport fullon_cache_api.client\nprint(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = json.loads(done.stdout)
    server = ("starlette", "redis", "uvicorn", "granian", "jwt", "prometheus_client", "hiredis")
    assert [name for name in loaded if name.split(".")[0] in server] == []
    ours = [name for name in loaded if name.startswith("fullon_cache_api.")]
    allowed = ("fullon_cache_api.client", "fullon_cache_api.structs", "fullon_cache_api._version")
    assert [name for name in ours if not name.startswith(allowed)] == []
    assert "httpx" in loaded and "msgspec" in loaded


def test_builders_take_no_self() -> None:
    """The endpoint tables are declarations: reading one from the class gives the endpoint."""
    assert isinstance(AsyncCacheClient.ticker, Endpoint)
    assert isinstance(CacheClient.stream_ticker, StreamEndpoint)
    assert isinstance(AsyncCacheClient.__dict__.get("ticker"), types.NoneType)


@pytest.mark.parametrize("missing", [None, ""])
def test_a_path_parameter_is_required(missing: str | None) -> None:
    """A missing path parameter is refused before any request is sent."""
    with pytest.raises(ValueError, match="symbol is required"):
        AsyncCacheClient.ticker.request("binance", missing)  # type: ignore[arg-type]
