"""Identities beyond ASCII, and where a token outside the headers is accepted: ``?token=`` on
Server-Sent Events and WebSocket routes only (decided by the matched route, not the path's
spelling), and a WebSocket token offered as a subprotocol (``Sec-WebSocket-Protocol``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import msgspec
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, InvalidHandshake

from fullon_cache_api import Settings
from fullon_cache_api._settings import ApiKey, AuthConfig
from fullon_cache_api.demo import CacheWriter
from fullon_cache_api.security._auth import hash_api_key

from .support.apps import AppBuilder, get
from .support.credentials import ADMIN_KEY
from .support.streams import Gateway, serve
from .support.surface import seed_surface

pytestmark = pytest.mark.anyio

SECRET = "identities-test-secret-with-enough-length"
ACCENTED = "josé@fullon.test"


def token(sub: str, user_id: int = 7) -> str:
    claims = {"sub": sub, "user_id": user_id, "exp": int(time.time() + 600)}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def with_auth(settings: Settings, **auth: Any) -> Settings:
    config = AuthConfig(
        jwt_secret_key=SECRET,
        api_keys=(ApiKey(name="tests", sha256=hash_api_key(ADMIN_KEY), admin=True),),
        **auth,
    )
    return msgspec.structs.replace(settings, auth=config)


@pytest.fixture
async def seeded(writer: CacheWriter) -> CacheWriter:
    await seed_surface(writer)
    return writer


def bearer(value: str) -> dict[str, str]:
    return {"authorization": f"Bearer {value}"}


# -- non-ASCII mail -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/tickers", "/bots", "/health", "/docs", "/openapi.json"])
async def test_non_ascii_mail_is_a_non_admin(
    seeded: CacheWriter, settings: Settings, make_app: AppBuilder, path: str
) -> None:
    """A JWT whose mail holds é authenticates as a non-admin (no 500) on every kind of route."""
    app = make_app(settings=with_auth(settings, admin_mail="root@fullon.test"))
    response = await get(app, path, **bearer(token(ACCENTED)))
    assert response.status_code == 200, response.text
    if path == "/bots":  # private data: a non-admin without an ownership hook sees none
        assert response.json()["count"] == 0


async def test_non_ascii_admin_mail_matches_itself(
    seeded: CacheWriter, settings: Settings, make_app: AppBuilder
) -> None:
    """ADMIN_MAIL with é: that mail is admin, any other mail (ASCII or not) a non-admin."""
    app = make_app(settings=with_auth(settings, admin_mail=ACCENTED))
    admin = await get(app, "/bots", **bearer(token(ACCENTED)))
    assert admin.status_code == 200 and admin.json()["count"] == 1
    for other in ("root@fullon.test", "josè@fullon.test"):
        response = await get(app, "/bots", **bearer(token(other)))
        assert response.status_code == 200 and response.json()["count"] == 0


async def test_non_ascii_host_user_is_compared_as_bytes(
    seeded: CacheWriter, settings: Settings, make_app: AppBuilder
) -> None:
    """A host-authenticated user with a non-ASCII mail is judged admin or not, no 500."""
    app = make_app(settings=with_auth(settings, admin_mail=ACCENTED))

    async def host(scope: Any, receive: Any, send: Any) -> None:
        mail = dict(scope["headers"]).get(b"x-mail", b"").decode()
        scope["state"] = {"user": type("User", (), {"mail": mail, "uid": 3, "name": "u"})()}
        await app(scope, receive, send)

    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as http:
        admin = await http.get("/bots", headers={"x-mail": ACCENTED.encode()})
        other = await http.get("/bots", headers={"x-mail": "zoë@fullon.test".encode()})
    assert admin.json()["count"] == 1 and other.json()["count"] == 0


async def test_non_ascii_mail_opens_a_websocket(seeded: CacheWriter, settings: Settings) -> None:
    """The WebSocket handshake with a non-ASCII JWT in ?token= is served, not failed."""
    async with serve(with_auth(settings, admin_mail="root@fullon.test")) as gateway:
        url = f"{gateway.ws_url}/ws?token={token(ACCENTED)}"
        async with asyncio.timeout(5), connect(url) as ws:
            await ws.send('{"action": "ping", "request_id": "r", "params": {}}')
            assert json.loads(await ws.recv())["success"] is True


# -- ?token= decided by the matched route ---------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/trades/users/7/stream",  # a JSON route whose {exchange} is "stream"
        "/trades/binance/BTC/stream",  # a JSON route whose {symbol} ends in "/stream"
        "/trades/users/7/binance",
    ],
)
async def test_query_token_is_refused_on_json_routes(
    seeded: CacheWriter, settings: Settings, make_app: AppBuilder, path: str
) -> None:
    """?token= on a JSON route is 401, whatever its path ends with."""
    app = make_app(settings=with_auth(settings))
    for value in (token("root@fullon.test", 1), ADMIN_KEY):
        response = await get(app, f"{path}?token={value}")
        assert response.status_code == 401, (path, response.status_code)


async def test_query_token_is_accepted_on_stream_routes(settings: Settings) -> None:
    """?token= on an SSE route authenticates it (the stream opens with a snapshot)."""
    async with (
        serve(with_auth(settings)) as gateway,
        httpx.AsyncClient(base_url=gateway.url, timeout=5) as http,
        http.stream("GET", f"/tickers/binance/stream?token={ADMIN_KEY}") as response,
    ):
        assert response.status_code == 200
        lines = response.aiter_lines()
        async with asyncio.timeout(5):
            assert await anext(lines) == "retry: 2000"


async def test_query_token_is_accepted_on_websockets(settings: Settings) -> None:
    """?token= on a WebSocket route still authenticates it."""
    async with serve(with_auth(settings)) as gateway:
        # `ping` fails unless the action succeeds; no subprotocol carried a token.
        assert await ping(f"{gateway.ws_url}/ws/tickers/c1?token={ADMIN_KEY}") is None


# -- a WebSocket token as a subprotocol -----------------------------------------------------


async def ping(url: str, **options: Any) -> Any:
    """Open `url`, ping once, return the socket's negotiated subprotocol."""
    async with asyncio.timeout(5), connect(url, **options) as ws:
        await ws.send('{"action": "ping", "request_id": "r", "params": {}}')
        assert json.loads(await ws.recv())["success"] is True
        return ws.subprotocol


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    async with serve(with_auth(settings)) as running:
        yield running


@pytest.mark.parametrize("credential", ["jwt", "key"])
async def test_subprotocol_token_authenticates(gateway: Gateway, credential: str) -> None:
    """``Sec-WebSocket-Protocol: bearer, <token>`` authenticates; the server picks ``bearer``
    (never echoing the token), as browsers require."""
    value = token("root@fullon.test", 1) if credential == "jwt" else ADMIN_KEY
    chosen = await ping(f"{gateway.ws_url}/ws", subprotocols=["bearer", value])
    assert chosen == "bearer"


async def test_bad_subprotocol_token_is_closed_1008(gateway: Gateway) -> None:
    """A wrong subprotocol token is refused like a wrong ?token=: accepted (with ``bearer``,
    so browsers see the close), then closed with 1008."""
    url = f"{gateway.ws_url}/ws/tickers/c1"
    async with asyncio.timeout(5), connect(url, subprotocols=["bearer", "wrong-key"]) as ws:
        assert ws.subprotocol == "bearer"
        with pytest.raises(ConnectionClosedError) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_other_subprotocols_are_not_tokens(gateway: Gateway) -> None:
    """Without ``bearer`` offered, subprotocols are not read as credentials (1008)."""
    url = f"{gateway.ws_url}/ws"
    try:
        async with asyncio.timeout(5), connect(url, subprotocols=[ADMIN_KEY]) as ws:
            with pytest.raises(ConnectionClosedError) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    except InvalidHandshake:  # a client may also give up when no subprotocol is chosen
        pass


# -- non-ASCII API key ----------------------------------------------------------------------

ACCENTED_KEY = "clé-secrète-pour-les-tests"


async def test_non_ascii_api_key_matches_its_digest(
    seeded: CacheWriter, settings: Settings, make_app: AppBuilder
) -> None:
    """An API key holding é, sent as UTF-8 bytes in X-API-Key, is the key whose digest was
    configured (the admin key reads every bot); its latin-1 bytes are refused; a Bearer value
    that is not ASCII is a 401, not a 500."""
    key = ApiKey(name="accented", sha256=hash_api_key(ACCENTED_KEY), admin=True)
    config = AuthConfig(jwt_secret_key=SECRET, api_keys=(key,))
    app = make_app(settings=msgspec.structs.replace(settings, auth=config))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as http:
        sent = await http.get("/bots", headers={"x-api-key": ACCENTED_KEY.encode()})
        latin = await http.get("/bots", headers={"x-api-key": ACCENTED_KEY.encode("latin-1")})
        bearer_value = b"Bearer " + ACCENTED_KEY.encode("latin-1")
        as_bearer = await http.get("/bots", headers={"authorization": bearer_value})
    assert sent.status_code == 200, sent.text
    assert sent.json()["count"] == 1
    assert latin.status_code == 401
    assert as_bearer.status_code == 401
