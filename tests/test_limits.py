"""Request limits: oversized or malformed requests are refused before auth and before Redis."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import httpx
import pytest
import redis
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from fullon_cache_api.demo import CacheWriter, RedisServer
from fullon_cache_api.http._limits import Limits, LimitsMiddleware

from .support.surface import PROCESS_ID, seed_surface

pytestmark = pytest.mark.anyio

# (path with query, extra headers, expected status)
REFUSED: list[tuple[str, dict[str, str], int]] = [
    ("/tickers/" + "a" * 3000, {}, 414),
    ("/accounts/" + "%41" * 1000, {}, 414),
    ("/tickers?x=" + "a" * 5000, {}, 414),
    ("/tickers", {"x-big": "a" * 9000}, 431),
    ("/tickers", {f"x-h{n}": "a" * 4000 for n in range(9)}, 431),
    ("/tickers", {f"x-h{n}": "1" for n in range(120)}, 431),
    ("/tickers/%ff", {}, 422),
    ("/tickers/binance/BTC%c3%28", {}, 422),
    ("/orders?order_id=%fe", {}, 422),
    ("/accounts/1%00", {}, 422),
    ("/orders?order_id=a%0d%0aInjected:%20yes", {}, 422),
]


def command_stats(probe: redis.Redis) -> dict[str, int]:
    """Calls per command since the server started (INFO commandstats), INFO itself left out.

    `probe` stays connected between snapshots, so its own handshake is not counted.
    """
    stats: dict[str, Any] = probe.info("commandstats")
    return {name: int(value["calls"]) for name, value in stats.items() if name != "cmdstat_info"}


@pytest.mark.parametrize(("url", "headers", "status"), REFUSED)
async def test_refused_with_problem_before_auth(
    app: Starlette, url: str, headers: dict[str, str], status: int
) -> None:
    """Oversized paths/queries are 414, headers 431, non-UTF-8 or control characters 422,
    each a problem document, even without credentials (the limit is checked first)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://g", headers=headers
    ) as http:
        response = await http.get(url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


async def test_refusals_issue_no_redis_command(
    client: httpx.AsyncClient, writer: CacheWriter, flushed: RedisServer
) -> None:
    """INFO commandstats is unchanged by refused requests, and moves for an accepted one."""
    await seed_surface(writer)
    with redis.Redis(port=flushed.port) as probe:
        before = command_stats(probe)
        for url, headers, status in REFUSED:
            assert (await client.get(url, headers=headers)).status_code == status
        assert command_stats(probe) == before
        assert (await client.get("/accounts/1")).status_code == 200
        assert command_stats(probe) != before  # the probe does see the gateway's commands


async def test_longest_valid_requests_pass(client: httpx.AsyncClient, writer: CacheWriter) -> None:
    """Requests at the sizes real clients send are untouched by the limits."""
    await seed_surface(writer)
    token = "e" * 1500  # a long bearer token in the query string (streams accept ?token=)
    response = await client.get(f"/processes/{PROCESS_ID}?since_minutes=60&token={token}")
    assert response.status_code == 200
    long_id = "/orders/binance/" + "A" * 128  # the longest order id a pattern admits
    assert (await client.get(long_id, headers={"x-pad": "p" * 8000})).status_code == 404


async def test_websocket_over_limit_is_closed_1008() -> None:
    """A WebSocket handshake over a limit is accepted then closed with 1008 and the reason
    (a close before accept would reach the client as a bare HTTP 403), never reaching the
    app."""
    reached: list[Scope] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope)

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    middleware = LimitsMiddleware(inner, max_query_bytes=10)
    scope = {"type": "websocket", "path": "/ws", "query_string": b"token=" + b"x" * 20}
    await middleware(scope, receive, send)
    assert reached == []
    assert sent == [
        {"type": "websocket.accept"},
        {"type": "websocket.close", "code": 1008, "reason": "the query string is over 10 bytes"},
    ]
    await middleware({**scope, "query_string": b"token=x"}, receive, send)
    assert len(reached) == 1


def reference_refusal(raw: bytes) -> int | None:
    """The check as first written: percent-decode everything, then UTF-8 and controls."""
    try:
        decoded = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return 422
    return 422 if re.search(r"[\x00-\x1f\x7f]", decoded) else None


@pytest.mark.slow
@hypothesis_settings(max_examples=400, deadline=None)
@given(st.binary(max_size=40) | st.text(max_size=20).map(lambda t: quote(t).encode()))
def test_path_check_matches_the_reference(raw: bytes) -> None:
    """The fast path (plain ASCII, nothing to decode) refuses exactly what decoding would."""
    scope = {"type": "http", "path": "/", "raw_path": b"/" + raw, "query_string": raw}
    refusal = Limits().check(scope)
    assert (refusal.status if refusal else None) == reference_refusal(b"/" + raw)
