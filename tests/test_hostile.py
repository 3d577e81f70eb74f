"""Hostile input, property-based: every path and query parameter of every route, fuzzed.

Values mix glob characters (``* ? [ ] \\``), ``:`` and ``/`` in ids, NUL, 10 KB strings,
non-UTF-8 percent-encoding, and negative or huge integers, plus glob probes aimed at decoy
keys. Every answer is 2xx, 404, 414, 422 or 431, a problem document when not 2xx, never a 5xx,
and never shows the decoys unless the request named one exactly.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Match, Route

from fullon_cache_api._app import all_routes
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.routes._common import ApiRoute

from .surface import STREAM_SAMPLES, seed_surface

pytestmark = pytest.mark.anyio

DECOY_EX_ID = "987654321"
DECOY_TIME = datetime(2024, 6, 5, tzinfo=UTC)
DECOY_PROCESS = f"tick:decoy:{DECOY_TIME.timestamp()}"
# Every id a decoy lives under; a request naming one of these exactly may see it.
DECOY_IDS = {"decoy", "DECOY-USDT", "DECOY_1", "DECOY_2", DECOY_EX_ID, DECOY_PROCESS}
_DECOY_SEEN = re.compile(f"decoy|{DECOY_EX_ID}", re.IGNORECASE)

# Glob and separator probes around the decoy ids: matched as patterns they would hit a decoy.
PROBES = [
    "*", "?", "[a-z]*", "\\*", "decoy*", "deco?", "[d]ecoy", "d*y", "decoy\\", "DECOY-*",
    "DECOY_?", f"{DECOY_EX_ID[:-1]}?", f"[9]{DECOY_EX_ID[1:]}", f"{DECOY_EX_ID}*", "decoy:*",
    "*:*", "decoy/*", "../decoy", "decoy\x00", f"{DECOY_EX_ID}\x00", "tick:decoy:*",
    "tick:*:*", "decoy:DECOY-USDT", "..", ".", "", " ", "\t", "\r\n",
]  # fmt: skip
# Raw URL fragments that percent-decode to invalid UTF-8.
NOT_UTF8 = ["%ff", "%c3%28", "%ed%a0%80", "%80decoy", "decoy%fe", "%f0%28%8c%bc"]
INTEGERS = ["-1", "0", "-0", "10001", "1e3", "0x10", "+5", " 5", "5 ", "9" * 40, "-" + "9" * 40]

_hostile_text = st.text(
    alphabet=st.sampled_from([*"*?[]\\:/%#&=+.\x00 \n", "é", "\ufffd", "a", "Z", "7", "-"]),
    max_size=40,
)


# A value: ("text", plain text to percent-encode) or ("raw", a fragment sent as is).
VALUES = st.one_of(
    st.sampled_from(PROBES),
    _hostile_text,
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(INTEGERS),
    st.integers(min_value=65, max_value=3000).map(lambda n: "x" * n),
    st.just("A" * 10240),
).map(lambda text: ("text", text)) | st.sampled_from(NOT_UTF8).map(lambda raw: ("raw", raw))
# More slots than any route has parameters: the test uses the first ones it needs.
SLOTS = 4


def in_url(value: tuple[str, str], *, slashes: bool = False) -> str:
    kind, text = value
    return text if kind == "raw" else quote(text, safe="/" if slashes else "")


def fuzzed_routes() -> list[Route]:
    """Every GET route (data, docs, health) except streams, which never end by themselves."""
    return [
        route
        for route in all_routes()
        if isinstance(route, Route)
        and route.path not in STREAM_SAMPLES
        and not route.path.endswith("/stream")
    ]


def path_names(template: str) -> list[tuple[str, bool]]:
    """Path parameters of `template`: (name, whether it is a ``:path`` parameter)."""
    return [(name, kind == "path") for name, kind in re.findall(r"{(\w+)(?::(\w+))?}", template)]


@pytest.fixture
async def seeded(writer: CacheWriter) -> None:
    """The surface's data, plus decoys under ids the probes circle around."""
    await seed_surface(writer)
    await writer.set_ticker("decoy", "DECOY-USDT", price=1.0, time=DECOY_TIME.timestamp())
    await writer.upsert_user_account(DECOY_EX_ID, {"DECOY": {"free": 1.0, "total": 1.0}})
    await writer.upsert_positions(DECOY_EX_ID, [{"symbol": "DECOY-USDT", "volume": 1.0}])
    await writer.save_order("decoy", {"ex_order_id": "DECOY_1", "ex_id": DECOY_EX_ID})
    await writer.save_order(DECOY_EX_ID, {"ex_order_id": "DECOY_2", "symbol": "DECOY-USDT"})
    await writer.update_bot("decoy", {"feed": {"status": "DECOY"}})
    trade = {"symbol": "DECOY-USDT", "ex_trade_id": "DECOY_T", "uid": DECOY_EX_ID}
    await writer.push_trade("decoy", trade)
    await writer.push_user_trade(DECOY_EX_ID, "decoy", trade)
    await writer.update_ohlcv_bars("DECOY-USDT", "1m", [[int(DECOY_EX_ID), 1, 2, 0.5, 1.5, 10.0]])
    await writer.register_process("tick", "decoy", message="DECOY", now=DECOY_TIME)


def routed_template(url: str) -> str:
    """The template of the route that serves `url` (an empty id or a ``%2F`` can reroute it:
    ``/tickers/`` is the ``/tickers`` list, which legitimately shows every exchange)."""
    path = unquote(url.partition("?")[0])
    path = path[:-1] if len(path) > 1 and path.endswith("/") else path
    scope = {"type": "http", "method": "GET", "path": path}
    return next((r.path for r in all_routes() if r.matches(scope)[0] is Match.FULL), "")


def named_ids(url: str) -> set[str]:
    """Every path segment and query value of `url`, decoded as the app sees them."""
    path, _, query = url.partition("?")
    return {*unquote(path).split("/"), *(value for _, value in parse_qsl(query))}


@pytest.mark.parametrize("route", fuzzed_routes(), ids=lambda route: route.path)
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    # Drawn up front, not inside the coroutine: anyio runs the body in its own task.
    path_values=st.lists(VALUES, min_size=SLOTS, max_size=SLOTS),
    query_values=st.lists(st.tuples(st.booleans(), VALUES), min_size=SLOTS, max_size=SLOTS),
)
async def test_fuzzed_parameters(
    route: Route,
    client: httpx.AsyncClient,
    seeded: None,
    path_values: list[tuple[str, str]],
    query_values: list[tuple[bool, tuple[str, str]]],
) -> None:
    """Any path and query values: 2xx/404/414/422/431, problem bodies, no 5xx, no decoy leak."""
    path = route.path
    for (name, slashes), value in zip(path_names(route.path), path_values, strict=False):
        fragment = in_url(value, slashes=slashes)
        path = re.sub(rf"{{{name}(:\w+)?}}", lambda _, f=fragment: f, path)
    query = route.query if isinstance(route, ApiRoute) else {}
    assert len(query) <= SLOTS and len(path_names(route.path)) <= SLOTS
    pairs = [
        f"{name}={in_url(value)}"
        for name, (send, value) in zip(query, query_values, strict=False)
        if send
    ]
    url = path + ("?" + "&".join(pairs) if pairs else "")
    with anyio.fail_after(10):
        response = await client.get(url)
    status = response.status_code
    assert status < 300 or status in {404, 414, 422, 431}, (url[:300], status, response.text[:300])
    if status >= 300:
        assert response.headers["content-type"] == "application/problem+json", url[:300]
        assert response.json()["status"] == status
    elif _DECOY_SEEN.search(response.text):
        sent = response.request.url.raw_path.decode()  # as normalised by httpx ("a/.." -> "")
        if path_names(routed_template(sent)):
            assert named_ids(sent) & DECOY_IDS, (sent[:300], response.text[:300])


async def test_decoys_are_reachable_when_named(client: httpx.AsyncClient, seeded: None) -> None:
    """The decoys exist and are served when addressed exactly (so their absence above counts)."""
    for path in (
        "/tickers/decoy/DECOY-USDT",
        f"/accounts/{DECOY_EX_ID}",
        "/orders/decoy/DECOY_1",
        "/bots/decoy",
        "/trades/decoy/DECOY-USDT",
        f"/trades/users/{DECOY_EX_ID}/decoy",
        "/ohlcv/DECOY-USDT/1m",
        f"/processes/{DECOY_PROCESS}?since_minutes=10080",
    ):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert _DECOY_SEEN.search(response.text), path
