"""The OpenAPI document and the offline docs pages: validity, coverage, mounting, caching."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import jsonschema
import msgspec
import pytest
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from fullon_cache_api import Settings, create_app
from fullon_cache_api._app import all_routes
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.http._openapi import build_openapi
from fullon_cache_api.http._params import EXCHANGE, PATH_PATTERNS, Bound, Pattern
from fullon_cache_api.routes import views
from fullon_cache_api.routes._common import ApiRoute
from fullon_cache_api.structs.tickers import Ticker, TickerList

from .support.apps import in_process
from .support.credentials import ADMIN_KEY
from .support.surface import SAMPLES, seed_surface

pytestmark = pytest.mark.anyio

MOUNT = "/api/v1/cache"
TEMPLATE_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no credentials, calling the app (authentication on) in-process."""
    async with (
        in_process(app) as http,
    ):
        yield http


@pytest.fixture
async def mounted(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client without credentials for a host that mounts the app at /api/v1/cache."""
    host = Starlette(routes=[Mount(MOUNT, app=app)])
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url="http://h") as http,
    ):
        yield http


def http_routes(routes: list[BaseRoute]) -> Iterator[Route]:
    """Every documented HTTP route of a route table."""
    for route in routes:
        if isinstance(route, Route) and route.include_in_schema:
            yield route


def openapi_path(template: str) -> str:
    return TEMPLATE_PARAM.sub(r"{\1}", template)


def operation(document: dict[str, Any], route: Route) -> dict[str, Any]:
    result: dict[str, Any] = document["paths"][openapi_path(route.path)]["get"]
    return result


@pytest.mark.slow
async def test_document_is_valid_openapi_31_and_public(anonymous: httpx.AsyncClient) -> None:
    """/openapi.json answers without credentials and passes openapi-spec-validator (3.1)."""
    response = await anonymous.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["openapi"] == "3.1.0"
    validate(document)


async def test_every_route_of_the_table_appears(
    app: Starlette, anonymous: httpx.AsyncClient
) -> None:
    """Each HTTP route is an operation with a unique operationId; WebSockets are listed."""
    document = (await anonymous.get("/openapi.json")).json()
    routes = app.routes
    assert {id(route) for route in all_routes()} <= {id(route) for route in routes}
    documented = list(http_routes(routes))
    assert len(documented) >= len(SAMPLES) + 3  # the data routes, plus the docs pages
    for route in documented:
        assert "get" in document["paths"][openapi_path(route.path)], route.path
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)) == len(documented)
    for route in routes:
        if isinstance(route, WebSocketRoute):
            assert f"`{route.path}`" in document["info"]["description"]


async def test_every_parameter_has_its_pattern_and_bounds(anonymous: httpx.AsyncClient) -> None:
    """Path and query parameters carry the gateway's own anchored pattern, length and bounds."""
    document = (await anonymous.get("/openapi.json")).json()
    checked = 0
    for route in http_routes(all_routes()):
        if not isinstance(route, ApiRoute):
            continue
        parameters = {(p["in"], p["name"]): p for p in operation(document, route)["parameters"]}
        patterns = {**PATH_PATTERNS, **route.path_patterns}
        for name, converter in TEMPLATE_PARAM.findall(route.path):
            parameter = parameters[("path", name)]
            assert parameter["required"] is True
            assert_pattern(parameter["schema"], patterns[name])
            assert ("'/'" in parameter["description"]) == (converter == "path"), route.path
            checked += 1
        for name, shape in route.query.items():
            schema = parameters[("query", name)]["schema"]
            if isinstance(shape, Pattern):
                assert_pattern(schema, shape, empty=True)
            else:
                assert_bound(schema, shape)
            checked += 1
        assert len(parameters) == len(TEMPLATE_PARAM.findall(route.path)) + len(route.query)
    assert checked > 20


def assert_pattern(schema: dict[str, Any], pattern: Pattern, *, empty: bool = False) -> None:
    """The pattern, anchored; a query value may also be empty (the gateway: as if absent)."""
    assert schema == {
        "type": "string",
        "pattern": f"^(?:{pattern.regex}){'?' if empty else ''}$",
        "maxLength": pattern.max_length,
    }


def assert_bound(schema: dict[str, Any], bound: Bound) -> None:
    integer = {"type": "integer", "minimum": bound.minimum, "maximum": bound.maximum}
    assert schema == {
        "anyOf": [integer, {"type": "string", "maxLength": 0}],
        "default": bound.default,
    }


async def test_documented_schemas_accept_the_real_requests_and_bodies(
    app: Starlette, client: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Each sample's path values match its parameter schemas, and its 200 body the schema."""
    await seed_surface(writer)
    document = (await client.get("/openapi.json")).json()
    routes = {route.path: route for route in http_routes(app.routes)}
    for template, path in SAMPLES.items():
        op = operation(document, routes[template])
        scope = {"type": "http", "path": path.partition("?")[0], "method": "GET"}
        values = routes[template].matches(scope)[1]
        for parameter in op["parameters"]:
            if parameter["in"] == "path":
                value = str(values["path_params"][parameter["name"]])
                jsonschema.validate(value, parameter["schema"])
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        body = (await client.get(path)).json()
        jsonschema.validate(body, {**schema, "components": document["components"]})


async def test_a_documented_pattern_rejects_what_the_gateway_rejects() -> None:
    """A value the gateway refuses (a glob character) is refused by the documented pattern."""
    schema = build_openapi(all_routes())["paths"]["/tickers/{exchange}"]["get"]["parameters"][0]
    assert schema["name"] == "exchange"
    jsonschema.validate("binance", schema["schema"])
    for bad in ["bin*ance", "x" * (EXCHANGE.max_length + 1), "-binance"]:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema["schema"])


async def test_responses_problems_and_security(anonymous: httpx.AsyncClient) -> None:
    """200 schemas, problem documents (503 with Retry-After) and security follow each route."""
    document = (await anonymous.get("/openapi.json")).json()
    components = document["components"]
    assert set(components["securitySchemes"]) == {"bearerAuth", "apiKeyHeader", "apiKeyQuery"}
    assert components["securitySchemes"]["apiKeyHeader"]["name"] == "X-API-Key"
    assert components["securitySchemes"]["apiKeyQuery"] == {
        **components["securitySchemes"]["apiKeyQuery"],
        "in": "query",
        "name": "token",
    }
    unavailable = components["responses"]["CacheUnavailable"]
    assert "Retry-After" in unavailable["headers"]
    assert unavailable["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    for route in http_routes(all_routes()):
        if not isinstance(route, ApiRoute):
            continue
        op = operation(document, route)
        assert {"200", "502", "503", "504"} <= set(op["responses"]), route.path
        if route.access == "public":
            assert op["security"] == []
            assert "401" not in op["responses"]
        else:
            assert {"bearerAuth": []} in op["security"]
            assert {"apiKeyHeader": []} in op["security"]
            assert op["responses"]["401"] == {"$ref": "#/components/responses/Unauthenticated"}
        assert "422" in op["responses"], route.path
        assert ("404" in op["responses"]) == route.misses, route.path


async def test_servers_follow_the_mount(
    anonymous: httpx.AsyncClient, mounted: httpx.AsyncClient
) -> None:
    """Standalone the server is '/'; mounted at /api/v1/cache it is that path."""
    standalone = (await anonymous.get("/openapi.json")).json()
    assert standalone["servers"] == [{"url": "/"}]
    response = await mounted.get(f"{MOUNT}/openapi.json")
    assert response.status_code == 200
    assert response.json()["servers"] == [{"url": MOUNT}]
    assert {**response.json(), "servers": standalone["servers"]} == standalone


async def test_document_is_built_once_per_app(
    app: Starlette, anonymous: httpx.AsyncClient, mounted: httpx.AsyncClient
) -> None:
    """Repeated requests, standalone and mounted, reuse one document built on first request."""
    assert getattr(app.state, "openapi", None) is None  # nothing built by create_app
    first = await anonymous.get("/openapi.json")
    cache = app.state.openapi
    document = cache.document()
    for _ in range(3):
        assert (await anonymous.get("/openapi.json")).content == first.content
        assert (await mounted.get(f"{MOUNT}/openapi.json")).status_code == 200
    assert cache.builds == 1
    assert cache.document() is document
    assert cache.body("") is cache.body("")


async def test_streams_and_websockets_are_described() -> None:
    """An SSE route is a text/event-stream operation with ?token=; a WebSocket is named."""

    async def ticks(request: Request) -> Response:
        """Ticker updates of one exchange."""
        return Response()

    async def socket(websocket: WebSocket) -> None:
        await websocket.close()

    stream = ApiRoute("/tickers/{exchange}/stream", ticks, response=TickerList)
    stream.update = Ticker  # type: ignore[attr-defined]  # as the streams' routes declare
    routes: list[BaseRoute] = [
        stream,
        WebSocketRoute("/ws/tickers/{connection_id}", socket),
    ]
    document = build_openapi(routes, root_path=MOUNT)
    validate(document)
    op = document["paths"]["/tickers/{exchange}/stream"]["get"]
    content = op["responses"]["200"]["content"]
    assert list(content) == ["text/event-stream"]
    assert content["text/event-stream"]["schema"]["x-events"] == {
        "snapshot": {"anyOf": [{"$ref": "#/components/schemas/TickerList"}, {"type": "null"}]},
        "update": {"$ref": "#/components/schemas/Ticker"},
        "status": {"$ref": "#/components/schemas/StreamStatus"},
        "problem": {"$ref": "#/components/schemas/Problem"},
        "close": {"$ref": "#/components/schemas/StreamClosed"},
    }
    assert {"apiKeyQuery": []} in op["security"]
    assert "/ws/tickers/{connection_id}" not in document["paths"]
    assert "`/ws/tickers/{connection_id}`" in document["info"]["description"]


async def test_docs_pages_are_offline_and_work_under_a_mount(
    mounted: httpx.AsyncClient,
) -> None:
    """/docs and /redoc name no external URL; every relative asset loads, public, mounted."""
    for page in ("docs", "redoc"):
        response = await mounted.get(f"{MOUNT}/{page}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in response.headers["content-security-policy"]
        html = response.text
        assert "//" not in html.replace("<!DOCTYPE html>", "")  # no absolute or CDN URL
        references = re.findall(r'(?:src|href|spec-url|data-spec-url)="([^"]+)"', html)
        assert "openapi.json" in references
        for reference in references:
            asset = await mounted.get(f"{MOUNT}/{reference}")
            assert asset.status_code == 200, reference
            assert asset.content


async def test_docs_trailing_slash_and_unknown_asset(mounted: httpx.AsyncClient) -> None:
    """/docs/ is sent back to /docs (relative URLs); an unknown asset is a 404 problem."""
    response = await mounted.get(f"{MOUNT}/docs/")
    assert response.status_code == 308
    assert response.headers["location"] == "../docs"
    missing = await mounted.get(f"{MOUNT}/docs/assets/..%2F..%2Fopenapi.json")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_docs_assets_are_public_but_data_is_not(anonymous: httpx.AsyncClient) -> None:
    """Without credentials the assets answer 200 and a data route still answers 401."""
    assert (await anonymous.get("/docs/assets/swagger-ui-bundle.js")).status_code == 200
    assert (await anonymous.get("/tickers")).status_code == 401


@pytest.mark.slow
async def test_cli_prints_the_served_document(anonymous: httpx.AsyncClient) -> None:
    """`fullon-cache-api openapi --root-path` prints the served document, with that server."""
    command = [sys.executable, "-m", "fullon_cache_api", "openapi", "--root-path", f"{MOUNT}/"]
    with anyio.fail_after(60):
        result = await anyio.run_process(command, check=False)
    assert result.returncode == 0, result.stderr.decode()
    document = json.loads(result.stdout)
    assert document["servers"] == [{"url": MOUNT}]
    served = (await anonymous.get("/openapi.json")).json()
    assert document == {**served, "servers": [{"url": MOUNT}]}
    validate(document)


def test_cli_reader_closing_early_is_not_a_traceback() -> None:
    """`fullon-cache-api openapi | head -c 100`: the command ends with status 1 and nothing on
    stderr (the document is far bigger than a pipe's buffer, so its write meets the closed
    pipe), not a BrokenPipeError traceback."""
    command = [sys.executable, "-m", "fullon_cache_api", "openapi"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with subprocess.Popen(command, **pipes) as process:  # closes both pipes at the end
        try:
            assert process.stdout is not None and process.stderr is not None
            assert process.stdout.read(100).startswith(b"{")
            process.stdout.close()  # the reader goes away, as `head` does
            status = process.wait(timeout=60)
            stderr = process.stderr.read().decode()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    assert (status, stderr) == (1, "")


PUBLIC = {"/health", "/openapi.json", "/docs", "/redoc"}
PROBLEM = "application/problem+json"
# The gateway's own refusals (request limits) and its 500: any operation may answer them.
ANY_OPERATION = {"200", "414", "422", "431", "500"}


def expected_statuses(route: Route) -> set[str]:
    """What `route` can answer, worked out from what it is (not from the document)."""
    expected = set(ANY_OPERATION)
    media_type = getattr(route, "media_type", None)
    data = isinstance(route, ApiRoute)
    # Only a 200 application/json body carries an ETag, so only it can be revalidated to 304.
    if media_type == "application/json" or (data and media_type is None):
        expected.add("304")
    if route.path not in PUBLIC and getattr(route, "access", "market") != "public":
        expected.add("401")
    if data:
        expected |= {"502", "503", "504"}
        if getattr(route, "misses", "{" in route.path) or route.path in ADDRESSED_BY_QUERY:
            expected.add("404")
    if media_type == "text/event-stream":
        expected.add("429")  # past a stream limit
    return expected


# Routes without a path parameter whose query addresses a key (`?order_id=`): they may 404.
ADDRESSED_BY_QUERY = {"/orders"}


def resolve(document: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in response:
        return response
    resolved: dict[str, Any] = document["components"]["responses"][response["$ref"].split("/")[-1]]
    return resolved


@pytest.mark.slow
def test_every_operation_lists_what_it_can_answer() -> None:
    """Every operation, /metrics and the docs included, lists exactly the statuses it can
    answer: 304 for ETag'd JSON, 401 unless public, the limits' 414/422/431, 500, the Redis
    problems (404 when addressed, 502/503/504) for data routes and 429 for streams; problems
    with the problem schema, 304 without a body."""
    routes = list(http_routes(create_app(settings=Settings()).routes))
    document = build_openapi(routes)
    validate(document)
    assert "/metrics" in {route.path for route in routes}
    problem_schema = {"$ref": "#/components/schemas/Problem"}
    for route in routes:
        responses = operation(document, route)["responses"]
        assert set(responses) == expected_statuses(route), route.path
        for status, response in responses.items():
            content = resolve(document, response).get("content", {})
            if status == "304":
                assert content == {}, route.path
                assert "ETag" in resolve(document, response)["headers"]
            elif status != "200":
                assert content == {PROBLEM: {"schema": problem_schema}}, (route.path, status)
    metrics = document["paths"]["/metrics"]["get"]
    assert metrics["responses"]["401"] == {"$ref": "#/components/responses/Unauthenticated"}
    assert metrics["security"]


async def answers(http: httpx.AsyncClient, path: str) -> list[httpx.Response]:
    """What `path` answers: without credentials, with them, revalidated with its ETag, and
    refused by each request limit (query string too long, a header too long, a NUL)."""
    admin = {"X-API-Key": ADMIN_KEY}
    joiner = "&" if "?" in path else "?"
    first = await http.get(path, headers=admin)
    found = [await http.get(path), first]
    if "etag" in first.headers:
        found.append(
            await http.get(path, headers={**admin, "If-None-Match": first.headers["etag"]})
        )
    found.append(await http.get(f"{path}{joiner}pad={'x' * 5000}", headers=admin))
    found.append(await http.get(path, headers={**admin, "X-Pad": "x" * 9000}))
    found.append(await http.get(f"{path}{joiner}pad=%00", headers=admin))
    return found


async def test_every_answer_the_gateway_gives_is_documented(
    anonymous: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Crawling every operation (data, docs and /metrics), each status it really answers is
    one its operation lists, with the same kind of body (problem document, none for 304)."""
    await seed_surface(writer)
    document = (await anonymous.get("/openapi.json")).json()
    targets = {**SAMPLES, **{path: path for path in ("/metrics", *PUBLIC - {"/health"})}}
    seen: set[str] = set()
    for template, path in targets.items():
        responses = document["paths"][openapi_path(template)]["get"]["responses"]
        for answer in await answers(anonymous, path):
            status = str(answer.status_code)
            seen.add(status)
            assert status in responses, (path, status, answer.text[:200])
            content = resolve(document, responses[status]).get("content", {})
            if status == "304":
                assert not answer.content and content == {}
            elif answer.status_code >= 400:
                assert answer.headers["content-type"] == PROBLEM and PROBLEM in content
    assert {"200", "304", "401", "414", "422", "431"} <= seen


def test_each_view_documents_its_docstring() -> None:
    """A derived view's docstring is its operation's text: the first paragraph the summary,
    the rest (its formula) the description, ahead of the access note."""
    document = build_openapi(all_routes())
    for route in views.routes:
        docstring = inspect.getdoc(route.endpoint)
        assert docstring, route.path
        summary, _, formula = docstring.partition("\n\n")
        op = operation(document, route)
        assert op["summary"] == " ".join(summary.replace("`", "").split()), route.path
        assert op["description"].startswith(formula.strip()), route.path
        rest = op["description"].removeprefix(formula.strip()).strip()
        assert rest in {
            "Public: no credentials needed.",
            "Any authenticated caller.",
            "Admins read everything; other callers only what the host's ownership hook "
            "grants (anything else is 404).",
        }, route.path


async def test_private_docs_are_documented_as_needing_credentials(settings: Settings) -> None:
    """FULLON_CACHE_API_PUBLIC_DOCS=false: the served document marks the docs and itself as
    needing credentials (401), as the gateway then enforces; /health stays public."""
    private = msgspec.structs.replace(
        settings, auth=msgspec.structs.replace(settings.auth, public_docs=False)
    )
    app = create_app(settings=private)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as http:
        assert (await http.get("/openapi.json")).status_code == 401
        document = (await http.get("/openapi.json", headers={"X-API-Key": ADMIN_KEY})).json()
    for path in ("/openapi.json", "/docs", "/redoc"):
        operation = document["paths"][path]["get"]
        assert operation["security"] and "401" in operation["responses"], path
    assert document["paths"]["/health"]["get"]["security"] == []
