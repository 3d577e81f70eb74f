"""A FastAPI master host that mounts the gateway at ``/api/v1/cache``, as fullon_master_api does.

Its JWT middleware (a ``BaseHTTPMiddleware``, like the master's) turns a valid bearer token into
a User-like object in ``request.state.user`` and never rejects a request: the gateway answers
401 itself. An ownership hook tells the gateway what a non-admin user may read (the master
would ask its ORM: ``get_user_exchanges(uid)``, ``Bot.uid``). WebSockets under ``/ws/`` are
skipped by the middleware, as in the master; the gateway authenticates them itself (the
subprotocols ``bearer, <token>``, or ``?token=``).

The host's own routes read the cache with the gateway's Python client, in-process: an
`AsyncCacheClient` over ``httpx.ASGITransport(app=cache)`` calls the mounted app without a
socket, with the caller's own token, so the gateway applies that user's rights (``/me/cache``).

Against the demo's Redis (``fullon-cache-api demo`` prints its URL)::

    REDIS_URL=redis://127.0.0.1:PORT/0 python examples/master_host.py --port 8100

It prints an admin token and a user token; try
``curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8100/api/v1/cache/accounts``.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx
import jwt
import msgspec
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import Response

from fullon_cache_api import Identity, Ownership, RedactSecrets, Settings, create_app, lifespan
from fullon_cache_api.client import AsyncCacheClient, CacheApiError

MOUNT = "/api/v1/cache"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class User:
    """Stands in for fullon_orm's User: the gateway reads ``uid``, ``mail`` and ``name``."""

    uid: int
    mail: str
    name: str


USERS = {
    1: User(uid=1, mail="admin@example.com", name="admin"),
    2: User(uid=2, mail="trader@example.com", name="trader"),
}
# What the ORM would answer: exchange accounts (ex_id) and bots per user id.
EXCHANGES = {2: frozenset({"1"})}
BOTS = {2: frozenset({"1"})}


def issue_token(user: User, secret: str, minutes: int = 60) -> str:
    """A token shaped like the master's: ``sub`` = mail, ``user_id``, ``exp``."""
    claims = {"sub": user.mail, "user_id": user.uid, "exp": int(time.time()) + 60 * minutes}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


class JWTMiddleware(BaseHTTPMiddleware):
    """Put the token's user in ``request.state.user``; never reject (the gateway answers 401)."""

    def __init__(self, app: Callable[..., Awaitable[None]], secret: str) -> None:
        super().__init__(app)
        self.secret = secret

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if not request.url.path.startswith(f"{MOUNT}/ws/"):
            user = self._user(request.headers.get("authorization", ""))
            if user is not None:
                request.state.user = user
        return await call_next(request)

    def _user(self, authorization: str) -> User | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        try:
            claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM])
        except jwt.PyJWTError:
            return None
        uid = claims.get("user_id")
        return USERS.get(uid) if isinstance(uid, int) else None


async def ownership(identity: Identity) -> Ownership:
    """What a non-admin may read; the gateway caches the answer for a few seconds."""
    uid = identity.uid
    if uid is None:
        return Ownership()
    return Ownership(
        ex_ids=EXCHANGES.get(uid, frozenset()),
        bot_ids=BOTS.get(uid, frozenset()),
        uids=frozenset({str(uid)}),
    )


def build_host(*, secret: str, admin_mail: str, settings: Settings | None = None) -> FastAPI:
    """The host app; the gateway (Redis from `settings`, else the environment) shares its JWT
    secret and admin mail."""
    base = settings if settings is not None else Settings.from_env()
    auth = msgspec.structs.replace(base.auth, jwt_secret_key=secret, admin_mail=admin_mail)
    cache = create_app(settings=msgspec.structs.replace(base, auth=auth), ownership=ownership)

    @asynccontextmanager
    async def host_lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Starlette never runs a mounted app's lifespan: enter the gateway's from ours.
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(lifespan(cache))
            yield

    host = FastAPI(title="master host example", lifespan=host_lifespan)
    host.add_middleware(JWTMiddleware, secret=secret)
    host.mount(MOUNT, cache)

    @host.get("/me")
    async def me(request: Request) -> dict[str, object]:
        """Who the host thinks is calling."""
        user = getattr(request.state, "user", None)
        return {"user": None if user is None else user.mail}

    @host.get("/me/cache")
    async def my_cache(request: Request) -> dict[str, object]:
        """The caller's summary and accounts, read through the gateway in-process."""
        _, _, token = request.headers.get("authorization", "").partition(" ")
        transport = httpx.ASGITransport(app=cache)
        async with AsyncCacheClient("http://cache", token=token, transport=transport) as client:
            try:
                summary = await client.my_summary()
                accounts = [account.ex_id async for account in client.accounts.items()]
            except CacheApiError as exc:  # a problem of the gateway: answer its status
                raise HTTPException(exc.status or 502, exc.detail) from exc
        return {"uid": summary.uid, "bots": len(summary.bots), "accounts": accounts}

    return host


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    secret = os.environ.get("JWT_SECRET_KEY", "dev-secret-change-me")
    admin = USERS[1].mail
    for user in USERS.values():
        print(f"{user.name} token: {issue_token(user, secret)}")
    print(f"gateway at http://{args.host}:{args.port}{MOUNT}/docs", flush=True)
    # uvicorn logs WebSocket paths (with their ?token=) and, in its access log, request lines
    # with their query string: the gateway's filter hides the credentials in them.
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(RedactSecrets())
    uvicorn.run(build_host(secret=secret, admin_mail=admin), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
