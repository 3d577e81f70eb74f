"""Token lifetime: a stream or WebSocket session authenticated by a JWT ends when it expires."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import jwt
import msgspec
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from examples import master_host
from fullon_cache_api import Identity, Settings, create_app
from fullon_cache_api.security._auth import IDENTITY_SCOPE_KEY
from fullon_cache_api.streams._lifetime import token_expiry

from .support.slow_clients import read_until_closed
from .support.streams import fast_streams, serve, serve_asgi, sse

pytestmark = pytest.mark.anyio

SECRET = "token-expiry-test-secret-32-bytes"
PATH = "/tickers/binance/BTC/USDT/stream"


def token(seconds: int, user_id: int = 7) -> tuple[str, int]:
    """A JWT shaped like the master's, valid for `seconds` more seconds (and its exp)."""
    expires = int(time.time()) + seconds
    claims = {"sub": f"user{user_id}@example.com", "user_id": user_id, "exp": expires}
    return jwt.encode(claims, SECRET, algorithm="HS256"), expires


@pytest.fixture
def jwt_settings(settings: Settings) -> Settings:
    auth = msgspec.structs.replace(settings.auth, jwt_secret_key=SECRET)
    return msgspec.structs.replace(settings, auth=auth)


async def assert_closes_at_expiry(
    http: httpx.AsyncClient, path: str, expires: int, **kw: Any
) -> None:
    """The stream delivers its snapshot, then ends with ``close`` (token_expired), not before
    the token's exp."""
    async with sse(http, path, **kw) as stream:
        assert (await stream.next()).event == "snapshot"
        closed = await stream.until("close", within=10)
        assert time.time() >= expires - 0.1  # not a moment before the token's end
    assert closed.data["reason"] == "token_expired"


@pytest.mark.slow
async def test_sse_with_a_bearer_jwt_ends_when_it_expires(jwt_settings: Settings) -> None:
    """``Authorization: Bearer`` and ``?token=``: each stream gets ``close`` with reason
    ``token_expired`` at the token's exp, and the hub lets go of it."""
    bearer, expires = token(2)
    query, query_expires = token(3, user_id=8)
    async with (
        serve(jwt_settings, fast_streams()) as gateway,
        httpx.AsyncClient(base_url=gateway.url, timeout=10) as http,
    ):
        await asyncio.gather(
            assert_closes_at_expiry(
                http, PATH, expires, headers={"Authorization": f"Bearer {bearer}"}
            ),
            assert_closes_at_expiry(http, f"{PATH}?token={query}", query_expires),
        )
        assert gateway.hub.stats().streams == 0


@pytest.mark.slow
async def test_websocket_with_a_jwt_closes_1008_when_it_expires(jwt_settings: Settings) -> None:
    """A socket opened with ``?token=<JWT>`` streams until exp, then is closed with 1008."""
    ticket, expires = token(2)
    async with serve(jwt_settings, fast_streams()) as gateway:
        url = f"{gateway.ws_url}/ws/v2/tickers/c1?token={ticket}"
        async with connect(url) as ws:
            params = {"exchange": "binance", "symbols": ["BTC/USDT"]}
            message = {"action": "stream_tickers", "request_id": "1", "params": params}
            await ws.send(json.dumps(message))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["success"] is True
            with pytest.raises(ConnectionClosed) as closed:
                await read_until_closed(ws)  # the snapshot, then the close
            assert time.time() >= expires - 0.1
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008 and "expired" in closed.value.rcvd.reason
        assert gateway.hub.stats().streams == 0


@pytest.mark.slow
async def test_stream_of_a_host_user_ends_with_the_hosts_token(settings: Settings) -> None:
    """Mounted under a host whose JWT middleware puts the user in the scope: the stream ends
    at the exp of the bearer token the host authenticated."""
    cache = create_app(settings=settings, streams=fast_streams())
    host = Starlette(
        routes=[Mount(master_host.MOUNT, app=cache)],
        middleware=[Middleware(master_host.JWTMiddleware, secret=SECRET)],
    )
    bearer, expires = token(2, user_id=2)  # the example's trader
    async with (
        serve_asgi(host) as url,
        httpx.AsyncClient(base_url=f"{url}{master_host.MOUNT}", timeout=10) as http,
    ):
        await assert_closes_at_expiry(
            http, PATH, expires, headers={"Authorization": f"Bearer {bearer}"}
        )
    await cache.state.hub.aclose()
    await cache.state.reader.redis.aclose()


def test_only_jwt_identities_have_an_expiry() -> None:
    """The expiry comes from the credential the identity came from: a JWT in the header (ours
    or the host's) or in ``?token=`` (ours); API keys and a host user without one have none."""
    bearer, expires = token(60)
    header = [(b"authorization", f"Bearer {bearer}".encode())]
    query = f"token={bearer}".encode()

    def scope(source: str, headers: Any = (), query_string: bytes = b"") -> dict[str, Any]:
        identity = Identity(source=source, name="x")
        return {"headers": headers, "query_string": query_string, IDENTITY_SCOPE_KEY: identity}

    assert token_expiry(scope("jwt", headers=header)) == expires
    assert token_expiry(scope("jwt", query_string=query)) == expires
    assert token_expiry(scope("host", headers=header)) == expires
    assert token_expiry(scope("host", query_string=query)) is None
    assert token_expiry(scope("api_key", headers=header, query_string=query)) is None
    assert token_expiry(scope("jwt", headers=[(b"authorization", b"Bearer not-a-jwt")])) is None
