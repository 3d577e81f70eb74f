"""Refused WebSockets reach the client as a close frame with code 1008 and a reason, over a
real socket (uvicorn + ``websockets``): accepted first, since a close before accept becomes an
HTTP 403 that carries neither."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import msgspec
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError
from websockets.frames import Close

from fullon_cache_api import Settings

from .support.credentials import ADMIN_KEY
from .support.streams import Gateway, serve

# Under uvicorn and under granian (`serve --server granian`), over real sockets.
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("each_server")]


SECRET = "ws-refusal-test-secret-with-enough-length"


def expired_token() -> str:
    claims = {"sub": "t@fullon.test", "user_id": 3, "exp": int(time.time() - 60)}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    """The gateway, with the admin API key and JWTs signed with `SECRET` accepted."""
    auth = msgspec.structs.replace(settings.auth, jwt_secret_key=SECRET)
    async with serve(msgspec.structs.replace(settings, auth=auth)) as running:
        yield running


async def close_of(url: str, **options: Any) -> Close:
    """The close frame the gateway sends on a socket to `url` (the handshake must succeed)."""
    async with asyncio.timeout(5), connect(url, **options) as ws:
        with pytest.raises(ConnectionClosedError) as closed:
            await ws.recv()
    received = closed.value.rcvd
    assert received is not None, "the connection ended without a close frame"
    return received


@pytest.mark.parametrize("path", ["/ws", "/ws/tickers/a", "/ws/v2", "/ws/v2/tickers/a"])
async def test_no_identity_is_closed_1008(gateway: Gateway, path: str) -> None:
    """No credentials: close 1008, reason 'Not authenticated'."""
    received = await close_of(gateway.ws_url + path)
    assert (received.code, received.reason) == (1008, "Not authenticated")


@pytest.mark.parametrize(
    ("query", "headers", "reason"),
    [
        ("?token=bad", {}, "unknown API key"),
        ("?token=a.b.c", {}, "invalid token: DecodeError"),
        (f"?token={expired_token()}", {}, "invalid token: ExpiredSignatureError"),
        ("", {"Authorization": "Bearer a.b.c"}, "invalid token: DecodeError"),
        ("", {"Authorization": "Basic dXNlcjpwYXNz"}, "Authorization must be 'Bearer <token>'"),
        ("", {"X-API-Key": "not-a-key"}, "unknown API key"),
    ],
)
async def test_bad_credentials_are_closed_1008(
    gateway: Gateway, query: str, headers: dict[str, str], reason: str
) -> None:
    """A bad ?token=, bearer or API key: close 1008 with the reason of the refusal."""
    received = await close_of(f"{gateway.ws_url}/ws/tickers/a{query}", additional_headers=headers)
    assert received.code == 1008
    assert received.reason.startswith(reason), received.reason


@pytest.mark.parametrize(
    ("suffix", "reason"),
    [
        ("?token=" + "x" * 4200, "the query string is over 4096 bytes"),
        ("?token=%00", "the query string holds a control character"),
    ],
)
async def test_limit_refusals_are_closed_1008(gateway: Gateway, suffix: str, reason: str) -> None:
    """A handshake over the request limits: close 1008 with the limit it broke."""
    received = await close_of(f"{gateway.ws_url}/ws/tickers/a{suffix}")
    assert (received.code, received.reason) == (1008, reason)


async def test_identified_socket_is_served(gateway: Gateway) -> None:
    """The same socket with a valid key is served (the refusals above are about identity)."""
    async with asyncio.timeout(5), connect(f"{gateway.ws_url}/ws?token={ADMIN_KEY}") as ws:
        await ws.send('{"action": "ping", "request_id": "r", "params": {}}')
        assert json.loads(await ws.recv())["success"] is True
