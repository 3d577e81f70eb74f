"""Hostile input, property-based: every path and query parameter of every route, fuzzed.

Values mix glob characters (``* ? [ ] \\``), ``:`` and ``/`` in ids, NUL, 10 KB strings,
non-UTF-8 percent-encoding, and negative or huge integers, plus glob probes aimed at decoy
keys. Every answer is 2xx, 404, 414, 422 or 431, a problem document when not 2xx, never a 5xx,
and never shows the decoys unless the request named one exactly. The ``/stream`` routes get
the same values (and a fuzzed ``?token=``): each is opened in-process, read up to its first
event and hung up on, and must end within seconds.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote

import anyio
import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Match, Route
from starlette.types import Message

from fullon_cache_api._app import all_routes
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.routes._common import ApiRoute
from fullon_cache_api.routes.streams import StreamRoute

from .support.surface import STREAM_SAMPLES, seed_surface

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
SLOTS = 5


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


def stream_routes() -> list[StreamRoute]:
    """The Server-Sent Events routes."""
    return [route for route in all_routes() if isinstance(route, StreamRoute)]


def sample_path_values(route: Route) -> list[tuple[str, str]]:
    """The valid path values of `route`'s sample in STREAM_SAMPLES, in template order: mixed
    into the fuzzed ones so that hostile query values reach the stream behind the path."""
    scope = {"type": "http", "method": "GET", "path": STREAM_SAMPLES[route.path]}
    params = route.matches(scope)[1]["path_params"]
    return [("text", str(params[name])) for name, _ in path_names(route.path)]


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


def fuzzed_url(
    route: Route,
    path_values: list[tuple[str, str]],
    query_values: list[tuple[bool, tuple[str, str]]],
    query_names: list[str],
) -> str:
    """`route`'s template filled with `path_values`, plus the `query_names` drawn to be sent."""
    path = route.path
    for (name, slashes), value in zip(path_names(route.path), path_values, strict=False):
        fragment = in_url(value, slashes=slashes)
        path = re.sub(rf"{{{name}(:\w+)?}}", lambda _, f=fragment: f, path)
    assert len(query_names) <= SLOTS and len(path_names(route.path)) <= SLOTS
    pairs = [
        f"{name}={in_url(value)}"
        for name, (send, value) in zip(query_names, query_values, strict=False)
        if send
    ]
    return path + ("?" + "&".join(pairs) if pairs else "")


def assert_no_decoy_leak(sent: str, text: str) -> None:
    """A 2xx answer to `sent` (the path as httpx normalised it) shows no decoy it did not name."""
    if _DECOY_SEEN.search(text) and path_names(routed_template(sent)):
        assert named_ids(sent) & DECOY_IDS, (sent[:300], text[:300])


@pytest.mark.slow
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
    query = list(route.query) if isinstance(route, ApiRoute) else []
    url = fuzzed_url(route, path_values, query_values, query)
    with anyio.fail_after(10):
        response = await client.get(url)
    status = response.status_code
    assert status < 300 or status in {404, 414, 422, 431}, (url[:300], status, response.text[:300])
    if status >= 300:
        assert response.headers["content-type"] == "application/problem+json", url[:300]
        assert response.json()["status"] == status
    else:
        # The path as normalised by httpx ("a/.." -> "").
        assert_no_decoy_leak(response.request.url.raw_path.decode(), response.text)


# Bounds of one stream request: its answer up to the first event, then its end after hang-up.
READ_WITHIN = 5.0
END_WITHIN = 5.0


class BriefClient:
    """An ASGI client that sends one GET, reads the answer up to a stream's first event (or
    to its end when it is not a stream), then hangs up; the app must then finish."""

    def __init__(self, app: Starlette, request: httpx.Request) -> None:
        self.app = app
        self.request = request
        self.sent: asyncio.Queue[Message] = asyncio.Queue()
        self.hung_up = anyio.Event()
        self.requested = False

    async def receive(self) -> Message:
        if not self.requested:
            self.requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.hung_up.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        await self.sent.put(message)

    def scope(self) -> dict[str, object]:
        """The scope httpx's ASGITransport would build for the request."""
        url = self.request.url
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "headers": [(key.lower(), value) for key, value in self.request.headers.raw],
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "server": (url.host, url.port),
            "client": ("127.0.0.1", 123),
            "root_path": "",
        }

    async def call(self) -> tuple[int, dict[str, str], bytes]:
        """The status, the headers, and the body read before hanging up. A plain task, not a
        task group: an app that ignores both the hang-up and cancellation fails the test
        instead of hanging it."""
        app = asyncio.create_task(self.app(self.scope(), self.receive, self.send))
        try:
            async with asyncio.timeout(READ_WITHIN):
                status, headers, body = await self._read()
            self.hung_up.set()
            done, _ = await asyncio.wait({app}, timeout=END_WITHIN)
            assert done, f"still running {END_WITHIN} s after the client hung up"
            app.result()  # the app's own error, if any
        finally:
            app.cancel()
        return status, headers, body

    async def _read(self) -> tuple[int, dict[str, str], bytes]:
        start = await self.sent.get()
        headers = {key.decode(): value.decode() for key, value in start["headers"]}
        body = b""
        # A stream: its preamble (``retry:``) and its first event, each ending a blank line.
        while body.count(b"\n\n") < 2:
            message = await self.sent.get()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        return start["status"], headers, body


@pytest.mark.slow
@pytest.mark.parametrize("route", stream_routes(), ids=lambda route: route.path)
@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path_values=st.lists(VALUES, min_size=SLOTS, max_size=SLOTS),
    use_sample=st.lists(st.booleans(), min_size=SLOTS, max_size=SLOTS),
    query_values=st.lists(st.tuples(st.booleans(), VALUES), min_size=SLOTS, max_size=SLOTS),
    token_sent=st.integers(0, 3).map(lambda n: n == 0),  # one request in four
    token=VALUES,
)
async def test_fuzzed_stream_parameters(
    route: StreamRoute,
    app: Starlette,
    client: httpx.AsyncClient,
    seeded: None,
    path_values: list[tuple[str, str]],
    use_sample: list[bool],
    query_values: list[tuple[bool, tuple[str, str]]],
    token_sent: bool,
    token: tuple[str, str],
) -> None:
    """Streams: a first event then a clean end on hang-up (200), or a problem answer
    (401 for a fuzzed token, 404/414/422/431); never a 5xx, a hang, or a decoy not named."""
    samples = sample_path_values(route)
    path_values = [
        sample if keep else value
        for sample, keep, value in zip(samples, use_sample, path_values, strict=False)
    ]
    url = fuzzed_url(route, path_values, query_values, list(route.query))
    if token_sent:
        url += ("&" if "?" in url else "?") + f"token={in_url(token)}"
    request = client.build_request("GET", url)
    if token_sent:  # the fuzzed token is the only credential (a header would win over it)
        del request.headers["x-api-key"]
    status, headers, body = await BriefClient(app, request).call()
    allowed = {404, 414, 422, 431} | ({401} if token_sent else set())
    assert status == 200 or status in allowed, (url[:300], status, body[:300])
    if status == 200:
        assert headers["content-type"].startswith("text/event-stream"), url[:300]
        assert re.search(rb"\nevent: \w+\nid: 1\ndata: ", body), (url[:300], body[:300])
        assert_no_decoy_leak(request.url.raw_path.decode(), body.decode())
    else:
        assert headers["content-type"] == "application/problem+json", url[:300]
        assert msgspec.json.decode(body)["status"] == status


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
