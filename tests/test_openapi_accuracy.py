"""The OpenAPI document says what the gateway does: every status a crawl meets (``/orders``'s
404 under ``?order_id=`` included, an empty Redis included), empty query values (taken as
absent by the gateway, accepted by the schemas), and each SSE operation's events (snapshot,
update, status, problem, close) with the schema of their data."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jsonschema
import msgspec
import pytest
from openapi_spec_validator import validate
from starlette.applications import Starlette

from fullon_cache_api import Settings, create_app
from fullon_cache_api._errors import Problem
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.http._openapi import build_openapi
from fullon_cache_api.routes._common import ApiRoute
from fullon_cache_api.streams import StreamClosed, StreamStatus

from .support.credentials import ADMIN_KEY
from .support.streams import serve, sse
from .support.surface import SAMPLES, STREAM_SAMPLES, seed_surface

pytestmark = pytest.mark.anyio

TEMPLATE_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
EVENTS = ["snapshot", "update", "status", "problem", "close"]


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://g") as client,
    ):
        yield client


def document_of(app: Starlette) -> dict[str, Any]:
    return build_openapi(app.routes)


def operation(document: dict[str, Any], template: str) -> dict[str, Any]:
    get: dict[str, Any] = document["paths"][TEMPLATE_PARAM.sub(r"{\1}", template)]["get"]
    return get


ADMIN = {"X-API-Key": ADMIN_KEY}
# Paths whose query addresses a key that may be absent, beyond the route samples.
ADDRESSING = {"/orders": "/orders?order_id=NOPE-1"}


@pytest.mark.parametrize("seeded", [False, True], ids=["empty-redis", "seeded"])
async def test_every_status_of_a_crawl_is_documented(
    app: Starlette, http: httpx.AsyncClient, writer: CacheWriter, seeded: bool
) -> None:
    """On an empty and on a seeded Redis, each route (and ``/orders?order_id=`` of an order
    that is nowhere) answers only statuses its operation lists."""
    if seeded:
        await seed_surface(writer)
    document = document_of(app)
    seen = set()
    for template, path in SAMPLES.items():
        for target in {path, ADDRESSING.get(template, path)}:
            answer = await http.get(target, headers=ADMIN)
            status = str(answer.status_code)
            seen.add((template, status))
            assert status in operation(document, template)["responses"], (target, status)
    assert ("/orders", "404") in seen


def query_parameters(app: Starlette) -> list[tuple[str, dict[str, Any]]]:
    document = document_of(app)
    found = []
    for route in app.routes:
        if isinstance(route, ApiRoute):
            for parameter in operation(document, route.path)["parameters"]:
                if parameter["in"] == "query":
                    found.append((route.path, parameter))
    return found


async def test_empty_query_values_agree_with_the_schemas(
    app: Starlette, http: httpx.AsyncClient, writer: CacheWriter
) -> None:
    """Every query parameter: its schema accepts an empty value, and the gateway answers
    ``?name=`` exactly as it answers without the parameter (absent = empty)."""
    await seed_surface(writer)
    checked = 0
    for template, parameter in query_parameters(app):
        jsonschema.validate("", parameter["schema"])
        assert parameter.get("allowEmptyValue") is True
        if template in STREAM_SAMPLES:
            continue  # streams never end: their parameters share the JSON routes' shapes
        path = SAMPLES[template]
        joiner = "&" if "?" in path else "?"
        without = await http.get(path, headers=ADMIN)
        empty = await http.get(f"{path}{joiner}{parameter['name']}=", headers=ADMIN)
        assert empty.status_code == without.status_code == 200, (path, parameter["name"])
        checked += 1
    assert checked >= 10


async def test_query_schemas_still_refuse_what_the_gateway_refuses(app: Starlette) -> None:
    """Allowing the empty value widens nothing else: glob characters, values out of bounds
    and non-integers are still refused by the schemas, as by the gateway."""
    schemas = {(t, p["name"]): p["schema"] for t, p in query_parameters(app)}
    refused = {
        ("/processes", "type"): ["tick*", "TICK", "a" * 33],
        ("/orders/{account}", "limit"): [0, 10001, "ten", "1.5"],
        ("/tickers/status", "stale_after"): [0, 86401],
        ("/accounts/summary", "quote"): ["US?T", "-USDT"],
    }
    for key, values in refused.items():
        for value in values:
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(value, schemas[key])
    jsonschema.validate(5, schemas[("/orders/{account}", "limit")])


def data_schemas(app: Starlette, template: str) -> dict[str, Any]:
    """The event name -> its document (with components) of an SSE operation."""
    document = document_of(app)
    validate(document)
    content = operation(document, template)["responses"]["200"]["content"]
    schema = content["text/event-stream"]["schema"]
    events = schema["items"]["oneOf"]
    named = {}
    for event in events:
        name = event["properties"]["event"]["const"]
        assert set(event["required"]) >= {"event", "data"}
        named[name] = {**event, "components": document["components"]}
    return named


@pytest.mark.slow
def test_each_stream_documents_its_five_events() -> None:
    """Each SSE operation lists snapshot, update, status, problem and close, each with the
    schema of its ``data:`` (snapshot may be null: the key is not cached)."""
    app = create_app(settings=Settings())
    for template in STREAM_SAMPLES:
        events = data_schemas(app, template)
        assert list(events) == EVENTS, template

        def check(event: str, data: Any) -> None:
            jsonschema.validate({"event": event, "id": 3, "data": data}, events[event])  # noqa: B023

        check("snapshot", None)
        check("status", msgspec.to_builtins(StreamStatus(state="live", detail="back")))
        problem = Problem(type="urn:x", title="Corrupt cache entry", status=502, detail="bad")
        check("problem", msgspec.to_builtins(problem))
        check("close", msgspec.to_builtins(StreamClosed(reason="shutdown", detail="bye")))
        with pytest.raises(jsonschema.ValidationError):
            check("close", {"reason": "tired", "detail": "x"})


@pytest.mark.slow
async def test_real_snapshots_match_their_documented_schema(
    settings: Settings, writer: CacheWriter
) -> None:
    """The first event of every SSE route (real uvicorn, seeded Redis) validates against the
    documented snapshot event."""
    await seed_surface(writer)
    async with (
        serve(settings) as gateway,
        httpx.AsyncClient(base_url=gateway.url, headers=ADMIN, timeout=5) as client,
    ):
        for template, path in STREAM_SAMPLES.items():
            schema = data_schemas(gateway.app, template)["snapshot"]
            async with sse(client, path) as reader:
                event = await reader.next()
            assert event.event == "snapshot" and event.data is not None, path
            found = {"event": "snapshot", "id": event.id, "data": event.data}
            jsonschema.validate(found, schema)
